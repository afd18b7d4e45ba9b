"""Shared fixtures: the repository's data, editable copies of it, and decks rendered once per session."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
PARAMS = ROOT / "params"


def normalise(text: str) -> str:
    """PDF/HTML text with French no-break spaces turned into plain spaces and runs of blanks folded."""
    return re.sub(r"[ \t\u00a0\u202f]+", " ", text)


def pdf_pages_text(path: Path) -> list[str]:
    """Text of each page in reading (document) order, as a reader's copy-paste would give it."""
    from pypdf import PdfReader

    return [normalise(page.extract_text() or "") for page in PdfReader(str(path)).pages]


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of data/ for tests that break or change it."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


@pytest.fixture
def params_copy(tmp_path: Path) -> Path:
    target = tmp_path / "params"
    shutil.copytree(PARAMS, target)
    return target


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, object]:
    """Both seed decks rendered once from the repository's data and params into a temporary folder.

    Returns {"out": folder, "post_covid": RenderedDeck, "catalogue": RenderedDeck}.
    """
    from esante_report.outdir.index import write_index
    from esante_report.pipeline.render import render_date

    out = tmp_path_factory.mktemp("outputs")
    decks = {}
    for date in ("2021-11-15", "2020-12-08"):
        for deck in render_date(date, data_dir=DATA, params_dir=PARAMS, out_dir=out):
            decks[deck.deck] = deck
    write_index(out)
    return {"out": out, **decks}


@pytest.fixture(scope="session")
def all_regions(rendered, tmp_path_factory) -> Path:
    """The decks of ``rendered`` (copied) and the 18 regional post_covid decks of 2021-11-15, rendered once
    through the CLI (``render --region all``), which rewrites the index and its feed.

    Returns the output folder.
    """
    from esante_report.cli.main import main

    out = tmp_path_factory.mktemp("all-regions") / "outputs"
    shutil.copytree(rendered["out"], out, symlinks=True)
    main(["render", "--date", "2021-11-15", "--deck", "post_covid", "--region", "all", "--data", str(DATA),
          "--params", str(PARAMS), "--out", str(out), "--jobs", "2", "--quiet"])
    return out


@pytest.fixture(scope="session")
def distribution_decks(tmp_path_factory) -> Path:
    """The national post_covid deck of 2021-11-15 and the regional decks of OCC, IDF and MAY (a region with no
    patients rows), rendered once through the CLI as a user would (so render records what it was asked for).

    Returns the output folder (tests copy it before changing anything).
    """
    from esante_report.cli.main import main

    out = tmp_path_factory.mktemp("dist-outputs")
    common = ["--date", "2021-11-15", "--deck", "post_covid", "--data", str(DATA), "--params", str(PARAMS),
              "--out", str(out), "--jobs", "2", "--quiet"]
    main(["render", *common])
    main(["render", *common, "--region", "OCC", "--region", "IDF", "--region", "MAY"])
    return out


@pytest.fixture(scope="module")
def trap():
    """An HTTP server on 127.0.0.1 whose URL hostile payloads use; it must never be asked anything."""
    from ._hostile import TrapServer

    server = TrapServer()
    yield server
    server.stop()
