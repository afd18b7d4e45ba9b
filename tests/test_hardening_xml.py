"""Text that reaches the XML formats, pasted pictures, deck names and failed runs (hardening III, items 15-18).

- a picture pasted into a Markdown cell (its ``attachments``) is on its slide in the HTML, the PDF and the
  PowerPoint decks; one that is not a real picture is left out with a warning naming the cell;
- ``new-deck`` refuses a name that would shadow an importable module, and writes nothing;
- control characters, lone surrogates and over-long values in titles, alt text, issuer, notes and table
  cells never cost a deck: the HTML, PDF and PowerPoint files are written clean, and a PowerPoint file that
  cannot be written all the same is skipped with a warning naming the field, the HTML and PDF published;
  ``check`` and ``new-deck`` refuse such titles and issuers in one line;
- ``export`` refuses a notebook whose papermill run failed, naming the cell, and accepts notebooks that ran
  without any output (Markdown only, pasted pictures only).

Every hostile value is written by the test; the decks are read back as a reader would get them.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from .conftest import DATA, ROOT, pdf_pages_text

DATE = "2021-11-15"
#: what no deck file may carry: C0 controls but tab/LF/CR, C1 controls, lone surrogates
NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
HOSTILE = "\v\x1b[31m\ud800"
LONG_TITLE = ("Un titre de diapositive beaucoup trop long pour tenir en une ligne " * 5)[:300]


# --------------------------------------------------------------------------- helpers


def _png(size=(320, 200), colour=(0, 0, 145)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def _params_cell(issuer: str = "ARS Test"):
    cell = new_code_cell(f"report_date = {DATE!r}\nissuer = {issuer!r}", execution_count=1)
    cell.metadata["tags"] = ["parameters"]
    return cell


def _write(nb, path: Path) -> Path:
    """The notebook as a file: JSON with ASCII escapes, as a lone surrogate can only be stored."""
    path.write_text(json.dumps(nb, ensure_ascii=True), encoding="ascii")
    return path


def _export(capsys, notebook: Path, *args: str) -> tuple[int, str, str]:
    from esante_report.cli.main import main

    code = main(["export", str(notebook), *args])
    out, err = capsys.readouterr()
    return code, out, err


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    env.pop("ESANTE_REPORT_ROOT", None)
    return subprocess.run([sys.executable, "-m", "esante_report", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


def _project(root: Path, notebook=None, name: str = "hostile", entry: str = "issuer: ARS Test") -> Path:
    """A project folder: the marker, data/regions.csv, ``notebooks/<name>.ipynb`` and its params entry."""
    (root / "data").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.esante-report]\n", encoding="utf-8")
    shutil.copy(DATA / "regions.csv", root / "data" / "regions.csv")
    if notebook is not None:
        (root / "notebooks").mkdir()
        _write(notebook, root / "notebooks" / f"{name}.ipynb")
        (root / "params").mkdir()
        (root / "params" / f"{DATE}.yaml").write_text(f"{name}:\n  {entry}\n", encoding="utf-8")
    return root


def _drawn_images(reader, page) -> list[tuple[int, int]]:
    """(width, height) of every image XObject the page's content stream draws (through forms too)."""
    from pypdf.generic import ContentStream

    def walk(content, resources, depth: int) -> list[tuple[int, int]]:
        xobjects = resources.get("/XObject", {}) if resources else {}
        found = []
        for operands, operator in ContentStream(content, reader).operations:
            if operator != b"Do":
                continue
            obj = xobjects[operands[0]].get_object()
            if obj["/Subtype"] == "/Image":
                found.append((int(obj["/Width"]), int(obj["/Height"])))
            elif obj["/Subtype"] == "/Form" and depth < 8:
                found += walk(obj, obj.get("/Resources"), depth + 1)
        return found

    return walk(page.get_contents(), page["/Resources"], 0)


