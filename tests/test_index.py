"""The distribution page lists every rendered date, newest first, with working links."""

from __future__ import annotations

import hashlib

from bs4 import BeautifulSoup

from .conftest import DATA, pdf_pages_text


def test_index_lists_both_decks_newest_first(rendered):
    out = rendered["out"]
    soup = BeautifulSoup((out / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert soup.html["lang"] == "fr"
    dates = [t["datetime"] for t in soup.select("section.idx-date time")]
    assert dates == ["2021-11-15", "2020-12-08"]
    hrefs = [a["href"] for a in soup.select("a")]
    assert set(hrefs) == {f"{date}/{deck}.{suffix}" for date, deck in (("2021-11-15", "post_covid"),
                                                                       ("2020-12-08", "catalogue"))
                          for suffix in ("html", "pdf", "pptx", "odp")}
    assert all((out / h).exists() for h in hrefs)
    rows = {row.th.get_text(strip=True): row for row in soup.select("tbody tr")}
    post_covid_pages = rows["Cellules de coordination post-COVID"].select("td.num")[0].get_text()
    assert post_covid_pages == str(len(pdf_pages_text(rendered["post_covid"].pdf)))
    assert not soup.select("script[src], link[href]")


def test_last_slide_carries_provenance(rendered):
    last = pdf_pages_text(rendered["post_covid"].pdf)[-1]
    digest = hashlib.sha256((DATA / "post_covid" / "patients.csv").read_bytes()).hexdigest()[:12]
    assert f"post_covid/patients.csv {digest}" in last
    assert "Date de référence : 15/11/2021" in last and "esante-report" in last


def test_each_deck_comes_before_its_regional_decks(tmp_path):
    from esante_report.outdir.index import write_index

    folder = tmp_path / "2021-11-15"
    folder.mkdir()
    for name in ("post_covid-OCC", "post_covid", "post_covid-ARA"):
        (folder / f"{name}.html").write_text("<p>deck</p>", encoding="utf-8")
    soup = BeautifulSoup(write_index(tmp_path).read_text(encoding="utf-8"), "html.parser")
    assert [a["href"] for a in soup.select("tbody a")] == [
        "2021-11-15/post_covid.html", "2021-11-15/post_covid-ARA.html", "2021-11-15/post_covid-OCC.html"]
