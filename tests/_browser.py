"""Helpers for the browser tests: launching Chromium offline, recording what a page does,
walking reveal.js slides, measuring overflow and computing WCAG contrast ratios."""

from __future__ import annotations

import os
import re
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page, Request, Route

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1280, "height": 720}
REQUIRE_ENV = "ESANTE_REQUIRE_BROWSER"

#: the slides of a deck, in order (reveal.js keeps them directly under .reveal .slides)
SLIDES = ".reveal .slides > section.esr-slide"
#: the slide reveal.js currently shows
PRESENT = ".reveal .slides > section.esr-slide.present"


# --------------------------------------------------------------------------- availability


def no_browser(reason: str) -> NoReturn:
    """Skip the browser tests, or fail them when the environment requires a browser (CI)."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_ENV}=1 requires the browser tests to run "
                    "(install the Debian package 'chromium': .ci/system-deps test)", pytrace=False)
    pytest.skip(reason)


def chromium_executable() -> str | None:
    """Debian's Chromium, or whatever `chromium` is on PATH; None when there is none."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


# --------------------------------------------------------------------------- page activity


def _is_local(url: str) -> bool:
    return url.startswith(("file://", "data:"))


@dataclass
class Recorder:
    """What a page did wrong: console errors, page errors, failed and blocked (non-local) requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        """Route every request of ``page`` (aborting non-local ones) and listen to its errors."""
        page.route("**/*", self._route)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("requestfailed", self._failed)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if _is_local(url):
            route.continue_()
        else:
            self.blocked_requests.append(url)
            route.abort("blockedbyclient")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _failed(self, request: Request) -> None:
        if _is_local(request.url):  # aborted non-local requests are reported as blocked already
            self.failed_requests.append(f"{request.url[:200]}: {request.failure}")

    def problems(self) -> list[str]:
        """Every recorded problem, one line each."""
        return ([f"non-local request attempted: {u}" for u in self.blocked_requests]
                + [f"console error: {m}" for m in self.console_errors]
                + [f"page error: {m}" for m in self.page_errors]
                + [f"request failed: {m}" for m in self.failed_requests])


# --------------------------------------------------------------------------- reveal.js


def wait_until_ready(page: Page) -> None:
    """Wait until reveal.js is initialised and the embedded fonts are loaded."""
    page.wait_for_function("() => window.Reveal !== undefined && Reveal.isReady()")
    page.evaluate("() => document.fonts.ready.then(() => true)")


def next_frame(page: Page) -> None:
    """Let the browser lay out and paint once more."""
    page.evaluate("() => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)))")


def show_slide(page: Page, index: int) -> None:
    """Show slide ``index`` (0-based) and wait until it is the present, laid-out slide."""
    page.evaluate("i => Reveal.slide(i)", index)
    page.wait_for_function(
        """i => Reveal.getIndices().h === i
              && document.querySelector('.reveal .slides > section.present')
                 === document.querySelectorAll('.reveal .slides > section.esr-slide')[i]""",
        arg=index)
    next_frame(page)


# --------------------------------------------------------------------------- overflow

#: offenders of the present slide: its body scrolls, or a visible descendant of the body leaves the slide
OVERFLOW_JS = """
(tolerance) => {
  const section = document.querySelector('.reveal .slides > section.esr-slide.present');
  const body = section.querySelector('.esr-body');
  const name = el => el.tagName.toLowerCase() + Array.from(el.classList, c => '.' + c).join('');
  const visible = Array.from(body.querySelectorAll('*')).filter(el => {
    if (el.closest('aside.notes')) return false;
    const details = el.closest('details.esr-data');
    if (details && details !== el && !details.open && !el.closest('summary')) return false;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 || r.height > 0;
  });
  const b = body.getBoundingClientRect(), bs = getComputedStyle(body);
  const px = v => Math.round(v * 10) / 10;
  // the visible element whose margin edge lies furthest down (or right): what makes the body scroll
  const furthest = (edge, margin, limit) => {
    let best = null, at = -Infinity;
    for (const el of visible) {
      const e = el.getBoundingClientRect()[edge] + parseFloat(getComputedStyle(el)[margin]);
      if (e > at) { at = e; best = el; }
    }
    return best ? `furthest: ${name(best)}, margin edge ${px(at - limit)} px past the body's content edge` : '';
  };
  const found = [];
  if (body.scrollHeight > body.clientHeight + tolerance)
    found.push({element: name(body), side: 'scroll height', px: body.scrollHeight - body.clientHeight,
                cause: furthest('bottom', 'marginBottom', b.bottom - parseFloat(bs.paddingBottom))});
  if (body.scrollWidth > body.clientWidth + tolerance)
    found.push({element: name(body), side: 'scroll width', px: body.scrollWidth - body.clientWidth,
                cause: furthest('right', 'marginRight', b.right - parseFloat(bs.paddingRight))});
  const s = section.getBoundingClientRect();
  for (const el of visible) {
    const r = el.getBoundingClientRect();
    const sides = {left: s.left - r.left, right: r.right - s.right, top: s.top - r.top, bottom: r.bottom - s.bottom};
    for (const [side, px] of Object.entries(sides))
      if (px > tolerance) found.push({element: name(el), side, px: Math.round(px * 10) / 10, cause: ''});
  }
  return found;
}
"""


@dataclass(frozen=True)
class Overflow:
    slide: int
    element: str
    side: str
    px: float
    cause: str = ""

    def __str__(self) -> str:
        why = f" ({self.cause})" if self.cause else ""
        return f"slide {self.slide}: {self.element} overflows ({self.side}) by {self.px:g} px{why}"


def overflows(page: Page, slide: int, tolerance: float = 1.0) -> list[Overflow]:
    """Overflow offenders of the present slide (numbered ``slide``, 1-based, in reports)."""
    return [Overflow(slide, o["element"], o["side"], float(o["px"]), o["cause"])
            for o in page.evaluate(OVERFLOW_JS, tolerance)]


# --------------------------------------------------------------------------- contrast

#: visible text of the present slide (outside SVG and notes): its colours, size and weight
TEXT_STYLES_JS = """
() => {
  const section = document.querySelector('.reveal .slides > section.esr-slide.present');
  const name = el => el.tagName.toLowerCase() + Array.from(el.classList, c => '.' + c).join('');
  const walker = document.createTreeWalker(section, NodeFilter.SHOW_TEXT);
  const seen = new Map();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.trim()) continue;
    const el = node.parentElement;
    if (el.closest('svg') || el.closest('aside.notes')) continue;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    if (range.getClientRects().length === 0) continue;
    if (seen.has(el)) { seen.get(el).text += ' ' + node.data.trim(); continue; }
    const style = getComputedStyle(el);
    const backgrounds = [];
    for (let a = el; a; a = a.parentElement) {
      const bg = getComputedStyle(a).backgroundColor;
      backgrounds.push(bg);
      if (bg.startsWith('rgb(')) break;  // opaque (Chromium writes rgba() only when alpha < 1)
    }
    seen.set(el, {element: name(el), text: node.data.trim(), color: style.color, backgrounds,
                  fontSize: parseFloat(style.fontSize), fontWeight: parseInt(style.fontWeight, 10)});
  }
  return Array.from(seen.values());
}
"""

RGB = tuple[float, float, float]
_COLOUR = re.compile(r"rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)")


def parse_colour(css: str) -> tuple[RGB, float]:
    """A computed CSS colour ("rgb(...)" / "rgba(...)") as (r, g, b) in 0..255 and alpha in 0..1."""
    m = _COLOUR.fullmatch(css.strip())
    if not m:
        raise ValueError(f"unsupported computed colour: {css!r}")
    alpha = m.group(4)
    a = 1.0 if alpha is None else (float(alpha[:-1]) / 100 if alpha.endswith("%") else float(alpha))
    return (float(m.group(1)), float(m.group(2)), float(m.group(3))), a


def over(top: RGB, alpha: float, below: RGB) -> RGB:
    """``top`` with opacity ``alpha`` composited over the opaque ``below``."""
    return tuple(alpha * t + (1 - alpha) * b for t, b in zip(top, below))  # type: ignore[return-value]


def effective_background(layers: list[str]) -> RGB:
    """The opaque colour behind text, from its element's background up to the root, over white."""
    colour: RGB = (255.0, 255.0, 255.0)
    for css in reversed(layers):
        rgb, alpha = parse_colour(css)
        colour = over(rgb, alpha, colour)
    return colour


def luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance."""
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio of two opaque colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def required_ratio(font_size: float, font_weight: int) -> float:
    """WCAG AA minimum: 3.0 for large text (24 px, or 18.66 px bold), 4.5 otherwise."""
    large = font_size >= 24 or (font_size >= 18.66 and font_weight >= 700)
    return 3.0 if large else 4.5


def _hex(rgb: RGB) -> str:
    return "#" + "".join(f"{round(c):02X}" for c in rgb)


def contrast_offenders(page: Page, slide: int) -> list[str]:
    """Text of the present slide whose contrast is below WCAG AA, one line each."""
    found = []
    for t in page.evaluate(TEXT_STYLES_JS):
        background = effective_background(t["backgrounds"])
        rgb, alpha = parse_colour(t["color"])
        foreground = over(rgb, alpha, background)
        ratio = contrast_ratio(foreground, background)
        need = required_ratio(t["fontSize"], t["fontWeight"])
        if ratio < need:
            text = t["text"] if len(t["text"]) <= 60 else t["text"][:57] + "..."
            found.append(f"slide {slide}: {t['element']} {text!r}: {_hex(foreground)} on {_hex(background)} "
                         f"= {ratio:.2f}:1 < {need}:1 ({t['fontSize']:g} px, weight {t['fontWeight']})")
    return found


# --------------------------------------------------------------------------- visibility

#: is the text ``marker`` on the present slide, visible, and the topmost thing where it is drawn?
TEXT_STATE_JS = """
(marker) => {
  const section = document.querySelector('.reveal .slides > section.esr-slide.present');
  const walker = document.createTreeWalker(section, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.includes(marker)) continue;
    const el = node.parentElement;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) return 'not visible';
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + Math.min(r.width, 20) / 2, r.top + r.height / 2);
    if (!hit || !(el === hit || el.contains(hit) || hit.contains(el)))
      return 'covered by ' + (hit ? hit.outerHTML.slice(0, 120) : 'nothing');
    return 'ok';
  }
  return 'not on the present slide';
}
"""

#: elements drawn over the present slide (at a few points of it) that do not belong to it
COVERING_JS = """
() => {
  const s = document.querySelector('.reveal .slides > section.esr-slide.present');
  const r = s.getBoundingClientRect();
  const points = [[0.5, 0.5], [0.1, 0.2], [0.9, 0.8], [0.5, 0.9], [0.05, 0.03]];
  return points.map(([x, y]) => document.elementFromPoint(r.left + r.width * x, r.top + r.height * y))
               .filter(el => !el || !s.contains(el)).map(el => el ? el.outerHTML.slice(0, 100) : 'none');
}
"""


def text_state(page: Page, marker: str) -> str:
    """'ok' when ``marker`` is shown on the present slide and nothing covers it; what is wrong otherwise."""
    return page.evaluate(TEXT_STATE_JS, marker)


def covering_elements(page: Page) -> list[str]:
    """Elements from outside the present slide that are drawn over it."""
    return page.evaluate(COVERING_JS)


# --------------------------------------------------------------------------- files


def normalise_space(text: str) -> str:
    """Every run of whitespace (no-break spaces included) folded into one space."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def pdf_pages(path: Path) -> list[str]:
    """The text of every page of a PDF (pdfplumber), whitespace normalised."""
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        return [normalise_space(page.extract_text() or "") for page in pdf.pages]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG file, read from its IHDR chunk."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def report(title: str, lines: list[Any], limit: int = 80) -> str:
    """A failure message: a title and one line per offender (at most ``limit``)."""
    shown = [f"  - {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"  ... and {len(lines) - limit} more")
    return "\n".join([f"{title} ({len(lines)}):", *shown])


def launched_browser():
    """One headless Chromium (generator for a module-scoped pytest fixture); skipped, or failed on CI,
    when unavailable."""
    executable = chromium_executable()
    if executable is None:
        no_browser(f"Chromium not found ({CHROMIUM} missing, no 'chromium' on PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        no_browser(f"the Playwright Python package is not installed ({exc})")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
