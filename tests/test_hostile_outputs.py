"""The hostile-value matrix over notebook outputs (issue 15: S6, S7, S11 and the export tracebacks).

A notebook built with nbformat (no kernel) carries, slide by slide, one hostile output of every MIME type
a kernel can emit (text/html, text/markdown, text/latex, image/svg+xml, image/png, image/jpeg, image/gif,
application/json, application/javascript, widget views), hostile output metadata and hostile speaker
notes. It goes through ``export`` as an analyst's notebook would, and the decks are read as a reader's
browser and PDF viewer would:

- HTML (BeautifulSoup): no <meta> or <style> from an output, only the deck's own scripts, no on*
  attribute, only safe URLs, no style attribute that positions or moves, every image a real image;
- PDF (pypdf): no JavaScript, launch or remote action, /URI only http(s)/mailto/tel, and every slide's
  text on its page;
- Chromium: 0 requests to a loopback trap server, no navigation after 2 s, every slide's text visible
  on its slide and the cover not covered.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from . import _hostile as h
from .conftest import pdf_pages_text

SAFE_LINK = re.compile(r"^(https?://|mailto:|tel:|#)", re.I)
SAFE_SRC = re.compile(r"^(data:image/(png|jpeg|gif)[;,]|#)", re.I)
URL_ATTRS = {"href", "xlink:href", "src", "action", "formaction", "data", "poster", "background", "srcset"}
POSITIONING = re.compile(r"position|z-index|transform|translate|inset|\btop\b|\bleft\b|margin[^:;]*:\s*-", re.I)


@pytest.fixture(scope="module")
def secret() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="esr"))
    path = folder / "s.txt"
    path.write_text(f"ESR-SECRET-{uuid.uuid4().hex}\n", encoding="ascii")
    yield path
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, trap, secret) -> dict[str, Any]:
    """The hostile-output notebook exported once (HTML and PDF decks, warnings)."""
    import nbformat

    from esante_report.cli.export import export_notebook

    root = tmp_path_factory.mktemp("outputs")
    nb, markers = h.output_notebook(trap.port, secret)
    path = root / "hostile.ipynb"
    nbformat.write(nb, str(path))
    done = export_notebook(path, "post_covid", out_dir=root / "out")
    return {"deck": done, "markers": markers, "soup": BeautifulSoup(done.html.read_text(encoding="utf-8"),
                                                                     "html.parser")}


def _report(title: str, lines: list[str]) -> str:
    return "\n".join([f"{title} ({len(lines)}):", *(f"  - {line}" for line in lines[:60])])


# --------------------------------------------------------------------------- HTML


@pytest.mark.e2e
def test_no_meta_style_or_script_from_outputs(exported) -> None:
    """The only <meta>, <style> and <script> elements are the deck's own, in its <head> and at its end."""
    soup = exported["soup"]
    slides = soup.select_one(".slides")
    found = [f"<{el.name}> in the slides" for el in slides.find_all(["meta", "style", "script", "link", "base",
                                                                      "form", "input", "dialog", "foreignobject"])]
    metas = [m.get("http-equiv") for m in soup.find_all("meta") if m.get("http-equiv")]
    assert metas == ["Content-Security-Policy"], metas
    assert all(s.parent.name == "head" for s in soup.find_all("style")), "a <style> outside the head"
    assert len(soup.find_all("script")) == 3 and all(not s.get("src") for s in soup.find_all("script"))
    assert not found, _report("elements from outputs", found)


@pytest.mark.e2e
def test_no_handler_unsafe_url_or_positioning_style(exported) -> None:
    found = []
    for el in exported["soup"].select_one(".slides").find_all(True):
        for name, value in el.attrs.items():
            value = " ".join(value) if isinstance(value, list) else str(value)
            if name.lower().startswith("on"):
                found.append(f"<{el.name} {name}>")
            elif name.lower() in URL_ATTRS and not (SAFE_LINK if el.name == "a" else SAFE_SRC).match(value):
                found.append(f"<{el.name} {name}={value[:80]!r}>")
            elif name == "style" and POSITIONING.search(value):
                found.append(f"<{el.name} style={value[:80]!r}>")
            elif name == "class" and {"present", "slides", "esr-slide"} & set(value.split()) and \
                    el.find_parent("section", class_="esr-slide") is not None:
                found.append(f"<{el.name} class={value!r}> inside a slide")
    assert not found, _report("unsafe attributes", found)


