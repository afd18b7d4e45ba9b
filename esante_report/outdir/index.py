"""The distribution page ``<out>/index.html``: every date, newest first, every deck.

Only the toolkit's own files are listed: folders named after a real date, holding the reader
files (:func:`reader_formats`: ``<deck>.html``, ``<deck>-<REGION>.pdf``, …) of a known deck, as a plain file or as a link published by
:mod:`esante_report.outdir.versions`;
anything else in ``<out>`` is ignored. A deck a render was asked for (recorded in
``<out>/.esante-cache/plans/<date>.json``) that is not there is listed as missing. Each file shows its
format and size ("PDF, 320 Ko"), as RGAA asks of a downloadable document. ``publish`` renders the
same page from what is on the share. The page is written under a lock (``<out>/.esante-report.lock``), to a fresh
temporary file renamed into place, so concurrent runs never fail and a link planted at
a temporary name is never followed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

from esante_report.pipeline import cache
from esante_report.outdir import fs as outfs
from esante_report.decks.registry import find_deck
from esante_report.fmt import fmt_date
from esante_report.outdir.versions import current_file, source_date_epoch

__all__ = ["write_index", "collect", "render_page", "local_listing", "remember_expected", "expected",
           "deck_file", "size_fr", "reader_formats", "planned_dates"]

_DATE_DIR = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_INDEX_STAMP = "index.json"
_DECK_FILE = re.compile(r"^(?P<deck>[a-z][a-z0-9_]*)(?:-(?P<region>[A-Z]{2,4}))?(?P<suffix>\.[a-z0-9]{1,8})$")


def reader_formats() -> dict[str, tuple[str, str]]:
    """The files readers get, in the order the index lists them: suffix → (format, link text), from the format
    registry (the shipped formats and those of plug-ins). The one list of reader formats: ``publish`` sends
    these and nothing else."""
    from esante_report.formats.registry import reader_formats as registered

    return registered()
#: per date, the decks a render was asked for (``<out>/.esante-cache/plans/<date>.json``): the index shows
#: the ones that are not there as missing
PLANS_DIR = "plans"


def size_fr(size: int) -> str:
    """A file size as French readers expect it: ``320 Ko``, ``1,2 Mo``."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} Ko"
    return f"{size / 1024 / 1024:.1f} Mo".replace(".", ",")


def _size(path: Path) -> str:
    return size_fr(path.stat().st_size)


def deck_file(name: str) -> re.Match | None:
    """The match of a reader file name of a known deck (``mydeck-OCC.pdf``), else None."""
    match = _DECK_FILE.match(name)
    if not match or match["suffix"] not in reader_formats():
        return None
    return match if find_deck(match["deck"]) is not None else None


def _spec_title(deck: str) -> str:
    spec = find_deck(deck)
    return spec.title if spec is not None else deck


def remember_expected(out_dir: Path, decks: list[tuple[str, str, str]],
                      params_decks: dict[str, set[str]] | None = None) -> None:
    """Add (date, name, title) to the decks expected on each date (a render asked for them).

    ``params_decks`` (date → decks its params file names) drops the expected decks of a date whose
    deck the params file no longer names.
    """
    by_date: dict[str, dict[str, str]] = {}
    for date, name, title in decks:
        if _is_date(date) and deck_file(f"{name}.html"):
            by_date.setdefault(date, {})[name] = title
    for date, names in by_date.items():
        folder = outfs.safe_dir(outfs.safe_dir(outfs.prepare_out(Path(out_dir)) / cache.CACHE_DIR) / PLANS_DIR)
        known = expected(Path(out_dir), date)
        if params_decks is not None and date in params_decks:
            known = {k: v for k, v in known.items() if deck_file(f"{k}.html")["deck"] in params_decks[date]}
        known.update({name: title or known.get(name, "") for name, title in names.items()})
        outfs.write_text(folder / f"{date}.json", json.dumps({"expected": known}, ensure_ascii=False, indent=1,
                                                        sort_keys=True))


def expected(out_dir: Path, date: str) -> dict[str, str]:
    """Name → title of the decks expected on ``date`` (empty when no render recorded any)."""
    path = Path(out_dir) / cache.CACHE_DIR / PLANS_DIR / f"{date}.json"
    try:
        if not _plain(path, "file"):
            return {}
        raw = json.loads(path.read_text(encoding="utf-8")).get("expected", {})
        return {str(k): str(v) for k, v in raw.items() if deck_file(f"{k}.html")}
    except (OSError, ValueError, AttributeError):
        return {}


