"""From an analyst's own notebook or CSV to a mailed deck, with no toolkit code written.

One temporary project (a folder with the ``[tool.esante-report]`` marker) holds a plain notebook
``temoin`` with an empty params entry; it is rendered once for the module, as an analyst runs the
commands (``python -m esante_report`` in the project folder).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .conftest import DATA, ROOT, pdf_pages_text
from .test_decks import _cli

DATE = "2021-11-15"
PLAIN_TITLE = "Témoin sans émetteur"


def _new_project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.esante-report]\n", encoding="utf-8")
    for folder in ("data", "notebooks", "params"):
        (root / folder).mkdir()
    shutil.copy(DATA / "regions.csv", root / "data" / "regions.csv")
    return root


def _notebook(parameters: str, *cells) -> str:
    params = new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    return nbformat.writes(new_notebook(cells=[params, *cells], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}))


def _temoin() -> str:
    """A plain notebook: no issuer in its parameters cell, a figure quoted in Markdown, a block never displayed,
    key figures alone on a slide, a chart with thousands on its axis."""
    setup = new_code_cell("import matplotlib.pyplot as plt\nimport esante_report.authoring as esr\nesr.setup()\n"
                          "total = 12345\nclass Stats:\n    part = 0.5\nstats = Stats()")
    setup.metadata["slideshow"] = {"slide_type": "skip"}
    return _notebook(
        f'report_date = "{DATE}"\ndata_dir = None\nparams_dir = None',
        setup,                                                                               # cell 2
        new_markdown_cell(f"# {PLAIN_TITLE}"),                                              # cell 3
        new_markdown_cell("## Une diapositive\n\nLe texte de la diapositive : **{{ total }}** actes, "
                          "soit une part de {{ stats.part }}."),                            # cell 4
        new_code_cell("esr.kpis([(total, 'actes')])  # built, never displayed\nx = 1"),     # cell 5
        new_markdown_cell("## Chiffres clés"),                                              # cell 6
        new_code_cell("esr.kpis([(total, 'actes en septembre'), (42, 'établissements'), (7, 'régions')])"),
        new_markdown_cell("## Courbe"),                                                     # cell 8
        new_code_cell("#| fig-alt: Actes de juillet à septembre, de 8 000 à 12 000\n"
                      "fig, ax = plt.subplots(figsize=esr.SLOT_FULL)\n"
                      "ax.plot(['juillet', 'août', 'septembre'], [8000, 10000, 12000])\nplt.show()"),
    )


def _unknown_name() -> str:
    return _notebook(f'report_date = "{DATE}"\ndata_dir = None\nparams_dir = None',
                     new_markdown_cell("# Inconnu"),
                     new_markdown_cell("## Total\n\nLe total est de {{ totl }}."))


#: the analyst's own CSV: a blank in the count column, a qualifier column blank on most rows
CSV = """\
region,mois,service,actes,qualificatif
OCC,2021-08,généraliste,1200,
OCC,2021-08,spécialiste,,non transmis
OCC,2021-09,généraliste,1350,
OCC,2021-09,spécialiste,410,
IDF,2021-08,généraliste,2100,
IDF,2021-08,spécialiste,800,
IDF,2021-09,généraliste,2300,provisoire
IDF,2021-09,spécialiste,,non transmis
BRE,2021-08,généraliste,640,
BRE,2021-08,spécialiste,120,
BRE,2021-09,généraliste,700,
BRE,2021-09,spécialiste,150,
"""
DECK = "teleconsultations"


def _csv_total() -> int:
    """The total of the latest month, computed here from the CSV text (blanks left out)."""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(CSV)))
    latest = max(r["mois"] for r in rows)
    return sum(int(r["actes"]) for r in rows if r["mois"] == latest and r["actes"])


def _fr(n: int) -> str:
    return f"{n:,}".replace(",", " ")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    root = _new_project(tmp_path_factory.mktemp("analyst") / "projet")
    shutil.copy(DATA / "recipients.csv", root / "data" / "recipients.csv")
    (root / "notebooks" / "temoin.ipynb").write_text(_temoin(), encoding="utf-8")
    (root / "notebooks" / "inconnu.ipynb").write_text(_unknown_name(), encoding="utf-8")
    (root / "params" / f"{DATE}.yaml").write_text("temoin: {}\ninconnu: {}\n", encoding="utf-8")
    source = tmp_path_factory.mktemp("analyste") / "Téléconsultations 2021.csv"
    source.write_text(CSV, encoding="utf-8")
    scaffold = _cli(root, "new-deck", DECK, "--title", "Téléconsultations", "--date", DATE, "--from-csv", str(source))
    template = root / "notebooks" / f"{DECK}.mail.txt"
    if template.is_file():  # the analyst quotes a kept figure in the subject too
        text = template.read_text(encoding="utf-8")
        template.write_text(text.replace(" : point au {{ date }}", " : {{ total }} actes au {{ date }}", 1),
                            encoding="utf-8")
    rendered = _cli(root, "render", "--date", DATE, "--jobs", "2", "--no-pptx")
    mailed = _cli(root, "mail", "--date", DATE, "--deck", DECK)
    return {"root": root, "render": rendered, "scaffold": scaffold, "mail": mailed, "out": root / "outputs" / DATE}


def _status(project: dict, deck: str) -> str:
    match = re.search(rf"^{DATE}\s+{deck}\s+(\S+)", project["render"].stdout, re.M)
    return match.group(1) if match else project["render"].stdout + project["render"].stderr


# --------------------------------------------------------------------------- parameters and params files

@pytest.mark.e2e
def test_a_plain_notebook_renders_with_an_empty_params_entry_and_no_issuer(project):
    assert _status(project, "temoin") == "rendered"
    pages = pdf_pages_text(project["out"] / "temoin.pdf")
    assert len(pages) == 4 and all(PLAIN_TITLE in page for page in pages)
    assert "Le texte de la diapositive" in pages[1]
    html = (project["out"] / "temoin.html").read_text(encoding="utf-8")
    assert '<span class="esr-issuer"></span>' in html and 'name="author"' not in html


def _small_project(tmp_path: Path, params: str, parameters: str = f'report_date = "{DATE}"\nissuer = "ARS"\n'
                   "seuil = 10\ndata_dir = None\nparams_dir = None") -> Path:
    root = _new_project(tmp_path / "projet")
    (root / "notebooks" / "temoin.ipynb").write_text(_notebook(parameters, new_markdown_cell("# T")),
                                                     encoding="utf-8")
    (root / "params" / f"{DATE}.yaml").write_text(params, encoding="utf-8")
    return root


def test_report_date_in_a_params_file_is_set_by_the_file_name(tmp_path):
    root = _small_project(tmp_path, "temoin:\n  report_date: 2021-11-20\n")
    done = _cli(root, "check", "--date", DATE)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: params/{DATE}.yaml:2: field 'report_date': the reporting date is set by the params file's name "
        f"({DATE}.yaml), never by a key: remove this line (to render another date, write "
        "params/YYYY-MM-DD.yaml)"]


def test_a_wrong_type_is_one_line(tmp_path):
    root = _small_project(tmp_path, "temoin:\n  issuer: 3\n  seuil: dix\n")
    done = _cli(root, "check", "--date", DATE)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: params/{DATE}.yaml:2: field 'issuer': expected text like the default 'ARS' of temoin.ipynb, got '3'",
        f"error: params/{DATE}.yaml:3: field 'seuil': expected a whole number like the default 10 of "
        "temoin.ipynb, got 'dix'"]


@pytest.mark.parametrize("text, line", [
    ("# 1\n# 2\n# 3\n# 4\n# 5\ntemoin:\n  issuer: \"ARS Occitanie\n  seuil: 3\n", 7),   # unclosed quote
    ("temoin:\n  seuil: 3\n  issuer: {name: ARS\n\n\n", 3),                             # unclosed brace
])
def test_a_yaml_error_names_the_line_where_the_broken_construct_starts(tmp_path, text, line):
    root = _small_project(tmp_path, text)
    done = _cli(root, "check", "--date", DATE)
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: params/{DATE}.yaml:{line}: invalid YAML"), done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_debug_shows_the_traceback_of_a_failed_deck_in_a_batch(tmp_path, monkeypatch, capsys):
    from esante_report.pipeline import render
    from esante_report.cli.main import main

    from esante_report.paths import ROOT_ENV

    root = _small_project(tmp_path, "temoin: {}\n")
    monkeypatch.setenv(ROOT_ENV, str(root))   # as --project sets it; monkeypatch restores it after the test

    def broken(job, progress):
        return {}["issuer"]

    monkeypatch.setattr(render, "_render", broken)
    argv = ["--project", str(root), "render", "--date", DATE, "--jobs", "1", "--no-pptx"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "KeyError: 'issuer'" in err and "Traceback" not in err and "--debug shows its traceback" in err
    assert main(["--debug", *argv]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in broken" in err


# --------------------------------------------------------------------------- the tests follow the decks

@pytest.mark.e2e
def test_the_notebook_tests_pass_with_a_third_deck(tmp_path):
    """The repository's notebooks, a deck added with new-deck, and tests/test_notebooks.py run as `make test` would."""
    root = _new_project(tmp_path / "depot")
    for path in [*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "notebooks").glob("*.py")]:
        shutil.copy(path, root / "notebooks" / path.name)
    for name in ("jupytext.toml", "Makefile"):
        shutil.copy(ROOT / name, root / name)
    (root / "tests").mkdir()
    for name in ("__init__.py", "conftest.py", "test_notebooks.py"):
        shutil.copy(ROOT / "tests" / name, root / "tests" / name)
    scaffold = _cli(root, "new-deck", "teleconsultations", "--title", "Téléconsultations", "--date", DATE)
    assert scaffold.returncode == 0, scaffold.stderr
    shipped = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(p.stem for p in (root / "notebooks").glob("*.ipynb")) == sorted([*shipped, "teleconsultations"])
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_notebooks.py"],
                          cwd=root, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-3000:]
    assert "teleconsultations" in subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", "tests/test_notebooks.py"],
        cwd=root, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout


