"""Data of the post-COVID coordination cells deck (``data/post_covid/``).

The contract is documented in ``docs/data.md``. :func:`load_post_covid` reads
every file, checks it, and raises one :class:`DataError` listing every problem.
Frames are tidy (long); a patient count left blank in the source is ``<NA>``,
never 0.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from esante_report.contracts.readers import (
    CsvColumns,
    LocDict,
    LocList,
    check_keys,
    kind,
    read_yaml,
    shown,
    string_list,
)
from ...errors import DataError, Problem, ProblemList
from esante_report.contracts.regions import read_regions
from esante_report.contracts.schema import Tables, schema_path
from .files import SUBDIR, data_files
from .files import files as _files

__all__ = ["PostCovidData", "PatientsSummary", "load_post_covid", "data_files", "check_wave_months",
           "summarise_patients", "month_start", "CATEGORIES", "STATUSES", "SUBDIR"]

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

    def as_of(self, report_date: dt.date | str) -> "PostCovidData":
        """The data a deck of ``report_date`` shows: milestones dated after that date are left out."""
        if isinstance(report_date, str):
            report_date = dt.date.fromisoformat(report_date)
        kept = self.milestones[self.milestones["date"] <= report_date].reset_index(drop=True)
        return dataclasses.replace(self, milestones=kept)


def load_post_covid(data_dir: Path | str) -> PostCovidData:
    """Read and check ``<data_dir>/regions.csv`` and ``<data_dir>/post_covid/*``.

    Each CSV file is read through its Table Schema (``<table>.schema.json`` beside it: types,
    allowed values, primary and foreign keys); what no schema can say is checked here.
    Every file must lie inside ``data_dir`` (a symlink leading out is refused).
    When a file other files refer to has problems (regions.csv, waves.csv), the
    references to it are not checked, so one broken file gives its own problems
    and not one more line per row of every other file.
    """
    data_dir = Path(data_dir)
    problems: list[Problem] = ProblemList()
    files = _files(data_dir)
    tables = Tables(data_dir, problems)
    regions = read_regions(data_dir, problems, tables)
    known_regions = set(regions["abbr"])
    # a file with problems is not a reliable reference: references to it are checked on the next run
    regions_unusable = not known_regions or _has_problems(problems, data_dir / "regions.csv")
    region_hint = ", ".join(regions["abbr"]) or "the abbreviations of data/regions.csv"

    waves_rows = tables.rows(files["waves"])
    _require_rows(waves_rows, files["waves"], "one row per survey wave", problems)
    known_waves = {r["wave"] for r in waves_rows}
    waves_unusable = _has_problems(problems, files["waves"])

    patients_columns = tables.columns(files["patients"])
    _require_rows(patients_columns, files["patients"], "one row per wave, region, month and category", problems)
    cells_rows = tables.rows(files["cells"])
    milestone_rows = tables.rows(files["milestones"])
    _require_rows(milestone_rows, files["milestones"], "at least one milestone", problems)

    measures = _read_measures(files["measures"], set() if waves_unusable else known_waves,
                              set() if regions_unusable else known_regions, region_hint, problems, data_dir)

    if problems:
        raise DataError(problems)

    patients = _patients_frame(patients_columns)
    del patients_columns
    waves = pd.DataFrame([dict(r) for r in waves_rows], columns=["wave", "date", "label", "source",
                                                                 "cells_illustrative"])
    waves["cells_illustrative"] = waves["cells_illustrative"].map(bool)
    cells = pd.DataFrame([dict(r) for r in cells_rows], columns=["wave", "region", "status", "cells"])
    cells["cells"] = cells["cells"].astype("Int64")
    milestones = (pd.DataFrame([dict(r) for r in milestone_rows],
                               columns=["date", "date_label", "actor", "title", "what"])
                  .sort_values("date", kind="stable").reset_index(drop=True))
    return PostCovidData(regions=regions, waves=waves, patients=patients, cells=cells,
                         milestones=milestones, measures=measures,
                         files=data_files(data_dir))


def _has_problems(problems: list[Problem], path: Path) -> bool:
    return any(p.path == path for p in problems)


def _require_rows(rows, path: Path, expected: str, problems: list[Problem]) -> None:
    """A file with a header and no row (and no other problem) is refused: the deck would look complete."""
    if not rows and not any(p.path in (path, schema_path(path)) for p in problems):
        problems.append(Problem(path, None, None, f"no rows, only a header (expected {expected})"))


def _patients_frame(columns: CsvColumns) -> pd.DataFrame:
    """Patients as a typed frame built column by column (no object per row): int64 wave, texts (one
    shared string object per distinct value, see the parsers) and Int64 counts (<NA> = non renseigné)."""
    def ints(values) -> np.ndarray:
        return np.frombuffer(values, dtype=np.int64).copy() if len(values) else np.zeros(0, dtype=np.int64)

    values = columns.values
    patients = ints(values["patients"])
    return pd.DataFrame({
        "wave": ints(values["wave"]),
        "region": np.array(values["region"], dtype=object),
        "month": np.array(values["month"], dtype=object),
        "category": np.array(values["category"], dtype=object),
        "patients": pd.arrays.IntegerArray(patients, patients < 0),   # -1 = empty cell = <NA>
    })


def check_wave_months(data: PostCovidData, wave: int, months: list[str], report_date: dt.date | None,
                      params_path: Path, months_line: int | None, data_dir: Path) -> list[Problem]:
    """What the deck of ``wave`` and ``months`` needs and the data lacks, as problems.

    Refused, because the deck would look complete while it is not: a wave with no
    patients rows, a month of ``months`` with no row at all for the wave, a region
    of the wave missing the row of a (month, category) (an *empty cell* is fine: it
    means "non renseigné"), and no milestone dated on or before the report date.
    """
    patients_path = Path(data_dir) / SUBDIR / "patients.csv"
    problems: list[Problem] = []
    rows = data.patients[data.patients["wave"] == wave]
    if rows.empty:
        return [Problem(patients_path, None, "wave", f"no patients rows for wave {wave} "
                        "(expected one row per region, month and category of the wave)")]
    present = set(zip(rows["region"].astype(str), rows["month"].astype(str), rows["category"].astype(str)))
    months_with_rows = {m for _, m, _ in present}
    regions = list(dict.fromkeys(rows["region"].astype(str)))
    for month in months:
        if month not in months_with_rows:
            problems.append(Problem(params_path, months_line, "months",
                                    f"no patients rows for {month} in wave {wave} (expected rows in {patients_path.name};"
                                    " an empty patients cell means non renseigné)"))
            continue
        for region in regions:
            for category in CATEGORIES:
                if (region, month, category) not in present:
                    problems.append(Problem(patients_path, None, "patients",
                                            f"missing row wave={wave}, region={region}, month={month}, "
                                            f"category={category} (expected one row per region of the wave, month "
                                            "and category; leave the patients cell empty when not reported)"))
    if report_date is not None and not (data.milestones["date"] <= report_date).any():
        problems.append(Problem(Path(data_dir) / SUBDIR / "milestones.csv", None, "date",
                                f"no milestone dated on or before the report date {report_date.isoformat()} "
                                "(expected at least one to draw the timeline)"))
    return problems


def _read_measures(path: Path, known_waves: set[int], known_regions: set[str], region_hint: str,
                   problems: list[Problem], data_dir: Path) -> dict[int, dict]:
    data = read_yaml(path, problems, what="a YAML list of waves' measures", root=data_dir)
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
        if not check_keys(entry, path, problems, required=("wave", "ami", "financing", "actions"), what="wave entry",
                          mappings=("ami", "financing", "actions")):
            continue
        wave = entry["wave"]
        if not isinstance(wave, int) or isinstance(wave, bool) or (known_waves and wave not in known_waves):
            problems.append(Problem(path, entry.line_of("wave"), "wave",
                                    f"unknown wave {kind(wave)} (expected one of {', '.join(map(str, sorted(known_waves)))})"))
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
            if not check_keys(block, path, problems, required=required, optional=optional, what=f"{key} block",
                              lists=(required[1],)):
                continue
            parsed[key] = {"title": str(block["title"])}
        if "ami" in parsed:
            regions = string_list(entry["ami"], "regions", path, problems)
            for r in regions:
                if known_regions and r not in known_regions:
                    problems.append(Problem(path, entry["ami"].line_of("regions"), "regions",
                                            f"unknown region {shown(r)} (expected one of {region_hint})"))
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
                    if item.get("region") is not None and known_regions and str(item["region"]) not in known_regions:
                        problems.append(Problem(path, item.line_of("region"), "region",
                                                f"unknown region {shown(item['region'])} (expected one of {region_hint})"))
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
        path = next((f for f in data.files if Path(f).name == "measures.yaml"), "measures.yaml")
        raise DataError([Problem(path, None, "wave",
                                 f"no entry for wave {wave} or an earlier wave (expected at least one)")])
    source = max(earlier)
    return data.measures[source], source
