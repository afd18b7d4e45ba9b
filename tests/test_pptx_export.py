"""The editable decks (issue 19): each seed deck's PPTX read back with python-pptx and LibreOffice.

What a reader of the PowerPoint file sees: the slide titles as title placeholders, the seed
figures as text, the tables as tables with header rows, each chart as a picture (PNG, with the
SVG in Office's svgBlip extension) whose description is the alt text of the HTML deck, the
speaker notes, the house master; LibreOffice opens it (PPTX → PDF) and finds the titles; the
Impress copy is there and is an ODF presentation.
"""

from __future__ import annotations

import re

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from .conftest import PARAMS, normalise

pytestmark = pytest.mark.e2e

DECKS = ("post_covid", "catalogue")


def _pptx(rendered, deck):
    from pptx import Presentation

    path = rendered[deck].html.with_suffix(".pptx")
    assert path.is_file(), f"render wrote no {path.name}"
    return Presentation(str(path))


def _soup(rendered, deck) -> BeautifulSoup:
    return BeautifulSoup(rendered[deck].html.read_text(encoding="utf-8"), "html.parser")


def _html_titles(soup: BeautifulSoup) -> list[str]:
    titles = []
    for section in soup.select("section.esr-slide"):
        heading = section.select_one(".esr-title")
        titles.append(normalise(heading.get_text(" ")).strip() if heading else "")
    return titles


def _texts(prs) -> list[str]:
    """Per slide, every text of its text boxes and table cells."""
    out = []
    for slide in prs.slides:
        parts = []
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if getattr(shape, "has_table", False) and shape.has_table:
                parts += [cell.text for row in shape.table.rows for cell in row.cells]
        out.append(normalise(" ".join(parts).replace("\v", " ").replace("\n", " ")))
    return out


@pytest.mark.parametrize("deck", DECKS)
def test_slides_and_titles_are_those_of_the_html_deck(rendered, deck) -> None:
    prs = _pptx(rendered, deck)
    titles = _html_titles(_soup(rendered, deck))
    assert len(prs.slides) == rendered[deck].slides == len(titles)
    got = [normalise(s.shapes.title.text_frame.text).strip() if s.shapes.title is not None else "" for s in prs.slides]
    assert got == titles


def test_seed_figures_are_text(rendered) -> None:
    post = _texts(_pptx(rendered, "post_covid"))
    kpis = next(t for t in post if "patients en août 2021" in t)
    assert "250 patients en août 2021" in kpis and "286 patients en septembre 2021" in kpis
    catalogue = " ".join(_texts(_pptx(rendered, "catalogue")))
    assert "pic à 90 000 téléconsultations / semaine en Occitanie" in catalogue
    assert "08/12/2020" in catalogue  # French date format kept


@pytest.mark.parametrize("deck", DECKS)
def test_tables_are_native_tables_with_header_rows(rendered, deck) -> None:
    prs = _pptx(rendered, deck)
    tables = [shape.table for slide in prs.slides for shape in slide.shapes if shape.has_table]
    html_tables = [t for t in _soup(rendered, deck).select("section.esr-slide table")
                   if not t.find_parent("details")]
    assert tables and len(tables) == len(html_tables)
    for table, html in zip(tables, html_tables):
        assert table.first_row
        first = html.find("tr")
        head = normalise(first.find(["th", "td"]).get_text(" ")).strip()
        assert normalise(table.cell(0, 0).text).strip() == head
    if deck == "catalogue":
        cells = [normalise(c.text) for t in tables for row in t.rows for c in row.cells]
        assert "90 000" in cells


