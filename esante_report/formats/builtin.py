"""The four shipped formats: the reveal.js deck, the PDF/UA-1 deck, the PowerPoint deck and its Impress copy.

Each is a thin :class:`~esante_report.formats.registry.Format` over its writer (:mod:`.web`, :mod:`.pptx`,
:mod:`.odp`); the writers' libraries are imported when a deck is written, not when the registry is read.
"""

from __future__ import annotations

from pathlib import Path

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
        web.write_pdf(build.rendered.print_html, path)
        return path

    def check(self, build: Build, path: Path) -> None:
        """Layout and readability (docs/style.md), then the machine-checkable PDF/UA-1 rules."""
        from esante_report.checks import layout, pdfua

        rendered = build.rendered
        layout.check_pdf(path, rendered.slides, rendered.expected_chars, rendered.slide_cells, rendered.charts)
        pdfua.check(path)


class Pptx(Format):
    name, suffix, label, description = "pptx", ".pptx", "PPTX", "PowerPoint"
    optional = True

    def write(self, build: Build) -> Path:
        from esante_report.errors import ExportError
        from esante_report.formats import pptx

        if build.rendered.deck is None:
            raise ExportError(f"{build.name}: no slide list to write the PowerPoint deck from")
        path = build.path(self.suffix)
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

        return odp.Conversion(build.files["pptx"], build.path(self.suffix))
