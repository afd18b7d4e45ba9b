"""The 18 regions (``data/regions.csv``): INSEE code, abbreviation, name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from esante_report.contracts.readers import Column, check_unique, matching, read_csv
from esante_report.errors import DataError, Problem, ProblemList

__all__ = ["load_regions", "REGIONS_FILE"]

REGIONS_FILE = "regions.csv"


_COLUMNS = [
    Column("code", matching(r"[0-9]{2}", "a two-digit INSEE region code as text (e.g. '84', '01')")),
    Column("abbr", matching(r"[A-Z]{2,4}", "an abbreviation of 2 to 4 capital letters (e.g. 'ARA')")),
    Column("name"),
]


def read_regions(data_dir: Path, problems: list[Problem]) -> pd.DataFrame:
    """Regions as a frame (code, abbr, name), in file order; problems are appended."""
    path = Path(data_dir) / REGIONS_FILE
    rows = read_csv(path, _COLUMNS, problems, root=data_dir)
    if not rows and not any(p.path == path for p in problems):
        problems.append(Problem(path, None, None, "no regions (expected one row per region)"))
    check_unique(rows, ("code",), path, problems)
    check_unique(rows, ("abbr",), path, problems)
    return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in _COLUMNS], dtype=object)


def load_regions(data_dir: Path) -> pd.DataFrame:
    """Regions as a frame; raises :class:`DataError` listing every problem."""
    problems: list[Problem] = ProblemList()
    frame = read_regions(data_dir, problems)
    if problems:
        raise DataError(problems)
    return frame
