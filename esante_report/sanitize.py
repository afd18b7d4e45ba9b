"""Last line of defence for everything placed on a slide: an allow-list HTML rewriter.

Slide content is built from escaped templates, but it also comes from cell
outputs (DataFrame HTML, SVG charts, an analyst's HTML). Before it reaches a
deck, every fragment goes through :func:`clean`, which rebuilds the markup and

- drops elements that run code, load or embed anything (``script``, ``iframe``,
  ``object``, ``embed``, ``link``, ``meta``, ``base``, ``form`` and friends),
  with their content;
- drops every event-handler attribute (``on*``), ``rel`` (PDF attachments),
  ``srcset``, ``formaction`` and ``style`` values that load a URL;
- keeps links only to ``http(s):``, ``mailto:``, ``tel:`` and in-page ``#``
  anchors, and images only as ``data:image/…`` URIs.

So a distributed deck never carries a script, a remote load or a local file,
whatever a data value or an output contains.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

__all__ = ["clean", "safe_href"]

_DROP_WITH_CONTENT = frozenset({
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript", "template", "textarea",
    "select", "form", "button", "input", "audio", "video", "source", "track", "portal", "foreignobject",
    "title", "animate", "set", "animatemotion", "animatetransform", "animatecolor", "discard", "handler",
    "listener",
})
_DROP_TAG_ONLY = frozenset({"link", "meta", "base", "html", "head", "body"})
_VOID = frozenset({"area", "br", "col", "hr", "img", "wbr", "param"})
_URL_ATTRS = frozenset({"href", "xlink:href", "src", "action", "data", "poster", "background", "cite",
                        "longdesc", "usemap", "codebase", "manifest", "ping", "formaction", "lowsrc", "dynsrc"})
_DROP_ATTRS = frozenset({"rel", "srcset", "imagesrcset", "formaction", "http-equiv", "target"})
_LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")
# a CSS url() is allowed only to an in-page reference (SVG clip paths, hatch patterns: url(#id));
# CSS escapes (\75 rl) and image-set() could hide a remote load: refused outright
_CSS_URL = re.compile(r"url\s*\(\s*['\"]?(?!#)|@import|expression\s*\(|javascript:|behavior\s*:|\\|image-set|"
                      r"-moz-binding", re.I)
# control characters and spaces that browsers ignore inside a URL scheme ("jav\tascript:")
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")


def safe_href(url: str | None) -> str | None:
    """``url`` when it is an http(s), mailto or tel link or an in-page anchor; None otherwise."""
    if not isinstance(url, str):
        return None
    squeezed = _URL_NOISE.sub("", url).lower()
    if squeezed.startswith(_LINK_SCHEMES) or (squeezed.startswith("#") and ":" not in squeezed):
        return url.strip()
    return None


def _safe_src(url: str) -> str | None:
    squeezed = _URL_NOISE.sub("", url).lower()
    if squeezed.startswith("data:image/") and not squeezed.startswith("data:image/svg"):
        return url.strip()
    if squeezed.startswith("#") and ":" not in squeezed:  # SVG <use xlink:href="#id">
        return url.strip()
    return None


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip_depth = 0          # > 0 inside a dropped element
        self.skip_tag: str | None = None
        self.in_style = False

    # -- tags
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]], closing: bool = False) -> None:
        if self.skip_depth:
            if tag == self.skip_tag and not closing:
                self.skip_depth += 1
            return
        if tag in _DROP_WITH_CONTENT:
            if not closing and tag not in _VOID:
                self.skip_depth, self.skip_tag = 1, tag
            return
        if tag in _DROP_TAG_ONLY:
            return
        kept = []
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on") or name in _DROP_ATTRS or not re.fullmatch(r"[a-z_:][-a-z0-9_:.]*", name):
                continue
            value = "" if value is None else value
            if name in _URL_ATTRS:
                value = (safe_href(value) if name in ("href", "xlink:href") and tag == "a" else
                         _safe_src(value) if name in ("src", "xlink:href", "href") else None)
                if value is None:
                    continue
            text_only = name.startswith("aria-") or name in ("alt", "title")  # never read as CSS or a URL
            if not text_only and (name == "style" or "url(" in value.lower() or "\\" in value) \
                    and _CSS_URL.search(value):
                continue  # also SVG presentation attributes: fill="url(http://…)"
            kept.append(f' {name}="{escape(value, quote=True)}"')
        self.out.append(f"<{tag}{''.join(kept)}{' /' if closing else ''}>")
        if tag == "style" and not closing:
            self.in_style = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs, closing=True)

    def handle_endtag(self, tag: str) -> None:
        if self.skip_depth:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if not self.skip_depth:
                    self.skip_tag = None
            return
        if tag in _DROP_WITH_CONTENT or tag in _DROP_TAG_ONLY or tag in _VOID:
            return
        if tag == "style":
            self.in_style = False
        self.out.append(f"</{tag}>")

    # -- text
    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.in_style:  # CSS inside <style> (matplotlib SVG): no URL, import or script
            if not _CSS_URL.search(data):
                self.out.append(data.replace("<", ""))
            return
        self.out.append(escape(data, quote=False))

    def handle_comment(self, data: str) -> None:
        return None

    def handle_decl(self, decl: str) -> None:
        return None

    def handle_pi(self, data: str) -> None:
        return None

    def unknown_decl(self, data: str) -> None:
        return None


def clean(html: str) -> str:
    """``html`` rebuilt with only inert markup (see the module docstring)."""
    parser = _Cleaner()
    parser.feed(html)
    parser.close()
    return "".join(parser.out)
