"""Helpers of the hostile-value matrix (tests/test_hostile.py).

- :data:`TEXT_PAYLOADS` and :data:`URL_PAYLOADS`: what an attacker (or an unlucky copy-paste)
  puts in a text or a URL field; ``{port}`` is a trap HTTP server on 127.0.0.1, ``{secret}`` a
  local file whose content must never reach an output;
- :func:`poison`: copies of ``data/`` and ``params/`` with a hostile value in every text field
  of the data contract, the values staying valid for it (ids, codes, dates and numbers unchanged);
- :class:`TrapServer`: counts the requests anything makes to it;
- :func:`pdf_findings`: what a PDF viewer would run, open, fetch or extract from a PDF.
"""

from __future__ import annotations

import csv
import http.server
import json
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Markdown in a data value: text, never a link or bold type
MARKDOWN = "[lien](http://127.0.0.1:{port}/md) **gras** `code`"
#: text payloads, in the order they are spread over the fields
TEXT_PAYLOADS = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "<a href='javascript:alert(3)'>x</a>",
    "<a rel=attachment href=file://{secret}>f</a>",
    "<img src=http://127.0.0.1:{port}/x.png>",
    "<link rel=stylesheet href=http://127.0.0.1:{port}/x.css>",
    "<svg onload=alert(4)>",
    "<iframe src=file://{secret}>",
    "x\" onmouseover=\"alert(7)",
    "x' onfocus='alert(8)' autofocus='",
    "$\\alpha$ 5 $ à 10 $",
    "{{7*7}} {0} {report_date}",
    "</style><script>x</script>",
    "]]>",
    "<svg><a><animate attributeName=href values=javascript:alert(9) /><text y=20>clic</text></a></svg>",
    "<div style=\"background:url(http://127.0.0.1:{port}/bg.png)\">bg</div>",
    "<object data=file://{secret}></object><embed src=file://{secret}>",
    "<meta http-equiv=refresh content='0;url=http://127.0.0.1:{port}/meta'><base href=http://127.0.0.1:{port}/>",
    MARKDOWN,
]
#: URL payloads (contacts, links, support desks): none may become a link
URL_PAYLOADS = [
    "javascript:alert(5)",
    " jav\tascript:alert(6)",
    "file://{secret}",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxMCk8L3NjcmlwdD4=",
    "vbscript:msgbox(11)",
    "//127.0.0.1:{port}/protocol-relative",
]
#: a compact hostile issuer (it is printed in the header of every slide)
ISSUER = "ARS<script>alert(1)</script><a rel=attachment href=file://{secret}>.</a>"
#: the issuer of the issue's S1 report
S1_ISSUER = ("Ministère<script>alert(document.domain)</script><a href='javascript:alert(2)'>.</a>"
             "<a rel=attachment href=file://{secret}></a>")
#: the formula that matplotlib would draw as a Greek letter if it parsed '$'
MATH = "$\\alpha$ 5 $ à 10 $"
#: a 2,000-character value
LONG = ("Zq-long " + "<script>alert(12)</script><img src=http://127.0.0.1:{port}/long.png> " * 40)


def fill(template: str, port: int, secret: Path) -> str:
    return template.replace("{port}", str(port)).replace("{secret}", str(secret))


# --------------------------------------------------------------------------- trap server


@dataclass
class TrapServer:
    """An HTTP server on 127.0.0.1 (random port) in a thread, recording every request path."""

    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                seen.append(self.path)
                self.send_response(404)
                self.end_headers()

            do_POST = do_HEAD = do_GET

            def log_message(self, *args: Any) -> None:
                return None

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------- poisoned data


@dataclass
class Field:
    """One text field carrying a hostile value."""

    name: str         # e.g. "catalogue/services.yaml: domoplaies.tagline"
    value: str        # the value written (filled)
    deck: str         # post_covid | catalogue
    shown: bool = True  # a slide shows this value as text


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _dump_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8")


