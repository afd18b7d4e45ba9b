"""A live progress board for batches on a terminal: one line per running deck with its stage.

When stderr is not a terminal (CI, logs, pipes), progress stays plain lines
(:class:`~esante_report.pipeline.render.StderrProgress`). On a terminal, the board keeps a
header (decks done, failed, running) and one line per running deck at the bottom of
the screen; lines printed meanwhile (results, errors) scroll above it.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

__all__ = ["Board"]

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
