"""The runner, the cache and publishing under stress (issue 15): another --data re-renders, a deck is published in
one step whatever kills the run, nothing is deleted through a link, cells time out, SIGTERM cleans up, a service that
is not Dask is given up, cells are numbered as JupyterLab does, a cell's stray files are reported, and an --out
holding a non-UTF-8 byte works.

The decks of this module are rendered into an --out whose name holds the byte 0xFF.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from esante_report.pipeline import batch as batch_mod
from esante_report.outdir import fs as outfs
from esante_report.outdir import versions
from esante_report.errors import EsanteReportError
from esante_report.paths import notebooks_dir

from .conftest import DATA, PARAMS, ROOT, normalise, pdf_pages_text

pytestmark = pytest.mark.e2e

DATE = "2021-11-15"
#: IDF, August 2021, men: 54 in the shipped data; the other --data says 57 (IDF's total 134 becomes 137)
OLD_ROW, NEW_ROW = "IDF 2 54 78 134", "IDF 2 57 78 137"


def _cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "esante_report", *args], capture_output=True, encoding="utf-8",
                          errors="surrogateescape", cwd=ROOT, timeout=timeout,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def _errors(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def _pdf_text(path: Path) -> str:
    return " ".join(pdf_pages_text(path))


def _html_text(source: Path | bytes) -> str:
    from bs4 import BeautifulSoup

    html = source.decode("utf-8") if isinstance(source, bytes) else source.read_text(encoding="utf-8")
    return normalise(BeautifulSoup(html, "html.parser").get_text(" "))


def _version_files(out: Path) -> dict[str, bytes]:
    version = versions.version_of(out / DATE, "post_covid")
    assert version is not None
    return {p.name: p.read_bytes() for p in version.iterdir()}


@pytest.fixture(scope="module")
def switched(tmp_path_factory) -> dict:
    """post_covid rendered with the shipped data, then with another --data where one figure differs."""
    root = tmp_path_factory.mktemp("runner")
    out = root / os.fsdecode(b"sortie-\xff")  # not UTF-8: every path written to JSON must cope
    other = root / "autres-donnees"
    shutil.copytree(DATA, other)
    patients = other / "post_covid" / "patients.csv"
    text = patients.read_text(encoding="utf-8")
    assert text.count("3,IDF,2021-08,hommes,54\n") == 1
    patients.write_text(text.replace("3,IDF,2021-08,hommes,54\n", "3,IDF,2021-08,hommes,57\n"), encoding="utf-8")
    args = ["render", "--date", DATE, "--deck", "post_covid", "--params", str(PARAMS), "--out", str(out)]
    first = _cli(*args, "--data", str(DATA))
    assert first.returncode == 0, first.stderr
    old = _version_files(out)
    second = _cli(*args, "--data", str(other))
    new = _version_files(out)
    return {"out": out, "other": other, "args": args, "first": first, "second": second, "old": old, "new": new}


def test_an_out_folder_with_a_non_utf8_byte_works(switched):
    assert f"{DATE}/post_covid: rendered" in switched["first"].stdout
    pdf = switched["out"] / DATE / "post_covid.pdf"
    assert pdf.is_file() and (switched["out"] / DATE / "post_covid.html").is_file()
    assert OLD_ROW in _html_text(switched["old"]["post_covid.html"])  # the first render, before --data changed
    assert os.fsencode(switched["out"]).endswith(b"sortie-\xff")
    assert os.fsencode(str(pdf)) in switched["first"].stdout.encode("utf-8", "surrogateescape")  # "wrote …"


def test_switching_data_re_renders_and_the_new_figure_is_published(switched):
    second = switched["second"]
    assert second.returncode == 0, second.stderr
    assert f"{DATE}/post_covid: rendered" in second.stdout, second.stdout
    out = switched["out"]
    assert NEW_ROW in _pdf_text(out / DATE / "post_covid.pdf")
    assert NEW_ROW in _html_text(out / DATE / "post_covid.html")
    # the same --data again: up to date; back to the shipped data: rendered again, old figure back
    again = _cli(*switched["args"], "--data", str(switched["other"]))
    assert f"{DATE}/post_covid: up to date" in again.stdout, again.stdout
    back = _cli(*switched["args"], "--data", str(DATA), "--no-index")
    assert f"{DATE}/post_covid: rendered" in back.stdout, back.stdout
    assert OLD_ROW in _pdf_text(out / DATE / "post_covid.pdf")
    # the current version and the one it replaced are kept (three renders: the first one is gone)
    kept = {p.name for p in (out / DATE / versions.VERSIONS).iterdir() if p.is_dir() and not p.is_symlink()}
    assert len(kept) == 2 and versions.version_of(out / DATE, "post_covid").name in kept, kept
    # the index links to the public names
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{DATE}/post_covid.pdf"' in index


# --------------------------------------------------------------------------- one-step publishing

_KILLER = """
import os, signal, sys
from pathlib import Path
from esante_report.outdir import versions
stop, calls = int(sys.argv[1]), []
def hook(step):
    calls.append(step)
    if len(calls) - 1 == stop:
        os.kill(os.getpid(), signal.SIGKILL)
