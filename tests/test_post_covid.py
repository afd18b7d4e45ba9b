"""Loaders of the post-COVID deck data: the seed loads exactly; each breach of the contract is named."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from esante_report.errors import DataError
from esante_report.decks.post_covid.data import load_post_covid, summarise_patients

from .conftest import DATA

# The seed's table (000_5a4c3f9a63bcd0ec.txt), typed by hand: (region, month) -> (mineurs, hommes, femmes); None = blank
SEED = {
    ("ARA", "2021-08"): (None, None, 0), ("ARA", "2021-09"): (None, None, None),
    ("BFC", "2021-08"): (2, 1, 2), ("BFC", "2021-09"): (1, 6, 4),
    ("BRE", "2021-08"): (4, 1, 0), ("BRE", "2021-09"): (0, 1, 6),
    ("CVL", "2021-08"): (None, 1, 2), ("CVL", "2021-09"): (None, None, None),
    ("COR", "2021-08"): (None, None, None), ("COR", "2021-09"): (None, None, None),
    ("GE", "2021-08"): (0, 6, 6), ("GE", "2021-09"): (0, 20, 30),
    ("HDF", "2021-08"): (None, None, None), ("HDF", "2021-09"): (None, None, None),
    ("IDF", "2021-08"): (2, 54, 78), ("IDF", "2021-09"): (2, 59, 93),
    ("NOR", "2021-08"): (None, 1, 0), ("NOR", "2021-09"): (None, None, None),
    ("NAQ", "2021-08"): (0, 2, 9), ("NAQ", "2021-09"): (0, 5, 10),
    ("OCC", "2021-08"): (0, 26, 50), ("OCC", "2021-09"): (2, 18, 28),
    ("PDL", "2021-08"): (None, None, None), ("PDL", "2021-09"): (0, 0, 0),
    ("PACA", "2021-08"): (0, 1, 2), ("PACA", "2021-09"): (0, 1, 0),
}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _messages(data_dir: Path) -> list[str]:
    with pytest.raises(DataError) as info:
        load_post_covid(data_dir)
    return [str(p) for p in info.value.problems]


def test_seed_patients_are_exactly_the_seed_table():
    data = load_post_covid(DATA)
    got = {}
    for row in data.patients.itertuples():
        value = None if pd.isna(row.patients) else int(row.patients)
        got.setdefault((row.region, row.month), {})[row.category] = value
    assert {k: (v["mineurs"], v["hommes"], v["femmes"]) for k, v in got.items()} == SEED


def test_blank_stays_blank_and_totals_count_only_reported_values():
    s = summarise_patients(load_post_covid(DATA).patients, 3, ["2021-08", "2021-09"])
    # hand-computed from the seed table
    assert s.totals.loc["2021-08"].tolist() == [8, 93, 149]
    assert s.totals.loc["2021-09"].tolist() == [5, 110, 171]
    assert s.reporting.loc["2021-08"].tolist() == [7, 9, 10]
    assert len(s.regions_reporting["2021-08"]) == 10 and len(s.regions_reporting["2021-09"]) == 8
    assert pd.isna(s.table.loc["HDF", ("2021-08", "hommes")])
    assert s.table.loc["PDL", ("2021-09", "hommes")] == 0


def test_regions_waves_milestones_measures_load():
    data = load_post_covid(DATA)
    assert len(data.regions) == 18
    assert data.regions.set_index("abbr").loc["ARA", "code"] == "84"
    assert data.regions.set_index("abbr").loc["GUA", "code"] == "01"
    assert data.wave(3)["date"].isoformat() == "2021-11-15"
    assert list(data.milestones["date"].map(str)) == sorted(data.milestones["date"].map(str))
    assert data.measures[3]["ami"]["regions"] == ["BRE", "IDF", "CVL", "NOR", "OCC", "NAQ"]
    assert len(data.cells[data.cells["wave"] == 3]) == 18


@pytest.mark.parametrize("old, new, expected", [
    ("3,IDF,2021-08,hommes,54", "3,IDF,2021-08,hommes,-54",
     r"patients\.csv:\d+: field 'patients': expected an integer ≥ 0 of at most 9 digits, got '-54'"),
    ("3,IDF,2021-08,hommes,54", "3,IDF,2021-08,hommes,5.4",
     r"patients\.csv:\d+: field 'patients': expected an integer ≥ 0 of at most 9 digits, got '5.4'"),
    ("3,IDF,2021-08,hommes,54", "3,XYZ,2021-08,hommes,54",
     r"patients\.csv:\d+: field 'region': unknown region 'XYZ' \(expected one of ARA, "),
    ("3,IDF,2021-08,hommes,54", "3,IDF,2021-08,adultes,54",
     r"patients\.csv:\d+: field 'category': expected one of mineurs, hommes, femmes; got 'adultes'"),
    ("3,IDF,2021-08,hommes,54", "3,IDF,2021-8,hommes,54",
     r"patients\.csv:\d+: field 'month': expected a month YYYY-MM, got '2021-8'"),
    ("3,IDF,2021-08,hommes,54", "3,IDF,2021-08,femmes,54",
     r"patients\.csv:\d+: field 'category': duplicate \(wave=3, region=IDF, month=2021-08, category=femmes\) "
     r"already on line \d+"),
    ("3,IDF,2021-08,hommes,54", "9,IDF,2021-08,hommes,54",
     r"patients\.csv:\d+: field 'wave': unknown wave 9 \(expected one of 3 from post_covid/waves\.csv\)"),
])
def test_bad_patients_rows_are_named(data_copy, old, new, expected):
    _edit(data_copy / "post_covid" / "patients.csv", old, new)
    messages = _messages(data_copy)
    assert any(re.search(expected, m) for m in messages), messages


def test_line_numbers_point_at_the_bad_row(data_copy):
    path = data_copy / "post_covid" / "patients.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line == "3,IDF,2021-09,femmes,93")
    lines[index] = "3,IDF,2021-09,femmes,x"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert f"patients.csv:{index + 1}: field 'patients'" in _messages(data_copy)[0]


def test_missing_file_and_missing_column(data_copy):
    (data_copy / "post_covid" / "cells.csv").unlink()
    _edit(data_copy / "post_covid" / "waves.csv", "wave,date,label,source", "wave,date,source")
    messages = "\n".join(_messages(data_copy))
    assert "cells.csv: file not found (expected a CSV file with header wave,region,status,cells)" in messages
    assert "waves.csv:1: field 'label': missing column (expected header wave,date,label,source)" in messages


def test_malformed_date_unknown_status_and_yaml_error(data_copy):
    _edit(data_copy / "post_covid" / "waves.csv", "2021-11-15", "15/11/2021")
    _edit(data_copy / "post_covid" / "cells.csv", "3,CVL,en_cours,", "3,CVL,ouverte,")
    _edit(data_copy / "post_covid" / "measures.yaml", "  ami:\n", "  ami: [\n")
    messages = "\n".join(_messages(data_copy))
    assert "waves.csv:2: field 'date': expected a date YYYY-MM-DD, got '15/11/2021'" in messages
    assert "cells.csv:5: field 'status': expected one of confirmees, en_cours, non_mise_en_place, en_attente; got 'ouverte'" in messages
    assert "measures.yaml:" in messages and "invalid YAML" in messages


def test_every_problem_is_reported_at_once(data_copy):
    _edit(data_copy / "post_covid" / "patients.csv", "3,BFC,2021-08,mineurs,2", "3,BFC,2021-08,mineurs,-2")
    _edit(data_copy / "post_covid" / "cells.csv", "3,ARA,confirmees,12", "3,ARA,confirmees,douze")
    assert len(_messages(data_copy)) == 2
