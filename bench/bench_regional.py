"""A date's 19 post-COVID decks (national + 18 regions) against one deck (issue 17): prints a Markdown table.

Side by side, in one run, on the seed data of 2021-11-15:

(a) one national deck, cold (``render --force``);
(b) the date's 19 decks with ``--jobs 1``, ``--jobs 2`` and a 2-worker Dask LocalCluster;
(c) bare papermill on the same notebook;
(d) the import time of the authoring API against ``import pandas, matplotlib.pyplot``;

with the peak memory (largest process: worker or kernel) of each, and the per-stage profile of one regional
deck. The speed targets' ratios are measured by ``bench_targets.py``. Asserts nothing; run it on a quiet machine.
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
from esante_report.pipeline.batch import plan, run_jobs
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
from esante_report.pipeline.batch import plan, run_jobs
root, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True)
jobs = plan(["%s"], decks=["post_covid"], data_dir=root / "data", params_dir=root / "params", out_dir=out,
            notebooks=root / "notebooks", regions=["NOR", "NAQ", "OCC"], force=True).jobs
last = [r for r in run_jobs(jobs, workers=1) if r.name.endswith("-OCC")][0]  # third of a warm worker
print(json.dumps(last.deck.timings))
""" % DATE


def _batch_run(out: Path, workers: int, dask: str, fork: bool = True) -> tuple[float, float, float, float, float]:
    """The 19 decks in a fresh process; (seconds, CPU seconds of every process, peak MiB of one worker
    with its kernels, summed).

    Sampled every 0.2 s with psutil (installed with Dask): a worker is the process itself with
    ``--jobs 1``, else each of its child processes; its figure is its RSS plus its descendants' (kernels,
    the warm one included).
    """
    return _run([sys.executable, "-c", _BATCH, str(ROOT), str(out), str(workers), dask or "pool"],
                whole=workers == 1 and not dask, env={} if fork else {"ESANTE_REPORT_FORK_KERNELS": "0"})


def _run(command: list, whole: bool, env: dict | None = None) -> tuple[float, float, float, float, float]:
    """Run ``command``: (seconds, CPU seconds of it and its descendants, peak MiB of one worker: the whole
    tree with ``whole``, else each child process with its descendants, summed as RSS and as PSS, peak MiB
    of the largest process (RSS)).

    RSS counts a page shared by several processes once in each of them: forked kernels share their fork
    server's imported modules, so their RSS sum counts those pages several times. PSS (proportional set
    size, Linux) divides each shared page between the processes sharing it: the sum of PSS is the memory
    the worker and its kernels really take.
    """
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
                            env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})
    main = psutil.Process(proc.pid)
    peak = peak_pss = single = 0.0

    def tree(p) -> tuple[int, int]:
        nonlocal single
        total = total_pss = 0
        for q in [p, *p.children(recursive=True)]:
            try:
                info = q.memory_full_info()
            except psutil.Error:
                continue
            total += info.rss
            total_pss += getattr(info, "pss", info.rss)
            single = max(single, info.rss / 2**20)
        return total, total_pss

    while proc.poll() is None:
        try:
            for unit in [main] if whole else main.children():
                rss, pss = tree(unit)
                peak, peak_pss = max(peak, rss / 2**20), max(peak_pss, pss / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(map(str, command))}")
    return seconds, cpu() - cpu0, peak, peak_pss, single


#: the issue's targets, as ratios to bare papermill of the national notebook (wall time, the same run)
TARGETS = (("one deck, all four formats", 1.3), ("one deck, HTML and PDF (`--formats html,pdf`)", 1.1),
           ("the national deck + 18 regional decks, `--jobs 2`", 6.0))


