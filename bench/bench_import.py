"""Import time of the authoring API against ``import pandas, matplotlib.pyplot`` (issue 17, item 2).

Each import runs in a fresh interpreter (nothing cached in ``sys.modules``), several times, alternating;
the figure is the median of the in-process import time (interpreter start-up excluded). Prints figures,
asserts nothing: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = {
    "pandas + matplotlib.pyplot": "import pandas, matplotlib.pyplot",
    "esante_report.authoring": "import esante_report.authoring",
    "notebook set-up (post_covid)": ("import matplotlib.pyplot\nimport esante_report.authoring as esr\n"
                                     "from esante_report.contracts.params import notebook_parameters\n"
                                     "from esante_report.decks.post_covid.blocks import PostCovidBlocks\nesr.setup()"),
}


def once(code: str) -> float:
    script = f"import time\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True,
                         cwd=str(ROOT))
    return float(out.stdout.strip().splitlines()[-1])


def measure(runs: int = 7) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, code in CASES.items():
            times[name].append(once(code))
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per import (default 7)")
    args = parser.parse_args()
    medians = measure(args.runs)
    base = medians["pandas + matplotlib.pyplot"]
    print(f"| import (median of {args.runs} fresh interpreters) | seconds | × pandas + pyplot |")
    print("|---|---:|---:|")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.2f} | {seconds / base:.2f} |")


if __name__ == "__main__":
    main()
