"""Writing into <out> is safe: no link followed, no traceback, one line naming the path (issue 12).

None of these tests runs a notebook: papermill is replaced by a stand-in where a failure is needed.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from esante_report.cli import main as cli
from esante_report.outdir import fs as outfs

from .conftest import ROOT


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "esante_report", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def _fake_deck(out: Path, date: str = "2021-11-15", name: str = "post_covid") -> None:
    folder = out / date
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".html", ".pdf", ".ipynb"):
        (folder / f"{name}{suffix}").write_bytes(b"previous " + suffix.encode())


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


# --------------------------------------------------------------------------- S3: links at temporary names

def test_a_link_at_index_tmp_is_never_followed(tmp_path):
    out = tmp_path / "out"
    _fake_deck(out)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    (out / "index.html.tmp").symlink_to(victim)
    (out / "index.html").symlink_to(tmp_path / "victim2.txt")  # a link at the page itself: replaced, not followed
    (tmp_path / "victim2.txt").write_text("precious too", encoding="utf-8")
    result = _cli("index", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert victim.read_text(encoding="utf-8") == "precious"
    assert (tmp_path / "victim2.txt").read_text(encoding="utf-8") == "precious too"
    assert not (out / "index.html").is_symlink() and "Présentations publiées" in (out / "index.html").read_text()


def test_a_link_at_the_lock_file_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / outfs.LOCK_NAME).symlink_to(tmp_path / "elsewhere.lock")
    assert cli.main(["index", "--out", str(out)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert outfs.LOCK_NAME in line and "symbolic link" in line
    assert not (tmp_path / "elsewhere.lock").exists()


# --------------------------------------------------------------------------- S4: failed/ as a link

def test_failed_folder_as_a_link_is_refused_and_nothing_is_deleted_through_it(tmp_path):
    out = tmp_path / "out"
    _fake_deck(out)
    victim = tmp_path / "elsewhere"
    victim.mkdir()
    for name in ("post_covid.ipynb", "post_covid.pdf", "post_covid.html"):
        (victim / name).write_text("not yours", encoding="utf-8")
    (out / "2021-11-15" / "failed").symlink_to(victim, target_is_directory=True)
    result = _cli("render", "--date", "2021-11-15", "--out", str(out), "--quiet", "--jobs", "1")
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert "2021-11-15/failed: is a symbolic link; refusing to write or delete through it" in line
    assert sorted(p.name for p in victim.iterdir()) == ["post_covid.html", "post_covid.ipynb", "post_covid.pdf"]
    assert (out / "2021-11-15" / "post_covid.pdf").read_bytes() == b"previous .pdf"
    assert "2021-11-15  post_covid  failed" in result.stdout  # the summary names it


def test_a_date_folder_as_a_link_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "2021-11-15").symlink_to(elsewhere, target_is_directory=True)
    result = _cli("render", "--date", "2021-11-15", "--out", str(out), "--quiet", "--jobs", "1")
    assert result.returncode == 1
    assert "2021-11-15: is a symbolic link" in _one_error_line(result.stderr)
    assert list(elsewhere.iterdir()) == []


# --------------------------------------------------------------------------- leftovers, strays, locks

def test_stale_temp_folders_are_removed_at_the_start_of_a_render(tmp_path):
    out = tmp_path / "out"
    stale, fresh = out / ".render-2021-11-15-post_covid-old", out / ".render-2021-11-15-post_covid-new"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
        (folder / "post_covid.ipynb").write_text("{}", encoding="utf-8")
    stale_file = out / ".index.html.abc123.tmp"
    stale_file.write_text("half a page", encoding="utf-8")
    two_days_ago = time.time() - 2 * 24 * 3600
    for path in (stale, stale_file):
        os.utime(path, (two_days_ago, two_days_ago))
    params = tmp_path / "params"
    params.mkdir()
    (params / "2021-11-15.yaml").write_text("post_covid:\n  wave: 99\n", encoding="utf-8")  # refused: no render
    result = _cli("render", "--date", "2021-11-15", "--params", str(params), "--out", str(out))
    assert result.returncode == 1
    assert not stale.exists(), "a leftover of a killed run older than a day is removed"
    assert not stale_file.exists()
    assert fresh.exists(), "a recent temporary folder may belong to a run in progress"


def test_the_index_ignores_what_is_not_the_toolkits_own(tmp_path):
    out = tmp_path / "out"
    _fake_deck(out)
    (out / "2020-13-01").mkdir()                       # not a date
    (out / "2020-13-01" / "post_covid.html").write_text("x", encoding="utf-8")
    (out / "notes").mkdir()
    (out / "2021-11-15" / "brouillon.html").write_text("x", encoding="utf-8")  # not a deck
    (out / "2021-12-01").symlink_to(out / "2021-11-15", target_is_directory=True)  # a link: not ours
    result = _cli("index", "--out", str(out))
    assert result.returncode == 0, result.stderr
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "2021-11-15/post_covid.html" in page
    for stray in ("2020-13-01", "brouillon", "2021-12-01", "notes"):
        assert stray not in page, stray


def test_concurrent_index_runs_never_fail(tmp_path):
    out = tmp_path / "out"
    _fake_deck(out)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    runs = [subprocess.Popen([sys.executable, "-m", "esante_report", "index", "--out", str(out)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    for run in runs:
        stdout, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
        assert "Traceback" not in stderr
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert "2021-11-15/post_covid.html" in (out / "index.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- OS errors: one line naming the path

def test_out_that_is_a_regular_file(tmp_path):
    target = tmp_path / "out"
    target.write_text("a file", encoding="utf-8")
    result = _cli("render", "--date", "2021-11-15", "--out", str(target))
    assert result.returncode == 1
    assert _one_error_line(result.stderr) == f"error: {target}: not a folder (expected --out to name a folder)"
    assert target.read_text(encoding="utf-8") == "a file"


@pytest.mark.parametrize("code, reason", [(errno.EROFS, "Read-only file system"),
                                          (errno.EACCES, "Permission denied"),
                                          (errno.ENOSPC, "No space left on device")])
def test_os_errors_writing_the_index_give_one_line(tmp_path, monkeypatch, capsys, code, reason):
    out = tmp_path / "out"
    _fake_deck(out)

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(kwargs.get("dir", args[0] if args else "?")))

    monkeypatch.setattr(outfs.tempfile, "mkstemp", refuse)  # root ignores chmod: simulate the file system
    assert cli.main(["index", "--out", str(out)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {out}: cannot write: {reason}"), line
    assert not (out / "index.html").exists()


def test_read_only_out_when_creating_it(tmp_path, monkeypatch, capsys):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(args[0]))

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert cli.main(["index", "--out", str(tmp_path / "new")]) == 1
    assert _one_error_line(capsys.readouterr().err) == (
        f"error: {tmp_path / 'new'}: cannot write: Read-only file system (expected a folder this user can write to)")


# --------------------------------------------------------------------------- a failing notebook, a full disk

def _failing_papermill(monkeypatch, *, exec_count: int = 5, cell_index: int = 6) -> None:
    """papermill stand-in: writes a partly executed notebook, then fails like a cell raising ValueError."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    def execute_notebook(source, target, **kwargs):
        nb = nbformat.read(source, as_version=4)
        nbformat.write(nb, target)
        raise PapermillExecutionError(cell_index, exec_count, "raise ValueError", "ValueError",
                                      "cassé exprès", ["Traceback ..."])

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)


