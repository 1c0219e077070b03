"""Deterministic GeoJSON writing and reading for atlas layers.

Layers are stored as RFC 7946 FeatureCollections, WGS84, coordinates rounded to at most
7 decimals (about 1 cm at Xiping), one feature per line so that diffs stay readable and the
same data always gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from numpy.typing import NDArray

from geomap.chunks import ChunkedLayer, GeometryChunks
from geomap.errors import DataError

PRECISION = 7


def json_value(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN/NaT/None as null."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, pd.Timestamp | np.datetime64):
        return None if pd.isna(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, np.ndarray):  # list properties as pyogrio reads them
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if pd.isna(value):
        return None
    return str(value)


def round_geometries(geoms: Any, precision: int = PRECISION) -> np.ndarray:
    """Round every coordinate of ``geoms`` to ``precision`` decimals (vectorised)."""
    arr = np.asarray(geoms, dtype=object)
    rounded: np.ndarray = shapely.transform(arr, lambda xy: np.round(xy, precision))
    return rounded


_LONG_DECIMAL = re.compile(r"-?\d+\.\d{8,}(?:[eE][-+]?\d+)?")


def geometries_json(geoms: Any, precision: int = PRECISION) -> list[str | None]:
    """GeoJSON text of each geometry, coordinates rounded to ``precision`` decimals.

    GEOS prints some rounded doubles with 17 significant digits (``28.457592000000002``);
    those few numbers are rewritten in their shortest form so the text has at most
    ``precision`` decimals too.
    """
    rounded = round_geometries(geoms, precision)
    texts = shapely.to_geojson(rounded)

    def shortest(match: re.Match[str]) -> str:
        return repr(round(float(match.group(0)), precision))

    # Only strings with a run like 0000000 or 9999999 can hold such a number: testing for the
    # runs first keeps the regex off the other 99.9 % of geometries.
    return [
        t
        if t is None or ("0000000" not in t and "9999999" not in t)
        else _LONG_DECIMAL.sub(shortest, t)
        for t in texts
    ]


# (single type id, multi type id, constructor) for the three families of simple geometries.
_FAMILIES = (
    (shapely.GeometryType.POINT, shapely.GeometryType.MULTIPOINT, shapely.multipoints),
    (
        shapely.GeometryType.LINESTRING,
        shapely.GeometryType.MULTILINESTRING,
        shapely.multilinestrings,
    ),
    (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON, shapely.multipolygons),
)


def _promotions(type_ids: NDArray[np.int64]) -> list[tuple[int, Any]]:
    """The (single type id, Multi constructor) of each family that holds both single and
    multi parts among ``type_ids``: those singles are written as one-part Multi*."""
    present = set(np.unique(type_ids).tolist())
    return [(single, build) for single, multi, build in _FAMILIES if {single, multi} <= present]


def _promote(geoms: Any, promotions: list[tuple[int, Any]]) -> np.ndarray:
    arr = np.array(geoms, dtype=object)
    if not promotions:
        return arr
    types = shapely.get_type_id(arr)
    for single, build in promotions:
        singles = np.flatnonzero(types == single)
        if len(singles):
            arr[singles] = build(arr[singles], indices=np.arange(len(singles)))
    return arr


def promote_to_multi(geoms: Any) -> np.ndarray:
    """``geoms`` with every single part made a one-part Multi* where a family is mixed.

    A layer holding both Polygon and MultiPolygon (or LineString and MultiLineString, Point
    and MultiPoint) has no one geometry type, and GDAL, QGIS and Shapefile/GeoPackage writers
    see "Unknown (any)"; as all-Multi it has one. Layers of one kind are left as they are.
    """
    arr = np.array(geoms, dtype=object)
    return _promote(arr, _promotions(shapely.get_type_id(arr)))


def dumps_layer(gdf: gpd.GeoDataFrame, precision: int = PRECISION) -> bytes:
    """Serialise ``gdf`` (already in WGS84) as a deterministic GeoJSON FeatureCollection;
    a layer that mixes single and multi parts is written all-Multi (:func:`promote_to_multi`)."""
    out = io.BytesIO()
    attrs = pd.DataFrame(gdf[[c for c in gdf.columns if c != gdf.geometry.name]])
    write_features(out, ChunkedLayer(attrs, GeometryChunks.of(gdf.geometry.values)), precision)
    return out.getvalue()


class Sink(Protocol):
    """Where :func:`write_features` writes: a binary file, or anything with ``write``."""

    def write(self, data: bytes, /) -> object: ...


def write_features(out: Sink, layer: ChunkedLayer, precision: int = PRECISION) -> None:
    """Write ``layer`` (WGS84) to ``out`` in the layout of :func:`dumps_layer`, one chunk at a
    time: only one chunk's text is ever held."""
    attrs, geoms = layer.attrs, layer.geoms
    columns = list(attrs.columns)
    promotions = _promotions(geoms.type_ids())
    out.write(_HEADER)
    for start, chunk in geoms:
        geom_json = geometries_json(_promote(chunk, promotions), precision)
        part = attrs.iloc[start : start + len(chunk)]
        records = part.to_dict(orient="records") if columns else [{}] * len(chunk)
        lines = []
        for props, gj in zip(records, geom_json, strict=True):
            props_json = orjson.dumps({str(k): json_value(v) for k, v in props.items()}).decode()
            geometry = gj if gj is not None else "null"
            lines.append(
                '{"type":"Feature","properties":' + props_json + ',"geometry":' + geometry + "}"
            )
        if start:
            out.write(b",\n")
        out.write(",\n".join(lines).encode("utf-8"))
    out.write(b"\n]}\n")