@pytest.mark.parametrize("deck", DECKS)
def test_charts_are_pictures_with_alt_text_and_svg(rendered, deck) -> None:
    from pptx.enum.shapes import MSO_SHAPE_TYPE
    from pptx.oxml.ns import qn

    prs = _pptx(rendered, deck)
    alts = [normalise(el["aria-label"]) for el in _soup(rendered, deck).select("section.esr-slide .esr-chart")]
    pictures = [shape for slide in prs.slides for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert alts and [normalise(p._element.nvPicPr.cNvPr.get("descr")) for p in pictures] == alts
    for picture in pictures:
        assert picture.image.content_type == "image/png"
        svg_blip = picture._element.blipFill.find(qn("a:blip")).find(
            ".//{http://schemas.microsoft.com/office/drawing/2016/SVG/main}svgBlip")
        assert svg_blip is not None
        part = picture.part.related_part(svg_blip.get(qn("r:embed")))
        assert part.content_type == "image/svg+xml" and b"<svg" in part.blob[:300]


def test_notes_master_and_properties(rendered) -> None:
    prs = _pptx(rendered, "post_covid")
    soup = _soup(rendered, "post_covid")
    for section, slide in zip(soup.select("section.esr-slide"), prs.slides):
        aside = section.select_one("aside.notes")
        if aside is None:
            assert not slide.has_notes_slide or not slide.notes_slide.notes_text_frame.text.strip()
            continue
        first = normalise(aside.find(["p", "li"]).get_text(" ")).strip()
        assert first[:60] in normalise(slide.notes_slide.notes_text_frame.text)
    master = prs.slide_master
    master_xml = master._element.xml
    assert 'type="slidenum"' in master_xml
    texts = " ".join(s.text_frame.text for s in master.shapes if s.has_text_frame)
    import yaml

    issuer = yaml.safe_load((PARAMS / "2021-11-15.yaml").read_text(encoding="utf-8"))["post_covid"]["issuer"]
    assert issuer.upper() in texts and "15/11/2021" in texts
    assert "Click to edit" not in texts and "1/27/13" not in texts
    theme = next(r.target_part for r in master.part.rels.values() if r.reltype.endswith("/theme")).blob
    assert b'typeface="Inter"' in theme and b'val="000091"' in theme
    assert prs.core_properties.language == "fr-FR"
    assert prs.slide_width * 9 == prs.slide_height * 16


@pytest.fixture(scope="module")
def pptx_as_pdf(rendered, tmp_path_factory) -> dict[str, Path]:
    """Each seed PPTX converted to PDF by LibreOffice (as Impress opens it)."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is a test dependency (.ci/system-deps test)"
    out = tmp_path_factory.mktemp("lo")
    files = [str(rendered[d].html.with_suffix(".pptx")) for d in DECKS]
    subprocess.run([soffice, f"-env:UserInstallation={(out / 'profile').as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(out), *files],
                   check=True, capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    return {d: out / f"{d}.pdf" for d in DECKS}


@pytest.mark.parametrize("deck", DECKS)
def test_libreoffice_opens_the_pptx_and_shows_the_titles(rendered, pptx_as_pdf, deck) -> None:
    import re

    from .conftest import pdf_pages_text

    pages = pdf_pages_text(pptx_as_pdf[deck])
    titles = _html_titles(_soup(rendered, deck))
    assert len(pages) == len(titles)
    squeezed = [re.sub(r"\s+", "", p) for p in pages]
    missing = [(n, t) for n, (t, p) in enumerate(zip(titles, squeezed), start=1)
               if re.sub(r"\s+", "", t) not in p and re.sub(r"\s+", "", t).upper() not in p.upper()]
    assert not missing, missing


@pytest.mark.parametrize("deck", DECKS)
def test_impress_copy_is_an_odf_presentation(rendered, deck) -> None:
    odp = rendered[deck].html.with_suffix(".odp")
    with zipfile.ZipFile(odp) as z:
        assert z.read("mimetype") == b"application/vnd.oasis.opendocument.presentation"
        content = z.read("content.xml").decode("utf-8")
    assert content.count("<draw:page ") == rendered[deck].slides


def test_missing_libreoffice_skips_the_odp_with_one_line(rendered, tmp_path, monkeypatch) -> None:
    import nbformat

    from esante_report.formats import soffice
    from esante_report.formats import web as export
    from esante_report.pipeline import stages

    monkeypatch.setattr(soffice, "command", lambda: None)
    lines: list[str] = []
    nb = nbformat.read(rendered["post_covid"].ipynb, as_version=4)
    written = stages.write_formats(nb, export.DeckMeta(title="t", issuer="ARS", date="15/11/2021"), tmp_path,
                                   "post_covid", ["html", "pptx", "odp"], warn=lines.append)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["post_covid.html", "post_covid.pptx"]
    assert [p.name for p in written.paths] == ["post_covid.html", "post_covid.pptx"]
    assert lines == ["LibreOffice (soffice) not found: the Impress copy (.odp) was skipped"]


def test_a_deck_whose_pptx_is_missing_renders_again(rendered, tmp_path) -> None:
    from esante_report.pipeline import cache

    out = tmp_path / "out"
    shutil.copytree(rendered["out"], out)
    date = rendered["post_covid"].date
    record = cache.read_record(out, date, "post_covid")
    assert {"post_covid.pptx", "post_covid.odp"} <= set(record.outputs)
    assert cache.is_up_to_date(out, date, "post_covid", record.key) is not None
    (out / date / "post_covid.pptx").unlink()
    assert cache.is_up_to_date(out, date, "post_covid", record.key) is None


def test_index_lists_the_editable_decks_with_their_sizes(rendered) -> None:
    soup = BeautifulSoup((rendered["out"] / "index.html").read_text(encoding="utf-8"), "html.parser")
    for deck in DECKS:
        date = rendered[deck].date
        for suffix, label in ((".pptx", "PowerPoint"), (".odp", "OpenDocument")):
            link = soup.find("a", href=f"{date}/{deck}{suffix}")
            assert link is not None and link.get_text() == label
            size = normalise(link.find_next_sibling("span").get_text())
            assert re.fullmatch(r"\((PPTX|ODP), [0-9]+(,[0-9])? (Ko|Mo)\)", size), size


def test_no_pptx_flag_reaches_the_jobs_and_their_cache_key(rendered) -> None:
    """`--no-pptx` renders without the editable decks; a deck rendered with them is not 'up to date' without."""
    from esante_report.pipeline import batch
    from esante_report.cli import main as cli
    from esante_report.paths import notebooks_dir

    from .conftest import DATA

    args = cli._parser()[0].parse_args(["render", "--all", "--no-pptx"])
    assert args.no_pptx is True
    kwargs = dict(decks=None, data_dir=DATA, params_dir=PARAMS, out_dir=rendered["out"], notebooks=notebooks_dir())
    with_office = batch.plan(["2021-11-15"], **kwargs)
    without = batch.plan(["2021-11-15"], formats=cli._formats(args), **kwargs)
    assert [r.name for r in with_office.up_to_date] == ["post_covid"] and not with_office.jobs
    assert [(j.name, j.formats) for j in without.jobs] == [("post_covid", ("html", "pdf"))]
    assert without.jobs[0].key.endswith("+formats=html,pdf")
