"""The render cache: a second run renders nothing; a changed data file re-renders only the decks that read it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from esante_report.pipeline import batch as batch_mod
from esante_report.paths import notebooks_dir

from .conftest import DATA, PARAMS, ROOT

pytestmark = pytest.mark.e2e


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "esante_report", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=900, env={**os.environ, "PYTHONWARNINGS": "ignore"})


@pytest.fixture(scope="module")
def cached(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("cache")
    data = root / "data"
    shutil.copytree(DATA, data)
    out = root / "out"
    first = _cli("render", "--all", "--jobs", "2", "--data", str(data), "--params", str(PARAMS), "--out", str(out))
    assert first.returncode == 0, first.stderr
    return {"data": data, "out": out, "first": first}


def _args(cached: dict) -> list[str]:
    return ["--data", str(cached["data"]), "--params", str(PARAMS), "--out", str(cached["out"])]


def _decks_in_params(dates: list[str]) -> list[str]:
    """The decks the params files give for ``dates``, sorted: what ``render --all`` renders."""
    return sorted(deck for date in dates for deck in yaml.safe_load((PARAMS / f"{date}.yaml").read_text("utf-8")))


def _status(stdout: str) -> dict[str, str]:
    """deck → status, from the summary table."""
    rows = re.findall(r"^\d{4}-\d\d-\d\d\s+(\S+)\s+(rendered|up to date|failed|skipped)\b", stdout, re.M)
    return dict(rows)


def test_a_second_run_renders_nothing_and_loads_no_renderer(cached):
    before = {p: p.stat().st_mtime_ns for p in cached["out"].glob("20*/*.*")}
    code = ("import sys; from esante_report.cli.main import main; rc = main(sys.argv[1:]); "
            "heavy = [m for m in ('papermill', 'nbconvert', 'weasyprint', 'nbclient') if m in sys.modules]; "
            "print('loaded:', heavy); sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code, "render", "--all", *_args(cached)], capture_output=True,
                            text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "2021-11-15/post_covid: up to date" in result.stdout
    assert "2020-12-08/catalogue: up to date" in result.stdout
    assert "loaded: []" in result.stdout
    assert "wrote" not in result.stdout
    assert {p: p.stat().st_mtime_ns for p in cached["out"].glob("20*/*.*")} == before


def test_force_and_changed_or_removed_outputs_make_a_deck_out_of_date(cached):
    """--force plans every deck; an edited published file makes its deck out of date (checked without rendering)."""
    kwargs = dict(decks=None, data_dir=cached["data"], params_dir=PARAMS, out_dir=cached["out"],
                  notebooks=notebooks_dir())
    dates = ["2020-12-08", "2021-11-15"]
    assert [j.name for j in batch_mod.plan(dates, **kwargs).jobs] == []
    assert sorted(j.name for j in batch_mod.plan(dates, force=True, **kwargs).jobs) == _decks_in_params(dates)
    pdf = cached["out"] / "2021-11-15" / "post_covid.pdf"
    saved = pdf.read_bytes()
    try:
        pdf.write_bytes(saved + b"\n")
        assert [j.name for j in batch_mod.plan(dates, **kwargs).jobs] == ["post_covid"]
    finally:
        pdf.write_bytes(saved)
    params = cached["out"].parent / "params-changed"
    shutil.copytree(PARAMS, params)
    text = (params / "2021-11-15.yaml").read_text(encoding="utf-8")
    # post_covid's issuer only (it is the file's first entry; a deck added by new-deck comes after it)
    (params / "2021-11-15.yaml").write_text(text.replace("Ministère des Solidarités", "Ministère de la Santé", 1),
                                            encoding="utf-8")
    assert [j.name for j in batch_mod.plan(dates, **{**kwargs, "params_dir": params}).jobs] == ["post_covid"]


def test_touching_one_data_file_re_renders_only_the_decks_that_read_it(cached):
    geo = cached["data"] / "geo" / "departements.geojson"  # read by the catalogue deck only
    geo.write_text(geo.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    post_covid_pdf = cached["out"] / "2021-11-15" / "post_covid.pdf"
    before = post_covid_pdf.stat().st_mtime_ns
    result = _cli("render", "--all", *_args(cached))
    assert result.returncode == 0, result.stderr
    status = _status(result.stdout)
    # the seed decks exactly; a deck the project added since (new-deck) renders or stays up to date, never fails
    seeds = ("catalogue", "post_covid")
    assert {d: status.get(d) for d in seeds} == {"catalogue": "rendered", "post_covid": "up to date"}, result.stdout
    assert all(v in ("rendered", "up to date") for v in status.values()), result.stdout
    assert post_covid_pdf.stat().st_mtime_ns == before
    again = _cli("render", "--all", *_args(cached))
    assert set(_status(again.stdout).values()) == {"up to date"} and set(seeds) <= set(_status(again.stdout)), \
        again.stdout


def test_records_keep_the_render_seconds_and_a_record_without_them_still_reads(cached):
    """A render records how long it took (the next batch starts its longest decks first); a record written before
    that, without seconds, still reads: its deck stays up to date."""
    import json

    from esante_report.pipeline import cache

    kwargs = dict(decks=None, data_dir=cached["data"], params_dir=PARAMS, out_dir=cached["out"],
                  notebooks=notebooks_dir())
    dates = ["2020-12-08", "2021-11-15"]
    records = sorted((cached["out"] / cache.CACHE_DIR).glob("20*/*.json"))
    assert sorted(p.stem for p in records) == _decks_in_params(dates)  # a deck added by new-deck has its record too
    saved = {p: p.read_bytes() for p in records}
    try:
        for path in records:
            raw = json.loads(path.read_text(encoding="utf-8"))
            assert isinstance(raw["seconds"], float) and 0.5 < raw["seconds"] < 900, raw
            del raw["seconds"]  # as an older esante-report wrote it
            path.write_text(json.dumps(raw), encoding="utf-8")
        assert [j.name for j in batch_mod.plan(dates, **kwargs).jobs] == []
        assert cache.read_record(cached["out"], "2021-11-15", "post_covid").slides > 0
        assert cache.last_seconds(cached["out"], "2021-11-15", "post_covid") is None
    finally:
        for path, data in saved.items():
            path.write_bytes(data)
