"""Micro-benchmark: slides built from cells made to blow up a backtracking pattern (issue 15, S11).

Prints figures and asserts nothing (tests/test_hostile_outputs.py guards the same inputs with a deadline).
The old heading pattern is timed at small sizes only: it grows with the cube of the padding.

    python bench/bench_pathological.py
"""

from __future__ import annotations

import re
import time

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from esante_report.formats import web as export
from esante_report.slides import sanitize
from esante_report.slides.model import _heading

OLD_HEADING = re.compile(r"^\s*(#{1,2})(?!#)\s+(.+?)\s*#*\s*$")
META = export.DeckMeta(title="Banc d'essai", issuer="ARS", date="15/11/2021")


def _time(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    print("heading '# a' + N blanks + 'b'")
    for n in (250, 500, 20_000, 200_000):
        line = "# a" + " " * n + "b"
        new = _time(lambda: _heading(line))
        old = f"{_time(lambda: OLD_HEADING.match(line), 1):8.3f} s" if n <= 500 else "   (skipped)"
        print(f"  N={n:>7}: by hand {new * 1e3:8.3f} ms   old pattern {old}")

    cases = {
        "heading of 20,000 blanks": [new_markdown_cell("# a" + " " * 19_996 + "b")],
        "50,000 unclosed <metadata> in an SVG": [new_code_cell("x", outputs=[new_output(
            "display_data", data={"image/svg+xml": "<svg>" + "<metadata>" * 50_000 + "</svg>"})])],
        "20,000 SVG ids": [new_code_cell("x", outputs=[new_output("display_data", data={"image/svg+xml": (
            "<svg>" + "".join(f'<g id="g{i}"/><use href="#g{i}"/>' for i in range(20_000)) + "</svg>")})])],
        "60,000 unclosed HTML elements": [new_code_cell("x", outputs=[new_output(
            "display_data", data={"text/html": "<aside><section><div>" * 20_000})])],
    }
    export.build(new_notebook(cells=[new_markdown_cell("# Échauffement")]), META)  # assets, fonts, templates
    print("export.build (both decks' HTML) of one pathological cell, after a warm-up build")
    for name, cells in cases.items():
        nb = new_notebook(cells=[new_markdown_cell("# Couverture"), *cells])
        print(f"  {name:<40} {_time(lambda: export.build(nb, META), 1):8.3f} s")
    html = "<div style='color:red;position:fixed'><p>x</p></div>" * 20_000
    print(f"  sanitize.clean of {len(html) // 1024} KiB of styled HTML    {_time(lambda: sanitize.clean(html), 1):8.3f} s")


if __name__ == "__main__":
    main()
