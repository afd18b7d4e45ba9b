"""Slide HTML read back as blocks for the editable deck: paragraphs, bullet lists, tables, figures, columns.

The slide list (:mod:`esante_report.slides`) holds sanitised HTML; :func:`slide_blocks` turns one
slide into its title (plain text) and the blocks :mod:`esante_report.formats.pptx` draws natively.
Links keep only http(s)/mailto/tel; inline SVG is given back its SVG names (an HTML parser folds
them to lower case) so that it stands as an SVG document of its own.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from esante_report.slides.model import Slide
from esante_report.slides.sanitize import safe_href

__all__ = ["Run", "Para", "Text", "Table", "Figure", "Cols", "slide_blocks", "notes_text"]

#: what a block tells the editable deck about itself, in ``data-esr-role`` (set by the house components and by
#: the decks' templates): the core reads this vocabulary, never a deck's CSS classes
ROLES = frozenset({"decorative", "columns", "narrow", "wide", "half", "kpi", "kicker", "small", "badge",
                   "inline-list"})

@dataclass
class Run:
    text: str
    bold: bool = False
    italic: bool = False
    href: str | None = None


@dataclass
class Para:
    runs: list[Run]
    level: int = 0          # 0 paragraph, 1.. bullet depth
    style: str = "p"        # p | h | small | kpi | kicker

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


@dataclass
class Text:
    paras: list[Para] = field(default_factory=list)


@dataclass
class Table:
    rows: list[list[tuple[str, int, int, bool]]]   # (text, colspan, rowspan, header)
    head_rows: int
    caption: str = ""


@dataclass
class Figure:
    svg: str | None
    png: bytes | None
    alt: str
    caption: str = ""


@dataclass
class Cols:
    columns: list[list]
    widths: list[float]


def _clean(text: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", text)


def _runs(el, bold=False, italic=False, href=None) -> list[Run]:
    """Inline content of ``el`` as runs (bold, italic, safe links kept; line breaks as vertical tabs)."""
    out: list[Run] = []
    if el.text:
        out.append(Run(_clean(el.text), bold, italic, href))
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "br":
            out.append(Run("\v", bold, italic, href))
        elif tag not in ("script", "style", "svg"):
            previous = child.getprevious()
            if tag == "span" and previous is not None and previous.tag == "span" and "inline-list" in _roles(el):
                out.append(Run(" · ", bold, italic))  # what CSS draws between the items (span + span::before)
            elif "badge" in _roles(child) and out:
                out.append(Run("— ", bold, italic))
            link = href
            if tag == "a":
                target = (child.get("href") or "").strip()
                link = safe_href(target)
            out += _runs(child, bold or tag in ("strong", "b"), italic or tag in ("em", "i"), link)
        if child.tail:
            out.append(Run(_clean(child.tail), bold, italic, href))
    return out


def _para(el, level=0, style="p") -> Para | None:
    runs = _runs(el, bold=style in ("h", "kpi"))
    if runs:
        runs[0].text = runs[0].text.lstrip()
        runs[-1].text = runs[-1].text.rstrip()
    runs = [r for r in runs if r.text]
    return Para(runs, level, style) if runs else None


def _classes(el) -> set[str]:
    return set((el.get("class") or "").split())


def _roles(el) -> set[str]:
    """The block's ``data-esr-role`` words that the editable deck knows (:data:`ROLES`)."""
    value = el.get("data-esr-role") if hasattr(el, "get") else None
    return set(str(value).split()) & ROLES if value else set()


_BLOCK_TAGS = {"p", "ul", "ol", "li", "table", "figure", "div", "section", "h1", "h2", "h3", "h4", "h5", "h6",
               "details", "svg", "img", "blockquote", "dl", "dt", "dd", "aside", "header", "footer", "pre"}


