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

DATE = "2021-11-15"
PLAIN_TITLE = "Témoin sans émetteur"


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ESANTE_REPORT_ROOT", None)
    return subprocess.run([sys.executable, "-m", "esante_report", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=900)


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
    """A plain notebook whose parameters cell declares no issuer."""
    return _notebook(
        f'report_date = "{DATE}"\ndata_dir = None\nparams_dir = None',
        new_markdown_cell(f"# {PLAIN_TITLE}"),
        new_markdown_cell("## Une diapositive\n\nLe texte de la diapositive."),
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    root = _new_project(tmp_path_factory.mktemp("analyst") / "projet")
    (root / "notebooks" / "temoin.ipynb").write_text(_temoin(), encoding="utf-8")
    (root / "params" / f"{DATE}.yaml").write_text("temoin: {}\n", encoding="utf-8")
    rendered = _cli(root, "render", "--date", DATE, "--jobs", "2", "--no-pptx")
    return {"root": root, "render": rendered, "out": root / "outputs" / DATE}


# --------------------------------------------------------------------------- parameters and params files

@pytest.mark.e2e
def test_a_plain_notebook_renders_with_an_empty_params_entry_and_no_issuer(project):
    assert project["render"].returncode == 0, project["render"].stderr
    pages = pdf_pages_text(project["out"] / "temoin.pdf")
    assert len(pages) == 2 and all(PLAIN_TITLE in page for page in pages)
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
    from esante_report import render
    from esante_report.cli import main

    root = _small_project(tmp_path, "temoin: {}\n")

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
    from esante_report import export

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
    from esante_report import pdfcheck

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

    from esante_report import pdfcheck
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