def _pages(pdf: Path) -> int | None:
    from esante_report.checks import layout as pdfcheck
    from esante_report.errors import ExportError

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


def _order(name: str) -> tuple:
    # each deck, then its regional decks (name, name-ARA, …): not plain name order
    return (name.split("-")[0], "-" in name, name)


def local_listing(out_dir: Path) -> dict[str, int]:
    """``<date>/<file>`` → size of every reader file of ``out_dir`` (plain files of real date folders only)."""
    listing = {}
    for folder in Path(out_dir).iterdir():
        if not (_is_date(folder.name) and _plain(folder, "dir")):
            continue
        for path in folder.iterdir():
            if deck_file(path.name) and current_file(path):
                listing[f"{folder.name}/{path.name}"] = path.stat().st_size
    return listing


def planned_dates(out_dir: Path) -> set[str]:
    """Dates for which a render recorded the decks it was asked for."""
    folder = Path(out_dir) / cache.CACHE_DIR / PLANS_DIR
    try:
        return {p.stem for p in folder.iterdir() if _is_date(p.stem) and p.suffix == ".json"}
    except OSError:
        return set()


def collect(out_dir: Path, listing: dict[str, int] | None = None, dates: set[str] | None = None) -> list[dict]:
    """Dates (newest first), each with its decks, their reader files and the expected decks that are missing.

    ``listing`` (``<date>/<file>`` → size) says which files readers can open: by default those of
    ``out_dir``; ``publish`` passes what is on the share (and the ``dates`` it publishes), so that one
    index serves both.
    """
    out_dir = Path(out_dir)
    local = listing is None
    listing = local_listing(out_dir) if local else listing
    by_date: dict[str, dict[str, dict[str, int]]] = {}
    for rel, size in listing.items():
        date, _, file = rel.partition("/")
        match = deck_file(file)
        if _is_date(date) and match:
            by_date.setdefault(date, {}).setdefault(file[:-len(match["suffix"])], {})[match["suffix"]] = size
    dates = []
    folders = ({p.name for p in out_dir.iterdir() if _is_date(p.name) and _plain(p, "dir")} | planned_dates(out_dir)
               if local else set(dates or ()))
    for date in sorted(set(by_date) | folders, reverse=True):
        present = by_date.get(date, {})
        wanted = expected(out_dir, date)
        decks = []
        for name in sorted(set(present) | set(wanted), key=_order):
            match = deck_file(f"{name}.html")
            record = cache.read_record(out_dir, date, name)
            title = ((record.title if record else "") or wanted.get(name)
                     or _spec_title(match["deck"]) + (f" — {match['region']}" if match["region"] else ""))
            if name not in present:
                decks.append({"name": name, "title": title, "missing": True, "files": []})
                continue
            files = [{"format": fmt, "text": text, "href": f"{date}/{name}{suffix}",
                      "size": size_fr(present[name][suffix])}
                     for suffix, (fmt, text) in reader_formats().items() if suffix in present[name]]
            local = out_dir / date / f"{name}.html"
            pdf = out_dir / date / f"{name}.pdf"
            pages = None
            if ".pdf" in present[name]:
                pages = record.slides if record else (_pages(pdf) if current_file(pdf) else None)
            decks.append({"name": name, "title": title, "missing": False, "files": files, "pages": pages,
                          "generated": _local_time(local.stat().st_mtime) if current_file(local) else ""})
        if decks:
            dates.append({"date": fmt_date(date), "iso": date, "decks": decks})
    return dates


def render_page(dates: list[dict]) -> str:
    """The readers' index page for ``dates`` (as :func:`collect` gives them): one self-contained HTML file."""
    from esante_report import fonts
    from esante_report.authoring import components
    from esante_report.paths import templates_dir

    css = (templates_dir() / "css" / "index.css").read_text(encoding="utf-8")
    return components.render("index.html.j2", dates=dates, font_css=fonts.font_face_css(), css=css,
                             generated=_generated()).html


def _generated() -> str:
    epoch = source_date_epoch()
    return _local_time(epoch) if epoch is not None else dt.datetime.now().strftime("%d/%m/%Y à %H:%M")


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
        outfs.write_text(target, render_page(dates))
        outfs.safe_dir(out_dir / cache.CACHE_DIR)
        outfs.write_text(stamp, json.dumps({"digest": digest}))
    return target
