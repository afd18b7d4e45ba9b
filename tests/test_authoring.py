"""The authoring model end to end: a notebook written by the test, executed by papermill, exported.

The notebook holds what an analyst writes (issue 11, "Done when"): a Markdown-titled slide
whose commentary quotes a computed figure, a chart made with plain matplotlib and
``plt.show()``, a chart + commentary two-column slide, a DataFrame table; and the cases the
export must handle (a trailing ``fig``, ``display(fig)``, pandas ``.plot()``, an unplaceable
repr, a Markdown cell of type Slide, Skip and Notes cells). It is run once for the module;
``esante-report export`` is tested on a stock papermill run of ``notebooks/catalogue.ipynb``.
"""

from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell

from esante_report.formats import web as export
from esante_report.checks import layout as pdfcheck
from esante_report.cli.export import add_parser, export_notebook, run
from esante_report.errors import ExportError
from esante_report.slides.model import build_deck

from .conftest import ROOT, normalise


def _project_decks() -> list[str]:
    """The decks of this project: whatever notebooks/ holds, shipped or added with new-deck."""
    return sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.e2e

META = export.DeckMeta(title="Deck de test", issuer="ARS Test", date="15/11/2021", subject="s", keywords="k",
                       created="2021-11-15T00:00:00+00:00")


def _meta(kind: str | None = None) -> dict:
    return {"slideshow": {"slide_type": kind}} if kind else {}


#: (cell, what the test knows about it); cells are numbered from 1 as JupyterLab shows them
CELLS = [
    new_code_cell("import matplotlib.pyplot as plt\nimport pandas as pd\nfrom IPython.display import display\n\n"
                  "import esante_report.authoring as esr\n\nesr.setup()", metadata=_meta("skip")),
    new_markdown_cell("# Deck de test"),
    new_markdown_cell("## Patients en septembre\n\nCommentaire écrit en Markdown."),
    new_code_cell('n, avant = 1234, 1082\n'
                  'esr.md("**{n}** patients en septembre, {evol} sur août", n=n, evol=esr.change(n, avant))'),
    new_markdown_cell("## Graphique fait avec plt.show()"),
    new_code_cell("#| fig-alt: Barres des patients par département : Lozère 120, Aveyron 250, Gers 286\n"
                  "#| fig-cap: Patients par département\n"
                  "fig, ax = plt.subplots()\n"
                  'ax.bar(["Lozère", "Aveyron", "Gers"], [120, 250, 286])\n'
                  "plt.show()"),
    new_markdown_cell("## Graphique et commentaire"),
    new_code_cell("fig2, ax2 = plt.subplots(figsize=esr.SLOT_HALF)\n"
                  'ax2.plot(["Ardèche", "Drôme"], [3, 5])\n'
                  "plt.close(fig2)\n"
                  'esr.columns(esr.chart(fig2, alt="Courbe de l\'Ardèche à la Drôme"), '
                  '"Commentaire à côté du graphique")'),
    new_markdown_cell("## Tableau"),
    new_code_cell('df = pd.DataFrame({"Région": ["Occitanie", "Bretagne"], "Part": [0.5, float("nan")]})\n'
                  "esr.table(df)"),
    new_markdown_cell("## Figure en fin de cellule"),
    new_code_cell("#| fig-alt: Barres du Cantal et de la Creuse\n"
                  "fig3, ax3 = plt.subplots()\n"
                  'ax3.bar(["Cantal", "Creuse"], [1, 2])\n'
                  "fig3"),
    new_markdown_cell("## Figure avec display"),
    new_code_cell("#| fig-alt: Barres des Landes et de la Gironde\n"
                  "fig4, ax4 = plt.subplots()\n"
                  'ax4.bar(["Landes", "Gironde"], [1, 2])\n'
                  "display(fig4)\n"
                  "plt.close(fig4)"),
    new_markdown_cell("## Figure pandas"),
    new_code_cell("#| fig-alt: Barres de la Vienne et de la Vendée\n"
                  'pd.Series([1, 3], index=["Vienne", "Vendée"]).plot(kind="bar")'),
    new_markdown_cell("## Diapo avec une sortie texte\n\nUn commentaire au-dessus d'une sortie texte."),
    new_code_cell('{"clé": 1}'),
    new_markdown_cell("Diapo sans titre faite en Markdown.", metadata=_meta("slide")),
    new_markdown_cell("TEXTE CACHÉ", metadata=_meta("skip")),
    new_code_cell('esr.md("CODE CACHÉ")', metadata=_meta("skip")),
    new_markdown_cell("Note pour l'orateur", metadata=_meta("notes")),
]
REPR_CELL = 18          # the cell whose output is a plain repr
TITLES = ["Deck de test", "Patients en septembre", "Graphique fait avec plt.show()", "Graphique et commentaire",
          "Tableau", "Figure en fin de cellule", "Figure avec display", "Figure pandas",
          "Diapo avec une sortie texte", None]


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> Path:
    """The test notebook, written with nbformat and executed once by papermill."""
    import papermill as pm

    folder = tmp_path_factory.mktemp("authoring")
    nb = nbformat.v4.new_notebook(cells=copy.deepcopy(CELLS))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = folder / "source.ipynb"
    nbformat.write(nb, source)
    out = folder / "essai.ipynb"
    pm.execute_notebook(str(source), str(out), kernel_name="python3", cwd=str(folder), progress_bar=False,
                        log_output=False)
    return out


