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
from bench_render import BIN, ROOT, _parameters, _timed  # noqa: E402

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
        pm, pm_mem = _timed(BIN / "papermill", nb, tmp / "pm.ipynb", "-f", tmp / "params.json", "--cwd",
                            nb.parent, "--no-progress-bar", "-k", "python3")
        rows.append(("(c) bare papermill, national notebook", pm, pm_mem))
        one, one_mem = _timed(BIN / "esante-report", "render", "--date", DATE, "--deck", "post_covid", "--out",
                              tmp / "one", "--no-index", "--force", "--quiet")
        rows.append(("(a) render, one national deck, cold", one, one_mem))
        batch = {}
        for label, workers, dask in (("--jobs 1", 1, ""), ("--jobs 2", 2, ""), ("Dask LocalCluster, 2 workers", 2, "dask")):
            seconds, mem = _timed(sys.executable, "-c", _BATCH, ROOT, tmp / f"b{workers}{dask}", workers,
                                  dask or "pool")
            batch[label] = seconds
            rows.append((f"(b) 19 decks, {label}", seconds, mem))
        print("| run | seconds | × one deck | peak MiB (largest process) |")
        print("|---|---:|---:|---:|")
        for label, seconds, mem in rows:
            print(f"| {label} | {seconds:.1f} | {seconds / one:.2f} | {mem:.0f} |")
        imports = import_times(5)
        base = imports["pandas + matplotlib.pyplot"]
        print("\n| target | measured | goal |")
        print("|---|---:|---:|")
        print(f"| 19 decks --jobs 2 / one national deck | {batch['--jobs 2'] / one:.2f} | ≤ 4 |")
        print(f"| one deck / bare papermill (wall) | {one / pm:.2f} | ≤ 1.15 |")
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