_HEADER = b'{"type":"FeatureCollection","features":[\n'
_FEATURE_START = b'{"type":"Feature","properties":'
_GEOMETRY_KEY = b',"geometry":'


def _read_canonical(data: bytes) -> gpd.GeoDataFrame | None:
    """Fast path for files in the layout :func:`dumps_layer` writes (one feature per line):
    properties are parsed per line and geometries by vectorised GEOS calls, instead of
    turning every coordinate into a Python float. None when the file has another layout.

    Lines are taken a chunk at a time, so at most one chunk of geometry text is held beside
    the file's bytes and the finished geometries.
    """
    if b"\r\n" in data[: len(_HEADER) + 1]:
        # Saved on Windows (an editor, or git with core.autocrlf): CR never occurs inside a
        # JSON string, so dropping it before each line break changes layout only.
        data = data.replace(b"\r\n", b"\n")
    end = data.rstrip().rfind(b"\n]}")
    if not data.startswith(_HEADER) or end < 0 or end + 3 != len(data.rstrip()):
        return None
    # Properties as tuples while every feature has the same keys in the same order (as
    # dumps_layer writes them): a tuple is a quarter of a dict, and pandas builds the same
    # frame from either (1 M parcels: 170 MB less at the read's peak).
    props: list[Any] = []
    keys: tuple[str, ...] | None = None
    shapes: list[np.ndarray] = []
    pos, chunk = len(_HEADER), 20_000
    while pos < end:
        geoms: list[bytes | None] = []
        while pos < end and len(geoms) < chunk:
            stop = data.find(b",\n", pos, end)
            stop = end if stop < 0 else stop
            line = data[pos:stop]
            pos = stop + 2
            cut = line.rfind(_GEOMETRY_KEY)
            if not line.startswith(_FEATURE_START) or cut < 0 or not line.endswith(b"}"):
                return None
            try:
                record = orjson.loads(line[len(_FEATURE_START) : cut])
            except orjson.JSONDecodeError:
                return None
            if not isinstance(record, dict):
                return None
            if keys is None and not props:
                keys = tuple(record)
            if keys and tuple(record) == keys:
                props.append(tuple(record.values()))
            else:
                if keys is not None:  # keys differ from here on: back to dicts
                    props = [dict(zip(keys, row, strict=True)) for row in props]
                    keys = None
                props.append(record)
            geometry = line[cut + len(_GEOMETRY_KEY) : -1]
            geoms.append(None if geometry == b"null" else geometry)
        try:
            shapes.append(shapely.from_geojson(np.array(geoms, dtype=object)))
        except (shapely.errors.GEOSException, ValueError, TypeError):
            return None
    if not props:
        frame = pd.DataFrame()
    elif keys:
        frame = pd.DataFrame.from_records(props, columns=list(keys))
    else:
        frame = pd.DataFrame.from_records(props)
    del props
    all_shapes = np.concatenate(shapes) if shapes else np.array([], dtype=object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(all_shapes, crs="EPSG:4326"))


def read_layer(path: Path) -> gpd.GeoDataFrame:
    """Read an atlas layer file; a broken file raises one clear :class:`DataError`. (Commands
    read layers through :func:`geomap.layercache.load_layer`, which keeps a binary copy of
    big ones.)"""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: 文件不存在 (file not found)") from None
    return parse_layer(data, path)[0]


def parse_layer(data: bytes, path: Path) -> tuple[gpd.GeoDataFrame, Any]:
    """The layer in ``data`` (the bytes of ``path``) and its FeatureCollection's ``crs``
    member (None when it has none, as every file geomap writes)."""
    fast = _read_canonical(data)
    if fast is not None:
        return fast, None
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DataError(
            f"{path}: 不是有效的 GeoJSON (invalid JSON: {exc}); "
            "restore it from layers/.history/ or re-add it with `geomap add --replace`"
        ) from None
    crs = raw.get("crs") if isinstance(raw, dict) else None
    return layer_from_mapping(raw, path), crs


def layer_from_mapping(raw: Any, path: Path | str) -> gpd.GeoDataFrame:
    """Build a GeoDataFrame from a parsed GeoJSON FeatureCollection, checking its shape."""
    if not isinstance(raw, dict) or raw.get("type") != "FeatureCollection":
        raise DataError(f"{path}: 需要 GeoJSON FeatureCollection (expected a FeatureCollection)")
    features = raw.get("features")
    if not isinstance(features, list):
        raise DataError(f"{path}: 'features' 必须是列表 (features must be a list)")
    props: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for i, feat in enumerate(features):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise DataError(f"{path}: 第 {i} 个要素不是 Feature (feature {i} is not a Feature)")
        p = feat.get("properties") or {}
        if not isinstance(p, dict):
            raise DataError(f"{path}: 第 {i} 个要素的 properties 不是对象 (feature {i})")
        props.append(p)
        g = feat.get("geometry")
        try:
            geoms.append(shapely.from_geojson(orjson.dumps(g)) if g else None)
        except (shapely.errors.GEOSException, ValueError) as exc:
            raise DataError(
                f"{path}: 第 {i} 个要素的几何无效 (feature {i} has a broken geometry: {exc})"
            ) from None
    frame = pd.DataFrame.from_records(props) if props else pd.DataFrame()
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))