@pytest.fixture(scope="module")
def deck(executed) -> dict:
    """Both decks of the executed notebook, the PDF written as ``render`` writes it."""
    nb = nbformat.read(executed, as_version=4)
    rendered = export.build(nb, META)
    pdf = executed.with_suffix(".pdf")
    export.write_pdf(rendered.print_html, pdf)
    return {"rendered": rendered, "soup": BeautifulSoup(rendered.html, "html.parser"), "pdf": pdf,
            "print_soup": BeautifulSoup(rendered.print_html, "html.parser")}


def _slides(soup: BeautifulSoup) -> list:
    return soup.select("section.esr-slide")


def _pages(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [normalise(page.extract_text() or "") for page in PdfReader(str(pdf)).pages]


def _title(section) -> str | None:
    title = section.select_one(".esr-title")
    return title.get_text(" ", strip=True) if title else None


def _slide_titled(soup: BeautifulSoup, title: str):
    return next(s for s in _slides(soup) if _title(s) == title)


def _visible_text(section) -> str:
    """Text a reader sees on a slide of the HTML deck (speaker notes left out)."""
    section = copy.copy(section)
    for aside in section.select("aside"):
        aside.decompose()
    return section.get_text(" ", strip=True)


# --------------------------------------------------------------------------- slides and titles

def test_headings_start_slides_in_order(deck):
    for soup in (deck["soup"], deck["print_soup"]):
        assert [_title(s) for s in _slides(soup)] == TITLES
    assert len(_pages(deck["pdf"])) == len(TITLES)
    assert "esr-layout-cover" in _slides(deck["soup"])[0]["class"]


def test_the_pdf_passes_the_render_checks(deck):
    rendered = deck["rendered"]
    pdfcheck.check_pdf(deck["pdf"], rendered.slides, rendered.expected_chars, rendered.slide_cells)


def test_markdown_titled_slide_quotes_a_computed_figure_in_french(deck):
    slide = _slide_titled(deck["soup"], "Patients en septembre")
    text = _visible_text(slide)
    assert "Commentaire écrit en Markdown." in text
    # 1234 with a narrow no-break space, +14 % (1234 vs 1082) with a no-break space
    assert "1\u202f234 patients en septembre, +14\u00a0% sur août" in text
    assert slide.select_one("strong").get_text() == "1\u202f234"
    page = _pages(deck["pdf"])[TITLES.index("Patients en septembre")]
    assert "Patients en septembre" in page
    assert "1 234 patients en septembre, +14 % sur août" in page


def test_markdown_cell_of_type_slide_without_heading_makes_a_slide(deck):
    last = _slides(deck["soup"])[-1]
    assert _title(last) is None
    assert "Diapo sans titre faite en Markdown." in _visible_text(last)
    assert "Diapo sans titre faite en Markdown." in _pages(deck["pdf"])[-1]


def test_skip_cells_never_appear(deck):
    html = deck["rendered"].html + deck["rendered"].print_html
    pdf = " ".join(_pages(deck["pdf"]))
    for hidden in ("TEXTE CACHÉ", "CODE CACHÉ", "esr.setup"):
        assert hidden not in html and hidden not in pdf


def test_notes_cells_are_in_the_html_notes_only(deck):
    soup = deck["soup"]
    notes = soup.select("aside.notes")
    assert [n.get_text(strip=True) for n in notes] == ["Note pour l'orateur"]
    assert all("Note pour l'orateur" not in _visible_text(s) for s in _slides(soup))
    assert "Note pour l'orateur" not in deck["rendered"].print_html
    assert "Note pour l" not in " ".join(_pages(deck["pdf"]))


# --------------------------------------------------------------------------- charts

def _chart(slide):
    charts = slide.select('[role="img"]')
    assert len(charts) == 1, [c.get("aria-label") for c in charts]
    return charts[0]


def test_plt_show_chart_is_vector_with_alt_text_and_caption(deck):
    slide = _slide_titled(deck["soup"], "Graphique fait avec plt.show()")
    chart = _chart(slide)
    assert chart["aria-label"] == "Barres des patients par département : Lozère 120, Aveyron 250, Gers 286"
    assert chart.find("svg") is not None and chart.find("img") is None
    assert slide.select_one("figcaption").get_text(strip=True) == "Patients par département"
    page = _pages(deck["pdf"])[TITLES.index("Graphique fait avec plt.show()")]
    assert "Patients par département" in page
    for tick in ("Lozère", "Aveyron", "Gers", "250"):  # the chart's own text, kept as text: a vector chart
        assert tick in page


def test_chart_and_commentary_in_two_columns(deck):
    slide = _slide_titled(deck["soup"], "Graphique et commentaire")
    columns = slide.select(".esr-cols > .esr-col")
    assert len(columns) == 2
    assert columns[0].select_one('[role="img"]')["aria-label"] == "Courbe de l'Ardèche à la Drôme"
    assert columns[0].find("svg") is not None
    assert columns[1].get_text(strip=True) == "Commentaire à côté du graphique"
    page = _pages(deck["pdf"])[TITLES.index("Graphique et commentaire")]
    assert "Commentaire à côté du graphique" in page and "Ardèche" in page and "Drôme" in page


@pytest.mark.parametrize("title, alt, ticks", [
    ("Figure en fin de cellule", "Barres du Cantal et de la Creuse", ("Cantal", "Creuse")),
    ("Figure avec display", "Barres des Landes et de la Gironde", ("Landes", "Gironde")),
    ("Figure pandas", "Barres de la Vienne et de la Vendée", ("Vienne", "Vendée")),
])
def test_every_way_of_showing_a_figure_gives_one_svg_chart(deck, title, alt, ticks):
    slide = _slide_titled(deck["soup"], title)
    chart = _chart(slide)
    assert chart["aria-label"] == alt and chart.find("svg") is not None
    page = _pages(deck["pdf"])[TITLES.index(title)]
    assert all(tick in page for tick in ticks)


def test_a_trailing_figure_reaches_its_slide_as_svg(deck):
    """The trailing figure is on its slide once, as a vector chart."""
    slide = _slide_titled(deck["soup"], "Figure en fin de cellule")
    charts = slide.select('[role="img"]')
    assert charts and all(c.find("svg") is not None for c in charts)
    assert charts[0]["aria-label"] == "Barres du Cantal et de la Creuse"


def test_no_png_and_no_figure_repr_anywhere(deck):
    for soup in (deck["soup"], deck["print_soup"]):
        slides = _slides(soup)
        assert not [img for s in slides for img in s.find_all("img")]
        markup = "".join(str(s) for s in slides)
        assert "image/png" not in markup and "image/jpeg" not in markup
        text = " ".join(s.get_text(" ") for s in slides)
        assert "Figure size" not in text and "<Figure" not in text and "<Axes" not in text
    pdf = " ".join(_pages(deck["pdf"]))
    assert "<Figure" not in pdf and "Figure size" not in pdf and "<Axes" not in pdf


def _xobject_images(obj, seen=None) -> int:
    """Number of /Image XObjects reachable from a page's or form's resources."""
    seen = set() if seen is None else seen
    resources = obj.get("/Resources")
    if resources is None:
        return 0
    resources = resources.get_object()
    count = 0
    for ref in (resources.get("/XObject") or {}).values():
        key = getattr(ref, "idnum", None)
        if key in seen:
            continue
        seen.add(key)
        xobj = ref.get_object()
        if xobj.get("/Subtype") == "/Image":
            count += 1
        else:
            count += _xobject_images(xobj, seen)
    for pattern in (resources.get("/Pattern") or {}).values():
        count += _xobject_images(pattern.get_object(), seen)
    return count


def _font_names(obj, seen=None) -> set[str]:
    seen = set() if seen is None else seen
    resources = obj.get("/Resources")
    if resources is None:
        return set()
    resources = resources.get_object()
    names = {str(f.get_object().get("/BaseFont")) for f in (resources.get("/Font") or {}).values()}
    for ref in (resources.get("/XObject") or {}).values():
        key = getattr(ref, "idnum", None)
        if key not in seen:
            seen.add(key)
            names |= _font_names(ref.get_object(), seen)
    return names


def test_pdf_is_in_the_house_style_inter_and_vector_charts(deck):
    from pypdf import PdfReader

    reader = PdfReader(str(deck["pdf"]))
    for title in ("Graphique fait avec plt.show()", "Graphique et commentaire", "Figure avec display",
                  "Figure pandas"):
        page = reader.pages[TITLES.index(title)]
        assert _xobject_images(page) == 0, title
        fonts = _font_names(page)
        assert any("Inter" in name for name in fonts), (title, fonts)
        assert not any("DejaVu" in name for name in fonts), (title, fonts)


# --------------------------------------------------------------------------- tables

def test_dataframe_table_in_french_format(deck):
    slide = _slide_titled(deck["soup"], "Tableau")
    table = slide.select_one("table")
    assert [th.get_text(strip=True) for th in table.select("thead th")] == ["Région", "Part"]
    rows = [[td.get_text(strip=True) for td in tr.select("td, th")] for tr in table.select("tbody tr")]
    assert rows == [["Occitanie", "0,5"], ["Bretagne", "non renseigné"]]
    page = _pages(deck["pdf"])[TITLES.index("Tableau")]
    assert "Occitanie 0,5" in page and "Bretagne non renseigné" in page


# --------------------------------------------------------------------------- nothing silently dropped

def test_an_unplaceable_output_is_reported_with_its_cell_number(deck):
    warnings = deck["rendered"].warnings
    assert any(w.startswith(f"cell {REPR_CELL}: output shown only as text (\"{{'clé': 1}}\")") for w in warnings), \
        warnings
    slide = _slide_titled(deck["soup"], "Diapo avec une sortie texte")
    assert "clé" not in _visible_text(slide)
    assert "Un commentaire au-dessus d'une sortie texte." in _visible_text(slide)


def test_charts_with_alt_text_give_no_warning(deck):
    assert [w for w in deck["rendered"].warnings if "alt text" in w or "raster" in w] == []
    assert len(deck["rendered"].warnings) == 1


def test_a_slide_showing_only_a_repr_is_an_error(executed):
    nb = nbformat.read(executed, as_version=4)
    title = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Diapo avec une sortie texte"))
    del nb.cells[title]  # the repr cell now belongs to no titled slide...
    nb.cells[title].metadata["slideshow"] = {"slide_type": "slide"}  # ...and starts one of its own
    with pytest.raises(ExportError, match=rf"slide \d+ would show only a Python repr \(cell {title + 1}: "):
        build_deck(nb)


# --------------------------------------------------------------------------- esante-report export

def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="esante-report")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["export", *argv])


