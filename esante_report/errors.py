"""Exceptions raised by esante-report.

Every error the user can cause derives from :class:`EsanteReportError`.
Data and parameter errors carry a list of :class:`Problem`, one per breach of
the data contract, each rendered as one line naming file, line, field and
what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EsanteReportError",
    "Problem",
    "DataError",
    "ParamsError",
    "RenderError",
    "ExportError",
]


@dataclass(frozen=True)
class Problem:
    """One breach of the data contract.

    Attributes:
        path: the file at fault.
        line: 1-based line in that file, or None when the whole file is at fault.
        field: the column or key at fault, or None.
        message: what is wrong and what was expected.
    """

    path: Path | str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = _display_path(self.path)
        if self.line is not None:
            where += f":{self.line}"
        field = f" field {self.field!r}:" if self.field else ""
        return f"{where}:{field} {self.message}"


def _display_path(path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class EsanteReportError(Exception):
    """Root of every error esante-report raises on purpose."""


class _ProblemsError(EsanteReportError):
    """An error made of one or more :class:`Problem`."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DataError(_ProblemsError, ValueError):
    """Data files breach the data contract."""


class ParamsError(_ProblemsError, ValueError):
    """A params file names an unknown deck, wave, key, or is not valid YAML."""


class RenderError(EsanteReportError, RuntimeError):
    """A notebook failed while running; its partly executed copy is kept."""


class ExportError(EsanteReportError, RuntimeError):
    """The HTML or PDF export failed, or the PDF failed its checks."""
