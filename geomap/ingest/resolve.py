"""Validation and conversion to WGS84: geometry checks, CRS resolution, the China check."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from geomap.crs import (
    CrsSpec,
    describe_epsg,
    guess_projected_crs,
    identify_epsg,
    in_china,
    in_china_rows,
    looks_like_lonlat,
    looks_swapped,
    swapped_rows,
    transform_geometries,
)
from geomap.errors import DataError
from geomap.ingest.common import (
    _FAMILY,
    _FAMILY_ZH,
    _LINE,
    _POINT,
    _POLY,
    MAX_LISTED,
    NAME_FIELDS,
    _listing,
    _Raw,
)
from geomap.ingest.tables import _find_column

# --------------------------------------------------------------------------------------------
# Validation and conversion to WGS84
# --------------------------------------------------------------------------------------------


class _Labeller:
    """Names a feature for messages: spreadsheet row, or FID plus its name when it has one."""

    def __init__(self, frame: pd.DataFrame, rows: NDArray[np.int64] | None) -> None:
        """``frame``: the attributes (a GeoDataFrame's geometry column is not one)."""
        self.rows = rows
        geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
        cols = [c for c in frame.columns if c != geometry]
        name_col = _find_column([str(c) for c in cols], NAME_FIELDS)
        self.names = frame[name_col].to_numpy() if name_col is not None else None

    def __call__(self, i: int) -> str:
        if self.rows is not None:
            label = f"第 {self.rows[i]} 行 (row {self.rows[i]})"
        else:
            label = f"要素 FID {i} (feature {i})"
        if self.names is not None and not pd.isna(self.names[i]) and str(self.names[i]).strip():
            label += f" {str(self.names[i]).strip()}"
        return label

    def many(self, indices: Iterable[int]) -> str:
        idx = list(indices)
        return _listing([self(i) for i in idx[:MAX_LISTED]], len(idx))


def _normalise_collections(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """A GeometryCollection of one family (KML MultiGeometry) becomes the Multi* type."""
    type_ids = shapely.get_type_id(geoms)
    for i in np.flatnonzero(type_ids == 7):
        parts = shapely.get_parts(shapely.get_parts(geoms[i]))  # flatten nested multis too
        families = {_FAMILY.get(int(t)) for t in shapely.get_type_id(parts)}
        if families == {_POLY}:
            geoms[i] = shapely.multipolygons(parts)
        elif families == {_LINE}:
            geoms[i] = shapely.multilinestrings(parts)
        elif families == {_POINT}:
            geoms[i] = shapely.multipoints(parts)
    return geoms


@dataclass
class _Scan:
    """What the first pass over a source's geometries learns, chunk by chunk: the features
    without geometry or with NaN coordinates, every type id and every feature's bounds."""

    missing: list[NDArray[np.intp]] = field(default_factory=list)
    bad: list[NDArray[np.intp]] = field(default_factory=list)
    types: list[NDArray[np.int64]] = field(default_factory=list)
    bounds: list[NDArray[np.float64]] = field(default_factory=list)

    def add(self, start: int, geoms: NDArray[np.object_]) -> NDArray[np.object_]:
        """Record ``geoms`` (the chunk from feature ``start``); returns them unchanged."""
        self.missing.append(
            start + np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        )
        coords = shapely.get_coordinates(geoms)
        owner = np.repeat(np.arange(len(geoms)), shapely.get_num_coordinates(geoms))
        self.bad.append(start + np.unique(owner[~np.isfinite(coords).all(axis=1)]))
        self.types.append(np.asarray(shapely.get_type_id(geoms), dtype=np.int64))
        self.bounds.append(shapely.bounds(geoms))
        return geoms

    def all_bounds(self) -> NDArray[np.float64]:
        return np.concatenate(self.bounds) if self.bounds else np.empty((0, 4))


def _joined(parts: list[NDArray[Any]]) -> NDArray[Any]:
    return np.concatenate(parts) if parts else np.array([], dtype=np.intp)


def _check_geometries(src: Path, scan: _Scan, label: _Labeller) -> str:
    """Empty / NaN / mixed geometries are errors. Returns the geometry family."""
    missing = _joined(scan.missing)
    if missing.size:
        raise DataError(
            f"{src}: {missing.size} 个要素没有几何 (empty or null geometries): "
            f"{label.many(missing)}; 请在 GIS 中补画或删除这些要素 "
            "(draw or delete them in your GIS, then export again)"
        )
    bad = _joined(scan.bad)
    if bad.size:
        raise DataError(
            f"{src}: {bad.size} 个要素的坐标含 NaN 或无穷大 (NaN/infinite coordinates): "
            f"{label.many(bad)}; 请修正或删除这些要素 (fix or delete them)"
        )
    type_ids = _joined(scan.types)
    lookup = np.array([_FAMILY.get(t, "other") for t in range(8)], dtype=object)
    families = lookup[np.clip(type_ids, 0, 7)]
    kinds = sorted(set(families))
    if "other" in kinds:
        odd = np.flatnonzero(families == "other")
        raise DataError(
            f"{src}: {odd.size} 个要素是混合几何集合 (GeometryCollection mixing points, lines "
            f"and polygons): {label.many(odd)}; 请拆分为点、线、面三个图层 "
            "(split them into separate point/line/polygon layers)"
        )
    if len(kinds) > 1:
        counts = ", ".join(f"{_FAMILY_ZH[k]} {int((families == k).sum())}" for k in kinds)
        minority = min(kinds, key=lambda k: int((families == k).sum()))
        raise DataError(
            f"{src}: 几何类型混杂 (mixed geometry types: {counts}); 一个图层只能是点、线或面之一 "
            f"(one layer holds one kind); 少数类型的要素 (the {minority}s): "
            f"{label.many(np.flatnonzero(families == minority))}; "
            "请拆分后分别添加 (split and add them separately)"
        )
    return str(kinds[0])


def _bounds(bounds: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """The total bounds of per-feature ``bounds`` (rows of minx, miny, maxx, maxy)."""
    if not len(bounds):
        return (float("nan"),) * 4
    lo = np.nanmin(bounds[:, :2], axis=0)
    hi = np.nanmax(bounds[:, 2:], axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _swap_hint(raw: _Raw) -> str:
    if raw.lonlat_columns is not None:
        lon_col, lat_col = raw.lonlat_columns
        return (
            f"经纬度列似乎填反了 (longitude and latitude look swapped); 请用 "
            f"--lon {lat_col} --lat {lon_col} 重新添加 (add again with the columns swapped)"
        )
    return (
        "坐标的 x/y 似乎颠倒了 (x and y look swapped: x≈纬度 latitude, y≈经度 longitude); "
        "请在 GIS 中交换 x、y 后重新导出 (swap the axes in your GIS and export again)"
    )


def _candidates_text(bounds: tuple[float, float, float, float]) -> str:
    codes = guess_projected_crs(bounds)
    if not codes:
        return "无法推测 (no candidate found); 请向数据提供方询问坐标系 (ask the data provider)"
    return "可能是 (candidates): " + "; ".join(
        f"--crs EPSG:{c} ({describe_epsg(c)})" for c in codes
    )


def _crs_label(crs: pyproj.CRS) -> str:
    code = identify_epsg(crs)
    if code is not None:
        return f"EPSG:{code}"
    text = crs.to_string()
    return text if len(text) <= 60 else str(crs.name)


@dataclass
class _Resolved:
    source: pyproj.CRS  # the CRS the coordinates are in (4326 for GCJ-02 / BD-09)
    offset: Callable[..., Any] | None  # de-obfuscation after projecting, if GCJ-02 / BD-09
    label: str


def _lonlat_like(b: NDArray[np.float64]) -> bool:
    """Every feature fits lon/lat ranges, or would once its x/y are exchanged (``b``: the
    features' bounds).

    Decided per feature so that a few swapped rows in a lon/lat table are reported as
    swapped rows rather than making the whole table look projected.
    """
    plain = (b[:, 0] >= -180) & (b[:, 2] <= 180) & (b[:, 1] >= -90) & (b[:, 3] <= 90)
    return bool((plain | swapped_rows(b)).all())


def _resolve_crs(
    src: Path,
    raw: _Raw,
    spec: CrsSpec | None,
    bounds: tuple[float, float, float, float],
    lonlat_like: bool,
    notes: list[str],
) -> _Resolved:
    declared: pyproj.CRS | None = raw.crs
    if declared is not None and declared.is_geographic and not lonlat_like:
        # GeoJSON (and KML) always claim WGS84, whatever numbers they hold.
        if spec is None:
            notes.append(
                f"文件声明的坐标系 {_crs_label(declared)} 与坐标数值不符，已忽略 "
                "(declared geographic CRS ignored: coordinates are not lon/lat)"
            )
        declared = None
    if spec is not None:
        if spec.is_offset:
            if looks_swapped(bounds):
                raise DataError(f"{src}: {_swap_hint(raw)}")
            if not lonlat_like:
                raise DataError(
                    f"{src}: --crs {spec} 需要经纬度坐标，但坐标像是平面米制坐标 "
                    f"(gcj02/bd09 need lon/lat; these look projected: {_fmt_bounds(bounds)}); "
                    f"{_candidates_text(bounds)}"
                )
            if declared is not None and declared.is_projected:
                notes.append(f"--crs {spec} 覆盖了文件自带的 {_crs_label(declared)} (overridden)")
            return _Resolved(pyproj.CRS.from_epsg(4326), spec.to_wgs84_func(), str(spec))
        if declared is not None and identify_epsg(declared) != spec.epsg:
            notes.append(f"--crs {spec} 覆盖了文件自带的 {_crs_label(declared)} (overridden)")
        return _Resolved(spec.to_pyproj(), None, str(spec))
    if declared is not None:
        if declared.is_projected and looks_like_lonlat(bounds) and in_china(bounds):
            raise DataError(
                f"{src}: 文件声明坐标系为 {_crs_label(declared)} (米制 projected)，"
                "但坐标像是经纬度 "
                f"(coordinates look like lon/lat: {_fmt_bounds(bounds)}); "
                "请用 --crs wgs84 (或 gcj02 / bd09) 指定 (pass --crs wgs84, gcj02 or bd09)"
            )
        datum = (declared.datum.name if declared.datum else "").lower()
        if re.search(r"xian|xi'an|beijing|1954|1980", datum):
            notes.append(
                f"源坐标系基于 {declared.datum.name if declared.datum else ''}，转换到 WGS84 未使用"
                "七参数，可能有数十至上百米偏差 (Xian 1980 / Beijing 1954 datum: no 7-parameter "
                "shift applied, expect tens of metres of error)"
            )
        return _Resolved(declared, None, _crs_label(declared))
    if looks_swapped(bounds):
        raise DataError(f"{src}: {_swap_hint(raw)}")
    if lonlat_like:
        notes.append("文件没有坐标系信息，按经纬度 WGS84 处理 (no CRS: assumed WGS84 lon/lat)")
        return _Resolved(pyproj.CRS.from_epsg(4326), None, "EPSG:4326")
    raise DataError(
        f"{src}: 文件没有坐标系信息，坐标像是平面米制坐标 (no CRS, and the coordinates look "
        f"projected: {_fmt_bounds(bounds)}); 请用 --crs 指定 (pass --crs). "
        f"{_candidates_text(bounds)}"
    )


def _fmt_bounds(bounds: tuple[float, float, float, float]) -> str:
    return f"x {bounds[0]:.6g}–{bounds[2]:.6g}, y {bounds[1]:.6g}–{bounds[3]:.6g}"


def _to_wgs84(geoms: NDArray[np.object_], resolved: _Resolved) -> NDArray[np.object_]:
    if identify_epsg(resolved.source) != 4326:
        geoms = np.asarray(
            gpd.GeoSeries(geoms, crs=resolved.source).to_crs(4326).values, dtype=object
        )
    if resolved.offset is not None:
        geoms = transform_geometries(geoms, resolved.offset)
    return geoms


def _outside_china(start: int, geoms: NDArray[np.object_]) -> tuple[NDArray[np.intp], Any]:
    """The features of a WGS84 chunk (from feature ``start``) outside China, and their bounds."""
    fb = shapely.bounds(geoms)
    outside = np.flatnonzero(~in_china_rows(fb))
    return start + outside, fb[outside]


def _check_in_china(
    src: Path,
    raw: _Raw,
    found: list[tuple[NDArray[np.intp], Any]],
    total: int,
    raw_bounds: tuple[float, float, float, float],
    resolved: _Resolved,
    label: _Labeller,
) -> None:
    """Refuse features outside China (``found``: :func:`_outside_china` of every chunk of a
    layer of ``total`` features)."""
    outside = _joined([o for o, _ in found])
    if not outside.size:
        return
    if swapped_rows(np.concatenate([b for _, b in found])).all():
        raise DataError(
            f"{src}: {outside.size} 个要素的经纬度颠倒 (swapped lon/lat): "
            f"{label.many(outside)}; {_swap_hint(raw)}"
        )
    if outside.size == total:
        hint = (
            f"坐标与坐标系 {resolved.label} 不符 (coordinates do not fit {resolved.label}); "
            + _candidates_text(raw_bounds)
            if resolved.source.is_projected
            else "请检查坐标是否正确，西屏约在东经 119.48°、北纬 28.45° "
            "(check the coordinates: Xiping is near 119.48E 28.45N)"
        )
        raise DataError(
            f"{src}: 所有要素都在中国范围以外 (every feature lies outside China); {hint}"
        )
    raise DataError(
        f"{src}: {outside.size} 个要素在中国范围以外 (features outside China): "
        f"{label.many(outside)}; 请检查这些要素的坐标 (check their coordinates)"
    )
