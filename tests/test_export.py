"""Notebook → slides (the authoring model of :mod:`esante_report.slides`), exported, and the PDF checks.

Notebooks here are built in memory with outputs as papermill would record them: no kernel runs.
Headings, commentary, slide types, hidden cells, notes, warnings naming cells, reprs; then the
PDF checks on decks laid out by WeasyPrint.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from esante_report.formats import web as export
from esante_report.checks import layout as pdfcheck
from esante_report.errors import ExportError
from esante_report.slides.model import NEW_SLIDE_KEY, build_deck, cell_options

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


def _md(text: str, kind: str | None = None, tags=()) -> nbformat.NotebookNode:
    metadata = {"slideshow": {"slide_type": kind}} if kind else {}
    if tags:
        metadata["tags"] = list(tags)
    return nbformat.v4.new_markdown_cell(text, metadata=metadata)


def _code(source: str, *outputs, kind: str | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, metadata={"slideshow": {"slide_type": kind}} if kind else {})
    cell.outputs = list(outputs)
    return cell


def _result(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("execute_result", data={"text/plain": text}, execution_count=1)


_SVG = ('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
        '<metadata>date</metadata><defs><clipPath id="c1"><rect width="10" height="10"/></clipPath></defs>'
        '<text clip-path="url(#c1)">Lozère</text></svg>')


def _figure(svg: str = _SVG) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"image/svg+xml": svg,
                                                        "text/plain": "<Figure size 640x480 with 1 Axes>"})


def _soup(nb, mode: str = "reveal") -> BeautifulSoup:
    html = export.export_html(nb, META) if mode == "reveal" else export.export_print_html(nb, META)
    return BeautifulSoup(html, "html.parser")


def _titles(soup) -> list:
    return [(t.get_text(strip=True) if (t := s.select_one(".esr-title")) else None)
            for s in soup.select("section.esr-slide")]


def test_headings_start_slides_cover_then_content_then_divider():
    nb = _notebook(_md("# Le titre du deck\n\nSous-titre"), _md("## Première diapo\n\nUn commentaire."),
                   _md("### Un intertitre\n\nReste sur la diapo."), _md("# Deuxième partie"),
                   _md("## Dernière diapo"), _md("Commentaire de la dernière."))
    soup = _soup(nb)
    assert _titles(soup) == ["Le titre du deck", "Première diapo", "Deuxième partie", "Dernière diapo"]
    slides = soup.select("section.esr-slide")
    assert "esr-layout-cover" in slides[0]["class"] and "esr-layout-divider" in slides[2]["class"]
    assert slides[0].select_one("h1").get_text() == "Le titre du deck" and "Sous-titre" in slides[0].get_text()
    body = slides[1].select_one(".esr-body").get_text(" ", strip=True)
    assert "Un commentaire." in body and "Un intertitre" in body and "Reste sur la diapo." in body
    assert "Commentaire de la dernière." in slides[3].get_text()
    assert build_deck(nb).warnings == []


def test_markdown_and_outputs_go_on_the_slide_above_them_in_both_decks():
    nb = _notebook(_md("## Patients"), _code("x", _html_output("<p>Tableau des patients</p>")),
                   _md("Commentaire sous le tableau."), _md("## Suite"))
    for mode in ("reveal", "print"):
        slides = _soup(nb, mode).select("section.esr-slide")
        assert len(slides) == 2
        text = slides[0].get_text(" ", strip=True)
        assert text.index("Tableau des patients") < text.index("Commentaire sous le tableau.")


def test_markdown_slide_type_starts_a_slide_without_heading():
    nb = _notebook(_md("## Une"), _md("Texte de la deuxième diapo.", kind="slide"), _md("Suite.", kind="fragment"))
    soup = _soup(nb)
    assert _titles(soup) == ["Une", None]
    assert "Texte de la deuxième diapo." in soup.select("section.esr-slide")[1].get_text()
    assert "Suite." in soup.select("section.esr-slide")[1].get_text()


def test_skip_cells_and_hidden_tags_never_reach_a_slide():
    nb = _notebook(_md("## Une"), _md("CACHÉ skip", kind="skip"), _md("CACHÉ tag", tags=["remove-cell"]),
                   _code("x", _html_output("<p>CACHÉ code</p>"), kind="skip"), _md("Visible."))
    for mode in ("reveal", "print"):
        assert "CACHÉ" not in str(_soup(nb, mode))


def test_raw_html_in_markdown_is_shown_as_text_never_run():
    nb = _notebook(_md("## Titre <script>alert(1)</script>\n\n<img src=x onerror=alert(2)> [lien](javascript:alert(3))"))
    soup = _soup(nb)
    slide = soup.select_one("section.esr-slide")
    assert not slide.find("script") and not slide.find("img")
    assert "<script>alert(1)</script>" in slide.select_one(".esr-title").get_text()
    assert not [a for a in slide.find_all("a") if "javascript" in (a.get("href") or "")]


def test_code_slide_title_from_the_building_block_metadata():
    out = nbformat.v4.new_output("display_data", data={"text/html": "<p>Fiche</p>"},
                                 metadata={NEW_SLIDE_KEY: {"new_slide": True, "title": "Service <b>A</b>"}})
    soup = _soup(_notebook(_md("## Avant"), _code("esr.slide(...)", out)))
    assert _titles(soup) == ["Avant", "Service <b>A</b>"]


def test_warnings_name_the_cell_as_the_analyst_counts_it():
    injected = nbformat.v4.new_code_cell("report_date = '2021-11-15'", metadata={"tags": ["injected-parameters"]})
    nb = _notebook(_md("## Diapo"),                                               # cell 1
                   injected,                                                      # not counted
                   _code("print('x')", nbformat.v4.new_output("stream", name="stdout", text="bonjour\n")),  # 2
                   _code("1 / 0", nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="",
                                                         traceback=[])),          # cell 3
                   nbformat.v4.new_raw_cell("texte brut"),                       # cell 4
                   _code("fig", _figure()),                                       # cell 5: no alt text
                   _code("{'a': 1}", _result("{'a': 1}")))                      # cell 6
    warnings = build_deck(nb).warnings
    assert [w.split(":", 1)[0] for w in warnings] == ["cell 2", "cell 3", "cell 4", "cell 5", "cell 6"]
    assert "printed text is not shown on slides" in warnings[0]
    assert "error output (ZeroDivisionError)" in warnings[1]
    assert "raw cell ('texte brut') is not shown on slides" in warnings[2]
    assert "chart without alt text" in warnings[3]
    assert "output shown only as text (\"{'a': 1}\") cannot be placed on a slide" in warnings[4]


def test_figure_options_give_alt_text_and_caption_and_the_repr_is_dropped():
    source = "#| fig-alt: Barres par département\n#| fig-cap: Patients par mois\n\nplt.show()"
    assert cell_options(source) == {"fig-alt": "Barres par département", "fig-cap": "Patients par mois"}
    nb = _notebook(_md("## Graphique"), _code(source, _figure(), _figure()))
    soup = _soup(nb)
    charts = soup.select('[role="img"]')
    assert charts and charts[0]["aria-label"] == "Barres par département"
    assert soup.select_one("figcaption").get_text() == "Patients par mois"
    assert "Figure size" not in soup.get_text() and build_deck(nb).warnings == []
    # ids are made unique in the deck, and references follow them
    ids = [e["id"] for e in soup.select("svg [id]")]
    assert ids and len(ids) == len(set(ids)) and all(f"url(#{i})" in str(soup) for i in ids)


def test_a_png_chart_is_placed_but_reported_as_raster():
    import base64

    from ._hostile import real_images

    png = nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(real_images()["image/png"]).decode(),
                                                       "text/plain": "<Figure>"})
    nb = _notebook(_md("## Graphique"), _code("#| fig-alt: Un graphique\nplt.show()", png))
    assert [w for w in build_deck(nb).warnings if "raster image" in w]
    assert _soup(nb).select_one('[role="img"] img')["src"].startswith("data:image/png;base64,")


def test_a_slide_that_would_show_only_a_repr_is_an_error():
    nb = _notebook(_md("## Une"), _code("df.info", _result("<bound method DataFrame.info>"), kind="slide"))
    with pytest.raises(ExportError, match=r"slide 2 would show only a Python repr \(cell 2: '<bound method"):
        build_deck(nb)


def test_a_notebook_without_visible_cell_is_an_error():
    with pytest.raises(ExportError, match="the notebook has no visible cell"):
        build_deck(_notebook(_md("caché", kind="skip"), _code("x")))


def test_html_deck_forbids_remote_loads_and_carries_no_stray_script():
    nb = _notebook(_md("## Une"), _code("x", _html_output('<p onclick="alert(1)">A</p><script>alert(2)</script>'
                                                        '<img src="https://example.org/x.png">')))
    soup = _soup(nb)
    csp = soup.select_one('meta[http-equiv="Content-Security-Policy"]')["content"]
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    slide = soup.select_one("section.esr-slide")
    assert not slide.find("script") and not slide.select("[onclick]")
    assert all(not (img.get("src") or "").startswith("http") for img in slide.find_all("img"))


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
