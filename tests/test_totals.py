"""Headline totals: per month, all categories added, the regions behind the figure, the partial ones."""

from __future__ import annotations

import pytest

from esante_report.decks.post_covid.data import load_post_covid
from esante_report.decks.post_covid.totals import headline_totals

from .conftest import DATA
from .test_changes import _write


@pytest.fixture
def two_waves(tmp_path):
    return load_post_covid(_write(tmp_path / "data"))


def test_headline_totals_of_the_seed():
    data = load_post_covid(DATA)
    august, september = headline_totals(data, 3, ["2021-08", "2021-09"])
    assert (august.total, august.region_count, september.total, september.region_count) == (250, 10, 286, 8)
    # ARA gave only women (0), CVL and NOR men and women: their bars are not complete totals
    assert august.partial == ["ARA", "CVL", "NOR"] and september.partial == []


def test_headline_totals_synthetic(two_waves):
    (november,) = headline_totals(two_waves, 2, ["2021-11"])
    assert (november.total, november.regions, november.partial) == (137, ["BRE", "IDF", "OCC", "PACA"], ["IDF"])
