"""An interruption is never lost: Ctrl-C or SIGTERM is recorded here as well as raised.

A library may catch the ``KeyboardInterrupt`` a signal raises and go on: WeasyPrint draws each SVG image
inside ``except BaseException`` and only logs the failure. A render interrupted there would finish its deck,
a chart missing, and publish it after its command was stopped (or after a pool worker's ``render`` died).
The signal handlers record the interruption (:func:`record`); :func:`~esante_report.pipeline.stages.write_formats`
raises it again (:func:`check`) after each file is written, before a failed check keeps a file, and before
it hands the files on to be published.

Signals reach the main thread only, so only the main thread raises it again: a preview's builder thread
has a stop of its own.
"""

from __future__ import annotations

import threading

__all__ = ["record", "check", "clear"]

_recorded: list[BaseException] = []


def record(exc: BaseException) -> BaseException:
    """Remember ``exc`` (a ``KeyboardInterrupt``) as this process's interruption, and return it to raise."""
    if not _recorded:
        _recorded.append(exc)
    return exc


def check() -> None:
    """In the main thread, raise the interruption recorded, if any: a library swallowed it."""
    if _recorded and threading.current_thread() is threading.main_thread():
        exc = _recorded[0]
        raise type(exc)(*exc.args)


def clear() -> None:
    """A new command starts uninterrupted."""
    _recorded.clear()
