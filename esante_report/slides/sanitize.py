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
  anchors, and images only as ``data:image/…`` URIs;
- drops every ``<style>`` element (a style sheet reaches the whole deck) and,
  in ``style`` attributes, keeps only an allow-list of properties that cannot
  move an element out of its slide (no ``position``, ``z-index``, ``transform``,
  negative margins, ``content``…); matplotlib's one SVG rule becomes
  presentation attributes of its ``<svg>``;
- drops ``<section>`` tags (reveal.js would take them for slides) and the
  class names of reveal.js's own structure (``slides``, ``present``,
  ``backgrounds``…) so that an output cannot take a slide's place;
- balances the markup: an end tag with no open element in the fragment is
  dropped and every element left open is closed, so a fragment stays inside
  the slide it is placed on.

So a distributed deck never carries a script, a remote load or a local file,
and no output restyles or covers another slide, whatever a data value or an
output contains. The rewriter is linear in the size of its input.

:func:`xml_text` is the one filter for text that reaches an XML format (the HTML and PDF decks, PowerPoint,
Impress, PDF metadata): control characters and lone surrogates out, length bounded where a format caps it.
:func:`text_problem` says why a value given for such a text (a title, an issuer) is refused.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from esante_report.errors import quote

__all__ = ["clean", "safe_href", "xml_text", "text_problem"]

_DROP_WITH_CONTENT = frozenset({
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript", "template", "textarea",
    "select", "form", "button", "input", "audio", "video", "source", "track", "portal", "foreignobject",
    "title", "animate", "set", "animatemotion", "animatetransform", "animatecolor", "discard", "handler",
    "listener", "style",
})
# <section> in a slide makes reveal.js read the slide as a stack of vertical slides and hide it
_DROP_TAG_ONLY = frozenset({"link", "meta", "base", "html", "head", "body", "dialog", "section"})
#: how far up the open elements an end tag looks for its start tag (keeps the rewriter linear)
_MAX_SEARCH = 64
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
#: CSS properties a ``style`` attribute may set: colours, type, boxes in the flow, SVG painting. Nothing that
#: takes an element out of the flow (position, inset, z-index, float), moves it (transform, translate…),
#: generates content or animates.
_STYLE_PROPERTIES = frozenset({
    "color", "background", "background-color", "opacity", "visibility", "display",
    "font", "font-family", "font-size", "font-style", "font-weight", "font-variant", "font-stretch",
    "font-variant-numeric", "line-height", "letter-spacing", "word-spacing", "white-space", "word-break",
    "overflow-wrap", "hyphens", "text-align", "text-decoration", "text-transform", "text-indent",
    "vertical-align", "direction",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-width", "border-style",
    "border-color", "border-collapse", "border-spacing", "border-radius",
    "border-top-width", "border-bottom-width", "border-left-width", "border-right-width",
    "border-top-color", "border-bottom-color", "border-left-color", "border-right-color",
    "border-top-style", "border-bottom-style", "border-left-style", "border-right-style",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "width", "height", "min-width", "min-height", "max-width", "max-height", "box-sizing",
    "flex", "flex-grow", "flex-shrink", "flex-basis", "flex-direction", "flex-wrap", "gap", "align-items",
    "justify-content", "align-self", "table-layout", "caption-side", "list-style", "list-style-type",
    # SVG painting (matplotlib writes these in style attributes)
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin",
    "stroke-opacity", "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit", "clip-path", "clip-rule",
    "mask", "text-anchor", "dominant-baseline", "alignment-baseline", "baseline-shift", "paint-order",
    "shape-rendering", "text-rendering", "vector-effect", "stop-color", "stop-opacity", "font-kerning",
})
#: values that are never kept: nested blocks, markup, and functions that compute or reach outside
_STYLE_BAD_VALUE = re.compile(r"[{}<>@\\]|\b(?:expression|var|env|attr|calc|min|max|clamp)\s*\(|!\s*important|"
                             r"\d\s*(?:vw|vh|vmin|vmax|dvh|dvw|svh|svw|lvh|lvw|vi|vb)\b", re.I)  # viewport units
