"""The editable decks of a render: ``<name>.pptx`` (python-pptx) and ``<name>.odp`` (LibreOffice).

:func:`write_decks` writes both into the build folder next to the HTML and PDF decks, from the slide
list they show; :func:`start` writes the PPTX and leaves LibreOffice converting it while the render lays
out the PDF. The editable copies never cost the HTML and PDF decks: when the PowerPoint file cannot be
written, the deck is published without both copies and a warning names the slide and field at fault.
The Impress copy needs LibreOffice: without it, or when the
conversion fails, the render goes on and says so in one line. The conversion goes through the
process's own LibreOffice, started once and kept for every deck it renders (:mod:`esante_report.soffice`),
with a one-shot ``soffice --convert-to odp`` as the fallback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import pptx_export, soffice

if TYPE_CHECKING:
    from .export import DeckMeta, Rendered

__all__ = ["write_decks", "start", "Pending", "Skipped", "FORMATS"]

#: the editable formats, as the index and publish name them
FORMATS = {".pptx": "PowerPoint", ".odp": "Impress"}


def write_decks(rendered: Rendered, meta: DeckMeta, folder: Path, name: str,
                progress: Callable[[str], None]) -> list[Path]:
    """Write ``<name>.pptx`` (and ``<name>.odp`` when LibreOffice can) in ``folder``; the files written."""
    return start(rendered, meta, folder, name, progress).finish()


def start(rendered: Rendered, meta: DeckMeta, folder: Path, name: str,
          progress: Callable[[str], None]) -> Pending | Skipped:
    """Write ``<name>.pptx`` in ``folder`` now, and start its Impress copy: LibreOffice converts it in its own
    process while this one goes on (the render lays out the PDF meanwhile). :meth:`Pending.finish` waits.

    When the PowerPoint file cannot be written, says so in one warning line and returns a :class:`Skipped`
    (no file): the HTML and PDF decks are published without their editable copies.
    """
    from .errors import ExportError

    pptx = Path(folder) / f"{name}.pptx"
    try:
        if rendered.deck is None:
            raise ExportError(f"{name}: no slide list to write the PowerPoint deck from")
        pptx_export.write_pptx(rendered.deck, meta, pptx)
    except ExportError as exc:
        pptx.unlink(missing_ok=True)
        progress(f"warning: {exc}: the deck is published without its PowerPoint and Impress copies")
        return Skipped()
    return Pending(pptx, Path(folder) / f"{name}.odp", progress)


class Skipped:
    """The editable copies of a deck that could not be written (already said): nothing to wait for."""

    def finish(self) -> list[Path]:
        return []

    def abandon(self, timeout: float = 5.0) -> None:
        return None


class Pending:
    """A PowerPoint deck written and its Impress copy being converted (in a thread that only waits for
    LibreOffice, so it holds no lock this process needs)."""

    def __init__(self, pptx: Path, odp: Path, progress: Callable[[str], None]) -> None:
        import threading

        self.pptx, self.odp, self.progress = pptx, odp, progress
        self.skipped: str | None = "the Impress copy was not finished"
        self.thread = threading.Thread(target=self._convert, name="esante-report-odp", daemon=True)
        self.thread.start()

    def _convert(self) -> None:
        try:
            self.skipped = soffice.convert(self.pptx, self.odp)
        except Exception as exc:  # noqa: BLE001 - the Impress copy never fails a render
            self.skipped = f"the Impress copy failed ({type(exc).__name__}): the .odp was skipped"

    def finish(self) -> list[Path]:
        """Wait for the Impress copy; the files written (the PPTX, and the ODP unless it was skipped)."""
        self.thread.join()
        if self.skipped:
            self.progress(f"warning: {self.skipped}")
            return [self.pptx]
        return [self.pptx, self.odp]

    def abandon(self, timeout: float = 5.0) -> None:
        """The render stops: give the conversion a moment to end, and leave it if it does not."""
        self.thread.join(timeout)
