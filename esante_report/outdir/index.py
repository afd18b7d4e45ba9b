"""The distribution page ``<out>/index.html``: every date, newest first, every deck, and its feed.

Per date, the national decks come first, then each regional deck family as a grid of regions in
French-name order. The page filters by "Ma région" (remembered in the browser, or ``#region=OCC``)
and searches as the reader types, from an index inlined at render time: it works from a share or
from disk, with no server and no network. ``<out>/feed.xml`` (:mod:`esante_report.outdir.feed`) is
written with it.

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

import base64
import datetime as dt
import hashlib
import html
import json
import re
import unicodedata
from pathlib import Path

from esante_report.pipeline import cache
from esante_report.outdir import fs as outfs
from esante_report.decks.registry import find_deck
from esante_report.fmt import fmt_date, fmt_long_date
from esante_report.outdir.feed import FEED_NAME, write_feed
from esante_report.outdir.versions import current_file, source_date_epoch

__all__ = ["write_index", "collect", "render_page", "local_listing", "remember_expected", "expected",
           "deck_file", "size_fr", "reader_formats", "planned_dates", "fold"]

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
    index serves both. Each deck also carries its family (``deck``), its region (abbreviation and
    name, empty for a national deck), its issuer, when it was produced and its earlier dates.
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
            family = _spec_title(match["deck"])
            title = ((record.title if record else "") or wanted.get(name)
                     or family + (f" — {match['region']}" if match["region"] else ""))
            deck = {"name": name, "deck": match["deck"], "family": family, "title": title,
                    "region": match["region"] or "", "region_name": _region_name(family, title, match["region"])}
            if name not in present:
                decks.append({**deck, "missing": True, "files": [], "issuer": "", "history": []})
                continue
            files = [{"format": fmt, "text": text, "href": f"{date}/{name}{suffix}",
                      "size": size_fr(present[name][suffix])}
                     for suffix, (fmt, text) in reader_formats().items() if suffix in present[name]]
            local = out_dir / date / f"{name}.html"
            pdf = out_dir / date / f"{name}.pdf"
            pages = None
            if ".pdf" in present[name]:
                pages = record.slides if record else (_pages(pdf) if current_file(pdf) else None)
            mtime = local.stat().st_mtime if current_file(local) else None
            decks.append({**deck, "missing": False, "files": files, "pages": pages,
                          "generated": _local_time(mtime) if mtime is not None else "",
                          "produced": _utc(mtime) if mtime is not None else "",
                          "issuer": _issuer(local) if mtime is not None else "", "history": []})
        if decks:
            dates.append({"date": fmt_date(date), "long_date": fmt_long_date(date), "iso": date, "decks": decks})
    _add_history(dates)
    return dates


def _region_name(family: str, title: str, region: str | None) -> str:
    """A regional deck's region as its title names it (:func:`~esante_report.pipeline.render.deck_title`), else its
    abbreviation; empty for a national deck."""
    if not region:
        return ""
    prefix = f"{family} — "
    return (title[len(prefix):].strip() or region) if title.startswith(prefix) else region


_AUTHOR = re.compile(rb'<meta name="author" content="([^"<>]*)">')


def _issuer(deck_html: Path) -> str:
    """The issuer a rendered HTML deck names in its head (``<meta name="author">``), else ''."""
    try:
        with deck_html.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return ""
    found = _AUTHOR.search(head.partition(b"<style")[0])
    return html.unescape(found[1].decode("utf-8", "replace")).strip() if found else ""


def _utc(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(int(timestamp), dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _add_history(dates: list[dict]) -> None:
    """Give each present deck the links to its earlier dates (same deck, same region), newest first."""
    seen: dict[str, list[dict]] = {}
    for day in reversed(dates):  # oldest first
        for deck in day["decks"]:
            if deck["missing"]:
                continue
            deck["history"] = list(reversed(seen.get(deck["name"], [])))
            href = next((f["href"] for f in deck["files"] if f["href"].endswith(".html")), deck["files"][0]["href"])
            seen.setdefault(deck["name"], []).append({"date": day["date"], "iso": day["iso"], "href": href})


def fold(text: str) -> str:
    """``text`` lower-cased, without accents, typographic apostrophes made plain: what the search compares
    (the page folds what the reader types the same way)."""
    decomposed = unicodedata.normalize("NFD", text.replace("’", "'"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()


def _families(decks: list[dict]) -> list[dict]:
    """The decks of one date as the page shows them: national decks first, then each regional family with
    its regions in French-name order (accents folded)."""
    national = [d for d in decks if not d["region"]]
    regional: dict[str, list[dict]] = {}
    for d in decks:
        if d["region"]:
            regional.setdefault(d["deck"], []).append(d)
    groups = [{"national": True, "decks": national}] if national else []
    for deck in sorted(regional, key=lambda k: (fold(regional[k][0]["family"]), k)):
        members = sorted(regional[deck], key=lambda d: (fold(d["region_name"]), d["region"]))
        issuers = {d["issuer"] for d in members if not d["missing"]}
        made = [g for _, g in sorted((d["produced"], d["generated"]) for d in members if d.get("produced"))]
        about = ([f"produites le {made[0]}" if made[0] == made[-1] else f"produites du {made[0]} au {made[-1]}"]
                 if made else []) + sorted(issuers - {""})
        groups.append({"national": False, "deck": deck, "family": members[0]["family"], "decks": members,
                       "about": " · ".join(about)})
    return groups


def _search_entries(dates: list[dict]) -> dict[str, str]:
    """Element id → folded text the search matches: title, region, date (ISO and French), issuer."""
    entries = {}
    for day in dates:
        for d in day["decks"]:
            words = [d["title"], d["family"], d["region"], d["region_name"], day["iso"], day["date"],
                     day["long_date"], d["issuer"]]
            entries[_element_id(day["iso"], d["name"])] = fold(" ".join(w for w in words if w))
    return entries


def _element_id(iso: str, name: str) -> str:
    return f"k-{iso}-{name}"


def _json_for_script(value: object) -> str:
    """JSON safe inside a ``<script type="application/json">`` element: no ``<``, ``>``, ``&``, and
    (ASCII only) no U+2028/U+2029."""
    text = json.dumps(value, ensure_ascii=True, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: how the page's introduction describes each shipped format (a plug-in's format is named by its link text)
_FORMAT_WORDS = {"HTML": "diaporama HTML (il s'ouvre dans le navigateur, même hors ligne)",
                 "PDF": "PDF (une page par diapositive)", "PPTX": "PowerPoint (modifiable)",
                 "ODP": "OpenDocument (modifiable avec LibreOffice)"}


def _csp_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def render_page(dates: list[dict]) -> str:
    """The readers' index page for ``dates`` (as :func:`collect` gives them): one self-contained HTML file
    that fetches nothing; its only script (filters, search, "Ma région") is allowed by its hash."""
    from esante_report import fonts
    from esante_report.authoring import components
    from esante_report.paths import templates_dir

    folder = templates_dir() / "index"
    css = (folder / "index.css").read_text(encoding="utf-8")
    script = (folder / "index.js").read_text(encoding="utf-8")
    font_css = fonts.font_face_css()
    csp = (f"default-src 'none'; script-src {_csp_source(script)}; "
           f"style-src {_csp_source(font_css)} {_csp_source(css)}; font-src data:; img-src data:; "
           "connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'")
    regions: dict[str, str] = {}
    for d in (d for day in dates for d in day["decks"] if d["region"]):  # newest name first, a real name first
        if regions.get(d["region"], d["region"]) == d["region"]:
            regions[d["region"]] = d["region_name"]
    shown = [{**day, "families": _families([{**d, "id": _element_id(day["iso"], d["name"])} for d in day["decks"]])}
             for day in dates]
    present = {f["format"] for day in dates for d in day["decks"] for f in d["files"]}
    formats = [_FORMAT_WORDS.get(code, text) for code, text in reader_formats().values() if code in present]
    return components.render(
        "index.html.j2", dates=shown, font_css=font_css, css=css, script=script, csp=csp,
        regions=[{"abbr": a, "name": n} for a, n in sorted(regions.items(), key=lambda r: (fold(r[1]), r[0]))],
        formats=formats, search=_json_for_script(_search_entries(dates)), feed=FEED_NAME,
        generated=_generated()).html


def _generated() -> str:
    epoch = source_date_epoch()
    return _local_time(epoch) if epoch is not None else dt.datetime.now().strftime("%d/%m/%Y à %H:%M")


def write_index(out_dir: Path, *, force: bool = True) -> Path | None:
    """Write ``<out>/index.html`` (offline, house style) and its Atom feed ``<out>/feed.xml``; return the
    page's path.

    Without ``force``, both are left as they are (and None returned) when the decks they
    list have not changed since they were written.
    """
    out_dir = outfs.prepare_out(Path(out_dir))
    target = out_dir / "index.html"
    with outfs.locked(out_dir):
        dates = collect(out_dir)
        digest = hashlib.sha256(json.dumps(dates, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        stamp = out_dir / cache.CACHE_DIR / _INDEX_STAMP
        if not force and _plain(target, "file") and _plain(out_dir / FEED_NAME, "file"):
            try:
                if json.loads(stamp.read_text(encoding="utf-8")).get("digest") == digest:
                    return None
            except (OSError, ValueError, AttributeError):
                pass
        outfs.write_text(target, render_page(dates))
        write_feed(out_dir / FEED_NAME, dates)
        outfs.safe_dir(out_dir / cache.CACHE_DIR)
        outfs.write_text(stamp, json.dumps({"digest": digest}))
    return target
