"""The analyst's API: write slides in the notebook (``import esante_report.authoring as esr``).

A slide is written in the notebook (see ``docs/authoring.md``): a Markdown
heading starts it, Markdown cells are its commentary, and whatever a code cell
displays is placed on it. This module gives the pieces a slide needs, each of
which displays the same in JupyterLab and in the decks:

- :func:`setup` — house style for every matplotlib figure (``plt.show()``, a
  trailing ``fig``, ``display(fig)``, pandas ``.plot()``): vector SVG, Inter,
  the palette, sizes readable from the back of a room, a 16:9 slot;
- :func:`md` — Markdown commentary quoting computed figures in French format;
- :func:`chart` — a figure with its alt text, caption and credit;
- :func:`table` — a DataFrame as a French-formatted table (``non renseigné``
  for a blank), split over several slides with :func:`table_slides`;
- :func:`columns` — two (or three) columns: chart and commentary side by side;
- :func:`kpis` — a row of key figures; :func:`note` and :func:`source` lines;
- :func:`slide` — a slide made from code (one per service, one per region…);
- :func:`read_table` — a table of ``--data`` declared by its Table Schema, as a typed DataFrame.

Every value is escaped: text from data never becomes markup.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from dataclasses import dataclass
from html import escape
from typing import Any, Iterable, Sequence

from esante_report.authoring.components import Html, svg, table_class
from esante_report.slides import records
from esante_report.fmt import NA_TEXT, fmt_date, fmt_int, fmt_month, fmt_number, is_missing
from esante_report.slides.model import NEW_SLIDE_KEY, figure_html, markdown_html

__all__ = ["setup", "keep", "md", "chart", "table", "table_slides", "columns", "kpis", "note", "source", "slide", "read_table",
           "Percent", "Change", "pct", "change", "fr", "SLOT_FULL", "SLOT_HALF"]

#: figure sizes (inches) that fill a slot of the 1280×720 slide at scale 1, so text keeps its size
SLOT_FULL = (12.2, 4.7)
SLOT_HALF = (6.9, 4.9)
SLOT_THIRD = (4.6, 4.2)


# --------------------------------------------------------------------------- numbers in French

@dataclass(frozen=True)
class Percent:
    """A share in percent (``Percent(14.4)`` → ``14,4 %``)."""

    value: float
    digits: int = 0

    def __str__(self) -> str:
        if is_missing(self.value):
            return NA_TEXT
        return f"{fmt_number(round(self.value, self.digits), digits=self.digits)}\u00a0%"


@dataclass(frozen=True)
class Change:
    """A relative change between two figures (``change(286, 250)`` → ``+14 %``); blank → non comparable."""

    new: float | None
    old: float | None
    digits: int = 0

    @property
    def ratio(self) -> float | None:
        if is_missing(self.new) or is_missing(self.old) or not self.old:
            return None
        return (float(self.new) - float(self.old)) / float(self.old) * 100

    def __str__(self) -> str:
        ratio = self.ratio
        if ratio is None:
            return "non comparable"
        rounded = round(ratio, self.digits)
        sign = "+" if rounded > 0 else "\u2212" if rounded < 0 else "\u00b1"
        return f"{sign}{fmt_number(abs(rounded), digits=self.digits)}\u00a0%"


def pct(value: float, digits: int = 0) -> Percent:
    return Percent(value, digits)


def change(new: float | None, old: float | None, digits: int = 0) -> Change:
    return Change(new, old, digits)


def fr(value: Any) -> str:
    """Any value as a reader sees it: ``20356`` → ``20 356``, ``0.5`` → ``0,5``, dates ``15/11/2021``,
    months ``'2021-09'`` → ``septembre 2021``, a blank → ``non renseigné``."""
    if value is None or is_missing(value):
        return NA_TEXT
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, numbers.Integral):
        return fmt_int(value)
    if isinstance(value, numbers.Real):
        return fmt_number(value) if math.isfinite(float(value)) else NA_TEXT
    if isinstance(value, (dt.date, dt.datetime)):
        return fmt_date(value)
    text = str(value)
    if re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", text):
        return fmt_month(text)
    return text


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~])")


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


# --------------------------------------------------------------------------- blocks

class _Block(Html):
    """A building block that knows when it reaches a slide: displayed, or placed in another block.

    One that a cell builds but never displays (``esr.kpis(...)`` that is not the cell's last line)
    is reported by the slide builder as a warning naming the cell, never dropped silently.
    """

    def __getattribute__(self, name: str) -> Any:
        if name in ("html", "_repr_html_"):
            records.shown(self)
        return object.__getattribute__(self, name)

    def __repr__(self) -> str:  # a repr is no display
        return f"<esr block {object.__getattribute__(self, 'html')[:40]!r}…>"


def _made(html: str, kind: str) -> Html:
    return records.track(_Block(html), kind)


def keep(name: str, value: Any) -> None:
    """Keep a figure for the deck's e-mail: ``{{ name }}`` in ``notebooks/<deck>.mail.txt`` becomes ``value``
    in French format, as this run computed it. Shown on no slide."""
    records.keep(name, value)


def md(text: str, **values: Any) -> Html:
    """Markdown commentary; ``{name}`` fields are filled with ``values`` in French format, escaped.

    >>> md("**{n}** actes en {mois}, {evol} sur août", n=286, mois="2021-09", evol=change(286, 250))
    """
    filled = text.format_map({k: _md_escape(fr(v)) for k, v in values.items()}) if values else text
    return _made(f'<div class="esr-md">{markdown_html(filled)}</div>', "md")


def _figure_markup(fig, size: tuple[float, float] | None) -> str:
    if size:
        fig.set_size_inches(*size)
    return str(svg(fig))


def chart(fig, alt: str, *, caption: str | None = None, credit: str | None = None, data=None,
          size: tuple[float, float] | None = None) -> Html:
    """A matplotlib figure as a vector chart with its alt text (required), caption, credit, data table.

    ``data`` (a DataFrame) is put behind a "Données du graphique" disclosure for screen readers.
    ``size`` (inches) resizes the figure to its slot, e.g. :data:`SLOT_HALF` in a column.
    """
    if not alt or not str(alt).strip():
        raise ValueError("esr.chart needs an alt text describing what the chart shows")
    html = figure_html(_figure_markup(fig, size), str(alt), caption)
    extra = ""
    if credit:
        extra += f'<p class="esr-credit">{escape(str(credit))}</p>'
    if data is not None:
        extra += f'<details class="esr-data"><summary>Données du graphique</summary>{table(data).html}</details>'
    return _made(html.replace("</figure>", extra + "</figure>", 1), "chart")


def _cell_class(value: Any) -> str:
    if value is None or is_missing(value):
        return "num na"
    if isinstance(value, (numbers.Number, Percent, Change)) and not isinstance(value, bool):
        return "num"
    return ""


def table(df, *, caption: str | None = None, index: bool | None = None, total: dict | None = None,
          css_class: str = "") -> Html:
    """A DataFrame as an accessible table in French format; blanks read ``non renseigné``.

    ``index``: show the index as row headers (default: when it is not a plain range).
    ``total``: an optional footer row, e.g. ``{"Région": "Total", "Actes": 286}``.
    """
    import pandas as pd

    if index is None:
        index = not isinstance(df.index, pd.RangeIndex)
    frame = df.reset_index() if index else df
    columns = [" – ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in frame.columns]
    head = "".join(f'<th scope="col" class="{_cell_class(frame[c].dropna().iloc[0]) if frame[c].notna().any() else ""}">'
                   f"{escape(name)}</th>" for c, name in zip(frame.columns, columns))
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for i, value in enumerate(values):
            text = escape(fr(value))
            if i == 0 and index:
                cells.append(f'<th scope="row">{text}</th>')
            else:
                cells.append(f'<td class="{_cell_class(value)}">{text}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    foot = ""
    if total:
        cells = []
        for i, c in enumerate(frame.columns):
            value = total.get(c, "")
            tag = "th" if i == 0 else "td"
            cells.append(f'<{tag} class="{_cell_class(value) if value != "" else ""}">{escape(fr(value)) if value != "" else ""}</{tag}>')
        foot = f"<tfoot><tr>{''.join(cells)}</tr></tfoot>"
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    css_class = table_class(css_class, len(rows))
    return _made(f'<table class="esr-table {escape(css_class)}">{cap}<thead><tr>{head}</tr></thead>'
                 f"<tbody>{''.join(rows)}</tbody>{foot}</table>", "table")


def table_slides(df, title: str, *, rows_per_slide: int = 12, **kwargs: Any) -> None:
    """Display ``df`` over as many slides as it needs, titled ``title`` then ``title (suite)``."""
    n = max(1, math.ceil(len(df) / rows_per_slide))
    for i in range(n):
        part = df.iloc[i * rows_per_slide:(i + 1) * rows_per_slide]
        slide(title if i == 0 else f"{title} (suite)", table(part, **kwargs))


def _block(item: Any, size: tuple[float, float] | None = None) -> str:
    from matplotlib.figure import Figure

    if isinstance(item, Html):
        return item.html
    if isinstance(item, Figure):
        raise ValueError("a figure in a layout needs its alt text: wrap it in esr.chart(fig, alt=...)")
    if isinstance(item, str):
        return md(item).html
    if hasattr(item, "to_frame") or hasattr(item, "itertuples"):
        return table(item).html
    if hasattr(item, "_repr_html_"):
        return item._repr_html_()
    raise TypeError(f"cannot place a {type(item).__name__} on a slide (expected Markdown text, esr.chart, "
                    "esr.table or a DataFrame)")


def columns(*blocks: Any, widths: Sequence[int] | None = None) -> Html:
    """Blocks side by side: ``esr.columns(esr.chart(fig, alt=...), "Commentaire…", widths=(3, 2))``."""
    widths = list(widths or [1] * len(blocks))
    if len(widths) != len(blocks):
        raise ValueError("give one width per column")
    total = sum(widths)
    cols = "".join(f'<div class="esr-col" style="flex: {int(w)} 1 0; width: {100 * w / total:.1f}%">{_block(b)}</div>'
                   for b, w in zip(blocks, widths))
    return _made(f'<div class="esr-cols">{cols}</div>', "columns")


def kpis(items: Iterable[tuple[Any, str]] | dict) -> Html:
    """Key figures in a row: ``esr.kpis([(286, "actes en septembre"), (change(286, 250), "sur août")])``."""
    pairs = items.items() if isinstance(items, dict) else items
    cells = "".join(f'<div class="esr-kpi"><p class="esr-kpi-value">{escape(fr(v))}</p>'
                    f'<p class="esr-kpi-label">{escape(str(label))}</p></div>' for v, label in pairs)
    return _made(f'<div class="esr-kpis">{cells}</div>', "kpis")


def note(text: str, **values: Any) -> Html:
    """A small note under the content (data caveats); Markdown with French-formatted ``values``."""
    return _made(f'<div class="esr-note">{md(text, **values).html}</div>', "note")


def source(text: str) -> Html:
    """The source line of a slide."""
    return _made(f'<p class="esr-source">Source : {escape(str(text))}</p>', "source")


def slide(title: str | None, *blocks: Any, layout: str = "") -> None:
    """Display a whole slide from code (for slides whose number follows the data)."""
    from IPython.display import HTML, display

    body = "".join(_block(b) for b in blocks)
    display(HTML(body), metadata={NEW_SLIDE_KEY: {"new_slide": True, "title": title, "layout": layout}})


# --------------------------------------------------------------------------- set-up

def setup(preview: bool = True) -> Html | None:
    """House style for every figure of this kernel, and the house CSS for the notebook's preview.

    Call it once in the set-up cell (of slide type *Skip*). After it, ``plt.show()``, a trailing
    ``fig``, ``display(fig)`` and pandas ``.plot()`` all give vector charts in the house style.
    """
    import matplotlib

    from esante_report.authoring import style

    style.apply_house_style()
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg")
    except ImportError:  # pragma: no cover - outside IPython
        pass
    if not matplotlib.get_backend().lower().endswith("backend_inline"):
        try:
            from IPython import get_ipython

            if get_ipython() is not None:
                get_ipython().run_line_magic("matplotlib", "inline")
                set_matplotlib_formats("svg")
        except Exception:  # pragma: no cover - no IPython: nothing to display
            pass
    if preview:
        from esante_report.authoring.components import preview_style

        return preview_style()
    return None


def read_table(name: str, data_dir: Any, *, region: str | None = None):
    """The CSV ``name`` of the data folder (e.g. ``"teleconsultations/indicateurs.csv"``) as a typed DataFrame.

    The table must be declared by its Table Schema beside it (``indicateurs.schema.json``) and is
    validated by it first (DataError naming file, line and field otherwise). Types follow the schema;
    a blank cell is ``<NA>``, never 0. Only files inside ``data_dir`` are read (no absolute path, no
    ``..``, no link leaving it). With ``region``, only that region's rows are returned
    (``frame.attrs["scope"]`` says ``"OCC"`` or ``"national"``), so that a national figure cannot pass
    as the region's: name the national frame so, e.g. ``national = esr.read_table(...)``.
    """
    from pathlib import Path

    from esante_report.errors import DataError, Problem
    from esante_report.contracts.schema import read_table as _read, schema_path

    root = Path(data_dir).resolve()
    relative = Path(name if str(name).endswith(".csv") else f"{name}.csv")
    path = root / relative
    if relative.is_absolute() or ".." in relative.parts or not path.resolve().is_relative_to(root):
        raise DataError([Problem(path, None, None, "outside the data folder, refused (expected a CSV file of "
                                 f"{root} named relative to it, e.g. 'my_deck/indicateurs.csv')")])
    if not schema_path(path).is_file():
        raise DataError([Problem(path, None, None, f"not declared: no Table Schema {schema_path(path).name} "
                                 "beside it (see docs/authoring.md, 'Add a deck')")])
    frame = _read(path, root)
    if region is not None:
        if "region" not in frame.columns:
            raise DataError([Problem(path, 1, "region", "no region column: the table is national only "
                                     "(read it without region=)")])
        frame = frame[frame["region"] == region].reset_index(drop=True)
    frame.attrs["source"] = relative.as_posix()
    frame.attrs["scope"] = region or "national"
    return frame
