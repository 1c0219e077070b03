"""The one list of file formats: what ``geomap add`` reads and ``geomap export-data`` writes.

Each :class:`Format` names a format once: its suffixes, the leading bytes that identify it
without a suffix, the reader that turns it into a layer, whether a ``.zip`` may carry it, and
the ``export-data --format`` name and GDAL driver when geomap also writes it. Detection, the
zip reader, the messages, the CLI help of ``add`` and ``export-data``, and the format table in
docs/formats.md (a test compares them) all read this list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geomap.errors import DataError
from geomap.ingest.archives import _read_kmz, _rel, _safe_extract
from geomap.ingest.common import MAX_LISTED, _choose, _Raw
from geomap.ingest.gdal import _read_gdal_layered, _read_gdal_single, _read_kml
from geomap.ingest.shapefile import _read_shapefile
from geomap.ingest.tables import _read_table


@dataclass(frozen=True)
class Request:
    """What ``geomap add`` asks of a reader: the options that apply to the source."""

    tmp: Path  # a scratch folder for extracted archives
    layer: str | None = None
    encoding: str | None = None
    lon: str | None = None
    lat: str | None = None


Reader = Callable[[Path, str, Request], _Raw]  # (file, name in results, request)


@dataclass(frozen=True)
class Format:
    """One file format geomap reads (and perhaps writes)."""

    name: str  # the id in results and messages (``source_format``); "<name>-zip" when zipped
    title: str  # what a planner calls it
    suffixes: tuple[str, ...]  # lower case; the first is the one written
    read: Reader
    magic: bytes = b""  # leading bytes that identify the file without a known suffix
    text: bool = False  # magic is matched after a BOM and white space
    utf8: bool = False  # always UTF-8 by definition: --encoding is ignored (and said so)
    table: bool = False  # a table of coordinates: --lon/--lat apply; read in place
    zipped: bool = False  # may be the one dataset inside a .zip
    export: str | None = None  # its ``geomap export-data --format`` name, when written
    driver: str | None = None  # the GDAL driver that writes it (None: written by geomap)


def _shapefile(src: Path, name: str, rq: Request) -> _Raw:
    raw = _read_shapefile(src, rq.encoding, fmt=name)
    if rq.layer is not None and rq.layer != raw.layer_used:
        raw.warnings.append(f"Shapefile 只有一个图层，忽略 --layer {rq.layer} (ignored)")
    return raw


def _gpkg(src: Path, name: str, rq: Request) -> _Raw:
    return _read_gdal_layered(src, name, rq.layer, "GeoPackage")


def _geojson(src: Path, name: str, rq: Request) -> _Raw:
    return _read_gdal_single(src, name, rq.layer, "GeoJSON")


def _kml(src: Path, name: str, rq: Request) -> _Raw:
    return _read_kml(src, name, rq.layer)


def _kmz(src: Path, name: str, rq: Request) -> _Raw:
    return _read_kmz(src, rq.tmp, rq.layer)


def _table(src: Path, name: str, rq: Request) -> _Raw:
    return _read_table(src, name, layer=rq.layer, encoding=rq.encoding, lon=rq.lon, lat=rq.lat)


def _zip(src: Path, name: str, rq: Request) -> _Raw:
    """The one dataset in a zip (a Shapefile, else one of the other ``zipped`` formats),
    read as its own format under the name ``<format>-zip``."""
    files = _safe_extract(src, rq.tmp)
    found: dict[str, list[Path]] = {}
    for f in files:
        fmt = by_suffix(f.suffix)
        if fmt is not None and fmt.zipped:
            found.setdefault(fmt.name, []).append(f)
    if "shapefile" in found:
        shps = sorted(found["shapefile"])
        labels = [_rel(p, rq.tmp) for p in shps]
        stems = [p.stem for p in shps]
        wanted = rq.layer
        if rq.layer is not None and rq.layer in stems and rq.layer not in labels:
            wanted = labels[stems.index(rq.layer)]
        chosen = _choose(src, (" Shapefile ", "Shapefile"), labels, wanted)
        raw = _read_shapefile(shps[labels.index(chosen)], rq.encoding, fmt="shapefile-zip")
        raw.layer_used = chosen
        return raw
    candidates = [p for paths in found.values() for p in paths]
    if len(candidates) != 1:
        listed = ", ".join(_rel(p, rq.tmp) for p in files[:MAX_LISTED]) or "(空 empty)"
        inside = "/".join(f.title for f in FORMATS if f.zipped)
        raise DataError(
            f"{src}: 压缩包里应当只有一个 {inside} "
            f"(expected one dataset in the zip; found: {listed}); 请解压后直接添加所需文件 "
            "(unzip it and add the file you want)"
        )
    inner = candidates[0]
    fmt = by_suffix(inner.suffix)
    assert fmt is not None
    if fmt.name == "kml":
        raw = _read_kml(inner, "kml-zip", rq.layer, display=src)
    else:
        raw = fmt.read(inner, f"{fmt.name}-zip", rq)
    if raw.layer_used is None:
        raw.layer_used = _rel(inner, rq.tmp)
    return raw


# The order is the order of the help texts and docs; detection does not depend on it.
FORMATS: tuple[Format, ...] = (
    Format(
        "gpkg",
        "GeoPackage",
        (".gpkg",),
        _gpkg,
        magic=b"SQLite format 3\x00",
        utf8=True,
        zipped=True,
        export="gpkg",
        driver="GPKG",
    ),
    Format(
        "shapefile",
        "Shapefile",
        (".shp",),
        _shapefile,
        zipped=True,
        export="shp",
        driver="ESRI Shapefile",
    ),
    Format(
        "geojson",
        "GeoJSON",
        (".geojson", ".json"),
        _geojson,
        magic=b"{",
        text=True,
        utf8=True,
        zipped=True,
        export="geojson",
        driver="GeoJSON",
    ),
    Format("csv", "CSV", (".csv", ".txt"), _table, table=True, export="csv"),
    Format("kml", "KML", (".kml",), _kml, magic=b"<", text=True, utf8=True, zipped=True),
    Format("kmz", "KMZ", (".kmz",), _kmz, utf8=True),
    Format("xlsx", "XLSX", (".xlsx",), _table, table=True),
    Format("zip", "Zip", (".zip",), _zip, magic=b"PK\x03\x04"),
)

# Suffixes that are not formats but deserve a better answer than "unrecognised".
SHAPEFILE_PARTS = (".dbf", ".shx", ".prj", ".cpg")
OLD_EXCEL = ".xls"


def by_name(name: str) -> Format:
    """The format called ``name`` (``"gpkg"``; ``"gpkg-zip"`` is GeoPackage too)."""
    base = name.removesuffix("-zip")
    return next(f for f in FORMATS if f.name == base)


def by_suffix(suffix: str) -> Format | None:
    """The format a file suffix (``".SHP"`` or ``".shp"``) stands for, if any."""
    suffix = suffix.lower()
    return next((f for f in FORMATS if suffix in f.suffixes), None)


def exported() -> dict[str, Format]:
    """The formats ``geomap export-data`` writes, by their ``--format`` name."""
    return {f.export: f for f in FORMATS if f.export}


def listing() -> str:
    """Every readable format with its suffixes, for help texts and messages."""
    inside = ", ".join(f.title for f in FORMATS if f.zipped)
    formats = ", ".join(f"{f.title} ({' '.join(f.suffixes)})" for f in FORMATS)
    return f"{formats}; a .zip holds one of {inside}"


def detect(src: Path) -> Format:
    """The format of ``src``: by its suffix, else by its first bytes."""
    suffix = src.suffix.lower()
    fmt = by_suffix(suffix)
    if fmt is not None:
        return fmt
    if suffix in SHAPEFILE_PARTS:
        raise DataError(
            f"{src}: 这是 Shapefile 的附属文件，请指定同名的 .shp "
            "(part of a Shapefile: give the .shp; keep .shx/.dbf/.prj beside it)"
        )
    if suffix == OLD_EXCEL:
        raise DataError(
            f"{src}: 不支持旧版 .xls，请在 Excel/WPS 中另存为 .xlsx (save it as .xlsx first)"
        )
    with src.open("rb") as fh:
        head = fh.read(512)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for fmt in FORMATS:
        if fmt.magic and (text if fmt.text else head).startswith(fmt.magic):
            return fmt
    raise DataError(
        f"{src}: 无法识别的文件格式 (unrecognised format); 支持 (supported): {listing()}"
    )
