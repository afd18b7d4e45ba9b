"""The distribution page lists every rendered date, newest first, with working links; its Atom feed."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
from pathlib import Path

from bs4 import BeautifulSoup

from esante_report.outdir.index import remember_expected, write_index

from .conftest import DATA, pdf_pages_text


def test_index_lists_both_decks_newest_first(rendered):
    out = rendered["out"]
    soup = BeautifulSoup((out / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert soup.html["lang"] == "fr"
    dates = [t["datetime"] for t in soup.select("section.idx-date time")]
    assert dates == ["2021-11-15", "2020-12-08"]
    assert [_title(h) for h in soup.select("section.idx-date h2")] == [
        "Date de référence : 15 novembre 2021", "Date de référence : 8 décembre 2020"]
    hrefs = [a["href"] for a in soup.select("main a")]
    assert set(hrefs) == {f"{date}/{deck}.{suffix}" for date, deck in (("2021-11-15", "post_covid"),
                                                                       ("2020-12-08", "catalogue"))
                          for suffix in ("html", "pdf", "pptx", "odp")}
    assert all((out / h).exists() for h in hrefs)
    decks = {_title(d.select_one(".idx-title")): d for d in soup.select(".idx-deck")}
    meta = decks["Cellules de coordination post-COVID"].select_one(".idx-meta").get_text()
    assert meta.startswith(f"{len(pdf_pages_text(rendered['post_covid'].pdf))} diapositives · produite le ")
    assert "Ministère des Solidarités et de la Santé" in meta  # the issuer the deck's header names
    assert not soup.select("script[src], link[href]:not([rel=alternate]), [style]")


def test_last_slide_carries_provenance(rendered):
    last = pdf_pages_text(rendered["post_covid"].pdf)[-1]
    digest = hashlib.sha256((DATA / "post_covid" / "patients.csv").read_bytes()).hexdigest()[:12]
    assert f"post_covid/patients.csv {digest}" in last
    assert "Date de référence : 15/11/2021" in last and "esante-report" in last


def _title(element) -> str:
    """An element's text as a screen reader says it (whitespace folded)."""
    return " ".join(element.get_text().split())


def _fake_decks(out: Path, date: str, names: list[str], titles: dict[str, str] | None = None,
                suffixes=(".html", ".pdf", ".pptx", ".odp"), author: str = "ARS Test") -> None:
    """Reader files as render leaves them (the HTML names its issuer), and the titles render recorded."""
    folder = out / date
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        for suffix in suffixes:
            body = f'<!DOCTYPE html><head><meta name="author" content="{html.escape(author)}"><style>'
            (folder / f"{name}{suffix}").write_text(body if suffix == ".html" else "x", encoding="utf-8")
    remember_expected(out, [(date, n, (titles or {}).get(n, "")) for n in names])


def _regional(name: str) -> str:
    return f"Cellules de coordination post-COVID — {name}"


REGIONS = {"OCC": "Occitanie", "IDF": "Île-de-France", "ARA": "Auvergne-Rhône-Alpes", "COR": "Corse",
           "CVL": "Centre-Val de Loire", "LRE": "La Réunion", "PAC": "Provence-Alpes-Côte d'Azur",
           "HDF": "Hauts-de-France", "MTQ": "Martinique", "MAY": "Mayotte"}


def test_national_decks_first_then_regions_in_french_name_order(tmp_path):
    names = ["post_covid-" + r for r in REGIONS] + ["post_covid"]
    _fake_decks(tmp_path, "2021-11-15", names, {f"post_covid-{r}": _regional(n) for r, n in REGIONS.items()})
    soup = BeautifulSoup(write_index(tmp_path).read_text(encoding="utf-8"), "html.parser")
    section = soup.select_one("section.idx-date")
    assert _title(section.select_one(".idx-national .idx-title")) == "Cellules de coordination post-COVID"
    assert section.select_one(".idx-national").find_next(class_="idx-family") is not None
    grid = section.select(".idx-family .idx-grid > li")
    assert [_title(li.select_one(".idx-title")) for li in grid] == [_regional(n) for n in (
        "Auvergne-Rhône-Alpes", "Centre-Val de Loire", "Corse", "Hauts-de-France", "Île-de-France", "La Réunion",
        "Martinique", "Mayotte", "Occitanie", "Provence-Alpes-Côte d'Azur")]
    # each regional deck shows its region once (the family title is said to screen readers only), formats as links
    occ = next(li for li in grid if li["data-region"] == "OCC")
    assert occ.select_one(".idx-title .idx-sr").get_text() == "Cellules de coordination post-COVID — "
    assert [a.get_text() for a in occ.select("a")] == ["HTML", "PDF", "PPTX", "ODP"]
    assert [a["href"] for a in occ.select("a")] == [f"2021-11-15/post_covid-OCC.{s}"
                                                    for s in ("html", "pdf", "pptx", "odp")]
    # "Ma région" offers the regions of the page, in the same order, each once
    options = [(o["value"], o.get_text()) for o in soup.select("select#idx-region option")]
    assert options[0] == ("", "Toutes les régions")
    assert [label for _, label in options[1:]] == [_title(li.select_one(".idx-title")).split(" — ")[1] for li in grid]
    assert soup.select_one("label[for=idx-region]").get_text() == "Ma région"
    assert soup.select_one("label[for=idx-q]") and soup.select_one("input#idx-q")["type"] == "search"


