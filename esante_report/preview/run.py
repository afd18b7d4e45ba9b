"""``esante-report preview DECK``: watch, rebuild, serve; Ctrl-C stops the server, the kernels and the watcher
and removes the preview's temporary folder."""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
import time
import webbrowser
from pathlib import Path
from typing import TextIO

from esante_report.errors import RenderError

__all__ = ["preview"]

#: the first build, before any change
_FIRST = object()
#: seconds the events of one save are given to arrive, so that one save makes one build
_SETTLE = 0.15


def preview(deck: str, *, date: str | None = None, region: str | None = None, port: int = 0, browser: bool = True,
            data_dir: Path, params_dir: Path, notebooks: Path, stdout: TextIO | None = None,
            ready: threading.Event | None = None) -> int:
    """Serve ``deck`` until interrupted; the URL (with its token) is the first line on ``stdout``."""
    import watchfiles

    from esante_report.pipeline import kernels
    from esante_report.preview.server import PreviewServer
    from esante_report.preview.session import Session, latest_date

    stdout = stdout or sys.stdout
    date = date or latest_date(deck, Path(params_dir))
    if date is None:
        raise RenderError(f"{params_dir}: no params file names deck {deck!r} (give --date YYYY-MM-DD)")
    with kernels.in_process(1_000_000):  # a warm kernel is always ready for the next save
        session = Session(deck, date, region=region, data_dir=data_dir, params_dir=params_dir, notebooks=notebooks)
        stop = threading.Event()
        try:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)  # the server's sockets are added to this loop
            server = PreviewServer(session, port=port, title=f"{deck} — {date}" + (f" — {region}" if region else ""))
            server.attach(loop)
            session.on_change = server.notify
            print(server.url, file=stdout, flush=True)
            pending: queue.Queue = queue.Queue()
            pending.put(_FIRST)
            builder = threading.Thread(target=_builds, args=(session, pending, stop), name="esante-report-preview",
                                       daemon=True)
            watcher = threading.Thread(target=_watch, args=(watchfiles, session, pending, stop),
                                       name="esante-report-preview-watch", daemon=True)
            builder.start()
            watcher.start()
            if browser:
                webbrowser.open(server.url)
            if ready is not None:
                ready.set()
            try:
                loop.run_forever()
            except KeyboardInterrupt:
                pass
            finally:
                stop.set()
                server.stop()
                builder.join(30)
                watcher.join(5)
                loop.close()
        finally:
            stop.set()
            session.close()
    return 0


def _watch(watchfiles, session, pending: queue.Queue, stop: threading.Event) -> None:
    """File events under the folders of what the deck depends on (a maintained watcher, no polling loop)."""
    folders = [str(f) for f in session.folders()]
    for changes in watchfiles.watch(*folders, stop_event=stop, debounce=80, step=40, raise_interrupt=False,
                                    recursive=False):
        pending.put({Path(path) for _, path in changes})


def _builds(session, pending: queue.Queue, stop: threading.Event) -> None:
    """One build at a time, every change queued meanwhile taken at once: the deck shown is always the newest."""
    while not stop.is_set():
        try:
            item = pending.get(timeout=0.2)
        except queue.Empty:
            continue
        first, changed = item is _FIRST, set() if item is _FIRST else set(item)
        time.sleep(_SETTLE)  # an editor's save may come as several events: take them as one change
        while True:
            try:
                more = pending.get_nowait()
            except queue.Empty:
                break
            if more is _FIRST:
                first = True
            else:
                changed |= more
        if first:
            session.build(None)
        elif (real := session.changed(changed)):
            session.build(real)
        else:
            continue
        # A file saved while that build ran may have been read by it or not, and its events may be taken above as
        # no change: the files are compared with what the build started from until they match.
        while not stop.is_set() and (late := session.changed(set(session.watched()))):
            session.build(late)
