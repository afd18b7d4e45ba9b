"""Batches: several dates and regional decks in parallel; one deck fails on purpose, the others publish.

One batch is rendered once for the module (``--jobs 2``) and read back by every test.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from .conftest import DATA, PARAMS, ROOT, pdf_pages_text

pytestmark = pytest.mark.e2e

FAILING_DATE = "2021-12-01"


def _cli(*args: str, root: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if root is not None:
        env["ESANTE_REPORT_ROOT"] = str(root)  # the notebooks of this root
        env.setdefault("ESANTE_REPORT_NODE_MODULES", str(ROOT / "node_modules"))  # reveal.js of the checkout
    return subprocess.run([sys.executable, "-m", "esante_report", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=900, env=env)


def _slides(html: Path) -> int:
    """Slides of an HTML deck, as a reader's browser would list them."""
    return len(BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser").select("section.esr-slide"))


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict:
    """Three dates: the seed catalogue, the seed post-COVID deck for two regions, and a catalogue date whose
    notebook fails on purpose (a cell raises for that date only)."""
    root = tmp_path_factory.mktemp("root")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    nb = nbformat.read(root / "notebooks" / "catalogue.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell(
        f"if report_date == {FAILING_DATE!r}:\n    raise ValueError('cassé exprès pour ce test')"))
    nbformat.write(nb, root / "notebooks" / "catalogue.ipynb")
    params = root / "params"
    shutil.copytree(PARAMS, params)
    (params / f"{FAILING_DATE}.yaml").write_text("catalogue:\n  region: OCC\n", encoding="utf-8")
    out = root / "out"
    result = _cli("render", "--all", "--region", "IDF", "--region", "NOR", "--jobs", "2", "--data", str(DATA),
                  "--params", str(params), "--out", str(out), root=root)
    return {"root": root, "out": out, "result": result, "params": params}


def test_the_batch_exits_non_zero_and_the_summary_names_the_failure(batch):
    result = batch["result"]
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    rows = {tuple(line.split()[:3]): line for line in result.stdout.splitlines() if re.match(r"\d{4}-\d\d-\d\d ", line)}
    assert ("2020-12-08", "catalogue", "rendered") in rows
    assert ("2021-11-15", "post_covid-IDF", "rendered") in rows
    assert ("2021-11-15", "post_covid-NOR", "rendered") in rows
    failed = rows[(FAILING_DATE, "catalogue", "failed")]
    assert re.search(r"catalogue\.ipynb failed at cell \d+ \(In \[\d+\]\): ValueError: cassé exprès pour ce test",
                     failed), failed
    pages = rows[("2020-12-08", "catalogue", "rendered")].split()[4]
    assert int(pages) == _slides(batch["out"] / "2020-12-08" / "catalogue.html")  # pages
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {FAILING_DATE}/catalogue: ")
    # stderr is not a terminal here: progress is plain lines, one per deck and stage
    assert re.search(r"^\[\s*[\d.]+s\] 2021-11-15/post_covid-IDF: writing PDF$", result.stderr, re.M), result.stderr
    assert "\x1b[" not in result.stderr