# --------------------------------------------------------------------------- the toolkit's blocks pass its checks

def _pdf_of(tmp_path: Path, *cells) -> tuple[Path, object]:
    from esante_report.formats import web as export

    meta = export.DeckMeta(title="Deck de test", issuer="ARS Test", date="15/11/2021", subject="s", keywords="k",
                           created="2021-11-15T00:00:00+00:00")
    nb = new_notebook(cells=list(cells))
    rendered = export.build(nb, meta)
    path = tmp_path / "deck.pdf"
    export.write_pdf(rendered.print_html, path)
    return path, rendered


def _output_cell(data: dict, source: str = "x") -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
    return cell


def test_a_key_figures_row_alone_on_a_slide_passes_the_pdf_check(tmp_path):
    import esante_report.authoring as esr
    from esante_report.checks import layout as pdfcheck

    row = esr.kpis([(12345, "actes en septembre"), (esr.pct(14.4, 1), "des actes"), (42, "établissements")])
    path, rendered = _pdf_of(tmp_path, new_markdown_cell("## Chiffres clés"), _output_cell({"text/html": row.html}))
    pdfcheck.check_pdf(path, rendered.slides, rendered.expected_chars, rendered.slide_cells, rendered.charts)
    text = pdf_pages_text(path)[0]
    assert "12 345" in text and "14,4 %" in text and "établissements" in text


