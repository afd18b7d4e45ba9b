"""A notebook read from disk checked against the notebook format before anything is built from it.

``nbformat.read`` only logs a notebook that breaks its schema; building slides
from one would then fail deep inside with a traceback. :func:`validate`
refuses it in one line that names the cell as the analyst counts it
(JupyterLab's numbering: the cells of the notebook from 1, papermill's injected
cell left out, as in every warning of :mod:`esante_report.slides`), the field
and what was expected.
"""

from __future__ import annotations

from typing import Any

from esante_report.errors import ExportError
from esante_report.slides.records import INJECTED_TAG

__all__ = ["cell_label", "validate"]

_TEXT_FIELDS = {"source", "text"}


def _is_injected(cell: Any) -> bool:
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    tags = meta.get("tags", []) if isinstance(meta, dict) else []
    return isinstance(tags, list) and bool({"injected-parameters", INJECTED_TAG} & {t for t in tags if isinstance(t, str)})


def cell_label(cells: list, index: int) -> str:
    """``cell N`` for the cell at ``index`` of ``cells`` (injected parameters left out of the count)."""
    if 0 <= index < len(cells) and _is_injected(cells[index]):
        tags = cells[index].get("metadata", {}).get("tags", [])
        return "papermill's injected-parameters cell" if "injected-parameters" in tags else "a cell render added"
    return f"cell {sum(1 for c in cells[:index + 1] if not _is_injected(c))}"


def _field(path: list) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _expected(path: list, exc: Exception) -> str:
    last = path[-1] if path else ""
    if last in _TEXT_FIELDS or (len(path) >= 2 and path[-2] == "data"):
        return "text (a string or a list of strings)"
    validator = getattr(exc, "validator", "")
    schema = getattr(exc, "validator_value", None)
    if validator == "type":
        return f"a value of type {schema}"
    if validator == "enum":
        return "one of " + ", ".join(repr(v) for v in schema)
    if validator == "required":
        return f"the fields {', '.join(map(repr, schema))}"
    if validator == "additionalProperties":
        return "only the fields of the notebook format"
    return "what the notebook format (nbformat 4) allows"


def validate(nb: Any, name: str) -> None:
    """Raise :class:`ExportError` (one line) when ``nb`` breaks the notebook format; ``name`` is its file."""
    import nbformat

    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        path = list(getattr(exc, "absolute_path", []) or [])
        cells = nb.get("cells", []) if isinstance(nb, dict) else []
        if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int) and isinstance(cells, list):
            where, field = cell_label(cells, path[1]), _field(path[2:]) or "the cell"
        else:
            where, field = "notebook", _field(path) or "the document"
        got = getattr(exc, "instance", None)
        got_text = "a mapping" if isinstance(got, dict) else "a list" if isinstance(got, list) else repr(got)
        if len(got_text) > 60:
            got_text = got_text[:57] + "..."
        raise ExportError(f"{name}: {where}: {field} is {got_text}, expected {_expected(path, exc)} "
                          "(the notebook does not follow the Jupyter notebook format)") from None