@pytest.fixture(scope="module")
def catalogue_executed(tmp_path_factory) -> Path:
    """``notebooks/catalogue.ipynb`` run by stock papermill (its own kernel, defaults, no parameters)."""
    import papermill as pm

    folder = tmp_path_factory.mktemp("export")
    out = folder / "executed.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "catalogue.ipynb"), str(out), cwd=str(folder),
                        progress_bar=False, log_output=False)
    return out


def test_export_turns_a_stock_papermill_run_into_both_decks(catalogue_executed, capsys):
    before = catalogue_executed.read_bytes()
    assert run(_args(str(catalogue_executed), "--deck", "catalogue")) == 0
    html, pdf = catalogue_executed.with_suffix(".html"), catalogue_executed.with_suffix(".pdf")
    out = capsys.readouterr().out
    assert f"wrote {html}" in out and f"wrote {pdf}" in out
    assert catalogue_executed.read_bytes() == before  # not executed again, not rewritten
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    slides = _slides(soup)
    pages = _pages(pdf)
    assert len(pages) == len(slides) > 10
    # the header, footer and metadata come from the notebook's parameters and the deck
    assert {s.select_one(".esr-date").get_text() for s in slides} == {"08/12/2020"}
    assert slides[0].select_one(".esr-issuer").get_text() == "ARS Occitanie"
    from pypdf import PdfReader

    meta = PdfReader(str(pdf)).metadata
    assert meta.author == "ARS Occitanie" and "08/12/2020" in meta.title
    titles = [_title(s) for s in slides]
    assert "Synthèse du catalogue" in titles and "Assistance technique" in titles
    joined = " ".join(pages)
    assert "Synthèse du catalogue" in joined and "Assistance technique" in joined
    assert not list(catalogue_executed.parent.glob(".export-*")), "temporary folder left behind"


