"""Figures are built from the data: bar heights, map colours and labels, alt texts."""

from __future__ import annotations

import matplotlib.colors as mcolors
import pandas as pd

from esante_report.authoring import plots
from esante_report.authoring import style
from esante_report.authoring.geo import load_boundaries
from esante_report.decks.post_covid.data import CATEGORIES, load_post_covid
from esante_report.decks.post_covid import vocabulary
from esante_report.decks.post_covid.blocks import PostCovidBlocks

from .conftest import DATA


def _bars(fig):
    return [p for p in fig.axes[0].patches if p.get_width() > 0 and p.get_height() > 0]


def test_stacked_bars_carry_the_seed_values_and_mark_non_reporting():
    data = load_post_covid(DATA)
    fig = plots.stacked_bars_figure(data.patients, ["IDF", "HDF"], ["2021-08", "2021-09"], CATEGORIES, value="patients",
                                    ylabel="Patients", colours=vocabulary.CATEGORY_COLOURS,
                                    hatches=vocabulary.CATEGORY_HATCHES, labels=vocabulary.CATEGORY_LABELS)
    heights = sorted(round(p.get_height()) for p in _bars(fig))
    assert heights == sorted([2, 54, 78, 2, 59, 93])            # IDF bars; HDF did not report: no bar
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels.count("n.r.") == 2 and "134" in labels and "154" in labels


def test_status_map_colours_each_region_by_its_status():
    data = load_post_covid(DATA)
    boundaries = load_boundaries(DATA / "geo" / "regions.geojson")
    cells = pd.DataFrame({"region": ["IDF", "COR"], "status": ["confirmees", "non_mise_en_place"],
                          "cells": pd.array([20, None], dtype="Int64")})
    fig = plots.status_map_figure(cells, data.regions, boundaries, colours=vocabulary.STATUS_COLOURS,
                                  hatches=vocabulary.STATUS_HATCHES)
    colours = {mcolors.to_hex(p.get_facecolor()) for ax in fig.axes for p in ax.patches}
    assert mcolors.to_hex(vocabulary.STATUS_COLOURS["confirmees"]) in colours
    assert mcolors.to_hex(vocabulary.STATUS_COLOURS["non_mise_en_place"]) in colours
    labels = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert "IDF\n20" in labels and "COR" in labels          # count written on the region, not colour alone


def test_alt_text_is_written_from_the_data():
    deck = PostCovidBlocks.load(DATA, report_date="2021-11-15", wave=3, months=["2021-08", "2021-09"])
    html = "".join(deck.patients_chart(i).html for i in range(deck.patients_chart_parts()))
    assert "Total août 2021 : 250 patients dans 10 régions ayant répondu" in html
    assert "Valeur la plus haute : IDF en septembre 2021, 154 patients" in html
    assert "sans réponse : COR, HDF, PDL" in html


def test_every_status_colour_has_readable_labels():
    for colour in vocabulary.STATUS_COLOURS.values():
        assert style.contrast_ratio(style.text_colour_on(colour), colour) >= 4.5


def _label_boxes(fig):
    """The boxes of the labels drawn on a map (text on a coloured box), as drawn by Agg."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [(t.get_text(), t.get_fontsize(), t.get_bbox_patch().get_window_extent(renderer))
            for ax in fig.axes for t in ax.texts if t.get_bbox_patch() is not None]


def _overlaps(boxes):
    return [(a, b) for i, (a, _, box_a) in enumerate(boxes) for b, _, box_b in boxes[i + 1:]
            if box_a.overlaps(box_b)]


def test_map_labels_are_chart_text_size_and_never_cover_one_another():
    """Normandie, Île-de-France and Centre-Val de Loire are small neighbours: at chart text size (14 pt),
    their labels collide unless they are moved apart. Sizes as the post_covid deck draws its maps."""
    data = load_post_covid(DATA)
    boundaries = load_boundaries(DATA / "geo" / "regions.geojson")
    ami = ["BRE", "IDF", "CVL", "NOR", "OCC", "NAQ"]
    for height in (2.5, 1.9):  # the map shrinks under a sentence of a regional deck
        boxes = _label_boxes(plots.highlight_map_figure(ami, data.regions, boundaries, width=1.3 * height,
                                                        height=height))
        assert sorted(text for text, _, _ in boxes) == sorted(ami)
        assert all(size >= 14 for _, size, _ in boxes) and not _overlaps(boxes), (height, _overlaps(boxes))
    cells = data.cells[data.cells["wave"] == 3]
    boxes = _label_boxes(plots.status_map_figure(cells, data.regions, boundaries, width=6.2, height=3.75,
                                                 colours=vocabulary.STATUS_COLOURS,
                                                 hatches=vocabulary.STATUS_HATCHES))
    assert len(boxes) == 13 and all(size >= 14 for _, size, _ in boxes) and not _overlaps(boxes), _overlaps(boxes)
