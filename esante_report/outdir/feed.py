"""The Atom feed ``<out>/feed.xml`` (RFC 4287): one entry per deck and date, newest date first.

Readers subscribe to it to hear of a new deck. An entry gives the deck's title, region, date, issuer, a
link to its HTML deck and when it was produced. Links are relative to the feed (it sits next to
``index.html``), or absolute under ``base``: ``publish`` passes the target's ``public_url``. Built with
ElementTree, so titles, regions and issuers from data are escaped.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

from esante_report.outdir import fs as outfs
from esante_report.outdir.versions import source_date_epoch

__all__ = ["FEED_NAME", "render_feed", "write_feed"]

FEED_NAME = "feed.xml"
_ATOM = "http://www.w3.org/2005/Atom"
_TITLE = "Présentations e-santé publiées"
_GENERATOR = "esante-report"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _link(base: str, href: str) -> str:
    url = quote(href)
    return base.rstrip("/") + "/" + url if base else url


def _entry_id(base: str, iso: str, name: str) -> str:
    """A stable id for one deck of one date (the same on every run, whatever the files' times)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"esante-report:{base}|{iso}/{name}").urn


def _now() -> str:
    epoch = source_date_epoch()
    utc = dt.timezone.utc
    moment = dt.datetime.fromtimestamp(epoch, utc) if epoch is not None else dt.datetime.now(utc)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _xml_chars(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (control characters from data)."""
    return _NOT_XML.sub("", text)


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{_ATOM}}}{tag}", attrs)
    element.text = _xml_chars(text)
    return element


def render_feed(dates: list[dict], base: str = "") -> bytes:
    """The feed of ``dates`` (as :func:`esante_report.outdir.index.collect` gives them), UTF-8 XML.

    ``base`` (an ``http(s)://`` address of the folder holding the feed) makes the links absolute;
    anything else is ignored and links stay relative.
    """
    base = base.strip() if base.strip().lower().startswith(("https://", "http://")) else ""
    ET.register_namespace("", _ATOM)
    feed = ET.Element(f"{{{_ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "fr"})
    _text(feed, "id", uuid.uuid5(uuid.NAMESPACE_URL, f"esante-report:{base}|feed").urn)
    _text(feed, "title", _TITLE)
    _text(feed, "subtitle", "Une entrée par présentation et par date de référence, la plus récente en premier.")
    updated = _text(feed, "updated", "")
    author = ET.SubElement(feed, f"{{{_ATOM}}}author")
    _text(author, "name", _GENERATOR)
    _text(feed, "generator", _GENERATOR)
    ET.SubElement(feed, f"{{{_ATOM}}}link", {"rel": "alternate", "type": "text/html",
                                             "href": _link(base, "index.html")})
    if base:
        ET.SubElement(feed, f"{{{_ATOM}}}link", {"rel": "self", "type": "application/atom+xml",
                                                 "href": _link(base, FEED_NAME)})
    times = []
    for day in dates:
        for deck in day["decks"]:
            if deck["missing"] or not deck["files"]:
                continue
            produced = deck.get("produced") or f"{day['iso']}T00:00:00Z"
            times.append(produced)
            entry = ET.SubElement(feed, f"{{{_ATOM}}}entry")
            _text(entry, "id", _entry_id(base, day["iso"], deck["name"]))
            _text(entry, "title", f"{deck['title']} — {day['long_date']}")
            _text(entry, "updated", produced)
            if deck.get("issuer"):
                _text(ET.SubElement(entry, f"{{{_ATOM}}}author"), "name", deck["issuer"])
            html = next((f for f in deck["files"] if f["href"].endswith(".html")), deck["files"][0])
            link = {"rel": "alternate", "href": _link(base, html["href"])}
            ET.SubElement(entry, f"{{{_ATOM}}}link", {**link, "type": "text/html"} if html["href"].endswith(".html")
                          else link)
            for file in deck["files"]:
                if file is not html:
                    label = f"{file['text']} ({file['format']}, {file['size']})"
                    ET.SubElement(entry, f"{{{_ATOM}}}link", {"rel": "related", "href": _link(base, file["href"]),
                                                              "title": _xml_chars(label)})
            if deck["region"]:
                ET.SubElement(entry, f"{{{_ATOM}}}category", {"term": deck["region"],
                                                              "label": _xml_chars(deck["region_name"])})
            where = f"Région : {deck['region_name']}" if deck["region"] else "France entière"
            formats = ", ".join(f"{f['text']} ({f['format']}, {f['size']})" for f in deck["files"])
            _text(entry, "summary", f"Date de référence : {day['long_date']}. {where}. Formats : {formats}.",
                  type="text")
    updated.text = max(times) if times else _now()
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def write_feed(target: Path, dates: list[dict], base: str = "") -> Path:
    """Write :func:`render_feed` to ``target`` (atomically, no link followed)."""
    return outfs.write_bytes(Path(target), render_feed(dates, base))
