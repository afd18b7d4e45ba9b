"""``esante-report preview``: the deck served on 127.0.0.1 behind a token, rebuilt on every save, problems
shown on their slide, nothing left after Ctrl-C.

One preview runs for the module, in a copy of the project that the tests edit as an analyst would (the
notebook saved from JupyterLab, a figure changed in the deck's CSV); each test puts back what it changed.
"""

from __future__ import annotations

import csv
import http.client
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import nbformat
import pytest

from .conftest import DATA, PARAMS, ROOT

pytestmark = pytest.mark.e2e

DATE = "2021-11-15"
WAIT = 240  # seconds a rebuild may take on a loaded 2-core machine


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("preview") / "projet"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.esante-report]\n", encoding="utf-8")
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".*"))
    shutil.copytree(DATA, root / "data")
    shutil.copytree(PARAMS, root / "params")
    (root / "tmp").mkdir()
    return root


@pytest.fixture(scope="module")
def preview(project):
    marker = uuid.uuid4().hex
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(project / "tmp"), "ESR_PREVIEW_TEST": marker}
    env.pop("ESANTE_REPORT_ROOT", None)
    errors = project / "preview.stderr"
    with open(errors, "w", encoding="utf-8") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "esante_report", "preview", "post_covid", "--date", DATE,
                                    "--no-browser"], cwd=project, env=env, stdout=subprocess.PIPE, stderr=stderr,
                                   text=True)
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), (url, errors.read_text(encoding="utf-8"))
    yield {"url": url, "process": process, "marker": marker, "project": project, "stderr": errors}
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    from . import _browser

    yield from _browser.launched_browser()


def _request(url: str, host: str | None = None) -> int:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.putrequest("GET", parts.path + (f"?{parts.query}" if parts.query else ""), skip_host=True)
    connection.putheader("Host", host or parts.netloc)
    connection.endheaders()
    status = connection.getresponse().status
    connection.close()
    return status


def test_the_deck_is_served_only_with_the_token_and_a_local_host(preview):
    url = preview["url"]
    base, token = url.split("/?token=")
    assert _request(url) == 200
    assert _request(f"{base}/deck?token={token}") == 200
    assert _request(f"{base}/") == 403                                  # no token
    assert _request(f"{base}/?token=x{token}") == 403                   # a wrong one
    assert _request(f"{base}/events") == 403                            # the reload channel too
    port = urllib.parse.urlsplit(url).port
    assert _request(url, host=f"attacker.example:{port}") == 403        # DNS rebinding
    assert _request(url, host=f"localhost:{port + 1}") == 403
    assert _request(url, host=f"localhost:{port}") == 200
    assert _request(f"{base}/../pyproject.toml?token={token}") == 404   # nothing but the deck
    assert _request(f"{base}/notebooks/post_covid.ipynb?token={token}") == 404


# --------------------------------------------------------------------------- in Chromium


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url)
    _wait(page, "() => { const s = window.esrPreview && window.esrPreview(); return s && s.slide !== null; }")
    return page


def _wait(page, script: str, arg=None) -> None:
    page.wait_for_function(script, arg=arg, timeout=WAIT * 1000, polling=250)


def _deck(page):
    return page.frame_locator("#deck")


def _go(page, slide: int) -> None:
    """Go to ``slide`` as a reader would; asked again until the deck shown is there (a rebuild of the test
    before may still load a new deck: a deck whose document is not ready yet takes no order)."""
    _wait(page, "n => { const w = document.getElementById('deck').contentWindow, r = w && w.Reveal;"
                " if (window.esrPreview().slide !== n && r && r.isReady && r.isReady()) { r.slide(n - 1); }"
                " return window.esrPreview().slide === n; }", slide)


def _deck_version(page) -> int:
    return page.evaluate("() => window.esrPreview().shownDeck")


def _new_deck_shows(page, before: int, script: str, slide: int) -> None:
    """Wait for a deck newer than ``before`` whose frame makes ``script`` true, open on ``slide``."""
    _wait(page, "v => window.esrPreview().shownDeck > v", before)
    _wait(page, script)
    _wait(page, "n => window.esrPreview().slide === n", slide)  # the new deck opens where the reader was


def _save_notebook(project: Path, change) -> nbformat.NotebookNode:
    """Edit the notebook as JupyterLab saves it (whole file rewritten); returns the original to put back."""
    path = project / "notebooks" / "post_covid.ipynb"
    original = nbformat.read(path, 4)
    nb = nbformat.read(path, 4)
    change(nb)
    nbformat.write(nb, path)
    return original


def _heading_cell(nb, heading: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith(heading))


def _before_the_notes(*cells):
    """A change for :func:`_save_notebook`: ``cells`` inserted just before the « Sources et notes » slide."""
    def change(nb):
        at = _heading_cell(nb, "## Sources et notes")
        nb.cells[at:at] = list(cells)
    return change


