"""CPU of the Impress copies: one LibreOffice start per deck (one-shot) against one per process (UNO).

Converts the same PPTX ``N`` times (default 5) in a fresh Python process for each path, and prints the
wall time and the CPU seconds (user + sys) of that process and everything it started and waited for.

    python bench/bench_odp.py [PPTX] [N]

Without PPTX, a small two-slide deck made with python-pptx is used. Figures are only meaningful on
a quiet machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_RUN = """
import sys
from pathlib import Path
from esante_report.formats import soffice
pptx, out, n, how = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for i in range(n):
    odp = out / f"{how}-{i}.odp"
    said = soffice.convert_once(pptx, odp) if how == "one-shot" else soffice.convert(pptx, odp)
    assert said is None and odp.is_file(), said
if how == "uno":
    state = soffice.status()
    assert state["starts"] == 1 and len(set(state["pids"])) == 1, state
"""


def _deck(folder: Path) -> Path:
    from pptx import Presentation

    prs = Presentation()
    for title in ("Première diapositive", "Deuxième diapositive"):
        prs.slides.add_slide(prs.slide_layouts[5]).shapes.title.text = title
    path = folder / "bench.pptx"
    prs.save(str(path))
    return path


def _measure(pptx: Path, folder: Path, n: int, how: str) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _RUN, str(pptx), str(folder), str(n), how], check=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str]) -> None:
    n = int(argv[2]) if len(argv) > 2 else 5
    with tempfile.TemporaryDirectory(prefix="esr-bench-odp-") as tmp:
        folder = Path(tmp)
        pptx = Path(argv[1]) if len(argv) > 1 else _deck(folder)
        print(f"{n} conversions of {pptx.name} in one process (Python start and imports included)")
        print(f"{'path':<34}{'wall s':>8}{'CPU s':>8}{'CPU s/deck':>12}")
        for how, label in (("one-shot", "one-shot soffice --convert-to"), ("uno", "one LibreOffice, UNO")):
            wall, cpu = _measure(pptx, folder, n, how)
            print(f"{label:<34}{wall:>8.2f}{cpu:>8.2f}{cpu / n:>12.2f}")


if __name__ == "__main__":
    main(sys.argv)