def _pptx_parts(path: Path) -> dict[str, str]:
    """Every XML part of a PowerPoint file, parsed strictly (lxml) and returned as text."""
    from lxml import etree

    parts = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith((".xml", ".rels")):
                data = z.read(name)
                etree.fromstring(data)  # raises on a character XML does not allow
                parts[name] = data.decode("utf-8")
    return parts


# --------------------------------------------------------------------------- 15: pasted pictures


def _pasted_notebook(with_code: bool = True):
    good = new_markdown_cell("## Carte collée\n\n![Carte des régions en bleu](attachment:carte.png)")
    good["attachments"] = {"carte.png": {"image/png": base64.b64encode(_png()).decode("ascii")}}
    fake = new_markdown_cell("## Image cassée\n\nTexte de la diapositive.\n\n![image.png](attachment:image.png)")
    fake["attachments"] = {"image.png": {"image/png": base64.b64encode(b"GIF89a" + b"\0" * 64).decode("ascii")}}
    shown = new_code_cell("esr.md('Données **illustratives**')", execution_count=2, outputs=[
        new_output("display_data", data={"text/markdown": "Données **illustratives**"})])
    cells = [_params_cell(), new_markdown_cell("# Point mensuel"), shown] if with_code else \
        [new_markdown_cell("# Point mensuel")]
    return new_notebook(cells=[*cells, good, fake])


@pytest.mark.e2e
def test_a_pasted_picture_is_embedded_in_html_and_pdf_and_a_fake_one_is_named(tmp_path, capsys):
    notebook = _write(_pasted_notebook(), tmp_path / "colle.ipynb")
    code, out, err = _export(capsys, notebook, "--out", str(tmp_path / "out"), "--formats", "html,pdf")
    assert code == 0, err

    html = (tmp_path / "out" / "colle.html").read_text(encoding="utf-8")
    assert "harmful-link" not in html and "attachment:" not in html
    slides = BeautifulSoup(html, "html.parser").select("section.esr-slide")
    pictures = slides[1].find_all("img")
    assert len(pictures) == 1 and pictures[0]["alt"] == "Carte des régions en bleu"
    src = pictures[0]["src"]
    assert src.startswith("data:image/png;base64,")
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as shown:
        assert shown.size == (320, 200) and shown.convert("RGB").getpixel((5, 5)) == (0, 0, 145)
    # the fake picture: not shown, its name not shown as text either, and said so naming its cell
    assert not slides[2].find_all("img") and "image.png" not in slides[2].get_text()
    assert "Texte de la diapositive" in slides[2].get_text()
    warnings = [line for line in err.splitlines() if "image.png" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: colle.ipynb: cell 5: pasted image 'image.png' "
                                                         "not shown (image/png): not a PNG image"), err

    from pypdf import PdfReader

    reader = PdfReader(str(tmp_path / "out" / "colle.pdf"))
    drawn = [_drawn_images(reader, page) for page in reader.pages]
    assert drawn[1] == [(320, 200)], drawn
    assert drawn[0] == [] and drawn[2] == [], drawn


def test_a_pasted_picture_is_a_picture_of_the_powerpoint_slide(tmp_path):
    from pptx import Presentation

    from esante_report.formats import web as export
    from esante_report.formats import pptx as pptx_export

    nb = nbformat.reads(json.dumps(_pasted_notebook()), as_version=4)
    meta = export.DeckMeta(title="Point mensuel", issuer="ARS Test", date="15/11/2021")
    pptx_export.write_pptx(export.build(nb, meta).deck, meta, tmp_path / "colle.pptx")
    prs = Presentation(str(tmp_path / "colle.pptx"))
    pictures = [shape for shape in prs.slides[1].shapes if shape.shape_type == 13]
    assert len(pictures) == 1
    assert pictures[0]._element.nvPicPr.cNvPr.get("descr") == "Carte des régions en bleu"
    from PIL import Image

    with Image.open(io.BytesIO(pictures[0].image.blob)) as shown:
        assert shown.size == (320, 200)