@pytest.mark.e2e
def test_every_image_is_a_real_image_of_its_type(exported) -> None:
    """The three real pictures are shown and decode; no refused payload became an <img>."""
    from PIL import Image

    imgs = [img["src"] for img in exported["soup"].select(".slides img")]
    kinds = []
    for src in imgs:
        head, payload = src.split(",", 1)
        mime = head.removeprefix("data:").removesuffix(";base64")
        with Image.open(io.BytesIO(base64.b64decode(payload, validate=True))) as image:
            image.load()
            kinds.append((mime, image.format))
    assert sorted(kinds) == [("image/gif", "GIF"), ("image/jpeg", "JPEG"), ("image/png", "PNG")], kinds


@pytest.mark.e2e
def test_refused_outputs_are_named_in_warnings(exported) -> None:
    """Each refused picture and each output that no slide can show is a warning naming its cell."""
    warnings = "\n".join(exported["deck"].warnings)
    for expected in ("image/png output refused: not valid base64", "image/png output refused: not a PNG image",
                     "image/gif output refused: not a readable GIF image", "image/jpeg output refused: not valid",
                     "application/json", "application/javascript", "text/latex",
                     "application/vnd.jupyter.widget-view+json"):
        assert re.search(rf"cell \d+: .*{re.escape(expected)}", warnings), f"{expected!r} not in {warnings}"


@pytest.mark.e2e
def test_output_text_is_shown_as_text(exported) -> None:
    """A title given in output metadata is text; the markers of the neutralised outputs are still shown."""
    text = exported["soup"].select_one(".slides").get_text(" ")
    assert "<script>alert(1)</script><style>*{display:none}</style>Zq-titre-meta" in text
    for marker in ("Zq-html-1", "Zq-COUVERT", "Zq-DEPLACE", "Zq-MARGE", "Zq-EVASION", "Zq-DIALOGUE", "Zq-md",
                   "Zq-svg", "Zq-meta"):
        assert marker in text, marker
    assert "Zq-latex" not in text and "IntSlider" not in text


# --------------------------------------------------------------------------- PDF


@pytest.mark.e2e
def test_pdf_has_nothing_active_and_every_slide_text(exported, secret) -> None:
    pdf = exported["deck"].pdf
    findings = h.pdf_findings(pdf, (secret.read_bytes().strip(),))
    assert not findings, _report(pdf.name, findings)
    links = h.uri_links(pdf)
    assert all(re.match(r"(https?://|mailto:|tel:)", u, re.I) and "127.0.0.1" not in u for u in links), links
    pages = pdf_pages_text(pdf)
    assert len(pages) == exported["deck"].slides
    assert "Zq-cover" in pages[0] and "DECK REMPLACÉ" not in " ".join(pages)
    missing = [m for m in exported["markers"] if not any(m in p for p in pages)]
    assert not missing, f"slide text missing from the PDF: {missing}"
    for marker in ("Zq-COUVERT", "Zq-DEPLACE", "Zq-EVASION"):  # printed on its own page, not over another
        assert [i for i, p in enumerate(pages) if marker in p] == [
            i for i, p in enumerate(pages) if marker in p and "Zq-slide-" in p], marker


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser():
    from . import _browser

    yield from _browser.launched_browser()




@pytest.mark.browser
@pytest.mark.e2e
def test_browser_no_request_no_navigation_every_slide_visible(exported, browser, trap) -> None:
    """Chromium: 0 requests to the trap, no navigation after 2 s, each slide's text visible on its slide."""
    from . import _browser as b

    html = exported["deck"].html
    own = html.as_uri()
    outside: list[str] = []
    navigations: list[str] = []
    dialogs: list[str] = []
    before = len(trap.requests)
    context = browser.new_context(viewport=b.VIEWPORT)
    # nothing is aborted: a request that the deck makes would reach the trap server and be counted
    context.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(own)
        b.wait_until_ready(page)
        page.on("framenavigated", lambda f: navigations.append(f.url) if f.url.split("#")[0] != own else None)
        page.wait_for_timeout(2000)
        assert page.url.split("#")[0] == own
        total = int(page.evaluate("() => Reveal.getTotalSlides()"))
        assert total == exported["deck"].slides
        problems = []
        texts = []
        for i in range(total):
            b.show_slide(page, i)
            texts.append(page.evaluate("() => document.querySelector('.reveal .slides > section.present')"
                                       ".innerText"))
        for marker in exported["markers"]:
            index = next((i for i, t in enumerate(texts) if marker in t), None)
            if index is None:
                problems.append(f"{marker}: on no slide")
                continue
            b.show_slide(page, index)
            state = b.text_state(page, marker)
            if state != "ok":
                problems.append(f"{marker} (slide {index + 1}): {state}")
        b.show_slide(page, 0)
        cover = b.text_state(page, "Zq-cover")
        covered = b.covering_elements(page)
    finally:
        context.close()
    assert cover == "ok" and not covered, f"cover: {cover}, covered at {covered}"
    assert not problems, _report("slide text hidden or covered", problems)
    assert not dialogs, dialogs
    assert not outside, _report("requests other than the deck itself", outside)
    assert trap.requests[before:] == [], trap.requests
    assert not navigations, navigations


