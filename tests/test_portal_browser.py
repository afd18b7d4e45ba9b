"""The readers' index in headless Chromium, from file:// with the network cut, after the national decks
of both dates and the 18 regional decks of 2021-11-15 are rendered: order, search, "Ma région", feed,
keyboard, small screens, and axe-core (WCAG 2.0/2.1 A and AA) on the index and on every slide of the decks.

Every request the pages make is recorded; anything but a file: URL is aborted and fails the test.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import _browser as b

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

DATE = "2021-11-15"
FAMILY = "Cellules de coordination post-COVID"
#: the 18 regions as a French reader looks them up: by name, accents folded (not by abbreviation)
FRENCH_ORDER = ["Auvergne-Rhône-Alpes", "Bourgogne-Franche-Comté", "Bretagne", "Centre-Val de Loire", "Corse",
                "Grand Est", "Guadeloupe", "Guyane", "Hauts-de-France", "Île-de-France", "La Réunion", "Martinique",
                "Mayotte", "Normandie", "Nouvelle-Aquitaine", "Occitanie", "Pays de la Loire",
                "Provence-Alpes-Côte d'Azur"]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ATOM = "{http://www.w3.org/2005/Atom}"


def _axe_script() -> Path:
    from esante_report.paths import node_modules_dir

    for folder in (node_modules_dir(), b.ROOT / "node_modules"):
        if (folder / "axe-core" / "axe.min.js").is_file():
            return folder / "axe-core" / "axe.min.js"
    pytest.fail("axe-core not found in node_modules (run `make setup`, which installs it with npm ci)", pytrace=False)


@pytest.fixture(scope="module")
def browser():
    yield from b.launched_browser()


class Offline:
    """A browser context that lets only file: URLs through and records every request."""

    def __init__(self, browser: Browser, *, bypass_csp: bool = False, **options: Any) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context: BrowserContext = browser.new_context(**{"viewport": b.VIEWPORT, **options},
                                                                bypass_csp=bypass_csp)
        self.context.route("**/*", self._route)
        self.context.on("request", lambda request: self.requests.append(request.url))

    def _route(self, route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def page(self, url: str) -> Page:
        page = self.context.new_page()
        page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", lambda dialog: (self.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.goto(url)
        return page

    def not_local(self) -> list[str]:
        return [url for url in self.requests if not url.startswith("file:")]


@pytest.fixture
def offline(browser: Browser) -> Iterator[Offline]:
    context = Offline(browser)
    yield context
    context.context.close()


def _ready(page: Page) -> None:
    """Wait until the page's script ran (it shows the search tools): proof that the policy allows it."""
    page.wait_for_selector(".idx-tools:not([hidden])", timeout=5000)


def _visible(page: Page) -> list[str]:
    return page.eval_on_selector_all(".idx-deck", "els => els.filter(e => e.checkVisibility()).map(e => e.id)")


def _region(page: Page, element_id: str) -> str:
    title = page.text_content(f"#{element_id} .idx-title") or ""
    return title.removeprefix(f"{FAMILY} — ")


# --------------------------------------------------------------------------- the index


