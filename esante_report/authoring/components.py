"""HTML building blocks of a slide, shared by every deck.

A notebook cell displays one :class:`Html` (one slide's content). Every text
that comes from data is escaped (Jinja autoescape); links keep only the
``http``, ``https``, ``mailto`` and ``tel`` schemes. Charts become inline SVG
(vector in the PDF, selectable text) wrapped with an alt text written from the
data and, in the HTML deck, the data table behind them.
"""

from __future__ import annotations

import io
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import jinja2
import markupsafe
from markupsafe import Markup
from matplotlib.figure import Figure

from esante_report.slides import sanitize
from esante_report.paths import templates_dir
from esante_report.slides.model import NEW_SLIDE_KEY, prefix_svg_ids, svg_body

__all__ = ["Html", "render", "renderer", "figure", "table", "safe_url", "svg", "show_slides", "preview_style", "NEW_SLIDE_KEY"]




@dataclass(frozen=True)
class Html:
    """HTML that Jupyter displays as ``text/html`` (one slide's content)."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html

    def __html__(self) -> str:  # lets Jinja embed it unescaped
        return self.html


#: tables of at most this many rows are set at the body text size (16.5 pt) instead of 14.25 pt
LARGE_TABLE_ROWS = 8


def table_class(css_class: str, rows: int) -> str:
    """``css_class`` of a table of ``rows`` rows: a short table has the room for the body text size."""
    return f"{css_class} esr-table-large".strip() if rows <= LARGE_TABLE_ROWS else css_class


def escape_text(text: Any) -> str:
    """``text`` escaped for HTML (data values placed in hand-built markup)."""
    return str(markupsafe.escape(str(text)))


def safe_url(url: Any) -> str | None:
    """The URL if its scheme is http, https, mailto or tel; None otherwise."""
    href = sanitize.safe_href(url)
    return href if href and not href.startswith("#") else None


def _env(*extra: Path) -> jinja2.Environment:
    dirs = [str(d) for d in extra] + [str(templates_dir() / "components")]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["safe_url"] = safe_url
    env.filters["tel"] = lambda phone: "tel:" + re.sub(r"[^0-9+]", "", str(phone))
    return env


_ENV: jinja2.Environment | None = None


def render(template: str, **context: Any) -> Html:
    """Render ``templates/components/<template>`` with autoescaping."""
    global _ENV
    if _ENV is None:
        _ENV = _env()
    return Html(_ENV.get_template(template).render(**context))


def renderer(folder: Path) -> Callable[..., Html]:
    """:func:`render` for a deck's own templates in ``folder`` (which may extend the house components)."""
    env: list[jinja2.Environment] = []

    def render_in(template: str, **context: Any) -> Html:
        if not env:
            env.append(_env(Path(folder)))
        return Html(env[0].get_template(template).render(**context))

    return render_in


def svg(fig: Figure) -> Markup:
    """The figure as inline SVG markup, sized by CSS, with ids unique in the deck."""
    import matplotlib

    from esante_report.authoring.style import house_style

    buffer = io.StringIO()
    with house_style(), matplotlib.rc_context({"svg.fonttype": "none"}):
        # bbox "tight": labels longer than planned widen the picture instead of being cut off
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, transparent=True,
                    bbox_inches="tight", pad_inches=0.04)
    text = svg_body(buffer.getvalue())
    # intrinsic size in CSS px (matplotlib writes pt); CSS scales it down to the column, keeping the ratio
    size = re.search(r'<svg[^>]*? width="([\d.]+)pt" height="([\d.]+)pt"', text)
    width, height = (round(float(v) * 4 / 3) for v in size.groups())
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', rf'<svg\1 width="{width}" height="{height}"',
                  text, count=1)
    # ids unique in the deck and the same from one run to the next: prefixed by a hash of the picture
    text = prefix_svg_ids(text, "s" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:8] + "-")
    text = text.replace("<svg", '<svg aria-hidden="true" focusable="false" preserveAspectRatio="xMidYMid meet"', 1)
    return Markup(text)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None,
          numeric: Sequence[bool] | None = None, footer: Iterable[Sequence[Any]] = (),
          row_header: bool = True, css_class: str = "") -> Html:
    """An accessible HTML table (header cells with scope, optional footer rows).

    A short table (at most 8 rows) is set at the body text size: it has the room.
    """
    rows = [list(r) for r in rows]
    css_class = table_class(css_class, len(rows))
    return (render("table.html.j2", columns=list(columns), rows=rows,
                         footer=[list(r) for r in footer], caption=caption,
                         numeric=list(numeric) if numeric else [False] * len(columns),
                         row_header=row_header, css_class=css_class))


def figure(fig: Figure, *, alt: str, caption: str | None = None, data_table: Markup | None = None,
           credit: str | None = None, css_class: str = "") -> Html:
    """A chart: inline SVG with ``role=img`` and alt text, caption, credit, data table."""
    return render("figure.html.j2", svg=svg(fig), alt=alt, caption=caption, data_table=data_table,
                  credit=credit, css_class=css_class)


def preview_style() -> Html:
    """The house CSS, for the notebook's own view of the slides in JupyterLab.

    Display it from a cell of slide type *Skip*: decks embed their own styles, so
    this output never reaches a slide.
    """
    css = (templates_dir() / "css" / "house.css").read_text(encoding="utf-8")
    css += _decks_css()
    # in the notebook there is no slide box: cap each slide's output at the slide body's width
    css += "\n.jp-OutputArea-output .esr-title { margin-top: 0; }\n" \
           ".jp-RenderedHTMLCommon:has(> .esr-cover, > .esr-card, > .esr-title) { max-width: 1184px; }\n"
    return Html(f"<style>{css}</style>")


def _decks_css() -> str:
    """The CSS of every deck code known (the notebook does not say which deck it is; deck rules are scoped
    by their own classes)."""
    import importlib

    from esante_report.decks.registry import deck_code

    out = []
    for module in deck_code().values():
        try:
            path = getattr(importlib.import_module(module), "STYLESHEET", None)
            if path:
                out.append(Path(path).read_text(encoding="utf-8"))
        except (ImportError, OSError):
            continue
    return "\n".join(out)


def show_slides(slides: Iterable[Html]) -> None:
    """Display several slides from one notebook cell (e.g. one per service).

    Each output is marked so that the export starts a new slide at it: the
    number of slides follows the data, the notebook keeps one cell.
    """
    from IPython.display import HTML, display

    for slide in slides:
        display(HTML(slide.html), metadata={NEW_SLIDE_KEY: {"new_slide": True}})