class _Spreader:
    """Hands out the text payloads in turn, each tagged with a field number (``Zq07 …``)."""

    def __init__(self, port: int, secret: Path) -> None:
        self.port, self.secret = port, secret
        self.fields: list[Field] = []
        self._next = 0

    def text(self, name: str, deck: str, payload: str | None = None, shown: bool = True) -> str:
        if payload is None:
            payload = TEXT_PAYLOADS[self._next % len(TEXT_PAYLOADS)]
            self._next += 1
        value = f"Zq{len(self.fields):02d} " + fill(payload, self.port, self.secret)
        self.fields.append(Field(name, value, deck, shown))
        return value

    def url(self, name: str, deck: str, index: int) -> str:
        value = fill(URL_PAYLOADS[index % len(URL_PAYLOADS)], self.port, self.secret)
        self.fields.append(Field(name, value, deck))  # shown as text, never as a link
        return value


def poison(src_data: Path, src_params: Path, target: Path, port: int, secret: Path, *,
           issuer: str = ISSUER, milestone_what: str | None = None) -> list[Field]:
    """Copy data/ and params/ into ``target`` with a hostile value in every text field.

    Returns the fields written. Everything stays valid for the data contract: only
    free-text fields change, ids, codes, regions, dates and numbers are untouched.
    """
    data, params = target / "data", target / "params"
    shutil.copytree(src_data, data)
    shutil.copytree(src_params, params)
    s = _Spreader(port, secret)

    # ---- params: the issuer of both decks (the S1 report's own payload)
    for name, deck in (("2021-11-15.yaml", "post_covid"), ("2020-12-08.yaml", "catalogue")):
        doc = _load_yaml(params / name)
        doc[deck]["issuer"] = s.text(f"params/{name}: {deck}.issuer", deck, issuer)
        _dump_yaml(params / name, doc)

    # ---- shared: region names (tables, alt texts, "ARS <name>")
    header, rows = _read_csv(data / "regions.csv")
    for row in rows:
        if row["abbr"] in ("IDF", "NAQ", "OCC"):
            row["name"] = s.text(f"regions.csv: {row['abbr']}.name", "post_covid" if row["abbr"] != "OCC" else "catalogue",
                                 {"IDF": "\"'<>&", "NAQ": "<b>N</b>", "OCC": "<a href='javascript:alert(3)'>x</a>"}[row["abbr"]])
    _write_csv(data / "regions.csv", header, rows)

    # ---- post_covid
    pc = data / "post_covid"
    header, rows = _read_csv(pc / "waves.csv")
    rows[0]["label"] = s.text("post_covid/waves.csv: label", "post_covid", "{{7*7}}{0}<b>")
    rows[0]["source"] = s.text("post_covid/waves.csv: source", "post_covid")
    _write_csv(pc / "waves.csv", header, rows)

    header, rows = _read_csv(pc / "milestones.csv")
    rows[0]["date_label"] = s.text("post_covid/milestones.csv: date_label", "post_covid")
    rows[2]["title"] = s.text("post_covid/milestones.csv: title (chart)", "post_covid", MATH)
    for i, row in enumerate(rows[:3]):
        row["actor"] = s.text(f"post_covid/milestones.csv: line {i + 2} actor", "post_covid")
        if i != 2:
            row["title"] = s.text(f"post_covid/milestones.csv: line {i + 2} title", "post_covid")
        row["what"] = s.text(f"post_covid/milestones.csv: line {i + 2} what", "post_covid",
                             milestone_what if i == 0 else None)
    _write_csv(pc / "milestones.csv", header, rows)

    measures = _load_yaml(pc / "measures.yaml")
    m = measures[0]
    m["ami"]["title"] = s.text("post_covid/measures.yaml: ami.title", "post_covid", "]]>")
    m["financing"]["title"] = s.text("post_covid/measures.yaml: financing.title", "post_covid",
                                    "<script>alert(1)</script>")
    for i, item in enumerate(m["financing"]["items"][:1]):
        item["text"] = s.text(f"post_covid/measures.yaml: financing.items[{i}].text", "post_covid",
                              "<svg onload=alert(4)>")
        item["example"] = s.text(f"post_covid/measures.yaml: financing.items[{i}].example", "post_covid",
                                 "\"><img src=x onerror=alert(2)>")
    m["actions"]["title"] = s.text("post_covid/measures.yaml: actions.title", "post_covid", "{{7*7}} {0}")
    for i in range(1):
        m["actions"]["items"][i] = s.text(f"post_covid/measures.yaml: actions.items[{i}]", "post_covid",
                                          "x' onfocus='alert(8)'")
    _dump_yaml(pc / "measures.yaml", measures)

    # ---- catalogue
    cat = data / "catalogue"
    deck = _load_yaml(cat / "deck.yaml")
    deck["title"] = s.text("catalogue/deck.yaml: title", "catalogue", MARKDOWN)
    deck["subtitle"] = s.text("catalogue/deck.yaml: subtitle", "catalogue", "{{7*7}} {0} <i>sous-titre</i>")
    deck["source"] = s.text("catalogue/deck.yaml: source", "catalogue")
    _dump_yaml(cat / "deck.yaml", deck)

    desks = _load_yaml(cat / "support.yaml")
    desk = desks[0]
    for key in ("name", "email", "phone", "phone_note", "description"):
        desk[key] = s.text(f"catalogue/support.yaml: {key}", "catalogue")
    desk["url"] = s.url("catalogue/support.yaml: url", "catalogue", 0)
    _dump_yaml(cat / "support.yaml", desks)

    principles = _load_yaml(cat / "principles.yaml")
    principles["title"] = s.text("catalogue/principles.yaml: title", "catalogue", MARKDOWN)
    for i, p in enumerate(principles["principles"]):
        p["title"] = s.text(f"catalogue/principles.yaml: principles[{i}].title", "catalogue")
        p["items"][0] = s.text(f"catalogue/principles.yaml: principles[{i}].items[0]", "catalogue")
    principles["principles"][1]["commitment"] = s.text("catalogue/principles.yaml: principles[1].commitment",
                                                       "catalogue")
    principles["principles"][2]["number"] = s.text("catalogue/principles.yaml: principles[2].number", "catalogue",
                                                   "3\"'<i>")
    _dump_yaml(cat / "principles.yaml", principles)

    services = _load_yaml(cat / "services.yaml")
    for svc in services:
        if svc["id"] in ("medicam", "covho"):
            svc["name"] = s.text(f"catalogue/services.yaml: {svc['id']}.name", "catalogue",
                                 "<svg onload=alert(4)>" if svc["id"] == "medicam" else "]]>")
        if svc["id"] != "domoplaies":
            continue
        svc["name"] = s.text("catalogue/services.yaml: domoplaies.name", "catalogue", "<script>alert(1)</script>")
        svc["tagline"] = s.text("catalogue/services.yaml: domoplaies.tagline", "catalogue", "\"><img src=x onerror=alert(2)>")
        svc["name_source"] = s.text("catalogue/services.yaml: domoplaies.name_source", "catalogue")
        svc["audience"] = [s.text(f"catalogue/services.yaml: domoplaies.audience[{i}]", "catalogue")
                           for i in range(2)]
        svc["purpose"] = [s.text("catalogue/services.yaml: domoplaies.purpose[0]", "catalogue")]
        svc["contacts"] = [
            {"label": s.text("catalogue/services.yaml: domoplaies.contacts[0].label", "catalogue"),
             "email": s.text("catalogue/services.yaml: domoplaies.contacts[0].email", "catalogue")},
            {"label": s.text("catalogue/services.yaml: domoplaies.contacts[1].label", "catalogue"),
             "phone": s.text("catalogue/services.yaml: domoplaies.contacts[1].phone", "catalogue"),
             "url": s.url("catalogue/services.yaml: domoplaies.contacts[1].url", "catalogue", 1)},
        ]
        svc["links"] = [{"label": s.text(f"catalogue/services.yaml: domoplaies.links[{i}].label", "catalogue"),
                         "url": s.url(f"catalogue/services.yaml: domoplaies.links[{i}].url", "catalogue", i + 2)}
                        for i in range(4)]
        svc["details"] = [{"title": s.text("catalogue/services.yaml: domoplaies.details[0].title", "catalogue"),
                           "items": [s.text(f"catalogue/services.yaml: domoplaies.details[0].items[{i}]",
                                            "catalogue") for i in range(2)]}]
        svc["support"] = "esante-occitanie"
    _dump_yaml(cat / "services.yaml", services)

    header, rows = _read_csv(cat / "indicators.csv")
    for row in rows:
        if row["service"] == "domoplaies" and row["text"]:
            row["text"] = s.text(f"catalogue/indicators.csv: domoplaies.{row['indicator']}.text", "catalogue",
                                 "<script>alert(1)</script>")
    chart = s.text("catalogue/indicators.csv: bal-org-mssante.chart", "catalogue", MATH + " <script>alert(14)</script>")
    bal_labels = iter([s.text("catalogue/indicators.csv: bal-org-mssante.label", "catalogue", MATH),
                       s.text("catalogue/indicators.csv: bal-org-mssante.label (2019)", "catalogue")])
    unit = s.text("catalogue/indicators.csv: bal-org-mssante.unit", "catalogue")
    for row in rows:
        if row["service"] == "bal-org-mssante" and row["chart"]:
            row["chart"] = chart
            row["label"] = next(bal_labels)
            row["unit"] = unit  # shown in the chart's data table
    _write_csv(cat / "indicators.csv", header, rows)

    # ---- boundaries: a department name (map data table and alt text of the PASTEL card)
    geo_path = data / "geo" / "departements.geojson"
    geo = json.loads(geo_path.read_text(encoding="utf-8"))
    for feature in geo["features"]:
        if feature["properties"]["code"] == "11":
            feature["properties"]["nom"] = s.text("geo/departements.geojson: 11.nom", "catalogue")
    geo_path.write_text(json.dumps(geo, ensure_ascii=False), encoding="utf-8")
    return s.fields


