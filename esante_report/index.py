"""The distribution page ``<out>/index.html``: every date, newest first, every deck."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from . import components, fonts
from .decks import DECKS
from .fmt import fmt_date
from .paths import templates_dir

__all__ = ["write_index", "collect"]

_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _size(path: Path) -> str:
    size = path.stat().st_size
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} Kio".replace(".", ",")
    return f"{size / 1024 / 1024:.1f} Mio".replace(".", ",")


def _pages(pdf: Path) -> int | None:
    try:
        import pdfplumber
        with pdfplumber.open(str(pdf)) as doc:
            return len(doc.pages)
    except Exception:  # an unreadable PDF is listed without a page count
        return None


def collect(out_dir: Path) -> list[dict]:
    """Rendered dates (newest first), each with its decks and their files."""
    out_dir = Path(out_dir)
    dates = []
    for folder in sorted((p for p in out_dir.iterdir() if p.is_dir() and _DATE_DIR.match(p.name)), reverse=True):
        decks = []
        for html in sorted(folder.glob("*.html")):
            name = html.stem
            pdf = folder / f"{name}.pdf"
            decks.append({
                "name": name,
                "title": DECKS[name].title if name in DECKS else name,
                "html": f"{folder.name}/{html.name}", "html_size": _size(html),
                "pdf": f"{folder.name}/{pdf.name}" if pdf.exists() else None,
                "pdf_size": _size(pdf) if pdf.exists() else None,
                "pages": _pages(pdf) if pdf.exists() else None,
                "generated": dt.datetime.fromtimestamp(html.stat().st_mtime).strftime("%d/%m/%Y à %H:%M"),
            })
        if decks:
            dates.append({"date": fmt_date(folder.name), "iso": folder.name, "decks": decks})
    return dates


def write_index(out_dir: Path) -> Path:
    """Write ``<out>/index.html`` (offline, house style) and return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    css = (templates_dir() / "css" / "index.css").read_text(encoding="utf-8")
    page = components.render("index.html.j2", dates=collect(out_dir), font_css=fonts.font_face_css(), css=css,
                             generated=dt.datetime.now().strftime("%d/%m/%Y à %H:%M"))
    target = out_dir / "index.html"
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(page.html, encoding="utf-8")
    tmp.replace(target)
    return target
