"""Formats are plug-ins: a project chooses them, ``--formats`` overrides, another package adds one, and
``export`` of a render's executed notebook writes the same files as the render."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from .conftest import DATA, PARAMS, ROOT, normalise, pdf_pages_text

pytestmark = pytest.mark.e2e

DATE = "2020-12-08"  # the catalogue's date
PLUGIN = Path(__file__).resolve().parent / "format_plugin"


def _project(tmp_path: Path, settings: str = "") -> Path:
    """A project folder with the repository's notebooks, data and params, and its own pyproject settings."""
    root = tmp_path / "projet"
    root.mkdir()
    (root / "pyproject.toml").write_text(f"[tool.esante-report]\n{settings}", encoding="utf-8")
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns("*.py", ".*"))
    shutil.copytree(DATA, root / "data")
    shutil.copytree(PARAMS, root / "params")
    return root


def _cli(root: Path, *args: str, plugin: bool = False) -> subprocess.CompletedProcess:
    path = [str(ROOT), *([str(PLUGIN)] if plugin else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "SOURCE_DATE_EPOCH": "1700000000"}
    env.pop("ESANTE_REPORT_ROOT", None)
    return subprocess.run([sys.executable, "-m", "esante_report", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)


def _index_links(out: Path) -> set[str]:
    soup = BeautifulSoup((out / "index.html").read_text(encoding="utf-8"), "html.parser")
    return {a["href"] for a in soup.find_all("a", href=True)}


def test_the_project_chooses_html_and_pdf_and_the_command_line_adds_pptx(tmp_path):
    root = _project(tmp_path, 'formats = ["html", "pdf"]\n')
    done = _cli(root, "render", "--date", DATE, "--deck", "catalogue", "--quiet")
    assert done.returncode == 0, done.stderr
    folder = root / "outputs" / DATE
    assert (folder / "catalogue.html").is_file() and (folder / "catalogue.pdf").is_file()
    assert not (folder / "catalogue.pptx").exists() and not (folder / "catalogue.odp").exists()
    links = _index_links(root / "outputs")
    assert f"{DATE}/catalogue.pdf" in links
    assert not any(link.endswith((".pptx", ".odp")) for link in links), links

    done = _cli(root, "render", "--date", DATE, "--deck", "catalogue", "--formats", "html,pdf,pptx", "--quiet")
    assert done.returncode == 0, done.stderr
    assert (folder / "catalogue.pptx").is_file() and not (folder / "catalogue.odp").exists()
    assert f"{DATE}/catalogue.pptx" in _index_links(root / "outputs")


def test_an_unknown_format_is_one_line(tmp_path):
    root = _project(tmp_path, 'formats = ["html", "epub"]\n')
    done = _cli(root, "render", "--date", DATE, "--deck", "catalogue")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"error: {root / 'pyproject.toml'}: [tool.esante-report] formats: unknown format 'epub' "
        "(expected one of html, pdf, pptx, odp)"]
    assert not (root / "outputs" / DATE).exists()


def test_a_format_registered_by_another_package_renders(tmp_path):
    root = _project(tmp_path)
    done = _cli(root, "render", "--date", DATE, "--deck", "catalogue", "--formats", "html,outline", plugin=True)
    assert done.returncode == 0, done.stderr
    folder = root / "outputs" / DATE
    outline = (folder / "catalogue.md").read_text(encoding="utf-8")
    # the outline names the slides the analyst titled in the notebook, in order
    import nbformat

    headings = [cell.source.splitlines()[0][3:].strip() for cell in nbformat.read(ROOT / "notebooks" / "catalogue.ipynb", 4).cells
                if cell.cell_type == "markdown" and cell.source.startswith("## ")]
    assert len(headings) >= 4
    positions = [outline.find(f". {h}") for h in headings]
    assert -1 not in positions and positions == sorted(positions), (headings, outline)
    assert not (folder / "catalogue.pdf").exists() and not (folder / "catalogue.pptx").exists()
    assert f"{DATE}/catalogue.md" in _index_links(root / "outputs")


def test_export_of_a_rendered_notebook_gives_the_same_html_pdf_and_pptx(tmp_path):
    """render writes the PowerPoint deck in its helper process, export in its own: the same bytes."""
    root = _project(tmp_path, 'formats = ["html", "pdf", "pptx"]\n')
    done = _cli(root, "render", "--date", "2021-11-15", "--deck", "post_covid", "--quiet")
    assert done.returncode == 0, done.stderr
    rendered = root / "outputs" / "2021-11-15"
    done = _cli(root, "export", str(rendered / "post_covid.ipynb"), "--deck", "post_covid", "--out",
                str(tmp_path / "export"))
    assert done.returncode == 0, done.stderr
    for suffix in (".html", ".pdf", ".pptx"):
        assert (tmp_path / "export" / f"post_covid{suffix}").read_bytes() == (rendered / f"post_covid{suffix}").read_bytes()
    # the PDF's cover names the HTML deck as its accessible version, in both
    assert "post_covid.html" in normalise(pdf_pages_text(tmp_path / "export" / "post_covid.pdf")[0])