# --------------------------------------------------------------------------- 16: deck names


@pytest.mark.parametrize("name, what", [
    ("pandas", "a module installed in this environment"),
    ("json", "a module of Python's standard library"),
    ("os", "a module of Python's standard library"),
    ("matplotlib", "a module installed in this environment"),
    ("esante_report", "a module installed in this environment"),
])
def test_new_deck_refuses_a_name_that_shadows_a_module(tmp_path, name, what):
    root = _project(tmp_path / "projet")
    done = _cli(root, "new-deck", name, "--title", "Bilan mensuel", "--date", DATE)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: new-deck: field 'name': {name!r} is the name of {what}: notebooks/{name}.py would be imported "
        f"in its place by every notebook; choose another name, e.g. bilan_{name}"]
    assert not (root / "notebooks").exists() and not (root / "params").exists()
    assert not (root / "data" / name).exists()


# --------------------------------------------------------------------------- 17: text for the XML formats


def _hostile_render_notebook():
    setup = new_code_cell("import matplotlib.pyplot as plt\nimport pandas as pd\nimport esante_report.authoring as esr\n"
                          "esr.setup()")
    setup.metadata["slideshow"] = {"slide_type": "skip"}
    notes = new_markdown_cell("Note\x1b pour\v l'orateur")
    notes.metadata["tags"] = ["notes"]
    return new_notebook(cells=[
        _params_cell(),
        setup,
        new_markdown_cell("# Bilan \x1b[31mrouge\v fin"),
        new_markdown_cell(f"## {LONG_TITLE}\n\nTexte\x1b ordinaire\x0c de la diapositive."),
        new_markdown_cell("## Courbe"),
        new_code_cell("#| fig-alt: Courbe\x1b[0m des actes\v de juillet\n"
                      "fig, ax = plt.subplots(figsize=esr.SLOT_HALF)\nax.plot([1, 2, 3])\nplt.show()"),
        notes,
        new_markdown_cell("## Tableau"),
        new_code_cell("pd.DataFrame({'Région': ['Bre\\x1btagne\\x0b ouest'], 'Actes': [120]})"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                 "esante_report": {"title": "Bilan hostile"}})


@pytest.mark.e2e
def test_render_writes_every_deck_clean_whatever_control_characters_the_slides_hold(tmp_path):
    root = _project(tmp_path / "projet", _hostile_render_notebook())
    done = _cli(root, "render", "--date", DATE, "--jobs", "1")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "error" not in done.stderr.lower()
    out = root / "outputs" / DATE
    html = (out / "hostile.html").read_bytes().decode("utf-8")  # strict: no lone surrogate
    assert not NOT_TEXT.search(html)
    soup = BeautifulSoup(html, "html.parser")
    assert " ".join(soup.select_one("section.esr-slide .esr-title").get_text().split()) == "Bilan [31mrouge fin"
    pages = pdf_pages_text(out / "hostile.pdf")
    assert "Bilan [31mrouge fin" in pages[0] and "Texte ordinaire de la diapositive" in pages[1]
    assert "Bretagne ouest" in pages[3] and not NOT_TEXT.search("".join(pages))

    parts = _pptx_parts(out / "hostile.pptx")  # every part parses: no character XML refuses
    text = "".join(parts.values())
    assert not NOT_TEXT.search(text) and "_x001B_" not in text
    from pptx import Presentation

    prs = Presentation(str(out / "hostile.pptx"))
    assert prs.slides[1].shapes.title.text_frame.text == LONG_TITLE
    descr = [shape._element.nvPicPr.cNvPr.get("descr") for shape in prs.slides[2].shapes if shape.shape_type == 13]
    assert descr == ["Courbe[0m des actes de juillet"]
    assert prs.slides[2].notes_slide.notes_text_frame.text == "Note pour l'orateur"
    cells = [c.text for shape in prs.slides[3].shapes if shape.has_table for row in shape.table.rows for c in row.cells]
    assert "Bretagne ouest" in [" ".join(c.split()) for c in cells]


def _hostile_export_notebook():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200" viewBox="0 0 400 200">'
           '<rect x="10" y="10" width="300" height="150" fill="#000091"/></svg>')
    chart = new_code_cell(f"#| fig-alt: Barres{HOSTILE} bleues\nfig", execution_count=2,
                          outputs=[new_output("display_data", data={"image/svg+xml": svg})])
    table = new_code_cell("df", execution_count=3, outputs=[new_output("execute_result", execution_count=3, data={
        "text/html": f"<table><thead><tr><th>Région</th></tr></thead><tbody><tr><td>Bre{HOSTILE}tagne</td></tr>"
                     "</tbody></table>", "text/plain": "df"})])
    notes = new_markdown_cell(f"Note{HOSTILE} orateur")
    notes.metadata["tags"] = ["notes"]
    return new_notebook(cells=[
        _params_cell(f"ARS{HOSTILE} Bretagne"),
        new_markdown_cell(f"# Couverture{HOSTILE} fin"),
        new_markdown_cell(f"## {LONG_TITLE[:150]}{HOSTILE}{LONG_TITLE[150:]}"),
        chart, notes, table,
    ], metadata={"esante_report": {"title": f"Bilan{HOSTILE} breton"}})