def test_export_into_out_prints_warnings_with_cell_numbers(executed, tmp_path, capsys):
    # keep only the trailing `fig` result of that cell (a notebook saved from JupyterLab may hold just that)
    nb = nbformat.read(executed, as_version=4)
    trailing = nb.cells[CELLS.index(next(c for c in CELLS if c.source.endswith("fig3")))]
    trailing.outputs = [o for o in trailing.outputs if o.output_type == "execute_result"]
    notebook = tmp_path / "essai.ipynb"
    nbformat.write(nb, notebook)
    out = tmp_path / "decks"
    assert run(_args(str(notebook), "--deck", "post_covid", "--date", "2021-11-15", "--out", str(out),
                     "--formats", "html,pdf")) == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["essai.html", "essai.pdf"]  # .versions: see versions.py
    err = capsys.readouterr().err
    assert f"warning: essai.ipynb: cell {REPR_CELL}: output shown only as text" in err
    soup = BeautifulSoup((out / "essai.html").read_text(encoding="utf-8"), "html.parser")
    assert [_title(s) for s in _slides(soup)] == TITLES
    assert soup.select_one(".esr-date").get_text() == "15/11/2021"
    assert "Cellules de coordination post-COVID" in soup.select_one(".esr-deck").get_text()
    assert len(_pages(out / "essai.pdf")) == len(TITLES)


