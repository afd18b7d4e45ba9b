"""Checks a rendered PDF deck the way a reader would notice problems.

Layout:

- one page per slide;
- no blank slide (nothing between the header and the footer);
- nothing drawn outside the page, and no slide content running into the footer;
- no content the layout engine left out (``expected_chars``);
- no chart data table ("Données du graphique") shown on a slide.

Readability (docs/style.md), measured from the PDF's own text — the size of
each run of characters on the 960×540 pt page, its fill colour and whether it
belongs to a chart:

- header and footer bands, and small print in the muted grey (sources,
  credits, provenance): ≥ 9 pt;
- chart text (ticks, labels, values, map labels): ≥ 12 pt;
- all other text of the slide body: ≥ 14 pt;
- content uses the slide: a slide whose content ends above 55 % of the body
  height fails if its dominant text is smaller than 16 pt.

Chart text is told apart by the tagged PDF's structure, not by its colour:
WeasyPrint tags each piece of content with the structure element of its box,
and an inline SVG (a chart, a map) is a ``Figure`` element. Text drawn inside
a form XObject (SVG groups) takes the mark of the form that draws it.

The PDF is read with pypdfium2 (PDFium): for the same information, 5 to 9
times less CPU than pdfplumber on the seed decks (bench/bench_pdfcheck.py).
It needs a tagged PDF, as :func:`export.write_pdf` writes.
"""

from __future__ import annotations

import ctypes
import math
import contextlib
import re
import threading
from collections import Counter
from dataclasses import dataclass
from html import unescape as html_unescape
from pathlib import Path

from esante_report.errors import ExportError
from esante_report.slides.geometry import FOOTER_PX, HEADER_PX, PT_PER_PX, SLIDE_HEIGHT_PX, SLIDE_WIDTH_PX

__all__ = ["check_pdf", "findings", "SLIDE_WIDTH_PX", "SLIDE_HEIGHT_PX", "MIN_BODY_PT", "MIN_CHART_PT", "MIN_SMALL_PT",
           "ROOMY_BODY_PT", "SMALL_PRINT_COLOUR"]

_PT_PER_PX = PT_PER_PX
_TOLERANCE_PT = 1.0
_WORD = re.compile(r"\w")
#: letters and digits of a slide that may be missing from its page: PDFium gives back every letter
#: (ligatures as their letters, hyphenation adds none), so only a few, for safety
_MISSING_CHARS = 2
_MISSING_SHARE = 0.005

#: readability floors in pt on the 960×540 pt page (docs/style.md)
MIN_BODY_PT = 14.0
MIN_CHART_PT = 12.0
MIN_SMALL_PT = 9.0
#: body text a slide with room to spare should use
ROOMY_BODY_PT = 16.0
#: content ending above this share of the body height leaves the slide half empty
_USED_SHARE = 0.55
#: the house ``--grey-muted``: sources, credits, provenance (small print)
SMALL_PRINT_COLOUR = "#595959"
#: sizes are computed from matrices: ignore float noise
_SIZE_EPSILON = 0.05

#: summary of a chart's data table (templates/components/figure.html.j2): never on a printed slide
_DATA_SUMMARY = "Données du graphique"

#: PDFium is not thread-safe: one check at a time per process (a Dask worker may run decks in threads)
_PDFIUM_LOCK = threading.Lock()

_BODY_TOP = HEADER_PX * _PT_PER_PX
_FOOTER_TOP = (SLIDE_HEIGHT_PX - FOOTER_PX) * _PT_PER_PX