@pytest.mark.browser
def test_index_orders_searches_and_selects_a_region_offline(all_regions: Path, offline: Offline) -> None:
    index = all_regions / "index.html"
    page = offline.page(index.as_uri())
    _ready(page)
    ids = page.eval_on_selector_all(".idx-deck", "els => els.map(e => e.id)")
    today = [i for i in ids if i.startswith(f"k-{DATE}-")]
    assert today[0] == f"k-{DATE}-post_covid", today  # the national deck first
    assert [_region(page, i) for i in today[1:]] == FRENCH_ORDER
    assert ids[-1] == "k-2020-12-08-catalogue"

    search = page.locator("#idx-q")
    search.press_sequentially("Occitanie")
    occ, bre = f"k-{DATE}-post_covid-OCC", f"k-{DATE}-post_covid-BRE"
    visible = _visible(page)
    assert occ in visible and bre not in visible, visible
    search.fill("")
    search.press_sequentially("ILE-DE-france")  # accents and case ignored
    assert _visible(page) == [f"k-{DATE}-post_covid-IDF"]
    for query, expected in (("8 décembre 2020", ["k-2020-12-08-catalogue"]),
                            ("08/12/2020", ["k-2020-12-08-catalogue"]),
                            ("ars occitanie", ["k-2020-12-08-catalogue"]),  # the catalogue's issuer
                            ("2021-11-15 guyane", [f"k-{DATE}-post_covid-GUF"])):
        search.fill(query)
        assert _visible(page) == expected, query
    search.fill("aucune présentation de ce nom")
    assert _visible(page) == [] and page.is_visible("#idx-none")
    assert "0 présentation" in page.text_content("#idx-status")
    search.fill("")
    assert len(_visible(page)) == len(ids)

    # a mail's link to a region: its decks at every date, with the national ones
    page = offline.page(index.as_uri() + "#region=OCC")
    _ready(page)
    assert _visible(page) == [f"k-{DATE}-post_covid", occ, "k-2020-12-08-catalogue"]
    assert page.eval_on_selector_all(".idx-date", "els => els.filter(e => e.checkVisibility()).length") == 2
    assert page.input_value("#idx-region") == "OCC"
    page.evaluate("() => { location.hash = 'region=BRE'; }")
    page.wait_for_function("() => document.querySelector('#idx-region').value === 'BRE'")
    assert _visible(page) == [f"k-{DATE}-post_covid", bre, "k-2020-12-08-catalogue"]

    # the region chosen is remembered: the page opened again without an address shows it
    page.select_option("#idx-region", "MAY")
    page = offline.page(index.as_uri())
    _ready(page)
    assert page.input_value("#idx-region") == "MAY"
    assert _visible(page) == [f"k-{DATE}-post_covid", f"k-{DATE}-post_covid-MAY", "k-2020-12-08-catalogue"]
    assert page.evaluate("() => location.hash") == "#region=MAY"  # the address names the view, to share it
    page.select_option("#idx-region", "")
    assert len(_visible(page)) == len(ids)

    assert index.as_uri() in offline.requests  # requests are recorded: none but the page itself
    assert offline.not_local() == [], offline.not_local()
    assert offline.errors == [], offline.errors  # a script refused by the policy would show here


@pytest.mark.browser
def test_index_is_keyboard_usable_with_visible_focus(all_regions: Path, offline: Offline) -> None:
    page = offline.page((all_regions / "index.html").as_uri())
    _ready(page)
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(page.evaluate("() => document.activeElement.id || document.activeElement.getAttribute('href')"))
    assert order[:3] == ["feed.xml", "idx-q", "idx-region"], order
    for selector in ("#idx-q", "#idx-region", "a[href='feed.xml']"):
        page.focus(selector)
        outline = page.evaluate("s => { const c = getComputedStyle(document.querySelector(s));"
                                " return [c.outlineStyle, parseFloat(c.outlineWidth)]; }", selector)
        assert outline[0] != "none" and outline[1] >= 2, (selector, outline)
    page.focus("#idx-q")
    page.keyboard.type("Corse")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the region selector, into the first link of the first deck shown
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == f"{DATE}/post_covid-COR.html"
    page.keyboard.press("Escape")
    assert offline.errors == []


@pytest.mark.browser
@pytest.mark.parametrize("width", [320, 640])  # a phone, and a 1280 px screen at 200 % zoom
def test_index_fits_small_screens_and_large_zoom(all_regions: Path, browser: Browser, width: int) -> None:
    context = Offline(browser, viewport={"width": width, "height": 720})
    try:
        page = context.page((all_regions / "index.html").as_uri())
        _ready(page)
        wide = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert wide <= 0, f"the page scrolls sideways by {wide} px at {width} px"
        past = page.eval_on_selector_all(
            ".idx-deck, .idx-deck a, .idx-field, h1, h2", f"""els => els.filter(e => e.getBoundingClientRect().right
                > {width} + 0.5).map(e => e.className || e.tagName)""")
        assert past == [], past
        size = page.evaluate("() => getComputedStyle(document.querySelector('.idx-deck a')).fontSize")
        assert float(size.removesuffix("px")) >= 14
        b.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(b.SCREENSHOTS / f"portal-index-{width}.png"), full_page=True)
    finally:
        context.context.close()


@pytest.mark.browser
def test_index_screenshot_at_1280(all_regions: Path, offline: Offline) -> None:
    page = offline.page((all_regions / "index.html").as_uri())
    _ready(page)
    b.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = b.SCREENSHOTS / "portal-index-1280.png"
    page.screenshot(path=str(path), full_page=True)
    assert b.png_size(path)[0] == 1280
    assert page.evaluate("() => document.documentElement.scrollWidth") == 1280


