"""Executed notebook → offline reveal.js HTML deck and 16:9 PDF deck.

Both outputs come from nbconvert's :class:`~nbconvert.SlidesExporter` with two
templates that share the slide markup (``templates/esante_base``): the reveal.js
deck (``esante_reveal``) and a print deck (``esante_print``) that WeasyPrint
lays out as one 1280×720 page per slide. Code, papermill's parameters cells and
stream output never reach a slide.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

from . import fonts
from .components import NEW_SLIDE_KEY
from .errors import ExportError
from .paths import node_modules_dir, templates_dir

__all__ = ["DeckMeta", "prepare_notebook", "count_slides", "export_html", "export_print_html", "write_pdf"]

#: cells with these tags never reach a slide (papermill's parameters cells among them)
HIDDEN_TAGS = frozenset({"parameters", "injected-parameters", "remove_cell", "remove-cell"})


@dataclass(frozen=True)
class DeckMeta:
    """What the header, footer and document metadata of a deck say."""

    title: str
    issuer: str
    date: str                 # reporting date, French format (15/11/2021)
    subject: str = ""
    keywords: str = ""
    created: str = ""         # ISO 8601 timestamp
    generator: str = "esante-report"
    extra: dict = field(default_factory=dict)


def prepare_notebook(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """A copy of ``nb`` ready for the slide templates, and its number of slides.

    Drops hidden cells and code cells without output, splits cells that display
    several slides (:func:`components.show_slides`), turns sub-slides into slides and fragments into plain
    cells (a PDF page cannot reveal fragments), and numbers every cell with the
    slide it belongs to (``metadata.esr_slide_number``).
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:  # warnings and prints are for the analyst, never for the reader
        if cell.get("cell_type") == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "stream"]
    nb.cells = [c for c in nb.cells if not HIDDEN_TAGS & set(c.get("metadata", {}).get("tags", []))
                and not (c.get("cell_type") == "code" and not c.get("outputs"))]  # nothing to show
    nb.cells = [part for cell in nb.cells for part in _split_slides(cell)]
    number = 0
    for cell in nb.cells:
        slideshow = cell.setdefault("metadata", {}).setdefault("slideshow", {})
        kind = slideshow.get("slide_type", "-")
        if "notes" in cell.metadata.get("tags", []):  # a cell tagged `notes` is speaker notes too
            kind = "notes"
        if kind == "subslide":
            kind = "slide"
        elif kind == "fragment":
            kind = "-"
        if kind not in ("slide", "-", "skip", "notes"):
            kind = "-"
        slideshow["slide_type"] = kind
        if kind not in ("skip", "notes") and (kind == "slide" or number == 0):
            number += 1
        cell.metadata["esr_slide_number"] = max(number, 1)
    if number == 0:
        raise ExportError("the notebook has no visible cell: nothing to put on a slide")
    return nb, number


def _starts_slide(output: dict) -> bool:
    return bool(output.get("metadata", {}).get(NEW_SLIDE_KEY, {}).get("new_slide"))


def _split_slides(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """A code cell whose outputs are marked by :func:`components.show_slides` becomes one cell a slide."""
    outputs = cell.get("outputs", [])
    if cell.get("cell_type") != "code" or not any(_starts_slide(o) for o in outputs):
        return [cell]
    chunks: list[list] = [[]]
    for output in outputs:
        if _starts_slide(output) and chunks[-1]:
            chunks.append([])
        chunks[-1].append(output)
    parts = []
    for i, chunk in enumerate(chunks):
        part = copy.deepcopy(cell)
        part.outputs = chunk
        if i > 0:
            part.metadata.setdefault("slideshow", {})["slide_type"] = "slide"
            if "id" in part:
                part.id = f"{cell.id}-{i}"
        parts.append(part)
    return parts


def count_slides(nb: nbformat.NotebookNode) -> int:
    """Number of slides the deck of ``nb`` has."""
    return prepare_notebook(nb)[1]


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise ExportError(f"{what} not found at {path} (run `make setup`, which installs it with npm ci)") from None


@functools.lru_cache(maxsize=1)
def _assets() -> dict[str, str]:
    reveal = node_modules_dir() / "reveal.js"
    css = templates_dir() / "css"
    return {
        "reveal_css": _read(reveal / "dist" / "reveal.css", "reveal.js"),
        "reveal_js": _read(reveal / "dist" / "reveal.js", "reveal.js"),
        "notes_js": _read(reveal / "plugin" / "notes" / "notes.js", "reveal.js notes plugin"),
        "house_css": _read(css / "house.css", "house CSS"),
        "screen_css": _read(css / "screen.css", "screen CSS"),
        "print_css": _read(css / "print.css", "print CSS"),
    }


def _export(nb: nbformat.NotebookNode, meta: DeckMeta, template: str, show_notes: bool) -> str:
    prepared, total = prepare_notebook(nb)
    exporter = SlidesExporter(template_name=template, extra_template_basedirs=[str(templates_dir())],
                              exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    resources = {
        "esr": {
            **_assets(),
            "font_css": fonts.font_face_css(),
            "title": meta.title, "issuer": meta.issuer, "date": meta.date, "subject": meta.subject,
            "keywords": meta.keywords, "created": meta.created, "generator": meta.generator, "total": total,
            "show_notes": show_notes,
        },
    }
    body, _ = exporter.from_notebook_node(prepared, resources=resources)
    return body


def export_html(nb: nbformat.NotebookNode, meta: DeckMeta) -> str:
    """The self-contained reveal.js deck (works offline)."""
    return _export(nb, meta, "esante_reveal", show_notes=True)


def export_print_html(nb: nbformat.NotebookNode, meta: DeckMeta) -> str:
    """The print version of the same slides, laid out for WeasyPrint."""
    return _export(nb, meta, "esante_print", show_notes=False)


def write_pdf(print_html: str, path: Path) -> None:
    """Lay out ``print_html`` (from :func:`export_print_html`) into the PDF ``path``."""
    import logging

    import weasyprint

    # WeasyPrint logs unsupported CSS (reveal-only rules) at warning level: not the reader's concern
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    try:
        weasyprint.HTML(string=print_html, base_url=str(templates_dir())).write_pdf(
            str(path), pdf_tags=True, uncompressed_pdf=False, custom_metadata=False)
    except Exception as exc:  # WeasyPrint raises many types; surface one error
        raise ExportError(f"PDF layout failed for {path.name}: {exc}") from exc
