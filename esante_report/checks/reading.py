"""One reading of a PDF deck for all its checks.

The layout and readability check (:mod:`.layout`) and the PDF/UA check (:mod:`.pdfua`) read the same file:
a :class:`PdfReading` reads its bytes once, parses them with PDFium (page objects, text, marked content) at
most once, and with pikepdf (the structure tree) at most once, and both checks take it instead of a path.

What is checked is always the file as it is on disk: the structure read by the PDF writer while it finished
the file (:func:`esante_report.checks.pdfua.finish`) is reused only when it was read from the very bytes the
file holds (the same SHA-256); otherwise the file is parsed again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from esante_report.checks.pdfua import Structure

__all__ = ["PdfReading"]


class PdfReading:
    """The bytes of the PDF ``path`` and, parsed on first use, its pages and its structure.

    Raises :class:`OSError` when the file cannot be read; the parsers' errors come from :attr:`pages` and
    :attr:`structure` (each check reports them its own way).
    """

    def __init__(self, path: Path, *, structure: Structure | None = None):
        self.path = Path(path)
        self.data = self.path.read_bytes()
        self.digest = hashlib.sha256(self.data).hexdigest()
        self._pages: list[Any] | None = None
        self._structure = structure if structure is not None and structure.digest == self.digest else None

    @classmethod
    def of(cls, source: Path | PdfReading) -> PdfReading:
        """``source`` itself when it is a reading already, else a reading of the file ``source``."""
        return source if isinstance(source, PdfReading) else cls(source)

    @property
    def pages(self) -> list[Any]:
        """The pages as :mod:`.layout` reads them (PDFium), parsed once."""
        if self._pages is None:
            from esante_report.checks import layout

            self._pages = layout.read_pages(self.data, self.path.name)
        return self._pages

    @property
    def structure(self) -> Structure:
        """What the PDF/UA rules find in the document's structure (pikepdf), parsed once."""
        if self._structure is None:
            from esante_report.checks import pdfua

            self._structure = pdfua.read_structure(self.data)
        return self._structure
