"""Both ends of the dependency ranges (issue 15): a raster chart through the PDF stage, WeasyPrint's fetcher.

``make test`` runs this module in the main environment (the newest versions pyproject.toml allows) and
again in ``.venv-min/`` (the lowest ones, pinned by ``tests/constraints-min.txt``) with ESANTE_MIN_ENV=1.
"""

from __future__ import annotations

import base64
import io
import os
import re
from importlib import metadata
from pathlib import Path

import pytest

from . import _hostile as h
from .conftest import ROOT

MIN_ENV = os.environ.get("ESANTE_MIN_ENV") == "1"


def _pins() -> dict[str, str]:
    text = (ROOT / "tests" / "constraints-min.txt").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, flags=re.M))


def _ranges() -> dict[str, tuple[str, str]]:
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    out = {}
    for dep in deps:
        m = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?>=([^,]+),<(.+)", dep.split(";")[0].strip())
        if m:
            out[m.group(1).lower()] = (m.group(2), m.group(3))
    return out


def test_the_environment_holds_the_end_of_each_range_it_stands_for() -> None:
    """In .venv-min every pinned library is its range's lower bound; the main environment has WeasyPrint 70."""
    ranges = _ranges()
    for name, pinned in _pins().items():
        if name.lower() in ranges:  # (numpy is pinned for pandas 2.2.0, not a direct dependency)
            assert ranges[name.lower()][0] in (pinned, pinned.removesuffix(".0")), (
                f"{name}: constraints-min.txt pins {pinned}, pyproject.toml's lower bound is {ranges[name.lower()][0]}")
    if MIN_ENV:
        installed = {name: metadata.version(name) for name in _pins()}
        assert installed == _pins(), installed
    else:
        major = int(metadata.version("weasyprint").split(".")[0])
        assert major == int(ranges["weasyprint"][1]) - 1, (
            f"WeasyPrint {metadata.version('weasyprint')}: the main test environment must hold the highest "
            f"allowed major version ({int(ranges['weasyprint'][1]) - 1})")


PLAIN = [
    ("markdown", "# Essai sans mise en forme maison"),
    ("code", "report_date = '2021-11-15'", ["parameters"]),
    ("markdown", "## Graphique matplotlib brut"),
    ("code", "import matplotlib.pyplot as plt\nplt.figure(figsize=(6, 3))\nplt.bar(['a', 'b', 'c'], [3, 1, 2])\n"
             "plt.title('Barres')\nplt.show()", []),
    ("markdown", "## Fin\n\nDiapositive suivante."),
]


@pytest.fixture(scope="module")
def plain_export(tmp_path_factory):
    """An analyst notebook with plt.show() and no house set-up, run by papermill, then exported."""
    import nbformat
    import papermill
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from esante_report.cli.export import export_notebook

    root = tmp_path_factory.mktemp("plain")
    cells = [new_markdown_cell(c[1]) if c[0] == "markdown" else new_code_cell(c[1], metadata={"tags": c[2]})
             for c in PLAIN]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source, executed = root / "plain.ipynb", root / "plain-run.ipynb"
    nbformat.write(nb, str(source))
    papermill.execute_notebook(str(source), str(executed), kernel_name="python3", progress_bar=False,
                               parameters={"report_date": "2021-11-15"}, cwd=str(root))
    return export_notebook(executed, "post_covid", out_dir=root / "out")


@pytest.mark.e2e
def test_plain_plt_show_notebook_exports_with_its_raster_chart_in_both_decks(plain_export) -> None:
    from bs4 import BeautifulSoup
    from PIL import Image
    from pypdf import PdfReader

    # HTML: the chart is an <img> whose PNG decodes, on the slide of its heading
    soup = BeautifulSoup(plain_export.html.read_text(encoding="utf-8"), "html.parser")
    slide = next(s for s in soup.select("section.esr-slide") if "Graphique matplotlib brut" in s.get_text())
    [img] = slide.select("img")
    head, payload = img["src"].split(",", 1)
    assert head == "data:image/png;base64"
    with Image.open(io.BytesIO(base64.b64decode(payload, validate=True))) as image:
        image.load()
        assert image.format == "PNG" and image.width > 200
    assert any("raster image" in w for w in plain_export.warnings)

    # PDF: that page draws an image XObject (and the others draw none)
    reader = PdfReader(str(plain_export.pdf))
    drawn = []
    for page in reader.pages:
        names = set(re.findall(rb"/([^\s/]+)\s+Do\b", page.get_contents().get_data()))
        xobjects = page["/Resources"].get("/XObject") or {}
        drawn.append([n for n in names if f"/{n.decode()}" in xobjects
                      and xobjects[f"/{n.decode()}"].get_object().get("/Subtype") == "/Image"])
    pages = [p.extract_text() or "" for p in reader.pages]
    chart_page = next(i for i, t in enumerate(pages) if "Graphique matplotlib brut" in t)
    assert drawn[chart_page], f"no image drawn on page {chart_page + 1}"
    assert [i for i, d in enumerate(drawn) if d] == [chart_page]


@pytest.mark.e2e
def test_weasyprint_fetches_data_uris_only(tmp_path) -> None:
    """With the installed WeasyPrint: a data: image is drawn; file: and loopback http: are never fetched."""
    from pypdf import PdfReader

    from esante_report.formats import web as export

    trap = h.TrapServer()
    secret = tmp_path / "s.png"
    png = h.real_images()["image/png"]
    secret.write_bytes(png)
    try:
        html = (f'<html><body><p>Essai</p><img alt="a" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                f'<img alt="b" src="file://{secret}"><img alt="c" src="http://127.0.0.1:{trap.port}/i.png">'
                f'<link rel="stylesheet" href="http://127.0.0.1:{trap.port}/x.css"></body></html>')
        pdf = tmp_path / "f.pdf"
        export.write_pdf(html, pdf)
    finally:
        trap.stop()
    assert trap.requests == []
    [page] = PdfReader(str(pdf)).pages
    draws = re.findall(rb"/([^\s/]+)\s+Do\b", page.get_contents().get_data())
    assert len(draws) == 1, draws  # the data: image only


def test_url_fetcher_refuses_files_and_hosts() -> None:
    from esante_report.formats import web as export
    from esante_report.errors import ExportError

    for url in ("file:///etc/hostname", "http://127.0.0.1:9/x", "https://example.org/x.png"):
        with pytest.raises(ExportError, match="refused to fetch"):
            export.url_fetcher()(url)
