"""What changed between two waves, and the measures fallback.

The data are small synthetic files written here and read through the real
loader; every expected number is computed by hand in the comments.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from esante_report.decks.post_covid.changes import compute_changes, describe, describe_region, title
from esante_report.errors import DataError
from esante_report.decks.post_covid.data import load_post_covid, measures_for

from .conftest import DATA

# (wave, region, month) -> (mineurs, hommes, femmes); None = blank
PATIENTS = {
    (1, "BRE", "2021-08"): (1, 2, 3), (1, "BRE", "2021-09"): (2, 2, 2),          # 6
    (1, "IDF", "2021-08"): (10, 20, 30), (1, "IDF", "2021-09"): (10, 40, 50),    # 100
    (1, "OCC", "2021-08"): (None, 5, 5), (1, "OCC", "2021-09"): (0, 5, None),    # partial in September
    (1, "NOR", "2021-08"): (None, None, None), (1, "NOR", "2021-09"): (1, 1, 1),  # 3
    (2, "BRE", "2021-10"): (3, 3, 3), (2, "BRE", "2021-11"): (4, 4, 4),          # 9, 12
    (2, "IDF", "2021-10"): (10, 45, 55), (2, "IDF", "2021-11"): (None, 50, 60),  # 110, partial
    (2, "OCC", "2021-10"): (1, 5, 4), (2, "OCC", "2021-11"): (2, 6, 4),          # 10, 12
    (2, "NOR", "2021-10"): (None, None, None), (2, "NOR", "2021-11"): (None, None, None),
    (2, "PACA", "2021-10"): (0, 0, 0), (2, "PACA", "2021-11"): (1, 1, 1),        # 0, 3
}
CELLS = [
    (1, "BRE", "confirmees", 2), (1, "COR", "non_mise_en_place", None), (1, "IDF", "en_cours", None),
    (1, "NOR", "en_attente", None), (1, "OCC", "confirmees", 4),
    (2, "BRE", "confirmees", 3), (2, "IDF", "confirmees", 25), (2, "NOR", "en_attente", None),
    (2, "OCC", "confirmees", 4), (2, "PACA", "en_cours", None),
]
MEASURES = """\
- wave: 1
  ami: {title: AMI, regions: [BRE]}
  financing: {title: Financements, items: [{text: Un financement}]}
  actions: {title: Actions, items: [Une action]}