def test_a_notebook_failure_names_the_cell_as_jupyterlab_shows_it(tmp_path, monkeypatch, capsys):
    _failing_papermill(monkeypatch)
    out = tmp_path / "out"
    assert cli.main(["render", "--date", "2021-11-15", "--out", str(out), "--jobs", "1", "--quiet"]) == 1
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert "post_covid.ipynb failed at cell 7 (In [5]): ValueError: cassé exprès" in line
    assert "partly executed notebook kept in" in line
    assert (out / "2021-11-15" / "failed" / "post_covid.ipynb").stat().st_size > 0
    assert "failed at cell 7 (In [5])" in captured.out  # the summary table


def test_disk_full_while_keeping_the_failed_notebook(tmp_path, monkeypatch, capsys):
    _failing_papermill(monkeypatch)

    def disk_full(fd, data):
        os.close(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outfs, "_write_fd", disk_full)
    out = tmp_path / "out"
    assert cli.main(["render", "--date", "2021-11-15", "--out", str(out), "--jobs", "1", "--quiet",
                     "--no-index"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    # the real error first, then why its evidence could not be kept
    assert "failed at cell 7 (In [5]): ValueError: cassé exprès" in line
    assert "could not be kept" in line and "No space left on device" in line
    failed = out / "2021-11-15" / "failed"
    assert not failed.exists() or list(failed.iterdir()) == [], "no 0-byte notebook, no temporary file"


def test_a_link_at_the_failed_notebook_is_replaced_not_followed(tmp_path, monkeypatch, capsys):
    _failing_papermill(monkeypatch)
    out = tmp_path / "out"
    (out / "2021-11-15" / "failed").mkdir(parents=True)
    victim = tmp_path / "victim.ipynb"
    victim.write_text("precious", encoding="utf-8")
    (out / "2021-11-15" / "failed" / "post_covid.ipynb").symlink_to(victim)
    assert cli.main(["render", "--date", "2021-11-15", "--out", str(out), "--jobs", "1", "--quiet",
                     "--no-index"]) == 1
    assert victim.read_text(encoding="utf-8") == "precious"
    kept = out / "2021-11-15" / "failed" / "post_covid.ipynb"
    assert not kept.is_symlink() and nbformat.read(kept, as_version=4).cells


def test_disk_full_at_the_html_stage_gives_one_line(tmp_path, monkeypatch, capsys):
    import papermill

    from esante_report.formats import web as export

    def execute_notebook(source, target, **kwargs):
        nbformat.write(nbformat.v4.new_notebook(), target)

    def html_disk_full(nb, meta):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "out" / "x.html"))

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    monkeypatch.setattr(export, "build", html_disk_full)
    out = tmp_path / "out"
    _fake_deck(out)
    assert cli.main(["render", "--date", "2021-11-15", "--out", str(out), "--jobs", "1", "--quiet",
                     "--no-index"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line == (f"error: 2021-11-15/post_covid: {tmp_path / 'out' / 'x.html'}: cannot write: "
                    "No space left on device (free some space and render again)")
    assert (out / "2021-11-15" / "post_covid.html").read_bytes() == b"previous .html"
    assert not [p for p in out.iterdir() if p.name.startswith(".render-")]


def test_a_kernel_that_dies_while_starting_is_started_again(tmp_path, monkeypatch, capsys):
    """Kernels started at once by parallel workers can race for their ports; a start-up failure ran no
    cell, so the render starts another kernel instead of failing the deck."""
    import papermill

    calls = []
    real = papermill.execute_notebook

    def flaky(source, target, **kwargs):
        calls.append(source)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(source, target, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    out = tmp_path / "out"
    assert cli.main(["render", "--date", "2020-12-08", "--out", str(out), "--jobs", "1", "--quiet",
                     "--no-index"]) == 0
    assert len(calls) == 2
    assert (out / "2020-12-08" / "catalogue.pdf").exists()
