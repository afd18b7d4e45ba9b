"""PDF/UA-1 of the PDF deck (issue 19): the seed decks pass our check, PDFs built to break it fail it.

The broken PDFs are copies of a seed deck's PDF changed with pikepdf (a figure's alt text removed,
a table's header cells turned into data cells, the language removed, a slide's reading order
turned around), and a PDF laid out by WeasyPrint from crafted HTML without PDF/UA.
"""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from bs4 import BeautifulSoup

from esante_report.checks import pdfua
from esante_report.errors import ExportError

from .conftest import normalise, pdf_pages_text

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("deck", ["post_covid", "catalogue"])
def test_seed_decks_pass_and_declare_pdf_ua(rendered, deck) -> None:
    pdf_path = rendered[deck].pdf
    assert pdfua.problems(pdf_path) == []
    with pikepdf.open(pdf_path) as pdf:
        assert str(pdf.Root.Lang) == "fr-FR"
        assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle) is True
        with pdf.open_metadata() as xmp:
            assert xmp["pdfuaid:part"] == "1"
            assert xmp["dc:title"].strip()
        figures = [e for top in pdfua._struct_tree(pdf) for e in top.walk() if e.type == "/Figure"]
        assert figures and all(str(f.obj.Alt).strip() for f in figures)


@pytest.mark.parametrize("deck", ["post_covid", "catalogue"])
def test_first_page_names_the_html_deck_as_accessible_alternative(rendered, deck) -> None:
    first = pdf_pages_text(rendered[deck].pdf)[0]
    assert f"Version accessible : {rendered[deck].html.name}" in first


def _broken(source: Path, target: Path, change) -> Path:
    with pikepdf.open(source) as pdf:
        change(pdf)
        pdf.save(target)
    return target


def _elements(pdf, kind: str):
    return [e for top in pdfua._struct_tree(pdf) for e in top.walk() if e.type == kind]


def test_figure_without_alt_text_fails(rendered, tmp_path) -> None:
    def change(pdf):
        del _elements(pdf, "/Figure")[0].obj["/Alt"]

    broken = _broken(rendered["post_covid"].pdf, tmp_path / "no-alt.pdf", change)
    assert pdfua.problems(broken) == ["slide 2: figure 1 has no alt text (/Alt)"]
    with pytest.raises(ExportError, match=r"no-alt\.pdf fails PDF/UA-1: slide 2: figure 1 has no alt text"):
        pdfua.check(broken)


def test_table_without_header_cells_fails(rendered, tmp_path) -> None:
    def change(pdf):
        for cell in _elements(pdf, "/Table")[0].walk():
            if cell.type == "/TH":
                cell.obj["/S"] = pikepdf.Name("/TD")

    broken = _broken(rendered["post_covid"].pdf, tmp_path / "no-th.pdf", change)
    assert pdfua.problems(broken) == ["slide 3: table 1 has no header cell (TH)"]


def test_header_cells_without_scope_fail(rendered, tmp_path) -> None:
    def change(pdf):
        for cell in _elements(pdf, "/TH"):
            for attrs in pdfua._attributes(cell.obj):
                if "/Scope" in attrs:
                    del attrs["/Scope"]

    broken = _broken(rendered["post_covid"].pdf, tmp_path / "no-scope.pdf", change)
    found = pdfua.problems(broken)
    assert found and all("without a scope (/Scope)" in p for p in found)
    assert found[0].startswith("slide 3: table 1: ")


def test_missing_language_and_title_display_fail(rendered, tmp_path) -> None:
    def change(pdf):
        del pdf.Root["/Lang"]
        del pdf.Root["/ViewerPreferences"]

    broken = _broken(rendered["catalogue"].pdf, tmp_path / "no-lang.pdf", change)
    assert pdfua.problems(broken) == [
        "document: no language (/Lang of the catalog)",
        "document: the title is not shown as the window title (ViewerPreferences/DisplayDocTitle)"]