# --------------------------------------------------------------------------- PDF


_SAFE_URI = ("http://", "https://", "mailto:", "tel:")
_BAD_ACTIONS = {"/JavaScript", "/Launch", "/GoToR", "/GoToE", "/ImportData", "/SubmitForm", "/Rendition",
                "/ResetForm", "/Hide"}


def pdf_findings(path: Path, markers: tuple[bytes, ...] = ()) -> list[str]:
    """Everything in the PDF ``path`` that a viewer would run, open, fetch or extract.

    Walks every object reachable from the trailer (decoding every stream): embedded
    files, file-attachment annotations, JavaScript, launch/remote actions, URI actions
    outside http(s)/mailto/tel, and any of ``markers`` in a decoded stream.
    """
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

    reader = PdfReader(str(path))
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            for k in ("/EmbeddedFiles", "/EF", "/JavaScript", "/JS", "/AA", "/OpenAction", "/Launch", "/XFA"):
                if k in obj:
                    found.append(f"{k} in {_where(obj)}")
            if obj.get("/Subtype") == "/FileAttachment" or obj.get("/Type") in ("/Filespec", "/EmbeddedFile"):
                found.append(f"file attachment/spec {_where(obj)}")
            action = obj.get("/S")
            if action in _BAD_ACTIONS:
                found.append(f"action {action}")
            if action == "/URI":
                uri = str(obj.get("/URI", ""))
                if not uri.lower().startswith(_SAFE_URI):
                    found.append(f"/URI action to {uri[:100]!r}")
            stack.extend(obj.values())
            if isinstance(obj, StreamObject) and markers:
                try:
                    payload = obj.get_data()
                except Exception as exc:  # an undecodable stream is a finding too
                    found.append(f"undecodable stream ({exc})")
                    continue
                found += [f"marker {m!r} in a stream" for m in markers if m in payload]
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return found


