"""Progress of a render: one logger-like object, and a live board for batches on a terminal.

:class:`StderrProgress` is what every job is handed (it pickles, so pool workers and Dask get it too): each
line goes through the logger ``esante_report.progress``, printed on stderr as ``[  12.3s] date/deck: stage``.
In a pool worker whose parent draws the board, :func:`to_queue` sends that logger's lines to the parent
instead (a :class:`logging.handlers.QueueHandler`), and the parent puts them on the board.

When stderr is not a terminal (CI, logs, pipes), progress stays plain lines. On a terminal, the board keeps a
header (decks done, failed, running) and one line per running deck at the bottom of
the screen; lines printed meanwhile (results, errors) scroll above it.
"""

from __future__ import annotations

import logging
import logging.handlers
import shutil
import sys
import time
from typing import TextIO

__all__ = ["Board", "StderrProgress", "to_queue", "LOGGER_NAME"]

#: the logger every progress line goes through
LOGGER_NAME = "esante_report.progress"


class _Stderr(logging.Handler):
    """Prints a progress line with the seconds since its run started."""

    def emit(self, record: logging.LogRecord) -> None:
        start = getattr(record, "esr_start", record.created)
        # one write for the whole line: the workers of a batch share stderr, and print() writes the line and
        # its newline apart, so two workers' lines could run into each other
        sys.stderr.write(f"[{record.created - start:6.1f}s] {record.getMessage()}\n")
        sys.stderr.flush()


def _logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        logger.addHandler(_Stderr())
        logger.setLevel(logging.INFO)
        logger.propagate = False  # an application's own logging set-up does not print them twice
    return logger


def to_queue(queue) -> None:
    """In a pool worker: progress lines go to ``queue`` (the parent's board) instead of stderr."""
    logger = _logger()
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(logging.handlers.QueueHandler(queue))


class StderrProgress:
    """Progress lines of one run, ``[  12.3s] date/deck: stage``; ``quiet`` prints none."""

    def __init__(self, start: float | None = None, quiet: bool = False):
        self.start = time.time() if start is None else start
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            _logger().info("%s", message, extra={"esr_start": self.start})

_MAX_LINES = 12  # running decks shown at once; more are counted


class Board:
    """Redraws the bottom lines of a terminal as decks progress."""

    def __init__(self, total: int, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.total = total
        self.start = time.time()
        self.running: dict[str, tuple[str, float]] = {}  # label -> (stage, since)
        self.done = 0
        self.failed = 0
        self._drawn = 0

    def update(self, message: str) -> None:
        """A progress message ``date/deck: stage`` from a worker."""
        label, _, stage = message.partition(": ")
        self.running[label] = (stage, self.running.get(label, ("", time.time()))[1])
        self.draw()

    def finish(self, label: str, failed: bool) -> None:
        self.running.pop(label, None)
        self.done += 1
        self.failed += failed
        self.draw()

    def print(self, text: str, stream: TextIO | None = None) -> None:
        """Print ``text`` above the board."""
        self.clear()
        print(text, file=stream or self.stream, flush=True)
        self.draw()

    def clear(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self.stream.flush()
            self._drawn = 0

    def draw(self) -> None:
        self.clear()
        width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
        now = time.time()
        lines = [f"[{now - self.start:6.1f}s] {self.done}/{self.total} decks done"
                 + (f", {self.failed} failed" if self.failed else "") + f", {len(self.running)} running"]
        for label, (stage, since) in list(self.running.items())[:_MAX_LINES]:
            lines.append(f"  {label}: {stage} ({now - since:.0f}s)")
        if len(self.running) > _MAX_LINES:
            lines.append(f"  … and {len(self.running) - _MAX_LINES} more")
        self.stream.write("".join(line[:width] + "\n" for line in lines))
        self.stream.flush()
        self._drawn = len(lines)

    def close(self) -> None:
        self.clear()
