"""The rendered HTML decks and the distribution page, driven in headless Chromium (Playwright).

Everything is loaded from file:// only: any other request is aborted and fails the test.
Without Chromium the tests are skipped, unless ESANTE_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest

from . import _browser as b

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from esante_report.pipeline.render import RenderedDeck

pytestmark = pytest.mark.browser

DECK_NAMES = ["post_covid", "catalogue"]


@dataclass
class DeckPage:
    """One rendered deck open in a fresh browser page."""

    name: str
    deck: RenderedDeck
    page: Page
    recorder: b.Recorder

    @property
    def total(self) -> int:
        return int(self.page.evaluate("() => Reveal.getTotalSlides()"))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module."""
    from . import _browser

    yield from _browser.launched_browser()


def _open(browser: Browser, url: str) -> tuple[Page, b.Recorder]:
    """A new 1280×720 page, recorded and offline-routed, loading ``url``."""
    page = browser.new_page(viewport=b.VIEWPORT)
    recorder = b.Recorder()
    recorder.attach(page)
    page.goto(url)
    return page, recorder


@pytest.fixture(params=DECK_NAMES)
def deck_page(request: pytest.FixtureRequest, browser: Browser, rendered: dict[str, Any]) -> Iterator[DeckPage]:
    """A rendered HTML deck, freshly loaded and initialised; fails if it ever requested a non-local URL."""
    deck: RenderedDeck = rendered[request.param]
    page, recorder = _open(browser, deck.html.as_uri())
    try:
        b.wait_until_ready(page)
        yield DeckPage(request.param, deck, page, recorder)
    finally:
        page.close()
    if recorder.blocked_requests:
        pytest.fail(b.report(f"{request.param}: non-local requests attempted", recorder.blocked_requests))


@pytest.fixture(scope="module")
def pdf_text(rendered: dict[str, Any]) -> dict[str, list[str]]:
    """The text of every PDF page of each deck (pdfplumber)."""
    return {name: b.pdf_pages(rendered[name].pdf) for name in DECK_NAMES}


# --------------------------------------------------------------------------- decks


def test_reveal_initialises_with_one_slide_per_pdf_page(deck_page: DeckPage, pdf_text: dict[str, list[str]]) -> None:
    """reveal.js is ready and has as many slides as the PDF has pages and the deck has sections."""
    page = deck_page.page
    assert page.evaluate("() => Reveal.isReady()") is True
    sections = page.locator(b.SLIDES).count()
    pages = len(pdf_text[deck_page.name])
    assert deck_page.total == pages == sections == deck_page.deck.slides, (
        f"{deck_page.name}: reveal.js {deck_page.total} slides, PDF {pages} pages, "
        f"{sections} section.esr-slide, render reported {deck_page.deck.slides}")


def test_arrow_right_goes_to_the_second_slide(deck_page: DeckPage) -> None:
    """ArrowRight on slide 1 shows slide 2, whose footer reads "2 / N"."""
    page = deck_page.page
    assert page.evaluate("() => Reveal.getIndices().h") == 0
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => Reveal.getIndices().h === 1")
    assert page.locator(f"{b.PRESENT} .esr-footer .esr-pageno").inner_text().strip() == f"2 / {deck_page.total}"


def test_loads_offline_without_errors(deck_page: DeckPage) -> None:
    """Walking every slide and opening every data table makes no error and no non-local request."""
    page = deck_page.page
    for i in range(deck_page.total):
        b.show_slide(page, i)
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    b.next_frame(page)
    problems = deck_page.recorder.problems()
    assert not problems, b.report(f"{deck_page.name}: page problems", problems)


def test_screenshot_of_every_slide(deck_page: DeckPage) -> None:
    """A 1280×720 PNG of every slide in test-artifacts/screenshots/<deck>/slide-NN.png."""
    folder = b.SCREENSHOTS / deck_page.name
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("slide-*.png"):
        stale.unlink()
    for i in range(deck_page.total):
        b.show_slide(deck_page.page, i)
        target = folder / f"slide-{i + 1:02d}.png"
        deck_page.page.screenshot(path=str(target))
        assert b.png_size(target) == (1280, 720), target


def test_no_slide_overflows(deck_page: DeckPage) -> None:
    """On every slide the body does not scroll and no visible element leaves the 1280×720 slide."""
    found: list[b.Overflow] = []
    for i in range(deck_page.total):
        b.show_slide(deck_page.page, i)
        found += b.overflows(deck_page.page, i + 1)
    assert not found, b.report(f"{deck_page.name}: content overflows its slide", found)


def test_text_contrast_meets_wcag_aa(deck_page: DeckPage) -> None:
    """Every visible text of every slide (outside charts and notes) has a WCAG AA contrast ratio."""
    found: list[str] = []
    for i in range(deck_page.total):
        b.show_slide(deck_page.page, i)
        found += b.contrast_offenders(deck_page.page, i + 1)
    assert not found, b.report(f"{deck_page.name}: text below WCAG AA contrast", found)


def test_language_and_chart_labels(deck_page: DeckPage) -> None:
    """The deck is in French and every chart has a text alternative that states figures."""
    page = deck_page.page
    assert page.evaluate("() => document.documentElement.lang") == "fr"
    labels: list[str | None] = page.eval_on_selector_all(
        "[role=img]", "els => els.map(e => e.getAttribute('aria-label'))")
    assert labels, f"{deck_page.name}: no [role=img] element"
    bad = [repr(label) for label in labels
           if not label or len(label.strip()) < 40 or not any(c.isdigit() for c in label)]
    assert not bad, b.report(f"{deck_page.name}: aria-label shorter than 40 characters or without a figure", bad)