versions.STEP_HOOK = hook
versions.switch([Path(p) for p in sys.argv[3:]], Path(sys.argv[2]), "post_covid")
"""


def _stage(files: dict[str, bytes], folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def _start(kind: str, old: dict[str, bytes], root: Path) -> Path:
    """A date folder where the old deck is published: by this toolkit (links) or by an older one (plain files)."""
    folder = root / DATE
    if kind == "plain":
        _stage(old, folder)
    else:
        folder.mkdir(parents=True)
        versions.switch(_stage(old, root / "build-old"), folder, "post_covid")
    return folder


def _seen(folder: Path, old: dict[str, bytes], new: dict[str, bytes]) -> str:
    """Which deck a reader opening the public HTML and PDF sees: 'old' or 'new', and both files agree."""
    html, pdf = folder / "post_covid.html", folder / "post_covid.pdf"
    assert html.is_file() and pdf.is_file(), sorted(os.listdir(folder))
    seen = {"html": html.read_bytes(), "pdf": pdf.read_bytes()}
    for label, deck in (("old", old), ("new", new)):
        if seen["html"] == deck["post_covid.html"] and seen["pdf"] == deck["post_covid.pdf"]:
            row = OLD_ROW if label == "old" else NEW_ROW
            assert row in _pdf_text(pdf) and row in _html_text(html)  # what a reader sees agrees too
            return label
    raise AssertionError("the public HTML and PDF are not the two files of one deck")


@pytest.mark.parametrize("kind", ["links", "plain"])
def test_a_kill_between_any_two_publishing_steps_leaves_one_whole_deck(switched, tmp_path, kind):
    old, new = switched["old"], switched["new"]
    steps: list[str] = []
    versions.STEP_HOOK = steps.append
    try:
        probe = _start(kind, old, tmp_path / "probe")
        versions.STEP_HOOK = steps.append
        steps.clear()
        versions.switch(_stage(new, tmp_path / "probe" / "build"), probe, "post_covid")
    finally:
        versions.STEP_HOOK = None
    assert "switch" in steps and len(steps) >= 5, steps
    seen = []
    for stop in range(len(steps)):
        root = tmp_path / f"kill-{stop}"
        folder = _start(kind, old, root)
        files = _stage(new, root / "build")
        killed = subprocess.run([sys.executable, "-c", _KILLER, str(stop), str(folder), *map(str, files)],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        seen.append(_seen(folder, old, new))
        # the next publish completes and tidies what the killed one left
        versions.switch(_stage(new, root / "build-again"), folder, "post_covid")
        assert _seen(folder, old, new) == "new"
        assert versions.unexpected_files(folder) == []
    # killed before the switch: the old deck, whole; after it: the new one, whole
    switch = steps.index("switch")
    assert seen == ["old"] * (switch + 1) + ["new"] * (len(steps) - switch - 1), list(zip(steps, seen))


def test_a_link_planted_at_a_public_name_is_replaced_not_followed(switched, tmp_path):
    folder = tmp_path / DATE
    folder.mkdir()
    victim = tmp_path / "victim.pdf"
    victim.write_bytes(b"precious")
    (folder / "post_covid.pdf").symlink_to(victim)
    versions.switch(_stage(switched["new"], tmp_path / "build"), folder, "post_covid")
    assert victim.read_bytes() == b"precious"
    assert (folder / "post_covid.pdf").read_bytes() == switched["new"]["post_covid.pdf"]
    (folder / versions.VERSIONS / "post_covid").unlink()
    (folder / versions.VERSIONS / "post_covid").symlink_to(tmp_path, target_is_directory=True)  # planted pointer
    assert not versions.current_file(folder / "post_covid.pdf")  # the index does not list it
    versions.switch(_stage(switched["old"], tmp_path / "build-2"), folder, "post_covid")
    assert victim.read_bytes() == b"precious" and os.readlink(folder / versions.VERSIONS / "post_covid") != str(tmp_path)


def test_planted_and_missing_files_of_a_date_are_reported_and_rendered_again(switched, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(switched["out"], out, symlinks=True)
    kwargs = dict(decks=["post_covid"], data_dir=DATA, params_dir=PARAMS, out_dir=out, notebooks=notebooks_dir())
    clean = batch_mod.plan([DATE], **kwargs)
    assert clean.warnings == [] and [r.name for r in clean.up_to_date] == ["post_covid"]
    (out / DATE / "planted.html").write_text("<p>pas de nous</p>", encoding="utf-8")
    (out / DATE / "post_covid.pdf").unlink()  # as a notebook cell might do
    the_plan = batch_mod.plan([DATE], **kwargs)
    assert [j.name for j in the_plan.jobs] == ["post_covid"]
    assert len(the_plan.warnings) == 1 and "planted.html: unexpected file, not written by esante-report" \
        in the_plan.warnings[0]


# --------------------------------------------------------------------------- links in the cache and failed/

def test_a_linked_cache_folder_is_refused_before_anything_is_deleted_or_published(tmp_path):
    out = tmp_path / "out"
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "post_covid.json").write_text("precious", encoding="utf-8")
    (out / ".esante-cache").mkdir(parents=True)
    (out / ".esante-cache" / DATE).symlink_to(victim, target_is_directory=True)
    result = _cli("render", "--date", DATE, "--deck", "post_covid", "--force", "--out", str(out), "--no-index",
                  "--quiet", timeout=300)
    assert result.returncode == 1
    errors = _errors(result.stderr)
    assert len(errors) == 1 and "is a symbolic link; refusing to write or delete through it" in errors[0], errors
    assert (victim / "post_covid.json").read_text(encoding="utf-8") == "precious"
    assert not os.path.lexists(out / DATE / "post_covid.pdf")  # nothing was published, then called failed


def _executed_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f'report_date = "{DATE}"', metadata={"tags": ["parameters"]})
    title = nbformat.v4.new_markdown_cell("# Une diapositive d'essai")
    chart = nbformat.v4.new_code_cell("display(table)")
    chart.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<p>Chiffre d'essai : 42</p>"})]
    nb.cells = [params, title, chart]
    nbformat.write(nb, path)
    return path


def test_export_keeps_a_rejected_pdf_without_following_a_link(tmp_path, monkeypatch):
    from esante_report.cli import export as cli_export
    from esante_report.checks import layout as pdfcheck
    from esante_report.errors import ExportError

    notebook = _executed_notebook(tmp_path / "essai.ipynb")
    out = tmp_path / "out"
    (out / "failed").mkdir(parents=True)
    victim = tmp_path / "victim.pdf"
    victim.write_bytes(b"precious")
    (out / "failed" / "essai.pdf").symlink_to(victim)

    def reject(*args, **kwargs):
        raise ExportError("PDF check failed: refusé pour ce test")

    monkeypatch.setattr(pdfcheck, "check_pdf", reject)
    with pytest.raises(ExportError, match=r"refusé pour ce test \(rejected PDF kept in .*failed/essai\.pdf\)"):
        cli_export.export_notebook(notebook, "post_covid", out_dir=out)
    assert victim.read_bytes() == b"precious"
    kept = out / "failed" / "essai.pdf"
    assert not kept.is_symlink() and kept.read_bytes().startswith(b"%PDF")
    assert not os.path.lexists(out / "essai.pdf")


def test_export_refuses_a_linked_failed_folder_in_one_line(tmp_path, capsys):
    from esante_report.cli import main as cli

    notebook = _executed_notebook(tmp_path / "essai.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "essai.pdf").write_bytes(b"precious")
    (out / "failed").symlink_to(victim, target_is_directory=True)
    assert cli.main(["export", str(notebook), "--deck", "post_covid", "--out", str(out)]) == 1
    errors = _errors(capsys.readouterr().err)
    assert len(errors) == 1 and "failed: is a symbolic link; refusing to write or delete through it" in errors[0]
    assert (victim / "essai.pdf").read_bytes() == b"precious" and sorted(os.listdir(victim)) == ["essai.pdf"]


def test_export_honours_source_date_epoch(tmp_path, monkeypatch):
    from esante_report.cli import export as cli_export

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1637000000")
    notebook = _executed_notebook(tmp_path / "essai.ipynb")
    first = cli_export.export_notebook(notebook, "post_covid", out_dir=tmp_path / "un")
    second = cli_export.export_notebook(notebook, "post_covid", out_dir=tmp_path / "deux")
    assert first.pdf.read_bytes() == second.pdf.read_bytes()
    assert first.html.read_bytes() == second.html.read_bytes()
    from pypdf import PdfReader

    assert PdfReader(str(first.pdf)).metadata["/CreationDate"].startswith("D:20211115")


# --------------------------------------------------------------------------- notebooks that misbehave

def _notebook_dir(root: Path, *cells: str) -> Path:
    """A notebooks folder whose post_covid.ipynb is a Markdown title, the parameters cell, then ``cells``."""
    folder = root / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Essai"),
                nbformat.v4.new_code_cell("\n".join(f"{name} = None" for name in (
                    "report_date", "wave", "months", "issuer", "data_dir", "params_dir", "region")),
                    metadata={"tags": ["parameters"]}),
                *[nbformat.v4.new_code_cell(source) for source in cells]]
    nbformat.write(nb, folder / "post_covid.ipynb")
    return folder


def _previous_deck(out: Path) -> dict[str, bytes]:
    folder = out / DATE
    folder.mkdir(parents=True)
    for suffix in (".html", ".pdf", ".ipynb"):
        (folder / f"post_covid{suffix}").write_bytes(b"previous " + suffix.encode())
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_cell_that_never_ends_is_stopped_and_named(tmp_path):
    from esante_report.pipeline.render import render_date

    notebooks = _notebook_dir(tmp_path, "x = 1", "while True:\n    pass")
    out = tmp_path / "out"
    before = _previous_deck(out)
    start = time.monotonic()
    with pytest.raises(EsanteReportError) as info:
        render_date(DATE, decks=["post_covid"], out_dir=out, notebooks=notebooks, cell_timeout=3)
    assert time.monotonic() - start < 120
    message = str(info.value)
    assert len(message.splitlines()) == 1
    # JupyterLab numbering: title 1, parameters 2, x = 1 → 3, the loop 4 (papermill's injected cell not counted)
    assert "post_covid.ipynb: cell 4 still running after 3 s, stopped (give more time with --cell-timeout" in message
    assert {p.name: p.read_bytes() for p in (out / DATE).iterdir() if p.is_file()} == before
    kept = nbformat.read(out / DATE / "failed" / "post_covid.ipynb", as_version=4)
    assert "while True" in kept.cells[-1].source


def test_a_failing_cell_is_numbered_as_jupyterlab_shows_it(tmp_path):
    from esante_report.pipeline.render import render_date

    notebooks = _notebook_dir(tmp_path, "x = 1", "raise ValueError('cassé exprès')")
    with pytest.raises(EsanteReportError, match=r"post_covid\.ipynb failed at cell 4 \(In \[\d+\]\): "
                                                r"ValueError: cassé exprès"):
        render_date(DATE, decks=["post_covid"], out_dir=tmp_path / "out", notebooks=notebooks)


def test_a_notebook_runs_in_its_build_folder(tmp_path):
    from esante_report.pipeline.render import render_date

    notebooks = _notebook_dir(tmp_path, "import os\nfrom IPython.display import HTML\n"
                                        "open('egare.txt', 'w').write('x')\nHTML(f'<p>Dossier : {os.getcwd()}</p>')")
    out = tmp_path / "out"
    deck, = render_date(DATE, decks=["post_covid"], out_dir=out, notebooks=notebooks)
    text = _html_text(deck.html)
    assert f"Dossier : {out / outfs.TEMP_PREFIX}" in text, text
    assert not (notebooks / "egare.txt").exists() and not (ROOT / "egare.txt").exists()
    assert not list(out.rglob("egare.txt")) and not [p for p in out.iterdir() if p.name.startswith(".render-")]


# --------------------------------------------------------------------------- SIGTERM, leftovers, Dask

def test_sigterm_cleans_up_like_ctrl_c(tmp_path):
    out = tmp_path / "out"
    before = _previous_deck(out)
    process = subprocess.Popen([sys.executable, "-m", "esante_report", "render", "--date", DATE, "--deck", "post_covid",
                                "--out", str(out), "--force", "--jobs", "1", "--no-index"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(outfs.TEMP_PREFIX) for p in out.iterdir()):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    time.sleep(1.0)  # the kernel is starting or running
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    errors = _errors(stderr)
    assert errors == ["error: terminated (SIGTERM); outputs already published are untouched"], stderr
    assert not [p for p in out.iterdir() if p.name.startswith(outfs.TEMP_PREFIX)]
    assert {p.name: p.read_bytes() for p in (out / DATE).iterdir() if p.is_file()} == before


_SWALLOWED = """
import os, signal, sys, time
import weasyprint.svg
draw = weasyprint.svg.SVG.draw
def interrupted_draw(self, *args, **kwargs):
    # Ctrl-C while WeasyPrint draws a chart: it catches BaseException there, logs, and goes on
    if os.environ.get("ESR_SIGNALLED"):  # once
        draw(self, *args, **kwargs)
        return
    os.environ["ESR_SIGNALLED"] = "1"
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    time.sleep(5)
weasyprint.svg.SVG.draw = interrupted_draw
from esante_report.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_an_interruption_a_library_swallows_still_stops_the_render(tmp_path, signum):
    """WeasyPrint swallows the KeyboardInterrupt raised while it draws a chart: the render still stops at
    once, with its one line, and publishes nothing (before, it went on and published a PDF without that
    chart)."""
    out = tmp_path / "out"
    before = _previous_deck(out)
    process = subprocess.run([sys.executable, "-c", _SWALLOWED, signum, "render", "--date", DATE, "--deck",
                              "post_covid", "--out", str(out), "--force", "--jobs", "1", "--no-index"], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
    assert process.returncode == {"SIGINT": 130, "SIGTERM": 143}[signum], process.stderr
    assert _errors(process.stderr) == [{
        "SIGINT": "error: interrupted; outputs already published are untouched",
        "SIGTERM": "error: terminated (SIGTERM); outputs already published are untouched"}[signum]], process.stderr
    assert {p.name: p.read_bytes() for p in (out / DATE).iterdir() if p.is_file()} == before
    assert not (out / DATE / "failed").exists()  # a deck cut short is not kept as rejected either
    assert not [p for p in out.iterdir() if p.name.startswith(outfs.TEMP_PREFIX)]


def test_leftovers_of_a_process_that_is_gone_are_removed_at_once(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with outfs.build_folder(out, "vivant") as alive:
        dead = subprocess.Popen([sys.executable, "-c", "import sys, time\n"
                                 "from esante_report.outdir import fs as outfs\n"
                                 "with outfs.build_folder(sys.argv[1], 'mort'):\n"
                                 "    print('ok', flush=True); time.sleep(60)", str(out)],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert dead.stdout.readline().strip() == "ok"
        dead.kill()  # SIGKILL: no clean-up ran
        dead.wait()
        (out / ".render-sans-proprietaire").mkdir()  # no owner recorded: the 24-hour rule applies
        leftover = [p for p in out.iterdir() if p.name.startswith(".render-mort-")]
        assert len(leftover) == 1
        removed = outfs.remove_stale_temp(out)
        assert removed == leftover
        assert alive.is_dir() and (out / ".render-sans-proprietaire").is_dir()


class _FakeService:
    """A TCP server on loopback that accepts and says nothing, or answers garbage."""

    def __init__(self, answer: bytes = b""):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.answer, self.conns = answer, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.answer:
                with contextlib_suppress():
                    conn.sendall(self.answer)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


def contextlib_suppress():
    import contextlib

    return contextlib.suppress(OSError)


@pytest.mark.parametrize("answer, expected", [
    (b"", "no answer from a Dask scheduler within 3 s"),
    (b"HTTP/1.0 200 OK\r\n\r\nbonjour" * 20, "not a Dask scheduler"),
])
def test_a_scheduler_that_is_not_dask_is_given_up_in_one_line(tmp_path, answer, expected):
    service = _FakeService(answer)
    try:
        start = time.monotonic()
        result = _cli("render", "--date", DATE, "--deck", "post_covid", "--out", str(tmp_path / "out"), "--no-index",
                      "--scheduler", f"tcp://127.0.0.1:{service.port}", "--scheduler-timeout", "3", timeout=120)
        assert time.monotonic() - start < 60
    finally:
        service.close()
    assert result.returncode == 1
    errors = _errors(result.stderr)
    assert len(errors) == 1 and expected in errors[0], result.stderr
