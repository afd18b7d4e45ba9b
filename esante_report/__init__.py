"""esante-report: parameterised notebooks rendered into offline reveal.js and 16:9 PDF slide decks.

The public API (also what the CLI calls):

- :func:`render_date`, :func:`render_all` — run the notebooks of a reporting date and write HTML, PDF, ipynb;
- :func:`write_index` — the distribution page ``<out>/index.html``;
- :func:`find_deck`, :class:`DeckSpec` — the decks of a project (notebooks with a parameters cell);
- :class:`EsanteReportError` and its subclasses :class:`DataError`, :class:`ParamsError`,
  :class:`RenderError`, :class:`ExportError`.

Names are imported lazily, so that ``import esante_report`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["render_date", "render_all", "write_index", "find_deck", "DeckSpec",
           "EsanteReportError", "DataError", "ParamsError", "RenderError", "ExportError"]

_HOMES = {
    "render_date": "pipeline.render", "render_all": "pipeline.render", "write_index": "outdir.index",
    "find_deck": "decks.registry", "DeckSpec": "decks.registry",
    "EsanteReportError": "errors", "DataError": "errors", "ParamsError": "errors", "RenderError": "errors",
    "ExportError": "errors",
}


#: modules that notebooks import by their earlier names (``from esante_report import plots``)
_NOTEBOOK_MODULES = {"plots": "authoring.plots", "components": "authoring.components", "style": "authoring.style",
                     "geo": "authoring.geo"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    if name in _NOTEBOOK_MODULES:
        return importlib.import_module(f".{_NOTEBOOK_MODULES[name]}", __name__)
    raise AttributeError(f"module 'esante_report' has no attribute {name!r}")
