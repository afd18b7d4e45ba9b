"""Executed notebook → offline reveal.js HTML deck and 16:9 PDF deck.

:func:`esante_report.slides.model.build_deck` turns the notebook into slides (the
authoring model); one autoescaped template (``templates/deck/deck.html.j2``)
writes them as the reveal.js deck and as the print deck that WeasyPrint lays
out as one 1280×720 px page per slide. Both show the same slides.

Safety of what is distributed:

- every text of the header, footer and metadata is escaped; slide content is
  sanitised (:mod:`esante_report.slides.sanitize`);
- the HTML deck carries a Content-Security-Policy: no remote load of any kind,
  no inline event handler, only its own scripts (by hash);
- WeasyPrint fetches nothing but ``data:`` URIs (no network, no ``file:``) and
  creates no attachment.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import nbformat
from markupsafe import Markup

from esante_report import fonts
from esante_report.checks.layout import charts_of
from esante_report.errors import ExportError
from esante_report.paths import node_modules_dir, templates_dir
from esante_report.slides.model import HIDDEN_TAGS, SlideList, build_deck
from esante_report.slides.sanitize import xml_text

__all__ = ["DeckMeta", "Rendered", "build", "count_slides", "export_html", "export_print_html", "write_pdf",
           "HIDDEN_TAGS", "url_fetcher"]


@dataclass(frozen=True)
class DeckMeta:
    """What the header, footer and document metadata of a deck say (plain text, escaped on output)."""

    title: str
    issuer: str
    date: str                 # reporting date, French format (15/11/2021)
    subject: str = ""
    keywords: str = ""
    created: str = ""         # ISO 8601 timestamp
    generator: str = "esante-report"
    extra: dict = field(default_factory=dict)
    #: file name of the HTML deck, named on the PDF's cover as its accessible alternative (PDF/UA)
    alternative: str = ""
    #: the deck's own CSS (trusted: from its deck code), after the house CSS
    css: str = ""

    def __post_init__(self) -> None:
        # one filter for every format the deck is written in (HTML, PDF metadata, PowerPoint, Impress)
        for name in ("title", "issuer", "date", "subject", "keywords", "created", "generator", "alternative"):
            object.__setattr__(self, name, xml_text(getattr(self, name)))


@dataclass(frozen=True)
class Rendered:
    html: str                 # the reveal.js deck
    print_html: str           # the print deck, for write_pdf
    slides: int
    warnings: tuple[str, ...]
    #: per slide: letters and digits a reader should find on its PDF page (pdfcheck's dropped-content check)
    expected_chars: tuple[int, ...] = ()
    #: per slide: the notebook cells it comes from (to name them in warnings)
    slide_cells: tuple[tuple[int, ...], ...] = ()
    #: per slide: its charts as drawn (the layout check says how much a chart with small text was scaled down)
    charts: tuple = ()
    #: the slide list both decks show (the editable decks are written from it too)
    deck: SlideList | None = field(default=None, compare=False, repr=False)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise ExportError(f"{what} not found at {path} (run `make setup`, which installs it with npm ci)") from None


@functools.lru_cache(maxsize=1)
def assets() -> dict[str, str]:
    reveal = node_modules_dir() / "reveal.js"
    css = templates_dir() / "css"
    return {
        "reveal_css": _read(reveal / "dist" / "reveal.css", "reveal.js"),
        "reveal_js": _read(reveal / "dist" / "reveal.js", "reveal.js"),
        "notes_js": _read(reveal / "plugin" / "notes" / "notes.js", "reveal.js notes plugin"),
        "house_css": _read(css / "house.css", "house CSS"),
        "screen_css": _read(css / "screen.css", "screen CSS"),
        "print_css": _read(css / "print.css", "print CSS"),
        "init_js": _read(templates_dir() / "deck" / "init.js", "deck start-up script"),
    }


def _sha(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def _speaker_view_scripts(notes_js: str) -> list[str]:
    """Inline scripts of reveal's speaker view, which the notes plugin writes into its pop-up.

    The pop-up inherits the deck's policy, so its scripts must be allowed by hash too.
    """
    match = re.search(r'document\.write\(("(?:[^"\\]|\\.)*")\)', notes_js)
    if not match:
        return []
    import json

    try:
        html = json.loads(re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: "\\u00" + m.group(1), match.group(1)))
    except ValueError:
        return []
    return re.findall(r"<script>(.*?)</script>", html, flags=re.S)


@functools.lru_cache(maxsize=1)
def _csp_and_scripts() -> tuple[str, tuple[str, ...]]:
    found = assets()
    scripts = (found["reveal_js"], found["notes_js"], found["init_js"])
    hashes = " ".join(_sha(s) for s in (*scripts, *_speaker_view_scripts(found["notes_js"])))
    csp = ("default-src 'none'; "
           f"script-src {hashes}; "
           "style-src 'unsafe-inline'; img-src data:; font-src data:; "
           "frame-src 'self'; child-src 'self'; connect-src 'none'; media-src 'none'; object-src 'none'; "
           "base-uri 'none'; form-action 'none'")
    return csp, scripts


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "deck")), autoescape=True,
                             trim_blocks=False, lstrip_blocks=False)
    return env.get_template("deck.html.j2")


def _context(deck: SlideList, meta: DeckMeta) -> dict:
    slides = [{"number": s.number, "layout": s.layout, "key_figures": s.key_figures,
               "title": Markup(s.title) if s.title else None,
               "items": [{"kind": i.kind, "html": Markup(i.html)} for i in s.items],
               "notes": [Markup(n) for n in s.notes]} for s in deck.slides]
    return {"slides": slides, "total": len(slides), "meta": meta}


def _render(deck: SlideList, meta: DeckMeta, mode: str) -> str:
    css = {k: Markup(v) for k, v in assets().items() if k.endswith("_css")}
    css["font_css"] = Markup(fonts.font_face_css())
    css["deck_css"] = Markup(meta.css.replace("</", "<\\/"))  # never ends its <style> element
    csp, scripts = _csp_and_scripts() if mode == "reveal" else ("", ())
    return _template().render(mode=mode, assets=css, csp=csp, scripts=[Markup(s) for s in scripts],
                              **_context(deck, meta))


_CHART = re.compile(r'(<div class="esr-chart" role="img" aria-label=(?:"([^"]*)"|\'([^\']*)\')>\s*)'
                    r'(<svg\b[^>]*>|<img\b[^>]*>)')


def _print_alt(match: re.Match) -> str:
    """The print deck's charts carry their alt text where WeasyPrint looks for it (PDF/UA Figure /Alt).

    The attribute is read back as text (the serialiser may quote it either way and leave ``<`` in it)
    and escaped again for the ``<title>`` text or the ``alt`` attribute.
    """
    import html as html_mod

    lead, tag = match.group(1), match.group(4)
    alt = html_mod.escape(html_mod.unescape(match.group(2) if match.group(2) is not None else match.group(3)))
    if tag.startswith("<img"):
        return lead + re.sub(r'\salt=("[^"]*"|\'[^\']*\')', "", tag, count=1).replace("<img", f'<img alt="{alt}"', 1)
    return f"{lead}{tag}<title>{alt}</title>"


#: SVG elements a chart may hold to be laid out as an SVG image rather than inline markup (as XML spells them):
#: drawing only, nothing that links, embeds or breaks out of the picture
_SVG_ELEMENTS = {name.lower(): name for name in (
    "svg", "g", "defs", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan", "use",
    "clipPath", "pattern", "linearGradient", "radialGradient", "stop", "marker", "mask", "symbol", "title", "desc")}
#: attributes of a chart's ``<svg>`` that do not style its box (a ``style`` or ``class`` there does: kept inline)
_IMAGE_ROOT_ATTRIBUTES = frozenset({"xmlns", "xmlns:xlink", "version", "width", "height", "viewbox",
                                    "preserveaspectratio", "stroke-linejoin", "stroke-linecap", "aria-hidden",
                                    "focusable"})
_SVG_TAG = re.compile(r"<(/?)svg\b[^>]*>")
_ANY_TAG = re.compile(r"<(/?)([^\s/>]+)([^>]*)>")
_ATTRIBUTE = re.compile(r'(\s)([^\s=/>]+)(=")')


def _charts_as_images(print_html: str) -> str:
    """The print deck with each chart's inline ``<svg>`` as an SVG image, ``<img class="esr-svg" alt="…">``.

    WeasyPrint draws both the same way (one SVG picture, its text kept as text, tagged as a ``Figure`` whose
    ``/Alt`` is the image's ``alt``), but runs the CSS cascade over every element of inline markup, which takes
    about a third of its time on a deck of charts. A chart stays inline when the image could differ: when the
    deck's own CSS names ``svg``, when its ``<svg>`` has a ``style`` or ``class``, holds an element that is not
    plain drawing, or is not well-formed XML once written as XML.
    """
    if _deck_css_names_svg(print_html):
        return print_html
    out, done = [], 0
    for match in _CHART.finditer(print_html):
        start = match.start(4)
        if start < done or not match.group(4).startswith("<svg"):
            continue
        end = _element_end(print_html, start)
        image = _svg_image(print_html[start:end], match) if end > start else None
        if image is not None:
            out += [print_html[done:start], image]
            done = end
    return "".join(out) + print_html[done:] if out else print_html


def _deck_css_names_svg(print_html: str) -> bool:
    """Whether a style sheet of the deck other than the house's own (the deck's CSS) has a rule for ``svg``."""
    house = {v for k, v in assets().items() if k.endswith("_css")} | {fonts.font_face_css()}
    return any("svg" in css.lower() for css in _STYLE_BLOCK.findall(print_html.split("</head>", 1)[0])
               if css not in house)


def _element_end(html: str, start: int) -> int:
    """Where the ``<svg>`` element starting at ``start`` ends (sanitised markup: every ``<`` opens a tag); -1
    when it does not."""
    depth = 0
    for tag in _SVG_TAG.finditer(html, start):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return tag.end()
    return -1


def _svg_image(svg: str, chart: re.Match) -> str | None:
    """The chart's ``<svg>`` markup as an ``<img>`` of its XML; None when it must stay inline."""
    import html as html_mod
    from xml.etree import ElementTree

    try:
        from tinyhtml5.constants import adjust_svg_attributes  # the case HTML parsers give SVG attributes
    except ImportError:
        return None
    unsafe = []

    def as_xml(tag: re.Match) -> str:
        closing, name, rest = tag.groups()
        if name not in _SVG_ELEMENTS:
            unsafe.append(name)
            return ""
        rest = _ATTRIBUTE.sub(lambda a: a.group(1) + adjust_svg_attributes.get(a.group(2), a.group(2)) + a.group(3),
                              rest)
        return f"<{closing}{_SVG_ELEMENTS[name]}{rest}>"

    root = _ANY_TAG.match(svg)
    names = {a.group(2) for a in _ATTRIBUTE.finditer(root.group(3))} if root else {"?"}
    if not names <= _IMAGE_ROOT_ATTRIBUTES or 'xmlns="http://www.w3.org/2000/svg"' not in root.group(3):
        return None
    xml = _ANY_TAG.sub(as_xml, re.sub(r"<title>[^<]*</title>", "", svg, count=1))
    if unsafe:
        return None
    data = xml.encode("utf-8")
    try:
        ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None
    alt = html_mod.escape(html_mod.unescape(chart.group(2) if chart.group(2) is not None else chart.group(3)))
    return f'<img class="esr-svg" alt="{alt}" src="data:image/svg+xml;base64,{base64.b64encode(data).decode()}">'


