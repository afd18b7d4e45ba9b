"""Reproducible outputs: with SOURCE_DATE_EPOCH set, two renders give byte-identical HTML and PDF."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.e2e

EPOCH = 1637020800  # 2021-11-16T00:00:00Z


def test_two_renders_are_byte_identical_under_source_date_epoch(tmp_path):
    from pypdf import PdfReader

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "SOURCE_DATE_EPOCH": str(EPOCH)}
    runs = [subprocess.Popen([sys.executable, "-m", "esante_report", "render", "--date", "2021-11-15", "--quiet",
                              "--no-index", "--jobs", "1", "--out", str(tmp_path / name)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    for run in runs:
        _, stderr = run.communicate(timeout=900)
        assert run.returncode == 0, stderr
    for suffix in ("html", "pdf"):
        a = (tmp_path / "a" / "2021-11-15" / f"post_covid.{suffix}").read_bytes()
        b = (tmp_path / "b" / "2021-11-15" / f"post_covid.{suffix}").read_bytes()
        assert a == b, f"post_covid.{suffix} differs between two renders"
    created = PdfReader(str(tmp_path / "a" / "2021-11-15" / "post_covid.pdf")).metadata.creation_date
    assert created.astimezone(dt.timezone.utc) == dt.datetime.fromtimestamp(EPOCH, dt.timezone.utc)
