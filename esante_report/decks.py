"""The decks this toolkit renders, and how their parameters are checked.

A deck is a notebook plus the parameters a params file may give it. Checking
a deck's parameters also checks the data it reads, so ``render`` reports every
problem before any notebook runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ._io import LocDict
from .errors import DataError, Problem

__all__ = ["Deck", "DECKS", "check_deck_params"]


@dataclass(frozen=True)
class Deck:
    """A deck: its notebook, title, default issuer and parameter checker."""

    name: str
    notebook: str
    title: str
    default_issuer: str
    #: (params mapping, params file, data dir, problems) -> parameters for papermill (None when invalid)
    check: Callable[[LocDict, Path, Path, list[Problem]], dict[str, Any] | None]
    #: data dir -> every data file the deck reads (provenance)
    files: Callable[[Path], tuple[Path, ...]]


def _issuer(params: LocDict, default: str, path: Path, problems: list[Problem]) -> str:
    issuer = params.get("issuer", default)
    if not isinstance(issuer, str) or not issuer.strip():
        problems.append(Problem(path, params.line_of("issuer"), "issuer", "expected the issuing body as text, "
                                "e.g. 'ARS Occitanie'"))
        return default
    return issuer.strip()


def _unknown_keys(params: LocDict, allowed: set[str], path: Path, problems: list[Problem]) -> None:
    for key in params:
        if key not in allowed:
            problems.append(Problem(path, params.line_of(key), str(key),
                                    f"unknown parameter (expected one of {', '.join(sorted(allowed))})"))


def _data_problems(loader: Callable[[Path], Any], data_dir: Path, problems: list[Problem]) -> Any:
    try:
        return loader(data_dir)
    except DataError as exc:
        problems.extend(exc.problems)
        return None


def _check_geo(data_dir: Path, names: tuple[str, ...], problems: list[Problem]) -> None:
    from .geo import load_boundaries

    for name in names:
        try:
            load_boundaries(data_dir / "geo" / name)
        except DataError as exc:
            problems.extend(exc.problems)


def _check_post_covid(params: LocDict, path: Path, data_dir: Path, problems: list[Problem]) -> dict | None:
    from .post_covid import load_post_covid

    _unknown_keys(params, {"wave", "months", "issuer"}, path, problems)
    before = len(problems)
    wave = params.get("wave")
    if not isinstance(wave, int) or isinstance(wave, bool):
        problems.append(Problem(path, params.line_of("wave"), "wave", f"expected a wave number, got {wave!r}"))
    months = params.get("months")
    if not isinstance(months, list) or not months:
        problems.append(Problem(path, params.line_of("months"), "months",
                                f"expected a list of months YYYY-MM, got {months!r}"))
        months = []
    for i, month in enumerate(months):
        if not isinstance(month, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            problems.append(Problem(path, months.line_of(i), "months", f"expected a month YYYY-MM, got {month!r}"))
    if len(set(map(str, months))) != len(months):
        problems.append(Problem(path, params.line_of("months"), "months", "expected each month once"))
    issuer = _issuer(params, DECKS["post_covid"].default_issuer, path, problems)
    data = _data_problems(load_post_covid, data_dir, problems)
    _check_geo(data_dir, ("regions.geojson",), problems)
    if data is not None and isinstance(wave, int):
        waves = sorted(data.waves["wave"])
        if wave not in waves:
            problems.append(Problem(path, params.line_of("wave"), "wave",
                                    f"unknown wave {wave} (expected one of {', '.join(map(str, waves))} "
                                    f"from {data_dir / 'post_covid' / 'waves.csv'})"))
        elif not any(w <= wave for w in data.measures):
            problems.append(Problem(data_dir / "post_covid" / "measures.yaml", None, "wave",
                                    f"no entry for wave {wave} or an earlier wave (a wave without its own "
                                    "entry shows the latest earlier one)"))
    if len(problems) > before:
        return None
    return {"wave": wave, "months": [str(m) for m in months], "issuer": issuer}


def _check_catalogue(params: LocDict, path: Path, data_dir: Path, problems: list[Problem]) -> dict | None:
    from .catalogue import load_catalogue

    _unknown_keys(params, {"region", "issuer"}, path, problems)
    before = len(problems)
    region = params.get("region")
    issuer = _issuer(params, DECKS["catalogue"].default_issuer, path, problems)
    data = _data_problems(load_catalogue, data_dir, problems)
    _check_geo(data_dir, ("regions.geojson", "departements.geojson"), problems)
    if data is not None:
        known = list(data.regions["abbr"])
        if region not in known:
            problems.append(Problem(path, params.line_of("region"), "region",
                                    f"unknown region {region!r} (expected one of {', '.join(known)})"))
    if len(problems) > before:
        return None
    return {"region": region, "issuer": issuer}


def _post_covid_files(data_dir: Path) -> tuple[Path, ...]:
    from .post_covid import data_files
    return data_files(data_dir)


def _catalogue_files(data_dir: Path) -> tuple[Path, ...]:
    from .catalogue import data_files
    return data_files(data_dir)


DECKS: dict[str, Deck] = {
    "post_covid": Deck("post_covid", "post_covid.ipynb", "Cellules de coordination post-COVID",
                       "Ministère des Solidarités et de la Santé", _check_post_covid, _post_covid_files),
    "catalogue": Deck("catalogue", "catalogue.ipynb", "Point e-santé – catalogue des services",
                      "ARS Occitanie", _check_catalogue, _catalogue_files),
}


def check_deck_params(name: str, params: Any, line: int, path: Path, data_dir: Path,
                      problems: list[Problem]) -> dict[str, Any] | None:
    """Papermill parameters of deck ``name`` from its params mapping; problems appended."""
    if name not in DECKS:
        problems.append(Problem(path, line, str(name), f"unknown deck (expected one of {', '.join(DECKS)})"))
        return None
    if params is None:
        params = LocDict()
        params.line = line
    if not isinstance(params, LocDict):
        problems.append(Problem(path, line, str(name), "expected a mapping of the deck's parameters"))
        return None
    return DECKS[name].check(params, path, data_dir, problems)
