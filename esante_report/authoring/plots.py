"""Figures of the decks. Each function takes tidy data and returns a ``Figure``.

Nothing here saves or shows: :func:`esante_report.authoring.components.figure` turns a
figure into inline SVG with its alt text. Colour never carries meaning alone:
bars carry hatches and values, map regions carry their label and count.
"""

from __future__ import annotations

import math
import textwrap
from typing import Mapping, Sequence

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch, Polygon  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from esante_report.authoring import style  # noqa: E402
from esante_report.fmt import fmt_int, fmt_long_date, fmt_month_short, is_missing  # noqa: E402
from esante_report.authoring.geo import ASPECT, OVERSEAS, label_point, polygons  # noqa: E402

__all__ = ["timeline_figure", "status_map_figure", "highlight_map_figure", "stacked_bars_figure",
           "bars_figure", "departments_map_figure"]


def _new_figure(width: float, height: float) -> Figure:
    fig = plt.figure(figsize=(width, height))
    plt.close(fig)  # figures are returned, never shown by pyplot
    return fig


# --------------------------------------------------------------------------- timeline

def timeline_figure(milestones: pd.DataFrame, width: float = style.FULL_WIDTH_IN, height: float = 4.6) -> Figure:
    """Milestones (date, date_label, title) on a horizontal time axis, one equal slot each."""
    size = style.CHART_TEXT_PT
    line = size * 1.3  # points from one line of a label to the next
    with style.house_style():
        fig = _new_figure(width, height)
        ax = fig.add_axes((0.0, 0.02, 1.0, 0.96))
        n = len(milestones)
        ax.set_xlim(-0.5, n - 0.5)  # one equal slot a milestone, aligned with the columns under the chart
        ax.set_ylim(-1.25, 1.25)
        ax.axis("off")
        # an evenly spaced axis, one slot a milestone in date order: readable whatever the gaps
        ax.plot([-0.5, n - 0.5], [0, 0], color=style.GREY_LINE, lw=2, zorder=1)
        for i, row in enumerate(milestones.itertuples()):
            up = i % 2 == 0
            y = 0.22 if up else -0.22
            ax.plot([i, i], [0, y * 1.0], color=style.BLEU_FRANCE, lw=1.5, zorder=2)
            ax.scatter([i], [0], s=120, color=style.BLEU_FRANCE, zorder=3, edgecolor="white", linewidth=2)
            when = row.date_label if isinstance(row.date_label, str) and row.date_label else fmt_long_date(row.date)
            title = "\n".join(textwrap.wrap(row.title, 22))
            lines_y = y + (0.04 if up else -0.04)
            if up:
                ax.annotate(title, (i, lines_y), xytext=(0, 2), textcoords="offset points", ha="center",
                            va="bottom", fontsize=size, fontweight="semibold", color=style.GREY_TEXT)
                ax.annotate(when, (i, lines_y), xytext=(0, 2 + line * (title.count("\n") + 1) + 4),
                            textcoords="offset points", ha="center", va="bottom", fontsize=size,
                            fontweight="bold", color=style.BLEU_FRANCE)
            else:
                ax.text(i, lines_y, when, ha="center", va="top", fontsize=size, fontweight="bold",
                        color=style.BLEU_FRANCE)
                ax.annotate(title, (i, lines_y), xytext=(0, -(line + 2)), textcoords="offset points",
                            ha="center", va="top", fontsize=size, fontweight="semibold", color=style.GREY_TEXT)
    return fig


# --------------------------------------------------------------------------- maps

#: detail of a boundary drawn finer than this (points on the slide) is dropped: it cannot be seen, and
#: WeasyPrint parses and draws every vertex of the SVG (the maps were most of a deck's PDF stage)
_MAP_DETAIL_PT = 0.4


def _drawn_scale(ax, geoms) -> float:
    """Degrees per point of ``ax`` drawing ``geoms`` (the larger of the two axes' scales)."""
    from shapely.ops import unary_union

    minx, miny, maxx, maxy = unary_union(list(geoms)).bounds
    fig = ax.get_figure()
    box = ax.get_position()
    width_pt, height_pt = box.width * fig.get_figwidth() * 72, box.height * fig.get_figheight() * 72
    return max((maxx - minx) / max(width_pt, 1.0), (maxy - miny) * ASPECT / max(height_pt, 1.0))


