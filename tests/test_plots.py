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
