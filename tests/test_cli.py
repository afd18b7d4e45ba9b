"""The command line: bad input gives one line per problem, exit 1, no traceback, and touches no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from esante_report.errors import RenderError
from esante_report.pipeline.render import render_date

from .conftest import ROOT

#: the decks of this project: whatever notebooks/ holds, shipped or added with new-deck
DECKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


def _cli(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "esante_report", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore", **env})


def _published(out: Path, date: str) -> dict[str, bytes]:
    folder = out / date
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in ("post_covid.html", "post_covid.pdf", "post_covid.ipynb"):
        (folder / name).write_bytes(f"previous {name}".encode())
        files[name] = (folder / name).read_bytes()
    return files


def _assert_untouched(out: Path, date: str, before: dict[str, bytes]) -> None:
    for name, content in before.items():
        assert (out / date / name).read_bytes() == content, name
    assert not [p for p in out.iterdir() if p.name.startswith(".render-")], "temporary folder left behind"


def test_bad_data_exits_1_with_one_line_per_problem(tmp_path, data_copy, params_copy):
    patients = data_copy / "post_covid" / "patients.csv"
    patients.write_text(patients.read_text(encoding="utf-8")
                        .replace("3,IDF,2021-08,hommes,54", "3,IDF,2021-08,hommes,-54")
                        .replace("3,GE,2021-09,femmes,30", "3,GE,2021-09,femmes,trente"), encoding="utf-8")
    out = tmp_path / "out"
    before = _published(out, "2021-11-15")
    result = _cli("render", "--date", "2021-11-15", "--data", str(data_copy), "--params", str(params_copy),
                  "--out", str(out))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, result.stderr
    assert all("patients.csv:" in line for line in errors)
    assert any("field 'patients': expected an integer ≥ 0 of at most 9 digits, got '-54'" in line for line in errors)
    assert any("field 'patients': expected an integer ≥ 0 of at most 9 digits, got 'trente'" in line for line in errors)
    assert "Traceback" not in result.stderr
    _assert_untouched(out, "2021-11-15", before)


@pytest.mark.parametrize("params_text, expected", [
    ("post_covid:\n  wave: 3\n  months: [\"2021-08\"]\nbilan: {}\n",
     "2021-11-15.yaml:4: field 'bilan': unknown deck: no notebook notebooks/bilan.ipynb with a cell tagged "
     f"'parameters' (decks of this project: {', '.join(DECKS)})"),
    ("post_covid:\n  wave: 7\n  months: [\"2021-08\"]\n",
     "2021-11-15.yaml:2: field 'wave': unknown wave 7 (expected one of 3 from"),
    ("post_covid:\n  wave: 3\n  months: [\"2021-8\"]\n",
     "2021-11-15.yaml:3: field 'months': expected a month YYYY-MM, got '2021-8'"),
    ("post_covid:\n  wave: 3\n  months: [\"2021-08\"\n",
     "2021-11-15.yaml:3: invalid YAML: while parsing a flow sequence"),
    ("post_covid:\n  wave: 3\n  mois: [\"2021-08\"]\n",
     "2021-11-15.yaml:3: field 'mois': unknown parameter of deck post_covid (expected one of issuer, months, wave: "
     "the parameters cell of post_covid.ipynb)"),
])
def test_bad_params_file_is_named(tmp_path, params_text, expected):
    params = tmp_path / "params"
    params.mkdir()
    (params / "2021-11-15.yaml").write_text(params_text, encoding="utf-8")
    result = _cli("render", "--date", "2021-11-15", "--params", str(params), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_missing_params_file_and_debug_traceback(tmp_path):
    result = _cli("render", "--date", "2030-01-01", "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "2030-01-01.yaml: file not found (expected a params file" in result.stderr
    assert "Traceback" not in result.stderr
    debug = _cli("--debug", "render", "--date", "2030-01-01", "--out", str(tmp_path / "out"))
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_check_command_validates_every_date():
    result = _cli("check", "--all")
    assert result.returncode == 0, result.stderr
    assert "2021-11-15: OK (post_covid)" in result.stdout and "2020-12-08: OK (catalogue)" in result.stdout


def test_a_failing_notebook_keeps_its_partial_copy_and_publishes_nothing(tmp_path, params_copy):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "post_covid.ipynb", as_version=4)
    nb.cells.insert(5, nbformat.v4.new_code_cell("raise ValueError('cassé exprès')"))
    nbformat.write(nb, notebooks / "post_covid.ipynb")
    out = tmp_path / "out"
    before = _published(out, "2021-11-15")
    with pytest.raises(RenderError, match=r"failed at cell \d+ \(In \[\d+\]\): ValueError: cassé exprès \(partly executed notebook "
                                          r"kept in .*failed/post_covid\.ipynb\)"):
        render_date("2021-11-15", params_dir=params_copy, out_dir=out, notebooks=notebooks)
    partial = nbformat.read(out / "2021-11-15" / "failed" / "post_covid.ipynb", as_version=4)
    assert any(o.get("output_type") == "error" for c in partial.cells if c.cell_type == "code" for o in c.outputs)
    assert json.dumps(partial.cells[4].outputs)  # the cover slide ran before the failure
    _assert_untouched(out, "2021-11-15", before)


def test_missing_boundaries_are_reported_before_anything_runs(tmp_path, data_copy, params_copy):
    (data_copy / "geo" / "regions.geojson").unlink()
    result = _cli("render", "--date", "2021-11-15", "--data", str(data_copy), "--params", str(params_copy),
                  "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "regions.geojson: file not found (expected GeoJSON boundaries with properties code, nom)" in result.stderr


def test_render_all_restricted_to_one_deck(tmp_path, params_copy):
    (tmp_path / "tmp").mkdir()
    result = _cli("render", "--all", "--deck", "post_covid", "--params", str(params_copy),
                  "--out", str(tmp_path / "out"), "--quiet", TMPDIR=str(tmp_path / "tmp"))
    assert result.returncode == 0, result.stderr
    # nothing left in the temporary folder: no fonts of WeasyPrint, no files of LibreOffice
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == []
    # the cache, the lock and the version folders behind the published links are hidden
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")
                     if not any(part.startswith(".") for part in p.relative_to(tmp_path / "out").parts))
    assert written == ["2021-11-15/post_covid.html", "2021-11-15/post_covid.ipynb", "2021-11-15/post_covid.odp",
                       "2021-11-15/post_covid.pdf", "2021-11-15/post_covid.pptx", "feed.xml", "index.html"]
    assert "wrote " in result.stdout and "post_covid.pdf" in result.stdout
