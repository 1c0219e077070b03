"""The entry point: read any supported source into a clean WGS84 layer."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from geomap.crs import (
    CrsSpec,
    parse_crs,
)
from geomap.errors import DataError
from geomap.ingest.common import (
    _POLY,
    IngestResult,
    _check_codec,
    _gdal_safe_path,
    _Raw,
    _short,
    display_path,
)
from geomap.ingest.formats import Format, Request, detect
from geomap.ingest.repair import _repair_polygons
from geomap.ingest.resolve import (
    _bounds,
    _check_geometries,
    _check_in_china,
    _Labeller,
    _lonlat_like,
    _normalise_collections,
    _outside_china,
    _resolve_crs,
    _Scan,
    _to_wgs84,
)
from geomap.ingest.tables import _clean_names

# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def read_source(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | CrsSpec | None = None,
    encoding: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    strict: bool = False,
) -> IngestResult:
    """Read a source file into WGS84, validated.

    Parameters
    ----------
    path : str or Path
        A ``.shp``, ``.zip`` (holding a Shapefile, GeoPackage, GeoJSON or KML), ``.gpkg``,
        ``.kml``, ``.kmz``, ``.geojson``/``.json``, ``.csv``/``.txt`` or ``.xlsx`` file.
    layer : str, optional
        GeoPackage / KML layer, XLSX sheet, or Shapefile name inside a zip holding several.
    crs : str or CrsSpec, optional
        The source's coordinates (see :func:`geomap.crs.parse_crs`); overrides the CRS the
        file declares. Default: the file's own, else WGS84 when coordinates look like lon/lat.
    encoding : str, optional
        Text encoding for Shapefile DBF and CSV, overriding ``.cpg`` and detection.
    lon, lat : str, optional
        Coordinate columns of a CSV / XLSX (default: detected by name).
    strict : bool
        Refuse invalid polygons instead of repairing them.

    Returns
    -------
    IngestResult

    Raises
    ------
    DataError
        Missing, unreadable, truncated or unsafe file; ambiguous layer; unknown encoding;
        unknown CRS for projected coordinates; empty layer; empty/NaN geometries; mixed
        geometry types; coordinates outside China or swapped; invalid polygons with ``strict``.
    GeomapError
        A bad ``crs`` or ``encoding`` argument.
    """
    src = Path(path)
    if not src.exists():
        raise DataError(f"{src}: 文件不存在 (file not found)")
    if src.is_dir():
        raise DataError(
            f"{src}: 这是文件夹，请指定其中的文件 (a folder: give the .shp/.gpkg/... inside it)"
        )
    spec = parse_crs(crs) if crs is not None else None
    if encoding is not None:
        encoding = _check_codec(encoding)
    fmt = detect(src)
    with tempfile.TemporaryDirectory(prefix="geomap-ingest-") as tmp:
        readable = src if fmt.table else _gdal_safe_path(src, Path(tmp))
        request = Request(Path(tmp), layer=layer, encoding=encoding, lon=lon, lat=lat)
        try:
            raw = _read_any(readable, fmt, request)
        except DataError as exc:
            if readable == src:
                raise
            raise DataError(str(exc).replace(str(readable), display_path(src))) from None
        if readable != src and raw.layer_used == readable.stem:
            raw.layer_used = display_path(src.stem)
        # Everything is in memory now; the extracted files can go.
    return _finish(src, raw, spec, strict)


def _read_any(src: Path, fmt: Format, rq: Request) -> _Raw:
    if not fmt.table and (rq.lon is not None or rq.lat is not None):
        raise DataError(f"{src}: --lon/--lat 只适用于 CSV/XLSX (only for CSV and XLSX tables)")
    raw = fmt.read(src, fmt.name, rq)
    if fmt.utf8 and rq.encoding is not None:
        raw.warnings.append(
            f"{fmt.name} 文件固定为 UTF-8，忽略 --encoding (ignored for {fmt.name})"
        )
    return raw


def _finish(src: Path, raw: _Raw, spec: CrsSpec | None, strict: bool) -> IngestResult:
    """Validate and convert a source to WGS84, one chunk of geometries at a time (the same
    steps for ten features and for a million); problems are reported for the whole layer."""
    notes = list(raw.warnings)
    total = len(raw.geoms)
    if total == 0:
        raise DataError(
            f"{src}: 图层没有任何要素 (the layer has no features)"
            + (f": {raw.layer_used}" if raw.layer_used else "")
            + "; 请确认导出了正确的图层 (check you exported the right layer)"
        )
    attrs = raw.attrs.reset_index(drop=True)
    label = _Labeller(attrs, raw.rows)
    scan = _Scan()
    geoms = raw.geoms.mapped(
        lambda start, chunk: scan.add(
            start, _normalise_collections(np.asarray(shapely.force_2d(chunk), dtype=object))
        )
    )
    family = _check_geometries(src, scan, label)
    feature_bounds = scan.all_bounds()
    raw_bounds = _bounds(feature_bounds)
    resolved = _resolve_crs(src, raw, spec, raw_bounds, _lonlat_like(feature_bounds), notes)
    outside: list[tuple[Any, Any]] = []

    def to_wgs84(start: int, chunk: NDArray[np.object_]) -> NDArray[np.object_]:
        chunk = _to_wgs84(chunk, resolved)
        outside.append(_outside_china(start, chunk))
        return chunk

    try:
        geoms = geoms.mapped(to_wgs84)
    except pyproj.exceptions.ProjError as exc:
        raise DataError(
            f"{src}: 坐标转换失败 (cannot transform from {resolved.label}: {_short(exc)}); "
            "请检查 --crs (check the CRS)"
        ) from None
    _check_in_china(src, raw, outside, total, raw_bounds, resolved, label)
    repaired = 0
    if family == _POLY:
        geoms, repaired = _repair_polygons(src, geoms, strict, label, notes)
    attrs = pd.DataFrame(attrs)
    attrs.columns = _clean_names(attrs.columns)
    if "geometry" in attrs.columns:
        attrs = attrs.rename(columns={"geometry": "geometry_attr"})
    return IngestResult(
        attrs=attrs.reset_index(drop=True),
        geoms=geoms,
        source_format=raw.source_format,
        crs_in=resolved.label,
        encoding=raw.encoding,
        layer_used=raw.layer_used,
        warnings=notes,
        repaired=repaired,
    )