def test_the_other_decks_are_published_with_their_regional_names(batch):
    out = batch["out"]
    published = sorted(p.relative_to(out).as_posix() for p in out.glob("20*/*.*")
                       if not p.name.startswith("."))  # the version folders behind the published links
    assert published == [f"{date}/{name}.{suffix}"
                         for date, name in (("2020-12-08", "catalogue"), ("2021-11-15", "post_covid-IDF"),
                                            ("2021-11-15", "post_covid-NOR"))
                         for suffix in ("html", "ipynb", "odp", "pdf", "pptx")]
    assert (out / FAILING_DATE / "failed" / "catalogue.ipynb").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".render-")]
    # the regional deck ran with its region parameter
    nb = nbformat.read(out / "2021-11-15" / "post_covid-IDF.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'region = "IDF"' in injected.source
    sections = _slides(out / "2021-11-15" / "post_covid-NOR.html")
    assert sections and len(pdf_pages_text(out / "2021-11-15" / "post_covid-NOR.pdf")) == sections
    assert "Région Normandie (NOR)" in pdf_pages_text(out / "2021-11-15" / "post_covid-NOR.pdf")[0]


def test_the_index_is_rewritten_and_lists_regional_decks_under_their_date(batch):
    soup = BeautifulSoup((batch["out"] / "index.html").read_text(encoding="utf-8"), "html.parser")
    titles = [" ".join(t.get_text().split()) for t in soup.select(".idx-deck .idx-title")]
    assert titles == ["Point e-santé – catalogue des services",
                      "Cellules de coordination post-COVID — Île-de-France",
                      "Cellules de coordination post-COVID — Normandie",
                      "Point e-santé – catalogue des services"]
    assert [t["datetime"] for t in soup.select("section.idx-date time")] == [FAILING_DATE, "2021-11-15", "2020-12-08"]
    # the deck that failed is shown as missing, not left out (and nothing of it is linked)
    failed = soup.select("section.idx-date")[0]
    assert [r.select_one(".idx-title").get_text(strip=True) for r in failed.select(".idx-missing")] == [
        "Point e-santé – catalogue des services"]
    assert not failed.select("a") and "Non disponible" in failed.get_text()
    assert not soup.select("section.idx-date")[1].select(".idx-missing")


def test_fail_fast_stops_at_the_first_failure(batch):
    """Only the failing date is out of date: with --fail-fast and one worker, nothing runs after it."""
    params = batch["params"]
    later = "2021-12-02"
    (params / f"{later}.yaml").write_text("catalogue:\n  region: OCC\n", encoding="utf-8")
    try:
        result = _cli("render", "--from", FAILING_DATE, "--to", later, "--fail-fast", "--jobs", "1", "--data",
                      str(DATA), "--params", str(params), "--out", str(batch["out"]), root=batch["root"])
    finally:
        (params / f"{later}.yaml").unlink()
    assert result.returncode == 1
    assert re.search(rf"{later}\s+catalogue\s+skipped\s+-\s+not run \(--fail-fast\)", result.stdout), result.stdout
    assert not (batch["out"] / later).exists()


def test_bad_date_arguments_are_usage_errors(tmp_path):
    result = _cli("render", "--date", "2021-11-15", "--all", "--out", str(tmp_path))
    assert result.returncode == 2 and "give exactly one of --date (repeatable), --all, or --from/--to" in result.stderr
    result = _cli("render", "--from", "15/11/2021", "--out", str(tmp_path))
    assert result.returncode == 2 and "expected a date YYYY-MM-DD, got '15/11/2021'" in result.stderr
    result = _cli("render", "--date", "2021-11-15", "--region", "XYZ", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "field 'region': unknown region 'XYZ' given to --region (expected 'all' or one of ARA," in result.stderr


def test_region_all_plans_one_deck_per_region_of_regions_csv(tmp_path, batch):
    """--region all: every region of regions.csv, in file order (planned only: nothing is rendered here)."""
    from esante_report.pipeline.batch import plan

    the_plan = plan(["2021-11-15"], decks=None, data_dir=DATA, params_dir=PARAMS, out_dir=tmp_path,
                    notebooks=batch["root"] / "notebooks", regions=["all"])
    abbrs = [line.split(",")[1] for line in (DATA / "regions.csv").read_text(encoding="utf-8").splitlines()[1:]]
    assert [job.name for job in the_plan.jobs] == [f"post_covid-{abbr}" for abbr in abbrs]
    assert len(abbrs) == 18
    assert the_plan.jobs[0].title == "Cellules de coordination post-COVID — Auvergne-Rhône-Alpes"
    assert the_plan.jobs[0].parameters["region"] == "ARA"


def test_a_notebook_without_a_region_parameter_is_refused_for_regional_decks(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "post_covid.ipynb", as_version=4)
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    parameters.source = re.sub(r"^region\s*=.*$", "", parameters.source, flags=re.M)
    nbformat.write(nb, notebooks / "post_covid.ipynb")
    shutil.copy(ROOT / "notebooks" / "catalogue.ipynb", notebooks)
    result = _cli("render", "--date", "2021-11-15", "--region", "IDF", "--data", str(DATA), "--params", str(PARAMS),
                  "--out", str(tmp_path / "out"), root=tmp_path)
    assert result.returncode == 1
    assert "post_covid.ipynb: the parameters cell has no 'region' parameter, so a regional deck would show " \
           "national figures" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out" / "2021-11-15").exists()


def test_bad_data_of_one_deck_does_not_refuse_another_deck_of_the_same_date(tmp_path):
    """Planned only: the catalogue's broken data refuses the catalogue, the post-COVID deck of that date still runs."""
    from esante_report.pipeline.batch import plan

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    indicators = data / "catalogue" / "indicators.csv"
    indicators.write_text(indicators.read_text(encoding="utf-8").replace(",20356,", ",vingt mille,", 1),
                          encoding="utf-8")
    params = tmp_path / "params"
    params.mkdir()
    (params / "2021-11-15.yaml").write_text(
        "post_covid:\n  wave: 3\n  months: [\"2021-08\", \"2021-09\"]\ncatalogue:\n  region: OCC\n", encoding="utf-8")
    the_plan = plan(["2021-11-15"], decks=None, data_dir=data, params_dir=params, out_dir=tmp_path / "out",
                    notebooks=ROOT / "notebooks")
    assert [job.name for job in the_plan.jobs] == ["post_covid"]
    assert [(r.name, r.status) for r in the_plan.refused] == [("catalogue", "failed")]
    assert any("indicators.csv" in line and "vingt mille" in line for line in the_plan.problems), the_plan.problems


def _deck_of_each_worker(render: int, out: Path) -> dict[int, str]:
    """{pool worker pid: the deck it runs}, read from the process tree of ``render``: the worker whose kernel's
    working folder is a deck's build folder (``<out>/.render-<date>-<deck>-*``) is running that deck."""
    import psutil

    running = {}
    try:
        workers = [p for p in psutil.Process(render).children() if "multiprocessing" in " ".join(p.cmdline())]
    except psutil.Error:
        return running
    for worker in workers:
        try:
            for child in worker.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    folder = Path(child.cwd())
                    found = re.match(r"\.render-\d{4}-\d\d-\d\d-(.+)-[^-]+$", folder.name)
                    if found and folder.parent == out:
                        running[worker.pid] = found.group(1)
        except psutil.Error:
            continue
    return running


def test_a_killed_worker_costs_only_its_own_deck(tmp_path):
    """SIGKILL of the worker running a deck: that deck runs again on a new worker; killed there too, it alone
    is reported failed, in one line, and every other deck of the batch is published. What the killed workers
    started (kernels, fork servers, LibreOffice) does not outlive the batch."""
    import secrets
    import signal
    import time

    from .test_soffice import processes_with_env

    out = tmp_path / "out"
    errors = tmp_path / "stderr.txt"
    marker = f"esr-killed-worker-{secrets.token_hex(8)}"
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "ESR_TEST_RUN": marker}
    with open(errors, "w", encoding="utf-8") as stderr:
        render = subprocess.Popen([sys.executable, "-m", "esante_report", "render", "--date", "2021-11-15",
                                   "--deck", "post_covid", "--region", "IDF", "--region", "NOR", "--region", "OCC",
                                   "--jobs", "2", "--no-index", "--data", str(DATA), "--params", str(PARAMS),
                                   "--out", str(out)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr,
                                  text=True)
    try:
        victim, killed = None, []
        deadline = time.monotonic() + 600
        while len(killed) < 2 and render.poll() is None and time.monotonic() < deadline:
            for pid, deck in _deck_of_each_worker(render.pid, out).items():
                if pid not in killed and (victim is None or deck == victim):
                    victim = deck
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.1)
        stdout = render.communicate(timeout=900)[0]
        deadline = time.monotonic() + 10
        while processes_with_env(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = processes_with_env(marker)
    finally:
        if render.poll() is None:
            render.kill()
        for line in processes_with_env(marker):  # so that a failure of this test leaves nothing behind
            with contextlib.suppress(OSError):
                os.kill(int(line.split()[0]), signal.SIGKILL)
    assert not left, "\n".join(left)
    said = errors.read_text(encoding="utf-8")
    assert len(killed) == 2, f"the deck {victim} was not run again after its worker died\n{stdout}\n{said}"
    assert render.returncode == 1, said
    assert "Traceback" not in said and "BrokenProcessPool" not in said + stdout, said
    rows = {line.split()[1]: line for line in stdout.splitlines() if line.startswith("2021-11-15 ")}
    others = sorted({"post_covid-IDF", "post_covid-NOR", "post_covid-OCC"} - {victim})
    assert sorted(rows) == sorted([*others, victim]), stdout
    for deck in others:
        assert rows[deck].split()[2] == "rendered", stdout
        assert (out / "2021-11-15" / f"{deck}.pdf").is_file() and (out / "2021-11-15" / f"{deck}.html").is_file()
        assert pdf_pages_text(out / "2021-11-15" / f"{deck}.pdf")
    assert re.search(r"failed\s+\S*\s*the worker running it died again \(killed by SIGKILL\): not run again$",
                     rows[victim]), rows[victim]
    assert not (out / "2021-11-15" / f"{victim}.pdf").exists()
    assert said.count(f"warning: 2021-11-15/{victim}: the worker running it died (killed by SIGKILL): "
                      "running it again") == 1, said
    assert [line for line in said.splitlines() if line.startswith("error: ")] == [
        f"error: 2021-11-15/{victim}: the worker running it died again (killed by SIGKILL): not run again"], said
