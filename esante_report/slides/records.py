"""What a notebook's kernel records for the toolkit, beside what the slides show.

Three kinds of record travel in the executed notebook, each as an output of
MIME type :data:`MIME` that no slide shows (JupyterLab has no renderer for it
and displays nothing):

- ``kept``: figures the notebook keeps with ``esr.keep(name, value)`` for its
  e-mail (``notebooks/<deck>.mail.txt``), in French format. ``mail`` reads them
  from the published executed notebook: the figures of the e-mail are those of
  the PDF by construction;
- ``values``: the values of the ``{{ name }}`` placeholders of a Markdown cell,
  evaluated in the kernel when the notebook reaches that cell (``render`` runs a
  hidden cell after it, tagged :data:`INJECTED_TAG`);
- ``undisplayed``: building blocks (``esr.kpis``, ``esr.table``…) built by a
  cell but never displayed, so that the slide builder warns instead of dropping
  them silently.

The kernel side (:func:`keep`, :func:`markdown_values`, :func:`track`,
:func:`finish`) imports nothing heavy; the reading side works on notebook JSON.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Iterable

__all__ = ["MIME", "INJECTED_TAG", "PLACEHOLDER", "NAME", "keep", "markdown_values", "track", "shown",
           "finish", "records", "kept_values", "placeholders", "values_cell_source", "finish_cell_source"]

#: MIME type of a record (a JSON object); nbformat stores ``application/…+json`` data as JSON
MIME = "application/vnd.esante-report.record+json"
#: tag of the cells ``render`` adds to the notebook it runs (left out of the cell count, like papermill's)
INJECTED_TAG = "injected-esante-report"
#: a placeholder of a Markdown cell: ``{{ … }}``, whatever it holds (checked against :data:`EXPRESSION`)
PLACEHOLDER = re.compile(r"\{\{(.{0,200}?)\}\}", re.S)
#: what a placeholder may name: a variable, maybe followed by attributes (no call, no index, no operator)
EXPRESSION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
#: a kept value's name: a placeholder of the mail template
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


# --------------------------------------------------------------------------- kernel side

def _display(record: dict) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - outside IPython: nothing records it
        return
    display({MIME: record}, raw=True)


def _french(value: Any) -> str:
    from esante_report.authoring import fr

    return fr(value)


def keep(name: str, value: Any) -> None:
    """Keep ``value`` under ``name`` in the executed notebook, in French format, for the deck's e-mail.

    ``{{ name }}`` in ``notebooks/<deck>.mail.txt`` is then this value, as the PDF shows it. Nothing
    appears on a slide.
    """
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"esr.keep: the name must be letters, digits and _ (at most 64, not starting with a "
                         f"digit), as in the mail template's {{{{ name }}}}; got {name!r:.80}")
    _display({"kept": {name: _french(value)}})


def _lookup(namespace: dict, expression: str) -> tuple[bool, Any]:
    head, *attributes = expression.split(".")
    if head not in namespace:
        return False, None
    value = namespace[head]
    for attribute in attributes:
        if attribute.startswith("__") or not hasattr(value, attribute):
            return False, None
        value = getattr(value, attribute)
    return True, value


def markdown_values(expressions: Iterable[str]) -> None:
    """Record the French text of each placeholder expression, evaluated in the kernel's namespace now."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover
        shell = None
    namespace = shell.user_ns if shell is not None else {}
    values, unknown = {}, []
    for expression in expressions:
        found, value = _lookup(namespace, expression) if EXPRESSION.fullmatch(expression) else (False, None)
        if found and not callable(value):
            values[expression] = _french(value)
        else:
            unknown.append(expression)
    _display({"values": values, "unknown": unknown})


#: blocks built in this kernel and not displayed yet: [kind, execution count, block]
_PENDING: list[list] = []
_HOOKED = False


def track(block: Any, kind: str) -> Any:
    """Remember ``block`` (built by ``esr.<kind>``) until it is displayed or placed in another block."""
    global _HOOKED
    _PENDING.append([kind, None, block])  # the cell's execution count is known once it has run
    if not _HOOKED:
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:  # pragma: no cover
            shell = None
        if shell is not None:
            shell.events.register("post_run_cell", _after_cell)
            _HOOKED = True
    return block


def shown(block: Any) -> None:
    """``block`` reached a slide (displayed, or placed in a block that is)."""
    for entry in _PENDING:
        if entry[2] is block:
            _PENDING.remove(entry)
            return


def _report(lost: list[tuple[str, int | None]]) -> None:
    if not lost:
        return
    _display({"undisplayed": [{"block": kind, "execution_count": count} for kind, count in lost]})
    for kind, _ in lost:
        print(f"esante-report: esr.{kind}(...) was built but never displayed: it is on no slide "
              "(make it the last line of the cell, or pass it to display(...))", file=sys.stderr)


def _after_cell(result: Any = None) -> None:
    """After each cell: a block nothing refers to any more can never be displayed; report it now."""
    count = getattr(result, "execution_count", None)
    for entry in _PENDING:
        if entry[1] is None:
            entry[1] = count
    lost, keep_pending = [], []
    while _PENDING:
        kind, count, block = _PENDING.pop()
        # references: this local name and getrefcount's argument; more means a variable still holds it
        if sys.getrefcount(block) <= 2:
            lost.append((kind, count))
        else:
            keep_pending.append([kind, count, block])
        del block
    _PENDING.extend(reversed(keep_pending))
    _report(lost[::-1])


def finish() -> None:
    """At the end of the notebook: blocks still held by a variable but never displayed."""
    lost = [(kind, count) for kind, count, _ in _PENDING]
    _PENDING.clear()
    _report(lost)


# --------------------------------------------------------------------------- reading side

def records(cell: Any) -> list[dict]:
    """The records among the outputs of ``cell`` (a notebook cell as a mapping)."""
    out = []
    outputs = cell.get("outputs", []) if isinstance(cell, dict) else []
    for output in outputs if isinstance(outputs, list) else []:
        data = output.get("data") if isinstance(output, dict) else None
        if isinstance(data, dict) and isinstance(data.get(MIME), dict):
            out.append(data[MIME])
    return out


def kept_values(cells: Iterable[Any]) -> dict[str, str]:
    """Every value kept with ``esr.keep`` in an executed notebook's cells, the last one of a name winning."""
    kept: dict[str, str] = {}
    for cell in cells:
        for record in records(cell):
            values = record.get("kept")
            if isinstance(values, dict):
                kept.update({k: v for k, v in values.items() if isinstance(k, str) and isinstance(v, str)})
    return kept


def placeholders(text: str) -> list[str]:
    """The placeholder expressions of a Markdown text, stripped, in order, each once."""
    out: list[str] = []
    for match in PLACEHOLDER.finditer(text):
        expression = match.group(1).strip()
        if expression not in out:
            out.append(expression)
    return out


def values_cell_source(expressions: list[str]) -> str:
    return ("import esante_report.slides.records as _esante_report_records\n"
            f"_esante_report_records.markdown_values({expressions!r})")


def finish_cell_source() -> str:
    return ("import sys as _esante_report_sys\n"
            "if 'esante_report.slides.records' in _esante_report_sys.modules:\n"
            "    _esante_report_sys.modules['esante_report.slides.records'].finish()")