def _draw_regions(ax, boundaries: Mapping, codes: Sequence[str], fill: Mapping[str, str],
                  hatch: Mapping[str, str], edge: str = "white") -> None:
    geoms = [boundaries[code][1] for code in codes]
    tolerance = _drawn_scale(ax, geoms) * _MAP_DETAIL_PT if geoms else 0.0
    for code in codes:
        _, geom = boundaries[code]
        for ring in polygons(geom.simplify(tolerance, preserve_topology=True) if tolerance else geom):
            colour = fill.get(code, "#EEEEEE")
            # hatches in white on dark fills, in grey on light ones, so that they show on every status
            hatch_colour = "white" if style.text_colour_on(colour) == "white" else style.GREY_MUTED
            ax.add_patch(Polygon(ring, closed=True, facecolor=colour, edgecolor=edge, linewidth=0.8,
                                 hatch=hatch.get(code, ""), hatchcolor=hatch_colour))
    ax.autoscale_view()
    ax.set_aspect(ASPECT)
    ax.axis("off")


def _outline(ax, geom) -> None:
    """A thick outline around a region (the region of a regional deck)."""
    for ring in polygons(geom):
        ax.add_patch(Polygon(ring, closed=True, facecolor="none", edgecolor=style.ROUGE_MARIANNE, linewidth=3.2,
                             zorder=5))


#: padding of a map label's box, in units of its font size
_LABEL_PAD = 0.18


def _label(ax, x: float, y: float, text: str, background: str, size: float = style.CHART_TEXT_PT):
    # above the outline of a highlighted region (zorder 5): a small region's label stays readable
    return ax.text(x, y, text, ha="center", va="center", fontsize=size, fontweight="semibold",
                   color=style.text_colour_on(background), linespacing=1.05, zorder=6,
                   bbox={"boxstyle": f"round,pad={_LABEL_PAD}", "facecolor": background, "edgecolor": "none",
                         "alpha": 0.9})


def _separate(ax, labels: list, passes: int = 40) -> None:
    """Move apart map labels whose boxes overlap, each pair by the shorter way, so that none hides another.

    Labels of small neighbouring regions (Île-de-France and its neighbours) collide at the size of chart
    text; each moves by half the overlap, so that it stays on or next to its region.
    """
    if len(labels) < 2:
        return
    from matplotlib.backends.backend_agg import RendererAgg

    fig = ax.get_figure()
    ax.apply_aspect()  # the axes' final box: positions below are the drawn ones
    renderer = RendererAgg(*fig.bbox.size, fig.dpi)  # text extents only: nothing is drawn

    def box(label):
        pad = _LABEL_PAD * label.get_fontsize() * fig.dpi / 72
        return label.get_window_extent(renderer).padded(pad + 1)

    def shift(label, dx: float, dy: float) -> None:
        x, y = ax.transData.transform(label.get_position())
        label.set_position(ax.transData.inverted().transform((x + dx, y + dy)))

    for _ in range(passes):
        boxes = [box(label) for label in labels]
        moved = False
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                a, b = boxes[i], boxes[j]
                wide = min(a.x1, b.x1) - max(a.x0, b.x0)
                tall = min(a.y1, b.y1) - max(a.y0, b.y0)
                if wide <= 0 or tall <= 0:
                    continue
                if tall <= wide:  # apart vertically: the higher one up
                    step = (tall / 2 + 0.5) * (1 if (a.y0 + a.y1) >= (b.y0 + b.y1) else -1)
                    shift(labels[i], 0, step)
                    shift(labels[j], 0, -step)
                else:
                    step = (wide / 2 + 0.5) * (1 if (a.x0 + a.x1) >= (b.x0 + b.x1) else -1)
                    shift(labels[i], step, 0)
                    shift(labels[j], -step, 0)
                boxes[i], boxes[j] = box(labels[i]), box(labels[j])
                moved = True
        if not moved:
            return