def _print_deck(deck: SlideList, meta: DeckMeta) -> str:
    return _CHART.sub(_print_alt, _render(deck, meta, "print"))


def build(nb: nbformat.NotebookNode, meta: DeckMeta) -> Rendered:
    """Both decks of ``nb`` from one pass over its cells."""
    deck = build_deck(nb)
    print_html = _print_deck(deck, meta)
    return Rendered(_render(deck, meta, "reveal"), print_html, len(deck.slides), tuple(deck.warnings),
                    expected_chars=tuple(visible_chars(print_html)),
                    slide_cells=tuple(tuple(s.cells) for s in deck.slides),
                    charts=tuple(charts_of(s.items) for s in deck.slides), deck=deck)


_INVISIBLE = re.compile(r'<(style|script|aside|title)\b.*?</\1>|<details class="esr-data">.*?</details>', re.S)
_WORD_CHAR = re.compile(r"\w")


def visible_chars(print_html: str) -> list[int]:
    """Per slide of the print deck, the number of letters and digits it shows."""
    import html as html_mod

    body = print_html.split('<div class="slides">', 1)[-1]
    counts = []
    # one chunk per slide, cut at the template's own start tags (the sanitiser drops that class from
    # outputs): a slide's content is balanced markup, so each pattern below finds its end inside it
    for chunk in body.split('<section class="esr-slide')[1:]:
        section = "<section" + chunk[:chunk.rfind("</section>")]
        text = re.sub(r"<[^>]+>", " ", _INVISIBLE.sub(" ", section))
        counts.append(len(_WORD_CHAR.findall(html_mod.unescape(text))))
    return counts


