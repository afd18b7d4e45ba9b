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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

import nbformat

from . import sanitize
from .errors import ExportError

__all__ = ["Item", "Slide", "SlideList", "build_deck", "markdown_html", "cell_options", "NEW_SLIDE_KEY",
           "HIDDEN_TAGS"]

#: output metadata key of the building blocks (new slide, title, layout)
NEW_SLIDE_KEY = "esante_report"
#: cells with these tags never reach a slide (papermill's parameters cells among them)
HIDDEN_TAGS = frozenset({"parameters", "injected-parameters", "remove_cell", "remove-cell"})

_HEADING = re.compile(r"^\s*(#{1,2})(?!#)\s+(.+?)\s*#*\s*$")
_OPTION = re.compile(r"^#\|\s*([a-z][a-z0-9-]*)\s*:\s*(.*?)\s*$")
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


@dataclass
class SlideList:
    """The slides of one notebook, in order, and the warnings met building them."""

    slides: list[Slide]
    warnings: list[str]


_MD = None


def markdown_html(text: str) -> str:
    """Markdown → sanitised HTML (raw HTML in the Markdown is shown as text, never interpreted)."""
    global _MD
    if _MD is None:
        import mistune
        _MD = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
    return sanitize.clean(_MD(text))


def _inline(text: str) -> str:
    html = markdown_html(text).strip()
    match = re.fullmatch(r"<p>(.*)</p>", html, flags=re.S)
    return match.group(1) if match else html


def cell_options(source: str) -> dict[str, str]:
    """Quarto-style ``#| fig-alt: ...`` options at the top of a code cell."""
    options = {}
    for line in source.splitlines():
        match = _OPTION.match(line)
        if not match:
            if line.strip():
                break
            continue
        options[match.group(1)] = match.group(2)
    return options


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _kind(cell) -> str:
    meta = cell.get("metadata", {})
    if "notes" in meta.get("tags", []):
        return "notes"
    kind = meta.get("slideshow", {}).get("slide_type", "-") or "-"
    return {"subslide": "slide", "fragment": "-"}.get(kind, kind if kind in ("slide", "skip", "notes", "-") else "-")


def _describe(cell) -> str:
    first = next((line.strip() for line in _source(cell).splitlines() if line.strip()), "")
    return (first[:50] + "…") if len(first) > 50 else first


_SVG_ID = re.compile(r'\bid="([^"]+)"')