@dataclass(frozen=True)
class _Run:
    """Characters drawn by one text object: one size, one colour, one line."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float        # pt, as the reader sees it (font size × text matrix scale)
    colour: str        # fill, '#rrggbb'
    chart: bool        # inside an SVG chart (a Figure of the tagged PDF)
    turned: bool = False  # drawn at 90° (an axis label)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(frozen=True)
class _Page:
    width: float
    height: float
    runs: list[_Run]
    shapes: list[tuple[float, float, float, float]]   # x0, top, x1, bottom of paths, images, forms
    word_chars: int                                    # letters and digits on the page
    tagged: bool = True                                # has a structure tree (tells chart text apart)


def _struct_type(element) -> str:
    import pypdfium2.raw as pdfium_c

    length = pdfium_c.FPDF_StructElement_GetType(element, None, 0)
    if length <= 0:
        return ""
    buffer = ctypes.create_string_buffer(length)
    pdfium_c.FPDF_StructElement_GetType(element, buffer, length)
    return buffer.raw.decode("utf-16-le", "replace").rstrip("\x00")


def _figure_mcids(page) -> set[int] | None:
    """Marked-content ids of the page that belong to ``Figure`` structure elements (charts).

    None when the page has no structure tree (an untagged PDF).
    """
    import pypdfium2.raw as pdfium_c

    tree = pdfium_c.FPDF_StructTree_GetForPage(page.raw)
    if not tree:
        return None
    found: set[int] = set()
    try:
        stack = [pdfium_c.FPDF_StructTree_GetChildAtIndex(tree, i)
                 for i in range(pdfium_c.FPDF_StructTree_CountChildren(tree))]
        while stack:
            element = stack.pop()
            if not element:
                continue
            if _struct_type(element) == "Figure":
                found.update(pdfium_c.FPDF_StructElement_GetMarkedContentIdAtIndex(element, k)
                             for k in range(pdfium_c.FPDF_StructElement_GetMarkedContentIdCount(element)))
            stack += [pdfium_c.FPDF_StructElement_GetChildAtIndex(element, i)
                      for i in range(pdfium_c.FPDF_StructElement_CountChildren(element))]
    finally:
        pdfium_c.FPDF_StructTree_Close(tree)
    return found


def _address(obj) -> int:
    return ctypes.cast(obj, ctypes.c_void_p).value or 0


def _mcids_of_form_text(page) -> dict[int, int]:
    """Text objects drawn inside form XObjects (SVG groups) → marked-content id of the form that draws them.

    PDFium reports only a text object's own marks; WeasyPrint marks the form that holds an SVG's
    groups, not the text inside it.
    """
    import pypdfium2.raw as pdfium_c

    found: dict[int, int] = {}
    stack = []
    for k in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        obj = pdfium_c.FPDFPage_GetObject(page.raw, k)
        if pdfium_c.FPDFPageObj_GetType(obj) == pdfium_c.FPDF_PAGEOBJ_FORM:
            stack.append((obj, pdfium_c.FPDFPageObj_GetMarkedContentID(obj)))
    while stack:
        form, mcid = stack.pop()
        for k in range(pdfium_c.FPDFFormObj_CountObjects(form)):
            obj = pdfium_c.FPDFFormObj_GetObject(form, k)
            own = pdfium_c.FPDFPageObj_GetMarkedContentID(obj)
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
                found[_address(obj)] = own if own >= 0 else mcid
            elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                stack.append((obj, own if own >= 0 else mcid))
    return found


def _read_page(page) -> _Page:
    """Text runs and shapes of one PDF page, in top-down coordinates (pt)."""
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    figure = _figure_mcids(page)
    in_forms = _mcids_of_form_text(page)
    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        box = pdfium_c.FS_RECTF()
        matrix = pdfium_c.FS_MATRIX()
        r, g, b, a = (ctypes.c_uint() for _ in range(4))
        styles: dict[int, tuple[float, str, bool, bool]] = {}
        runs: list[_Run] = []
        current: list = []    # [object address, chars, x0, top, x1, bottom]
        word_chars = 0

        def close() -> None:
            if current:
                runs.append(_Run("".join(current[1]), *current[2:6], *styles[current[0]]))

        for i in range(pdfium_c.FPDFText_CountChars(raw)):
            if pdfium_c.FPDFText_IsGenerated(raw, i):
                continue
            char = chr(pdfium_c.FPDFText_GetUnicode(raw, i))
            if _WORD.match(char):
                word_chars += 1
            obj = pdfium_c.FPDFText_GetTextObject(raw, i)
            address = _address(obj)
            if address not in styles:
                pdfium_c.FPDFText_GetMatrix(raw, i, matrix)
                scale = math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c))
                pdfium_c.FPDFText_GetFillColor(raw, i, r, g, b, a)
                mcid = pdfium_c.FPDFPageObj_GetMarkedContentID(obj) if obj else -1
                if mcid < 0:
                    mcid = in_forms.get(address, -1)
                styles[address] = (pdfium_c.FPDFText_GetFontSize(raw, i) * scale,
                                   f"#{r.value:02x}{g.value:02x}{b.value:02x}", mcid >= 0 and mcid in (figure or ()),
                                   abs(matrix.b) > abs(matrix.a))
            pdfium_c.FPDFText_GetLooseCharBox(raw, i, box)
            x0, x1 = sorted((box.left, box.right))
            top, bottom = sorted((height - box.top, height - box.bottom))
            if current and current[0] == address:
                current[1].append(char)
                current[2], current[3] = min(current[2], x0), min(current[3], top)
                current[4], current[5] = max(current[4], x1), max(current[5], bottom)
            else:
                close()
                current = [address, [char], x0, top, x1, bottom]
        close()
    finally:
        textpage.close()
    runs = _merge(runs)
    shapes = []
    left, bottom_, right, top_ = (ctypes.c_float() for _ in range(4))
    for k in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        obj = pdfium_c.FPDFPage_GetObject(page.raw, k)
        if pdfium_c.FPDFPageObj_GetType(obj) == pdfium_c.FPDF_PAGEOBJ_TEXT:
            continue
        if pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom_, right, top_):
            shapes.append((left.value, height - top_.value, right.value, height - bottom_.value))
    return _Page(width, height, runs, shapes, word_chars, tagged=figure is not None)


def _merge(runs: list[_Run]) -> list[_Run]:
    """Join runs that continue one another in the same style (SVG text drawn glyph by glyph).

    Horizontal text continues to the right on its line; text turned 90° (an axis label) continues
    upwards or downwards in its column.
    """
    merged: list[_Run] = []
    for run in runs:
        last = merged[-1] if merged else None
        gap = None
        if last and (last.size, last.colour, last.chart, last.turned) == (run.size, run.colour, run.chart, run.turned):
            if not run.turned and abs(last.top - run.top) < 1 and abs(last.bottom - run.bottom) < 1:
                gap = run.x0 - last.x1
            elif run.turned and abs(last.x0 - run.x0) < 1 and abs(last.x1 - run.x1) < 1:
                gap = max(last.top - run.bottom, run.top - last.bottom)
        if gap is not None and -1 <= gap < 0.5 * run.size:
            space = " " if gap > 0.1 * run.size and not last.text.endswith(" ") else ""
            merged[-1] = _Run(last.text + space + run.text, min(last.x0, run.x0), min(last.top, run.top),
                              max(last.x1, run.x1), max(last.bottom, run.bottom), run.size, run.colour, run.chart,
                              run.turned)
        else:
            merged.append(run)
    return merged


def _quote(runs: list[_Run]) -> str:
    texts = dict.fromkeys(" ".join(run.text.split()) for run in runs)
    text = " ".join(texts).strip()
    return repr(text if len(text) <= 40 else text[:39] + "…")


def _size_problems(n: int, runs: list[_Run], charts: tuple[Chart, ...] = ()) -> list[str]:
    """Text below the floor of its kind (docs/style.md), quoted with its size."""
    kinds = (
        ("header and footer text", MIN_SMALL_PT, lambda r: r.middle < _BODY_TOP or r.middle > _FOOTER_TOP),
        ("chart text", MIN_CHART_PT, lambda r: r.chart),
        ("small print (sources, credits)", MIN_SMALL_PT, lambda r: r.colour == SMALL_PRINT_COLOUR),
        ("body text", MIN_BODY_PT, lambda r: True),
    )
    small: dict[str, list[_Run]] = {}
    floors = {}
    for run in runs:
        if not run.text.strip():
            continue
        for kind, floor, applies in kinds:
            if applies(run):
                if run.size + _SIZE_EPSILON < floor:
                    small.setdefault(kind, []).append(run)
                    floors[kind] = floor
                break
    problems = []
    for kind, bad in small.items():
        size = min(run.size for run in bad)
        smallest = [run for run in bad if run.size - size < _SIZE_EPSILON]
        more = len({run.text for run in bad}) - len({run.text for run in smallest[:3]})
        floor = _fmt_pt(floors[kind])
        problems.append(f"slide {n}: text {_quote(smallest[:3])} is {_fmt_pt(size)} pt ({kind} must be ≥ {floor} pt)"
                        + (f", and {more} more text{'s' if more > 1 else ''} under {floor} pt" if more > 0 else "")
                        + (_scaled_chart(bad, charts) if kind == "chart text" else ""))
    return problems


def _fmt_pt(size: float) -> str:
    """10 → '10', 10.5 → '10.5', 9.75 → '9.75' (two decimals only when one would misstate the size)."""
    text = f"{size:.1f}" if abs(size - round(size, 1)) < 0.02 else f"{size:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _room_problem(n: int, body_runs: list[_Run], body_shapes: list) -> str | None:
    """A slide whose content ends above 55 % of the body while its text is small."""
    text = [run for run in body_runs if run.text.strip() and not run.chart and run.colour != SMALL_PRINT_COLOUR]
    if not text:
        return None
    end = max([run.bottom for run in body_runs] + [s[3] for s in body_shapes])
    used = (end - _BODY_TOP) / (_FOOTER_TOP - _BODY_TOP)
    weights = Counter()
    for run in text:
        weights[round(run.size, 2)] += len(_WORD.findall(run.text)) or 1
    dominant = weights.most_common(1)[0][0]
    if used < _USED_SHARE and dominant + _SIZE_EPSILON < ROOMY_BODY_PT:
        return (f"slide {n}: content ends at {used:.0%} of the slide body while its text is "
                f"{_fmt_pt(dominant)} pt (use the room: larger text, ≥ {_fmt_pt(ROOMY_BODY_PT)} pt)")
    return None


def _page_problems(n: int, page: _Page, expected: int, charts: tuple[Chart, ...] = ()) -> list[str]:
    problems = []
    runs = page.runs
    boxes = [(r.x0, r.top, r.x1, r.bottom, r.text) for r in runs] + [(*s, None) for s in page.shapes]
    outside = [b for b in boxes if b[0] < -_TOLERANCE_PT or b[1] < -_TOLERANCE_PT
               or b[2] > page.width + _TOLERANCE_PT or b[3] > page.height + _TOLERANCE_PT]
    if outside:
        sample = " ".join(b[4] for b in outside if b[4]).strip()
        problems.append(f"slide {n}: {len(outside)} objects drawn outside the page"
                        + (f" ({sample[:40]!r})" if sample else ""))
    # what lies in the body band, less the slide's own background (a box spanning header to footer)
    def in_body(top: float, bottom: float) -> bool:
        return bottom > _BODY_TOP + 2 and top < _FOOTER_TOP - 2 and not (top <= _BODY_TOP and bottom >= _FOOTER_TOP)

    body_runs = [r for r in runs if in_body(r.top, r.bottom)]
    body_shapes = [s for s in page.shapes if in_body(s[1], s[3])]
    if not any(r.text.strip() for r in body_runs) and not body_shapes:
        problems.append(f"slide {n}: blank (nothing between the header and the footer)")
    footer = [r for r in runs if r.middle > _FOOTER_TOP and r.text.strip()]
    # body text reaching below the top of the footer (hidden under it), or in it at another size than the footer's
    intruders = [r for r in runs if r.text.strip() and r.top < _FOOTER_TOP < r.bottom - _TOLERANCE_PT]
    if footer:
        footer_size = min(r.size for r in footer)
        intruders += [r for r in footer if abs(r.size - footer_size) > 0.5 and r not in intruders]
    if intruders:
        problems.append(f"slide {n}: content runs into the footer ({' '.join(r.text for r in intruders)[:40]!r})")
    if expected and expected - page.word_chars > max(_MISSING_CHARS, _MISSING_SHARE * expected):
        problems.append(f"slide {n}: its content does not fit the slide ({page.word_chars} of "
                        f"{expected} characters laid out)")
    shown = " ".join(" ".join(r.text.split()) for r in runs)
    if _DATA_SUMMARY in shown:
        problems.append(f"slide {n}: shows {_DATA_SUMMARY!r} (a chart's data table is for screen readers, "
                        "never on the slide)")
    problems += _size_problems(n, runs, charts)
    room = _room_problem(n, body_runs, body_shapes)
    if room:
        problems.append(room)
    return problems


def page_count(path: Path) -> int:
    """Pages of the PDF ``path``; :class:`ExportError` when it is not a readable PDF."""
    with _opened(Path(path)) as pdf:
        return len(pdf)


@contextlib.contextmanager
def _opened(path: Path):
    """The PDF ``path`` open in PDFium (one document at a time in this process), closed after."""
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            raise ExportError(f"{path.name}: not a readable PDF ({exc})") from None
        try:
            yield pdf
        finally:
            pdf.close()


def _read_pdf(path: Path) -> list[_Page]:
    with _opened(Path(path)) as pdf:
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                pages.append(_read_page(page))
            finally:
                page.close()
        return pages


@dataclass(frozen=True)
class Chart:
    """A chart as drawn (before the layout scales it to its slot): its size and the size of each text."""

    cell: int
    width_in: float
    height_in: float
    #: text of the chart → its font size in pt at full size
    sizes: dict


_SVG_BOX = re.compile(r'<svg\b[^>]*?\bviewBox="\s*[-\d.]+\s+[-\d.]+\s+([\d.]+)\s+([\d.]+)\s*"', re.I)
_SVG_TEXT = re.compile(r'<text\b[^>]*?font-size:\s*([\d.]+)px[^>]*>([^<]{1,80})</text>')


def charts_of(items) -> tuple[Chart, ...]:
    """The charts among a slide's items (each with ``html`` and ``cell``): matplotlib SVG, in pt user units."""
    out = []
    for item in items:
        for svg in item.html.split("<svg")[1:]:
            box = _SVG_BOX.match("<svg" + svg)
            if not box:
                continue
            sizes = {" ".join(html_unescape(text).split()): float(size) for size, text in _SVG_TEXT.findall(svg)}
            out.append(Chart(item.cell, float(box.group(1)) / 72, float(box.group(2)) / 72, sizes))
    return tuple(out)