def count_slides(nb: nbformat.NotebookNode) -> int:
    """Number of slides the deck of ``nb`` has."""
    return len(build_deck(nb).slides)


def export_html(nb: nbformat.NotebookNode, meta: DeckMeta) -> str:
    """The self-contained reveal.js deck (works offline)."""
    return _render(build_deck(nb), meta, "reveal")


def export_print_html(nb: nbformat.NotebookNode, meta: DeckMeta) -> str:
    """The print version of the same slides, laid out for WeasyPrint."""
    return _print_deck(build_deck(nb), meta)


def _refuse(url: str) -> None:
    if not url.startswith("data:"):
        raise ExportError(f"refused to fetch {url[:80]!r}: a deck embeds everything it shows")


@functools.lru_cache(maxsize=1)
def _fetcher_class():
    """WeasyPrint 70 takes an URLFetcher object (a function fails on every image): one that opens ``data:`` only."""
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=False)

        def fetch(self, url, headers=None):
            _refuse(url)
            return super().fetch(url, headers)

    return DataOnlyFetcher


def url_fetcher():
    """WeasyPrint's only way out: ``data:`` URIs of the deck itself; nothing from a host or a file.

    A refused URL raises :class:`ExportError` inside WeasyPrint, which logs it and leaves the resource out.
    """
    return _fetcher_class()()