#: a box property with a negative length pulls the element over its neighbours or out of its slide
_NEGATIVE = re.compile(r"(?:^|[\s(,])-\s*[\d.]")
#: class names of reveal.js's own structure: an output wearing them would be styled (and moved) as a slide
_RESERVED_CLASSES = frozenset({
    "reveal", "reveal-viewport", "slides", "present", "past", "future", "stack", "backgrounds",
    "slide-background", "slide-background-content", "controls", "progress", "slide-number", "pause-overlay",
    "overlay", "speaker-notes", "notes", "fragment", "visible", "esr-slide", "r-overlay", "r-stretch",
    "aria-status",
})
#: the one rule of every matplotlib SVG, kept as presentation attributes of its <svg> (they inherit)
_MPL_SVG_RULE = re.compile(r"\*\s*\{\s*stroke-linejoin:\s*round;\s*stroke-linecap:\s*butt;?\s*\}")


#: what no XML document may hold (XML 1.0, section 2.2: C0 controls but tab, line feed and carriage return; lone
#: surrogates; U+FFFE, U+FFFF) and the C1 controls, which are never text a reader should see
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
#: vertical tab and form feed separate words: they become a space; a lone surrogate becomes U+FFFD, the rest goes
_NOT_TEXT_AS = {"\x0b": " ", "\x0c": " "}


def _not_text_as(match: re.Match) -> str:
    char = match.group(0)
    return _NOT_TEXT_AS.get(char, "\ufffd" if "\ud800" <= char <= "\udfff" else "")


def xml_text(value: object, limit: int | None = None) -> str:
    """``value`` as text that every XML format holds (HTML, PowerPoint, Impress, PDF metadata).

    Vertical tab and form feed become a space, a lone surrogate (from a notebook's JSON escapes) the
    replacement character U+FFFD, and the other control characters are dropped. With ``limit``, a longer
    text is cut to ``limit`` characters, the last one an ellipsis (PowerPoint's document properties hold
    255 characters).
    """
    text = value if isinstance(value, str) else str(value)
    text = _NOT_TEXT.sub(_not_text_as, text)
    if limit is not None and len(text) > limit:
        text = text[:max(0, limit - 1)].rstrip() + "…"
    return text


def text_problem(value: object, limit: int | None = None) -> str | None:
    """Why ``value`` cannot be a one-line text (a title, an issuer) of at most ``limit`` characters; None if it can.

    The message quotes at most a prefix of the value, never the whole of it.
    """
    if not isinstance(value, str) or not value.strip():
        most = f" of at most {limit} characters" if limit is not None else ""
        return f"expected text{most}, got {quote(value) if value else 'nothing'}"
    bad = _NOT_TEXT.search(value) or re.search(r"[\n\r\t]", value)
    if bad:
        char = bad.group(0)
        what = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "the control character"
        return f"expected plain text on one line, got {what} {char!r} at position {bad.start() + 1} of {quote(value, 40)}"
    if limit is not None and len(value.strip()) > limit:
        return f"expected at most {limit} characters, got {quote(value.strip(), 40)}"
    return None


def safe_style(value: str) -> str:
    """The declarations of a ``style`` attribute that keep an element in the flow of its own slide."""
    kept = []
    for declaration in value.split(";"):
        name, sep, val = declaration.partition(":")
        name, val = name.strip().lower(), val.strip()
        if not sep or not val or name not in _STYLE_PROPERTIES or _STYLE_BAD_VALUE.search(val):
            continue
        if val.count('"') % 2 or val.count("'") % 2:
            continue
        if (name.startswith(("margin", "padding", "width", "height", "min-", "max-", "flex", "gap", "border"))
                and _NEGATIVE.search(val)):
            continue
        kept.append(f"{name}: {val}")
    return "; ".join(kept)


