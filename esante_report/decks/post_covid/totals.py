"""Headline totals of the patients slides: per month, every category added, who is behind it, who is partial.

Kept apart from :func:`esante_report.post_covid.summarise_patients` (whose fields
do not change): the headline is one figure per month, with the number of regions
behind it and the regions whose figure is incomplete (``docs/data.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .data import CATEGORIES, PostCovidData

__all__ = ["MonthHeadline", "headline_totals"]


@dataclass(frozen=True)
class MonthHeadline:
    """The headline figure of one month: every category added over the regions that reported it.

    ``partial`` lists the regions that reported some but not all categories that
    month: their part of the total is incomplete, and the deck marks them.
    """

    month: str
    total: int                 # sum of every reported value that month (blanks add nothing)
    regions: list[str]         # regions with at least one value that month (regions.csv order)
    partial: list[str]         # among them, those missing one or more categories

    @property
    def region_count(self) -> int:
        return len(self.regions)


def headline_totals(data: PostCovidData, wave: int, months: list[str],
                    regions: list[str] | None = None) -> list[MonthHeadline]:
    """Per month of ``wave``: total of all categories, the regions behind it, the partial regions.

    ``regions`` restricts the totals to those regions (one region's deck).
    """
    p = data.patients
    rows = p[(p["wave"] == wave) & (p["month"].isin(months)) & p["patients"].notna()]
    if regions is not None:
        rows = rows[rows["region"].isin(regions)]
    order = list(data.regions["abbr"])
    out = []
    for month in months:
        month_rows = rows[rows["month"] == month]
        by_region = month_rows.groupby("region")["category"].nunique()
        regions = [r for r in order if r in by_region.index]
        partial = [r for r in regions if by_region[r] < len(CATEGORIES)]
        out.append(MonthHeadline(month=month, total=int(month_rows["patients"].sum()), regions=regions,
                                 partial=partial))
    return out

