"""GeoPackage, GeoJSON and KML through GDAL (no network: remote crs links are removed; no DTDs)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import orjson
import pyogrio
import pyogrio.errors

from geomap.errors import DataError
from geomap.ingest.common import _choose, _gdal_errors, _Raw, _read_batches, _read_dataframe

# Columns LIBKML adds to every layer; dropped when they only hold their defaults.
_LIBKML_DEFAULTS: dict[str, Any] = {
    "id": None,
    "description": None,
    "timestamp": None,
    "begin": None,
    "end": None,
    "altitudeMode": None,
    "tessellate": -1,
    "extrude": 0,
    "visibility": -1,
    "drawOrder": None,
    "icon": None,
    "snippet": None,
}

_libkml_lock = threading.Lock()


def _spatial_layers(src: Path, what: str) -> list[str]:
    with _gdal_errors(src, what):
        layers = pyogrio.list_layers(src)
    return [str(name) for name, gtype in layers if gtype is not None]


def _read_gdal_layered(src: Path, fmt: str, layer: str | None, title: str) -> _Raw:
    names = _spatial_layers(src, title)
    chosen = _choose(src, ("图层", "layer"), names, layer)
    with _gdal_errors(src, title) as notes:
        attrs, geoms, crs = _read_batches(src, layer=chosen)
    return _Raw(attrs, geoms, crs, fmt, layer_used=chosen, warnings=notes)


_REMOTE = re.compile(rb"(?i)(?:https?|ftp)://")


def _geojson_local(src: Path) -> tuple[Path | bytes, str | None]:
    """The GeoJSON to hand GDAL, never one whose ``crs`` names a URL: GDAL would fetch it
    (a ``link`` crs, or a ``name`` that is an address), a network request to wherever the
    file says. Such a crs is removed (and a warning returned); files without a ``crs``
    member, or with an ordinary one, are passed on unread."""
    data = src.read_bytes()
    if b'"crs"' not in data:
        return src, None
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError:
        return src, None  # GDAL reports the broken file
    crs = raw.get("crs") if isinstance(raw, dict) else None
    if crs is None:
        return src, None
    remote = not isinstance(crs, dict) or crs.get("type") != "name"
    remote = remote or bool(_REMOTE.search(orjson.dumps(crs)))
    if not remote:
        return src, None
    del raw["crs"]
    return orjson.dumps(raw), (
        "GeoJSON 的 crs 不是坐标系名称（如链接到网址），geomap 不访问网络，已忽略 (a crs that is "
        "a link or URL is ignored: geomap makes no network requests); 坐标按 WGS84 经纬度读取，"
        "如不是，请用 --crs 指定 (coordinates are read as WGS84 lon/lat unless --crs says "
        "otherwise)"
    )


def _read_gdal_single(src: Path, fmt: str, layer: str | None, title: str) -> _Raw:
    source: Path | bytes = src
    note = None
    if fmt.startswith("geojson"):
        source, note = _geojson_local(src)
    with _gdal_errors(src, title) as notes:
        gdf = _read_dataframe(source)
    if note:
        notes.append(note)
    if layer is not None:
        notes.append(f"{fmt} 只有一个图层，忽略 --layer {layer} (ignored)")
    return _Raw.of(gdf, fmt, warnings=notes)


def _refuse_dtd(src: Path) -> None:
    """Refuse XML with a DOCTYPE in its prolog: no entity tricks reach the parser.

    Only the prolog is scanned: HTML inside KML descriptions may legitimately contain
    ``<!DOCTYPE html>`` in CDATA.
    """
    with src.open("rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("utf-8", errors="ignore")
    pos = 0
    text = text.lstrip("\ufeff")
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        rest = text[pos:]
        if rest.startswith("<?"):
            end = rest.find("?>")
        elif rest.startswith("<!--"):
            end = rest.find("-->")
        else:
            break
        if end < 0:
            break
        pos += end + 2
    if text[pos:].upper().startswith("<!DOCTYPE") or "<!ENTITY" in text[:pos].upper():
        raise DataError(
            f"{src}: KML 含有 DOCTYPE/实体声明，出于安全原因拒绝读取 "
            "(KML with a DOCTYPE or entity declarations is refused for safety); "
            "请在 Google Earth/奥维 中重新导出 (export it again)"
        )


@contextmanager
def _libkml_keep_field_names() -> Iterator[None]:
    """LIBKML launders field names to ASCII (面积 → ______) unless told not to.

    The switch is a process-wide GDAL config option, so it is set and restored under a lock.
    """
    option = "LIBKML_LAUNDER_FIELD_NAMES"
    with _libkml_lock:
        before = pyogrio.get_gdal_config_option(option)
        pyogrio.set_gdal_config_options({option: "NO"})
        try:
            yield
        finally:
            pyogrio.set_gdal_config_options({option: before})


def _clean_kml_columns(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    drop = []
    for col, default in _LIBKML_DEFAULTS.items():
        if col not in gdf.columns:
            continue
        values = gdf[col]
        if values.isna().all() or (default is not None and (values == default).all()):
            drop.append(col)
    gdf = gdf.drop(columns=drop)
    if "Name" in gdf.columns and "name" not in gdf.columns:
        gdf = gdf.rename(columns={"Name": "name"})
    return gdf


def _read_kml(kml: Path, fmt: str, layer: str | None, display: Path | None = None) -> _Raw:
    shown = display or kml
    _refuse_dtd(kml)
    notes: list[str] = []
    if "LIBKML" not in pyogrio.list_drivers():
        notes.append("GDAL 缺少 LIBKML 驱动，ExtendedData 属性可能丢失 (no LIBKML driver)")
    with _libkml_keep_field_names():
        with _gdal_errors(shown, "KML") as gdal_notes:
            layers = pyogrio.list_layers(kml)
            names = []
            for name, _gtype in layers:
                if pyogrio.read_info(kml, layer=str(name))["features"] != 0:
                    names.append(str(name))
        chosen = _choose(shown, ("图层/文件夹", "layer/folder"), names, layer)
        with _gdal_errors(shown, "KML") as more_notes:
            gdf = _read_dataframe(kml, layer=chosen)
    return _Raw.of(
        _clean_kml_columns(gdf),
        fmt,
        layer_used=chosen,
        warnings=notes + gdal_notes + more_notes,
        encoding=None,
    )
