"""One LibreOffice per rendering process for the Impress copies (esante_report.formats.soffice).

What a user of a batch sees: every deck's ``.odp`` opens and shows its slides, one LibreOffice served
all the decks of a process, a converter that dies or hangs costs one deck a one-shot conversion, and no
LibreOffice is left running after the process ends, however it ends.
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from esante_report.formats import soffice

from .conftest import DATA, PARAMS, ROOT

pytestmark = pytest.mark.skipif(soffice.command() is None or soffice.uno_python() is None,
                                reason="needs LibreOffice and python3-uno (.ci/system-deps)")


def _running(token: str) -> list[str]:
    """Command lines of the processes that hold ``token`` (a converter's pipe name)."""
    done = subprocess.run(["pgrep", "-af", token], capture_output=True, text=True, check=False)
    return [line for line in done.stdout.splitlines() if "pgrep" not in line]


def _soffice_bin(token: str) -> list[str]:
    return [line for line in _running(token) if "soffice.bin" in line]


def _odp_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        assert z.read("mimetype") == b"application/vnd.oasis.opendocument.presentation"
        return z.read("content.xml").decode("utf-8")


def _small_pptx(path: Path, *titles: str) -> Path:
    from pptx import Presentation

    prs = Presentation()
    for title in titles:
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        slide.shapes.title.text = title
    prs.save(str(path))
    return path


@pytest.fixture
def fresh(monkeypatch):
    """This test's own converter state (the session's converter, if any, is left alone), stopped after."""
    monkeypatch.setattr(soffice, "_state", {"pid": os.getpid(), "converter": None, "starts": 0, "error": None})
    calls: list[str] = []
    one_shot = soffice.convert_once

    def counted(pptx, odp, **kw):
        calls.append(Path(pptx).name)
        return one_shot(pptx, odp, **kw)

    monkeypatch.setattr(soffice, "convert_once", counted)
    yield calls
    soffice.shutdown()


def test_one_libreoffice_converts_both_seed_decks(rendered, tmp_path) -> None:
    from .test_pptx_export import _html_titles, _soup

    converter = soffice.Converter(soffice.command(), soffice.uno_python())
    try:
        for deck in ("post_covid", "catalogue"):
            converter.convert(rendered[deck].html.with_suffix(".pptx"), tmp_path / f"{deck}.odp")
        assert len(converter.pids) == 2 and converter.pids[0] is not None
        assert converter.pids[0] == converter.pids[1], "each deck got a LibreOffice of its own"
        assert Path(f"/proc/{converter.pids[0]}/comm").read_text().strip() == "soffice.bin"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["catalogue.odp", "post_covid.odp"]  # no .part left
    finally:
        converter.close()
    for deck in ("post_covid", "catalogue"):
        content = _odp_text(tmp_path / f"{deck}.odp")
        assert content.count("<draw:page ") == rendered[deck].slides
        shown = re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", content)))
        titles = [t for t in _html_titles(_soup(rendered, deck)) if t]
        assert titles and all(re.sub(r"\s+", "", t) in shown or re.sub(r"\s+", "", t).upper() in shown.upper()
                              for t in titles)
    assert not _running(converter.pipe), "LibreOffice still running after close()"
    assert not Path(converter.folder).exists(), "the private profile was left behind"


def test_the_render_converted_its_decks_through_the_persistent_converter(rendered) -> None:
    """The session's renders went through this process's LibreOffice, not one per deck."""
    for deck in ("post_covid", "catalogue"):
        assert _odp_text(rendered[deck].html.with_suffix(".odp")).count("<draw:page ") == rendered[deck].slides
    state = soffice.status()
    assert state["starts"] == 1 and state["alive"], state
    assert len(state["pids"]) >= 2 and len(set(state["pids"])) == 1, state


def test_without_a_uno_python_the_one_shot_conversion_writes_the_odp(tmp_path, monkeypatch, fresh) -> None:
    monkeypatch.setenv(soffice.UNO_PYTHON_ENV, sys.executable)  # the venv's Python: no uno
    pptx = _small_pptx(tmp_path / "a.pptx", "Première diapositive")
    assert soffice.convert(pptx, tmp_path / "a.odp") is None
    assert "Première diapositive" in _odp_text(tmp_path / "a.odp")
    assert fresh == ["a.pptx"]
    assert soffice.status()["error"] == "no Python with uno"


def test_a_hung_then_a_killed_converter_is_replaced_then_given_up(tmp_path, monkeypatch, fresh) -> None:
    monkeypatch.setattr(soffice, "_MAX_STARTS", 2)
    decks = [_small_pptx(tmp_path / f"d{n}.pptx", f"Diapositive numéro {n}") for n in range(4)]
    assert soffice.convert(decks[0], tmp_path / "d0.odp") is None and fresh == []
    first = soffice.status()
    # LibreOffice hangs: the deck waits its timeout, then gets a one-shot conversion
    os.kill(first["pids"][0], signal.SIGSTOP)
    assert soffice.convert(decks[1], tmp_path / "d1.odp", timeout=3) is None
    assert fresh == ["d1.pptx"] and "did not answer" in soffice.status()["error"]
    assert not _running(first["pipe"]), "the hung LibreOffice was left running"
    # the next deck gets a new LibreOffice (second and last start)
    assert soffice.convert(decks[2], tmp_path / "d2.odp") is None and fresh == ["d1.pptx"]
    second = soffice.status()
    assert second["starts"] == 2 and second["pids"][0] != first["pids"][0]
    # the UNO process is killed: no start left, the deck gets a one-shot conversion, nothing is left running
    soffice._state["converter"].proc.kill()
    assert soffice.convert(decks[3], tmp_path / "d3.odp") is None and fresh == ["d1.pptx", "d3.pptx"]
    assert not _running(second["pipe"])
    for n in range(4):
        assert f"Diapositive numéro {n}" in _odp_text(tmp_path / f"d{n}.odp")


def test_a_file_libreoffice_cannot_open_gets_one_line_and_the_converter_stays(tmp_path, fresh) -> None:
    bad = tmp_path / "bad.pptx"
    bad.write_bytes(b"PK\x03\x04 not a presentation")
    good = _small_pptx(tmp_path / "good.pptx", "Diapositive suivante")
    said = soffice.convert(bad, tmp_path / "bad.odp")
    assert said and said.startswith("LibreOffice could not convert bad.pptx") and "\n" not in said
    assert fresh == ["bad.pptx"] and not (tmp_path / "bad.odp").exists()
    assert soffice.convert(good, tmp_path / "good.odp") is None and fresh == ["bad.pptx"]
    state = soffice.status()
    assert state["starts"] == 1 and state["alive"] and len(state["pids"]) == 1
    assert "Diapositive suivante" in _odp_text(tmp_path / "good.odp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pptx", "good.odp", "good.pptx"]


_SCRIPT = """
import sys, time
from esante_report.formats import soffice
assert soffice.convert(sys.argv[1], sys.argv[2]) is None
state = soffice.status()
print(state["pipe"], soffice._state["converter"].folder, state["pids"][0], flush=True)
if sys.argv[3] == "wait":
    time.sleep(120)
"""


def _script(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, str, str, int]:
    pptx = _small_pptx(tmp_path / "s.pptx", "Diapositive du script")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(pptx), str(tmp_path / "s.odp"), mode],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    pipe, folder, pid = proc.stdout.readline().split()
    return proc, pipe, folder, int(pid)