@pytest.mark.e2e
def test_export_writes_html_and_pdf_of_titles_alt_and_issuer_with_control_characters(tmp_path, capsys):
    notebook = _write(_hostile_export_notebook(), tmp_path / "hostile.ipynb")
    code, out, err = _export(capsys, notebook, "--out", str(tmp_path / "out"), "--formats", "html,pdf,pptx")
    assert code == 0, err
    assert "warning" not in err.replace("warning: hostile.ipynb: cell", "") and "Traceback" not in err
    assert not NOT_TEXT.search("".join(_pptx_parts(tmp_path / "out" / "hostile.pptx").values()))
    html = (tmp_path / "out" / "hostile.html").read_bytes().decode("utf-8")
    assert not NOT_TEXT.search(html)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one(".esr-issuer").get_text() == "ARS [31m\ufffd Bretagne"
    assert soup.select_one(".esr-footer .esr-deck").get_text() == "Bilan [31m\ufffd breton"
    assert soup.select_one("div.esr-chart")["aria-label"] == "Barres [31m\ufffd bleues"
    pages = pdf_pages_text(tmp_path / "out" / "hostile.pdf")
    assert "Couverture [31m" in pages[0] and "Bilan [31m" in pages[1] and "Bre [31m" in pages[1]
    assert not NOT_TEXT.search("".join(pages))


def test_powerpoint_of_hostile_titles_is_written_clean_and_bounded(tmp_path):
    from pptx import Presentation

    from esante_report.formats import web as export
    from esante_report.formats import pptx as pptx_export

    nb = nbformat.reads(json.dumps(_hostile_export_notebook()), as_version=4)
    meta = export.DeckMeta(title=f"Bilan{HOSTILE} {LONG_TITLE}", issuer=f"ARS{HOSTILE} Bretagne", date="15/11/2021",
                           subject=f"Sujet{HOSTILE}", keywords="k" * 400)
    pptx_export.write_pptx(export.build(nb, meta).deck, meta, tmp_path / "hostile.pptx")
    parts = _pptx_parts(tmp_path / "hostile.pptx")
    assert not NOT_TEXT.search("".join(parts.values()))
    prs = Presentation(str(tmp_path / "hostile.pptx"))
    title = prs.core_properties.title
    assert len(title) == 255 and title.endswith("…") and title.startswith("Bilan [31m\ufffd Un titre")
    assert prs.core_properties.author == "ARS [31m\ufffd Bretagne" and len(prs.core_properties.keywords) == 255
    assert prs.slides[1].shapes.title.text_frame.text.startswith("Un titre de diapositive")
    descr = [s._element.nvPicPr.cNvPr.get("descr") for s in prs.slides[1].shapes if s.shape_type == 13]
    assert descr == ["Barres [31m\ufffd bleues"]


