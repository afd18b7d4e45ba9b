"""Region and department boundaries (``data/geo/``) and the maps drawn from them.

Boundaries are WGS84 GeoJSON; metropolitan France is drawn in lon/lat with the
aspect of 46° N, and the five overseas regions as insets.
"""

from __future__ import annotations

import math

from shapely.geometry.base import BaseGeometry

from esante_report.contracts.boundaries import check_boundaries, load_boundaries

__all__ = ["CREDIT", "OVERSEAS", "check_boundaries", "label_point", "load_boundaries", "polygons"]

#: Credit line printed under every map (Licence Ouverte Etalab).
CREDIT = "Contours : IGN Admin Express COG 2018, INSEE COG 2018 (Licence Ouverte Etalab), simplifiés."
OVERSEAS = ("01", "02", "03", "04", "06")
ASPECT = 1 / math.cos(math.radians(46))


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
