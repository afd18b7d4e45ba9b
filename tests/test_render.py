"""End to end: render real decks from data and read them back as a reader would (PDF text, HTML DOM)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from esante_report.pipeline.render import render_date

from .conftest import ROOT, normalise, pdf_pages_text

pytestmark = pytest.mark.e2e


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _remote_loads(soup: BeautifulSoup) -> list[str]:
    """Every reference the browser would fetch from a host (scripts, styles, images, frames, CSS urls)."""
    found = []
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"), ("source", "src"),
                      ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data")):
        for el in soup.find_all(tag):
            value = el.get(attr)
            if value and not value.startswith("data:"):
                found.append(f"<{tag} {attr}={value}>")
    for style in soup.find_all("style"):
        found += [f"css {u}" for u in re.findall(r"url\(\s*['\"]?((?!data:)[^)'\"]+)", style.get_text())]
        found += [f"css {u}" for u in re.findall(r"@import\s+['\"]?([^;'\"]+)", style.get_text())]
    for script in soup.find_all("script"):
        found += [f"js import {u}" for u in re.findall(r"import\s*\(\s*['\"](https?://[^'\"]+)", script.string or "")]
    return found


# --------------------------------------------------------------------------- the seed's post-COVID deck

def test_post_covid_outputs_exist_with_one_pdf_page_per_slide(rendered):
    deck = rendered["post_covid"]
    assert deck.html.name == "post_covid.html" and deck.html.parent.name == "2021-11-15"
    assert deck.ipynb.exists()
    pages = pdf_pages_text(deck.pdf)
    # the detail table over two slides (at most 8 rows each, at body text size), the provenance on its own
    assert len(pages) == deck.slides == 11
    assert len(_soup(deck.html).select(".reveal .slides > section.esr-slide")) == 11
    assert [p for p in pages if "Patients pris en charge : détail" in p][1].count("(suite)") == 1


def test_post_covid_pdf_shows_the_seed_figures(rendered):
    pages = pdf_pages_text(rendered["post_covid"].pdf)
    text = "\n".join(pages)
    assert "Point d'étape – 15/11/2021" in text
    table = next(p for p in pages if "Total (régions ayant répondu)" in p)
    idf = re.search(r"IDF ([\d ]+)", table).group(1).split()
    assert idf == ["2", "54", "78", "134", "2", "59", "93", "154"]  # seed figures, then each month's total
    totals = re.search(r"Total \(régions ayant répondu\) ([\d ]+)", table).group(1).split()
    assert totals == ["8", "93", "149", "250", "5", "110", "171", "286"]
    assert "non renseigné" in table and "août 2021" in table and "septembre 2021" in table
    flat = re.sub(r"\s+", " ", text)  # a phrase may wrap onto the next line
    assert re.search(r"250 patients en août 2021 \(10 régions sur 13, dont 3 partielles\)", flat)
    assert re.search(r"286 patients en septembre 2021 \(8 régions sur 13\)", flat)
    map_page = next(p for p in pages if "Nombre de cellules de coordination" in p)
    assert "Données illustratives" in map_page
    assert "Contours : IGN Admin Express COG 2018" in map_page
    flat = re.sub(r"\s+", " ", text)  # a phrase may wrap onto the next line
    for item in ("ARS Bretagne", "ARS Nouvelle-Aquitaine", "ex AquiRespi en NAQ", "12 février 2021",
                 "16 juin 2021", "dernier trimestre 2020"):
        assert item in flat, item


def test_no_code_and_no_parameters_on_any_slide(rendered):
    deck = rendered["post_covid"]
    text = "\n".join(pdf_pages_text(deck.pdf)) + _soup(deck.html).select_one(".slides").get_text()
    for leak in ("report_date", "data_dir", "PostCovidBlocks", "import ", "Parameters", "wave = "):
        assert leak not in text, leak
    # the notebook's preview style (a Skip cell) stays in the notebook: slides only carry the deck's own styles
    assert all(style.parent.name in ("head", "defs") for style in _soup(deck.html).find_all("style"))
    # speaker notes are in the HTML deck, never in the PDF
    notes = _soup(deck.html).select("aside.notes")
    assert notes and normalise(notes[0].get_text().strip())[:40] not in "\n".join(pdf_pages_text(deck.pdf))


@pytest.mark.parametrize("deck", ["post_covid", "catalogue"])
def test_html_deck_loads_nothing_from_the_network(rendered, deck):
    soup = _soup(rendered[deck].html)
    assert _remote_loads(soup) == []
    assert soup.html["lang"] == "fr"
    assert any("Reveal.initialize" in (s.string or "") for s in soup.find_all("script"))


@pytest.mark.parametrize("deck", ["post_covid", "catalogue"])
def test_pdf_metadata_and_fonts(rendered, deck):
    from pypdf import PdfReader

    reader = PdfReader(str(rendered[deck].pdf))
    meta = reader.metadata
    assert meta.author == ("Ministère des Solidarités et de la Santé" if deck == "post_covid" else "ARS Occitanie")
    assert rendered[deck].date.replace("-", "") and re.search(r"\d\d/\d\d/\d{4}", meta.title)
    assert "sha256:" in meta.get("/Keywords", "") and "esante-report" in meta.get("/Keywords", "")
    assert meta.creation_date is not None
    box = reader.pages[0].mediabox
    assert abs(float(box.width) / float(box.height) - 16 / 9) < 0.01
    fonts = set()
    for page in reader.pages[:3]:
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object().get("/FontDescriptor") or \
                font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts.add((str(font.get_object()["/BaseFont"]), any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))))
    assert fonts and all(embedded for _, embedded in fonts), fonts
    assert any("Inter" in name for name, _ in fonts)


# --------------------------------------------------------------------------- the seed's catalogue deck

def test_catalogue_pdf_holds_every_service_and_key_figure(rendered):
    from .test_catalogue import SEED_SERVICES

    deck = rendered["catalogue"]
    pages = pdf_pages_text(deck.pdf)
    assert len(pages) == deck.slides
    text = re.sub(r"\s+", " ", "\n".join(pages))
    for name in SEED_SERVICES:
        assert name in text, name
    for figure in ("20 356 fiches", "28 430 demandes", "90 000 téléconsultations", "Version au 08/12/2020",
                   "assistance@esante-occitanie.fr", "0 820 250 035", "Principes du plan de réarmement e-santé COVID"):
        assert figure in text, figure
    pastel = next(p for p in pages if "Téléexpertise programmée PASTEL" in p and "Pour qui" in p)
    assert "Contours : IGN Admin Express COG 2018" in pastel
    assert "Synthèse du catalogue" in text and "Assistance technique" in text


# --------------------------------------------------------------------------- another date, other data

def _second_wave(data: Path, params: Path) -> None:
    """Wave 4 (2021-12-15) with its own months and numbers; OCC did not report; nothing of wave 3 reused."""
    regions = ["ARA", "BFC", "IDF", "OCC", "PACA"]
    values = {"ARA": (3, 11, 17), "BFC": (1, 4, 9), "IDF": (5, 71, 88), "OCC": (None, None, None),
              "PACA": (0, 7, 12)}
    lines = ["wave,region,month,category,patients"]
    for region in regions:
        for month, bump in (("2021-10", 0), ("2021-11", 1)):
            for category, value in zip(("mineurs", "hommes", "femmes"), values[region]):
                lines.append(f"4,{region},{month},{category},{'' if value is None else value + bump}")
    (data / "post_covid" / "patients.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data / "post_covid" / "waves.csv").write_text(
        "wave,date,label,source,cells_illustrative\n"
        "4,2021-12-15,Enquête n°4,Enquête de test n°4 auprès des ARS,false\n", encoding="utf-8")
    (data / "post_covid" / "cells.csv").write_text(
        "wave,region,status,cells\n4,ARA,confirmees,31\n4,IDF,confirmees,27\n4,OCC,en_attente,\n", encoding="utf-8")
    measures = (data / "post_covid" / "measures.yaml").read_text(encoding="utf-8").replace("- wave: 3", "- wave: 4")
    (data / "post_covid" / "measures.yaml").write_text(measures, encoding="utf-8")
    (params / "2021-12-15.yaml").write_text(
        "post_covid:\n  wave: 4\n  months: [\"2021-10\", \"2021-11\"]\n  issuer: Direction générale de l'offre de soins\n",
        encoding="utf-8")


def test_a_second_reporting_date_renders_its_own_figures(tmp_path, data_copy):
    params = tmp_path / "params"
    params.mkdir()
    _second_wave(data_copy, params)
    [deck] = render_date("2021-12-15", data_dir=data_copy, params_dir=params, out_dir=tmp_path / "out")
    pages = pdf_pages_text(deck.pdf)
    text = re.sub(r"\s+", " ", "\n".join(pages))
    assert "Point d'étape – 15/12/2021" in text and "Enquête n°4" in text
    assert "octobre 2021" in text and "novembre 2021" in text
    assert "août 2021" not in text and "15/11/2021" not in text and "Données illustratives" not in text
    # this data copy holds no earlier wave with patients: the deck says there is nothing to compare with
    assert "Évolutions : premier point d'étape" in text
    table = next(p for p in pages if "Total (régions ayant répondu)" in p)
    assert re.search(r"IDF 5 71 88 164 6 72 89 167", table)
    assert re.search(r"OCC( n\.r\.){8}", table)
    # totals of what was reported: 3+1+5+0, 11+4+71+7, 17+9+88+12 in October
    assert re.search(r"Total \(régions ayant répondu\) 9 93 126 228 13 97 130 240", table)
    assert "patients en octobre 2021 (4 régions sur 5" in text
    assert "DIRECTION GÉNÉRALE DE L'OFFRE DE SOINS" in text  # the issuer heads every slide (CSS upper case)
    assert pdf_pages_text(deck.pdf) and "31" in next(p for p in pages if "Nombre de cellules" in p)


def test_catalogue_date_rules_end_to_end(tmp_path, data_copy):
    """A service entering the catalogue later and a figure known later appear only from their dates."""
    catalogue = data_copy / "catalogue"
    services = catalogue / "services.yaml"
    services.write_text(services.read_text(encoding="utf-8") + (
        "- id: teleconsult-plus\n  name: Téléconsultation Plus (service de test)\n  section: usage_mixte\n"
        "  status: production\n  since: 2021-03-01\n  audience: [Tous]\n  purpose: [Tester les règles de date]\n"), encoding="utf-8")
    with (catalogue / "indicators.csv").open("a", encoding="utf-8") as f:
        f.write("covho,2021-03-01,,,fiches_total_2021,31415,fiches,Fiches au total,,L'application totalise 31 415 fiches.\n")
    params = tmp_path / "params"
    params.mkdir()
    for date in ("2021-01-15", "2021-04-01"):
        (params / f"{date}.yaml").write_text("catalogue:\n  region: OCC\n", encoding="utf-8")
    early = "\n".join(pdf_pages_text(render_date("2021-01-15", data_dir=data_copy, params_dir=params,
                                                 out_dir=tmp_path / "out")[0].pdf))
    late = "\n".join(pdf_pages_text(render_date("2021-04-01", data_dir=data_copy, params_dir=params,
                                                out_dir=tmp_path / "out")[0].pdf))
    assert "Téléconsultation Plus" not in early and "31 415" not in early
    assert "Version au 15/01/2021" in early and "20 356 fiches" in early
    assert "Téléconsultation Plus" in late and "31 415 fiches" in late and "Version au 01/04/2021" in late


def test_text_from_data_is_escaped_and_unsafe_links_dropped(tmp_path, data_copy):
    services = data_copy / "catalogue" / "services.yaml"
    services.write_text(services.read_text(encoding="utf-8") + (
        "- id: piege\n  name: Service <script>window.pwned=1</script> piège\n  section: usage_mixte\n"
        "  status: production\n  audience: ['<img src=x onerror=alert(1)>']\n  purpose: [Tester]\n"
        "  links:\n  - label: Lien piégé\n    url: javascript:alert(1)\n  - label: Lien sûr\n    url: https://example.org/\n"),
        encoding="utf-8")
    params = tmp_path / "params"
    params.mkdir()
    (params / "2020-12-08.yaml").write_text("catalogue:\n  region: OCC\n", encoding="utf-8")
    [deck] = render_date("2020-12-08", data_dir=data_copy, params_dir=params, out_dir=tmp_path / "out")
    soup = _soup(deck.html)
    assert not [s for s in soup.find_all("script") if "pwned" in s.get_text()]
    assert not soup.select("img[onerror]")
    assert "Service <script>window.pwned=1</script> piège" in soup.get_text()
    assert not soup.select('a[href^="javascript"]')
    assert soup.select('a[href="https://example.org/"]')
    assert "Lien piégé" in soup.get_text()


def test_committed_notebooks_have_no_outputs_and_a_parameters_cell():
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path
        assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1, path