def _where(obj: Any) -> str:
    return "{" + ", ".join(f"{k}" for k in list(obj.keys())[:6]) + "}"


def uri_links(path: Path) -> list[str]:
    """Every /URI of every link annotation of the PDF."""
    from pypdf import PdfReader

    out = []
    for page in PdfReader(str(path)).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None and action.get_object().get("/S") == "/URI":
                out.append(str(action.get_object()["/URI"]))
    return out



# --------------------------------------------------------------------------- notebook outputs (issue 15)

#: a style sheet and positioned boxes that would hide, replace or cover the other slides
STYLE_TAKEOVER = [
    "<style>.reveal .slides section{visibility:hidden !important} body::after{content:'DECK REMPLACÉ';"
    "position:fixed;inset:0;font-size:200px;background:#fff;z-index:99999}</style>",
    "<div style=\"position:fixed;top:0;left:0;width:100vw;height:100vh;z-index:2147483647;background:#fff\">"
    "Zq-COUVERT</div>",
    "<div style=\"transform:translate(-3000px,-2000px) scale(40);background:#000\">Zq-DEPLACE</div>",
    "<p style=\"margin:-900px 0 0 -900px;position:relative;top:-720px\">Zq-MARGE</p>",
    "<style>@page{size:10px 10px} .esr-slide{display:none!important}</style>",
    "</div></div></section><section class=\"esr-slide present\" style=\"position:absolute;inset:0\">"
    "Zq-EVASION</section>",
    "<dialog open style=\"position:fixed;inset:0\">Zq-DIALOGUE</dialog>",
]


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def real_images() -> dict[str, bytes]:
    """A small real PNG, JPEG and GIF (Pillow), each with a distinct colour."""
    import io

    from PIL import Image

    out = {}
    for mime, fmt, colour in (("image/png", "PNG", (0, 0, 145)), ("image/jpeg", "JPEG", (225, 0, 15)),
                              ("image/gif", "GIF", (24, 117, 60))):
        buffer = io.BytesIO()
        Image.new("RGB", (320, 180), colour).save(buffer, format=fmt)
        out[mime] = buffer.getvalue()
    return out


