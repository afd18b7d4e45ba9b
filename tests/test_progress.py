"""The live board (stderr on a terminal): one line per running deck with its stage, results scroll above."""

from __future__ import annotations

import io
import re

from esante_report.pipeline.progress import Board


def _screen(raw: str) -> list[str]:
    """What a terminal shows at the end: apply 'cursor up N lines + erase below' to the written lines."""
    lines: list[str] = []
    for part in re.split(r"(\x1b\[\d+F\x1b\[J)", raw):
        up = re.fullmatch(r"\x1b\[(\d+)F\x1b\[J", part)
        if up:
            del lines[len(lines) - int(up.group(1)):]
        else:
            lines += part.splitlines()
    return lines


def test_the_board_shows_running_decks_and_keeps_results_above():
    stream = io.StringIO()
    board = Board(3, stream)
    board.update("2021-11-15/post_covid-IDF: running post_covid.ipynb")
    board.update("2021-11-15/post_covid-NOR: writing PDF")
    board.update("2021-11-15/post_covid-IDF: checking PDF (7 slides)")
    screen = _screen(stream.getvalue())
    assert screen[0].endswith("0/3 decks done, 2 running")
    assert screen[1].startswith("  2021-11-15/post_covid-IDF: checking PDF (7 slides)")
    assert screen[2].startswith("  2021-11-15/post_covid-NOR: writing PDF")
    board.finish("2021-11-15/post_covid-NOR", failed=True)
    board.print("error: 2021-11-15/post_covid-NOR: post_covid.ipynb failed at cell 7 (In [5]): ValueError: x")
    screen = _screen(stream.getvalue())
    assert screen[0].startswith("error: 2021-11-15/post_covid-NOR")
    assert screen[1].endswith("1/3 decks done, 1 failed, 1 running")
    assert len(screen) == 3
    board.close()
    assert _screen(stream.getvalue()) == [screen[0]]


def test_many_decks_fit_on_the_screen():
    stream = io.StringIO()
    board = Board(40, stream)
    for i in range(18):
        board.update(f"2021-11-15/post_covid-R{i:02d}: running post_covid.ipynb")
    screen = _screen(stream.getvalue())
    assert len(screen) == 1 + 12 + 1 and screen[-1] == "  … and 6 more"
