"""A notebook read from disk checked against the notebook format before anything is built from it.

``nbformat.read`` only logs a notebook that breaks its schema; building slides
from one would then fail deep inside with a traceback. :func:`validate`
refuses it in one line that names the cell as the analyst counts it
(JupyterLab's numbering: the cells of the notebook from 1, papermill's injected
cell left out, as in every warning of :mod:`esante_report.slides`), the field
and what was expected.

:func:`refuse_unexecuted` refuses what cannot be a deck's source: a notebook whose papermill run failed
(its red banner would be the cover) and one whose code cells never ran.
"""

from __future__ import annotations

import sys
from typing import Any

from esante_report.errors import ExportError, quote
from esante_report.slides.records import INJECTED_TAG

__all__ = ["lighter_imports", "cell_label", "cell_tags", "is_injected", "lab_number", "validate", "refuse_unexecuted",
           "PAPERMILL_ERROR_TAG", "INJECTED_TAGS"]

_TEXT_FIELDS = {"source", "text"}
#: the tag of the two Markdown cells papermill adds to a notebook whose run failed (banner and anchor)
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"


#: the cells the analyst did not write: papermill's parameters, and the cells render adds (records)
INJECTED_TAGS = frozenset({"injected-parameters", INJECTED_TAG})


def cell_tags(cell: Any) -> list[str]:
    """The tags of a notebook cell (a dict or a node), whatever its metadata holds: strings only."""
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    tags = meta.get("tags", []) if isinstance(meta, dict) else []
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def is_injected(cell: Any) -> bool:
    """A cell the analyst did not write (papermill's parameters, a record render added)."""
    return bool(INJECTED_TAGS.intersection(cell_tags(cell)))


def lab_number(cells: list, index: int) -> int:
    """The number JupyterLab shows for the cell at ``index`` of an executed notebook's ``cells``: 1-based, the
    cells papermill and render added left out. Every message naming a cell counts this way."""
    return sum(1 for c in cells[:index + 1] if not is_injected(c))


def cell_label(cells: list, index: int) -> str:
    """``cell N`` for the cell at ``index`` of ``cells`` (injected parameters left out of the count)."""
    if 0 <= index < len(cells) and is_injected(cells[index]):
        return ("papermill's injected-parameters cell" if "injected-parameters" in cell_tags(cells[index])
                else "a cell render added")
    return f"cell {lab_number(cells, index)}"


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


def _papermill(meta: Any) -> dict:
    papermill = meta.get("papermill", {}) if isinstance(meta, dict) else {}
    return papermill if isinstance(papermill, dict) else {}


def refuse_unexecuted(nb: Any, name: str) -> None:
    """Raise :class:`ExportError` (one line) when ``nb`` is no executed notebook a deck can be built from.

    Refused: a notebook whose papermill run failed (``metadata.papermill.exception``, or papermill's cells
    tagged ``papermill-error-cell-tag``), naming the cell that failed as the analyst counts it; and one with
    code cells none of which ran. A notebook without code cells (Markdown only), or whose code ran without
    displaying anything, is accepted.
    """
    cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
    # the analyst's numbering: neither papermill's injected cell nor its error cells are theirs
    own = [c for c in cells if not is_injected(c) and PAPERMILL_ERROR_TAG not in cell_tags(c)]
    if _papermill(nb.get("metadata")).get("exception") is True or any(PAPERMILL_ERROR_TAG in cell_tags(c) for c in cells):
        ran = [c for c in cells if PAPERMILL_ERROR_TAG not in cell_tags(c)]
        marked = [c for c in ran if _papermill(c.get("metadata")).get("exception") is True]
        errors = [c for c in ran if any(_is_error(o) for o in _outputs(c))]
        culprit = (marked or errors or [None])[0]
        if culprit is None:
            where = "(no cell is marked as the failing one)"
        elif is_injected(culprit):
            where = "in papermill's injected-parameters cell"
        else:
            where = f"at cell {next(k for k, c in enumerate(own, start=1) if c is culprit)}"
        error = next((o for o in _outputs(culprit) if _is_error(o)), None) if culprit is not None else None
        detail = f" ({quote(str(error.get('ename')) + ': ' + str(error.get('evalue')), 60)})" if error else ""
        raise ExportError(f"{name}: its papermill run failed {where}{detail}: fix the notebook and run it again "
                          "before exporting it (`esante-report render` runs and exports it in one step)")
    code = [c for c in own if c.get("cell_type") == "code"]
    if code and not any(c.get("outputs") or c.get("execution_count") is not None for c in code):
        raise ExportError(f"{name}: not executed (no cell has an output): run it first (papermill, or "
                          "JupyterLab's Run All then save), or use `esante-report render`")


def _outputs(cell: Any) -> list:
    outputs = cell.get("outputs", []) if isinstance(cell, dict) else []
    return outputs if isinstance(outputs, list) else []


def _is_error(output: Any) -> bool:
    return isinstance(output, dict) and output.get("output_type") == "error"


def lighter_imports() -> None:
    """Skip an import that costs about a second per process and that rendering never uses.

    nbformat imports jsonschema, whose format checkers import ``rfc3987_syntax`` (a grammar
    compiled at import) only to check "iri" strings; nbformat does not check formats, and
    jsonschema skips that checker when the import fails. Done only if nothing imported it yet.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
