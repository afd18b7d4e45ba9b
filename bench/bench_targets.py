"""The three speed targets of the toolkit, as ratios to bare papermill of the national post-COVID notebook.

    python bench/bench_targets.py [--rounds 5] [--batch-rounds 3]

Each round runs, one after another, as a user would (each command in its own process, outputs in a fresh
folder, ``--force``):

- bare papermill of ``notebooks/post_covid.ipynb`` with the parameters of 2021-11-15;
- ``esante-report render`` of that deck with every format (HTML, PDF, PPTX, ODP);
- the same with ``--formats html,pdf``;
- in the first ``--batch-rounds`` rounds, the national deck and its 18 regional decks with ``--jobs 2``.

This machine's speed drifts from one minute to the next, so the commands are interleaved and each ratio is
taken within its round (against that round's papermill); the table gives the median and the range over the
rounds. Prints a Markdown table; asserts nothing. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_regional import DATE, TARGETS, batch_of_nineteen  # noqa: E402
from bench_render import BIN, ROOT, _parameters, _timed  # noqa: E402


def measure(tmp: Path, rounds: int, batch_rounds: int) -> list[dict]:
    nb = ROOT / "notebooks" / "post_covid.ipynb"
    (tmp / "params.json").write_text(json.dumps(_parameters("post_covid")), encoding="utf-8")
    render = [BIN / "esante-report", "render", "--date", DATE, "--deck", "post_covid", "--no-index", "--force",
              "--quiet"]
    found = []
    for n in range(rounds):
        row = {"papermill": _timed(BIN / "papermill", nb, tmp / f"pm{n}.ipynb", "-f", tmp / "params.json", "--cwd",
                                   nb.parent, "--no-progress-bar", "-k", "python3")[0],
               "every": _timed(*render, "--out", tmp / f"every{n}")[0],
               "html_pdf": _timed(*render, "--out", tmp / f"html-pdf{n}", "--formats", "html,pdf")[0]}
        if n < batch_rounds:
            row["nineteen"] = batch_of_nineteen(tmp / f"nineteen{n}")
        found.append(row)
        print(f"<!-- round {n + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in row.items()) + " -->", flush=True)
    return found


def print_table(rows: list[dict]) -> None:
    papermill = [r["papermill"] for r in rows]
    print("| work | seconds (median) | × papermill, median of the rounds | range | target |")
    print("|---|---:|---:|---:|---:|")
    print(f"| bare papermill of the national notebook | {statistics.median(papermill):.2f} | 1 | "
          f"{min(papermill):.2f}–{max(papermill):.2f} s | |")
    for (label, target), key in zip(TARGETS, ("every", "html_pdf", "nineteen")):
        timed = [r for r in rows if key in r]
        ratios = [r[key] / r["papermill"] for r in timed]
        ratio = statistics.median(ratios)
        print(f"| {label} ({len(timed)} rounds) | {statistics.median(r[key] for r in timed):.2f} | **{ratio:.2f}×** "
              f"| {min(ratios):.2f}–{max(ratios):.2f}× | ≤ {target:g}× {'met' if ratio <= target else 'not met'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the single-deck commands (default 5)")
    parser.add_argument("--batch-rounds", type=int, default=3, help="rounds with the 19 decks too (default 3)")
    args = parser.parse_args()
    print(f"<!-- esante-report speed targets — {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, "
          f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, load at start "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()) + " -->")
    with tempfile.TemporaryDirectory(prefix="esr-bench-targets-") as tmp:
        rows = measure(Path(tmp), args.rounds, min(args.batch_rounds, args.rounds))
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