#: SVG names in their case (an HTML parser folds them to lower case; the HTML spec's adjustment tables)
_SVG_NAMES = {n.lower(): n for n in (
    "attributeName attributeType baseFrequency baseProfile calcMode clipPathUnits diffuseConstant edgeMode "
    "filterUnits glyphRef gradientTransform gradientUnits kernelMatrix kernelUnitLength keyPoints keySplines "
    "keyTimes lengthAdjust limitingConeAngle markerHeight markerUnits markerWidth maskContentUnits maskUnits "
    "numOctaves pathLength patternContentUnits patternTransform patternUnits pointsAtX pointsAtY pointsAtZ "
    "preserveAlpha preserveAspectRatio primitiveUnits refX refY repeatCount repeatDur requiredExtensions "
    "requiredFeatures specularConstant specularExponent spreadMethod startOffset stdDeviation stitchTiles "
    "surfaceScale systemLanguage tableValues targetX targetY textLength viewBox viewTarget xChannelSelector "
    "yChannelSelector zoomAndPan clipPath linearGradient radialGradient textPath feBlend feColorMatrix "
    "feComponentTransfer feComposite feConvolveMatrix feDiffuseLighting feDisplacementMap feDistantLight "
    "feDropShadow feFlood feFuncA feFuncB feFuncG feFuncR feGaussianBlur feImage feMerge feMergeNode "
    "feMorphology feOffset fePointLight feSpecularLighting feSpotLight feTile feTurbulence").split()}
_SVG_NAME = re.compile(r"(</?|\s)([a-zA-Z]+)(?=[\s=/>])")


def _svg_case(svg: str) -> str:
    return _SVG_NAME.sub(lambda m: m.group(1) + _SVG_NAMES.get(m.group(2).lower(), m.group(2)), svg)


def _svg_markup(el) -> str:
    from lxml import etree

    svg = etree.tostring(el, encoding="unicode", method="xml")
    svg = re.sub(r'\s(aria-hidden|focusable)="[^"]*"', "", svg)
    # names in tags only: text content is left as it is
    svg = re.sub(r"<[^>]+>", lambda m: _svg_case(m.group(0)), svg)
    if "xmlns=" not in svg[:400]:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    return svg


def _figure(el) -> Figure:
    chart = el if "esr-chart" in _classes(el) else next(iter(el.iterfind(".//div[@class='esr-chart']")), el)
    alt = _clean(chart.get("aria-label") or (chart.get("alt") if chart.tag == "img" else "") or "").strip()
    svg = next(iter(chart.iter("svg")), None)
    png = None
    if svg is None:
        img = next(iter(chart.iter("img")), None)
        src = img.get("src", "") if img is not None else ""
        match = re.match(r"data:image/(png|jpeg);base64,(.+)$", src, re.S)
        if match:
            import base64

            png = base64.b64decode(match.group(2))
    caption = el.find("figcaption")
    credit = [c for c in el.iter("p") if "esr-credit" in _classes(c)]
    texts = [_clean(c.text_content()).strip() for c in ([caption] if caption is not None else []) + credit]
    return Figure(_svg_markup(svg) if svg is not None else None, png, alt or "Graphique",
                   " — ".join(t for t in texts if t))


def _table(el) -> Table:
    rows, head = [], 0
    caption = el.find("caption")
    for section in el:
        tag = section.tag if isinstance(section.tag, str) else ""
        trs = [section] if tag == "tr" else [t for t in section if getattr(t, "tag", "") == "tr"]
        for tr in trs:
            cells = []
            for cell in tr:
                if cell.tag not in ("th", "td"):
                    continue
                text = "\v".join(_clean(t).strip() for t in _cell_lines(cell))
                cells.append((text.strip("\v"), int(cell.get("colspan") or 1), int(cell.get("rowspan") or 1),
                              cell.tag == "th"))
            rows.append(cells)
            if tag == "thead":
                head += 1
    return Table(rows, head, _clean(caption.text_content()).strip() if caption is not None else "")


def _cell_lines(cell) -> list[str]:
    lines, current = [], [cell.text or ""]
    for child in cell.iter():
        if child is cell:
            continue
        if child.tag == "br" or child.tag in ("p", "li", "div") and "".join(current).strip():
            lines.append("".join(current))
            current = []
        if child.tag != "br" and child.text and child.getparent() is not None:
            current.append(child.text)
        if child.tail:
            current.append(child.tail)
    lines.append("".join(current))
    return [line for line in lines if line.strip()]


