"""Peak memory of loading and checking a 50 MB valid ``patients.csv`` (prints figures, asserts nothing).

Generates, in a temporary folder, a copy of ``data/`` whose ``post_covid/patients.csv`` is about
50 MB of valid rows (16 waves × 18 regions × 2,400 months × 3 categories), then measures, each
in a fresh Python process, the peak resident memory (``ru_maxrss``) of:

- importing the package (the baseline);
- ``load_post_covid`` (reading and checking every post-COVID file);
- ``check`` of a params file of that data (what ``render`` does before running a notebook).

Issue 12 asks for less than 500 MiB. Run with ``python bench/bench_memory.py [--mb 50]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("ARA", "BFC", "BRE", "CVL", "COR", "GE", "HDF", "IDF", "NOR", "NAQ", "OCC", "PDL", "PACA",
           "GUA", "MTQ", "GUF", "REU", "MAY")
CATEGORIES = ("mineurs", "hommes", "femmes")

_MEASURE = """
import resource, sys
from pathlib import Path
step, data, params = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
if step == "import":
    import esante_report.decks.post_covid.data, esante_report.contracts.params
elif step == "load":
    from esante_report.decks.post_covid.data import load_post_covid
    rows = len(load_post_covid(data).patients)
    print(f"rows {rows}", file=sys.stderr)
elif step == "check":
    from esante_report.contracts.params import load_params
    load_params(params, "2030-01-15", data)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_data(folder: Path, megabytes: float) -> Path:
    """A valid data folder whose patients.csv is about ``megabytes`` MB; returns it."""
    data = folder / "data"
    shutil.copytree(ROOT / "data", data)
    months = [f"{year}-{month:02d}" for year in range(1900, 2100) for month in range(1, 13)]
    target = megabytes * 1_000_000
    waves = [3]
    with open(data / "post_covid" / "patients.csv", "w", encoding="utf-8", newline="") as out:
        out.write("wave,region,month,category,patients\n")
        written, wave = 0, 3
        while written < target:
            if wave != 3:
                waves.append(wave)
            for month in months:
                for region in REGIONS:
                    for i, category in enumerate(CATEGORIES):
                        line = f"{wave},{region},{month},{category},{'' if i == 0 and month.endswith('-07') else (len(region) * 37 + i) % 400}\n"
                        written += len(line)
                        out.write(line)
            wave += 1
    with open(data / "post_covid" / "waves.csv", "a", encoding="utf-8") as out:
        for wave in waves[1:]:
            out.write(f"{wave},2030-01-15,Enquête n°{wave},Données générées pour le banc d'essai,false\n")
    measures = (data / "post_covid" / "measures.yaml").read_text(encoding="utf-8")
    entry = measures[measures.index("- wave: 3"):]
    (data / "post_covid" / "measures.yaml").write_text(
        measures + "".join(entry.replace("- wave: 3", f"- wave: {w}", 1) for w in waves[1:]), encoding="utf-8")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50, help="size of the generated patients.csv in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="esante-bench-memory-") as tmp:
        tmp = Path(tmp)
        data = make_data(tmp, args.mb)
        params = tmp / "params"
        params.mkdir()
        (params / "2030-01-15.yaml").write_text('post_covid:\n  wave: 4\n  months: ["2021-08", "2021-09"]\n',
                                               encoding="utf-8")
        size = (data / "post_covid" / "patients.csv").stat().st_size
        print(f"patients.csv: {size / 1e6:.1f} MB")
        for step in ("import", "load", "check"):
            result = subprocess.run([sys.executable, "-c", _MEASURE, step, str(data), str(params)],
                                    capture_output=True, text=True, cwd=ROOT)
            if result.returncode != 0:
                print(f"{step}: failed: {result.stderr.strip().splitlines()[-1:]}")
                continue
            peak_mib = int(result.stdout.split()[-1]) / 1024   # ru_maxrss is in KiB on Linux
            extra = " ".join(line for line in result.stderr.splitlines() if line.startswith("rows "))
            print(f"peak RSS after {step:<6}: {peak_mib:7.1f} MiB {extra}".rstrip())


if __name__ == "__main__":
    main()