# --------------------------------------------------------------------------- malformed notebooks


def _notebook(**change):
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    html = new_output("display_data", data={"text/html": "<p>x</p>"})
    cells = [new_code_cell("report_date = '2021-11-15'", metadata={"tags": ["injected-parameters"]}),
             new_markdown_cell("# Titre"),
             new_code_cell("report_date = '2021-11-15'", metadata={"tags": ["parameters"]}),
             new_markdown_cell("## Diapositive"),
             new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n"), html])]
    return new_notebook(cells=cells)


def _break(nb, case: str) -> None:
    md, params, code = nb.cells[3], nb.cells[2], nb.cells[4]
    stream, html = code.outputs
    if case == "level x":
        html.metadata["esante_report"] = {"new_slide": True, "level": "x"}
    elif case == "metadata oui":
        html.metadata["esante_report"] = "oui"
    elif case == "layout class":
        html.metadata["esante_report"] = {"new_slide": True, "layout": "cover esr-slide present"}
    elif case == "new_slide text":
        html.metadata["esante_report"] = {"new_slide": "non"}
    elif case.startswith("markdown "):
        md.source = {"int": 3, "null": None, "dict": {"a": 1}}[case.split()[1]]
    elif case == "parameters int":
        params.source = 7
    elif case == "stream int":
        stream.text = 5
    elif case == "png number":
        html.data = {"image/png": 12}
    elif case == "outputs dict":
        code.outputs = {"a": 1}


#: case -> (cell named, as JupyterLab counts: the injected cell left out; what the message says)
MALFORMED = {
    "level x": (4, "'level' must be 1 or 2"),
    "metadata oui": (4, "expected a mapping"),
    "layout class": (4, "'layout' must be one of"),
    "new_slide text": (4, "'new_slide' must be true or false"),
    "markdown int": (3, "source is 3, expected text"),
    "markdown null": (3, "source is None, expected text"),
    "markdown dict": (3, "source is a mapping, expected text"),
    "parameters int": (2, "source is 7, expected text"),
    "stream int": (4, "outputs[0].text is 5, expected text"),
    "png number": (4, "expected text"),
    "outputs dict": (4, "outputs is a mapping"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_notebook_is_refused_in_one_line_naming_the_cell(tmp_path, capsys, case) -> None:
    from esante_report.cli.main import main

    nb = _notebook()
    _break(nb, case)
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")  # as a broken tool would write it: no validation
    code = main(["export", str(path), "--deck", "post_covid", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    cell, what = MALFORMED[case]
    assert code == 1 and "Traceback" not in err, err
    assert len(lines) == 1 and f"cell {cell}" in lines[0] and what in lines[0], err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.pdf"))


def test_schema_errors_use_the_warnings_numbering() -> None:
    """nbcheck and slides count cells alike: from 1, papermill's injected cell left out."""
    from esante_report.slides.notebook import cell_label
    from esante_report.slides.model import build_deck

    nb = _notebook()
    nb.cells[4].outputs = [nb.cells[4].outputs[0]]  # printed text only: a warning naming the cell
    deck = build_deck(nb)
    assert any(w.startswith("cell 4: printed text") for w in deck.warnings), deck.warnings
    assert cell_label(nb.cells, 4) == "cell 4" and cell_label(nb.cells, 0) == "papermill's injected-parameters cell"


# --------------------------------------------------------------------------- no backtracking blow-up (S11)


class _Deadline:
    """A SIGALRM guard: the block must finish within ``seconds`` (generous: this is a loaded machine)."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        def expired(*_: Any) -> None:
            raise TimeoutError(f"still running after {self.seconds} s")

        self.previous = signal.signal(signal.SIGALRM, expired)
        signal.alarm(self.seconds)

    def __exit__(self, *exc: Any) -> None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.previous)


PATHOLOGICAL = {
    "heading padded": ("markdown", "# a" + " " * 19_996 + "b"),
    "heading of hashes": ("markdown", "## " + "#" * 20_000 + " x"),
    "option padded": ("code", "#| fig-alt: a" + " " * 20_000 + "b\nx"),
    "svg metadata": ("svg", "<svg>" + "<metadata>" * 50_000 + "</svg>"),
    "svg ids": ("svg", "<svg>" + "".join(f'<g id="g{i}"/><use href="#g{i}"/>' for i in range(20_000)) + "</svg>"),
    "html unclosed": ("html", "<aside><section><div>" * 20_000 + "</p>" * 20_000),
}


@pytest.mark.parametrize("case", PATHOLOGICAL)
def test_pathological_cells_build_within_seconds(case) -> None:
    """Slides (both decks' HTML) of a cell built to make a backtracking pattern blow up, within 5 s."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from esante_report.formats import web as export

    kind, text = PATHOLOGICAL[case]
    cells = [new_markdown_cell("# Couverture")]
    if kind == "markdown":
        cells.append(new_markdown_cell(text))
    elif kind == "code":
        cells.append(new_code_cell(text, outputs=[new_output("display_data", data={"text/html": "<p>t</p>"})]))
    else:
        mime = "image/svg+xml" if kind == "svg" else "text/html"
        cells.append(new_code_cell("x", outputs=[new_output("display_data", data={mime: text})]))
    meta = export.DeckMeta(title="T", issuer="ARS", date="15/11/2021")
    with _Deadline(5):
        rendered = export.build(new_notebook(cells=cells), meta)
    assert rendered.slides >= 1
    if case == "heading padded":
        assert rendered.slides == 2 and re.search(r">a\s+b<", rendered.html)
    if case == "option padded":
        assert 'aria-label="Graphique' not in rendered.html  # the option was read: not the default alt


# --------------------------------------------------------------------------- units: images and styles


def test_image_check_accepts_real_images_and_refuses_the_rest() -> None:
    from esante_report.slides.images import data_uri

    real = h.real_images()
    for mime, raw in real.items():
        assert data_uri(mime, base64.b64encode(raw).decode()) == f"data:{mime};base64,{base64.b64encode(raw).decode()}"
        wrapped = base64.encodebytes(raw).decode().splitlines(keepends=True)  # the notebook format's lines
        assert data_uri(mime, wrapped).endswith(base64.b64encode(raw).decode())
    bad = {
        "not valid base64": ("image/png", "iVBORw0KGgo\"><meta http-equiv=refresh content=0>"),
        "not a PNG image": ("image/png", base64.b64encode(real["image/jpeg"]).decode()),
        "not a JPEG image": ("image/jpeg", base64.b64encode(b"<svg onload=alert(1)>").decode()),
        "not a readable GIF image": ("image/gif", base64.b64encode(b"GIF89a" + b"\0" * 5).decode()),
        "not a readable PNG image": ("image/png", base64.b64encode(real["image/png"][:40]).decode()),
        "expected base64 text": ("image/png", 12),
    }
    for reason, (mime, payload) in bad.items():
        with pytest.raises(ValueError, match=reason):
            data_uri(mime, payload)


@pytest.mark.parametrize("css, kept", [
    ("position:fixed;top:0;color:red", "color: red"),
    ("z-index:99999;background:#fff", "background: #fff"),
    ("transform:translate(-100px);width:50%", "width: 50%"),
    ("margin:-900px 0 0;padding:4px", "padding: 4px"),
    ("margin-top: calc(0px - 100vh); font-weight: bold", "font-weight: bold"),
    ("fill: #000091; stroke-width: 0.8; stroke-linejoin: round", "fill: #000091; stroke-width: 0.8; stroke-linejoin: round"),
    ("color: red !important; inset: 0", ""),
    ("font-family: \"a;position:fixed\"", ""),
    ("content: 'x'; display: flex", "display: flex"),
])
def test_style_attributes_keep_only_what_stays_in_the_slide(css, kept) -> None:
    from esante_report.slides.sanitize import safe_style

    assert safe_style(css) == kept


def test_sanitiser_drops_style_elements_and_balances_markup() -> None:
    from esante_report.slides.sanitize import clean

    assert clean("<style>body{display:none}</style><p>a</p>") == "<p>a</p>"
    assert clean("</div></section><section class='esr-slide present'>x") == "x"
    assert clean("<div><p>a</div>b") == "<div><p>a</p></div>b"
    svg = clean('<svg><defs><style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style>'
                '</defs><path d="M0 0"/></svg>')
    assert svg.startswith('<svg stroke-linejoin="round" stroke-linecap="butt">') and "<style" not in svg