def test_reading_order_and_skipped_heading_fail(rendered, tmp_path) -> None:
    def change(pdf):
        section = next(e for e in _elements(pdf, "/Sect") if e.page == 2)
        kids = section.obj.K
        header = kids[0]
        del kids[0]
        kids.append(header)  # the header band read after the footer
        _elements(pdf, "/H2")[2].obj["/S"] = pikepdf.Name("/H4")

    broken = _broken(rendered["post_covid"].pdf, tmp_path / "order.pdf", change)
    found = pdfua.problems(broken)
    assert "slide 2: reading order goes back from the footer band to the header band" in found
    assert "slide 4: heading H4 follows H2 (a heading level is skipped)" in found


def test_untagged_pdf_without_language_fails(tmp_path) -> None:
    """A PDF laid out by WeasyPrint from crafted HTML: no lang, an image without alt, no PDF/UA."""
    import weasyprint

    png = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2O"
           "UAAAAABJRU5ErkJggg==")
    html = (f"<html><head><title>t</title></head><body><h1>Titre</h1><img src='{png}'>"
            "<table><tr><td>a</td><td>1</td></tr></table></body></html>")
    path = tmp_path / "crafted.pdf"
    weasyprint.HTML(string=html).write_pdf(str(path), pdf_tags=True)
    found = pdfua.problems(path)
    assert "document: no language (/Lang of the catalog)" in found
    assert "document: no PDF/UA-1 identification (XMP pdfuaid:part)" in found
    assert "slide 1: figure 1 has no alt text (/Alt)" in found
    assert "slide 1: table 1 has no header cell (TH)" in found
    untagged = tmp_path / "untagged.pdf"
    weasyprint.HTML(string=html).write_pdf(str(untagged))
    assert "document: no structure tree (untagged PDF)" in pdfua.problems(untagged)


def test_alt_text_reaches_the_svg_title_as_text_whatever_its_quotes() -> None:
    """The serialiser may single-quote an alt text holding '"' and leave '<' in it: still text in <title>."""
    from esante_report.formats import web as export

    html = ("<div class=\"esr-chart\" role=\"img\" aria-label='x\" <script>alert(1)</script> &amp; y'>"
            "<svg width=\"1\"><g/></svg></div>")
    out = export._CHART.sub(export._print_alt, html)
    assert "<title>x&quot; &lt;script&gt;alert(1)&lt;/script&gt; &amp; y</title><g/>" in out
    assert out.count("<script>") == 1  # the attribute's own text, not a new element


def test_sanitiser_keeps_an_alt_text_holding_a_backslash() -> None:
    """A '$\\alpha$' from data in a chart's alt text: the alt text stays (it is text, never CSS)."""
    from esante_report.slides import sanitize

    out = sanitize.clean('<div class="esr-chart" role="img" aria-label="jalon $\\alpha$ 5 url(http://x)">'
                         '<svg><g fill="u\\rl(http://x)"></g></svg></div>')
    assert 'aria-label="jalon $\\alpha$ 5 url(http://x)"' in out
    assert "fill=" not in out  # presentation attributes are still checked


def test_finish_gives_figures_their_alt_text_when_the_layout_engine_did_not(rendered, tmp_path) -> None:
    """WeasyPrint before 70 does not read an SVG's <title>: finish() fills /Alt from the print deck's pictures."""
    import nbformat

    from esante_report.formats import web as export

    def change(pdf):
        for figure in _elements(pdf, "/Figure"):
            del figure.obj["/Alt"]

    broken = _broken(rendered["post_covid"].pdf, tmp_path / "old-engine.pdf", change)
    assert [p for p in pdfua.problems(broken) if "no alt text" in p]
    nb = nbformat.read(rendered["post_covid"].ipynb, as_version=4)
    print_html = export.build(nb, export.DeckMeta(title="t", issuer="i", date="d")).print_html
    alts = pdfua.figure_alts(print_html)
    soup = BeautifulSoup(rendered["post_covid"].html.read_text(encoding="utf-8"), "html.parser")
    assert alts == [normalise(el["aria-label"]) for el in soup.select("section.esr-slide .esr-chart")]
    pdfua.finish(broken, alts)
    assert pdfua.problems(broken) == []
    pdfua.finish(broken, alts[:-1])  # a count that does not match changes nothing (never a wrong alt)
    assert pdfua.problems(broken) == []
