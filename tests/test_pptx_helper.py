"""The PowerPoint deck written by a helper process while the PDF is laid out: the same file as one written in
the render's own process, one line and no PowerPoint or Impress copy when the helper dies, and no helper left
behind by a render that is killed."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from esante_report.decks.registry import find_deck
from esante_report.formats import odp, pptx, pptx_helper, web
from esante_report.pipeline import stages

from .conftest import DATA, PARAMS, ROOT

HOSTILE = "Chiffres <script>alert(1)</script> & « 12,5 % » \u202e]]>"


@pytest.fixture
def deck(monkeypatch):
    """A one-slide deck whose text holds markup, and the helper of this test (same SOURCE_DATE_EPOCH as here)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"## {HOSTILE}\n\n- {HOSTILE}\n- deux")])
    meta = stages.deck_meta(find_deck("post_covid"), date=dt.date(2021, 11, 15), issuer=HOSTILE, data_dir=DATA)
    rendered = web.build(nb, meta)
    with pptx_helper.beside():
        pptx_helper.warm()
        yield rendered.deck, meta


def _slide_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("ppt/slides/slide"))


def test_the_helper_writes_the_file_this_process_writes(deck, tmp_path):
    slides, meta = deck
    writing = pptx_helper.submit(slides, meta, tmp_path / "aide.pptx")
    assert writing is not None  # this machine has two cores: the helper runs
    pptx.write_pptx(slides, meta, tmp_path / "ici.pptx")
    assert writing.finish() == tmp_path / "aide.pptx"
    assert (tmp_path / "aide.pptx").read_bytes() == (tmp_path / "ici.pptx").read_bytes()
    text = _slide_xml(tmp_path / "aide.pptx")
    assert "Chiffres &lt;script&gt;alert(1)&lt;/script&gt; &amp; « 12,5 % »" in text and "<script" not in text


def test_a_helper_that_dies_costs_the_powerpoint_and_impress_copies_only(deck, tmp_path):
    slides, meta = deck
    writing = pptx_helper.submit(slides, meta, tmp_path / "deck.pptx")
    assert writing is not None
    writing.helper.proc.kill()
    conversion = odp.Conversion(writing, tmp_path / "deck.odp")  # waits for the PowerPoint deck first
    assert writing.finish() is None or (tmp_path / "deck.pptx").is_file()  # it may have been quicker than the kill
    if writing.skipped:
        assert writing.skipped.startswith("the PowerPoint copy was skipped: ") and "\n" not in writing.skipped
        assert not (tmp_path / "deck.pptx").exists()
        assert conversion.finish() is None
        assert conversion.skipped == ("the Impress copy was skipped: the PowerPoint deck it is made from was "
                                      "not written")
    else:
        conversion.finish()
    # the helper is gone: the next deck is written by this process
    assert pptx_helper.submit(slides, meta, tmp_path / "suivant.pptx") is None


def test_a_killed_render_leaves_no_helper(tmp_path):
    marker = f"esr-helper-{secrets.token_hex(8)}"
    env = {**os.environ, "ESR_TEST_RUN": marker, "PYTHONWARNINGS": "ignore"}
    render = subprocess.Popen([sys.executable, "-m", "esante_report", "render", "--date", "2021-11-15", "--deck",
                               "post_covid", "--data", str(DATA), "--params", str(PARAMS), "--out",
                               str(tmp_path / "out"), "--quiet", "--no-index"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def helpers() -> list[str]:
        from .test_soffice import processes_with_env

        return [p for p in processes_with_env(marker) if "esante_report.formats.pptx_helper" in p]

    try:
        deadline = time.monotonic() + 120
        while not helpers():
            assert render.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        render.send_signal(signal.SIGKILL)
        render.wait(30)
        deadline = time.monotonic() + 10
        while helpers() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not helpers()
    finally:
        if render.poll() is None:
            render.kill()
