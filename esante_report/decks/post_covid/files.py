"""The files of the post_covid deck's data folder, listed without reading them (and without pandas): what the
runner hashes for its cache and provenance before the notebook runs."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SUBDIR", "files", "data_files"]

SUBDIR = "post_covid"


def files(data_dir: Path) -> dict[str, Path]:
    base = Path(data_dir) / SUBDIR
    return {
        "waves": base / "waves.csv",
        "patients": base / "patients.csv",
        "cells": base / "cells.csv",
        "milestones": base / "milestones.csv",
        "measures": base / "measures.yaml",
    }


def data_files(data_dir: Path | str) -> tuple[Path, ...]:
    """Every file the deck reads (for provenance): regions, the post_covid files, region boundaries."""
    data_dir = Path(data_dir)
    return (data_dir / "regions.csv", *files(data_dir).values(), data_dir / "geo" / "regions.geojson")
