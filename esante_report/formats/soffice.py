"""One LibreOffice per rendering process for the Impress copies (``.odp``) of its decks.

A one-shot ``soffice --convert-to odp`` spends about a second starting LibreOffice for each deck; a
batch of 19 decks pays it 19 times. Here each process that renders (the ``render`` process, or a
batch worker) starts LibreOffice once, headless, with a private temporary profile, accepting UNO
connections on a named pipe of its own, and converts every PPTX through the UNO API.

The toolkit's interpreter cannot ``import uno``, so the UNO side is a small child process
(:mod:`esante_report.formats.uno_worker`, standard library and ``uno`` only) run by a Python that can: the one
named by ``ESANTE_REPORT_UNO_PYTHON``, else Debian's ``/usr/bin/python3`` (package python3-uno), else
LibreOffice's own ``program/python``. It speaks JSON lines on its stdin/stdout, one request and one
reply per deck.

:func:`convert` has the contract of :func:`convert_once` (None when written, else
one line saying why not) and falls back to it when the converter is unavailable, dies, hangs past its
timeout or fails on a file; a converter that died is started again for a later deck at most
``_MAX_STARTS - 1`` times per process. :func:`warm` starts it early (while a kernel runs the notebook),
and it is stopped (LibreOffice ended, profile removed) when the process exits, pool workers included.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path

from esante_report.formats.uno_worker import processes_with


__all__ = ["Converter", "ConverterError", "convert", "convert_once", "command", "kill_conversions", "warm", "shutdown",
           "kill_now", "status", "UNO_PYTHON_ENV"]

#: environment variable naming the Python that runs the UNO side (one that can ``import uno``)
UNO_PYTHON_ENV = "ESANTE_REPORT_UNO_PYTHON"

#: seconds LibreOffice may take to start and accept a connection, and to convert one deck
_START_TIMEOUT = 60.0
_CONVERT_TIMEOUT = 60.0
#: converters started per process at most (the first one, then restarts after a death or a hang)
_MAX_STARTS = 3

_WORKER = Path(__file__).with_name("uno_worker.py")


class ConverterError(RuntimeError):
    """The persistent converter could not convert a file (said in one line)."""


@lru_cache(maxsize=None)
def _can_import_uno(python: str) -> bool:
    try:
        done = subprocess.run([python, "-c", "import uno"], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=30, env=_child_env(), check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _child_env() -> dict[str, str]:
    """The toolkit's environment without what would point another Python at the venv's modules."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}


def uno_python(soffice: str | None = None) -> str | None:
    """A Python that can ``import uno``, or None (see the module docstring for the order tried)."""
    named = os.environ.get(UNO_PYTHON_ENV)
    if named is not None:
        return named if named and _can_import_uno(named) else None
    candidates = ["/usr/bin/python3"]
    soffice = soffice or command()
    if soffice:
        candidates.append(str(Path(os.path.realpath(soffice)).parent / "python"))
    return next((c for c in candidates if os.access(c, os.X_OK) and _can_import_uno(c)), None)


