"""Times the PDF check on rendered decks and prints the figures (no assertion).

Compares reading every page with pdfplumber (what the check used before: chars, rects, lines,
curves, images) with the check as it is (pypdfium2), on the same PDFs.

    python bench/bench_pdfcheck.py [deck.pdf ...]     # default: every PDF under outputs/
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pypdfium2 as pdfium

from esante_report.checks import layout as pdfcheck
from esante_report.errors import ExportError
from esante_report.paths import default_out_dir


def _pdfplumber_read(path: Path) -> int:
    import pdfplumber

    objects = 0
    with pdfplumber.open(str(path)) as pdf:
        for page in pdf.pages:
            objects += len(page.chars) + len(page.rects) + len(page.lines) + len(page.curves) + len(page.images)
    return objects


def _check(path: Path) -> str:
    with pdfium.PdfDocument(str(path)) as pdf:
        pages = len(pdf)
    try:
        pdfcheck.check_pdf(path, pages)
    except ExportError as exc:
        return f"fails: {str(exc)[:60]}…"
    return "passes"


def _timed(function, *args) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main(paths: list[str]) -> None:
    pdfs = [Path(p) for p in paths] or sorted(default_out_dir().glob("*/*.pdf"))
    if not pdfs:
        sys.exit("no PDF given and none under outputs/: run `esante-report render --all` first")
    print(f"{'pdf':<28} {'pages':>5} {'pdfplumber read':>16} {'pdfcheck (pypdfium2)':>21} {'cpu ratio':>9}  result")
    for path in pdfs:
        with pdfium.PdfDocument(str(path)) as pdf:
            pages = len(pdf)
        plumber_wall, plumber_cpu, _ = _timed(_pdfplumber_read, path)
        check_wall, check_cpu, result = _timed(_check, path)
        name = f"{path.parent.name}/{path.name}"
        print(f"{name:<28} {pages:>5} {plumber_wall:7.2f} s {plumber_cpu:5.2f} cpu "
              f"{check_wall:10.2f} s {check_cpu:5.2f} cpu {plumber_cpu / max(check_cpu, 1e-6):8.1f}×  {result}")


if __name__ == "__main__":
    main(sys.argv[1:])
