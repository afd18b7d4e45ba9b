"""Deck code of the catalogue deck: its own checks, data files and CSS (see :mod:`esante_report.decks.registry`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from esante_report.contracts.readers import LocDict, kind
from ...errors import DataError, Problem

__all__ = ["check", "data_files", "STYLESHEET"]

STYLESHEET = Path(__file__).parent / "deck.css"
#: what the deck's notebook imports: a warm kernel of a batch imports it before the deck runs
KERNEL_IMPORTS = ("esante_report.decks.catalogue.blocks",)


def data_files(data_dir: Path) -> tuple[Path, ...]:
    from .files import data_files as files  # no pandas: the runner lists the files before any work
    return files(data_dir)


def check(params: LocDict, ctx) -> dict[str, Any] | None:
    """The data of the catalogue and the region whose departments are mapped."""
    from esante_report.contracts.boundaries import check_boundaries
    from .data import load_catalogue

    path, data_dir, problems = ctx.path, ctx.data_dir, ctx.problems
    before = len(problems)
    try:
        data = load_catalogue(data_dir)
    except DataError as exc:
        problems.extend(exc.problems)
        data = None
    check_boundaries(data_dir, ("regions.geojson", "departements.geojson"), problems)
    region = params.get("region")
    regions = list(data.regions["abbr"]) if data is not None else None
    if not isinstance(region, str):
        problems.append(Problem(path, params.line_of("region"), "region",
                                f"expected a region abbreviation of regions.csv such as 'OCC', got {kind(region)}"))
    elif regions is not None and region not in regions:
        problems.append(Problem(path, params.line_of("region"), "region",
                                f"unknown region {kind(region)} (expected one of {', '.join(regions)})"))
    if len(problems) > before:
        return None
    return {"region": region}