def status_map_figure(cells: pd.DataFrame, regions: pd.DataFrame, boundaries: Mapping, *,
                      colours: Mapping[str, str], hatches: Mapping[str, str],
                      width: float = 7.6, height: float = 5.4, highlight: str | None = None) -> Figure:
    """Regions coloured by status (and hatched), labelled with abbreviation and count.

    ``cells``: region (abbreviation), status, cells (a count); ``regions``: code, abbr, name;
    ``colours`` and ``hatches``: status → colour, hatch (the deck's vocabulary).
    Overseas regions are drawn as insets along the left edge.
    """
    by_abbr = cells.set_index("region")
    code_to_abbr = dict(zip(regions["code"], regions["abbr"]))
    fill, hatch, labels = {}, {}, {}
    for code, abbr in code_to_abbr.items():
        if abbr in by_abbr.index:
            status = by_abbr.loc[abbr, "status"]
            fill[code] = colours[status]
            hatch[code] = hatches[status]
            count = by_abbr.loc[abbr, "cells"]
            labels[code] = abbr if is_missing(count) else f"{abbr}\n{fmt_int(count)}"
        else:
            labels[code] = abbr
    with style.house_style():
        fig = _new_figure(width, height)
        metro = [c for c in code_to_abbr if c not in OVERSEAS and c in boundaries]
        ax = fig.add_axes((0.2, 0.0, 0.8, 1.0))
        _draw_regions(ax, boundaries, metro, fill, hatch)
        for code, abbr in code_to_abbr.items():
            if abbr == highlight and code in boundaries and code not in OVERSEAS:
                _outline(ax, boundaries[code][1])
        _separate(ax, [_label(ax, *label_point(boundaries[code][1]), labels[code], fill.get(code, "#EEEEEE"))
                       for code in metro])
        overseas = [c for c in OVERSEAS if c in boundaries and c in code_to_abbr]
        slot = 1.0 / max(len(overseas), 1)
        for i, code in enumerate(overseas):
            inset = fig.add_axes((0.0, 1.0 - (i + 1) * slot + 0.02, 0.16, slot - 0.04))
            _draw_regions(inset, boundaries, [code], fill, hatch)
            if code_to_abbr[code] == highlight:
                _outline(inset, boundaries[code][1])
            inset.set_aspect(1 / math.cos(math.radians(abs(label_point(boundaries[code][1])[1]))))
            inset.text(1.04, 0.5, labels[code], transform=inset.transAxes, ha="left", va="center",
                       fontsize=style.CHART_TEXT_PT, fontweight="semibold", color=style.GREY_TEXT)
    return fig


def highlight_map_figure(highlight: Sequence[str], regions: pd.DataFrame, boundaries: Mapping,
                         width: float = 4.2, height: float = 4.0) -> Figure:
    """Metropolitan map with the ``highlight`` regions (abbreviations) in Bleu France, labelled."""
    abbr_to_code = dict(zip(regions["abbr"], regions["code"]))
    chosen = {abbr_to_code[a] for a in highlight if a in abbr_to_code}
    fill = {c: (style.BLEU_FRANCE if c in chosen else "#E5E5E5") for c in boundaries}
    with style.house_style():
        fig = _new_figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
        metro = [c for c in boundaries if c not in OVERSEAS]
        _draw_regions(ax, boundaries, metro, fill, {})
        code_to_abbr = {v: k for k, v in abbr_to_code.items()}
        _separate(ax, [_label(ax, *label_point(boundaries[code][1]), code_to_abbr[code], style.BLEU_FRANCE)
                       for code in sorted(chosen) if code in boundaries and code not in OVERSEAS])
    return fig


def departments_map_figure(departments: Mapping, marked: Sequence[str], width: float = 5.4,
                           height: float = 4.6) -> Figure:
    """Departments of one region; ``marked`` codes in Bleu France, each labelled with its code."""
    fill = {c: (style.BLEU_FRANCE if c in marked else "#E5E5E5") for c in departments}
    with style.house_style():
        fig = _new_figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
        _draw_regions(ax, departments, list(departments), fill, {}, edge="white")
        _separate(ax, [_label(ax, *label_point(geom), f"{code} ✓" if code in marked else code, fill[code])
                       for code, (_, geom) in departments.items()])
    return fig


# --------------------------------------------------------------------------- bars