def output_payloads(port: int, secret: Path) -> list[tuple[str, dict, dict]]:
    """(label, data, metadata) of hostile outputs, one MIME type or trick each; ``{port}``/``{secret}`` filled."""
    images = real_images()
    trap = f"http://127.0.0.1:{port}"
    refresh = f'"><meta http-equiv="refresh" content="1;url={trap}/png-refresh">'
    cases = [
        ("html style sheet", {"text/html": STYLE_TAKEOVER[0] + "<p>Zq-html-1</p>"}, {}),
        ("html fixed cover", {"text/html": STYLE_TAKEOVER[1]}, {}),
        ("html transform", {"text/html": STYLE_TAKEOVER[2]}, {}),
        ("html negative margins", {"text/html": STYLE_TAKEOVER[3]}, {}),
        ("html page rule", {"text/html": STYLE_TAKEOVER[4] + "<p>Zq-html-5</p>"}, {}),
        ("html closes its slide", {"text/html": STYLE_TAKEOVER[5]}, {}),
        ("html dialog", {"text/html": STYLE_TAKEOVER[6]}, {}),
        ("html refresh and loads", {"text/html":
            f"<meta http-equiv=refresh content='1;url={trap}/html-refresh'><base href={trap}/>"
            f"<form action={trap}/form><input name=q autofocus onfocus=alert(1)></form>"
            f"<a href='file://{secret}'>fichier</a> <img src={trap}/html.png> "
            f"<link rel=stylesheet href={trap}/x.css><p>Zq-html-8</p>"}, {}),
        ("markdown", {"text/markdown": f"[lien](javascript:alert(1)) ![i]({trap}/md.png) "
                                       "<style>*{display:none}</style> <b onclick=alert(2)>Zq-md</b>"}, {}),
        ("latex", {"text/latex": "\\href{javascript:alert(1)}{x} Zq-latex", "text/plain": "latex"}, {}),
        ("svg", {"image/svg+xml": (
            '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50"><style>section{display:none}'
            '</style><foreignObject><div>fo</div></foreignObject><a href="javascript:alert(1)"><text y="20">'
            f'Zq-svg</text></a><image href="{trap}/svg.png"/><rect style="position:fixed" width="9" height="9"'
            ' onload="alert(3)"/></svg>')}, {}),
        ("png markup", {"image/png": "iVBORw0KGgo" + refresh, "text/plain": "<Figure>"}, {}),
        ("png own", {"image/png": _b64(images["image/png"])[:-4] + f'"onerror="fetch(\'{trap}/own\')'}, {}),
        ("jpeg as png", {"image/png": _b64(images["image/jpeg"])}, {}),
        ("gif truncated", {"image/gif": _b64(b"GIF89a<script>alert(1)</script>")}, {}),
        ("jpeg not base64", {"image/jpeg": "/9j/4AAQ<svg onload=alert(1)>"}, {}),
        ("png real", {"image/png": _b64(images["image/png"])}, {"image/png": {"width": '9" onload="alert(1)'}}),
        ("jpeg real", {"image/jpeg": _b64(images["image/jpeg"])}, {}),
        ("gif real", {"image/gif": _b64(images["image/gif"])}, {}),
        ("json", {"application/json": {"x": f"<script>fetch('{trap}/json')</script>"}}, {}),
        ("javascript", {"application/javascript": f"fetch('{trap}/js'); document.body.innerHTML='x'"}, {}),
        ("widget", {"application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2,
                                                                 "version_minor": 0},
                    "text/plain": "IntSlider(value=3)"}, {}),
        ("metadata title", {"text/html": "<p>Zq-meta</p>"},
         {"esante_report": {"new_slide": True, "title": "<script>alert(1)</script><style>*{display:none}"
                                                         "</style>Zq-titre-meta"}}),
    ]
    return cases


