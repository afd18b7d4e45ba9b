"""Exceptions raised by esante-report: every one the user can cause lives here.

Every error the user can cause derives from :class:`EsanteReportError`:

- :class:`DataError`, :class:`ParamsError`: breaches of the data contract (a list of :class:`Problem`);
- :class:`RenderError`: a notebook that fails or cannot run; :class:`ExportError`: slides or a format that
  cannot be written, and :class:`CheckFailed` when a written file fails its check;
- :class:`FormatError`: an unknown format or a plug-in that does not load;
- :class:`OutputError`: the output folder cannot be written; :class:`ScopeError`: a path from a share or a
  manifest that would leave its folder;
- :class:`ConfigError`, :class:`PublishError`: the distribution config, an upload to a share.

Data and parameter errors carry a list of :class:`Problem`, one per breach of
the data contract, each rendered as one line naming file, line, field and
what was expected.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

#: problems printed per file; the rest are counted in one "… and N more problems in FILE" line
MAX_PROBLEMS_PER_FILE = 20
#: longest field name and message printed (values come from untrusted files)
_MAX_FIELD = 80
_MAX_MESSAGE = 600

__all__ = [
    "EsanteReportError",
    "Problem",
    "MoreProblems",
    "ProblemList",
    "MAX_PROBLEMS_PER_FILE",
    "DataError",
    "ParamsError",
    "RenderError",
    "ExportError",
    "CheckFailed",
    "FormatError",
    "OutputError",
    "ScopeError",
    "ConfigError",
    "PublishError",
    "quote",
]

#: characters of an untrusted value quoted in a message; the rest is counted
QUOTE_LENGTH = 60


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
        field = f" field {_clip(str(self.field), _MAX_FIELD)!r}:" if self.field else ""
        return f"{where}:{field} {_clip(_one_line(self.message), _MAX_MESSAGE)}"


class MoreProblems(Problem):
    """Stands for problems of one file that are counted but not listed (see :class:`ProblemList`)."""

    def __init__(self, path: Path | str, count: int):
        super().__init__(path, None, None, "")
        object.__setattr__(self, "count", count)

    def __str__(self) -> str:
        return f"… and {self.count} more problems in {_display_path(self.path)}"


class ProblemList(list):
    """A list of problems that keeps the first ``cap`` problems of each file and counts the rest.

    50 MB of bad rows then cost one counter, not two million messages; the
    omitted ones are summed in one :class:`MoreProblems` entry per file.
    """

    def __init__(self, problems: Iterable[Problem] = (), cap: int = MAX_PROBLEMS_PER_FILE):
        super().__init__()
        self.cap = cap
        self._shown: dict[str, int] = {}
        self._more: dict[str, MoreProblems] = {}
        self.extend(problems)

    def append(self, problem: Problem) -> None:  # type: ignore[override]
        key = str(problem.path)
        if isinstance(problem, MoreProblems):
            self._count_more(problem.path, problem.count)
        elif self._shown.get(key, 0) >= self.cap:
            self._count_more(problem.path, 1)
        else:
            self._shown[key] = self._shown.get(key, 0) + 1
            super().append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:  # type: ignore[override]
        for problem in problems:
            self.append(problem)

    def _count_more(self, path: Path | str, count: int) -> None:
        key = str(path)
        if key in self._more:
            more = self._more[key]
            object.__setattr__(more, "count", more.count + count)
        else:
            self._more[key] = MoreProblems(path, count)
            super().append(self._more[key])


def quote(value: object, length: int = QUOTE_LENGTH) -> str:
    """``repr`` of an untrusted value for a message, at most ``length`` characters of it.

    ``'abc…' (100,000 characters)``: a 100,000-character cell gives a short line that still says
    how long the value was.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= length:
        return repr(text)
    return f"{text[:length]!r}… ({len(text):,} characters)"


def _one_line(text: str) -> str:
    return " ".join(str(text).splitlines())


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def _display_path(path: Path | str) -> str:
    # the path as given, made relative to the working folder; symlinks are not followed, so a
    # refused link is named by itself, never by the file it points to
    path = Path(os.path.abspath(path))
    try:
        return str(path.relative_to(os.path.abspath(Path.cwd())))
    except (ValueError, OSError):
        return str(path)


class EsanteReportError(Exception):
    """Root of every error esante-report raises on purpose."""


class _ProblemsError(EsanteReportError):
    """An error made of one or more :class:`Problem`."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems if isinstance(problems, ProblemList) else ProblemList(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DataError(_ProblemsError, ValueError):
    """Data files breach the data contract."""


class ParamsError(_ProblemsError, ValueError):
    """A params file names an unknown deck or parameter, gives a bad value, or is not valid YAML."""


class RenderError(EsanteReportError, RuntimeError):
    """A notebook failed while running; its partly executed copy is kept."""


class ExportError(EsanteReportError, RuntimeError):
    """The HTML or PDF export failed, or the PDF failed its checks."""


class CheckFailed(ExportError):
    """A required format's file failed its check; ``path`` is the rejected file, kept as evidence."""

    def __init__(self, message: str, fmt=None, path: Path | None = None) -> None:
        super().__init__(message)
        self.format, self.path = fmt, path


class FormatError(EsanteReportError, ValueError):
    """An unknown format, or a format plug-in that does not load."""


class OutputError(EsanteReportError, OSError):
    """An output folder or file cannot be written (permissions, disk full, read-only, a link, not a folder)."""


class ScopeError(EsanteReportError, ValueError):
    """A relative path from outside (a manifest, a server's listing) that does not name a file the toolkit keeps
    there: it could leave its folder, or name something else."""


class ConfigError(EsanteReportError, ValueError):
    """The config file is missing, unreadable, malformed, too open, or names an unknown target."""


class PublishError(EsanteReportError, RuntimeError):
    """An upload or a listing on the target failed (the previous publication is left readable)."""