# --------------------------------------------------------------------------- the feed


def test_feed_has_one_atom_entry_per_deck_and_date(all_regions: Path) -> None:
    feed = ET.parse(all_regions / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    for element in (feed, *feed.iter(f"{ATOM}entry")):
        assert element.findtext(f"{ATOM}id") and element.findtext(f"{ATOM}title") and element.findtext(f"{ATOM}updated")
    htmls = sorted(f"{p.parent.name}/{p.name}" for p in all_regions.glob("*/*.html"))
    links = sorted(e.find(f"{ATOM}link[@rel='alternate']").get("href") for e in feed.iter(f"{ATOM}entry"))
    assert links == htmls and len(links) >= 2 + 17, links  # both national decks, the regional ones
    ids = [e.findtext(f"{ATOM}id") for e in feed.iter(f"{ATOM}entry")]
    assert len(set(ids)) == len(ids)
    titles = {e.find(f"{ATOM}link").get("href"): e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")}
    assert titles[f"{DATE}/post_covid-OCC.html"] == f"{FAMILY} — Occitanie — 15 novembre 2021"


# --------------------------------------------------------------------------- axe-core


def _axe(page: Page) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page as it is, one line per element."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(_axe_script()))
    found = page.evaluate("""tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                        resultTypes: ['violations']})
        .then(r => r.violations.flatMap(v => v.nodes.map(n => `${v.id} (${v.impact}): ${n.target.join(' ')}: `
                                                              + n.failureSummary.replace(/\\s+/g, ' '))))""", WCAG)
    return found


@pytest.mark.browser
def test_axe_finds_nothing_on_the_index(all_regions: Path, browser: Browser) -> None:
    context = Offline(browser, bypass_csp=True)  # the page's policy would refuse the injected axe script
    try:
        problems = []
        for width, suffix in ((1280, ""), (320, "#region=OCC")):
            page = context.page((all_regions / "index.html").as_uri() + suffix)
            page.set_viewport_size({"width": width, "height": 720})
            _ready(page)
            problems += [f"{width} px{suffix}: {p}" for p in _axe(page)]
            page.fill("#idx-q", "bretagne")
            problems += [f"{width} px, search: {p}" for p in _axe(page)]
        assert not problems, b.report("axe-core on index.html", problems)
        assert context.not_local() == []
    finally:
        context.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("deck", [f"{DATE}/post_covid", "2020-12-08/catalogue", f"{DATE}/post_covid-OCC"])
def test_axe_finds_nothing_on_any_slide(deck: str, all_regions: Path, browser: Browser) -> None:
    html_file = all_regions / f"{deck}.html"  # the decks of the `rendered` fixture, and a regional one
    context = Offline(browser, bypass_csp=True)
    try:
        page = context.page(html_file.as_uri())
        b.wait_until_ready(page)
        total = int(page.evaluate("() => Reveal.getTotalSlides()"))
        problems = []
        for index in range(total):
            b.show_slide(page, index)
            problems += [f"slide {index + 1}: {p}" for p in _axe(page)]
        assert total > 1
        assert not problems, b.report(f"axe-core on {deck}.html", problems)
        assert context.not_local() == []
    finally:
        context.context.close()


# --------------------------------------------------------------------------- data is text


@pytest.mark.browser
def test_hostile_names_stay_text_in_the_browser(tmp_path: Path, offline: Offline) -> None:
    from esante_report.outdir.index import remember_expected, write_index

    hostile = '<img src=x onerror=alert(1)></script><script>alert(2)</script>'
    folder = tmp_path / DATE
    folder.mkdir()
    for name in ("post_covid", "post_covid-OCC"):
        (folder / f"{name}.html").write_text(
            f'<head><meta name="author" content="{html.escape(hostile)}"><style>', encoding="utf-8")
    remember_expected(tmp_path, [(DATE, "post_covid", hostile), (DATE, "post_covid-OCC", f"{FAMILY} — {hostile}")])
    page = offline.page(write_index(tmp_path).as_uri() + "#region=OCC")
    _ready(page)
    page.fill("#idx-q", "<img src=x")
    assert _visible(page) == [f"k-{DATE}-post_covid", f"k-{DATE}-post_covid-OCC"]
    assert page.text_content(f"#k-{DATE}-post_covid .idx-title") == hostile
    assert page.eval_on_selector_all("img", "els => els.length") == 0
    assert offline.errors == [] and offline.not_local() == []
