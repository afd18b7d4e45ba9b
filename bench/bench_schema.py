"""Table Schema validation: esante_report.contracts.schema (the _io streaming reader) against the frictionless library.

Prints figures, asserts nothing. Generates in a temporary folder a valid CSV of about ``--mb`` MB
(region, mois, valeur; primary key region+mois, foreign key region → regions.csv abbr, valeur a whole
number ≥ 0 or blank) with its schema, then measures, each in a fresh Python process:

- seconds and peak resident memory (``ru_maxrss``) of validating it;
- which line each validator names for an error placed after a quoted cell holding a line break and
  a blank line (the physical line is what an analyst's editor shows).

``frictionless`` is not a dependency: give ``--frictionless-python`` an interpreter where it is
installed (``python -m venv v && v/bin/pip install 'frictionless>=5,<6'``); without it only ours runs.
Run with ``python bench/bench_schema.py [--mb 50] [--frictionless-python v/bin/python]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("ARA", "BFC", "BRE", "CVL", "COR", "GE", "HDF", "IDF", "NOR", "NAQ", "OCC", "PDL", "PACA")

SCHEMA = {
    "fields": [
        {"name": "region", "type": "string", "constraints": {"required": True, "pattern": "[A-Z]{2,4}"}},
        {"name": "mois", "type": "yearmonth", "constraints": {"required": True}},
        {"name": "valeur", "type": "integer", "constraints": {"minimum": 0}},
        {"name": "note", "type": "string"},
    ],
    "missingValues": [""],
    "primaryKey": ["region", "mois"],
    "foreignKeys": [{"fields": ["region"], "reference": {"resource": "regions.csv", "fields": ["abbr"]}}],
}

_OURS = """
import resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from esante_report.errors import ProblemList
from esante_report.contracts.schema import validate_table
problems = ProblemList()
start = time.perf_counter()
ok = validate_table(Path({table!r}), Path({data!r}), problems)
seconds = time.perf_counter() - start
print(ok, round(seconds, 2), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
for p in problems[:3]:
    print(p)
"""

# frictionless: the schema's foreign key refers to another resource of a package
_FRICTIONLESS = """
import resource, sys, time
from frictionless import Package, Resource, Schema, Checklist
schema = {schema!r}
schema["foreignKeys"] = [{{"fields": ["region"], "reference": {{"resource": "regions", "fields": ["abbr"]}}}}]
package = Package(basepath={folder!r}, resources=[
    Resource(name="table", path={table!r}, schema=Schema.from_descriptor(schema)),
    Resource(name="regions", path="regions.csv"),
])
start = time.perf_counter()
report = package.validate(checklist=Checklist(), limit_errors=20)
seconds = time.perf_counter() - start
print(report.valid, round(seconds, 2), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
for error in report.errors[:3]:
    print("package:", error.type, error.message[:160])
for task in report.tasks:
    for error in task.errors[:3]:
        print(error.type, "rowNumber", getattr(error, "row_number", None), getattr(error, "field_name", None),
              error.message[:120])
"""


def _write_big(folder: Path, mb: int) -> Path:
    table = folder / "big.csv"
    target = mb * 1024 * 1024
    with open(table, "w", encoding="utf-8") as f:
        f.write("region,mois,valeur,note\n")
        year, size = 1000, 0
        note = "commentaire libre d'exemple sans virgule"
        while size < target and year <= 9999:
            for month in range(1, 13):
                for i, region in enumerate(REGIONS):
                    value = "" if (year + month + i) % 97 == 0 else str((year * 7 + month * 11 + i) % 5000)
                    line = f"{region},{year:04d}-{month:02d},{value},{note}\n"
                    f.write(line)
                    size += len(line)
            year += 1
    (folder / "big.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    return table


def _write_lines(folder: Path) -> tuple[Path, int]:
    """A small file whose bad row sits after a two-line quoted cell and a blank line; its physical line."""
    table = folder / "lines.csv"
    rows = ["region,mois,valeur,note", "ARA,2021-08,12,", 'BFC,2021-08,7,"deux', 'lignes"', "",
            "BRE,2021-08,-3,"]
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "lines.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    return table, len(rows)


def _run(python: str, code: str) -> str:
    done = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return (done.stdout + (done.stderr.strip().splitlines()[-1] if done.returncode else "")).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--frictionless-python", help="an interpreter where frictionless is installed")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-schema-"))
    try:
        shutil.copy(ROOT / "data" / "regions.csv", folder / "regions.csv")
        big = _write_big(folder, args.mb)
        lines, bad_line = _write_lines(folder)
        print(f"valid file: {big.stat().st_size / 1024 / 1024:.1f} MB; bad row on physical line {bad_line}")
        for label, table in (("valid file", big), ("line numbers", lines)):
            out = _run(sys.executable, _OURS.format(root=str(ROOT), table=str(table), data=str(folder)))
            print(f"esante_report.contracts.schema, {label}: ok seconds peak_MiB = {out}")
            if args.frictionless_python:
                out = _run(args.frictionless_python, _FRICTIONLESS.format(
                    schema=SCHEMA, table=table.name, folder=str(folder)))
                print(f"frictionless, {label}: valid seconds peak_MiB = {out}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
