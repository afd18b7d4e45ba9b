"""Data of the post-COVID coordination cells deck (``data/post_covid/``).

The contract is documented in ``docs/data.md``. :func:`load_post_covid` reads
every file, checks it, and raises one :class:`DataError` listing every problem.
Frames are tidy (long); a patient count left blank in the source is ``<NA>``,
never 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._io import (Column, LocDict, LocList, check_keys, check_unique, choice, parse_bool, parse_date,
                  parse_int_ge0, parse_month, read_csv, read_yaml, string_list)
from .errors import DataError, Problem
from .regions import read_regions

__all__ = ["PostCovidData", "PatientsSummary", "load_post_covid", "data_files", "summarise_patients", "month_start", "CATEGORIES", "STATUSES", "SUBDIR"]

SUBDIR = "post_covid"
CATEGORIES = ("mineurs", "hommes", "femmes")
STATUSES = ("confirmees", "en_cours", "non_mise_en_place", "en_attente")


@dataclass(frozen=True)
class PostCovidData:
    """Everything the deck shows, checked against the data contract."""

    regions: pd.DataFrame      # code, abbr, name
    waves: pd.DataFrame        # wave, date, label, source, cells_illustrative
    patients: pd.DataFrame     # wave, region, month, category, patients (Int64, <NA> = non renseigné)
    cells: pd.DataFrame        # wave, region, status, cells (Int64)
    milestones: pd.DataFrame   # date, date_label, actor, title, what (sorted by date)
    measures: dict[int, dict]  # wave -> {ami, financing, actions}
    files: tuple[Path, ...]    # every file read, for provenance

    def wave(self, wave: int) -> pd.Series:
        return self.waves.set_index("wave").loc[wave]


def _int(text: str) -> int:
    try:
        return parse_int_ge0(text)
    except ValueError:
        raise ValueError(f"expected a wave number (integer ≥ 0), got {text!r}") from None


def _files(data_dir: Path) -> dict[str, Path]:
    base = Path(data_dir) / SUBDIR
    return {
        "waves": base / "waves.csv",
        "patients": base / "patients.csv",
        "cells": base / "cells.csv",
        "milestones": base / "milestones.csv",
        "measures": base / "measures.yaml",
    }


def data_files(data_dir: Path | str) -> tuple[Path, ...]:
    """Every file the deck reads (for provenance): regions, the post_covid files, region boundaries."""
    data_dir = Path(data_dir)
    return (data_dir / "regions.csv", *_files(data_dir).values(), data_dir / "geo" / "regions.geojson")


def load_post_covid(data_dir: Path | str) -> PostCovidData:
    """Read and check ``<data_dir>/regions.csv`` and ``<data_dir>/post_covid/*``."""
    data_dir = Path(data_dir)
    problems: list[Problem] = []
    files = _files(data_dir)
    regions = read_regions(data_dir, problems)
    known_regions = set(regions["abbr"])
    region_hint = ", ".join(regions["abbr"]) or "the abbreviations of data/regions.csv"

    def region(text: str) -> str:
        if text not in known_regions:
            raise ValueError(f"unknown region {text!r} (expected one of {region_hint})")
        return text

    waves_rows = read_csv(files["waves"], [
        Column("wave", _int), Column("date", parse_date), Column("label"), Column("source"),
        Column("cells_illustrative", parse_bool, blank_ok=True, required=False),
    ], problems)
    check_unique(waves_rows, ("wave",), files["waves"], problems)
    known_waves = {r["wave"] for r in waves_rows}

    def check_wave(rows: list, path: Path) -> list:
        kept = []
        for r in rows:
            if r["wave"] not in known_waves:
                problems.append(Problem(path, r.line, "wave", f"unknown wave {r['wave']} (expected one of "
                                        f"{', '.join(map(str, sorted(known_waves))) or 'the waves of waves.csv'})"))
            else:
                kept.append(r)
        return kept

    patients_rows = read_csv(files["patients"], [
        Column("wave", _int), Column("region", region), Column("month", parse_month),
        Column("category", choice(*CATEGORIES)), Column("patients", parse_int_ge0, blank_ok=True),
    ], problems)
    patients_rows = check_wave(patients_rows, files["patients"])
    check_unique(patients_rows, ("wave", "region", "month", "category"), files["patients"], problems)

    cells_rows = read_csv(files["cells"], [
        Column("wave", _int), Column("region", region), Column("status", choice(*STATUSES)),
        Column("cells", parse_int_ge0, blank_ok=True),
    ], problems)
    cells_rows = check_wave(cells_rows, files["cells"])
    check_unique(cells_rows, ("wave", "region"), files["cells"], problems)

    milestone_rows = read_csv(files["milestones"], [
        Column("date", parse_date), Column("date_label", blank_ok=True), Column("actor"),
        Column("title"), Column("what"),
    ], problems)

    measures = _read_measures(files["measures"], known_waves, known_regions, region_hint, problems)

    if problems:
        raise DataError(problems)

    waves = pd.DataFrame([dict(r) for r in waves_rows])
    waves["cells_illustrative"] = waves["cells_illustrative"].map(bool)
    patients = pd.DataFrame([dict(r) for r in patients_rows],
                            columns=["wave", "region", "month", "category", "patients"])
    patients["patients"] = patients["patients"].astype("Int64")
    cells = pd.DataFrame([dict(r) for r in cells_rows], columns=["wave", "region", "status", "cells"])
    cells["cells"] = cells["cells"].astype("Int64")
    milestones = (pd.DataFrame([dict(r) for r in milestone_rows],
                               columns=["date", "date_label", "actor", "title", "what"])
                  .sort_values("date", kind="stable").reset_index(drop=True))
    return PostCovidData(regions=regions, waves=waves, patients=patients, cells=cells,
                         milestones=milestones, measures=measures,
                         files=data_files(data_dir))


def _read_measures(path: Path, known_waves: set[int], known_regions: set[str], region_hint: str,
                   problems: list[Problem]) -> dict[int, dict]:
    data = read_yaml(path, problems, what="a YAML list of waves' measures")
    if data is None:
        return {}
    if not isinstance(data, LocList):
        problems.append(Problem(path, getattr(data, "line", 1), None, "expected a list of entries, one per wave"))
        return {}
    out: dict[int, dict] = {}
    for i, entry in enumerate(data):
        line = data.line_of(i)
        if not isinstance(entry, LocDict):
            problems.append(Problem(path, line, None, "expected a mapping with wave, ami, financing, actions"))
            continue
        if not check_keys(entry, path, problems, required=("wave", "ami", "financing", "actions"), what="wave entry"):
            continue
        wave = entry["wave"]
        if not isinstance(wave, int) or wave not in known_waves:
            problems.append(Problem(path, entry.line_of("wave"), "wave",
                                    f"unknown wave {wave!r} (expected one of {', '.join(map(str, sorted(known_waves)))})"))
            continue
        if wave in out:
            problems.append(Problem(path, entry.line_of("wave"), "wave", f"duplicate wave {wave} (expected one entry per wave)"))
            continue
        parsed = {}
        for key, required, optional in (("ami", ("title", "regions"), ()),
                                        ("financing", ("title", "items"), ()),
                                        ("actions", ("title", "items"), ())):
            block = entry[key]
            if not isinstance(block, LocDict):
                problems.append(Problem(path, entry.line_of(key), key, "expected a mapping with title and " + required[1]))
                continue
            if not check_keys(block, path, problems, required=required, optional=optional, what=f"{key} block"):
                continue
            parsed[key] = {"title": str(block["title"])}
        if "ami" in parsed:
            regions = string_list(entry["ami"], "regions", path, problems)
            for r in regions:
                if r not in known_regions:
                    problems.append(Problem(path, entry["ami"].line_of("regions"), "regions",
                                            f"unknown region {r!r} (expected one of {region_hint})"))
            parsed["ami"]["regions"] = regions
        if "financing" in parsed:
            items = []
            block = entry["financing"]["items"]
            for j, item in enumerate(block if isinstance(block, LocList) else []):
                if not isinstance(item, LocDict):
                    problems.append(Problem(path, block.line_of(j), "items", "expected a mapping with text, example, region"))
                    continue
                if check_keys(item, path, problems, required=("text",), optional=("example", "region"),
                              what="financing item"):
                    if item.get("region") is not None and item["region"] not in known_regions:
                        problems.append(Problem(path, item.line_of("region"), "region",
                                                f"unknown region {item['region']!r} (expected one of {region_hint})"))
                    items.append({"text": str(item["text"]), "example": item.get("example"),
                                  "region": item.get("region")})
            parsed["financing"]["items"] = items
        if "actions" in parsed:
            parsed["actions"]["items"] = string_list(entry["actions"], "items", path, problems)
        out[wave] = parsed
    return out


def month_start(month: str) -> dt.date:
    """``'2021-08'`` → ``date(2021, 8, 1)``."""
    year, mon = month.split("-")
    return dt.date(int(year), int(mon), 1)


@dataclass(frozen=True)
class PatientsSummary:
    """Totals of one wave and a few months, counting only what regions reported."""

    table: pd.DataFrame        # index region (table order), columns (month, category) → Int64 (<NA> = non renseigné)
    totals: pd.DataFrame       # index month, columns category → int (sum of reported values)
    reporting: pd.DataFrame    # index month, columns category → number of regions that reported that value
    regions_reporting: dict[str, list[str]]  # month → regions with at least one value that month
    regions_shown: list[str]   # regions present in the data of the wave


def summarise_patients(patients: pd.DataFrame, wave: int, months: list[str]) -> PatientsSummary:
    """Region × month × category table, totals per month and how many regions reported.

    A blank is never counted as 0: totals add reported values only, and the
    number of regions that reported is given beside every total.
    """
    data = patients[(patients["wave"] == wave) & (patients["month"].isin(months))]
    all_regions = list(dict.fromkeys(patients.loc[patients["wave"] == wave, "region"]))
    index = pd.MultiIndex.from_product([months, list(CATEGORIES)], names=["month", "category"])
    table = (data.set_index(["region", "month", "category"])["patients"]
             .unstack(["month", "category"]).reindex(index=all_regions, columns=index))
    table = table.astype("Int64")
    totals = pd.DataFrame({c: [int(table[(m, c)].sum(skipna=True)) for m in months] for c in CATEGORIES},
                          index=pd.Index(months, name="month"))
    reporting = pd.DataFrame({c: [int(table[(m, c)].notna().sum()) for m in months] for c in CATEGORIES},
                             index=pd.Index(months, name="month"))
    regions_reporting = {m: [r for r in all_regions if table.loc[r, m].notna().any()] for m in months}
    return PatientsSummary(table=table, totals=totals, reporting=reporting,
                           regions_reporting=regions_reporting, regions_shown=all_regions)


def measures_for(data: PostCovidData, wave: int) -> tuple[dict, int]:
    """The measures of ``wave``, or of the latest earlier wave that has an entry, and that wave.

    A wave without its own ``measures.yaml`` entry means nothing changed since; raises
    :class:`DataError` when no wave up to ``wave`` has an entry.
    """
    earlier = [w for w in data.measures if w <= wave]
    if not earlier:
        raise DataError([Problem(data.files[5] if len(data.files) > 5 else "measures.yaml", None, "wave",
                                 f"no entry for wave {wave} or an earlier wave (expected at least one)")])
    source = max(earlier)
    return data.measures[source], source
