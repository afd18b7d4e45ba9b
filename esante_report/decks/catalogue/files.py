"""The files of the catalogue deck's data folder, listed without reading them (and without pandas): what the
runner hashes for its cache and provenance before the notebook runs."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SUBDIR", "files", "data_files"]

SUBDIR = "catalogue"


def files(data_dir: Path) -> dict[str, Path]:
    base = Path(data_dir) / SUBDIR
    return {"services": base / "services.yaml", "support": base / "support.yaml",
            "principles": base / "principles.yaml", "indicators": base / "indicators.csv",
            "deployments": base / "deployments.csv", "deck": base / "deck.yaml"}


def data_files(data_dir: Path | str) -> tuple[Path, ...]:
    """Every file the deck reads (for provenance): regions, the catalogue files, boundaries."""
    data_dir = Path(data_dir)
    return (data_dir / "regions.csv", *files(data_dir).values(), data_dir / "geo" / "regions.geojson",
            data_dir / "geo" / "departements.geojson")
