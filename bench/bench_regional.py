"""A date's 19 post-COVID decks (national + 18 regions) against one deck (issue 17): prints a Markdown table.

Side by side, in one run, on the seed data of 2021-11-15:

(a) one national deck, cold (``render --force``);
(b) the date's 19 decks with ``--jobs 1``, ``--jobs 2`` and a 2-worker Dask LocalCluster;
(c) bare papermill on the same notebook;
(d) the import time of the authoring API against ``import pandas, matplotlib.pyplot``;

with the peak memory (largest process: worker or kernel) of each, the ratios of the issue's targets, and
the per-stage profile of one regional deck. Asserts nothing; run it on a quiet machine.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import measure as import_times  # noqa: E402
from bench_render import BIN, ROOT, _parameters  # noqa: E402

DATE = "2021-11-15"

_BATCH = """
import sys
from pathlib import Path
from esante_report.batch import plan, run_jobs
root, out, workers, dask = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "dask"
out.mkdir(parents=True)
kw = dict(decks=["post_covid"], data_dir=root / "data", params_dir=root / "params", out_dir=out,
          notebooks=root / "notebooks", force=True, only_listed=True)
jobs = plan(["%s"], **kw).jobs + plan(["%s"], regions=["all"], **kw).jobs
results = run_jobs(jobs, workers=workers, dask=dask)
failed = [r for r in results if r.status != "rendered"]
sys.exit(1 if failed or len(results) != 19 else 0)
""" % (DATE, DATE)

_PROFILE = """
import json, sys
from pathlib import Path
from esante_report.batch import plan
from esante_report.render import render_job
root, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True)
[job] = plan(["%s"], decks=["post_covid"], data_dir=root / "data", params_dir=root / "params", out_dir=out,
             notebooks=root / "notebooks", regions=["OCC"], force=True).jobs
r = render_job(job)
print(json.dumps(r.deck.timings))
""" % DATE


def _batch_run(out: Path, workers: int, dask: str) -> tuple[float, float, float, float]:
    """The 19 decks in a fresh process; (seconds, CPU seconds of every process, peak MiB of one worker
    with its kernels, summed).

    Sampled every 0.2 s with psutil (installed with Dask): a worker is the process itself with
    ``--jobs 1``, else each of its child processes; its figure is its RSS plus its descendants' (kernels,
    the warm one included).
    """
    return _run([sys.executable, "-c", _BATCH, str(ROOT), str(out), str(workers), dask or "pool"],
                whole=workers == 1 and not dask)


def _run(command: list, whole: bool) -> tuple[float, float, float, float]:
    """Run ``command``: (seconds, CPU seconds of it and its descendants, peak MiB of one worker: the whole
    tree with ``whole``, else each child process with its descendants, peak MiB of the largest process)."""
    import resource
    import subprocess
    import time

    import psutil

    def cpu() -> float:
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    start, cpu0 = time.perf_counter(), cpu()
    proc = subprocess.Popen([str(c) for c in command],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    main = psutil.Process(proc.pid)
    peak = single = 0.0

    def tree_rss(p) -> int:
        nonlocal single
        total = 0
        for q in [p, *p.children(recursive=True)]:
            try:
                rss = q.memory_info().rss
            except psutil.Error:
                continue
            total += rss
            single = max(single, rss / 2**20)
        return total

    while proc.poll() is None:
        try:
            units = [main] if whole else main.children()
            peak = max([peak, *(tree_rss(u) / 2**20 for u in units)])
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(map(str, command))}")
    return seconds, cpu() - cpu0, peak, single


def main() -> None:
    import subprocess

    print(f"<!-- esante-report regional benchmark — {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, "
          f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, load "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()) + " -->\n")
    with tempfile.TemporaryDirectory(prefix="esr-bench-regional-") as tmp:
        tmp = Path(tmp)
        nb = ROOT / "notebooks" / "post_covid.ipynb"
        (tmp / "params.json").write_text(json.dumps(_parameters("post_covid")), encoding="utf-8")
        rows = []
        pm, pm_cpu, pm_mem, pm_single = _run([BIN / "papermill", nb, tmp / "pm.ipynb", "-f", tmp / "params.json", "--cwd",
                                   nb.parent, "--no-progress-bar", "-k", "python3"], whole=True)
        rows.append(("(c) bare papermill, national notebook", pm, pm_cpu, 1, pm_mem, pm_single))
        one, one_cpu, one_mem, one_single = _run([BIN / "esante-report", "render", "--date", DATE, "--deck", "post_covid",
                                      "--out", tmp / "one", "--no-index", "--force", "--quiet"], whole=True)
        rows.append(("(a) render, one national deck, cold", one, one_cpu, 1, one_mem, one_single))
        batch = {}
        for label, workers, dask in (("--jobs 1", 1, ""), ("--jobs 2", 2, ""), ("Dask LocalCluster, 2 workers", 2, "dask")):
            seconds, cpu, mem, single = _batch_run(tmp / f"b{workers}{dask}", workers, dask)
            batch[label] = seconds
            rows.append((f"(b) 19 decks, {label}", seconds, cpu, 19, mem, single))
        print("| run | seconds | × one deck | CPU s | CPU s per deck | peak MiB, one worker + its kernels "
              "| peak MiB, largest process |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for label, seconds, cpu, decks, mem, single in rows:
            print(f"| {label} | {seconds:.1f} | {seconds / one:.2f} | {cpu:.1f} | {cpu / decks:.2f} | {mem:.0f} "
                  f"| {single:.0f} |")
        cores = len(os.sched_getaffinity(0))
        print(f"\nBound: 19 decks need at least 19 × {rows[-2][2] / 19:.2f} CPU s / {cores} cores = "
              f"{rows[-2][2] / cores:.1f} s, that is {rows[-2][2] / cores / one:.2f} × one deck's wall time.")
        imports = import_times(5)
        base = imports["pandas + matplotlib.pyplot"]
        print("\n| target | measured | goal |")
        print("|---|---:|---:|")
        print(f"| 19 decks --jobs 2 / one national deck | {batch['--jobs 2'] / one:.2f} | ≤ 4 |")
        print(f"| one deck / bare papermill (wall) | {one / pm:.2f} | ≤ 1.15 |")
        print(f"| one deck / bare papermill (CPU) | {one_cpu / pm_cpu:.2f} | ≤ 1.3 |")
        print(f"| peak MiB per worker, warm kernel included (--jobs 2): worker + kernels summed | "
              f"{rows[-2][4]:.0f} | ≤ 250 |")
        print(f"| peak MiB of the largest process (--jobs 2) | {rows[-2][5]:.0f} | ≤ 250 |")
        print(f"| import esante_report.authoring / pandas + pyplot | "
              f"{imports['esante_report.authoring'] / base:.2f} | ≤ 1.3 |")
        print("\n| (d) import (median of 5 fresh interpreters) | seconds |")
        print("|---|---:|")
        for name, seconds in imports.items():
            print(f"| {name} | {seconds:.2f} |")
        out = subprocess.run([sys.executable, "-c", _PROFILE, ROOT, tmp / "profile"], capture_output=True,
                             text=True, cwd=ROOT, check=True).stdout.strip().splitlines()[-1]
        print("\n| stage of one regional deck (OCC) | seconds |")
        print("|---|---:|")
        for stage, seconds in json.loads(out).items():
            print(f"| {stage} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