def _failing_svg_part(*args, **kwargs):
    raise ValueError("the SVG part of this picture cannot be stored")


@pytest.mark.e2e
def test_a_powerpoint_failure_still_publishes_the_html_and_pdf(tmp_path, monkeypatch):
    from esante_report.formats import pptx as pptx_export
    from esante_report.pipeline.render import render_date

    root = _project(tmp_path / "projet", _hostile_render_notebook())
    monkeypatch.setattr(pptx_export, "_add_svg", _failing_svg_part)
    lines: list[str] = []
    done = render_date(DATE, data_dir=root / "data", params_dir=root / "params", out_dir=root / "outputs",
                       notebooks=root / "notebooks", progress=lines.append)
    out = root / "outputs" / DATE
    assert [d.name for d in done] == ["hostile"]
    assert (out / "hostile.html").is_file() and len(pdf_pages_text(out / "hostile.pdf")) == 4
    assert not (out / "hostile.pptx").exists() and not (out / "hostile.odp").exists()
    warnings = [line for line in lines if "warning:" in line and "PowerPoint" in line]
    assert len(warnings) == 1, lines
    assert warnings[0].startswith(f"{DATE}/hostile: warning: ")
    assert "PowerPoint copy was skipped" in warnings[0]
    assert "hostile.pptx: slide 3: picture (alt text 'Courbe[0m des actes de juillet'): ValueError: the SVG" \
        in warnings[0], warnings


def test_check_refuses_an_issuer_or_a_deck_title_with_control_characters(tmp_path):
    nb = new_notebook(cells=[_params_cell(), new_markdown_cell("# Bilan")],
                      metadata={"esante_report": {"title": "Bilan\x1b[31m breton"}})
    root = _project(tmp_path / "projet", nb, entry='issuer: "ARS\\e[31m\\v Bretagne"')
    done = _cli(root, "check", "--date", DATE)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert f"error: params/{DATE}.yaml:2: field 'issuer': expected plain text on one line, got the control " \
           "character '\\x1b' at position 4 of 'ARS\\x1b[31m\\x0b Bretagne'" in lines, lines
    assert "error: notebooks/hostile.ipynb: field 'title': expected plain text on one line, got the control " \
           "character '\\x1b' at position 6 of 'Bilan\\x1b[31m breton': the deck's title (metadata " \
           "esante_report.title, else the first # heading) is on its cover and every footer" in lines, lines


@pytest.mark.parametrize("title, message", [
    ("Bilan\x1b[31m", "field 'title': expected plain text on one line, got the control character '\\x1b' at position 6"),
    ("Bilan\vmensuel", "field 'title': expected plain text on one line, got the control character '\\x0b' at position 6"),
    ("Bilan des téléconsultations " * 4, "field 'title': expected at most 90 characters, got 'Bilan des"),
    ("Bilan " + "W" * 30, "field 'title': expected words of at most 22 characters"),
])
def test_new_deck_refuses_titles_the_decks_cannot_show(tmp_path, title, message):
    root = _project(tmp_path / "projet")
    done = _cli(root, "new-deck", "bilan", "--title", title, "--date", DATE)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: new-deck: ")
    assert message in done.stderr
    assert not (root / "notebooks").exists() and not (root / "params").exists()


