"""The Impress copy (``<name>.odp``) of a deck's PowerPoint file, converted by LibreOffice.

:class:`Conversion` starts at once and runs in a thread that only waits (for the PowerPoint deck when a helper
process is still writing it, then for LibreOffice), so it holds no lock this process needs: the render lays
out the PDF meanwhile. The conversion goes through the process's own
LibreOffice, started once and kept for every deck it renders (:mod:`esante_report.formats.soffice`), with a
one-shot ``soffice --convert-to odp`` as the fallback. Without LibreOffice, or when the conversion fails, the
deck goes on without its Impress copy and the render says so in one line.
"""

from __future__ import annotations

import threading
from pathlib import Path

from esante_report.formats import soffice
from esante_report.formats.registry import Pending

__all__ = ["Conversion"]


class Conversion(Pending):
    """``pptx`` being converted into ``odp``; :meth:`finish` waits and says why when it was skipped."""

    def __init__(self, pptx: Path | Pending, odp: Path) -> None:
        self.pptx, self.odp = pptx if isinstance(pptx, Pending) else Path(pptx), Path(odp)
        self.skipped: str | None = "the Impress copy was not finished"
        self.thread = threading.Thread(target=self._convert, name="esante-report-odp", daemon=True)
        self.thread.start()

    def _convert(self) -> None:
        try:
            pptx = self.pptx.finish() if isinstance(self.pptx, Pending) else self.pptx  # still being written
            if pptx is None:
                self.skipped = "the Impress copy was skipped: the PowerPoint deck it is made from was not written"
                return
            self.skipped = soffice.convert(pptx, self.odp)
        except Exception as exc:  # noqa: BLE001 - the Impress copy never fails a render
            self.skipped = f"the Impress copy failed ({type(exc).__name__}): the .odp was skipped"

    def finish(self) -> Path | None:
        self.thread.join()
        return None if self.skipped else self.odp

    def abandon(self, timeout: float = 5.0) -> None:
        """Give the conversion a moment to end, and leave it if it does not."""
        self.thread.join(timeout)
