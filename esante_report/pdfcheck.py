"""Checks a rendered PDF deck the way a reader would notice problems.

- one page per slide;
- no blank slide (nothing between the header and the footer);
- nothing drawn outside the page, and no slide content running into the footer.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ExportError

__all__ = ["check_pdf", "SLIDE_WIDTH_PX", "SLIDE_HEIGHT_PX"]

SLIDE_WIDTH_PX, SLIDE_HEIGHT_PX = 1280, 720
HEADER_PX, FOOTER_PX = 44, 34
_PT_PER_PX = 0.75
_TOLERANCE_PT = 1.0
_WORD = re.compile(r"\w")
#: share of a slide's characters that must be on its page (ligatures and hyphenation aside)
_LAID_OUT = 0.95


def _objects(page) -> list[dict]:
    return [*page.chars, *page.rects, *page.lines, *page.curves, *page.images]


def check_pdf(path: Path, slides: int, expected_chars: tuple[int, ...] = (),
              slide_cells: tuple[tuple[int, ...], ...] = ()) -> None:
    """Raise :class:`ExportError` naming the slide at fault (and its notebook cells), or return quietly.

    ``expected_chars`` (letters and digits each slide shows, from :func:`export.visible_chars`) lets
    the check see content the layout engine could not place on its page and left out.
    """
    import pdfplumber

    problems = []
    with pdfplumber.open(str(path)) as pdf:
        pages = pdf.pages
        if len(pages) != slides:
            problems.append(f"{len(pages)} pages for {slides} slides (a slide overflowed onto another page, "
                            "or a slide is missing)")
        for n, page in enumerate(pages, start=1):
            width, height = float(page.width), float(page.height)
            body_top = HEADER_PX * _PT_PER_PX
            footer_top = (SLIDE_HEIGHT_PX - FOOTER_PX) * _PT_PER_PX
            outside = [o for o in _objects(page)
                       if o["x0"] < -_TOLERANCE_PT or o["top"] < -_TOLERANCE_PT
                       or o["x1"] > width + _TOLERANCE_PT or o["bottom"] > height + _TOLERANCE_PT]
            if outside:
                sample = "".join(o.get("text", "") for o in outside[:30]).strip()
                problems.append(f"slide {n}: {len(outside)} objects drawn outside the page"
                                + (f" ({sample[:40]!r})" if sample else ""))
            # what lies in the body band, less the slide's own background (a box spanning header to footer)
            body = [o for o in _objects(page) if o["bottom"] > body_top + 2 and o["top"] < footer_top - 2
                    and not (o["top"] <= body_top and o["bottom"] >= footer_top)]
            if not any(o.get("text", "").strip() for o in body) and not any("text" not in o for o in body):
                problems.append(f"slide {n}: blank (nothing between the header and the footer)")
            footer_chars = [c for c in page.chars if c["top"] >= footer_top - _TOLERANCE_PT]
            if footer_chars:
                footer_size = min(c["size"] for c in footer_chars)
                intruders = [c for c in footer_chars if abs(c["size"] - footer_size) > 0.5 and c["text"].strip()]
                if intruders:
                    text = "".join(c["text"] for c in intruders[:40])
                    problems.append(f"slide {n}: content runs into the footer ({text!r})")
            if n <= len(expected_chars) and expected_chars[n - 1]:
                shown = sum(1 for c in page.chars if _WORD.match(c["text"]))
                if shown < _LAID_OUT * expected_chars[n - 1]:
                    problems.append(f"slide {n}: its content does not fit the slide ({shown} of "
                                    f"{expected_chars[n - 1]} characters laid out)")
    if problems:
        named = []
        for problem in problems:
            match = re.match(r"slide (\d+):", problem)
            n = int(match.group(1)) if match else 0
            if 0 < n <= len(slide_cells) and slide_cells[n - 1]:
                cells = slide_cells[n - 1]
                where = f"cell {cells[0]}" if len(cells) == 1 else f"cells {cells[0]}–{cells[-1]}"
                problem = problem.replace(f"slide {n}:", f"slide {n} ({where}):", 1)
            named.append(problem)
        raise ExportError(f"{Path(path).name} failed its checks: " + "; ".join(named))
