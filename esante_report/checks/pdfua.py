"""PDF/UA-1 (ISO 14289-1) for the PDF deck: what WeasyPrint leaves out, and a check of our own.

WeasyPrint (65 to 70) writes a PDF/UA-1 deck with ``pdf_variant="pdf/ua-1"``: PDF 1.7, tagged,
the XMP identification (``pdfuaid:part`` 1), ``/MarkInfo``, ``/ViewerPreferences/DisplayDocTitle``,
``/Lang`` from ``<html lang>``, page ``/Tabs /S``, link annotations with ``/Contents`` and a
structure parent, backgrounds and borders as artifacts, an inline SVG as a ``Figure`` whose
``/Alt`` is the SVG's ``<title>``, and ``TD`` cells linked to their ``TH`` by ``/Headers``. It
does not write the ``/Scope`` of header cells: :func:`finish` adds it (``Column`` in a table
head, ``Row`` elsewhere, as the deck's tables use ``scope="col"`` and ``scope="row"``).

:func:`problems` checks what a machine can check (docs/style.md lists these rules and those left
to review, since no validator such as veraPDF is at hand); each problem names the slide (page)
and the element. :func:`check` raises :class:`~esante_report.errors.ExportError` with them.
"""

from __future__ import annotations

import io

import ctypes
import re
from dataclasses import dataclass, field
from pathlib import Path

from esante_report.errors import ExportError
from esante_report.slides.geometry import FOOTER_PX, HEADER_PX, PT_PER_PX

__all__ = ["finish", "figure_alts", "problems", "check", "LANG"]

#: the decks' document language
LANG = "fr-FR"
#: header and footer bands of the 960×540 pt page
_HEADER_PT, _FOOTER_PT = HEADER_PX * PT_PER_PX, FOOTER_PX * PT_PER_PX
#: operators that paint: outside marked content, they are content that is neither tagged nor an artifact
_PAINT = {"Tj", "TJ", "'", '"', "f", "F", "f*", "B", "B*", "b", "b*", "S", "s", "sh", "Do", "EI", "BI"}
_HEADING = re.compile(r"^/H([1-6])$")


@dataclass
class _Element:
    """A structure element as the check needs it."""

    type: str
    page: int                      # 1-based, 0 when unknown
    obj: object
    mcids: list[int] = field(default_factory=list)      # own marked content, in order
    children: list["_Element"] = field(default_factory=list)
    parent: "_Element | None" = None

    def all_mcids(self) -> list[int]:
        out = list(self.mcids)
        for child in self.children:
            out += child.all_mcids()
        return out

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def _attributes(element) -> list:
    """The attribute dictionaries of a structure element (``/A`` is a dictionary or an array)."""
    import pikepdf

    attrs = element.get("/A")
    if attrs is None:
        return []
    if isinstance(attrs, pikepdf.Array):
        return [a for a in attrs if isinstance(a, pikepdf.Dictionary)]
    return [attrs] if isinstance(attrs, pikepdf.Dictionary) else []


def _struct_tree(pdf) -> list[_Element]:
    """The structure tree of ``pdf`` below its root, as :class:`_Element` (cycles cut)."""
    import pikepdf

    pages = {page.objgen: n for n, page in enumerate(pdf.pages, start=1)}
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return []
    seen: set = set()

    def build(obj, parent: _Element | None, page: int) -> _Element | None:
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") in ("/OBJR", "/MCR"):
            return None
        if obj.is_indirect:
            if obj.objgen in seen:
                return None
            seen.add(obj.objgen)
        pg = obj.get("/Pg")
        page = pages.get(pg.objgen, page) if isinstance(pg, pikepdf.Dictionary) else page
        element = _Element(str(obj.get("/S", "")), page, obj, parent=parent)
        kids = obj.get("/K")
        kids = list(kids) if isinstance(kids, pikepdf.Array) else ([] if kids is None else [kids])
        for kid in kids:
            if isinstance(kid, int):
                element.mcids.append(int(kid))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                element.mcids.append(int(kid.get("/MCID", -1)))
            else:
                child = build(kid, element, page)
                if child is not None:
                    element.children.append(child)
        return element

    kids = root.get("/K")
    kids = list(kids) if isinstance(kids, pikepdf.Array) else ([] if kids is None else [kids])
    return [e for e in (build(k, None, 0) for k in kids) if e is not None]


