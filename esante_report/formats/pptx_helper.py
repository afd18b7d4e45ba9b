"""The PowerPoint deck written by a second process while this one lays out the PDF.

Once the notebook has run, a render of one deck at a time leaves the machine's second core idle. So this
process lays out the PDF while a helper process draws the charts' PNG fallbacks and writes the PowerPoint
deck (about 0.8 s), and LibreOffice converts that deck into the Impress copy meanwhile.

The helper is started while the notebook runs (it imports python-pptx and cairosvg then) inside
:func:`beside`, writes every deck of this process one at a time, and ends with the block. It also ends at the
end of its input (this process closed it, or died) and when its parent is gone. Pool workers share the cores
with each other: they write their decks themselves, as does a machine with one core.

    python -m esante_report.formats.pptx_helper PARENT_PID

reads requests on stdin and answers on stdout, each a 4-byte length and its body: a request is the pickled
``(slides, meta, path)`` of one deck (from the process that started it), an answer the JSON ``null`` when
the file was written, else the one-line error.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import struct
import subprocess
import sys
import threading
from pathlib import Path

from esante_report.formats.registry import Pending

__all__ = ["beside", "warm", "submit", "stop"]

_HEADER = struct.Struct(">I")
_lock = threading.Lock()
_state: dict = {"enabled": False, "helper": None}


@contextlib.contextmanager
def beside():
    """While in this block, this process's decks write their PowerPoint file in the helper (when the machine
    has a second core); the helper ends with the block."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    if cores < 2 or _state["enabled"]:
        yield
        return
    _state["enabled"] = True
    try:
        yield
    finally:
        _state["enabled"] = False
        stop()


def warm() -> None:
    """Start the helper now, inside :func:`beside` (while the notebook runs)."""
    with _lock:
        if _state["enabled"] and (_state["helper"] is None or not _state["helper"].alive()):
            _state["helper"] = _Helper()


def submit(slides, meta, path: Path) -> Pending | None:
    """``path`` being written by the helper from ``slides`` and ``meta``; None when there is no helper (the
    caller then writes the deck itself)."""
    with _lock:
        helper = _state["helper"]
        if helper is None or not helper.alive():
            return None
        try:
            return helper.submit(slides, meta, Path(path))
        except (OSError, ValueError, pickle.PicklingError):  # the helper is gone: this deck is written here
            helper.close()
            _state["helper"] = None
            return None


def stop() -> None:
    """End the helper (it has written what it was given)."""
    with _lock:
        helper, _state["helper"] = _state["helper"], None
    if helper is not None:
        helper.close()


class _Helper:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "esante_report.formats.pptx_helper", str(os.getpid())],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     close_fds=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def submit(self, slides, meta, path: Path) -> Pending:
        _send(self.proc.stdin, pickle.dumps((slides, meta, os.fspath(path)), protocol=pickle.HIGHEST_PROTOCOL))
        return _Writing(self, path)

    def close(self) -> None:
        """Ended at once: every deck it was given has been answered (or abandoned), and its interpreter's
        teardown is nobody's wait."""
        self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class _Writing(Pending):
    """One deck's PowerPoint file being written by the helper; its answer is read by a thread of its own, so
    :meth:`finish` may be called by several threads (the Impress conversion waits for it too)."""

    def __init__(self, helper: _Helper, path: Path) -> None:
        self.helper, self.path = helper, path
        self.skipped: str | None = None
        self.done = threading.Event()
        threading.Thread(target=self._answer, name="esante-report-pptx", daemon=True).start()

    def _answer(self) -> None:
        try:
            body = _receive(self.helper.proc.stdout)
            error = json.loads(body) if body is not None else "the helper process ended"
        except (OSError, ValueError) as exc:
            error = f"the helper process could not be read ({type(exc).__name__})"
        if error is not None:
            self.skipped = f"the PowerPoint copy was skipped: {' '.join(str(error).split())[:200]}"
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)
        self.done.set()

    def finish(self) -> Path | None:
        self.done.wait()
        return None if self.skipped else self.path

    def abandon(self) -> None:
        """The deck failed: the helper is stopped (it may still be writing into a folder about to go)."""
        if not self.done.is_set():
            with _lock:
                if _state["helper"] is self.helper:
                    _state["helper"] = None
            self.helper.proc.kill()
            self.done.wait(5)


def _send(stream, body: bytes) -> None:
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def _receive(stream) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    size = _HEADER.unpack(header)[0]
    body = stream.read(size)
    return body if len(body) == size else None


def main(parent: int) -> int:
    """The helper: one deck per request, until the end of its input or its parent is gone."""
    import signal

    from esante_report.slides.notebook import lighter_imports

    lighter_imports()  # before anything imports nbformat
    from esante_report.formats import pptx
    from esante_report.pipeline import lifeline

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the render's to handle; it closes our input
    lifeline.watch_parent(parent, lambda: os._exit(1))
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not reach the answers
    pptx.warm()
    from esante_report.formats import web  # noqa: F401 - what a request unpickles (DeckMeta): imported now
    while (body := _receive(requests)) is not None:
        slides, meta, path = pickle.loads(body)  # from the process that started this one
        try:
            pptx.write_pptx(slides, meta, Path(path))
            error = None
        except Exception as exc:  # noqa: BLE001 - said to the render, which goes on without the file
            error = f"{type(exc).__name__}: {exc}"
        _send(answers, json.dumps(error).encode("utf-8"))
    return 0


if __name__ == "__main__":  # pragma: no cover - run by _Helper
    sys.exit(main(int(sys.argv[1])))
