"""One survey cycle end to end, as an analyst runs it: `new` → `survey-form` → forms filled (openpyxl, by
this test) → `survey-import` → `render` of the national deck and of two regional decks.

Every figure looked for in the PDFs is computed here from the values this test types into the forms
(and, for the previous point, from the seed's September 2021 figures of data/post_covid/patients.csv).
"""

from __future__ import annotations

import re
import shutil

import pytest

from esante_report.cli.main import main

from .conftest import DATA, PARAMS, pdf_pages_text
from .test_survey import _fill

pytestmark = pytest.mark.e2e

MONTHS = ("2021-10", "2021-11")
RETURNS = {  # region -> {(month, category): value}; None = left empty (non renseigné)
    "OCC": {("2021-10", "mineurs"): 3, ("2021-10", "hommes"): 12, ("2021-10", "femmes"): 0,
            ("2021-11", "mineurs"): None, ("2021-11", "hommes"): 15, ("2021-11", "femmes"): 21},
    "IDF": {("2021-10", "mineurs"): 1, ("2021-10", "hommes"): 60, ("2021-10", "femmes"): 90,
            ("2021-11", "mineurs"): 2, ("2021-11", "hommes"): 61, ("2021-11", "femmes"): 95},
    "BRE": {("2021-10", "mineurs"): 0, ("2021-10", "hommes"): 4, ("2021-10", "femmes"): 5,
            ("2021-11", "mineurs"): 1, ("2021-11", "hommes"): 3, ("2021-11", "femmes"): 6},
}
#: the seed's September 2021 totals (wave 3) of these regions, all three categories reported
SEPTEMBER = {"OCC": 2 + 18 + 28, "IDF": 2 + 59 + 93, "BRE": 0 + 1 + 6}


def _total(region, month):
    return sum(v for (m, _), v in RETURNS[region].items() if m == month and v is not None)


def _flat(path):
    """The PDF's text on one line; a name cut at its hyphen by a line end ("Île-de- France") rejoined."""
    return re.sub(r"(\w)- (\w)", r"\1-\2", re.sub(r"\s+", " ", " ".join(pdf_pages_text(path))))


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    root = tmp_path_factory.mktemp("cycle")
    data, params, forms, out = root / "data", root / "params", root / "forms", root / "out"
    shutil.copytree(DATA, data)
    shutil.copytree(PARAMS, params)
    common = ["--data", str(data)]
    assert main(["new", "--date", "2021-12-13", "--params", str(params), *common]) == 0
    assert main(["survey-form", "--wave", "4", "--months", ",".join(MONTHS), "--out", str(forms), *common]) == 0
    returned = []
    for region, values in RETURNS.items():
        form = next(forms.glob(f"*-{region}.xlsx"))
        _fill(form, form, values, status="Région avec cellules confirmées")
        returned.append(str(form))
    assert main(["survey-import", *returned, *common]) == 0
    args = ["render", "--date", "2021-12-13", "--params", str(params), "--out", str(out), "--jobs", "2", *common]
    assert main(args) == 0
    assert main([*args, "--region", "OCC", "--region", "IDF"]) == 0
    return out / "2021-12-13"


def test_national_deck_shows_the_returns_headline_totals_and_partial_answer(cycle):
    text = _flat(cycle / "post_covid.pdf")
    october = sum(_total(r, "2021-10") for r in RETURNS)
    november = sum(_total(r, "2021-11") for r in RETURNS)
    assert "Enquête n°4" in text and "Point d'étape – 13/12/2021" in text
    assert f"{october} patients en octobre 2021 (3 régions sur 3)" in text
    assert f"{november} patients en novembre 2021 (3 régions sur 3, dont 1 partielle)" in text
    assert re.search(r"OCC \*", text)  # OCC left 'mineurs' empty in November: marked partial
    assert "* : réponse partielle (OCC)" in text


def test_national_deck_says_what_changed_since_the_previous_point(cycle):
    text = _flat(cycle / "post_covid.pdf")
    assert "Évolutions depuis le point du 15/11/2021" in text
    # October against September 2021 (the previous point's data), over the regions complete both months
    before, now = sum(SEPTEMBER.values()), sum(_total(r, "2021-10") for r in RETURNS)
    pct = round(100 * (now - before) / before)
    assert f"{'+' if pct > 0 else '−'}{abs(pct)} % sur septembre 2021 à périmètre constant" in text
    assert f"{before} → {now}" in text
    # each region, November against October; OCC's November is incomplete: never a change against a blank
    idf = round(100 * (_total("IDF", "2021-11") - _total("IDF", "2021-10")) / _total("IDF", "2021-10"))
    assert re.search(rf"Île-de-France \(IDF\) {_total('IDF', '2021-10')} {_total('IDF', '2021-11')} \+{idf} %", text)
    assert "Occitanie (OCC) 15 n.r. non comparable (incomplet)" in text
    assert "Plus de réponse" in text  # regions of the previous point that sent no form this time


def test_regional_decks_show_their_own_figures_and_change(cycle):
    occ = _flat(cycle / "post_covid-OCC.pdf")
    assert "Région Occitanie (OCC)" in occ
    assert f"{_total('OCC', '2021-10')} patients en octobre 2021 (Occitanie)" in occ
    assert "Occitanie : non comparable (novembre 2021 incomplet)." in occ
    idf = _flat(cycle / "post_covid-IDF.pdf")
    before, now = _total("IDF", "2021-10"), _total("IDF", "2021-11")
    assert f"{now} patients en novembre 2021 (Île-de-France)" in idf
    assert f"Île-de-France : {now} patients en novembre 2021, +{round(100 * (now - before) / before)} % sur " \
           f"octobre 2021 ({before})." in idf
    # the region's share of the national total, month by month
    national = sum(_total(r, "2021-10") for r in RETURNS)
    assert f"{round(100 * before / national)} %" in idf
