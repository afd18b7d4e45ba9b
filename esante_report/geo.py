"""Region and department boundaries (``data/geo/``) and the maps drawn from them.

Boundaries are WGS84 GeoJSON; metropolitan France is drawn in lon/lat with the
aspect of 46° N, and the five overseas regions as insets.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from .errors import DataError, Problem

__all__ = ["CREDIT", "load_boundaries", "OVERSEAS"]

#: Credit line printed under every map (Licence Ouverte Etalab).
CREDIT = "Contours : IGN Admin Express COG 2018, INSEE COG 2018 (Licence Ouverte Etalab), simplifiés."
OVERSEAS = ("01", "02", "03", "04", "06")
ASPECT = 1 / math.cos(math.radians(46))


def load_boundaries(path: Path) -> dict[str, tuple[str, BaseGeometry]]:
    """``{code: (name, geometry)}`` from a GeoJSON FeatureCollection."""
    path = Path(path)
    if not path.is_file():
        raise DataError([Problem(path, None, None, "file not found (expected GeoJSON boundaries with properties code, nom)")])
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
        return {f["properties"]["code"]: (f["properties"]["nom"], shape(f["geometry"]))
                for f in collection["features"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError([Problem(path, None, None, f"invalid GeoJSON ({exc}); expected features with properties code, nom")]) from None


def polygons(geometry: BaseGeometry) -> list[list[tuple[float, float]]]:
    """Exterior rings of a (multi)polygon, as coordinate lists."""
    geoms = getattr(geometry, "geoms", [geometry])
    return [list(g.exterior.coords) for g in geoms]


def label_point(geometry: BaseGeometry) -> tuple[float, float]:
    """A point inside the largest part, where a label can go."""
    geoms = list(getattr(geometry, "geoms", [geometry]))
    largest = max(geoms, key=lambda g: g.area)
    point = largest.representative_point()
    return point.x, point.y
