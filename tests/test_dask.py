"""Scale-out: the same job function renders two dates on a Dask LocalCluster (2 worker processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from bs4 import BeautifulSoup

from .conftest import ROOT, pdf_pages_text

pytestmark = pytest.mark.e2e


def test_two_dates_render_on_a_local_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            workers = client.scheduler_info()["workers"]
            assert len(workers) == 2
            pids = set(client.run(os.getpid).values())
            result = subprocess.run([sys.executable, "-m", "esante_report", "render", "--all", "--scheduler",
                                     cluster.scheduler_address, "--out", str(out)], capture_output=True, text=True,
                                    cwd=ROOT, timeout=900, env={**os.environ, "PYTHONWARNINGS": "ignore"})
            prefixes = client.run_on_scheduler(lambda dask_scheduler: sorted(map(str, dask_scheduler.task_prefixes)))
    assert result.returncode == 0, result.stderr
    assert len(pids) == 2 and os.getpid() not in pids
    assert "render" in prefixes, prefixes  # the decks were tasks of this cluster
    assert "2020-12-08  catalogue   rendered" in result.stdout and "2021-11-15  post_covid  rendered" in result.stdout
    for deck in ("2021-11-15/post_covid", "2020-12-08/catalogue"):
        slides = len(BeautifulSoup((out / f"{deck}.html").read_text(encoding="utf-8"), "html.parser")
                     .select("section.esr-slide"))
        assert slides > 5 and len(pdf_pages_text(out / f"{deck}.pdf")) == slides
    assert (out / "index.html").exists()