def safe_href(url: str | None) -> str | None:
    """``url`` when it is an http(s), mailto or tel link; None otherwise. The one link allow-list: slides, the
    editable decks and the components use it. An in-page anchor is refused too: a slide has no target for it
    (Markdown's ``#harmful-link`` included), and a link leading nowhere is no link in the PDF's structure."""
    if not isinstance(url, str):
        return None
    squeezed = _URL_NOISE.sub("", url).lower()
    if squeezed.startswith(_LINK_SCHEMES):
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
        self.skipped: list[str] = []  # text of a dropped <style> (matplotlib's rule is kept as attributes)
        self.open: list[tuple[str, int]] = []  # elements open in the fragment: (tag, index of its start tag)
        self.renamed: set[int] = set()  # start tags written as <span> (an <a> without a safe target)

    # -- tags
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]], closing: bool = False) -> None:
        if self.skip_depth:
            if tag == self.skip_tag and not closing:
                self.skip_depth += 1
            return
        if tag in _DROP_WITH_CONTENT:
            if not closing and tag not in _VOID:
                self.skip_depth, self.skip_tag = 1, tag
                self.skipped = []
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
            if name == "style":
                value = safe_style(value)
                if not value:
                    continue
            elif name == "class":
                value = " ".join(c for c in value.split() if c.lower() not in _RESERVED_CLASSES)
                if not value:
                    continue
            kept.append(f' {name}="{escape(value, quote=True)}"')
        if tag == "img" and not any(k.startswith(" src=") for k in kept):
            return  # its source was refused: nothing to show
        if tag == "a" and not any(k.startswith(" href=") for k in kept):
            # a link whose target was refused (or that had none) is its text: an <a> leading nowhere is a
            # link without an annotation in the PDF (PDF/UA), and a dead link on screen
            kept = [k for k in kept if not k.startswith((" href=", " target="))]
            if not closing:
                self.open.append(("a", len(self.out)))
                self.renamed.add(len(self.out))
            self.out.append(f"<span{''.join(kept)}{' /' if closing else ''}>")
            return
        if not closing and tag not in _VOID:
            self.open.append((tag, len(self.out)))
        self.out.append(f"<{tag}{''.join(kept)}{' /' if closing else ''}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs, closing=True)

    def handle_endtag(self, tag: str) -> None:
        if self.skip_depth:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if not self.skip_depth:
                    self.skip_tag = None
                    if tag == "style":
                        self._matplotlib_rule("".join(self.skipped))
            return
        if tag in _DROP_WITH_CONTENT or tag in _DROP_TAG_ONLY or tag in _VOID:
            return
        # close up to the matching open element; an end tag with none open in the fragment is dropped
        for depth in range(len(self.open) - 1, max(-1, len(self.open) - 1 - _MAX_SEARCH), -1):
            if self.open[depth][0] == tag:
                for open_tag, index in reversed(self.open[depth:]):
                    self.out.append("</span>" if index in self.renamed else f"</{open_tag}>")
                del self.open[depth:]
                return

    def _matplotlib_rule(self, css: str) -> None:
        if not _MPL_SVG_RULE.fullmatch(css.strip()):
            return
        svg = next((index for tag, index in reversed(self.open) if tag == "svg"), None)
        if svg is not None and "stroke-linejoin=" not in self.out[svg]:
            self.out[svg] = self.out[svg][:4] + ' stroke-linejoin="round" stroke-linecap="butt"' + self.out[svg][4:]

    def close(self) -> None:
        super().close()
        for tag, index in reversed(self.open):
            self.out.append("</span>" if index in self.renamed else f"</{tag}>")
        self.open = []

    # -- text
    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            if self.skip_tag == "style" and len(self.skipped) < 8:
                self.skipped.append(data)
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