def test_intro_names_only_the_formats_that_exist(tmp_path):
    _fake_decks(tmp_path, "2021-11-15", ["post_covid"], suffixes=(".html", ".pdf"))
    soup = BeautifulSoup(write_index(tmp_path).read_text(encoding="utf-8"), "html.parser")
    intro = _title(soup.select_one(".idx-header p:not(.idx-kicker):not(.idx-feed)"))
    assert "diaporama HTML" in intro and "PDF" in intro
    assert "PowerPoint" not in intro and "OpenDocument" not in intro
    assert [a.get_text() for a in soup.select(".idx-files a")] == ["Diaporama HTML", "PDF"]


def test_each_deck_links_its_earlier_dates_for_the_same_region(tmp_path):
    for date in ("2021-11-15", "2021-06-01", "2020-12-08"):
        _fake_decks(tmp_path, date, ["post_covid", "post_covid-OCC"], {"post_covid-OCC": _regional("Occitanie")},
                    suffixes=(".html", ".pdf"))
    _fake_decks(tmp_path, "2021-06-01", ["post_covid-BRE"], {"post_covid-BRE": _regional("Bretagne")},
                suffixes=(".pdf",))
    soup = BeautifulSoup(write_index(tmp_path).read_text(encoding="utf-8"), "html.parser")
    history = {d["id"]: [a["href"] for a in d.select(".idx-history a")] for d in soup.select(".idx-deck")}
    assert history["k-2021-11-15-post_covid-OCC"] == ["2021-06-01/post_covid-OCC.html",
                                                      "2020-12-08/post_covid-OCC.html"]
    assert history["k-2021-06-01-post_covid-OCC"] == ["2020-12-08/post_covid-OCC.html"]
    assert history["k-2021-11-15-post_covid"] == ["2021-06-01/post_covid.html", "2020-12-08/post_covid.html"]
    assert history["k-2020-12-08-post_covid"] == []
    assert history["k-2021-06-01-post_covid-BRE"] == []


HOSTILE = '<img src=x onerror=alert(1)></script><script>alert(2)</script>\u2028&amp;'


def test_hostile_titles_regions_and_issuers_are_inert_in_the_index_and_the_feed(tmp_path):
    """Deck titles, region names and issuers come from data: the page shows them as text, its search
    index cannot end its script element, and the feed carries them as text too."""
    import xml.etree.ElementTree as ET

    _fake_decks(tmp_path, "2021-11-15", ["post_covid", "post_covid-OCC", "post_covid-BRE"],
                {"post_covid": HOSTILE, "post_covid-OCC": _regional(HOSTILE), "post_covid-BRE": _regional("Bretagne")},
                author=HOSTILE)
    page = write_index(tmp_path).read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    assert not soup.find_all(["img", "iframe", "object", "embed", "base"])
    assert not [a for el in soup.find_all(True) for a in el.attrs if a.lower().startswith("on")]
    scripts = soup.find_all("script")
    assert [s.get("type") for s in scripts] == ["application/json", None]
    assert page.count("</script>") == 2 and not re.search("[<>&\u2028\u2029]", scripts[0].string)
    assert "alert" not in scripts[1].get_text()
    assert soup.select_one(".idx-national .idx-title").get_text() == HOSTILE
    occ = soup.select_one("[data-region=OCC] .idx-title")
    assert HOSTILE in occ.get_text() and occ.find("img") is None
    assert soup.select_one("select#idx-region option[value=OCC]").get_text() == HOSTILE
    assert HOSTILE in soup.select_one(".idx-family .idx-meta").get_text()  # the issuer, as text
    search = json.loads(scripts[0].string)
    assert "<img src=x onerror=alert(1)></script>" in search["k-2021-11-15-post_covid-OCC"]

    feed = ET.parse(tmp_path / "feed.xml").getroot()
    atom = "{http://www.w3.org/2005/Atom}"
    entries = {e.find(f"{atom}link").get("href"): e for e in feed.iter(f"{atom}entry")}
    occ_entry = entries["2021-11-15/post_covid-OCC.html"]
    assert occ_entry.findtext(f"{atom}title") == _regional(HOSTILE) + " — 15 novembre 2021"
    assert occ_entry.find(f"{atom}author/{atom}name").text == HOSTILE
    assert occ_entry.find(f"{atom}category").get("label") == HOSTILE
    assert not list(occ_entry.iter("img")) and not list(occ_entry.iter("script"))


