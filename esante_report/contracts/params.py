"""Params files: ``params/<YYYY-MM-DD>.yaml`` maps deck names to their parameters.

The reporting date is the file name, never a key: one file, one date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esante_report.contracts.readers import LocDict, kind, read_yaml
from esante_report.decks.registry import RESERVED, check_deck_params, deck_names, find_deck
from esante_report.errors import ParamsError, Problem, ProblemList
from esante_report.paths import DATE_PATTERN, default_data_dir, default_params_dir, is_report_date

__all__ = ["DeckRun", "params_path", "list_dates", "check_params_dir", "load_params", "notebook_parameters"]

_DATE_FILE = re.compile(rf"^({DATE_PATTERN})\.ya?ml$")


@dataclass(frozen=True)
class DeckRun:
    """One deck to render for one reporting date."""

    deck: str
    report_date: dt.date
    #: what papermill injects: report_date, data_dir and params_dir (absolute, so that the notebook's
    #: notebook_parameters() reads the same params file as render), then the deck's checked parameters
    parameters: dict[str, Any]


def params_path(params_dir: Path, date: str) -> Path:
    for ext in (".yaml", ".yml"):
        candidate = Path(params_dir) / f"{date}{ext}"
        if candidate.is_file():
            return candidate
    return Path(params_dir) / f"{date}.yaml"


def check_params_dir(params_dir: Path) -> list[str]:
    """The reporting dates of ``params_dir``; ParamsError when it is not a folder or holds no params file."""
    folder = Path(params_dir)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "params folder not found"
        raise ParamsError([Problem(folder, None, None, f"{what} (expected a folder of YYYY-MM-DD.yaml files; "
                                   "see --params)")])
    try:
        dates = list_dates(folder)
    except OSError as exc:
        raise ParamsError([Problem(folder, None, None, f"cannot be read: {exc.strerror or type(exc).__name__} "
                                   "(expected a readable folder of YYYY-MM-DD.yaml files)")]) from None
    if not dates:
        raise ParamsError([Problem(folder, None, None, "no params file (expected files named YYYY-MM-DD.yaml)")])
    return dates


def list_dates(params_dir: Path) -> list[str]:
    """Reporting dates that have a params file, oldest first."""
    folder = Path(params_dir)
    if not folder.is_dir():
        return []
    return sorted(m.group(1) for p in folder.iterdir() if (m := _DATE_FILE.match(p.name)))


def _parse_date(date: str, path: Path) -> dt.date:
    try:
        if not is_report_date(date):
            raise ValueError
        return dt.date.fromisoformat(date)
    except ValueError:
        raise ParamsError([Problem(path, None, None, f"reporting date {date!r} is not a date YYYY-MM-DD "
                                   "(the params file is named after its date)")]) from None


def load_params(params_dir: Path, date: str, data_dir: Path, decks: list[str] | None = None, *,
                only_listed: bool = False, notebooks: Path | None = None) -> list[DeckRun]:
    """The decks of ``date`` with checked parameters; raises ParamsError/DataError listing every problem."""
    path = params_path(params_dir, date)
    report_date = _parse_date(date, path)
    if not Path(data_dir).is_dir():
        raise ParamsError([Problem(data_dir, None, None, "data folder not found (expected the folder holding "
                                   "the decks' data files; see --data)")])
    problems: list[Problem] = ProblemList()
    data = read_yaml(path, problems, what=f"a params file mapping deck names to parameters, e.g. {path.name}")
    if problems:
        raise ParamsError(problems)
    if not isinstance(data, LocDict) or not data:
        raise ParamsError([Problem(path, getattr(data, "line", 1), None,
                                   "expected a mapping of deck names to parameters, e.g. 'my_deck: {issuer: ARS Occitanie}'")])
    if decks and not only_listed:
        for deck in decks:
            if deck not in data:
                problems.append(Problem(path, None, deck, f"deck not in this params file (it has {', '.join(data)})"))
    runs = []
    for name, params in data.items():
        if decks and name not in decks:
            continue
        checked = check_deck_params(name, params, data.line_of(name), path, Path(data_dir), problems, report_date,
                                    notebooks=notebooks)
        if checked is not None:
            runs.append(DeckRun(name, report_date, {"report_date": report_date.isoformat(),
                                                    "data_dir": str(Path(data_dir).resolve()),
                                                    "params_dir": str(Path(params_dir).resolve()), **checked}))
    if problems:
        raise ParamsError(problems)
    return runs


def notebook_parameters(deck: str, report_date: str, *, params_dir: Path | str | None = None,
                        data_dir: Path | str | None = None, **given: Any) -> dict[str, Any]:
    """The checked parameters of ``deck`` for ``report_date``, for a notebook's set-up cell.

    Reads ``params/<report_date>.yaml`` (``params_dir`` and ``data_dir`` default
    to the project's ``params/`` and ``data/``, found from the project root, never
    from the working folder) and checks it and the data as ``render`` does. Given
    only ``report_date``, every other parameter comes from the file. A value in
    ``given`` that is not None must agree with the file, otherwise ParamsError:
    a cover dated 13/12/2021 over another date's data is never drawn.

    ``region`` (regional decks only; params files do not carry it) is None for
    the national deck or an abbr of regions.csv for one region's deck, checked.

    Returns ``report_date`` (ISO text), ``data_dir`` (absolute), and the deck's
    parameters: those of its parameters cell that the params file gives.
    """
    params_dir = Path(params_dir) if params_dir is not None else default_params_dir()
    data_dir = Path(data_dir).resolve() if data_dir is not None else default_data_dir()
    path = params_path(params_dir, str(report_date))
    # the project is the params folder's parent (render passes it); else the one found from here
    spec = (find_deck(deck, params_dir.parent / "notebooks") or find_deck(deck)) if isinstance(deck, str) else None
    if spec is None:
        raise ParamsError([Problem(path, None, None, f"unknown deck {kind(deck)} (expected one of "
                                   f"{', '.join(deck_names())})")])
    allowed = {n for n in spec.parameters if n not in RESERVED}
    unknown = sorted(k for k in given if k not in allowed)
    if unknown:
        raise ParamsError([Problem(path, None, unknown[0], f"unknown parameter of deck {deck} "
                                   f"(expected one of {', '.join(sorted(allowed))})")])
    run = load_params(params_dir, str(report_date), data_dir, [deck], notebooks=spec.notebook.parent)[0]
    parameters = {k: v for k, v in run.parameters.items() if k != "params_dir"}
    if spec.regional:
        region = given.pop("region", None)
        parameters["region"] = None if region is None else _checked_region(region, data_dir, path)
    problems = []
    for key, value in given.items():
        if value is None:
            continue
        expected = parameters.get(key)
        value = list(value) if isinstance(value, (list, tuple)) else value
        if value != expected:
            problems.append(Problem(path, None, None, f"parameter {key!r} = {value!r} disagrees with "
                                    f"{_short(path)} ({key}: {expected!r})"))
    if problems:
        raise ParamsError(problems)
    return parameters


def _checked_region(region: Any, data_dir: Path, path: Path) -> str:
    from esante_report.contracts.regions import load_regions

    known = list(load_regions(data_dir)["abbr"])
    if not isinstance(region, str) or region not in known:
        raise ParamsError([Problem(path, None, "region", f"unknown region {kind(region)} "
                                   f"(expected None for the national deck or one of {', '.join(known)})")])
    return region


def _short(path: Path) -> str:
    """``params/2021-11-15.yaml``: the file named by its folder and name."""
    return f"{path.parent.name}/{path.name}"
