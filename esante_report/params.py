"""Params files: ``params/<YYYY-MM-DD>.yaml`` maps deck names to their parameters.

The reporting date is the file name, never a key: one file, one date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._io import LocDict, read_yaml
from .decks import check_deck_params
from .errors import ParamsError, Problem

__all__ = ["DeckRun", "params_path", "list_dates", "load_params"]

_DATE_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.ya?ml$")


@dataclass(frozen=True)
class DeckRun:
    """One deck to render for one reporting date."""

    deck: str
    report_date: dt.date
    parameters: dict[str, Any]   # what papermill injects (report_date and data_dir included)


def params_path(params_dir: Path, date: str) -> Path:
    for ext in (".yaml", ".yml"):
        candidate = Path(params_dir) / f"{date}{ext}"
        if candidate.is_file():
            return candidate
    return Path(params_dir) / f"{date}.yaml"


def list_dates(params_dir: Path) -> list[str]:
    """Reporting dates that have a params file, oldest first."""
    folder = Path(params_dir)
    if not folder.is_dir():
        return []
    return sorted(m.group(1) for p in folder.iterdir() if (m := _DATE_FILE.match(p.name)))


def _parse_date(date: str, path: Path) -> dt.date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            raise ValueError
        return dt.date.fromisoformat(date)
    except ValueError:
        raise ParamsError([Problem(path, None, None, f"reporting date {date!r} is not a date YYYY-MM-DD "
                                   "(the params file is named after its date)")]) from None


def load_params(params_dir: Path, date: str, data_dir: Path, decks: list[str] | None = None, *,
                only_listed: bool = False) -> list[DeckRun]:
    """The decks of ``date`` with checked parameters; raises ParamsError/DataError listing every problem."""
    path = params_path(params_dir, date)
    report_date = _parse_date(date, path)
    problems: list[Problem] = []
    data = read_yaml(path, problems, what=f"a params file mapping deck names to parameters, e.g. {path.name}")
    if problems:
        raise ParamsError(problems)
    if not isinstance(data, LocDict) or not data:
        raise ParamsError([Problem(path, getattr(data, "line", 1), None,
                                   "expected a mapping of deck names to parameters, e.g. 'post_covid: {wave: 3, ...}'")])
    if decks and not only_listed:
        for deck in decks:
            if deck not in data:
                problems.append(Problem(path, None, deck, f"deck not in this params file (it has {', '.join(data)})"))
    runs = []
    for name, params in data.items():
        if decks and name not in decks:
            continue
        checked = check_deck_params(name, params, data.line_of(name), path, Path(data_dir), problems)
        if checked is not None:
            runs.append(DeckRun(name, report_date, {"report_date": report_date.isoformat(),
                                                    "data_dir": str(Path(data_dir).resolve()),
                                                    "params_dir": str(Path(params_dir).resolve()), **checked}))
    if problems:
        raise ParamsError(problems)
    return runs


def notebook_parameters(deck: str, report_date: str, *, params_dir: Path | str | None = None,
                        data_dir: Path | str | None = None, **given: Any) -> dict[str, Any]:
    """The checked parameters of ``deck`` for ``report_date``, for the notebook's set-up cell.

    Read from ``params/<report_date>.yaml`` (folders found from the project, never from the current
    directory); a ``given`` value that is not None must agree with the file.
    """
    from .paths import default_data_dir, default_params_dir

    params_dir = Path(params_dir or default_params_dir())
    data_dir = Path(data_dir or default_data_dir())
    region = given.pop("region", None) if deck == "post_covid" else None
    runs = load_params(params_dir, str(report_date), data_dir, [deck])
    out = dict(runs[0].parameters)
    path = params_path(params_dir, str(report_date))
    problems = [Problem(path, None, key, f"parameter {key!r} = {value!r} disagrees with {path.name} ({out.get(key)!r})")
                for key, value in given.items() if value is not None and key in out and value != out[key]]
    if problems:
        raise ParamsError(problems)
    if deck == "post_covid":
        out["region"] = region
    return out
