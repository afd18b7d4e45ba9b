"""The editable decks of a render: ``<name>.pptx`` (python-pptx) and ``<name>.odp`` (LibreOffice).

One call, :func:`write_decks`, writes both into the build folder next to the HTML and PDF decks,
from the slide list they show. The Impress copy needs LibreOffice: without it, or when the
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

__all__ = ["write_decks", "FORMATS"]

#: the editable formats, as the index and publish name them
FORMATS = {".pptx": "PowerPoint", ".odp": "Impress"}


def write_decks(rendered: Rendered, meta: DeckMeta, folder: Path, name: str,
                progress: Callable[[str], None]) -> list[Path]:
    """Write ``<name>.pptx`` (and ``<name>.odp`` when LibreOffice can) in ``folder``; the files written."""
    from .errors import ExportError

    if rendered.deck is None:
        raise ExportError(f"{name}: no slide list to write the PowerPoint deck from")
    pptx = Path(folder) / f"{name}.pptx"
    pptx_export.write_pptx(rendered.deck, meta, pptx)
    written = [pptx]
    odp = Path(folder) / f"{name}.odp"
    skipped = soffice.convert(pptx, odp)
    if skipped:
        progress(f"warning: {skipped}")
    else:
        written.append(odp)
    return written