def write_pdf(print_html: str, path: Path):
    """Lay out ``print_html`` (from :func:`export_print_html`) into the PDF/UA-1 deck ``path``.

    Returns the :class:`~esante_report.checks.pdfua.Structure` read while the deck was finished, which the
    PDF/UA check reuses for a file that still holds these bytes.
    """
    import logging

    import weasyprint

    from esante_report.checks import pdfua

    path = Path(path)
    # WeasyPrint logs unsupported CSS and refused fetches at warning level: not the reader's concern
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    try:
        laid_out, stylesheets, font_config = _shared_styles(_charts_as_images(print_html))
        data = weasyprint.HTML(string=laid_out, base_url=None, url_fetcher=url_fetcher()).write_pdf(
            None, pdf_tags=True, uncompressed_pdf=False, custom_metadata=False, attachments=[], pdf_variant="pdf/ua-1",
            stylesheets=stylesheets, font_config=font_config)
    except Exception as exc:  # WeasyPrint raises many types; surface one error
        raise ExportError(f"PDF layout failed for {path.name}: {exc}") from exc
    data, structure = pdfua.finish_bytes(data, pdfua.figure_alts(print_html))
    path.write_bytes(data)  # the build folder's own file
    return structure


#: per process: one FontConfiguration and the parsed house stylesheets, shared by every deck laid out
_SHARED: dict[str, object] = {}
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>\n?", re.S)


def _forget_fonts(inherited: Path | None) -> None:
    """Remove the temporary folder where WeasyPrint put this process's ``@font-face`` fonts, unless this
    process inherited it (a forked worker): the parent removes it."""
    config = _SHARED.get("font_config")
    folder = getattr(config, "_folder", None)  # WeasyPrint 70's own name, read by its __del__ too
    if folder and folder != inherited:
        shutil.rmtree(folder, ignore_errors=True)
        config._folder = None


def _shared_styles(print_html: str):
    """The print deck without its ``<style>`` blocks, and those as parsed stylesheets shared between decks.

    The deck's only style blocks are the house assets (fonts, house CSS, print CSS): WeasyPrint parses them,
    and loads the fonts of their ``@font-face`` rules, once per process instead of once per deck. Same
    order, same origin (author), so the cascade is unchanged. Blocks are cached by their exact text.
    """
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    if "font_config" not in _SHARED:
        _SHARED["font_config"] = FontConfiguration()
    if _SHARED.get("fonts_of") != os.getpid():  # first use in this process (a pool worker inherits the parent's)
        from multiprocessing import util

        _SHARED["fonts_of"] = os.getpid()
        # WeasyPrint removes the folder of the loaded fonts when the configuration is collected; a process
        # that ends with os._exit (the command, a pool worker) collects nothing: the folder goes at exit
        util.Finalize(None, _forget_fonts, args=(getattr(_SHARED["font_config"], "_folder", None),), exitpriority=1)
    font_config = _SHARED["font_config"]
    sheets = []
    for css in _STYLE_BLOCK.findall(print_html.split("</head>", 1)[0]):
        key = "css:" + hashlib.sha256(css.encode()).hexdigest()
        if key not in _SHARED:
            _SHARED[key] = CSS(string=css, font_config=font_config, url_fetcher=url_fetcher())
        sheets.append(_SHARED[key])
    head, sep, body = print_html.partition("</head>")
    return _STYLE_BLOCK.sub("", head) + sep + body, sheets, font_config
