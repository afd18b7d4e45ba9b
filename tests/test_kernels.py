"""Warm kernels (issue 17, item 3): the next deck's kernel is started and warmed while one deck runs, and
each deck still gets a fresh kernel: nothing one deck sets is visible in the next one on the same worker.

The test writes its own notebook: the first deck (step 1) sets a global, a matplotlib rcParam and an
attribute on an imported module; the second (step 2) writes on its slide whether it sees them, and whether
its kernel was warmed (the deck modules already imported before its first cell imports anything) and
whether it was forked by the worker's fork server (its parent process is
``esante_report.pipeline.fork_server``).
Both draw a chart without showing it: the inline backend must still put it in the notebook (it hooks
itself into the shell, which only exists in the forked child).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import resource

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from esante_report.pipeline import kernels

from .conftest import DATA, PARAMS, ROOT, normalise, pdf_pages_text

pytestmark = pytest.mark.e2e

CELLS = [
    new_code_cell("step = 0", metadata={"tags": ["parameters"], "slideshow": {"slide_type": "skip"}}),
    new_code_cell("import sys\nwarm = 'esante_report.decks.post_covid.blocks' in sys.modules  # before any import here\n"
                  "import os\ntry:\n"
                  "    parent = open(f'/proc/{os.getppid()}/cmdline', 'rb').read()\n"
                  "    forked = b'esante_report.pipeline.fork_server' in parent\n"
                  "except OSError:\n    forked = False\n"
                  "import matplotlib.pyplot as plt\nimport esante_report.authoring as esr\nesr.setup()",
                  metadata={"slideshow": {"slide_type": "skip"}}),
    new_markdown_cell("# Essai d'isolement des noyaux"),
    new_markdown_cell("## État vu par ce deck"),
    new_code_cell("if step == 1:\n"
                  "    FUITE = 'valeur du premier deck'\n"
                  "    plt.rcParams['lines.linewidth'] = 7.25\n"
                  "    esr._fuite = True\n"
                  "esr.md('Étape {s} : globale {g}, épaisseur {w}, module {m}, noyau préchauffé {p}, '\n"
                  "       'noyau forké {f}',\n"
                  "       s=str(step), f='oui' if forked else 'non',\n"
                  "       g='présente' if 'FUITE' in globals() else 'absente',\n"
                  "       w=str(plt.rcParams['lines.linewidth']),\n"
                  "       m='modifié' if getattr(esr, '_fuite', False) else 'intact',\n"
                  "       p='oui' if warm else 'non')"),
    new_code_cell("import time\n_t = time.process_time()\nwhile time.process_time() - _t < 1.0:\n    pass",
                  metadata={"slideshow": {"slide_type": "skip"}}),  # 1 s of CPU in the kernel
    new_code_cell("plt.plot([1, 2, 3], [3, 1, 2])\nplt.title('Courbe du deck')",
                  metadata={"slideshow": {"slide_type": "skip"}}),  # in the notebook only, not on a slide
]


@pytest.fixture(scope="module", params=["in-process", "dask", "pool", "in-process, no fork server"])
def two_decks(request, tmp_path_factory):
    """A deck of step 2 run right after a deck of step 1 on the same worker: ``--jobs 1`` (in this
    process, with the fork server or without it), the one worker of a local Dask cluster, or ``--jobs 2``
    with a deck of step 1 on each worker first (whichever worker runs the third deck ran a step 1 before).
    Returns (first deck, last deck, whether kernels were forked)."""
    from esante_report.pipeline.batch import run_jobs

    root = tmp_path_factory.mktemp("kernels")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook(cells=CELLS)
    nb.metadata["kernelspec"] = {"name": "esante-report", "display_name": "Python 3 (esante-report)",
                                 "language": "python"}
    nbformat.write(nb, notebooks / "post_covid.ipynb")
    out = root / "out"
    out.mkdir()
    from esante_report.pipeline.batch import plan

    [job] = plan(["2021-11-15"], decks=["post_covid"], data_dir=DATA, params_dir=PARAMS, out_dir=out,
                 notebooks=ROOT / "notebooks", force=True).jobs
    jobs = [dataclasses.replace(job, parameters={**job.parameters, "step": step}, notebooks=str(notebooks),
                                region=f"E{i}", region_name=f"Essai {i}")
            for i, step in enumerate((1, 1, 2) if request.param == "pool" else (1, 2), start=1)]
    fork = "no fork" not in request.param
    saved = os.environ.get(kernels.FORK_ENV)
    os.environ[kernels.FORK_ENV] = "1" if fork else "0"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:  # one worker: the second deck runs right after the first
        results = run_jobs(jobs, workers=2 if request.param == "pool" else 1, dask=request.param == "dask")
    finally:
        os.environ.pop(kernels.FORK_ENV) if saved is None else os.environ.__setitem__(kernels.FORK_ENV, saved)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = None if request.param == "dask" else after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return results[0], results[-1], fork, len(jobs), cpu


def test_no_state_of_one_deck_reaches_the_next_on_the_same_worker(two_decks):
    first, second, fork, _, _ = two_decks
    assert first.status == "rendered", first.error
    assert second.status == "rendered", second.error
    one = re.sub(r"\s+", " ", normalise(" ".join(pdf_pages_text(first.deck.pdf))))
    two = re.sub(r"\s+", " ", normalise(" ".join(pdf_pages_text(second.deck.pdf))))
    assert "Étape 1 : globale présente, épaisseur 7.25, module modifié" in one      # the first deck set them
    assert "Étape 2 : globale absente, épaisseur" in two
    assert "épaisseur 7.25" not in two and "module intact" in two
    # the second deck ran in the kernel warmed while the first ran; the first one was forked from the
    # fork server (modules imported, nothing run), or started cold without it
    assert ("noyau préchauffé oui" if fork else "noyau préchauffé non") in one
    assert "noyau préchauffé oui" in two
    assert f"noyau forké {'oui' if fork else 'non'}" in one
    assert f"noyau forké {'oui' if fork else 'non'}" in two
    # the chart drawn and not shown is in both notebooks, as the inline backend flushes it after the cell
    for deck in (first, second):
        executed = nbformat.read(deck.deck.ipynb, as_version=4)
        outputs = [o for c in executed.cells if c.cell_type == "code" and "Courbe du deck" in c.source
                   for o in c.outputs if o.output_type == "display_data"]
        assert any("image/svg+xml" in o.data for o in outputs), outputs
        assert "Courbe du deck" in next(o.data["image/svg+xml"] for o in outputs if "image/svg+xml" in o.data)
    # and its cells are numbered as in a cold kernel: the warm-up left no history (a warm kernel ran no cell)
    executed = nbformat.read(second.deck.ipynb, as_version=4)
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), counts


def test_parsed_files_are_cached_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv(kernels.CACHE_ENV, str(tmp_path))
    data = tmp_path / "f.csv"
    data.write_text("a\n1\n", encoding="utf-8")
    calls = []

    def parse():
        calls.append(1)
        return data.read_text(encoding="utf-8")

    assert kernels.cached_parse([data], parse, "t") == "a\n1\n"
    assert kernels.cached_parse([data], parse, "t") == "a\n1\n"
    assert len(calls) == 1
    data.write_text("a\n2\n", encoding="utf-8")          # same size and date granularity: content decides
    assert kernels.cached_parse([data], parse, "t") == "a\n2\n"
    assert len(calls) == 2


def test_a_stopped_batch_leaves_no_kernel_and_no_fork_server(tmp_path):
    """SIGTERM in the middle of a 2-worker batch: every process it started (workers, their fork servers,
    the kernels forked from them, LibreOffice) is gone soon after ``render`` exits."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    process = subprocess.Popen([sys.executable, "-m", "esante_report", "render", "--date", "2021-11-15", "--deck",
                                "post_covid", "--region", "all", "--out", str(tmp_path / "out"), "--force",
                                "--jobs", "2", "--no-index", "--quiet"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(process.pid)
    seen: dict[int, float] = {}
    forked = False
    deadline = time.monotonic() + 180
    while not forked:  # until a kernel forked by a fork server runs a deck
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        for child in parent.children(recursive=True):
            try:
                seen[child.pid] = child.create_time()
                if "esante_report.pipeline.fork_server" in " ".join(child.cmdline()) and child.children():
                    forked = True
            except psutil.Error:
                pass
        time.sleep(0.1)
    time.sleep(0.5)
    for child in parent.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            seen[child.pid] = child.create_time()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr

    def alive() -> list[str]:
        left = []
        for pid, created in seen.items():
            try:
                p = psutil.Process(pid)
                if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"{pid} {' '.join(p.cmdline())[:80]}")
            except psutil.Error:
                pass
        return left

    deadline = time.monotonic() + 20  # a kernel whose fork server ended notices within a second or so
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(), alive()


