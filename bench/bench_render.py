"""Render benchmarks: prints figures side by side, asserts nothing (`make bench`).

On the seed decks (same notebooks, same parameters):

(a) bare papermill execution;
(b) the stock pipeline: papermill + ``jupyter nbconvert --to slides`` + ``--to html`` + ``weasyprint``;
(c) ``esante-report render``, cold (``--force``) and cached (a second, no-change run);

then a batch of N dates × 2 decks (params generated in a temporary folder, default N=12) with
``--jobs 1``, ``--jobs 2`` and a local Dask cluster of 2 workers, with the peak memory of the
largest process (worker or kernel), and the sizes of the HTML and PDF decks.

Every command runs in its own process, as a user would run it; figures depend on the load of the
machine: run it on a quiet one. ``--dates 1`` is a quick smoke run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SEEDS = {"post_covid": "2021-11-15", "catalogue": "2020-12-08"}
NOTEBOOKS = {"post_covid": "post_covid.ipynb", "catalogue": "catalogue.ipynb"}

_MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
            "s = time.perf_counter() - t; m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
            "print(rc, s, m)")


def _timed(*command: str | Path) -> tuple[float, float]:
    """Run ``command``; (seconds, peak RSS in MiB of its largest process, descendants included)."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *map(str, command)], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=True).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"benchmark command failed ({out[0]}): {' '.join(map(str, command))}")
    return float(out[1]), int(out[2]) / 1024


def _parameters(deck: str) -> dict:
    from esante_report.contracts.params import load_params
    from esante_report.paths import default_data_dir, default_params_dir

    [run] = load_params(default_params_dir(), SEEDS[deck], default_data_dir(), [deck])
    return run.parameters


def _single(deck: str, tmp: Path) -> dict:
    nb = ROOT / "notebooks" / NOTEBOOKS[deck]
    params = json.dumps(_parameters(deck))
    (tmp / "params.json").write_text(params, encoding="utf-8")
    executed = tmp / f"{deck}.ipynb"
    row = {}
    # (a) bare papermill, from the command line, on the notebook's folder
    row["papermill"], _ = _timed(BIN / "papermill", nb, executed, "-f", tmp / "params.json", "--cwd", nb.parent,
                                 "--no-progress-bar", "-k", "python3")
    # (b) stock pipeline: papermill + nbconvert slides + nbconvert html + weasyprint
    slides, _ = _timed(BIN / "jupyter", "nbconvert", "--to", "slides", "--no-input", executed, "--output-dir", tmp)
    html, _ = _timed(BIN / "jupyter", "nbconvert", "--to", "html", "--no-input", executed, "--output-dir", tmp)
    pdf, _ = _timed(BIN / "weasyprint", tmp / f"{deck}.html", tmp / f"{deck}.pdf")
    row["stock"] = row["papermill"] + slides + html + pdf
    # (c) esante-report render, cold then cached
    out = tmp / "out"
    render = [BIN / "esante-report", "render", "--date", SEEDS[deck], "--deck", deck, "--out", out, "--no-index"]
    row["cold"], row["cold_mem"] = _timed(*render, "--force")
    row["cached"], _ = _timed(*render)
    row["start"], _ = _timed(sys.executable, "-c", "import esante_report.cli.main")
    row["html_size"] = (out / SEEDS[deck] / f"{deck}.html").stat().st_size / 1024 / 1024
    row["pdf_size"] = (out / SEEDS[deck] / f"{deck}.pdf").stat().st_size / 1024 / 1024
    return row


def _batch_params(folder: Path, n: int) -> None:
    """N dates from the seed onwards, each with both decks (wave 3 data, catalogue as of that date)."""
    folder.mkdir()
    first = dt.date(2021, 11, 15)
    for i in range(n):
        date = first + dt.timedelta(days=7 * i)
        (folder / f"{date.isoformat()}.yaml").write_text(
            "post_covid:\n  wave: 3\n  months: [\"2021-08\", \"2021-09\"]\n"
            "catalogue:\n  region: OCC\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=12, help="dates in the batch (default 12)")
    parser.add_argument("--no-batch", action="store_true", help="single decks only")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"esante-report benchmark — {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, {cores} cores, "
          f"Python {platform.python_version()}")
    print("(load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + ")\n")
    with tempfile.TemporaryDirectory(prefix="esr-bench-") as tmp:
        tmp = Path(tmp)
        print(f"{'deck':<11} {'papermill':>9} {'stock':>7} {'render':>7} {'cached':>7} {'start-up':>8} "
              f"{'render/pm':>9} {'stock/pm':>8} {'peak MiB':>8} {'HTML MB':>7} {'PDF MB':>6}")
        rows = {}
        for deck in SEEDS:
            work = tmp / deck
            work.mkdir()
            r = _single(deck, work)
            print(f"{deck:<11} {r['papermill']:9.2f} {r['stock']:7.2f} {r['cold']:7.2f} {r['cached']:7.2f} "
                  f"{r['start']:8.2f} {r['cold'] / r['papermill']:9.2f} {r['stock'] / r['papermill']:8.2f} "
                  f"{r['cold_mem']:8.0f} {r['html_size']:7.2f} {r['pdf_size']:6.2f}")
            rows[deck] = r
        print("\nseconds; 'cached' is a no-change render (beyond start-up: cached - start-up); "
              "peak MiB = largest process of the render (kernel included)")
        if args.no_batch:
            return
        params = tmp / "params"
        _batch_params(params, args.dates)
        print(f"\nbatch: {args.dates} dates × 2 decks = {2 * args.dates} decks")
        print(f"{'runner':<16} {'seconds':>8} {'decks/min':>9} {'speed-up':>8} {'peak MiB/worker':>15}")
        base = None
        for label, extra in (("--jobs 1", ["--jobs", "1"]), ("--jobs 2", ["--jobs", "2"]),
                             ("--dask (2 wkr)", ["--dask", "--jobs", "2"])):
            out = tmp / f"batch-{label.split()[-1].strip('()')}"
            seconds, peak = _timed(BIN / "esante-report", "render", "--all", "--force", "--params", params,
                                   "--out", out, "--quiet", *extra)
            base = base or seconds
            print(f"{label:<16} {seconds:8.1f} {2 * args.dates / seconds * 60:9.1f} {base / seconds:8.2f} "
                  f"{peak:15.0f}")


if __name__ == "__main__":
    main()