"""


def _write(folder: Path, *, patients=PATIENTS, cells=CELLS, waves=((1, "2021-10-15"), (2, "2021-11-15"))) -> Path:
    (folder / "post_covid").mkdir(parents=True)
    shutil.copy(DATA / "regions.csv", folder / "regions.csv")
    shutil.copy(DATA / "post_covid" / "milestones.csv", folder / "post_covid" / "milestones.csv")
    for schema in (DATA / "post_covid").glob("*.schema.json"):   # the tables' contracts
        shutil.copy(schema, folder / "post_covid" / schema.name)
    (folder / "post_covid" / "waves.csv").write_text(
        "wave,date,label,source,cells_illustrative\n"
        + "".join(f"{w},{d},Enquête n°{w},Source {w},false\n" for w, d in waves), encoding="utf-8")
    blank = lambda v: "" if v is None else str(v)  # noqa: E731
    lines = ["wave,region,month,category,patients"]
    for (wave, region, month), values in patients.items():
        for category, value in zip(("mineurs", "hommes", "femmes"), values):
            lines.append(f"{wave},{region},{month},{category},{blank(value)}")
    (folder / "post_covid" / "patients.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "post_covid" / "cells.csv").write_text(
        "wave,region,status,cells\n" + "".join(f"{w},{r},{s},{blank(c)}\n" for w, r, s, c in cells), encoding="utf-8")
    (folder / "post_covid" / "measures.yaml").write_text(MEASURES, encoding="utf-8")
    return folder


@pytest.fixture
def two_waves(tmp_path):
    return load_post_covid(_write(tmp_path / "data"))


def test_statuses_and_who_reports(two_waves):
    c = compute_changes(two_waves, 2, ["2021-10", "2021-11"])
    assert not c.first and c.previous_wave == 1 and c.previous_date.isoformat() == "2021-10-15"
    assert [(s.region, s.old, s.new) for s in c.status_changes] == [
        ("COR", "non_mise_en_place", None), ("IDF", "en_cours", "confirmees"), ("PACA", None, "en_cours")]
    # PACA answers for the first time; Normandy only "awaits" and has blanks; Corsica has no row any more
    assert c.newly_reporting == ["PACA"]
    assert title(c) == "Évolutions depuis le point du 15/10/2021"
    assert c.no_longer_reporting == ["COR", "NOR"]


def test_national_totals_compare_like_with_like(two_waves):
    october, november = compute_changes(two_waves, 2, ["2021-10", "2021-11"]).totals
    # October: 9 + 110 + 10 + 0 = 129 over BRE IDF OCC PACA; September from wave 1, complete there: BRE IDF NOR
    assert (october.total, october.regions, october.previous_month, october.previous_wave) == (129, 4, "2021-09", 1)
    assert october.common_regions == ["BRE", "IDF"]
    assert (october.previous_common, october.current_common) == (106, 119)
    assert round(october.change_pct, 2) == 12.26
    # November: 12 + 110 + 12 + 3 = 137; IDF partial so out of the comparison; October from wave 2
    assert (november.total, november.regions, november.previous_wave) == (137, 4, 2)
    assert november.common_regions == ["BRE", "OCC", "PACA"]
    assert (november.previous_common, november.current_common, november.change) == (19, 27, 8)


def test_region_changes_never_against_a_blank(two_waves):
    c = compute_changes(two_waves, 2, ["2021-10", "2021-11"])
    assert [r.region for r in c.regions] == ["BRE", "IDF", "NOR", "OCC", "PACA"]
    bre, idf, nor, occ, paca = c.regions
    assert (bre.previous, bre.value, bre.change) == (9, 12, 3)
    assert not idf.comparable and idf.change is None and idf.reason == "partial 2021-11"
    assert not nor.comparable and nor.reason == "missing 2021-11"
    assert (paca.previous, paca.value, paca.change_pct) == (0, 3, None)
    assert describe_region(c, "BRE") == "Bretagne : 12 patients en novembre 2021, +33\u00a0% sur octobre 2021 (9)."
    assert describe_region(c, "IDF") == "Île-de-France : non comparable (novembre 2021 incomplet)."
    assert describe_region(c, "NOR") == "Normandie : non comparable (novembre 2021 non renseigné)."
    assert describe_region(c, "PACA") == ("Provence-Alpes-Côte d'Azur : 3 patients en novembre 2021, "
                                          "contre 0 en octobre 2021.")
    assert describe_region(c, "GUA") == "Guadeloupe : non comparable (novembre 2021 non renseigné)."


def test_french_sentences(two_waves):
    lines = describe(compute_changes(two_waves, 2, ["2021-10", "2021-11"]))
    assert lines[:5] == [
        "Depuis le point du 15/10/2021 (Enquête n°1), statut modifié : Corse (pas de mise en place des cellules "
        "→ absente de l'enquête) ; Île-de-France (remontée en cours → cellules confirmées) ; "
        "Provence-Alpes-Côte d'Azur (absente de l'enquête → remontée en cours).",
        "Nouvelles réponses : Provence-Alpes-Côte d'Azur.",
        "Plus de réponse : Corse, Normandie.",
        "129 patients en octobre 2021 (4 régions), +12\u00a0% sur septembre 2021 à périmètre constant "
        "(2 régions complètes les deux mois : 106 → 119).",
        "137 patients en novembre 2021 (4 régions), +42\u00a0% sur octobre 2021 à périmètre constant "
        "(3 régions complètes les deux mois : 19 → 27).",
    ]
    assert "Occitanie : 12 patients en novembre 2021, +20\u00a0% sur octobre 2021 (10)." in lines
    assert lines[-1] == "Non comparables (novembre 2021 / octobre 2021) : Île-de-France, Normandie."


def test_first_wave_says_there_is_no_earlier_point(two_waves):
    c = compute_changes(two_waves, 1, ["2021-08", "2021-09"])
    assert c.first and c.previous_wave is None and c.status_changes == [] and c.newly_reporting == []
    assert title(c) == "Évolutions : premier point d'étape"
    assert describe(c)[0] == "Premier point d'étape : pas de point antérieur auquel le comparer."
    august = c.totals[0]
    assert august.previous_wave is None and not august.comparable and august.change_pct is None


def test_a_wave_without_data_yet_compares_with_the_latest_wave_that_has_some(tmp_path):
    data = load_post_covid(_write(tmp_path / "data", waves=((1, "2021-10-15"), (2, "2021-11-15"), (3, "2021-12-13"))))
    c = compute_changes(data, 3, ["2021-12"])
    assert c.previous_wave == 2
    assert c.no_longer_reporting == ["BRE", "IDF", "OCC", "PACA"]
    (december,) = c.totals
    assert (december.total, december.regions, december.previous_wave, december.comparable) == (0, 0, 2, False)


def test_measures_fall_back_on_the_latest_earlier_wave(two_waves):
    measures, since = measures_for(two_waves, 2)
    assert since == 1 and measures["ami"]["regions"] == ["BRE"]
    assert measures_for(two_waves, 1)[1] == 1
    with pytest.raises(DataError, match=r"measures\.yaml: field 'wave': no entry for wave 0 or an earlier wave"):
        measures_for(two_waves, 0)


def test_the_month_before_comes_from_the_wave_itself_when_it_holds_it(tmp_path):
    # wave 2 re-collected September for BRE and IDF: its figures win over wave 1's (6 and 100)
    patients = {**PATIENTS, (2, "BRE", "2021-09"): (5, 5, 5), (2, "IDF", "2021-09"): (1, 1, 1)}
    data = load_post_covid(_write(tmp_path / "data", patients=patients))
    october = compute_changes(data, 2, ["2021-10", "2021-11"]).totals[0]
    assert (october.previous_wave, october.common_regions) == (2, ["BRE", "IDF"])
    assert (october.previous_common, october.current_common) == (18, 119)