def stacked_bars_figure(frame: pd.DataFrame, regions: Sequence[str], months: Sequence[str],
                        categories: Sequence[str], *, value: str, ylabel: str, colours: Mapping[str, str],
                        hatches: Mapping[str, str], labels: Mapping[str, str],
                        width: float = style.FULL_WIDTH_IN,
                        height: float = 4.5, ymax: float | None = None) -> Figure:
    """Stacked bars (categories) per region and month; a region that did not report is marked 'n.r.'.

    ``frame``: region, month, category and the ``value`` column (nullable); ``colours``, ``hatches`` and
    ``labels``: category → colour, hatch, legend label (the deck's vocabulary).
    """
    table = frame.pivot_table(index=["region", "month"], columns="category", values=value,
                              aggfunc="first", dropna=False)
    with style.house_style():
        fig = _new_figure(width, height)
        ax = fig.add_axes((0.055, 0.2, 0.94, 0.67))  # room above for the legend
        group = len(months) + 0.6
        xs, xlabels = [], []
        for r_i, region in enumerate(regions):
            for m_i, month in enumerate(months):
                x = r_i * group + m_i
                bottom = 0
                key = (region, month)
                values = [table.loc[key, c] if key in table.index and c in table.columns else pd.NA
                          for c in categories]
                reported = [v for v in values if not is_missing(v)]
                for cat, amount in zip(categories, values):
                    if is_missing(amount) or amount == 0:
                        continue
                    ax.bar(x, amount, bottom=bottom, width=0.86, color=colours[cat],
                           hatch=hatches[cat], edgecolor="white", linewidth=0.6)
                    bottom += amount
                label = fmt_int(sum(reported)) if reported else "n.r."
                if reported and len(reported) < len(values):
                    label += "*"  # partial: some categories not reported, the bar total is incomplete
                ax.text(x, bottom, label, ha="center", va="bottom", fontsize=style.CHART_TEXT_PT,
                        color=style.GREY_TEXT if reported else style.GREY_MUTED,
                        fontstyle="normal" if reported else "italic")
                xs.append(x)
                xlabels.append(fmt_month_short(month))
        ax.set_xticks(xs, xlabels, rotation=0)
        for r_i, region in enumerate(regions):
            ax.text(r_i * group + (len(months) - 1) / 2, -0.17, region, transform=ax.get_xaxis_transform(),
                    ha="center", va="top", fontsize=style.CHART_LABEL_PT, fontweight="semibold")
        ax.set_xlim(-0.7, (len(regions) - 1) * group + len(months) - 0.3)
        ax.set_ylabel(ylabel)
        ax.margins(y=0.12)
        if ymax:  # charts of one series split over slides share their scale
            ax.set_ylim(0, ymax * 1.12)
        else:  # nothing above 0 (zeros, blanks): an axis of counts from 0, not one centred on 0
            ax.set_ylim(0, 5)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))   # counts are whole numbers
        ax.grid(axis="y", color="#E5E5E5", linewidth=0.8)
        ax.set_axisbelow(True)
        handles = [Patch(facecolor=colours[c], hatch=hatches[c], edgecolor="white", label=labels[c])
                   for c in categories]
        # above the plotting area, which keeps the values written over the bars
        ax.legend(handles=handles, loc="lower left", ncols=len(categories), bbox_to_anchor=(0, 1.02),
                  borderaxespad=0)
    return fig


def bars_figure(labels: Sequence[str], values: Sequence[float], title: str, *,
                value_labels: Sequence[str] | None = None, width: float = 5.6, height: float = 3.0,
                colours: Sequence[str] | None = None, legend: Mapping[str, str] | None = None) -> Figure:
    """Horizontal bars, each with its value written at its end (French format).

    ``legend`` maps a series name (e.g. a period) to its colour when colours carry one.
    """
    colours = list(colours or [style.BLEU_FRANCE] * len(values))
    value_labels = list(value_labels or [fmt_int(v) if float(v).is_integer() else str(v) for v in values])
    wrapped = ["\n".join(textwrap.wrap(lab, 28)) for lab in labels]
    with style.house_style():
        fig = _new_figure(width, height)
        ax = fig.add_axes((0.44, 0.1 if not legend else 0.2, 0.46, 0.86 if not legend else 0.76))
        ys = list(range(len(values)))[::-1]
        ax.barh(ys, values, color=colours, height=0.66)
        for y, v, text in zip(ys, values, value_labels):
            ax.text(v, y, f" {text}", va="center", ha="left", fontsize=style.CHART_TEXT_PT, fontweight="semibold")
        ax.set_yticks(ys, wrapped)
        ax.set_xlim(0, max(values) * 1.38 if values else 1)
        ax.set_xticks([])
        ax.spines["bottom"].set_visible(False)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        if legend:
            handles = [Patch(facecolor=c, label=name) for name, c in legend.items()]
            fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 0.0), ncols=1)
    return fig
