"""The 18 regions (``data/regions.csv``): INSEE code, abbreviation, name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from esante_report.errors import DataError, Problem, ProblemList

__all__ = ["load_regions", "REGIONS_FILE"]

REGIONS_FILE = "regions.csv"


_COLUMNS = ("code", "abbr", "name")


def read_regions(data_dir: Path, problems: list[Problem], tables=None) -> pd.DataFrame:
    """Regions as a frame (code, abbr, name), in file order, checked by ``regions.schema.json``; problems are
    appended. ``tables``: the :class:`~esante_report.contracts.schema.Tables` of a loader reading other tables too."""
    from esante_report.contracts.schema import Tables

    tables = tables if tables is not None else Tables(data_dir, problems)
    path = Path(data_dir) / REGIONS_FILE
    rows = tables.rows(REGIONS_FILE)
    if not rows and not any(p.path == path for p in problems):
        problems.append(Problem(path, None, None, "no regions (expected one row per region)"))
    return pd.DataFrame([{c: r.get(c) for c in _COLUMNS} for r in rows], columns=list(_COLUMNS), dtype=object)


def load_regions(data_dir: Path) -> pd.DataFrame:
    """Regions as a frame; raises :class:`DataError` listing every problem."""
    problems: list[Problem] = ProblemList()
    frame = read_regions(data_dir, problems)
    if problems:
        raise DataError(problems)
    return frame