def test_page_declares_a_policy_that_fetches_nothing(tmp_path):
    _fake_decks(tmp_path, "2021-11-15", ["post_covid"])
    soup = BeautifulSoup(write_index(tmp_path).read_text(encoding="utf-8"), "html.parser")
    policy = soup.select_one("meta[http-equiv=Content-Security-Policy]")["content"]
    rules = dict(r.strip().partition(" ")[::2] for r in policy.split(";"))
    assert rules["default-src"] == "'none'" and rules["connect-src"] == "'none'"
    assert rules["script-src"].startswith("'sha256-") and "unsafe" not in rules["script-src"]
    assert "unsafe" not in rules["style-src"]
    alternate = soup.select_one("link[rel=alternate]")
    assert (alternate["type"], alternate["href"]) == ("application/atom+xml", "feed.xml")
    assert soup.select_one(".idx-header a[href='feed.xml']")


def test_feed_is_atom_with_one_entry_per_deck_and_date(tmp_path):
    import xml.etree.ElementTree as ET

    _fake_decks(tmp_path, "2021-11-15", ["post_covid", "post_covid-OCC"], {"post_covid-OCC": _regional("Occitanie")})
    _fake_decks(tmp_path, "2020-12-08", ["catalogue"])
    remember_expected(tmp_path, [("2021-11-15", "post_covid-IDF", _regional("Île-de-France"))])  # missing: no entry
    write_index(tmp_path)
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(tmp_path / "feed.xml").getroot()
    assert feed.tag == f"{atom}feed" and feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    for element in (feed, *feed.iter(f"{atom}entry")):
        assert element.findtext(f"{atom}id").startswith("urn:uuid:")
        assert element.findtext(f"{atom}title")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", element.findtext(f"{atom}updated"))
    assert feed.find(f"{atom}author/{atom}name").text
    entries = list(feed.iter(f"{atom}entry"))
    assert [e.find(f"{atom}link[@rel='alternate']").get("href") for e in entries] == [
        "2021-11-15/post_covid.html", "2021-11-15/post_covid-OCC.html", "2020-12-08/catalogue.html"]
    assert all((tmp_path / e.find(f"{atom}link").get("href")).is_file() for e in entries)
    assert len({e.findtext(f"{atom}id") for e in entries}) == 3
    occ = entries[1]
    assert occ.findtext(f"{atom}title") == "Cellules de coordination post-COVID — Occitanie — 15 novembre 2021"
    assert (occ.find(f"{atom}category").get("term"), occ.find(f"{atom}category").get("label")) == ("OCC", "Occitanie")
    assert occ.find(f"{atom}author/{atom}name").text == "ARS Test"
    produced = dt.datetime.fromtimestamp(int((tmp_path / "2021-11-15" / "post_covid-OCC.html").stat().st_mtime),
                                         dt.timezone.utc)
    assert occ.findtext(f"{atom}updated") == produced.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_feed_links_are_absolute_under_a_public_address():
    import xml.etree.ElementTree as ET

    from esante_report.outdir.feed import render_feed

    deck = {"name": "post_covid", "title": "T", "region": "", "region_name": "", "missing": False, "issuer": "",
            "produced": "2021-11-16T08:00:00Z",
            "files": [{"href": "2021-11-15/post_covid.html", "text": "Diaporama HTML", "format": "HTML",
                       "size": "1 Ko"}]}
    day = {"iso": "2021-11-15", "long_date": "15 novembre 2021", "decks": [deck]}
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.fromstring(render_feed([day], "https://partage.example.fr/decks/"))
    assert [link.get("href") for link in feed.iter(f"{atom}link")] == [
        "https://partage.example.fr/decks/index.html", "https://partage.example.fr/decks/feed.xml",
        "https://partage.example.fr/decks/2021-11-15/post_covid.html"]
    relative = ET.fromstring(render_feed([day], "javascript:alert(1)//"))
    assert [link.get("href") for link in relative.iter(f"{atom}link")] == ["index.html", "2021-11-15/post_covid.html"]