def _scaled_chart(runs: list[_Run], charts: tuple[Chart, ...]) -> str:
    """What to do about chart text that is small because its chart was scaled down to fit its slot."""
    for run in sorted(runs, key=lambda r: r.size):
        for word in [" ".join(run.text.split()), *run.text.split()]:
            for chart in charts:
                drawn = chart.sizes.get(word)
                if not drawn or run.size >= drawn - _SIZE_EPSILON:
                    continue
                scale = run.size / drawn
                width, height = (math.floor(v * scale * 10) / 10 for v in (chart.width_in, chart.height_in))
                return (f": the chart of cell {chart.cell} is drawn {chart.width_in:.1f} × {chart.height_in:.1f} in "
                        f"and shown at {scale:.0%} to fit its slot; draw it with figsize=({width:g}, {height:g}) "
                        "(long labels count in the drawn size), or with fewer, shorter labels")
    return ""


def check_pdf(path: Path, slides: int, expected_chars: tuple[int, ...] = (),
              slide_cells: tuple[tuple[int, ...], ...] = (), charts: tuple[tuple[Chart, ...], ...] = ()) -> None:
    """Raise :class:`ExportError` naming the slide at fault (and its notebook cells), or return quietly.

    ``expected_chars`` (letters and digits each slide shows, from :func:`export.visible_chars`) lets
    the check see content the layout engine could not place on its page and left out. ``charts``
    (per slide, from :func:`charts_of`) lets a finding about small chart text say how much the chart
    was scaled down and which ``figsize`` fits.
    """
    named = findings(path, slides, expected_chars, slide_cells, charts)
    if named:
        raise ExportError(f"{Path(path).name} failed its checks: " + "; ".join(text for _, text in named))


