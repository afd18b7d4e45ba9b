"""Notebook → slides: hidden cells, slide numbering, multi-slide cells, notes, and the PDF checks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from esante_report import export, pdfcheck
from esante_report.components import NEW_SLIDE_KEY
from esante_report.errors import ExportError

META = export.DeckMeta(title="Deck de test", issuer="ARS Test", date="01/02/2023", subject="s", keywords="k",
                       created="2023-02-01T00:00:00+00:00")


def _html_output(html: str, new_slide: bool = False) -> nbformat.NotebookNode:
    metadata = {NEW_SLIDE_KEY: {"new_slide": True}} if new_slide else {}
    return nbformat.v4.new_output("display_data", data={"text/html": html}, metadata=metadata)


def _cell(*outputs, kind="slide", tags=()):
    cell = nbformat.v4.new_code_cell("x", metadata={"slideshow": {"slide_type": kind}, "tags": list(tags)})
    cell.outputs = list(outputs)
    return cell


def _notebook(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_parameters_and_injected_cells_never_reach_a_slide():
    nb = _notebook(_cell(_html_output("<p>PARAMS</p>"), kind="skip", tags=["parameters"]),
                   _cell(_html_output("<p>INJECTED wave = 3</p>"), kind="-", tags=["injected-parameters"]),
                   _cell(_html_output("<p>Diapo un</p>")),
                   _cell(_html_output("<p>Diapo deux</p>")))
    html = export.export_html(nb, META)
    assert "INJECTED" not in html and "PARAMS" not in html
    assert len(BeautifulSoup(html, "html.parser").select("section.esr-slide")) == 2


def test_slide_numbers_header_and_footer():
    nb = _notebook(_cell(_html_output("<p>A</p>")), _cell(_html_output("<p>B</p>"), kind="-"),
                   _cell(_html_output("<p>C</p>"), kind="subslide"))
    soup = BeautifulSoup(export.export_print_html(nb, META), "html.parser")
    slides = soup.select("section.esr-slide")
    assert [s.select_one(".esr-pageno").get_text() for s in slides] == ["1 / 2", "2 / 2"]
    assert "A" in slides[0].get_text() and "B" in slides[0].get_text() and "C" in slides[1].get_text()
    assert slides[0].select_one(".esr-header").get_text() == "ARS Test"
    assert "Deck de test" in slides[1].select_one(".esr-footer").get_text()


def test_a_cell_can_display_several_slides_and_stream_output_is_dropped():
    nb = _notebook(_cell(_html_output("<p>Titre</p>")),
                   _cell(nbformat.v4.new_output("stream", name="stderr", text="UserWarning: bruit"),
                         _html_output("<p>S1</p>", True), _html_output("<p>S2</p>", True),
                         _html_output("<p>S3</p>", True)),
                   _cell(kind="slide"))  # a cell without output makes no empty slide
    assert export.count_slides(nb) == 4
    soup = BeautifulSoup(export.export_html(nb, META), "html.parser")
    texts = [s.select_one(".esr-body").get_text(strip=True) for s in soup.select("section.esr-slide")]
    assert texts == ["Titre", "S1", "S2", "S3"]
    assert "bruit" not in soup.get_text()


@pytest.mark.parametrize("metadata", [{"slideshow": {"slide_type": "notes"}}, {"tags": ["notes"]}])
def test_notes_are_in_the_html_deck_only(metadata):
    notes = nbformat.v4.new_markdown_cell("Note pour l'orateur", metadata=metadata)
    nb = _notebook(_cell(_html_output("<p>A</p>")), notes)
    soup = BeautifulSoup(export.export_html(nb, META), "html.parser")
    assert "Note pour l'orateur" in soup.select_one("aside.notes").get_text()
    assert len(soup.select("section.esr-slide")) == 1
    assert "Note pour l'orateur" not in export.export_print_html(nb, META)


def _pdf(tmp_path: Path, *bodies: str) -> Path:
    nb = _notebook(*(_cell(_html_output(b)) for b in bodies))
    path = tmp_path / "deck.pdf"
    export.write_pdf(export.export_print_html(nb, META), path)
    return path


def test_pdf_check_passes_a_good_deck(tmp_path):
    pdfcheck.check_pdf(_pdf(tmp_path, "<p>Une diapositive</p>", "<p>Une autre</p>"), 2)


def test_pdf_check_names_a_blank_slide(tmp_path):
    with pytest.raises(ExportError, match=r"slide 2: blank"):
        pdfcheck.check_pdf(_pdf(tmp_path, "<p>Texte</p>", "<div></div>"), 2)


def test_pdf_check_names_an_overflowing_slide(tmp_path):
    long = "".join(f"<p style='font-size:30px'>Ligne {i}</p>" for i in range(40))
    with pytest.raises(ExportError, match=r"slide 2: (\d+ objects drawn outside the page|content runs into the footer)"):
        pdfcheck.check_pdf(_pdf(tmp_path, "<p>Texte</p>", long), 2)


def test_pdf_check_counts_pages(tmp_path):
    with pytest.raises(ExportError, match=r"2 pages for 3 slides"):
        pdfcheck.check_pdf(_pdf(tmp_path, "<p>Un</p>", "<p>Deux</p>"), 3)