def test_chart_data_tables_are_off_the_projected_slide_yet_reachable(deck_page: DeckPage) -> None:
    """Each chart's data table is never drawn on the projected slide, yet a keyboard or screen reader
    user reaches it: its "Données du graphique" summary takes the focus and Enter opens it."""
    page = deck_page.page
    slides: list[int] = page.eval_on_selector_all(
        "details.esr-data",
        """(els) => {
             const all = Array.from(document.querySelectorAll('.reveal .slides > section.esr-slide'));
             return els.filter(d => d.querySelector('table')).map(d => all.indexOf(d.closest('section.esr-slide')));
           }""")
    assert slides, f"{deck_page.name}: no details.esr-data table (chart data unreachable)"
    for i in sorted(set(slides)):
        b.show_slide(page, i)
        for details in page.locator(f"{b.PRESENT} details.esr-data").all():
            box = details.bounding_box()
            assert box is None or (box["width"] <= 1 and box["height"] <= 1), (
                f"{deck_page.name} slide {i + 1}: 'Données du graphique' drawn on the projected slide ({box})")
            summary = details.locator("summary")
            summary.focus()
            assert page.evaluate("s => document.activeElement === s", summary.element_handle())
            page.keyboard.press("Enter")
            page.wait_for_function("d => d.open", arg=details.element_handle())
            rows = details.locator("table tr").count()
            assert rows > 1, f"{deck_page.name} slide {i + 1}: data table without rows"
            page.keyboard.press("Enter")
            page.wait_for_function("d => !d.open", arg=details.element_handle())


def test_speaker_notes_stay_out_of_the_pdf(rendered: dict[str, Any], browser: Browser,
                                           pdf_text: dict[str, list[str]]) -> None:
    """The post-COVID deck carries speaker notes (notes plugin on), and the PDF does not print them."""
    deck: RenderedDeck = rendered["post_covid"]
    page, recorder = _open(browser, deck.html.as_uri())
    try:
        b.wait_until_ready(page)
        assert page.locator("aside.notes").count() >= 1, "post_covid: no aside.notes in the HTML deck"
        assert page.evaluate("() => Reveal.hasPlugin('notes')") is True
        note = b.normalise_space(page.locator("aside.notes").first.text_content() or "")
    finally:
        page.close()
    assert note, "post_covid: the first speaker note is empty"
    pdf = " ".join(pdf_text["post_covid"])
    assert note not in pdf, f"post_covid: the speaker note {note!r} is printed in the PDF"
    assert not recorder.blocked_requests, b.report("post_covid: non-local requests", recorder.blocked_requests)


def test_speaker_view_opens_offline_with_the_notes(rendered: dict[str, Any], browser: Browser) -> None:
    """Pressing S opens reveal's speaker view (no network) and it shows the current slide's notes."""
    deck: RenderedDeck = rendered["post_covid"]
    context = browser.new_context(viewport=b.VIEWPORT)
    recorder = b.Recorder()
    context.route("**/*", recorder._route)
    page = context.new_page()
    recorder.attach(page)
    try:
        page.goto(deck.html.as_uri())
        b.wait_until_ready(page)
        expected = b.normalise_space(page.locator("section.esr-slide").first.locator("aside.notes").text_content() or "")
        assert expected, "post_covid: the first slide has no speaker notes"
        with context.expect_page() as popup_info:
            page.keyboard.press("s")
        popup = popup_info.value
        notes = ".speaker-controls-notes .value"
        popup.wait_for_function(f"() => ((document.querySelector('{notes}') || {{}}).textContent || '').trim()",
                                timeout=15_000)
        shown = b.normalise_space(popup.locator(notes).text_content() or "")
        assert expected in shown, f"speaker view shows {shown!r}, expected the notes {expected!r}"
    finally:
        context.close()
    assert not recorder.blocked_requests, b.report("speaker view: non-local requests", recorder.blocked_requests)


# --------------------------------------------------------------------------- distribution page


def test_distribution_page(rendered: dict[str, Any], browser: Browser) -> None:
    """index.html loads offline, is in French, links both decks to files on disk, newest date first."""
    index: Path = rendered["out"] / "index.html"
    page, recorder = _open(browser, index.as_uri())
    try:
        page.wait_for_load_state("load")
        lang = page.evaluate("() => document.documentElement.lang")
        hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))")
        dates: list[str] = page.eval_on_selector_all(
            ".idx-date time[datetime]", "els => els.map(t => t.getAttribute('datetime'))")
    finally:
        page.close()
    problems = recorder.problems()
    assert not problems, b.report("index.html: page problems", problems)
    assert lang == "fr"

    targets = {href: (index.parent / unquote(urlsplit(href).path)).resolve() for href in hrefs}
    missing = [f"{href} -> {path}" for href, path in targets.items() if not path.exists()]
    assert not missing, b.report("index.html: links to missing files", missing)
    linked = set(targets.values())
    for name in DECK_NAMES:
        deck: RenderedDeck = rendered[name]
        assert deck.html.resolve() in linked, f"index.html: no link to {deck.html}"
        assert deck.pdf.resolve() in linked, f"index.html: no link to {deck.pdf}"

    assert "2021-11-15" in dates and "2020-12-08" in dates, dates
    assert dates.index("2021-11-15") < dates.index("2020-12-08"), f"newest date not first: {dates}"
    assert dates == sorted(dates, reverse=True), f"dates not newest first: {dates}"