@pytest.mark.e2e
def test_new_deck_title_limits_are_those_of_the_pdf_check(tmp_path):
    """The longest title new-deck accepts, in the widest capitals, passes the PDF check; one it refuses fails it."""
    from esante_report.formats import web as export
    from esante_report.checks import layout as pdfcheck
    from esante_report.errors import ExportError
    from esante_report.decks.registry import title_problem

    def pdf_check(title: str) -> str | None:
        nb = new_notebook(cells=[new_markdown_cell(f"# {title}"), new_markdown_cell("## Suite\n\nTexte.")])
        meta = export.DeckMeta(title=title, issuer="ARS Test", date="15/11/2021")
        rendered = export.build(nb, meta)
        path = tmp_path / "deck.pdf"
        export.write_pdf(rendered.print_html, path)
        try:
            pdfcheck.check_pdf(path, rendered.slides, rendered.expected_chars, rendered.slide_cells)
        except ExportError as exc:
            return str(exc)
        return None

    widest = ("WWWWWWWWWW " * 9)[:90]
    assert len(widest) == 90 and title_problem(widest) is None and pdf_check(widest) is None
    word = "W" * 22
    assert title_problem(f"Bilan {word}") is None and pdf_check(f"Bilan {word}") is None
    too_long = ("Suivi mensuel des actes de téléconsultation et de télé-expertise en Île-de-France " * 3)[:180]
    assert title_problem(too_long) is not None and pdf_check(too_long) is not None


# --------------------------------------------------------------------------- 18: what export accepts


def _failed_papermill_notebook():
    """What papermill writes when a cell raises: the exception marked, its red banner and anchor cells."""
    banner = new_markdown_cell('<span style="color:red">An Exception was encountered at '
                               '\'<a href="#papermill-error-cell">In [3]</a>\'.</span>')
    banner.metadata["tags"] = ["papermill-error-cell-tag"]
    anchor = new_markdown_cell('<span id="papermill-error-cell" style="color:red">Execution using papermill '
                               'encountered an exception here and stopped:</span>')
    anchor.metadata["tags"] = ["papermill-error-cell-tag"]
    ok = new_code_cell("x = 1", execution_count=2)
    failing = new_code_cell("1 / 0", execution_count=3, outputs=[new_output(
        "error", ename="ZeroDivisionError", evalue="division by zero", traceback=["ZeroDivisionError"])])
    failing.metadata["papermill"] = {"exception": True}
    nb = new_notebook(cells=[banner, _params_cell(), new_markdown_cell("# Bilan"), ok, anchor, failing,
                             new_code_cell("y = 2")])
    nb.metadata["papermill"] = {"exception": True}
    return nb


def test_export_refuses_a_notebook_whose_papermill_run_failed(tmp_path, capsys):
    notebook = _write(_failed_papermill_notebook(), tmp_path / "echec.ipynb")
    code, out, err = _export(capsys, notebook, "--out", str(tmp_path / "out"))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"error: {notebook}: its papermill run failed at cell 4 ('ZeroDivisionError: division by zero'): fix the "
        "notebook and run it again before exporting it (`esante-report render` runs and exports it in one step)"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["markdown", "pictures", "silent-code"])
def test_export_accepts_notebooks_without_any_output(tmp_path, capsys, kind):
    if kind == "markdown":
        nb = new_notebook(cells=[new_markdown_cell("# Point mensuel"), new_markdown_cell("## Suite\n\nTexte seul.")])
    elif kind == "pictures":
        nb = _pasted_notebook(with_code=False)
    else:  # its code ran (execution counts) and displayed nothing
        nb = new_notebook(cells=[_params_cell(), new_code_cell("x = 1", execution_count=2),
                                 new_markdown_cell("# Point mensuel"), new_markdown_cell("## Suite\n\nTexte.")])
    notebook = _write(nb, tmp_path / "sans.ipynb")
    code, out, err = _export(capsys, notebook, "--date", DATE, "--out", str(tmp_path / "out"), "--formats", "html,pdf")
    assert code == 0, err
    pages = pdf_pages_text(tmp_path / "out" / "sans.pdf")
    assert "Point mensuel" in pages[0]
    assert (tmp_path / "out" / "sans.html").is_file()