def test_a_chart_scaled_down_says_by_how_much_and_which_figsize_fits(tmp_path):
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from esante_report.checks import layout as pdfcheck
    from esante_report.errors import ExportError

    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": ["Inter", "DejaVu Sans"]}):
        fig = Figure(figsize=(16, 3))   # wider than the slide: the layout scales it down
        ax = fig.add_subplot()
        ax.bar(["août", "sept.", "oct."], [250, 286, 301])
        ax.tick_params(labelsize=13)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    chart = _output_cell({"image/svg+xml": buffer.getvalue(), "text/plain": "<Figure>"},
                         "#| fig-alt: Patients par mois\nplt.show()")
    path, rendered = _pdf_of(tmp_path, new_markdown_cell("## Patients"), chart)
    with pytest.raises(ExportError) as failed:
        pdfcheck.check_pdf(path, rendered.slides, rendered.expected_chars, rendered.slide_cells, rendered.charts)
    message = str(failed.value)
    assert "(chart text must be ≥ 12 pt)" in message
    assert re.search(r": the chart of cell 2 is drawn 16\.0 × 3\.0 in and shown at 7\d% to fit its slot; "
                     r"draw it with figsize=\(12\.\d, 2\.\d\)", message), message


# --------------------------------------------------------------------------- the kernel's values on the slides

@pytest.mark.e2e
def test_a_figure_quoted_in_markdown_shows_its_value_in_french(project):
    pages = pdf_pages_text(project["out"] / "temoin.pdf")
    assert "Le texte de la diapositive : 12 345 actes, soit une part de 0,5." in pages[1]
    assert "{{" not in "".join(pages)


@pytest.mark.e2e
def test_an_unknown_name_in_markdown_is_an_error_naming_the_cell(project):
    assert _status(project, "inconnu") == "failed"
    assert not (project["out"] / "inconnu.pdf").exists()
    assert re.search(r"error: 2021-11-15/inconnu: .*cell 3: \{\{ totl \}\}: no variable of that name",
                     project["render"].stderr), project["render"].stderr


