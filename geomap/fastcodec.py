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
    return base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode("ascii")


def _ragged(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates, ring (or line, or point) offsets into them, and feature offsets into the
    rings, read by :func:`shapely.to_ragged_array` without copying any geometry."""
    n = len(geoms)
    kind, coords, offsets = shapely.to_ragged_array(geoms)
    if kind == shapely.GeometryType.POINT:
        valid = ~np.isnan(coords[:, 0])
        coords = coords[valid]
        return coords, np.arange(len(coords) + 1), np.concatenate([[0], np.cumsum(valid)])
    if kind == shapely.GeometryType.MULTIPOINT:
        return coords, np.arange(len(coords) + 1), offsets[0]
    if kind == shapely.GeometryType.LINESTRING:
        return coords, offsets[0], np.arange(n + 1)
    if kind in (shapely.GeometryType.MULTILINESTRING, shapely.GeometryType.POLYGON):
        return coords, offsets[0], offsets[1]
    # MultiPolygon: rings of polygons of features.
    return coords, offsets[0], offsets[1][offsets[2]]


def encode_fast(geoms: np.ndarray, family: str) -> FastGeometry:
    """Geometry for the fast canvas layer: rings of coordinates quantised to 1e-6 degree,
    delta-encoded as int16 with escapes, plus ring and feature offsets (base64)."""
    coords, ring_start, feature_ring = _ragged(geoms)
    if family == "polygon":
        # The closing vertex repeats the first: the canvas closes the path itself.
        counts = np.diff(ring_start)
        keep = np.ones(len(coords), dtype=bool)
        keep[ring_start[1:][counts > 0] - 1] = False
        coords = coords[keep]
        ring_start = np.concatenate([[0], np.cumsum(np.maximum(counts - 1, 0))])
    ring_start = ring_start.astype(np.int32)
    feature_ring = np.asarray(feature_ring).astype(np.int32)
    x0 = float(np.floor(coords[:, 0].min() * FAST_SCALE) / FAST_SCALE) if len(coords) else 0.0
    y0 = float(np.floor(coords[:, 1].min() * FAST_SCALE) / FAST_SCALE) if len(coords) else 0.0
    # int32 is enough: 360 degrees are 3.6e8 units (the transient arrays of a 1 M-parcel
    # layer are half the size of int64 ones).
    n_vertices = len(coords)
    q = np.empty((n_vertices, 2), dtype=np.int32)
    q[:, 0] = np.round((coords[:, 0] - x0) * FAST_SCALE)
    q[:, 1] = np.round((coords[:, 1] - y0) * FAST_SCALE)
    del coords
    deltas = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int32)).reshape(-1)
    del q
    return {
        "x0": x0,
        "y0": y0,
        "scale": FAST_SCALE,
        "nVertices": n_vertices,
        "coords": _b64(escape_int16(deltas)),
        "rings": _b64(ring_start),
        "features": _b64(feature_ring),
    }