def _blocks(el, out: list, level: int = 0, skip_title: list | None = None) -> None:
    """Blocks of ``el``'s children, in reading order."""
    pending = Text()

    def flush() -> None:
        nonlocal pending
        if pending.paras:
            out.append(pending)
        pending = Text()

    if el.text and el.text.strip() and el.tag not in ("ul", "ol"):
        pending.paras.append(Para([Run(_clean(el.text).strip())]))
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        classes = _classes(child)
        roles = _roles(child)
        if tag in ("script", "style", "details") or "esr-data" in classes or "decorative" in roles:
            pass
        elif tag in ("h1", "h2") and "esr-title" in classes and skip_title is not None and not skip_title:
            skip_title.append(_clean(child.text_content()).strip())
        elif tag == "figure" or "esr-chart" in classes or tag in ("svg", "img"):
            flush()
            out.append(_figure(child))
        elif tag == "table":
            flush()
            out.append(_table(child))
        elif "esr-cols" in classes or "esr-kpis" in classes or "columns" in roles:
            flush()
            kids = [k for k in child if isinstance(k.tag, str) and k.tag not in ("script", "style")]
            columns, widths = [], []
            for kid in kids:
                blocks: list = []
                _blocks(kid, blocks, 0, skip_title) if kid.tag != "table" else blocks.append(_table(kid))
                if kid.tag == "figure":
                    blocks = [_figure(kid)]
                if kid.tag == "p" and not blocks:
                    para = _para(kid)
                    blocks = [Text([para])] if para else []
                if blocks:
                    columns.append(blocks)
                    k = _classes(kid) | _roles(kid)
                    widths.append(0.34 if k & {"esr-narrow", "narrow"} else 0.62 if k & {"esr-wide", "wide"} else
                                  0.5 if "half" in k else 0.0)
            if len(columns) == 1:
                out.extend(columns[0])
            elif columns:
                out.append(Cols(columns, widths))
        elif tag in ("ul", "ol"):
            for li in child:
                if getattr(li, "tag", "") != "li":
                    continue
                inline = copy.copy(li)
                for sub in list(inline):
                    if sub.tag in ("ul", "ol"):
                        inline.remove(sub)
                para = _para(inline, level + 1)
                if para:
                    pending.paras.append(para)
                for sub in li:
                    if sub.tag in ("ul", "ol"):  # a nested list: its items one level deeper
                        nested: list = []
                        _blocks(_wrap(sub), nested, level + 1)
                        for block in nested:
                            if isinstance(block, Text):
                                pending.paras += block.paras
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6", "dt"):
            para = _para(child, 0, "h")
            if para:
                pending.paras.append(para)
        elif tag == "p" or tag == "dd" or tag == "pre":
            style = ("kpi" if "esr-kpi-value" in classes or "kpi" in roles else
                     "kicker" if "esr-kicker" in classes or "kicker" in roles else
                     "small" if classes & {"esr-credit", "esr-source", "esr-small"} or "small" in roles else "p")
            para = _para(child, 0, style)
            if para:
                pending.paras.append(para)
            pictures = list(child.iter("img"))  # a picture of a Markdown paragraph (pasted into the cell)
            if pictures:
                flush()
                out.extend(_figure(img) for img in pictures)
        elif tag in _BLOCK_TAGS or any(getattr(k, "tag", "") in _BLOCK_TAGS for k in child.iter()):
            flush()
            _blocks(child, out, level, skip_title)
        else:  # inline element at block level (a badge, a span)
            para = _para(child, 0, "small" if roles & {"small", "badge"} else "p")
            if para:
                pending.paras.append(para)
        if child.tail and child.tail.strip():
            pending.paras.append(Para([Run(_clean(child.tail).strip())]))
    flush()


def _wrap(el):
    from lxml import html

    holder = html.Element("div")
    holder.append(copy.deepcopy(el))
    return holder


def slide_blocks(slide: Slide) -> tuple[str, list]:
    """The title (plain text) and the blocks of one slide."""
    from lxml import html

    found_title: list[str] = []
    blocks: list = []
    for item in slide.items:
        root = html.fragment_fromstring(item.html, create_parent="div")
        _blocks(root, blocks, 0, found_title if not slide.title else None)
    title = _plain(slide.title) if slide.title else (found_title[0] if found_title else "")
    return title, blocks


def _plain(inline_html: str) -> str:
    from lxml import html

    return _clean(html.fragment_fromstring(inline_html, create_parent="div").text_content()).strip()


def notes_text(note_html: str) -> str:
    """Speaker notes (sanitised HTML) as plain text for the notes pane: a line per paragraph, list items bulleted."""
    from lxml import html

    root = html.fragment_fromstring(note_html, create_parent="div")
    lines = []
    for el in root.iter():
        if el.tag in ("p", "li", "h1", "h2", "h3", "h4"):
            text = _clean(el.text_content()).strip()
            if text:
                lines.append(("• " if el.tag == "li" else "") + text)
    return "\n".join(lines) or _clean(root.text_content()).strip()
