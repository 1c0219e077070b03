"""The geometry family of a layer, decided in one place.

A family is what a layer is drawn and measured as: ``point`` (circles), ``line`` (paths,
lengths in metres) or ``polygon`` (filled areas, areas in 亩). ``Multi*`` types belong to
their single type's family.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import shapely

Family = Literal["point", "line", "polygon"]

_FAMILY: dict[str, Family] = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "LinearRing": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}


# The single-part type name a family is reported as (``geomap add``'s summary).
TYPE_NAME: dict[Family, str] = {"point": "Point", "line": "LineString", "polygon": "Polygon"}


def families(geom_types: Iterable[str]) -> set[str]:
    """The families of these geometry type names (``"collection"`` for a
    GeometryCollection, the type name itself for anything unknown)."""
    return {_FAMILY.get(t, "collection" if t == "GeometryCollection" else t) for t in geom_types}


# shapely.get_type_id → the GeoJSON / shapely type name.
_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


def present_types(geoms: Any) -> set[str]:
    """Geometry type names (``Polygon``, ``MultiPoint``…) of the non-missing, non-empty
    geometries of an array or GeoSeries (vectorised: a million features take milliseconds)."""
    arr = np.asarray(geoms, dtype=object)
    present = arr[~shapely.is_missing(arr) & ~shapely.is_empty(arr)]
    return {_TYPE_NAMES[int(t)] for t in np.unique(shapely.get_type_id(present))}


def family_of(geoms: Any) -> Family:
    """The one family a layer is drawn as: ``point`` or ``line`` when every present
    geometry is one; otherwise (polygons, mixtures, nothing at all) ``polygon``."""
    return family_of_types(present_types(geoms))


def family_of_types(types: set[str]) -> Family:
    """:func:`family_of` for the set of geometry type names present (a layer held in
    chunks collects them chunk by chunk)."""
    found = families(types)
    if found == {"point"}:
        return "point"
    if found == {"line"}:
        return "line"
    return "polygon"
