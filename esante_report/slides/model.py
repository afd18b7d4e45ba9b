"""From an executed notebook to slides: the authoring model.

The rules (documented for analysts in ``docs/authoring.md``):

- a Markdown cell that starts with a heading starts a slide: ``# Titre`` a title
  slide (the first one is the cover, later ones are section dividers),
  ``## Titre`` a content slide whose title it is. The rest of the cell is the
  slide's commentary;
- every cell after it, up to the next heading, belongs to that slide: Markdown
  commentary, charts (any matplotlib figure displayed, as vector SVG), tables
  and the building blocks of :mod:`esante_report.authoring`;
- JupyterLab's slide types keep their meaning: *Skip* hides a cell, *Notes*
  makes speaker notes (HTML deck only), *Slide* and *Sub-slide* also start a
  new slide (for a slide without a heading); *Fragment* and ``-`` continue;
- cells tagged ``parameters``, ``injected-parameters`` or ``remove-cell`` never
  reach a slide; a cell tagged ``notes`` is speaker notes.

Whatever cannot be placed is reported as a warning naming the cell as the
analyst counts it (its position in the notebook, injected cells left out),
never silently dropped; a slide that would show only a Python repr is an error.

A picture pasted into a Markdown cell (JupyterLab keeps it in the cell's
``attachments`` and writes ``![image.png](attachment:image.png)``) is embedded
once :func:`esante_report.images.data_uri` has checked it, as every raster
output is; one that cannot be shown is left out with a warning naming the cell.
Every text placed on a slide goes through :func:`esante_report.sanitize.xml_text`
(no control character, no lone surrogate), so the HTML, PDF and PowerPoint decks
can all hold it.
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass, field
from html import escape, unescape
from typing import TYPE_CHECKING
from urllib.parse import unquote

from esante_report.slides import images
from esante_report.slides import records
from esante_report.slides import sanitize
from esante_report.slides.notebook import INJECTED_TAGS, cell_tags
from esante_report.errors import ExportError, quote

if TYPE_CHECKING:  # nbformat imports jsonschema, slow to import: the kernel never needs it
    import nbformat

__all__ = ["Item", "Slide", "SlideList", "build_deck", "markdown_html", "cell_options", "NEW_SLIDE_KEY",
           "HIDDEN_TAGS"]

#: output metadata key of the building blocks (new slide, title, layout)
NEW_SLIDE_KEY = "esante_report"
#: cells with these tags never reach a slide (papermill's parameters cells among them)
HIDDEN_TAGS = frozenset({"parameters", "injected-parameters", "remove_cell", "remove-cell"})
#: cells added to the notebook by papermill and by render: not cells the analyst counts

_OPTION = re.compile(r"#\|\s*([a-z][a-z0-9-]*)\s*:(.*)")
#: what output metadata ``esante_report`` may hold (authoring.slide and show_slides write it)
_LAYOUTS = ("", "cover", "divider")
#: the picture MIME types a slide shows, in order of preference
_PICTURES = ("image/svg+xml", "image/png", "image/jpeg", "image/gif")


def _heading(line: str) -> tuple[int, str] | None:
    """``(level, text)`` of an ATX heading of level 1 or 2 (``# Titre``, ``## Titre ##``); None otherwise.

    Split by hand rather than with one regular expression: a heading padded with thousands of blanks
    must cost a linear scan, not a backtracking search.
    """
    line = line.strip()
    hashes = len(line) - len(line.lstrip("#"))
    if hashes not in (1, 2):
        return None
    rest = line[hashes:]
    if not rest or not rest[0].isspace():
        return None
    text = rest.strip()
    closing = text.rstrip("#")
    if closing != text and (not closing or closing[-1].isspace()):
        text = closing.rstrip()  # an optional closing sequence of #, after a blank
    return (hashes, text) if text else None
#: text/plain reprs of matplotlib objects: noise next to the figure they describe
_MPL_REPR = re.compile(r"^(\[?<(Figure|Axes|matplotlib\.|Axes3D)|\[?Text\(|<BarContainer|<matplotlib|"
                       r"\(<Figure|array\(\[<Axes)")


@dataclass
class Item:
    """One thing placed on a slide."""

    html: str          # sanitised HTML
    kind: str          # markdown | html | figure | image
    cell: int          # cell number as the analyst counts it (1-based)


@dataclass
class Slide:
    number: int
    title: str | None = None       # sanitised inline HTML
    level: int = 2                 # 1 title/section slide, 2 content slide
    items: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cells: list[int] = field(default_factory=list)
    layout: str = ""               # cover | divider | "" (content)
    reprs: list[tuple[int, str]] = field(default_factory=list)   # (cell, repr) left off this slide

    @property
    def key_figures(self) -> bool:
        """A slide of key figures (``esr.kpis``) alone, maybe with a source line or a note: they fill the slide."""
        kinds = [_block_class(item.html) for item in self.items]
        return "esr-kpis" in kinds and all(k in ("esr-kpis", "esr-source", "esr-note") for k in kinds)


_FIRST_CLASS = re.compile(r'\s*<(?:div|p)\s+class="([a-z-]+)"')


def _block_class(html: str) -> str:
    """The class of the building block an item's markup starts with (``esr-kpis``…), else ""."""
    match = _FIRST_CLASS.match(html[:80])
    return match.group(1) if match else ""


@dataclass
class SlideList:
    """The slides of one notebook, in order, and the warnings met building them."""

    slides: list[Slide]
    warnings: list[str]


_MD = None
#: the pictures a Markdown text may show (its cell's attachments) and the list its warnings about them go to
_PICTURE_CONTEXT: contextvars.ContextVar[tuple[dict, list[str]] | None] = contextvars.ContextVar(
    "esante_report_markdown_pictures", default=None)
#: a pasted picture keeps its proportions and leaves room on its slide for a title and a line of text
_PICTURE_STYLE = "display: block; max-width: 100%; max-height: 420px; width: auto; height: auto"
_DATA_URI = re.compile(r"data:(image/[a-z]+);base64,(.*)", re.S | re.I)


def _markdown():
    global _MD
    if _MD is None:
        import mistune

        class Renderer(mistune.HTMLRenderer):
            def image(self, text: str, url: str, title: str | None = None) -> str:
                return _picture(text, url)

        _MD = mistune.create_markdown(escape=True, renderer=Renderer(escape=True),
                                      plugins=["table", "strikethrough"])
    return _MD


def _picture(alt_html: str, url: str) -> str:
    """``<img>`` of a Markdown image: an attachment of the cell or a ``data:`` URI, checked; "" when refused."""
    from mistune.util import striptags

    attachments, warnings = _PICTURE_CONTEXT.get() or ({}, [])
    alt = unescape(striptags(alt_html)).strip()
    name = None
    if url.lower().startswith("attachment:"):
        name = url[len("attachment:"):]
        bundle = attachments.get(name, attachments.get(unquote(name)))
        label = f"pasted image {quote(unquote(name), 40)}"
        if not isinstance(bundle, dict):
            warnings.append(f"{label} not shown: the cell has no attachment of that name")
            return ""
        mime = next((m for m in images.RASTER_TYPES if m in bundle), None)
        if mime is None:
            warnings.append(f"{label} not shown: expected a PNG, JPEG or GIF picture, got "
                           f"{', '.join(sorted(map(str, bundle))) or 'nothing'}")
            return ""
        payload = bundle[mime]
    else:
        match = _DATA_URI.fullmatch(url.strip())
        mime = match.group(1).lower() if match else None
        label = f"image {quote(url, 40)}"
        if mime not in images.RASTER_TYPES:
            warnings.append(f"{label} not shown: a deck embeds every picture it shows; paste the picture into "
                           "the cell (JupyterLab keeps it as an attachment)")
            return ""
        payload = match.group(2)
    try:
        uri = images.data_uri(mime, payload)
    except ValueError as exc:
        warnings.append(f"{label} not shown ({mime}): {exc}")
        return ""
    if not alt or (name is not None and alt == unquote(name)):  # JupyterLab's default: the file name
        warnings.append(f"{label} has no description: write one between the brackets, ![description]({url})")
    return f'<img src="{uri}" alt="{escape(alt or "Image")}" style="{_PICTURE_STYLE}" />'


def markdown_html(text: str, attachments: dict | None = None, warnings: list[str] | None = None) -> str:
    """Markdown → sanitised HTML (raw HTML in the Markdown is shown as text, never interpreted).

    Images are shown when they are ``attachments`` of the cell (``attachment:NAME``) or ``data:`` URIs, once
    checked (:func:`esante_report.images.data_uri`); why any other is left out, and which picture has no
    description, is added to ``warnings``.
    """
    token = _PICTURE_CONTEXT.set((attachments if isinstance(attachments, dict) else {},
                                  warnings if warnings is not None else []))
    try:
        return sanitize.clean(_markdown()(text))
    finally:
        _PICTURE_CONTEXT.reset(token)


def _inline(text: str) -> str:
    html = markdown_html(text).strip()
    match = re.fullmatch(r"<p>(.*)</p>", html, flags=re.S)
    return match.group(1) if match else html


_LINE_END = re.compile(r"\r\n|\r|\n")


def _lines(text: str) -> list[str]:
    """The lines of a cell's source as Markdown and Python count them: a vertical tab or a form feed in a
    line is text of that line (``str.splitlines`` would break there)."""
    return _LINE_END.split(text)


def cell_options(source: str) -> dict[str, str]:
    """Quarto-style ``#| fig-alt: ...`` options at the top of a code cell."""
    options = {}
    for line in _lines(source):
        match = _OPTION.fullmatch(line.rstrip())
        if not match:
            if line.strip():
                break
            continue
        options[match.group(1)] = match.group(2).strip()
    return options


def _text(value, where: str) -> str:
    """A multiline string of the notebook format (a string or a list of strings) as one string."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    raise ExportError(f"{where}: expected text (a string or a list of strings), got {type(value).__name__}")


def _source(cell, n: int | None = None) -> str:
    return _text(cell.get("source", ""), f"cell {n}: source" if n is not None else "a cell's source")


def _slide_meta(output, n: int) -> dict:
    """The ``esante_report`` output metadata, checked: {new_slide: bool, title: str, level: 1|2, layout}."""
    metadata = output.get("metadata", {})
    meta = metadata.get(NEW_SLIDE_KEY, {}) if isinstance(metadata, dict) else None
    where = f"cell {n}: output metadata {NEW_SLIDE_KEY!r}"
    if not isinstance(meta, dict):
        raise ExportError(f"{where}: expected a mapping like {{'new_slide': true}}, got {type(meta).__name__}")
    unknown = sorted(set(meta) - {"new_slide", "title", "level", "layout"})
    if unknown:
        raise ExportError(f"{where}: unknown key {unknown[0]!r} (expected new_slide, title, level, layout)")
    if not isinstance(meta.get("new_slide", False), bool):
        raise ExportError(f"{where}: 'new_slide' must be true or false, got {meta['new_slide']!r:.60}")
    if meta.get("level", 2) not in (1, 2) or isinstance(meta.get("level"), bool):
        raise ExportError(f"{where}: 'level' must be 1 or 2, got {meta['level']!r:.60}")
    if meta.get("layout", "") not in _LAYOUTS:
        raise ExportError(f"{where}: 'layout' must be one of 'cover', 'divider' or '', got {meta['layout']!r:.60}")
    if meta.get("title") is not None and not isinstance(meta["title"], (str, int, float)):
        raise ExportError(f"{where}: 'title' must be text, got {type(meta['title']).__name__}")
    return meta


def _metadata(cell) -> dict:
    meta = cell.get("metadata", {})
    return meta if isinstance(meta, dict) else {}


def _tags(cell) -> set[str]:
    return set(cell_tags(cell))


def _kind(cell) -> str:
    if "notes" in _tags(cell):
        return "notes"
    slideshow = _metadata(cell).get("slideshow", {})
    kind = (slideshow.get("slide_type", "-") if isinstance(slideshow, dict) else "-") or "-"
    return {"subslide": "slide", "fragment": "-"}.get(kind, kind if kind in ("slide", "skip", "notes", "-") else "-")


def _describe(cell, n: int) -> str:
    first = next((line.strip() for line in _lines(_source(cell, n)) if line.strip()), "")
    return (first[:50] + "…") if len(first) > 50 else first


_SVG_ID = re.compile(r'\bid="([^"]+)"')


def _drop_metadata(svg: str) -> str:
    """``svg`` without its first ``<metadata>…</metadata>`` (found with str.find: linear in any input)."""
    start = svg.find("<metadata>")
    end = svg.find("</metadata>", start) if start >= 0 else -1
    return svg if end < 0 else svg[:start] + svg[end + len("</metadata>"):]


def svg_body(svg: str) -> str:
    """An SVG document from its ``<svg`` on: prolog and matplotlib's ``<metadata>`` (run dates) dropped."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    return _drop_metadata(svg)


_SVG_REF = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


def prefix_svg_ids(svg: str, prefix: str) -> str:
    """Every id of ``svg``, and every reference to it, prefixed: ids stay unique among a deck's pictures."""
    ids = set(_SVG_ID.findall(svg))
    return _SVG_REF.sub(lambda m: m.group(1) + (prefix + m.group(2) if m.group(2) in ids else m.group(2)), svg)


def _svg_markup(svg: str, prefix: str) -> str:
    """An SVG document as inline markup: prolog dropped, ids unique in the deck, scalable."""
    svg = prefix_svg_ids(svg_body(svg), prefix)
    return svg.replace("<svg", '<svg aria-hidden="true" focusable="false"', 1)


def figure_html(svg_or_img: str, alt: str, caption: str | None = None) -> str:
    """A chart block: picture with role=img and alt text, optional caption."""
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return (f'<figure class="esr-figure"><div class="esr-chart" role="img" aria-label="{escape(alt)}">'
            f"{svg_or_img}</div>{cap}</figure>")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~])")


