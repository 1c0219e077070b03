"""The geometry encoding of fast layers: quantised, delta-encoded typed arrays.

Large layers are drawn by the fast canvas layer (``assets/js/fast.js``), which reads its
geometry from the structure :func:`encode_fast` returns (``LayerData.fast`` in
:mod:`geomap.payload`): coordinates quantised to 1e-6 degree, delta-encoded as int16 with
escapes for large steps, plus ring and feature offsets, each base64 of little-endian arrays.
"""

from __future__ import annotations

import base64
from typing import TypedDict

import numpy as np
import shapely

FAST_SCALE = 1_000_000  # coordinates quantised to 1e-6 degree (about 0.1 m)


class FastGeometry(TypedDict):
    """The fast layer's geometry, as ``assets/js/fast.js`` decodes it."""

    x0: float  #: longitude subtracted before quantising
    y0: float  #: latitude subtracted before quantising
    scale: int  #: quantised units per degree
    nVertices: int  #: number of vertices (pairs) in ``coords``
    coords: str  #: base64 int16 deltas (dx, dy interleaved); -32768 escapes a 32-bit delta
    rings: str  #: base64 int32: start of each ring (line, point) in vertices, plus the end
    features: str  #: base64 int32: first ring of each feature, plus the end


def escape_int16(deltas: np.ndarray) -> np.ndarray:
    """Deltas as int16, a delta outside ±32767 written as -32768 then its high and low
    16 bits (decoded by fast.js)."""
    big = (deltas > 32767) | (deltas < -32767)
    width = np.where(big, np.int8(3), np.int8(1))
    pos = np.empty(len(deltas), dtype=np.int64 if 3 * len(deltas) >= 2**31 else np.int32)
    if len(deltas):
        pos[0] = 0
        np.cumsum(width[:-1], dtype=pos.dtype, out=pos[1:])
    out = np.empty(int(pos[-1]) + int(width[-1]) if len(deltas) else 0, dtype=np.int16)
    small = ~big
    out[pos[small]] = deltas[small]
    wide = deltas[big].astype(np.int64) & 0xFFFFFFFF
    out[pos[big]] = -32768
    out[pos[big] + 1] = (wide >> 16).astype(np.uint16).view(np.int16)
    out[pos[big] + 2] = (wide & 0xFFFF).astype(np.uint16).view(np.int16)
    return out


def _b64(array: np.ndarray) -> str:
    # A little-endian view of a contiguous array is read in place (no copy of the bytes).
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return base64.b64encode(data.data.cast("B")).decode("ascii")


#: Features encoded at a time: the float64 coordinates and integer temporaries of one chunk
#: are small (a 1 M-parcel layer's whole-layer temporaries peaked ~700 MB above the layer).
CHUNK_FEATURES = 100_000


# An empty geometry of each type :func:`shapely.to_ragged_array` reads.
_EMPTY = {
    shapely.GeometryType.POINT: shapely.Point(),
    shapely.GeometryType.LINESTRING: shapely.LineString(),
    shapely.GeometryType.POLYGON: shapely.Polygon(),
    shapely.GeometryType.MULTIPOINT: shapely.MultiPoint(),
    shapely.GeometryType.MULTILINESTRING: shapely.MultiLineString(),
    shapely.GeometryType.MULTIPOLYGON: shapely.MultiPolygon(),
}