@pytest.mark.e2e
def test_a_block_never_displayed_warns_naming_its_cell(project):
    assert ("warning: temoin.ipynb: cell 5: esr.kpis(...) is built but never displayed, so no slide shows it"
            in project["render"].stderr), project["render"].stderr
    assert "cell 7: esr.kpis" not in project["render"].stderr   # the displayed one


@pytest.mark.e2e
def test_key_figures_alone_pass_and_chart_ticks_are_in_french(project):
    pages = pdf_pages_text(project["out"] / "temoin.pdf")
    assert "12 345" in pages[2] and "établissements" in pages[2]
    assert "8 000" in pages[3] and "12 000" in pages[3] and "8000" not in pages[3]


# --------------------------------------------------------------------------- from the analyst's CSV to the e-mail

@pytest.mark.e2e
def test_new_deck_from_csv_infers_the_schema(project):
    import json

    assert project["scaffold"].returncode == 0, project["scaffold"].stderr
    data = project["root"] / "data" / DECK
    assert (data / "teleconsultations_2021.csv").read_text(encoding="utf-8") == CSV
    schema = json.loads((data / "teleconsultations_2021.schema.json").read_text(encoding="utf-8"))
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["actes"]["type"] == "integer" and not fields["actes"].get("constraints", {}).get("required")
    assert fields["actes"]["constraints"]["minimum"] == 0
    assert fields["mois"]["type"] == "yearmonth" and fields["mois"]["constraints"]["required"] is True
    assert fields["service"]["constraints"]["enum"] == ["généraliste", "spécialiste"]
    assert not fields["qualificatif"].get("constraints", {}).get("required")
    assert schema["foreignKeys"] == [{"fields": ["region"], "reference": {"resource": "regions.csv",
                                                                          "fields": ["abbr"]}}]
    assert "primaryKey" not in schema   # no column nor pair is unique here
    check = _cli(project["root"], "check", "--date", DATE)
    assert "teleconsultations" in check.stdout and "Traceback" not in check.stderr


@pytest.mark.e2e
def test_the_csv_deck_renders_first_time_with_its_total_in_french(project):
    assert _status(project, DECK) == "rendered"
    text = "\n".join(pdf_pages_text(project["out"] / f"{DECK}.pdf"))
    total = _csv_total()
    assert total >= 1000 and f"{_fr(total)}" in text and str(total) not in text
    for name in ("Occitanie", "Île-de-France", "Bretagne"):
        assert name in text
    assert f"Au total, en septembre 2021, {_fr(total)} (actes)" in text


@pytest.mark.e2e
def test_a_kept_value_reaches_the_subject_and_body_of_the_eml_with_the_pdf(project):
    import email
    import email.policy

    assert project["mail"].returncode == 0, project["mail"].stderr
    eml = project["out"] / "mail" / f"{DECK}.eml"
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    total = _fr(_csv_total())
    assert " ".join(msg["Subject"].split()) == f"Téléconsultations : {total} actes au 15/11/2021"
    body = " ".join(msg.get_body(("plain",)).get_content().split())
    assert f"- Total : {total}" in body and "- Période : septembre 2021" in body
    assert "{{" not in body and "consultable en ligne" not in body   # no link: its line is left out
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == f"{DECK}.pdf"
    assert attachment.get_content() == (project["out"] / f"{DECK}.pdf").read_bytes()


@pytest.mark.parametrize("content, message", [
    (b"region;mois;actes\nOCC;2021-09;12\n", "separator ';' found: save as CSV with ','"),
    ("region,mois,actes\nOCC,2021-09,Téléconsultation\n".encode("cp1252"), "not valid UTF-8"),
    (b"OCC,2021-09,12\nIDF,2021-09,30\n", "no header line: the first line holds values"),
])
def test_an_unreadable_csv_gets_a_one_line_message_and_nothing_is_written(tmp_path, content, message):
    root = _new_project(tmp_path / "projet")
    source = tmp_path / "donnees.csv"
    source.write_bytes(content)
    done = _cli(root, "new-deck", "essai", "--date", DATE, "--from-csv", str(source))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr
    assert "donnees.csv" in lines[0]
    assert not any((root / "notebooks").iterdir()) and not any((root / "params").iterdir())
    assert sorted(p.name for p in (root / "data").iterdir()) == ["regions.csv"]