def _gone(pid: int) -> bool:
    try:
        return "soffice.bin" not in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return True


def test_no_libreoffice_is_left_when_the_process_exits(tmp_path) -> None:
    proc, pipe, folder, pid = _script(tmp_path, "exit")
    assert proc.wait(timeout=60) == 0
    assert not _running(pipe) and _gone(pid) and not Path(folder).exists()
    assert "Diapositive du script" in _odp_text(tmp_path / "s.odp")


def test_no_libreoffice_is_left_when_the_process_is_killed(tmp_path) -> None:
    proc, pipe, folder, pid = _script(tmp_path, "wait")
    assert _soffice_bin(pipe) and not _gone(pid), "no LibreOffice while the process runs"
    proc.kill()  # no atexit, no finalizer: the UNO process notices and stops LibreOffice
    proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while _running(pipe) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(pipe) and _gone(pid) and not Path(folder).exists()


def test_a_converter_whose_reader_is_gone_stops_its_libreoffice(tmp_path) -> None:
    """The UNO process cannot say "ready" (the process that reads it is dying, its end of the pipe closed):
    it stops the LibreOffice it started and removes its folder, instead of ending with a traceback and
    leaving LibreOffice running."""
    folder, pipe = tmp_path / "uno", f"esr-uno-test-{os.getpid()}-{time.monotonic_ns()}"
    folder.mkdir()
    proc = subprocess.Popen([soffice.uno_python(), str(soffice._WORKER), soffice.command(), str(folder), pipe, "60"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env={**os.environ, "TMPDIR": str(folder)})  # as soffice does
    proc.stdout.close()  # nobody reads what it says; its parent (this process) stays
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        stderr = proc.stderr.read().decode("utf-8", "replace")
        assert proc.poll() == 1 and "Traceback" not in stderr, (proc.poll(), stderr)
        deadline = time.monotonic() + 10
        while _running(pipe) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _running(pipe) and not folder.exists()
    finally:
        for line in _running(pipe):
            os.kill(int(line.split()[0]), signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()


def _pool_convert(pptx: str, odp: str) -> str:
    assert soffice.convert(pptx, odp) is None
    return soffice.status()["pipe"]


def test_no_libreoffice_is_left_by_the_workers_of_a_pool(tmp_path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    decks = [_small_pptx(tmp_path / f"p{n}.pptx", f"Diapositive du lot {n}") for n in range(2)]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pipes = list(pool.map(_pool_convert, [str(p) for p in decks], [str(p.with_suffix(".odp")) for p in decks]))
    assert all(pipes)
    assert all(not _running(p) for p in pipes), [_running(p) for p in pipes]
    for n in range(2):
        assert f"Diapositive du lot {n}" in _odp_text(tmp_path / f"p{n}.odp")


@pytest.mark.parametrize(("sig", "code", "said"), [(signal.SIGTERM, 143, "terminated"),
                                                 (signal.SIGINT, 130, "interrupted")])
def test_sigterm_or_ctrl_c_of_render_leaves_no_libreoffice(tmp_path, sig, code, said) -> None:
    """LibreOffice starts while the kernel runs the notebook; SIGTERM or Ctrl-C of render stops it too."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "esante_report", "render", "--date", "2021-11-15", "--deck",
                             "post_covid", "--data", str(DATA), "--params", str(PARAMS), "--out",
                             str(tmp_path / "out"), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    token = f"esr-uno-{proc.pid}-"
    try:
        deadline = time.monotonic() + 90
        # seen once is enough: with a fresh profile, soffice.bin ends at once and oosplash starts it again
        while not (seen := _soffice_bin(token)) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert seen, ("render did not start its LibreOffice early", proc.poll(), _running("esr-uno-"))
        proc.send_signal(sig)
        err = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code and said in err, (proc.returncode, err)
    assert not _running(token), _running(token)


def processes_with_env(marker: str) -> list[str]:
    """The processes (other than this one) whose environment holds ``marker``, as ``pid command line``: every
    process started by one that had it in its environment, however far down, unless one cleared it."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            if marker.encode() not in Path(f"/proc/{name}/environ").read_bytes():
                continue
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":  # a zombie is already dead (its parent has yet to read its status)
            found.append(f"{name} [{state}] {cmdline[:100]}")
    return found


def test_a_hung_one_shot_conversion_is_killed_with_everything_it_started(tmp_path, monkeypatch) -> None:
    """The one-shot ``soffice --convert-to`` hangs (here a stand-in whose child is stopped, as a stopped
    soffice.bin would be): past its timeout the deck gets one line, and no process of it is left."""
    import secrets

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "soffice"
    fake.write_text("#!/bin/sh\nsleep 300 >/dev/null 2>&1 &\nkill -STOP $!\nexec sleep 300\n", encoding="utf-8")
    fake.chmod(0o755)
    marker = f"esr-one-shot-{secrets.token_hex(8)}"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("ESR_TEST_RUN", marker)
    assert soffice.command() == str(fake)
    pptx = _small_pptx(tmp_path / "h.pptx", "Diapositive bloquée")
    started = time.monotonic()
    said = soffice.convert_once(pptx, tmp_path / "h.odp", timeout=3)
    assert said == "LibreOffice could not convert h.pptx (TimeoutExpired): the .odp was skipped"
    assert time.monotonic() - started < 30
    deadline = time.monotonic() + 5
    while processes_with_env(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not processes_with_env(marker), processes_with_env(marker)
    assert not (tmp_path / "h.odp").exists()
