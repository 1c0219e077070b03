"""The formats geomap reads: suffixes, magic bytes, and their names in messages."""

from __future__ import annotations

from pathlib import Path

from geomap.errors import DataError

_FORMATS = {
    ".shp": "shapefile",
    ".zip": "zip",
    ".gpkg": "gpkg",
    ".kml": "kml",
    ".kmz": "kmz",
    ".geojson": "geojson",
    ".json": "geojson",
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
}
_SUPPORTED = "Shapefile (.shp / .zip), GeoPackage (.gpkg), KML/KMZ, GeoJSON, CSV, XLSX"


def _detect_format(src: Path) -> str:
    suffix = src.suffix.lower()
    if suffix in _FORMATS:
        return _FORMATS[suffix]
    if suffix in (".dbf", ".shx", ".prj", ".cpg"):
        raise DataError(
            f"{src}: 这是 Shapefile 的附属文件，请指定同名的 .shp "
            "(part of a Shapefile: give the .shp; keep .shx/.dbf/.prj beside it)"
        )
    if suffix == ".xls":
        raise DataError(
            f"{src}: 不支持旧版 .xls，请在 Excel/WPS 中另存为 .xlsx (save it as .xlsx first)"
        )
    with src.open("rb") as fh:
        head = fh.read(512)
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "geojson"
    if text.startswith(b"<"):
        return "kml"
    raise DataError(
        f"{src}: 无法识别的文件格式 (unrecognised format); 支持 (supported): {_SUPPORTED}"
    )


def _fmt_name(fmt: str) -> str:
    base = fmt.removesuffix("-zip")
    return {"gpkg": "GeoPackage", "geojson": "GeoJSON", "kml": "KML", "kmz": "KMZ"}.get(base, base)