@pytest.mark.browser
def test_a_heading_edit_shows_on_the_same_slide(preview, browser):
    page = _open(browser, preview["url"])
    slide = 4  # "Mesures d'accompagnement post-COVID": cover, timeline, map, then this one
    _go(page, slide)
    assert "Mesures d'accompagnement" in _deck(page).locator(".present h2").inner_text()
    before = _deck_version(page)
    original = _save_notebook(preview["project"], lambda nb: setattr(
        nb.cells[_heading_cell(nb, "## Mesures d'accompagnement")], "source",
        "## Mesures d'accompagnement post-COVID, revues en séance"))
    try:
        _new_deck_shows(page, before, "() => { const d = document.getElementById('deck').contentDocument;"
                        " const h = d && d.querySelector('.present h2');"
                        " return h && h.textContent.includes('revues en séance'); }", slide)
    finally:
        nbformat.write(original, preview["project"] / "notebooks" / "post_covid.ipynb")
    page.close()


@pytest.mark.browser
def test_a_figure_edited_in_the_csv_shows_on_the_same_slide(preview, browser):
    page = _open(browser, preview["url"])
    slide = 6  # the detail table by region, month and category
    _go(page, slide)
    path = preview["project"] / "data" / "post_covid" / "patients.csv"
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    target = next(i for i, r in enumerate(rows) if i and r[3] == "hommes" and r[4].strip())
    deck_text = "() => (document.getElementById('deck').contentDocument?.body?.textContent || '').replace(/\\s/g, ' ')"
    assert "7 777" not in page.evaluate(deck_text).replace("\u202f", " ").replace("\u00a0", " ")
    rows[target][4] = "7777"
    before = _deck_version(page)
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    try:
        _new_deck_shows(page, before, "() => (document.getElementById('deck').contentDocument?.body?.textContent"
                        " || '').replace(/[\\s\\u202f\\u00a0]/g, ' ').includes('7 777')", slide)
    finally:
        path.write_text(text, encoding="utf-8")
    page.close()


@pytest.mark.browser
def test_a_cell_that_raises_shows_an_overlay_naming_the_cell(preview, browser):
    page = _open(browser, preview["url"])

    original = _save_notebook(preview["project"], _before_the_notes(
        nbformat.v4.new_code_cell("raise ValueError('chiffre introuvable')")))
    cell = _heading_cell(original, "## Sources et notes") + 1  # as JupyterLab numbers it
    try:
        # the overlay's text at a moment it is shown (a save may reach the watcher as two events: two builds)
        message = page.wait_for_function(
            "() => { const f = document.getElementById('failure');"
            " return !f.hidden && f.textContent.includes('ValueError') ? f.textContent : null; }",
            timeout=WAIT * 1000, polling=250).json_value()
        assert f"cell {cell}" in message and "ValueError" in message and "chiffre introuvable" in message, message
        assert _deck(page).locator(".reveal .slides > section").count() > 0  # the last good deck stays shown
    finally:
        nbformat.write(original, preview["project"] / "notebooks" / "post_covid.ipynb")
    _wait(page, "() => document.getElementById('failure').hidden")
    page.close()


@pytest.mark.browser
def test_text_too_small_shows_the_readability_finding_on_its_slide(preview, browser):
    page = _open(browser, preview["url"])

    original = _save_notebook(preview["project"], _before_the_notes(
        nbformat.v4.new_markdown_cell("## Un graphique illisible"),
        nbformat.v4.new_code_cell("#| fig-alt: Un mot écrit en tout petit\n"
                                  "fig, ax = plt.subplots(figsize=esr.SLOT_FULL)\n"
                                  "ax.text(0.5, 0.5, 'minuscule', fontsize=4)\n"
                                  "plt.show()")))
    find = ("() => Array.from(document.getElementById('deck').contentDocument"
            ".querySelectorAll('.reveal .slides > section')).findIndex("
            "s => s.textContent.includes('Un graphique illisible')) + 1")
    try:
        # the deck with the new slide (a build of an earlier save may land first: it is not this one)
        _wait(page, find.replace("() =>", "() => { try { return (") + ") > 0; } catch (e) { return false; } }")
        slide = page.evaluate(find)
        assert slide > 0
        _go(page, slide)
        _wait(page, "() => Array.from(document.querySelectorAll('#problems li')).some("
                    "li => li.textContent.includes('minuscule'))")
        shown = page.locator("#problems li").all_inner_texts()
        assert any(f"slide {slide}" in t and "minuscule" in t for t in shown), shown
        _go(page, 1)  # on another slide, that finding is not shown
        assert not any("minuscule" in t for t in page.locator("#problems li").all_inner_texts())
    finally:
        nbformat.write(original, preview["project"] / "notebooks" / "post_covid.ipynb")
    page.close()


def _processes_with(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"ESR_PREVIEW_TEST={marker}".encode() in environ:
            found.append(f"{pid}: {cmdline[:120]}")
    return found


def test_ctrl_c_leaves_no_kernel_and_no_temporary_folder(preview):
    process = preview["process"]
    assert _processes_with(preview["marker"])  # the preview and its kernels are found this way
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0, preview["stderr"].read_text(encoding="utf-8")
    assert "Traceback" not in preview["stderr"].read_text(encoding="utf-8")  # a build or check still running ends quietly
    deadline = time.monotonic() + 10
    while _processes_with(preview["marker"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_with(preview["marker"]) == []
    assert sorted(p.name for p in (preview["project"] / "tmp").iterdir()) == []
