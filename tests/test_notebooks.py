"""Notebook hygiene: what is committed is what an analyst opens, reviews and diffs.

- each notebook has a jupytext percent-format twin (``notebooks/<name>.py``), paired through
  ``jupytext.toml`` and in sync with it (cells, their type, source, slide type and tags);
- notebooks are committed without outputs, execution counts or run metadata;
- their kernelspec names the project's kernel, the one ``make lab`` installs;
- they are canonical: reading and rewriting them with nbformat gives the same bytes (what
  JupyterLab would otherwise rewrite, such as missing cell ids, is already there).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from .conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
KERNEL = "esante-report"


def test_every_notebook_has_a_twin_and_every_twin_a_notebook():
    # the decks are whatever notebooks/ holds: a deck added with `new-deck` is checked like the shipped ones
    assert NAMES
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.py")) == NAMES


def test_jupytext_pairs_notebooks_with_percent_twins():
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

    config_file = find_jupytext_configuration_file(str(NOTEBOOKS))
    assert config_file and Path(config_file).resolve() == (ROOT / "jupytext.toml").resolve()
    config = load_jupytext_configuration_file(config_file)
    assert config.default_formats(str(NOTEBOOKS / "post_covid.ipynb")) == "ipynb,py:percent"


def _view(cell) -> dict:
    """What matters of a cell for the deck and for review."""
    meta = cell.get("metadata", {})
    return {"type": cell.cell_type, "source": cell.source,
            "slide_type": meta.get("slideshow", {}).get("slide_type"),
            "tags": sorted(meta.get("tags", []))}


@pytest.mark.parametrize("name", NAMES)
def test_twin_is_in_sync_with_its_notebook(name):
    import jupytext

    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    twin = jupytext.read(NOTEBOOKS / f"{name}.py")
    fix = (f"rewrite the twin from the notebook: `jupytext --to py:percent notebooks/{name}.ipynb` "
           "(JupyterLab does it on save), and commit it")
    assert len(twin.cells) == len(notebook.cells), fix
    for n, (a, b) in enumerate(zip(notebook.cells, twin.cells), start=1):
        assert _view(b) == _view(a), f"cell {n} differs: {fix}"
    assert twin.metadata.get("kernelspec", {}).get("name") == KERNEL


_VERSION = re.compile(r"^#\s+jupytext_version:.*$", re.M)


@pytest.mark.parametrize("name", NAMES)
def test_twin_is_what_jupytext_writes_from_the_notebook(name):
    """Byte for byte, but for the jupytext version in its header: what `git diff` shows is the notebook."""
    import jupytext

    text = (NOTEBOOKS / f"{name}.py").read_text(encoding="utf-8")
    assert "format_name: percent" in text
    expected = jupytext.writes(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4), fmt="py:percent")
    assert _VERSION.sub("", text) == _VERSION.sub("", expected), (
        f"rewrite the twin from the notebook: `jupytext --to py:percent notebooks/{name}.ipynb`")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs_or_run_metadata(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    for n, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {n} has outputs: clear them"
        assert not {"execution", "papermill", "collapsed", "scrolled"} & set(cell.metadata), f"cell {n}"
    assert "papermill" not in nb.metadata and "widgets" not in nb.metadata


@pytest.mark.parametrize("name", NAMES)
def test_kernelspec_names_the_project_kernel(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert nb.metadata.kernelspec.name == KERNEL
    assert nb.metadata.kernelspec.language == "python"
    # the kernel `make setup` installs, which `make lab` starts
    assert re.search(rf"ipykernel install .*--name {KERNEL}\b", (ROOT / "Makefile").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_canonical_so_opening_it_changes_nothing(name, tmp_path):
    path = NOTEBOOKS / f"{name}.ipynb"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert (raw["nbformat"], raw["nbformat_minor"]) >= (4, 5)
    assert all(cell.get("id") for cell in raw["cells"]), "every cell has an id (nbformat 4.5)"
    rewritten = tmp_path / path.name
    nbformat.write(nbformat.read(path, as_version=4), rewritten)
    assert rewritten.read_bytes() == path.read_bytes(), (
        f"{path.name} is not in nbformat's canonical form: rewrite it with nbformat.read/nbformat.write")


# --------------------------------------------------------------------------- what JupyterLab sets on opening

@pytest.fixture(scope="module")
def project_kernel() -> dict:
    """What JupyterLab writes into a notebook's metadata when it starts the project's kernel.

    JupyterLab sets ``kernelspec`` (name, display name, language of the installed kernel) and
    ``language_info`` (the kernel's reply to kernel_info); a value that differs from the file marks
    the notebook modified. Both are read here from the installed kernel, started once.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import start_new_kernel

    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    km, kc = start_new_kernel(kernel_name=KERNEL, startup_timeout=120)
    try:
        info = kc.kernel_info(reply=True, timeout=60)["content"]["language_info"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return {"kernelspec": {"name": KERNEL, "display_name": spec.display_name, "language": spec.language},
            "language_info": info}


@pytest.mark.parametrize("name", NAMES)
def test_starting_the_kernel_leaves_the_kernelspec_as_committed(name, project_kernel):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert dict(nb.metadata.kernelspec) == project_kernel["kernelspec"]


@pytest.mark.parametrize("name", NAMES)
def test_starting_the_kernel_leaves_language_info_as_committed(name, project_kernel):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert dict(nb.metadata.get("language_info", {})) == project_kernel["language_info"]