def findings(path: Path, slides: int, expected_chars: tuple[int, ...] = (),
             slide_cells: tuple[tuple[int, ...], ...] = (),
             charts: tuple[tuple[Chart, ...], ...] = ()) -> list[tuple[int | None, str]]:
    """What :func:`check_pdf` finds, one (slide number or None, text naming the slide and its cells) each."""
    problems = []
    pages = _read_pdf(Path(path))
    if pages and not any(page.tagged for page in pages):
        problems.append("not a tagged PDF, so chart text cannot be told from body text "
                        "(write it with export.write_pdf, which tags it)")
    if len(pages) != slides:
        problems.append(f"{len(pages)} pages for {slides} slides (a slide overflowed onto another page, "
                        "or a slide is missing)")
    for n, content in enumerate(pages, start=1):
        expected = expected_chars[n - 1] if n <= len(expected_chars) else 0
        problems += _page_problems(n, content, expected, charts[n - 1] if n <= len(charts) else ())
    named: list[tuple[int | None, str]] = []
    for problem in problems:
        match = re.match(r"slide (\d+):", problem)
        n = int(match.group(1)) if match else 0
        if 0 < n <= len(slide_cells) and slide_cells[n - 1]:
            cells = slide_cells[n - 1]
            where = f"cell {cells[0]}" if len(cells) == 1 else f"cells {cells[0]}–{cells[-1]}"
            problem = problem.replace(f"slide {n}:", f"slide {n} ({where}):", 1)
        named.append((n or None, problem))
    return named
