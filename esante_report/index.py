"""The distribution page ``<out>/index.html``: every date, newest first, every deck.

Only the toolkit's own files are listed: folders named after a real date, holding
``<deck>.html`` or ``<deck>-<REGION>.html`` of a known deck; anything else in ``<out>``
is ignored. The page is written under a lock (``<out>/.esante-report.lock``), to a fresh
temporary file renamed into place, so concurrent runs never fail and a link planted at
a temporary name is never followed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path

from . import cache, outfs
from .registry import find_deck
from .fmt import fmt_date

__all__ = ["write_index", "collect"]

_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DECK_FILE = re.compile(r"^(?P<deck>[a-z][a-z0-9_]*)(?:-(?P<region>[A-Z]{2,4}))?\.html$")
_INDEX_STAMP = "index.json"


def _size(path: Path) -> str:
    size = path.stat().st_size
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} Kio".replace(".", ",")
    return f"{size / 1024 / 1024:.1f} Mio".replace(".", ",")


def _pages(pdf: Path) -> int | None:
    from . import pdfcheck
    from .errors import ExportError

    try:
        return pdfcheck.page_count(pdf)
    except ExportError:  # an unreadable PDF is listed without a page count
        return None


def _is_date(name: str) -> bool:
    if not _DATE_DIR.match(name):
        return False
    try:
        dt.date.fromisoformat(name)
    except ValueError:  # e.g. 2020-13-01: not the toolkit's folder
        return False
    return True


def _plain(path: Path, kind: str) -> bool:
    """True for a real file or folder (``kind`` 'file' or 'dir'), never a link."""
    return not path.is_symlink() and (path.is_dir() if kind == "dir" else path.is_file())


def _local_time(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%d/%m/%Y à %H:%M")


def collect(out_dir: Path) -> list[dict]:
    """Rendered dates (newest first), each with its decks and their files."""
    out_dir = Path(out_dir)
    dates = []
    folders = [p for p in out_dir.iterdir() if _is_date(p.name) and _plain(p, "dir")]
    for folder in sorted(folders, key=lambda p: p.name, reverse=True):
        decks = []
        # each deck, then its regional decks (name, name-ARA, …): not plain name order
        for html in sorted(folder.iterdir(), key=lambda p: (p.name.split('-')[0].split('.')[0], '-' in p.name, p.name)):
            match = _DECK_FILE.match(html.name)
            if not match or not _plain(html, "file"):
                continue
            record = cache.read_record(out_dir, folder.name, html.name[:-len(".html")])
            spec = None if record else find_deck(match["deck"])
            if record is None and spec is None:  # neither rendered here nor a deck of this project
                continue
            name = html.name[:-len(".html")]
            pdf = folder / f"{name}.pdf"
            has_pdf = _plain(pdf, "file")
            title = record.title if record else spec.title + (
                f" — {match['region']}" if match["region"] else "")
            pages = record.slides if record and has_pdf else (_pages(pdf) if has_pdf else None)
            decks.append({
                "name": name, "title": title,
                "html": f"{folder.name}/{html.name}", "html_size": _size(html),
                "pdf": f"{folder.name}/{pdf.name}" if has_pdf else None,
                "pdf_size": _size(pdf) if has_pdf else None,
                "pages": pages,
                "generated": _local_time(html.stat().st_mtime),
            })
        if decks:
            dates.append({"date": fmt_date(folder.name), "iso": folder.name, "decks": decks})
    return dates


def _generated() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return _local_time(int(epoch)) if epoch.isdigit() else dt.datetime.now().strftime("%d/%m/%Y à %H:%M")


def write_index(out_dir: Path, *, force: bool = True) -> Path | None:
    """Write ``<out>/index.html`` (offline, house style) and return its path.

    Without ``force``, the page is left as it is (and None returned) when the decks it
    lists have not changed since it was written.
    """
    out_dir = outfs.prepare_out(Path(out_dir))
    target = out_dir / "index.html"
    with outfs.locked(out_dir):
        dates = collect(out_dir)
        digest = hashlib.sha256(json.dumps(dates, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        stamp = out_dir / cache.CACHE_DIR / _INDEX_STAMP
        if not force and _plain(target, "file"):
            try:
                if json.loads(stamp.read_text(encoding="utf-8")).get("digest") == digest:
                    return None
            except (OSError, ValueError, AttributeError):
                pass
        from . import components, fonts
        from .paths import templates_dir

        css = (templates_dir() / "css" / "index.css").read_text(encoding="utf-8")
        page = components.render("index.html.j2", dates=dates, font_css=fonts.font_face_css(), css=css,
                                 generated=_generated())
        outfs.write_text(target, page.html)
        outfs.safe_dir(out_dir / cache.CACHE_DIR)
        outfs.write_text(stamp, json.dumps({"digest": digest}))
    return target