def _ragged(
    geoms: np.ndarray, kind: shapely.GeometryType
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates, ring (or line, or point) offsets into them, and feature offsets into the
    rings, read by :func:`shapely.to_ragged_array` without copying any geometry.

    ``kind`` is the layer's type as ``to_ragged_array`` reads the whole layer (the multi
    type when single and multi geometries are mixed): an empty geometry of that type is
    appended (and its entries dropped), so a chunk is read as it would be within the layer
    (missing and empty geometries count differently per type)."""
    n = len(geoms)
    padded = np.concatenate([geoms, np.array([_EMPTY[kind]], dtype=object)])
    _, coords, offsets = shapely.to_ragged_array(padded)
    if kind == shapely.GeometryType.POINT:
        valid = ~np.isnan(coords[:, 0])
        coords = coords[valid]
        return coords, np.arange(len(coords) + 1), np.concatenate([[0], np.cumsum(valid[:n])])
    if kind == shapely.GeometryType.MULTIPOINT:
        # Counted from the geometries: to_ragged_array counts an empty Point among
        # MultiPoints as one part but gives it no coordinates.
        counts = shapely.get_num_coordinates(geoms)
        return coords, np.arange(len(coords) + 1), np.concatenate([[0], np.cumsum(counts)])
    if kind == shapely.GeometryType.LINESTRING:
        return coords, offsets[0][: n + 1], np.arange(n + 1)
    if kind in (shapely.GeometryType.MULTILINESTRING, shapely.GeometryType.POLYGON):
        return coords, offsets[0], offsets[1][: n + 1]
    # MultiPolygon: rings of polygons of features.
    return coords, offsets[0], offsets[1][offsets[2][: n + 1]]


def _chunk(
    geoms: np.ndarray, kind: shapely.GeometryType, family: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_ragged` of some features, polygon rings without their closing vertex (it
    repeats the first: the canvas closes the path itself)."""
    coords, ring_start, feature_ring = _ragged(geoms, kind)
    if family == "polygon":
        counts = np.diff(ring_start)
        keep = np.ones(len(coords), dtype=bool)
        keep[ring_start[1:][counts > 0] - 1] = False
        coords = coords[keep]
        ring_start = np.concatenate([[0], np.cumsum(np.maximum(counts - 1, 0))])
    return coords, np.asarray(ring_start), np.asarray(feature_ring)


_SINGLE = {"point": shapely.Point(), "line": shapely.LineString(), "polygon": shapely.Polygon()}


def encode_fast(geoms: np.ndarray, family: str) -> FastGeometry:
    """Geometry for the fast canvas layer: rings of coordinates quantised to 1e-6 degree,
    delta-encoded as int16 with escapes, plus ring and feature offsets (base64).

    Encoded :data:`CHUNK_FEATURES` at a time: the bytes are those of one pass over the
    whole layer (quantising is per coordinate, the delta chain runs on across chunks)."""
    chunks = [geoms[i : i + CHUNK_FEATURES] for i in range(0, len(geoms), CHUNK_FEATURES)]
    chunks = chunks or [geoms]
    # A first pass: the layer's type (multi when any feature is) and the origin, the floor
    # of the smallest coordinate (those of the rings, closing vertices included).
    kind = shapely.get_type_id(_SINGLE[family])
    lo = np.full(2, np.inf)
    for chunk in chunks:
        kind = max(kind, int(shapely.get_type_id(chunk).max(initial=-1)))
        coords = shapely.get_coordinates(chunk)
        if len(coords):
            lo = np.minimum(lo, [coords[:, 0].min(), coords[:, 1].min()])
        del coords
    x0 = float(np.floor(lo[0] * FAST_SCALE) / FAST_SCALE) if np.isfinite(lo[0]) else 0.0
    y0 = float(np.floor(lo[1] * FAST_SCALE) / FAST_SCALE) if np.isfinite(lo[1]) else 0.0
    deltas16: list[np.ndarray] = []
    rings: list[np.ndarray] = []
    features: list[np.ndarray] = []
    n_vertices = n_rings = 0
    last = np.zeros((1, 2), dtype=np.int32)
    for chunk in chunks:
        coords, ring_start, feature_ring = _chunk(chunk, shapely.GeometryType(kind), family)
        # int32 is enough: 360 degrees are 3.6e8 units.
        q = np.empty((len(coords), 2), dtype=np.int32)
        q[:, 0] = np.round((coords[:, 0] - x0) * FAST_SCALE)
        q[:, 1] = np.round((coords[:, 1] - y0) * FAST_SCALE)
        del coords
        deltas16.append(escape_int16(np.diff(q, axis=0, prepend=last).reshape(-1)))
        if len(q):
            last = q[-1:]
        rings.append((ring_start[:-1] + n_vertices).astype(np.int32))
        features.append((feature_ring[:-1] + n_rings).astype(np.int32))
        n_vertices += int(ring_start[-1])
        n_rings += int(feature_ring[-1])
    rings.append(np.array([n_vertices], dtype=np.int32))
    features.append(np.array([n_rings], dtype=np.int32))
    return {
        "x0": x0,
        "y0": y0,
        "scale": FAST_SCALE,
        "nVertices": n_vertices,
        "coords": _b64(np.concatenate(deltas16)),
        "rings": _b64(np.concatenate(rings)),
        "features": _b64(np.concatenate(features)),
    }