def svg_body(svg: str) -> str:
    """An SVG document from its ``<svg`` on: prolog and matplotlib's ``<metadata>`` (run dates) dropped."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    return re.sub(r"<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)


def prefix_svg_ids(svg: str, prefix: str) -> str:
    """Every id of ``svg``, and every reference to it, prefixed: ids stay unique among a deck's pictures."""
    for old in sorted(set(_SVG_ID.findall(svg)), key=len, reverse=True):
        new = f"{prefix}{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"url(#{old})", f"url(#{new})") \
                 .replace(f'href="#{old}"', f'href="#{new}"')
    return svg


def _svg_markup(svg: str, prefix: str) -> str:
    """An SVG document as inline markup: prolog dropped, ids unique in the deck, scalable."""
    svg = prefix_svg_ids(svg_body(svg), prefix)
    return svg.replace("<svg", '<svg aria-hidden="true" focusable="false"', 1)


def figure_html(svg_or_img: str, alt: str, caption: str | None = None) -> str:
    """A chart block: picture with role=img and alt text, optional caption."""
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return (f'<figure class="esr-figure"><div class="esr-chart" role="img" aria-label="{escape(alt)}">'
            f"{svg_or_img}</div>{cap}</figure>")


class _Builder:
    def __init__(self) -> None:
        self.slides: list[Slide] = []
        self.warnings: list[str] = []
        self.figures = 0

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
        self.warnings.append(f"cell {cell}: {message}")

    # -- cells
    def markdown(self, cell, n: int, kind: str) -> None:
        text = _source(cell)
        if kind == "notes":
            if text.strip():
                self.current.notes.append(markdown_html(text))
            return
        lines = text.splitlines()
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is None:
            return
        heading = _HEADING.match(lines[first])
        if heading:
            level = len(heading.group(1))
            layout = "" if level == 2 else ("cover" if not self.slides else "divider")
            slide = self.new_slide(_inline(heading.group(2)), level, layout)
            text = "\n".join(lines[first + 1:])
        elif kind == "slide" or not self.slides:
            slide = self.new_slide()
        else:
            slide = self.current
        slide.cells.append(n)
        if text.strip():
            slide.items.append(Item(markdown_html(text), "markdown", n))

    def code(self, cell, n: int, kind: str) -> None:
        outputs = cell.get("outputs", [])
        if kind == "notes":
            notes = [self._output_html(o, cell, n, warn=False) for o in outputs]
            self.current.notes.extend(h for h in notes if h)
            return
        if kind == "slide" and outputs:
            self.new_slide()
        options = cell_options(_source(cell))
        has_figure = any("image/svg+xml" in o.get("data", {}) or "image/png" in o.get("data", {})
                         for o in outputs)
        printed = False
        shown_svgs: set[str] = set()
        for output in outputs:
            otype = output.get("output_type")
            if otype == "stream":
                if output.get("name") == "stdout" and output.get("text", "").strip():
                    printed = True
                continue
            if otype == "error":
                self.warn(n, f"error output ({output.get('ename')}) not shown on a slide")
                continue
            meta = output.get("metadata", {}).get(NEW_SLIDE_KEY, {})
            if meta.get("new_slide"):
                title = meta.get("title")
                # a title given from code often comes from data: plain text, never Markdown
                self.new_slide(escape(str(title)) if title else None, int(meta.get("level", 2)),
                               meta.get("layout", ""))
            data = output.get("data", {})
            if "image/svg+xml" in data:
                svg = data["image/svg+xml"]
                key = re.sub(r"<metadata>.*?</metadata>", "", "".join(svg) if isinstance(svg, list) else svg,
                             count=1, flags=re.S)
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
            kind_of = "figure" if ("image/svg+xml" in data or "image/png" in data) and "text/html" not in data \
                else "html"
            slide = self.current
            slide.items.append(Item(html, kind_of, n))
            if n not in slide.cells:
                slide.cells.append(n)
        if printed:
            self.warn(n, "printed text is not shown on slides (use esr.md(...) to put text on a slide)")

    def _output_html(self, output, cell, n: int, options: dict | None = None, warn: bool = True) -> str | None:
        data = output.get("data", {})
        options = options or {}
        if "text/html" in data:
            html = data["text/html"]
            return sanitize.clean("".join(html) if isinstance(html, list) else html)
        if "text/markdown" in data:
            md = data["text/markdown"]
            return markdown_html("".join(md) if isinstance(md, list) else md)
        if "image/svg+xml" in data or "image/png" in data or "image/jpeg" in data:
            self.figures += 1
            alt = options.get("fig-alt")
            caption = options.get("fig-cap")
            if not alt and warn:
                self.warn(n, "chart without alt text: add a line '#| fig-alt: ...' at the top of the cell "
                             "(or use esr.chart(fig, alt=...))")
            alt = alt or caption or "Graphique"
            if "image/svg+xml" in data:
                svg = data["image/svg+xml"]
                svg = "".join(svg) if isinstance(svg, list) else svg
                picture = sanitize.clean(_svg_markup(svg, f"f{self.figures}-"))
            else:
                mime = "image/png" if "image/png" in data else "image/jpeg"
                payload = data[mime]
                payload = "".join(payload) if isinstance(payload, list) else payload
                payload = re.sub(r"\s+", "", payload)
                if warn:
                    self.warn(n, "raster image (PNG/JPEG): charts are vector when the notebook calls "
                                 "esr.setup() before plotting")
                picture = f'<img src="data:{mime};base64,{payload}" alt="">'
            return figure_html(picture, alt, caption)
        return None


def build_deck(nb: nbformat.NotebookNode) -> SlideList:
    """The slides of an executed notebook, and the warnings about what could not be placed."""
    builder = _Builder()
    n = 0
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if "injected-parameters" in tags:
            continue  # papermill's cell: not one the analyst sees in the source notebook
        n += 1
        if tags & HIDDEN_TAGS:
            continue
        kind = _kind(cell)
        if kind == "skip":
            continue
        ctype = cell.get("cell_type")
        if ctype == "markdown":
            builder.markdown(cell, n, kind)
        elif ctype == "code":
            builder.code(cell, n, kind)
        elif _source(cell).strip():
            builder.warn(n, f"{ctype} cell ({_describe(cell)!r}) is not shown on slides")
    slides = [s for s in builder.slides if s.items or s.title or s.reprs]
    for i, slide in enumerate(slides, start=1):
        slide.number = i
    if not slides:
        raise ExportError("the notebook has no visible cell: nothing to put on a slide")
    for slide in slides:
        if not slide.items and not slide.title and slide.reprs:
            cell, text = slide.reprs[0]
            raise ExportError(f"slide {slide.number} would show only a Python repr (cell {cell}: {text!r}): "
                              "display the object itself (a figure, esr.table(df), esr.md(...))")
    return SlideList(slides, builder.warnings)