def markdown_literal(text: str) -> str:
    """``text`` escaped so that Markdown shows it as it is (a value from data quoted in commentary)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _fill(text: str, n: int, values: dict | None) -> str:
    """``text`` with its ``{{ name }}`` placeholders replaced by the values the kernel recorded, escaped."""
    expressions = records.placeholders(text)
    if not expressions:
        return text
    bad = next((e for e in expressions if not records.EXPRESSION.fullmatch(e)), None)
    if bad is not None:
        raise ExportError(f"cell {n}: {{{{ {bad[:60]} }}}}: a placeholder names a variable of the notebook, maybe "
                          "with attributes (e.g. {{ total }}, {{ stats.total }}); no call, index or operator: "
                          "compute the value in a code cell above")
    if values is None:
        raise ExportError(f"cell {n}: {{{{ {expressions[0]} }}}}: placeholders are filled when esante-report "
                          "render runs the notebook; render the deck (export shows a notebook as it ran)")
    missing = [e for e in expressions if e not in values.get("values", {})]
    if missing:
        raise ExportError(f"cell {n}: {{{{ {missing[0]} }}}}: no variable of that name (or attribute) when the "
                          "notebook reaches this cell, or it is a function (expected a value computed by a code "
                          f"cell above, e.g. {missing[0].split('.')[0]} = ...)")
    filled = values["values"]

    def value(match: re.Match) -> str:
        return markdown_literal(str(filled[match.group(1).strip()]))

    return records.PLACEHOLDER.sub(value, text)


class _Builder:
    def __init__(self) -> None:
        self.slides: list[Slide] = []
        self.warnings: list[str] = []
        self.figures = 0
        #: execution count -> cell number, and the blocks recorded as never displayed
        self.counts: dict[int, int] = {}
        self.undisplayed: list[dict] = []

    @property
    def current(self) -> Slide:
        if not self.slides:
            self.slides.append(Slide(number=1))
        return self.slides[-1]

    def new_slide(self, title: str | None = None, level: int = 2, layout: str = "") -> Slide:
        slide = Slide(number=len(self.slides) + 1, title=title, level=level, layout=layout)
        self.slides.append(slide)
        return slide

    def warn(self, cell: int, message: str) -> None:
        # a warning quotes notebook text: printed on a terminal, it carries no escape sequence
        self.warnings.append(sanitize.xml_text(f"cell {cell}: {message}"))

    def markdown_html(self, text: str, n: int, cell=None) -> str:
        """Markdown of cell ``n`` as HTML, the images it cannot show reported as warnings naming the cell."""
        warnings: list[str] = []
        html = markdown_html(text, cell.get("attachments") if cell is not None else None, warnings)
        for message in warnings:
            self.warn(n, message)
        return html

    # -- cells
    def markdown(self, cell, n: int, kind: str, values: dict | None = None) -> None:
        text = _fill(_source(cell, n), n, values)
        if kind == "notes":
            if text.strip():
                self.current.notes.append(self.markdown_html(text, n, cell))
            return
        lines = _lines(text)
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is None:
            return
        heading = _heading(lines[first])
        if heading:
            level, title = heading
            layout = "" if level == 2 else ("cover" if not self.slides else "divider")
            slide = self.new_slide(_inline(title), level, layout)
            text = "\n".join(lines[first + 1:])
        elif kind == "slide" or not self.slides:
            slide = self.new_slide()
        else:
            slide = self.current
        slide.cells.append(n)
        if text.strip():
            html = self.markdown_html(text, n, cell)
            if html.strip():
                slide.items.append(Item(html, "markdown", n))

    def code(self, cell, n: int, kind: str) -> None:
        outputs = cell.get("outputs", [])
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            raise ExportError(f"cell {n}: outputs: expected a list of outputs")
        outputs = [o for o in outputs if not _is_record(o)]
        if kind == "notes":
            notes = [self._output_html(o, cell, n, warn=False) for o in outputs]
            self.current.notes.extend(h for h in notes if h)
            return
        if kind == "slide" and outputs:
            self.new_slide()
        options = cell_options(_source(cell, n))
        has_figure = any(isinstance(o.get("data"), dict) and any(m in o["data"] for m in _PICTURES)
                         for o in outputs)
        printed = False
        shown_svgs: set[str] = set()
        for output in outputs:
            otype = output.get("output_type")
            if otype == "stream":
                if output.get("name") == "stdout" and _text(output.get("text", ""), f"cell {n}: stream text").strip():
                    printed = True
                continue
            if otype == "error":
                self.warn(n, f"error output ({output.get('ename')}) not shown on a slide")
                continue
            meta = _slide_meta(output, n)
            if meta.get("new_slide"):
                title = meta.get("title")
                # a title given from code often comes from data: plain text, never Markdown
                self.new_slide(escape(str(title)) if title else None, meta.get("level", 2),
                               meta.get("layout", ""))
            data = output.get("data", {})
            if not isinstance(data, dict):
                raise ExportError(f"cell {n}: output data: expected a mapping of MIME types")
            if "image/svg+xml" in data:
                key = _drop_metadata(_text(data["image/svg+xml"], f"cell {n}: image/svg+xml output"))
                if key in shown_svgs:
                    continue  # the same figure again: a trailing `fig` + the inline backend's flush
                shown_svgs.add(key)
            if set(data) <= {"text/plain"}:
                text = str(data.get("text/plain", "")).strip()
                if has_figure and _MPL_REPR.match(text):
                    continue  # the repr of the figure that is shown anyway
                self.current.reprs.append((n, text[:60]))
                self.warn(n, f"output shown only as text ({text[:60]!r}) cannot be placed on a slide: "
                             "display a figure, a table (esr.table) or Markdown (esr.md) instead")
                continue
            html = self._output_html(output, cell, n, options=options)
            if html is None:
                self.warn(n, f"output of type {', '.join(sorted(data))} cannot be placed on a slide")
                continue
            if not html:
                continue  # refused, and said so
            kind_of = "figure" if any(m in data for m in _PICTURES) and "text/html" not in data else "html"
            slide = self.current
            slide.items.append(Item(html, kind_of, n))
            if n not in slide.cells:
                slide.cells.append(n)
        if printed:
            self.warn(n, "printed text is not shown on slides (use esr.md(...) to put text on a slide)")

    def read_records(self, cell, n: int | None) -> None:
        """Note the cell's execution count and the blocks its kernel recorded as never displayed."""
        count = cell.get("execution_count")
        if n is not None and isinstance(count, int) and not isinstance(count, bool):
            self.counts[count] = n
        for record in records.records(cell):
            lost = record.get("undisplayed")
            if isinstance(lost, list):
                self.undisplayed.extend(x for x in lost if isinstance(x, dict))

    def warn_undisplayed(self) -> None:
        for block in self.undisplayed:
            kind = block.get("block")
            kind = kind if isinstance(kind, str) and records.NAME.fullmatch(kind) else "block"
            count = block.get("execution_count")
            n = self.counts.get(count) if isinstance(count, int) else None
            where = f"cell {n}" if n is not None else "a cell"
            self.warnings.append(f"{where}: esr.{kind}(...) is built but never displayed, so no slide shows it: "
                                 "make it the last line of its cell, or pass it to display(...)")

    def _output_html(self, output, cell, n: int, options: dict | None = None, warn: bool = True) -> str | None:
        """Sanitised markup of one output; None when no MIME type can be shown, "" when it was refused
        (with a warning naming the cell)."""
        data = output.get("data", {})
        if not isinstance(data, dict):
            return None
        options = options or {}
        if "text/html" in data:
            return sanitize.clean(_text(data["text/html"], f"cell {n}: text/html output"))
        if "text/markdown" in data:
            return self.markdown_html(_text(data["text/markdown"], f"cell {n}: text/markdown output"), n)
        mime = next((m for m in _PICTURES if m in data), None)
        if mime is not None:
            if mime != "image/svg+xml":
                try:
                    uri = images.data_uri(mime, data[mime])
                except ValueError as exc:
                    self.warn(n, f"{mime} output refused: {exc}")
                    return ""
            self.figures += 1
            alt = options.get("fig-alt")
            caption = options.get("fig-cap")
            if not alt and warn:
                self.warn(n, "chart without alt text: add a line '#| fig-alt: ...' at the top of the cell "
                             "(or use esr.chart(fig, alt=...))")
            alt = alt or caption or "Graphique"
            if mime == "image/svg+xml":
                svg = _text(data[mime], f"cell {n}: image/svg+xml output")
                picture = sanitize.clean(_svg_markup(svg, f"f{self.figures}-"))
            else:
                if warn:
                    self.warn(n, f"raster image ({mime}): charts are vector when the notebook calls "
                                 "esr.setup() before plotting")
                # the payload was decoded and re-encoded: the URI holds base64 letters only
                picture = sanitize.clean(f'<img src="{uri}" alt="">')
            return figure_html(picture, alt, caption)
        return None