def output_notebook(port: int, secret: Path):
    """A notebook (nbformat, no kernel) whose every slide carries one hostile output, and hostile notes.

    Each slide's heading holds a marker ``Zq-slide-NN`` that must stay readable on its own slide.
    Returns (notebook, {marker: label}).
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    cells = [new_markdown_cell("# Couverture Zq-cover\n\nPremière diapositive, jamais couverte."),
             new_code_cell("report_date = '2021-11-15'", metadata={"tags": ["parameters"]})]
    markers = {}
    for i, (label, data, metadata) in enumerate(output_payloads(port, secret)):
        marker = f"Zq-slide-{i:02d}"
        markers[marker] = label
        cells.append(new_markdown_cell(f"## {marker} {label}\n\nTexte de la diapositive {marker}."))
        cells.append(new_code_cell("#| fig-alt: Graphique de test\nx", execution_count=i + 1,
                                   outputs=[new_output("display_data", data=data, metadata=metadata)]))
    html_payload = output_payloads(port, secret)[0][1]
    cells.append(new_code_cell("notes", metadata={"tags": ["notes"]}, outputs=[
        new_output("display_data", data={"image/png": "iVBORw0KGgo\"><meta http-equiv=refresh content=0>"}),
        new_output("display_data", data=html_payload)]))
    cells.append(new_markdown_cell("## Zq-slide-last Fin\n\nDernière diapositive."))
    markers["Zq-slide-last"] = "last"
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.validate(nb)
    return nb, markers


# --------------------------------------------------------------------------- PPTX and ODP


_SAFE_TARGET = ("http://", "https://", "mailto:", "tel:")
#: ODF elements that run, embed or fetch
_ODF_ACTIVE = ("<office:script ", "<office:script>", "<office:scripts>", "<script:", "<draw:plugin", "<draw:applet",
               "<draw:floating-frame",
               "<form:", "<office:event-listeners", "<presentation:event-listener", "<draw:object",
               "<text:execute-macro", "<office:dde-source", "<text:dde-connection")


def office_findings(path: Path, markers: tuple[bytes, ...] = ()) -> list[str]:
    """Everything in a PPTX or ODP (every part unzipped) that would run, link out, fetch or hide a field.

    LibreOffice writes an empty ``<office:scripts/>`` in every document: only scripts in it count.

    Field codes (only PowerPoint's slide number, on the master, is allowed), external relationships
    other than http(s)/mailto/tel hyperlinks, relationships to anything but the package's own parts
    (remote pictures), macros (VBA projects, ODF scripts and event listeners), embedded objects, and
    any of ``markers`` in a decompressed part.
    """
    import re
    import zipfile

    found: list[str] = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            name = info.filename
            data = z.read(name)
            lowered = name.lower()
            if "vba" in lowered or lowered.endswith((".bin", ".bas")) or lowered.startswith(("basic/", "scripts/")):
                found.append(f"{name}: macro or binary part")
            found += [f"{name}: marker {m!r}" for m in markers if m in data]
            if not lowered.endswith((".xml", ".rels")):
                continue
            text = data.decode("utf-8", "replace")
            if "macroEnabled" in text or "vbaProject" in text:
                found.append(f"{name}: macro-enabled content type")
            for fld in re.findall(r"<a:fld\b[^>]*>", text):
                if 'type="slidenum"' not in fld or "slideMaster" not in name:
                    found.append(f"{name}: field {fld[:80]}")
            found += [f"{name}: field code" for _ in re.findall(r"<w:instrText|<w:fldSimple|<a:instrText", text)]
            for rel in re.findall(r"<Relationship\b[^>]*>", text):
                target = re.search(r'Target="([^"]*)"', rel)
                target = target.group(1) if target else ""
                external = 'TargetMode="External"' in rel
                if external and not (target.lower().startswith(_SAFE_TARGET) and rel.find("/hyperlink") > 0):
                    found.append(f"{name}: external relationship to {target[:80]!r}")
                if not external and re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                    found.append(f"{name}: relationship to {target[:80]!r}")
            found += [f"{name}: {tag}" for tag in _ODF_ACTIVE if tag in text]
            for tag, href in re.findall(r'<([\w:-]+)\b[^>]*?xlink:href="([^"]*)"', text):
                internal = re.match(r"^(\./)?(Pictures|Media)/[\w.-]+$", href) or href.startswith("#")
                link = tag in ("text:a", "draw:a") and href.lower().startswith(_SAFE_TARGET)
                if not (internal or link):  # a picture or object from outside the file, or an unsafe link
                    found.append(f"{name}: <{tag}> xlink:href {href[:80]!r}")
            if name.endswith(".svg") or name.startswith("ppt/media/"):
                for href in re.findall(r'href="([^"]*)"', text):
                    if not href.startswith("#"):
                        found.append(f"{name}: SVG reference {href[:80]!r}")
                found += [f"{name}: SVG script or handler" for _ in re.findall(r"<script|\son\w+=", text)]
    return found


def office_text(path: Path) -> str:
    """The text a reader of the PPTX/ODP sees: every text run of every slide and master part, unescaped."""
    import html
    import re
    import zipfile

    texts = []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if re.match(r"ppt/(slides|slideMasters|notesSlides)/[^/]+\.xml$", name):
                texts += re.findall(r"<a:t>([^<]*)</a:t>", z.read(name).decode("utf-8"))
            elif name in ("content.xml", "styles.xml"):
                body = z.read(name).decode("utf-8")
                texts += re.findall(r">([^<]+)<", body)
    return html.unescape(" ".join(texts))