class Converter:
    """One LibreOffice, and the UNO child process that drives it; :meth:`convert` PPTX files to ODP."""

    def __init__(self, command: str, python: str) -> None:
        self.command, self.python, self.owner = command, python, os.getpid()
        self.pipe = f"esr-uno-{os.getpid()}-{secrets.token_hex(6)}"
        self.folder = tempfile.mkdtemp(prefix="esr-uno-")
        self.pgid: int | None = None
        #: the pid of soffice.bin after each conversion (one pid: one LibreOffice served them all)
        self.pids: list[int | None] = []
        self._lines: queue.Queue = queue.Queue()
        self._ready: bool | None = None
        try:
            self.proc = subprocess.Popen(
                [python, str(_WORKER), command, self.folder, self.pipe, str(_START_TIMEOUT)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env={**_child_env(), "TMPDIR": self.folder},  # LibreOffice's own temporary files go with it
                start_new_session=True, text=True, encoding="utf-8", bufsize=1)
        except OSError:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        _live.add(self)
        threading.Thread(target=self._read, name="esante-report-soffice", daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _reply(self, timeout: float) -> dict:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self._ready = False  # hung: no later reply can be matched to its request
            raise ConverterError(f"LibreOffice did not answer within {timeout:g} s") from None
        if line is None:
            raise ConverterError(f"the LibreOffice converter ended (status {self.proc.wait()})")
        try:
            return json.loads(line)
        except ValueError:
            raise ConverterError(f"the LibreOffice converter said {line.strip()[:120]!r}") from None

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and self._ready is not False

    def wait_ready(self, timeout: float = _START_TIMEOUT + 5) -> None:
        """Wait for LibreOffice to accept; raises :class:`ConverterError` if it cannot."""
        if self._ready:
            return
        if self._ready is False:
            raise ConverterError("the LibreOffice converter failed to start")
        try:
            hello = self._reply(timeout)
        except ConverterError:
            self._ready = False
            raise
        if not hello.get("ready"):
            self._ready = False
            raise ConverterError(f"LibreOffice did not start: {hello.get('error', '')}")
        self._ready, self.pgid = True, hello.get("pgid")

    def convert(self, pptx: Path, odp: Path, timeout: float = _CONVERT_TIMEOUT) -> None:
        """Write ``odp`` (through a temporary name in its folder) from ``pptx``; :class:`ConverterError` if not."""
        pptx, odp = Path(pptx).resolve(), Path(odp).resolve()
        self.wait_ready()
        part = odp.with_name(f".{odp.name}.{os.getpid()}.part")
        try:
            try:
                self.proc.stdin.write(json.dumps({"in": str(pptx), "out": str(part)}) + "\n")
                self.proc.stdin.flush()
            except (OSError, ValueError) as exc:
                raise ConverterError(f"the LibreOffice converter is gone ({type(exc).__name__})") from None
            reply = self._reply(timeout)
            if not reply.get("ok"):
                raise ConverterError(f"LibreOffice could not convert {pptx.name}: {reply.get('error', '')}")
            if not part.is_file():
                raise ConverterError(f"LibreOffice wrote no file for {pptx.name}")
            os.replace(part, odp)
            self.pids.append(reply.get("pid"))
        finally:
            part.unlink(missing_ok=True)

    def close(self, timeout: float = 5.0) -> None:
        """Stop LibreOffice and the UNO process, remove the profile; nothing of them is left running."""
        if self.proc.poll() is None:
            try:
                if self._ready:
                    self.proc.stdin.close()  # the end of its input: it stops LibreOffice, removes the profile
                else:
                    self.proc.terminate()  # still starting LibreOffice: SIGTERM does the same
                self.proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self) -> None:
        """End the UNO process and LibreOffice at once (a hang, a death, a process on its way out).

        LibreOffice goes first, found by its pipe name or its profile folder, with its whole process group
        (oosplash and the soffice.bin it forks), so that no window is left in which the UNO process is gone
        and LibreOffice is not; then the UNO process; then whatever is left, for up to 3 s."""
        self._kill_office()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        for _ in range(60):  # oosplash may fork once more
            if not self._kill_office():
                break
            time.sleep(0.05)
        shutil.rmtree(self.folder, ignore_errors=True)
        _live.discard(self)

    def _kill_office(self) -> bool:
        """SIGKILL every LibreOffice process of this converter and its process group; whether any was found."""
        own_group = os.getpgrp()
        found = [pid for pid in {*processes_with(self.pipe), *processes_with(self.folder)} if pid != self.proc.pid]
        for pid in found:
            with contextlib.suppress(OSError):
                group = os.getpgid(pid)
                if group != own_group:
                    os.killpg(group, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return bool(found)


_state: dict = {"pid": None, "converter": None, "starts": 0, "error": None}
#: every converter not yet killed, the one being closed included (a forked child holds its parent's: skipped)
_live: set[Converter] = set()
_lock = threading.RLock()


def _own_state() -> dict:
    """This process's state (a forked child does not inherit the parent's converter)."""
    if _state["pid"] != os.getpid():
        _state.update(pid=os.getpid(), converter=None, starts=0, error=None)
        import atexit
        from multiprocessing import util

        # a pool worker ends without atexit handlers: multiprocessing's finalizers run, atexit's do not
        atexit.register(shutdown)
        util.Finalize(None, shutdown, exitpriority=10)
    return _state


def _converter() -> Converter | None:
    """This process's converter, started when needed and allowed; None when it cannot be had."""
    state = _own_state()
    current = state["converter"]
    if current is not None and current.alive:
        return current
    if current is not None:  # died since its last deck (its LibreOffice, if any, is ended here)
        state["error"] = f"the LibreOffice converter ended (status {current.proc.poll()})"
        current.kill()
        state["converter"] = None
    if state["starts"] >= _MAX_STARTS:
        return None
    soffice = command()
    python = uno_python(soffice) if soffice else None
    if soffice is None or python is None:
        state["error"] = "no LibreOffice" if soffice is None else "no Python with uno"
        state["starts"] = _MAX_STARTS  # nothing will change within this process
        return None
    state["starts"] += 1
    try:
        state["converter"] = Converter(soffice, python)
    except OSError as exc:
        state["error"] = f"{type(exc).__name__}: {exc}"
        return None
    return state["converter"]


def warm() -> None:
    """Start this process's LibreOffice now (it starts in the background), if it can be started."""
    with _lock:
        _converter()


def convert(pptx: Path, odp: Path, *, timeout: float = _CONVERT_TIMEOUT) -> str | None:
    """Convert ``pptx`` into the Impress file ``odp``: None when written, else one line saying why not.

    Through this process's LibreOffice when it can, else (or when that fails) with a one-shot
    :func:`convert_once`; never raises for a conversion that fails.
    """
    if command() is None:
        return convert_once(pptx, odp)
    with _lock:
        converter = _converter()
        if converter is not None:
            try:
                converter.convert(pptx, odp, timeout=timeout)
                return None
            except ConverterError as exc:
                _state["error"] = str(exc)
                if not converter.alive:  # dead or hung: the next deck gets a new one, if starts are left
                    converter.kill()
                    _state["converter"] = None
    return convert_once(pptx, odp)


def status() -> dict:
    """What this process's converter did: ``starts``, the soffice.bin ``pids`` it used, the last ``error``."""
    with _lock:
        state = _own_state()
        converter = state["converter"]
        return {"starts": state["starts"], "error": state["error"], "alive": bool(converter and converter.alive),
                "pids": list(converter.pids) if converter else [], "pipe": converter.pipe if converter else None}


def shutdown() -> None:
    """Stop this process's LibreOffice (at exit; also safe to call at any time, it starts again on demand)."""
    if _state["pid"] != os.getpid():
        return
    converter, _state["converter"] = _state["converter"], None
    if converter is not None:
        converter.close()


def kill_now() -> None:
    """The process is going away without unwinding (its parent is gone): end its LibreOffice and its one-shot
    conversions at once, from any thread, without waiting for a conversion in progress."""
    kill_conversions()
    # the state's converter, or one that shutdown() is closing (no longer in the state) when the end came; not
    # those a forked child inherited from its parent
    for converter in [c for c in list(_live) if c.owner == os.getpid()]:
        with contextlib.suppress(Exception):
            converter.kill()


# --------------------------------------------------------------------------- the one-shot conversion

def command() -> str | None:
    """The LibreOffice command, or None when LibreOffice is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_once(pptx: Path, odp: Path, *, timeout: float = 180) -> str | None:
    """Convert ``pptx`` into the Impress file ``odp`` with LibreOffice in headless mode.

    Returns None when written, else one line saying why not (LibreOffice missing, conversion
    failed): the Impress copy is a convenience, never a reason for a render to fail. Each
    conversion uses a profile of its own, so parallel renders do not collide.
    """
    soffice = command()
    if soffice is None:
        return "LibreOffice (soffice) not found: the Impress copy (.odp) was skipped"
    pptx, odp = Path(pptx), Path(odp)
    with tempfile.TemporaryDirectory(prefix="esr-soffice-") as tmp:
        profile = Path(tmp) / "profile"
        outdir = Path(tmp) / "out"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAL_", "OOO_"))}
        env["HOME"] = env["TMPDIR"] = tmp  # its temporary files go with its profile
        try:
            done = _run_group([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                               "--nolockcheck", "--convert-to", "odp", "--outdir", str(outdir), str(pptx)],
                              timeout=timeout, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"LibreOffice could not convert {pptx.name} ({type(exc).__name__}): the .odp was skipped"
        made = outdir / f"{pptx.stem}.odp"
        if done.returncode != 0 or not made.is_file():
            detail = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()[-1:]
            return (f"LibreOffice could not convert {pptx.name}"
                    f"{': ' + detail[0][:120] if detail else ''}: the .odp was skipped")
        shutil.move(str(made), str(odp))
    return None


#: process groups of the one-shot conversions running in this process (see kill_conversions)
_groups: set[int] = set()


def _run_group(cmd: list[str], *, timeout: float, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``cmd`` in a process group of its own; past ``timeout``, or if this process is interrupted, the whole
    group is killed (LibreOffice's launcher and the soffice.bin it forks), so nothing is left running."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    _groups.add(proc.pid)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException:
        _kill_group(proc.pid)  # before the launcher is waited for: its pid still names the group
        proc.communicate()
        raise
    finally:
        _groups.discard(proc.pid)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)  # a stopped process ends too
    except OSError:
        pass


def kill_conversions() -> None:
    """End every one-shot conversion of this process now (it is going away without unwinding)."""
    for pgid in list(_groups):
        _kill_group(pgid)
