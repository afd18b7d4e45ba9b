"""The toolkit installed as a wheel (no checkout, no editable install) renders a project folder.

A wheel is built from this repository and installed, with its dependencies, in a fresh virtual
environment (pip's cache makes the dependencies quick after the first run); a copy of this project's
notebooks, data and params is placed in a temporary folder marked as a project, with reveal.js in its
``node_modules`` as ``npm ci`` puts it there. ``esante-report render`` run from that folder, with no
PYTHONPATH, renders the catalogue deck.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, pdf_pages_text

pytestmark = pytest.mark.e2e

DATE = "2020-12-08"


def _run(*args: str, cwd: Path | None = None, timeout: int = 1200) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ESANTE_REPORT_ROOT", "VIRTUAL_ENV")}
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("wheel")
    built = _run(sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(base / "dist"), "-q")
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((base / "dist").glob("esante_report-*.whl"))
    venv = base / "venv"
    made = _run(sys.executable, "-m", "venv", str(venv))
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    done = _run(str(python), "-m", "pip", "install", "-q", str(wheel))
    assert done.returncode == 0, done.stderr[-2000:]
    project = base / "projet"
    project.mkdir()
    for folder in ("notebooks", "data", "params"):
        shutil.copytree(ROOT / folder, project / folder)
    (project / "node_modules").mkdir()
    shutil.copytree(ROOT / "node_modules" / "reveal.js", project / "node_modules" / "reveal.js")
    (project / "pyproject.toml").write_text("[tool.esante-report]\n", encoding="utf-8")
    render = _run(str(venv / "bin" / "esante-report"), "render", "--date", DATE, cwd=project)
    where = _run(str(python), "-c", "import esante_report; print(esante_report.__file__)", cwd=project)
    return {"project": project, "render": render, "where": where.stdout.strip(), "venv": venv}


def test_the_wheel_is_what_runs(installed):
    assert Path(installed["where"]).is_relative_to(installed["venv"])
    assert not Path(installed["where"]).is_relative_to(ROOT)


def test_the_wheel_renders_a_project_folder(installed):
    assert installed["render"].returncode == 0, installed["render"].stderr[-3000:]
    pdf = installed["project"] / "outputs" / DATE / "catalogue.pdf"
    pages = pdf_pages_text(pdf)
    assert len(pages) > 20 and "Point e-santé – catalogue des services" in pages[1]
    assert (installed["project"] / "outputs" / "index.html").is_file()