@pytest.mark.parametrize("two_decks", ["in-process", "in-process, no fork server"], indirect=True)
def test_the_kernels_cpu_time_is_accounted_for(two_decks):
    """Each deck's kernel burns 1 s of CPU: the processes this test waited for (workers, fork servers, and the
    kernels these reaped) account for at least that much, as the benchmark's CPU figures rely on it. In this
    process, so that the rendering's own CPU (not a child's) cannot make up for a kernel left uncounted."""
    *_, decks, cpu = two_decks
    assert cpu >= decks * 1.0, (decks, cpu)


def test_a_killed_render_leaves_no_process(tmp_path):
    """SIGKILL of ``render`` in the middle of a 2-worker batch, once its kernels and LibreOffice run: 10 s later
    no process it started is left (pool workers, the resource tracker, fork servers, kernels, UNO workers,
    LibreOffice), and no deck is published after it died. Its processes are found by a marker in their
    environment, which every process started from it inherits."""
    import secrets
    import shutil
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from .test_soffice import processes_with_env

    marker = f"esr-killed-render-{secrets.token_hex(8)}"
    shutil.copytree(DATA, tmp_path / "data")
    shutil.copytree(PARAMS, tmp_path / "params")
    out = tmp_path / "out"
    env = {**os.environ, "ESR_TEST_RUN": marker, "PYTHONWARNINGS": "ignore"}
    with open(tmp_path / "stderr.txt", "wb") as stderr:
        render = subprocess.Popen([sys.executable, "-m", "esante_report", "render", "--date", "2021-11-15",
                                   "--region", "all", "--jobs", "2", "--data", str(tmp_path / "data"),
                                   "--params", str(tmp_path / "params"), "--out", str(out), "--quiet"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)

    def running() -> tuple[bool, bool]:
        """(a kernel forked by a fork server runs, a soffice.bin runs)"""
        kernel = office = False
        for line in processes_with_env(marker):
            pid = int(line.split()[0])
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                office = office or process.name().startswith("soffice.bin")
                kernel = kernel or ("esante_report.pipeline.fork_server" in " ".join(process.cmdline())
                                    and "esante_report.pipeline.fork_server" in " ".join(process.parent().cmdline()))
        return kernel, office

    try:
        deadline = time.monotonic() + 300
        while running() != (True, True):
            assert render.poll() is None and time.monotonic() < deadline, (tmp_path / "stderr.txt").read_text()
            time.sleep(0.2)
        assert len(processes_with_env(marker)) >= 8, processes_with_env(marker)
        render.kill()
        render.wait(10)
        killed_at = time.time()
        time.sleep(10)
        left = processes_with_env(marker)
    finally:
        for line in processes_with_env(marker):  # so that a failure of this test leaves nothing behind
            with contextlib.suppress(OSError):
                os.kill(int(line.split()[0]), signal.SIGKILL)
    assert not left, "\n".join(left)
    published = [p for p in (out / "2021-11-15").glob("*.pdf") if p.stat().st_mtime > killed_at + 1]
    assert not published, published