def _is_record(output) -> bool:
    data = output.get("data")
    return isinstance(data, dict) and records.MIME in data and set(data) <= {records.MIME, "text/plain"}


def _markdown_values(cells: list, index: int) -> dict | None:
    """The placeholder values recorded for the Markdown cell at ``index``: by the injected cell after it."""
    following = cells[index + 1] if index + 1 < len(cells) else None
    if following is None or records.INJECTED_TAG not in _tags(following):
        return None
    found = [r for r in records.records(following) if isinstance(r.get("values"), dict)]
    return found[0] if found else {"values": {}}


def _xml_safe(slide: Slide) -> None:
    """Every text of ``slide`` as text every deck format holds (no control character, no lone surrogate)."""
    slide.title = sanitize.xml_text(slide.title) if slide.title is not None else None
    for item in slide.items:
        item.html = sanitize.xml_text(item.html)
    slide.notes = [sanitize.xml_text(note) for note in slide.notes]


def build_deck(nb: nbformat.NotebookNode) -> SlideList:
    """The slides of an executed notebook, and the warnings about what could not be placed."""
    builder = _Builder()
    n = 0
    for index, cell in enumerate(nb.cells):
        tags = _tags(cell)
        if tags & INJECTED_TAGS:
            builder.read_records(cell, None)  # the end-of-notebook report of blocks never displayed
            continue  # papermill's and render's cells: not ones the analyst sees in the source notebook
        n += 1
        if cell.get("cell_type") == "code":
            builder.read_records(cell, n)
        if tags & HIDDEN_TAGS:
            continue
        kind = _kind(cell)
        if kind == "skip":
            continue
        ctype = cell.get("cell_type")
        if ctype == "markdown":
            builder.markdown(cell, n, kind, _markdown_values(nb.cells, index))
        elif ctype == "code":
            builder.code(cell, n, kind)
        elif _source(cell, n).strip():
            builder.warn(n, f"{ctype} cell ({_describe(cell, n)!r}) is not shown on slides")
    builder.warn_undisplayed()
    slides = [s for s in builder.slides if s.items or s.title or s.reprs]
    for i, slide in enumerate(slides, start=1):
        slide.number = i
        _xml_safe(slide)
    if not slides:
        raise ExportError("the notebook has no visible cell: nothing to put on a slide")
    for slide in slides:
        if not slide.items and not slide.title and slide.reprs:
            cell, text = slide.reprs[0]
            raise ExportError(f"slide {slide.number} would show only a Python repr (cell {cell}: {text!r}): "
                              "display the object itself (a figure, esr.table(df), esr.md(...))")
    return SlideList(slides, builder.warnings)
