"""The decks this toolkit renders, and how their parameters are checked.

A deck is a notebook plus the parameters a params file may give it. Checking
a deck's parameters also checks the data it reads, so ``render`` reports every
problem before any notebook runs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ._io import LocDict, kind
from .errors import DataError, Problem

__all__ = ["Deck", "DECKS", "check_deck_params"]


@dataclass(frozen=True)
class Deck:
    """A deck: its notebook, title, default issuer and parameter checker."""

    name: str
    notebook: str
    title: str
    default_issuer: str
    #: (params mapping, params file, data dir, problems, report date) -> parameters for papermill (None when invalid)
    check: Callable[[LocDict, Path, Path, list[Problem], dt.date | None], dict[str, Any] | None]
    #: data dir -> every data file the deck reads (provenance)
    files: Callable[[Path], tuple[Path, ...]]


#: longest issuer accepted: it is printed in the header of every slide
MAX_ISSUER = 200


def _issuer(params: LocDict, default: str, path: Path, problems: list[Problem]) -> str:
    issuer = params.get("issuer", default)
    if not isinstance(issuer, str) or not issuer.strip() or len(issuer.strip()) > MAX_ISSUER:
        problems.append(Problem(path, params.line_of("issuer"), "issuer", "expected the issuing body as text of at "
                                f"most {MAX_ISSUER} characters, e.g. 'ARS Occitanie', got {kind(issuer)}"))
        return default
    return issuer.strip()


def _region(params: LocDict, regions: list[str] | None, path: Path, problems: list[Problem]) -> str | None:
    """The ``region`` parameter: an abbr of regions.csv."""
    region = params.get("region")
    if not isinstance(region, str):
        problems.append(Problem(path, params.line_of("region"), "region",
                                f"expected a region abbreviation of regions.csv such as 'OCC', got {kind(region)}"))
    elif regions is not None and region not in regions:
        problems.append(Problem(path, params.line_of("region"), "region",
                                f"unknown region {kind(region)} (expected one of {', '.join(regions)})"))
    return region


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
            load_boundaries(data_dir / "geo" / name, root=data_dir)
        except DataError as exc:
            problems.extend(exc.problems)


def _check_post_covid(params: LocDict, path: Path, data_dir: Path, problems: list[Problem],
                      report_date: dt.date | None = None) -> dict | None:
    from .decks.post_covid.data import check_wave_months, load_post_covid

    _unknown_keys(params, {"wave", "months", "issuer"}, path, problems)
    before = len(problems)
    wave = params.get("wave")
    if not isinstance(wave, int) or isinstance(wave, bool):
        problems.append(Problem(path, params.line_of("wave"), "wave", f"expected a wave number, got {kind(wave)}"))
        wave = None
    months = params.get("months")
    if not isinstance(months, list) or not months:
        problems.append(Problem(path, params.line_of("months"), "months",
                                f"expected a list of months YYYY-MM, got {kind(months)}"))
        months = []
    for i, month in enumerate(months):
        if not isinstance(month, str) or not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):
            problems.append(Problem(path, months.line_of(i), "months", f"expected a month YYYY-MM, got {kind(month)}"))
    if len(set(map(str, months))) != len(months):
        problems.append(Problem(path, params.line_of("months"), "months", "expected each month once"))
    issuer = _issuer(params, DECKS["post_covid"].default_issuer, path, problems)
    data = _data_problems(load_post_covid, data_dir, problems)
    _check_geo(data_dir, ("regions.geojson",), problems)
    if data is not None and wave is not None:
        waves = sorted(data.waves["wave"])
        if wave not in waves:
            problems.append(Problem(path, params.line_of("wave"), "wave",
                                    f"unknown wave {wave} (expected one of {', '.join(map(str, waves))} "
                                    f"from {data_dir / 'post_covid' / 'waves.csv'})"))
        elif not any(w <= wave for w in data.measures):
            problems.append(Problem(data_dir / "post_covid" / "measures.yaml", None, "wave",
                                    f"no entry for wave {wave} or an earlier wave (a wave without its own "
                                    "entry shows the latest earlier one)"))
        elif len(problems) == before:
            problems.extend(check_wave_months(data, wave, [str(m) for m in months], report_date, path,
                                              params.line_of("months"), data_dir))
    if len(problems) > before:
        return None
    return {"wave": wave, "months": [str(m) for m in months], "issuer": issuer}


def _check_catalogue(params: LocDict, path: Path, data_dir: Path, problems: list[Problem],
                     report_date: dt.date | None = None) -> dict | None:
    from .decks.catalogue.data import load_catalogue

    _unknown_keys(params, {"region", "issuer"}, path, problems)
    before = len(problems)
    issuer = _issuer(params, DECKS["catalogue"].default_issuer, path, problems)
    data = _data_problems(load_catalogue, data_dir, problems)
    _check_geo(data_dir, ("regions.geojson", "departements.geojson"), problems)
    region = _region(params, list(data.regions["abbr"]) if data is not None else None, path, problems)
    if len(problems) > before:
        return None
    return {"region": region, "issuer": issuer}


def _post_covid_files(data_dir: Path) -> tuple[Path, ...]:
    from .decks.post_covid.data import data_files
    return data_files(data_dir)


def _catalogue_files(data_dir: Path) -> tuple[Path, ...]:
    from .decks.catalogue.data import data_files
    return data_files(data_dir)


DECKS: dict[str, Deck] = {
    "post_covid": Deck("post_covid", "post_covid.ipynb", "Cellules de coordination post-COVID",
                       "Ministère des Solidarités et de la Santé", _check_post_covid, _post_covid_files),
    "catalogue": Deck("catalogue", "catalogue.ipynb", "Point e-santé – catalogue des services",
                      "ARS Occitanie", _check_catalogue, _catalogue_files),
}


def check_deck_params(name: str, params: Any, line: int, path: Path, data_dir: Path,
                      problems: list[Problem], report_date: dt.date | None = None) -> dict[str, Any] | None:
    """Papermill parameters of deck ``name`` from its params mapping; problems appended.

    With ``report_date``, also checks what the deck of that date needs from the data.
    """
    if not isinstance(name, str) or name not in DECKS:
        problems.append(Problem(path, line, str(name), f"unknown deck (expected one of {', '.join(DECKS)})"))
        return None
    if params is None:
        params = LocDict()
        params.line = line
    if not isinstance(params, LocDict):
        problems.append(Problem(path, line, str(name), f"expected a mapping of the deck's parameters, got {kind(params)}"))
        return None
    return DECKS[name].check(params, path, data_dir, problems, report_date)