def batch_of_nineteen(out: Path) -> float:
    """Seconds the national deck and its 18 regional decks take with ``--jobs 2``, in a fresh process."""
    return _batch_run(out, 2, "")[0]


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
        pm, pm_cpu, *pm_mem = _run([BIN / "papermill", nb, tmp / "pm.ipynb", "-f", tmp / "params.json", "--cwd",
                                    nb.parent, "--no-progress-bar", "-k", "python3"], whole=True)
        rows.append(("(c) bare papermill, national notebook", pm, pm_cpu, 1, *pm_mem))
        one_cmd = [BIN / "esante-report", "render", "--date", DATE, "--deck", "post_covid", "--no-index", "--force",
                   "--quiet"]
        one, one_cpu, *one_mem = _run([*one_cmd, "--out", tmp / "one"], whole=True)
        rows.append(("(a) render, one national deck, cold", one, one_cpu, 1, *one_mem))
        bare, bare_cpu, *bare_mem = _run([*one_cmd, "--out", tmp / "one-html-pdf", "--formats", "html,pdf"],
                                         whole=True)
        rows.append(("(a) the same, HTML and PDF only (`--formats html,pdf`)", bare, bare_cpu, 1, *bare_mem))
        batch = {}
        for label, workers, dask, fork in (("--jobs 1", 1, "", True), ("--jobs 2", 2, "", True),
                                           ("--jobs 2, no fork server", 2, "", False),
                                           ("Dask LocalCluster, 2 workers", 2, "dask", True)):
            seconds, cpu, *mem = _batch_run(tmp / f"b{workers}{dask}{fork}", workers, dask, fork)
            batch[label] = (seconds, cpu, *mem)
            rows.append((f"(b) 19 decks, {label}", seconds, cpu, 19, *mem))
        print("| run | seconds | × one deck | CPU s | CPU s per deck "
              "| peak MiB, one worker + its kernels (RSS summed) | the same, PSS summed "
              "| peak MiB, largest process (RSS) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, seconds, cpu, decks, rss, pss, single in rows:
            print(f"| {label} | {seconds:.1f} | {seconds / one:.2f} | {cpu:.1f} | {cpu / decks:.2f} | {rss:.0f} "
                  f"| {pss:.0f} | {single:.0f} |")
        two = batch["--jobs 2"]
        print("\nThe targets' ratios to bare papermill, over interleaved rounds: `bench/bench_targets.py`.")
        cores = len(os.sched_getaffinity(0))
        print(f"\nBound: 19 decks need at least 19 × {two[1] / 19:.2f} CPU s / {cores} cores = "
              f"{two[1] / cores:.1f} s, that is {two[1] / cores / one:.2f} × one deck's wall time.")
        imports = import_times(5)
        base = imports["pandas + matplotlib.pyplot"]
        print("\n| target | measured | goal |")
        print("|---|---:|---:|")
        print(f"| 19 decks --jobs 2 / one national deck | {two[0] / one:.2f} | ≤ 4 |")
        print(f"| one deck / bare papermill (wall) | {one / pm:.2f} | ≤ 1.15 |")
        print(f"| one deck / bare papermill (CPU) | {one_cpu / pm_cpu:.2f} | ≤ 1.3 |")
        print(f"| peak MiB per worker, warm kernel included (--jobs 2): worker + kernels, PSS summed | "
              f"{two[3]:.0f} | ≤ 250 |")
        print(f"| the same, RSS summed (shared pages counted once per process) | {two[2]:.0f} | |")
        print(f"| peak MiB of the largest process (--jobs 2) | {two[4]:.0f} | ≤ 250 |")
        print(f"| import esante_report.authoring / pandas + pyplot | "
              f"{imports['esante_report.authoring'] / base:.2f} | ≤ 1.3 |")
        print("\n| (d) import (median of 5 fresh interpreters) | seconds |")
        print("|---|---:|")
        for name, seconds in imports.items():
            print(f"| {name} | {seconds:.2f} |")
        out = subprocess.run([sys.executable, "-c", _PROFILE, ROOT, tmp / "profile"], capture_output=True,
                             text=True, cwd=ROOT, check=True).stdout.strip().splitlines()[-1]
        print("\n| stage of one regional deck (OCC, third deck of a `--jobs 1` worker) | seconds |")
        print("|---|---:|")
        for stage, seconds in json.loads(out).items():
            print(f"| {stage} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