def test_export_reads_the_parameters_the_notebook_ran_with():
    from esante_report.cli.export import notebook_parameters_of

    nb = nbformat.v4.new_notebook(cells=[
        new_code_cell('report_date = "2021-11-15"\nissuer = None\nwave = 3  # vague', metadata={"tags": ["parameters"]}),
        new_code_cell('# Parameters\nissuer = "ARS Bretagne"\nmonths = ["2021-08", "2021-09"]\n',
                      metadata={"tags": ["injected-parameters"]}),
        new_code_cell('report_date = "1999-01-01"'),  # not a parameters cell
    ])
    assert notebook_parameters_of(nb) == {"report_date": "2021-11-15", "issuer": "ARS Bretagne", "wave": 3,
                                          "months": ["2021-08", "2021-09"]}


def _one_line_error(args: argparse.Namespace, pattern: str) -> None:
    with pytest.raises(ExportError, match=pattern) as info:
        run(args)
    assert "\n" not in str(info.value)


def test_export_errors_are_one_line_and_touch_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "catalogue.html").write_text("previous deck", encoding="utf-8")
    committed = ROOT / "notebooks" / "catalogue.ipynb"  # committed without outputs: never executed
    _one_line_error(_args(str(committed), "--deck", "catalogue", "--out", str(out)),
                    r"catalogue\.ipynb: not executed \(no cell has an output\): run it first")
    _one_line_error(_args(str(committed), "--deck", "bilan", "--out", str(out)),
                    r"unknown deck 'bilan' \(expected one of " + re.escape(", ".join(_project_decks())) + ", or no --deck")
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    _one_line_error(_args(str(broken), "--deck", "catalogue", "--out", str(out)),
                    r"broken\.ipynb: cannot read the notebook \(.*\); expected a Jupyter \.ipynb file")
    _one_line_error(_args(str(tmp_path / "absent.ipynb"), "--deck", "catalogue", "--out", str(out)),
                    r"absent\.ipynb: notebook not found")
    assert sorted(p.name for p in out.iterdir()) == ["catalogue.html"]
    assert (out / "catalogue.html").read_text(encoding="utf-8") == "previous deck"


def test_export_bad_date_is_named(executed, tmp_path):
    _one_line_error(_args(str(executed), "--deck", "post_covid", "--date", "15/11/2021", "--out", str(tmp_path)),
                    r"--date: expected a date YYYY-MM-DD, got '15/11/2021'")
    with pytest.raises(ExportError, match=r"essai\.ipynb: no reporting date in the notebook's parameters: "
                                          r"give --date YYYY-MM-DD"):
        export_notebook(executed, "post_covid", out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_export_is_a_subcommand_of_the_cli(tmp_path):
    import os
    import subprocess
    import sys

    committed = ROOT / "notebooks" / "catalogue.ipynb"
    result = subprocess.run([sys.executable, "-m", "esante_report", "export", str(committed), "--deck", "catalogue",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {committed}: not executed (no cell has an output): run it first (papermill, or JupyterLab's "
        "Run All then save), or use `esante-report render`"]
    assert list(tmp_path.iterdir()) == []
