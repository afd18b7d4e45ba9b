"""Every regional deck of a date renders (issue 17, item 1).

One session-scoped fixture renders the 18 regional decks of 2021-11-15 and the national deck with two
workers; each regional PDF is checked for its own region's name and figures, computed here from
data/post_covid/patients.csv (not from the package), or for "aucune remontée" where the region has no rows.
"""

from __future__ import annotations

import csv
import re

import pytest

from .conftest import DATA, PARAMS, ROOT, normalise, pdf_pages_text

pytestmark = pytest.mark.e2e

DATE = "2021-11-15"
WAVE = 3
MONTHS = ["2021-08", "2021-09"]
MONTH_LABELS = {"2021-08": "août 2021", "2021-09": "septembre 2021"}

REGIONS = list(csv.DictReader(open(DATA / "regions.csv", encoding="utf-8")))


def _patients() -> dict[str, dict[str, list[int | None]]]:
    """region -> month -> the values of its rows (None = blank) for the wave."""
    out: dict[str, dict[str, list[int | None]]] = {}
    with open(DATA / "post_covid" / "patients.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if int(row["wave"]) == WAVE and row["month"] in MONTHS:
                value = int(row["patients"]) if row["patients"].strip() else None
                out.setdefault(row["region"], {}).setdefault(row["month"], []).append(value)
    return out


PATIENTS = _patients()


def _name(name: str) -> str:
    """A region's name as a pattern: a PDF line may break after its hyphens."""
    return re.escape(name).replace(r"\-", r"-\s?").replace(r"\ ", r"\s")


@pytest.fixture(scope="session")
def all_regions(tmp_path_factory):
    """The 18 regional decks and the national deck of 2021-11-15, rendered in one batch with 2 workers."""
    from esante_report.pipeline.batch import plan, run_jobs

    out = tmp_path_factory.mktemp("regions")
    kw = dict(decks=["post_covid"], data_dir=DATA, params_dir=PARAMS, out_dir=out, notebooks=ROOT / "notebooks",
              force=True, only_listed=True)
    regional = plan([DATE], regions=["all"], **kw)
    national = plan([DATE], **kw)
    assert not regional.refused and not national.refused
    results = run_jobs(national.jobs + regional.jobs, workers=2)
    return {r.name: r for r in results}


def test_every_regional_deck_and_the_national_one_render(all_regions):
    expected = {"post_covid"} | {f"post_covid-{r['abbr']}" for r in REGIONS}
    assert set(all_regions) == expected
    failed = {name: r.error for name, r in all_regions.items() if r.status != "rendered"}
    assert not failed


def test_the_summary_lists_every_expected_deck(all_regions):
    from esante_report.pipeline.batch import summary_table

    lines = summary_table(list(all_regions.values())).splitlines()[1:]
    listed = {line.split()[1]: line.split()[2] for line in lines}
    assert listed == {name: "rendered" for name in all_regions}
    assert len(lines) == 19


@pytest.mark.parametrize("region", [r["abbr"] for r in REGIONS])
def test_regional_pdf_shows_its_own_region_and_figures(all_regions, region):
    result = all_regions[f"post_covid-{region}"]
    assert result.status == "rendered", result.error
    pages = pdf_pages_text(result.deck.pdf)
    text = re.sub(r"\s+", " ", normalise("\n".join(pages)))
    name = next(r["name"] for r in REGIONS if r["abbr"] == region)
    assert re.search(rf"Région {_name(name)} \({region}\)", text)          # the cover
    rows = PATIENTS.get(region)
    if rows is None:
        assert re.search(rf"{_name(name)} : aucune remontée pour cette enquête", text)
        # and still the national picture: the national total of the last month
        national = sum(v for months in PATIENTS.values() for v in months.get(MONTHS[-1], []) if v is not None)
        assert re.search(rf"\b{national}\s+patients en {MONTH_LABELS[MONTHS[-1]]}", text)
        return
    assert "aucune remontée pour cette enquête" not in text
    kpis = next(p for p in pages if "Patients post-COVID en situation complexe" in p)
    kpis = re.sub(r"\s+", " ", kpis)
    for month in MONTHS:
        values = [v for v in rows.get(month, []) if v is not None]
        if values:
            # its own total, named after it (never the national figure)
            assert re.search(rf"\b{sum(values)}\s+patients en {MONTH_LABELS[month]} \({_name(name)}", kpis), month
            # a partial answer is named as the region's own, not counted among regions
            partial = len(values) < len(rows[month])
            assert bool(re.search(rf"\({_name(name)}, réponse partielle\)", kpis)) == partial, month
            assert "dont 1 partielle" not in kpis
        else:
            assert f"patients en {MONTH_LABELS[month]} : aucune remontée" in kpis, month
    # the share slide: the region's own total of the last month beside the national one
    last = [v for v in rows.get(MONTHS[-1], []) if v is not None]
    national = sum(v for months in PATIENTS.values() for v in months.get(MONTHS[-1], []) if v is not None)
    share = next(p for p in pages if "Part de la région" in p)
    share = re.sub(r"\s+", " ", share)
    if last:
        partial = len(last) < len(rows[MONTHS[-1]])
        own = f"{sum(last)} \\(partiel\\)" if partial else f"{sum(last)}"
        assert re.search(rf"septembre 2021 {own} {national} ", share)
        assert f"{round(100 * sum(last) / national)} %" in share
    else:
        assert re.search(rf"septembre 2021 non renseigné {national} ", share)


def test_deck_data_of_a_regional_deck_is_the_regions():
    from esante_report.decks.post_covid.blocks import PostCovidBlocks

    deck = PostCovidBlocks.load(DATA, report_date=DATE, wave=WAVE, months=MONTHS, region="OCC")
    assert set(deck.data.patients["region"]) == {"OCC"}
    assert set(deck.data.cells["region"]) <= {"OCC"}
    assert len(set(deck.national.patients["region"])) == len(PATIENTS)
