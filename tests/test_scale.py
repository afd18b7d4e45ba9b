"""Real sizes: a wave where all 18 ARS report over 3 months renders a checked PDF (issue 12, item 5).

The test writes its own wave (figures, blanks and partial answers) into a copy of data/, so every
number it looks for in the PDF is one it computed itself from what it wrote.
"""

from __future__ import annotations

import csv
import random
import re

import pytest

from esante_report.pipeline.render import render_date

from .conftest import normalise, pdf_pages_text

pytestmark = pytest.mark.e2e

MONTHS = ["2021-10", "2021-11", "2021-12"]
CATEGORIES = ["mineurs", "hommes", "femmes"]


@pytest.fixture(scope="module")
def big_wave(tmp_path_factory):
    import shutil

    from .conftest import DATA

    root = tmp_path_factory.mktemp("scale")
    data = root / "data"
    shutil.copytree(DATA, data)
    regions = [r["abbr"] for r in csv.DictReader(open(data / "regions.csv", encoding="utf-8"))]
    assert len(regions) == 18
    rng = random.Random(20211213)
    values: dict[tuple[str, str, str], int | None] = {}
    with open(data / "post_covid" / "patients.csv", "a", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        for region in regions:
            for month in MONTHS:
                for category in CATEGORIES:
                    # blanks stay blank; MAY leaves 'mineurs' blank in November (a partial answer)
                    blank = (region == "GUF") or (region == "MAY" and month == "2021-11" and category == "mineurs")
                    value = None if blank else rng.randint(0, 250)
                    values[(region, month, category)] = value
                    writer.writerow([4, region, month, category, "" if value is None else value])
    with open(data / "post_covid" / "waves.csv", "a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow([4, "2021-12-13", "Enquête n°4", "Enquête de test (données générées)", "false"])
    with open(data / "post_covid" / "cells.csv", "a", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        for i, region in enumerate(regions):
            writer.writerow([4, region, "confirmees" if i % 3 else "en_cours", i + 1 if i % 3 else ""])
    params = root / "params"
    params.mkdir()
    (params / "2021-12-13.yaml").write_text(
        "post_covid:\n  wave: 4\n  months: [\"2021-10\", \"2021-11\", \"2021-12\"]\n  issuer: ARS de test\n",
        encoding="utf-8")
    out = root / "out"
    [deck] = render_date("2021-12-13", data_dir=data, params_dir=params, out_dir=out)
    return {"deck": deck, "values": values, "regions": regions, "out": out}


def test_all_18_regions_over_3_months_render_a_checked_pdf(big_wave):
    deck = big_wave["deck"]
    pages = pdf_pages_text(deck.pdf)
    assert len(pages) == deck.slides  # render only publishes a PDF that passed every check
    text = "\n".join(pages)
    # every region is in the deck's tables, which continue on further slides marked "(suite)"
    tables = [p for p in pages if "détail par région" in p or "détail (suite)" in p]
    for region in big_wave["regions"]:
        assert re.search(rf"\b{region}\b", "\n".join(tables)), region
    assert "(suite)" in text


def test_headline_totals_and_partial_answers_of_the_generated_wave(big_wave):
    values = big_wave["values"]
    text = re.sub(r"\s+", " ", normalise("\n".join(pdf_pages_text(big_wave["deck"].pdf))))
    for month, label in zip(MONTHS, ["octobre 2021", "novembre 2021", "décembre 2021"]):
        total = sum(v for (r, m, c), v in values.items() if m == month and v is not None)
        reporting = len({r for (r, m, c), v in values.items() if m == month and v is not None})
        expected = f"{total:,}".replace(",", " ")
        assert re.search(rf"{expected}\s+patients en {label} \({reporting} régions sur 18", text), (month, expected)
    # MAY's November total is incomplete: marked with an asterisk and named as partial
    assert "dont 1 partielle" in text
    assert re.search(r"MAY \*", text)
    # GUF left everything blank: never a zero, always "n.r."
    guf_rows = re.findall(r"GUF((?: n\.r\.)+)", text)
    assert guf_rows and all(set(row.split()) == {"n.r."} for row in guf_rows)


@pytest.fixture(scope="module")
def big_regional(big_wave, tmp_path_factory):
    """Regional decks of the generated wave: the longest region name and the largest figures (issue 17)."""
    from esante_report.pipeline.batch import plan, run_jobs

    from .conftest import ROOT

    root = big_wave["out"].parent
    names = {r["abbr"]: r["name"] for r in csv.DictReader(open(root / "data" / "regions.csv", encoding="utf-8"))}
    values = big_wave["values"]
    longest = max(names, key=lambda a: len(names[a]))
    largest = max(names, key=lambda a: max(sum(v or 0 for (r, m, c), v in values.items() if r == a and m == month)
                                           for month in MONTHS))
    wanted = sorted({longest, largest})
    # every status on the map, the longest one for the longest name (its sentence is the longest)
    statuses = ["confirmees", "en_cours", "non_mise_en_place", "en_attente"]
    cells = root / "data" / "post_covid" / "cells.csv"
    kept = [row for row in csv.reader(open(cells, encoding="utf-8", newline="")) if row[0] != "4"]
    with open(cells, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerows(kept)
        for i, region in enumerate(names):
            status = "non_mise_en_place" if region == longest else statuses[i % 4]
            writer.writerow([4, region, status, "" if region == longest else 100 + i])
    the_plan = plan(["2021-12-13"], decks=["post_covid"], data_dir=root / "data", params_dir=root / "params",
                    out_dir=tmp_path_factory.mktemp("scale-regions"), notebooks=ROOT / "notebooks",
                    regions=wanted, force=True)
    results = run_jobs(the_plan.jobs, workers=2)
    return {"results": {r.name: r for r in results}, "names": names, "wanted": wanted}


def _name(name: str) -> str:
    """A region's name as a pattern: a PDF line may break after its hyphens."""
    return re.escape(name).replace(r"\-", r"-\s?").replace(r"\ ", r"\s")


def test_longest_name_and_largest_figures_fit_a_regional_deck(big_wave, big_regional):
    values = big_wave["values"]
    assert len(big_regional["wanted"]) >= 1
    for abbr in big_regional["wanted"]:
        result = big_regional["results"][f"post_covid-{abbr}"]
        assert result.status == "rendered", result.error   # the PDF passed its checks: nothing clipped
        text = re.sub(r"\s+", " ", normalise("\n".join(pdf_pages_text(result.deck.pdf))))
        name = big_regional["names"][abbr]
        assert re.search(rf"Région {_name(name)} \({abbr}\)", text)
        if len(name) == max(map(len, big_regional["names"].values())):   # the longest status, blank cells
            assert re.search(rf"{_name(name)} : région ne mettant pas en place les cellules, cellules : "
                             "non renseigné", text)
        for month, label in zip(MONTHS, ["octobre 2021", "novembre 2021", "décembre 2021"]):
            own = [v for (r, m, c), v in values.items() if r == abbr and m == month and v is not None]
            if own:
                assert re.search(rf"{sum(own)}\s+patients en {label} \({_name(name)}", text), (abbr, month)