def figure_alts(print_html: str) -> list[str | None]:
    """The alt text of each picture of the print deck (inline ``<svg>`` or ``<img>``), in document order.

    A chart's is the ``aria-label`` of its ``esr-chart`` box; an image's its ``alt``; None when it has none.
    """
    import html as html_mod

    body = print_html.split("<body", 1)[-1]
    body = re.sub(r"<svg\b.*?</svg>", lambda m: m.group(0)[:m.group(0).find(">") + 1], body, flags=re.S)
    alts: list[str | None] = []
    label = None
    for match in re.finditer(r'<div class="esr-chart" role="img" aria-label=(?:"([^"]*)"|\'([^\']*)\')>|'
                             r"<(svg|img)\b([^>]*)>", body):
        if match.group(3) is None:
            label = match.group(1) if match.group(1) is not None else match.group(2)
            continue
        if label is not None:
            alts.append(html_mod.unescape(label).strip() or None)
        else:
            alt = re.search(r'\salt=(?:"([^"]*)"|\'([^\']*)\')', match.group(4))
            alts.append(html_mod.unescape(alt.group(1) or alt.group(2) or "").strip() or None if alt else None)
        label = None
    return alts


def finish(path: Path, alts: list[str | None] | None = None) -> None:
    """Add what WeasyPrint leaves out of a PDF/UA-1 deck, in place.

    The header cells' ``/Scope``; and, with ``alts`` (:func:`figure_alts` of the print deck), the
    ``/Alt`` of figures that have none (WeasyPrint before 70 does not read an SVG's ``<title>``),
    only when the PDF has as many figures as the deck has pictures.
    """
    import pikepdf

    # opened and saved through memory: a path with a non-UTF-8 byte cannot cross into pikepdf's C++ side
    with pikepdf.open(io.BytesIO(Path(path).read_bytes())) as pdf:
        changed = False
        elements = [e for top in _struct_tree(pdf) for e in top.walk()]
        figures = [e for e in elements if e.type == "/Figure"]
        if alts is not None and len(figures) == len(alts):
            for figure, alt in zip(figures, alts):
                if alt and not str(figure.obj.get("/Alt", "")).strip():
                    figure.obj[pikepdf.Name("/Alt")] = pikepdf.String(alt)
                    changed = True
        for element in elements:
            if element.type != "/TH":
                continue
            if any("/Scope" in a for a in _attributes(element.obj)):
                continue
            in_head = any(p.type == "/THead" for p in _ancestors(element))
            scope = pikepdf.Name("/Column" if in_head else "/Row")
            tables = [a for a in _attributes(element.obj) if a.get("/O") == "/Table"]
            if tables:
                tables[0][pikepdf.Name("/Scope")] = scope
            else:
                element.obj[pikepdf.Name("/A")] = pikepdf.Dictionary({"/O": pikepdf.Name("/Table"),
                                                                      "/Scope": scope})
            changed = True
        if changed:
            # deterministic: the same deck gives the same bytes (reproducible builds)
            buffer = io.BytesIO()
            pdf.save(buffer, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
            Path(path).write_bytes(buffer.getvalue())  # the build folder's own file


def _ancestors(element: _Element):
    parent = element.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _text_positions(path: Path) -> dict[int, dict[int, tuple[float, float]]]:
    """Per page, marked-content id → (top, bottom) in pt from the top of the page (PDFium)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    from esante_report.checks.layout import _PDFIUM_LOCK

    out: dict[int, dict[int, tuple[float, float]]] = {}
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    with _PDFIUM_LOCK:
        doc = pdfium.PdfDocument(str(path))
        try:
            for index in range(len(doc)):
                page = doc[index]
                try:
                    height = page.get_size()[1]
                    found: dict[int, tuple[float, float]] = {}
                    for k in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
                        obj = pdfium_c.FPDFPage_GetObject(page.raw, k)
                        mcid = pdfium_c.FPDFPageObj_GetMarkedContentID(obj)
                        if mcid < 0 or not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
                            continue
                        y0, y1 = height - top.value, height - bottom.value
                        old = found.get(mcid)
                        found[mcid] = (min(y0, old[0]), max(y1, old[1])) if old else (y0, y1)
                    out[index + 1] = found
                finally:
                    page.close()
        finally:
            doc.close()
    return out


def _zone(top: float, bottom: float, height: float) -> int:
    """0 header band, 1 slide body, 2 footer band."""
    if bottom <= _HEADER_PT + 0.5:
        return 0
    if top >= height - _FOOTER_PT - 0.5:
        return 2
    return 1


def _font_problems(pdf) -> list[str]:
    """Fonts not embedded or without a Unicode mapping, per page (form XObjects included)."""
    import pikepdf

    found: list[str] = []
    for n, page in enumerate(pdf.pages, start=1):
        seen: set = set()
        stack = [page.obj.get("/Resources")]
        named: set[str] = set()
        while stack:
            resources = stack.pop()
            if not isinstance(resources, pikepdf.Dictionary):
                continue
            if resources.is_indirect:
                if resources.objgen in seen:
                    continue
                seen.add(resources.objgen)
            for name, font in (resources.get("/Font") or {}).items():
                base = str(font.get("/BaseFont", name)).lstrip("/")
                if font.get("/Subtype") == "/Type0":
                    descendants = font.get("/DescendantFonts")
                    descriptor = descendants[0].get("/FontDescriptor") if descendants else None
                else:
                    descriptor = font.get("/FontDescriptor")
                embedded = font.get("/Subtype") == "/Type3" or (
                    isinstance(descriptor, pikepdf.Dictionary)
                    and any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")))
                if not embedded and base not in named:
                    found.append(f"slide {n}: font {base!r} is not embedded")
                    named.add(base)
                if "/ToUnicode" not in font and base + "~u" not in named:
                    found.append(f"slide {n}: font {base!r} has no Unicode mapping (ToUnicode)")
                    named.add(base + "~u")
            for xobject in (resources.get("/XObject") or {}).values():
                if xobject.get("/Subtype") == "/Form":
                    stack.append(xobject.get("/Resources"))
    return found


def _untagged(pdf) -> list[str]:
    """Pages that paint outside marked content: content neither tagged nor marked as an artifact."""
    import pikepdf

    found = []
    for n, page in enumerate(pdf.pages, start=1):
        depth, outside = 0, 0
        for _, operator in pikepdf.parse_content_stream(page):
            op = str(operator)
            if op in ("BDC", "BMC"):
                depth += 1
            elif op == "EMC":
                depth = max(0, depth - 1)
            elif op in _PAINT and depth == 0:
                outside += 1
        if outside:
            found.append(f"slide {n}: {outside} drawing operation{'s' if outside > 1 else ''} neither tagged "
                         "nor marked as an artifact")
    return found


def problems(path: Path) -> list[str]:
    """What keeps the PDF ``path`` from PDF/UA-1, as far as a machine can tell; each names slide and element."""
    import pikepdf

    path = Path(path)
    try:
        pdf = pikepdf.open(io.BytesIO(path.read_bytes()))
    except (pikepdf.PdfError, OSError) as exc:
        return [f"not a readable PDF ({exc})"]
    found: list[str] = []
    with pdf:
        root = pdf.Root
        # -- document
        lang = str(root.get("/Lang", "")).strip()
        if not lang:
            found.append("document: no language (/Lang of the catalog)")
        with pdf.open_metadata() as xmp:
            part = str(xmp.get("pdfuaid:part", ""))
            title = str(xmp.get("dc:title", "") or "").strip()
        if part != "1":
            found.append("document: no PDF/UA-1 identification (XMP pdfuaid:part)")
        if not title:
            found.append("document: no title (XMP dc:title)")
        prefs = root.get("/ViewerPreferences")
        if not (isinstance(prefs, pikepdf.Dictionary) and bool(prefs.get("/DisplayDocTitle", False))):
            found.append("document: the title is not shown as the window title (ViewerPreferences/DisplayDocTitle)")
        mark = root.get("/MarkInfo")
        if not (isinstance(mark, pikepdf.Dictionary) and bool(mark.get("/Marked", False))):
            found.append("document: not marked as tagged (MarkInfo/Marked)")
        tree = _struct_tree(pdf)
        if not tree:
            found.append("document: no structure tree (untagged PDF)")
            return found
        elements = [e for top in tree for e in top.walk()]
        pages = len(pdf.pages)

        # -- one slide a section
        sections: dict[int, int] = {}
        for e in elements:
            if e.type == "/Sect":
                sections[e.page] = sections.get(e.page, 0) + 1
        for n in range(1, pages + 1):
            if sections.get(n, 0) != 1:
                found.append(f"slide {n}: {sections.get(n, 0)} sections (Sect) where one slide is one section")

        # -- figures, tables, headings, links
        counters: dict[tuple[int, str], int] = {}

        def label(e: _Element, what: str) -> str:
            counters[(e.page, what)] = counters.get((e.page, what), 0) + 1
            return f"slide {e.page}: {what} {counters[(e.page, what)]}"

        last_level = 0
        for e in elements:
            if e.type == "/Figure":
                where = label(e, "figure")
                alt = str(e.obj.get("/Alt", "") or e.obj.get("/ActualText", "")).strip()
                if not alt:
                    found.append(f"{where} has no alt text (/Alt)")
            elif e.type == "/Table":
                where = label(e, "table")
                cells = [c for c in e.walk() if c.type in ("/TH", "/TD")]
                headers = [c for c in cells if c.type == "/TH"]
                if not headers:
                    found.append(f"{where} has no header cell (TH)")
                unscoped = [c for c in headers if not any("/Scope" in a for a in _attributes(c.obj))]
                if unscoped:
                    found.append(f"{where}: {len(unscoped)} header cell{'s' if len(unscoped) > 1 else ''} "
                                 "without a scope (/Scope)")
            elif _HEADING.match(e.type):
                level = int(_HEADING.match(e.type).group(1))
                if (last_level == 0 and level != 1) or level > last_level + 1 and last_level:
                    found.append(f"slide {e.page}: heading H{level} follows "
                                 f"{'H' + str(last_level) if last_level else 'the start of the document'} "
                                 "(a heading level is skipped)")
                last_level = level
            elif e.type == "/Link":
                where = label(e, "link")
                has_annotation = any(isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR"
                                     for k in _kids(e.obj))
                if not has_annotation:
                    found.append(f"{where} has no link annotation in its structure element")
                if not e.all_mcids():
                    found.append(f"{where} has no text")
        for n, page in enumerate(pdf.pages, start=1):
            for annot in page.obj.get("/Annots") or []:
                if annot.get("/Subtype") != "/Link":
                    continue
                if "/StructParent" not in annot:
                    found.append(f"slide {n}: a link annotation is not in the structure tree (StructParent)")
                if not str(annot.get("/Contents", "")).strip():
                    found.append(f"slide {n}: a link annotation has no description (/Contents)")
                if page.obj.get("/Tabs") != "/S":
                    found.append(f"slide {n}: links without structure tab order (/Tabs /S)")

        found += _font_problems(pdf)
        found += _untagged(pdf)
        found += _reading_order(path, elements, pdf)
    return found


def _kids(obj) -> list:
    import pikepdf

    kids = obj.get("/K")
    return list(kids) if isinstance(kids, pikepdf.Array) else ([] if kids is None else [kids])


def _reading_order(path: Path, elements: list[_Element], pdf) -> list[str]:
    """Per slide, the structure order reads header band, then title, then body, then footer band."""
    positions = _text_positions(path)
    found = []
    for sect in (e for e in elements if e.type == "/Sect"):
        n = sect.page
        height = float(pdf.pages[n - 1].mediabox[3]) if 0 < n <= len(pdf.pages) else 540.0
        placed = positions.get(n, {})
        zones = [_zone(*placed[m], height) for m in sect.all_mcids() if m in placed]
        if zones != sorted(zones):
            first = next(i for i in range(1, len(zones)) if zones[i] < zones[i - 1])
            names = ("header band", "slide body", "footer band")
            found.append(f"slide {n}: reading order goes back from the {names[zones[first - 1]]} to the "
                         f"{names[zones[first]]}")
        heading = next((e for e in sect.walk() if _HEADING.match(e.type)), None)
        if heading is not None:
            own = [m for m in heading.all_mcids() if m in placed]
            if own:
                title_top = min(placed[m][0] for m in own)
                body = [m for m in sect.all_mcids() if m in placed and _zone(*placed[m], height) == 1]
                before = body[:body.index(own[0])]
                # only what is drawn above the title (a cover's kicker) may be read before it
                if any(placed[m][0] >= title_top for m in before):
                    found.append(f"slide {n}: the title ({heading.type[1:]}) is read after body content "
                                 "drawn below it")
    return found


def check(path: Path) -> None:
    """Raise :class:`ExportError` listing what keeps ``path`` from PDF/UA-1, or return quietly."""
    found = problems(path)
    if found:
        shown = "; ".join(found[:12]) + (f"; and {len(found) - 12} more" if len(found) > 12 else "")
        raise ExportError(f"{Path(path).name} fails PDF/UA-1: {shown}")
