"""Region and department boundaries (``data/geo/*.geojson``): read and checked as a data file.

Boundaries are WGS84 GeoJSON FeatureCollections of (Multi)Polygons with text properties ``code`` and
``nom``. The maps drawn from them are in :mod:`esante_report.authoring.geo`.
"""

from __future__ import annotations

import json
from pathlib import Path

from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from esante_report.contracts.readers import usable_file
from esante_report.errors import DataError, Problem

__all__ = ["MAX_GEOJSON_BYTES", "check_boundaries", "load_boundaries"]

_GEOMETRIES = ("Polygon", "MultiPolygon")
#: largest boundaries file read (the simplified departments are 250 KB)
MAX_GEOJSON_BYTES = 50 << 20
_EXPECTED = "expected GeoJSON boundaries with properties code, nom"


def load_boundaries(path: Path, root: Path | None = None) -> dict[str, tuple[str, BaseGeometry]]:
    """``{code: (name, geometry)}`` from a GeoJSON FeatureCollection of (Multi)Polygons.

    Any breach (not JSON, nested too deep, a geometry other than Polygon or
    MultiPolygon, missing properties) is one :class:`DataError` line naming the
    file and the feature. With ``root``, a symlink leaving that folder is refused.
    """
    path = Path(path)
    problems: list[Problem] = []
    if not usable_file(path, problems, "GeoJSON boundaries with properties code, nom", root):
        raise DataError(problems)
    try:
        if path.stat().st_size > MAX_GEOJSON_BYTES:
            raise DataError([Problem(path, None, None, f"too large: {path.stat().st_size:,} bytes "
                                     f"(expected at most {MAX_GEOJSON_BYTES:,}; {_EXPECTED})")])
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise DataError([Problem(path, None, None, f"cannot be read: {exc.strerror or type(exc).__name__} "
                                 f"({_EXPECTED})")]) from None
    except UnicodeDecodeError as exc:
        raise DataError([Problem(path, None, None, f"not valid UTF-8 (byte {exc.start}); {_EXPECTED}")]) from None
    try:
        collection = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise DataError([Problem(path, line, None, f"invalid JSON ({getattr(exc, 'msg', exc)}); {_EXPECTED}")]) from None
    except RecursionError:
        raise DataError([Problem(path, None, None, f"invalid GeoJSON: nested too deep; {_EXPECTED}")]) from None
    features = collection.get("features") if isinstance(collection, dict) else None
    if not isinstance(features, list):
        raise DataError([Problem(path, None, "features", f"missing (expected a FeatureCollection; {_EXPECTED})")])
    out = {}
    for i, feature in enumerate(features, start=1):
        where = f"feature {i}"
        props = feature.get("properties") if isinstance(feature, dict) else None
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(props, dict) or not isinstance(props.get("code"), str) or not isinstance(props.get("nom"), str):
            problems.append(Problem(path, None, "properties", f"{where}: expected text properties code and nom"))
            continue
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind not in _GEOMETRIES:
            problems.append(Problem(path, None, "geometry", f"{where} ({props['code']!r}): expected a Polygon or "
                                    f"MultiPolygon, got {str(kind)[:40]!r}"))
            continue
        try:
            out[props["code"]] = (props["nom"], shape(geometry))
        except (ShapelyError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            problems.append(Problem(path, None, "geometry", f"{where} ({props['code']!r}): invalid coordinates "
                                    f"({type(exc).__name__}; expected rings of [longitude, latitude] pairs)"))
    if problems:
        raise DataError(problems)
    return out


def check_boundaries(data_dir: Path, names: tuple[str, ...], problems: list[Problem]) -> None:
    """The boundaries files ``names`` of ``<data>/geo/``, checked; problems appended."""
    for name in names:
        try:
            load_boundaries(Path(data_dir) / "geo" / name, root=data_dir)
        except DataError as exc:
            problems.extend(exc.problems)
