"""The four shipped formats: the reveal.js deck, the PDF/UA-1 deck, the PowerPoint deck and its Impress copy.

Each is a thin :class:`~esante_report.formats.registry.Format` over its writer (:mod:`.web`, :mod:`.pptx`,
:mod:`.odp`); the writers' libraries are imported when a deck is written, not when the registry is read.
"""

from __future__ import annotations

from pathlib import Path

from esante_report.errors import ExportError
from esante_report.formats.registry import Build, Format, Pending

__all__ = ["Html", "Pdf", "Pptx", "Odp"]


class Html(Format):
    name, suffix, label, description = "html", ".html", "HTML", "Diaporama HTML"

    def write(self, build: Build) -> Path:
        from esante_report.outdir import fs

        path = build.path(self.suffix)
        fs.write_text(path, build.rendered.html)
        return path


class Pdf(Format):
    name, suffix, label, description = "pdf", ".pdf", "PDF", "PDF"

    def warm(self) -> None:
        import pypdfium2  # noqa: F401
        import weasyprint  # noqa: F401

        from esante_report import fonts
        from esante_report.formats import web

        fonts.font_face_css()
        web.assets()

    def write(self, build: Build) -> Path:
        from esante_report.formats import web

        path = build.path(self.suffix)
        build.facts[self.name] = web.write_pdf(build.rendered.print_html, path)
        return path

    def check(self, build: Build, path: Path) -> None:
        """Layout and readability (docs/style.md), then the machine-checkable PDF/UA-1 rules, from one reading of
        the file (the structure read while it was written is reused when the file still holds those bytes)."""
        from esante_report.checks import layout, pdfua
        from esante_report.checks.reading import PdfReading

        rendered = build.rendered
        try:
            reading = PdfReading(path, structure=build.facts.get(self.name))
        except OSError as exc:
            raise ExportError(f"{path.name}: not a readable PDF ({exc})") from None
        layout.check_pdf(reading, rendered.slides, rendered.expected_chars, rendered.slide_cells, rendered.charts)
        pdfua.check(reading)


class Pptx(Format):
    name, suffix, label, description = "pptx", ".pptx", "PPTX", "PowerPoint"
    optional = True

    def warm(self) -> None:
        from esante_report.formats import pptx_helper

        pptx_helper.warm()

    def write(self, build: Build) -> Path | Pending:
        """Written by the helper process while the PDF is laid out, when this process has one; else here."""
        from esante_report.formats import pptx, pptx_helper

        if build.rendered.deck is None:
            raise ExportError(f"{build.name}: no slide list to write the PowerPoint deck from")
        path = build.path(self.suffix)
        writing = pptx_helper.submit(build.rendered.deck, build.meta, path)
        if writing is not None:
            return writing
        pptx.write_pptx(build.rendered.deck, build.meta, path)
        return path


class Odp(Format):
    name, suffix, label, description = "odp", ".odp", "ODP", "OpenDocument"
    needs = ("pptx",)
    optional = True

    def warm(self) -> None:
        from esante_report.formats import soffice

        soffice.warm()

    def write(self, build: Build) -> Pending:
        """LibreOffice converts the PPTX in its own process while the render goes on (the PDF is laid out)."""
        from esante_report.formats import odp

        return odp.Conversion(build.files.get("pptx") or build.pending["pptx"], build.path(self.suffix))
