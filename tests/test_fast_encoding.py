"""The fast layer's geometry encoding decodes back to the coordinates to 1e-6 degree,
including deltas too large for int16 (escaped) and polygons with holes and several parts."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import shapely
from shapely.geometry import (
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    box,
)

from geomap import fastcodec
from geomap.render import encode_fast


def decode(fd: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The decoder of geomap-fast.js, in Python."""
    s = np.frombuffer(base64.b64decode(fd["coords"]), dtype="<i2")
    out, acc, k, i = [], [0, 0], 0, 0
    while i < len(s):
        d = int(s[i])
        if d == -32768:
            d = ((int(s[i + 1]) << 16) | (int(s[i + 2]) & 0xFFFF)) & 0xFFFFFFFF
            d = d - (1 << 32) if d >= 1 << 31 else d
            i += 2
        acc[k & 1] += d
        out.append(acc[k & 1])
        k += 1
        i += 1
    q = np.array(out, dtype=float).reshape(-1, 2)
    xy = np.column_stack([fd["x0"] + q[:, 0] / fd["scale"], fd["y0"] + q[:, 1] / fd["scale"]])
    rings = np.frombuffer(base64.b64decode(fd["rings"]), dtype="<i4")
    feats = np.frombuffer(base64.b64decode(fd["features"]), dtype="<i4")
    return xy, rings, feats


def test_polygons_with_holes_parts_and_far_apart_features_round_trip() -> None:
    shell = [(119.40, 28.40), (119.41, 28.40), (119.41, 28.41), (119.40, 28.41)]
    hole = [(119.402, 28.402), (119.404, 28.402), (119.404, 28.404)]
    geoms = np.array(
        [
            Polygon(shell, [hole]),
            None,
            MultiPolygon(
                [box(119.5, 28.5, 119.5001, 28.5001), box(121.9, 30.1, 121.9002, 30.1002)]
            ),
        ],
        dtype=object,
    )
    fd = encode_fast(geoms, "polygon")
    xy, rings, feats = decode(fd)
    assert fd["nVertices"] == len(xy)
    assert feats.tolist() == [0, 2, 2, 4]  # feature 0: shell + hole; 1: none; 2: two parts
    # Each ring drops its closing vertex; the decoded vertices equal the originals.
    assert np.allclose(xy[rings[0] : rings[1]], np.array(shell), atol=1e-6)
    assert np.allclose(xy[rings[1] : rings[2]], np.array(hole), atol=1e-6)
    expected_far = shapely.get_coordinates(shapely.get_exterior_ring(geoms[2].geoms[1]))[:-1]
    assert np.allclose(xy[rings[3] : rings[4]], expected_far, atol=1e-6)


def test_lines_and_points() -> None:
    lines = np.array(
        [LineString([(119.0, 28.0), (119.5, 28.2), (119.5000004, 28.2)])], dtype=object
    )
    xy, rings, feats = decode(encode_fast(lines, "line"))
    assert rings.tolist() == [0, 3] and feats.tolist() == [0, 1]
    assert np.allclose(xy, [(119.0, 28.0), (119.5, 28.2), (119.5, 28.2)], atol=1e-6)
    points = np.array([Point(119.48, 28.45), Point(119.481234, 28.459876)], dtype=object)
    xy, rings, feats = decode(encode_fast(points, "point"))
    assert feats.tolist() == [0, 1, 2]
    assert np.allclose(xy, [(119.48, 28.45), (119.481234, 28.459876)], atol=1e-6)


MIXED = {
    "polygon": [
        box(119.40, 28.40, 119.41, 28.41),
        None,
        Polygon(),
        MultiPolygon([box(119.5, 28.5, 119.5001, 28.5001), box(121.9, 30.1, 121.9002, 30.1002)]),
        None,
        None,
        Polygon(
            box(119.3, 28.3, 119.39, 28.39).exterior, [box(119.31, 28.31, 119.32, 28.32).exterior]
        ),
        MultiPolygon(),
        box(119.45, 28.45, 119.46, 28.47),
    ],
    "line": [
        LineString([(119.0, 28.0), (119.5, 28.2)]),
        None,
        None,
        LineString(),
        MultiLineString([[(119.1, 28.1), (119.2, 28.3)], [(119.3, 28.3), (125.0, 31.0)]]),
        None,
        LineString([(119.6, 28.6), (119.7, 28.7), (119.8, 28.6)]),
    ],
    "point": [Point(119.48, 28.45), None, Point(), MultiPoint([(119.1, 28.2), (119.2, 28.3)])],
}


@pytest.mark.parametrize("family", sorted(MIXED))
@pytest.mark.parametrize("singles", [False, True])
def test_chunked_encoding_is_the_whole_layers(family: str, singles: bool, monkeypatch) -> None:
    """Layers are encoded a chunk of features at a time (memory at 1 M parcels): the bytes
    are the same at every chunk size, with missing, empty and multi-part geometries falling
    anywhere (a chunk without multi-part features is read as the layer's multi type)."""
    items = MIXED[family]
    if singles:  # the layer's type is then the single one (missing/empty count differently)
        items = [g for g in items if g is None or not g.geom_type.startswith("Multi")]
    geoms = np.array(items, dtype=object)
    monkeypatch.setattr(fastcodec, "CHUNK_FEATURES", len(geoms))
    whole = encode_fast(geoms, family)
    xy, rings, feats = decode(whole)
    assert len(feats) == len(geoms) + 1 and feats[-1] == len(rings) - 1
    assert rings[-1] == len(xy) == whole["nVertices"]
    for size in range(1, len(geoms)):
        monkeypatch.setattr(fastcodec, "CHUNK_FEATURES", size)
        assert encode_fast(geoms, family) == whole, size
