"""Read a planner's source file into a clean WGS84 GeoDataFrame, or explain why not.

Supported: Shapefile (``.shp``, or a ``.zip`` holding one), GeoPackage, KML / KMZ, GeoJSON,
CSV and XLSX (lon/lat columns or a WKT column). :func:`read_source` is the single entry point
used by ``geomap add``; everything it refuses is a :class:`~geomap.errors.DataError` whose
message names the file, the feature(s) and what to do, in Chinese and English.

Decisions that are not obvious:

* Shapefile text encoding is detected from the raw DBF bytes (strict UTF-8, else GB18030) when
  there is no ``.cpg``: GDAL silently decodes a GBK ``.dbf`` as Latin-1 otherwise.
* KML goes through GDAL's LIBKML driver (it reads ExtendedData), with field-name laundering
  switched off so Chinese ``<Data name="面积">`` survives; DTDs are refused before GDAL sees the
  file (no entity expansion, no external entities).
* Zip archives (``.zip``, ``.kmz``, ``.xlsx``) are checked for unsafe member paths and
  decompression bombs before anything is extracted or parsed.
* CSV is read as text and numeric columns are inferred here, so village codes such as ``007``
  and 18-digit IDs keep their exact digits.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import shutil
import stat
import struct
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj
import shapely
from numpy.typing import NDArray

from geomap.crs import (
    CrsSpec,
    area_mu,
    describe_epsg,
    guess_projected_crs,
    identify_epsg,
    in_china,
    in_china_rows,
    looks_like_lonlat,
    looks_swapped,
    parse_crs,
    swapped_rows,
    transform_geometries,
)
from geomap.errors import DataError, GeomapError
from geomap.geojson_io import PRECISION, round_geometries

__all__ = [
    "AREA_FIELD_CANDIDATES",
    "MAX_UNZIPPED_BYTES",
    "NAME_FIELDS",
    "IngestResult",
    "check_zip",
    "declared_area_warnings",
    "detect_dbf_encoding",
    "duplicate_keys",
    "find_area_field",
    "read_source",
]

#: Refuse archives that would unpack to more than this (zip bombs, or simply too big).
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024
#: Refuse a member compressed more than this ratio (deflate's ceiling is ~1030:1, reached only
#: by runs of one byte; real DBFs full of blank padding stay well below) ...
MAX_ZIP_RATIO = 500
#: ... once it is larger than this (tiny members cannot hurt).
ZIP_RATIO_MIN_BYTES = 1024 * 1024
MAX_ZIP_MEMBERS = 10_000
#: How many offending features an error message lists before "… and N more".
MAX_LISTED = 10

LON_NAMES = ("lon", "lng", "long", "longitude", "经度", "x", "point_x", "x坐标", "东经")
LAT_NAMES = ("lat", "latitude", "纬度", "y", "point_y", "y坐标", "北纬")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "几何")
NAME_FIELDS = (
    "name",
    "名称",
    "项目名称",
    "地块名称",
    "村名",
    "mc",
    "xmmc",
    "xzqmc",
    "dkmc",
    "title",
)
AREA_FIELD_CANDIDATES = (
    "declared_mu",
    "area_mu",
    "面积",
    "面积亩",
    "面积(亩)",
    "面积（亩）",
    "申报面积",
    "亩",
    "亩数",
    "mj",
)

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

_POLY, _LINE, _POINT = "polygon", "line", "point"
# shapely type ids: 0 Point, 1 LineString, 2 LinearRing, 3 Polygon, 4 MultiPoint,
# 5 MultiLineString, 6 MultiPolygon, 7 GeometryCollection.
_FAMILY = {0: _POINT, 4: _POINT, 1: _LINE, 2: _LINE, 5: _LINE, 3: _POLY, 6: _POLY}
_FAMILY_ZH = {_POLY: "面 (polygon)", _LINE: "线 (line)", _POINT: "点 (point)"}

_libkml_lock = threading.Lock()


@dataclass(frozen=True)
class IngestResult:
    """What :func:`read_source` read.

    Attributes
    ----------
    gdf : GeoDataFrame
        EPSG:4326, 2D, one geometry family, valid polygons, clean ``RangeIndex``.
    source_format : str
        ``shapefile``, ``shapefile-zip``, ``gpkg``, ``kml``, ``kmz``, ``geojson``, ``csv`` or
        ``xlsx`` (zip archives holding a GeoPackage etc. report the inner format + ``-zip``).
    crs_in : str
        The source coordinates as understood, e.g. ``EPSG:4549``, ``gcj02``, ``EPSG:4326``.
    encoding : str or None
        Text encoding used (Shapefile DBF, CSV), None where the format fixes it.
    layer_used : str or None
        The layer / sheet / archive member read, when the source has names for them.
    warnings : list of str
        Things the planner should know (assumed CRS, repairs, overrides).
    repaired : int
        Number of invalid polygons repaired with ``shapely.make_valid``.
    """

    gdf: gpd.GeoDataFrame
    source_format: str
    crs_in: str
    encoding: str | None
    layer_used: str | None
    warnings: list[str] = field(default_factory=list)
    repaired: int = 0


@dataclass
class _Raw:
    """A source as read, before CRS handling and validation."""

    gdf: gpd.GeoDataFrame
    source_format: str
    encoding: str | None = None
    layer_used: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Tabular sources: the coordinate columns (for the "swap" hint) and the spreadsheet row
    # of each record (messages point at rows a planner can find, not indices).
    lonlat_columns: tuple[str, str] | None = None
    rows: NDArray[np.int64] | None = None


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
    fmt = _detect_format(src)
    with tempfile.TemporaryDirectory(prefix="geomap-ingest-") as tmp:
        readable = src if fmt in ("csv", "xlsx") else _gdal_safe_path(src, Path(tmp))
        try:
            raw = _read_any(
                readable, fmt, Path(tmp), layer=layer, encoding=encoding, lon=lon, lat=lat
            )
        except DataError as exc:
            if readable == src:
                raise
            raise DataError(str(exc).replace(str(readable), display_path(src))) from None
        if readable != src and raw.layer_used == readable.stem:
            raw.layer_used = display_path(src.stem)
        # Everything is in memory now; the extracted files can go.
    return _finish(src, raw, spec, strict)


def _read_any(
    src: Path,
    fmt: str,
    tmp: Path,
    *,
    layer: str | None,
    encoding: str | None,
    lon: str | None,
    lat: str | None,
) -> _Raw:
    if fmt in ("csv", "xlsx"):
        return _read_table(src, fmt, layer=layer, encoding=encoding, lon=lon, lat=lat)
    if lon is not None or lat is not None:
        raise DataError(f"{src}: --lon/--lat 只适用于 CSV/XLSX (only for CSV and XLSX tables)")
    if fmt == "shapefile":
        raw = _read_shapefile(src, encoding)
        if layer is not None and layer != raw.layer_used:
            raw.warnings.append(f"Shapefile 只有一个图层，忽略 --layer {layer} (ignored)")
        return raw
    if encoding is not None:
        # GeoPackage, GeoJSON and KML are UTF-8 by definition.
        warn = f"{fmt} 文件固定为 UTF-8，忽略 --encoding (ignored for {fmt})"
    else:
        warn = None
    if fmt == "gpkg":
        raw = _read_gdal_layered(src, "gpkg", layer)
    elif fmt == "geojson":
        raw = _read_gdal_single(src, "geojson", layer)
    elif fmt == "kml":
        raw = _read_kml(src, "kml", layer)
    elif fmt == "kmz":
        raw = _read_kmz(src, tmp, layer)
    else:
        raw = _read_zip(src, tmp, layer, encoding)
        warn = None
    if warn:
        raw.warnings.append(warn)
    return raw


# --------------------------------------------------------------------------------------------
# Format detection and small helpers
# --------------------------------------------------------------------------------------------


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


def _check_codec(name: str) -> str:
    """The codec of a text encoding that keeps ASCII as ASCII (as every DBF/CSV encoding
    does); hex, base64, rot13, punycode, UTF-16 and the like are refused."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        raise GeomapError(
            f"未知的文字编码 {name!r:.60} (unknown encoding); 例如 (e.g.) UTF-8, GB18030, GBK, Big5"
        ) from None
    probe = "geomap,1;"
    try:
        usable = bool(getattr(info, "_is_text_encoding", True))
        usable = usable and probe.encode("ascii").decode(info.name) == probe
    except (UnicodeError, LookupError, TypeError, ValueError):
        usable = False
    if not usable:
        raise GeomapError(
            f"{name!r:.60} 不是表格文字编码 (not a text encoding for tables: it does not keep "
            "letters and digits as they are); 例如 (e.g.) UTF-8, GB18030, GBK, Big5"
        )
    return info.name


def _listing(items: Sequence[str], total: int | None = None) -> str:
    total = len(items) if total is None else total
    shown = ", ".join(items[:MAX_LISTED])
    more = total - min(len(items), MAX_LISTED)
    return shown + (f" … 另有 {more} 个 (and {more} more)" if more > 0 else "")


def _choose(src: Path, what: tuple[str, str], names: Sequence[str], wanted: str | None) -> str:
    """Pick ``wanted`` among ``names`` (layers, sheets, members), or explain the choices.

    ``what`` is the kind of thing in Chinese and English, e.g. ``("图层", "layer")``.
    """
    zh, en = what
    choices = ", ".join(names)
    if wanted is not None:
        if wanted in names:
            return wanted
        raise DataError(
            f"{src}: 没有名为 {wanted!r} 的{zh} (no {en} named {wanted!r}); "
            f"可选 (choose one of): {choices}"
        )
    if len(names) == 1:
        return names[0]
    if not names:
        raise DataError(f"{src}: 没有含几何的{zh} (no {en} with geometries)")
    raise DataError(
        f"{src}: 含有 {len(names)} 个{zh}，请用 --layer 指定其中一个 "
        f"({len(names)} {en}s: pick one with --layer NAME): {choices}"
    )


@contextmanager
def _gdal_errors(src: Path, what: str) -> Iterator[list[str]]:
    """Turn GDAL/pyogrio failures into one DataError; collect GDAL warnings for the result."""
    collected: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield collected
        for w in caught:
            if issubclass(w.category, RuntimeWarning | UserWarning):
                collected.append(f"GDAL: {w.message}")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise DataError(
            f"{src}: 无法打开此 {what} 文件，可能已截断或损坏 (cannot open this {what} file: "
            f"truncated or corrupt? "
            f"{_short(exc)}); 请重新导出或重新下载该文件 (export or download it again)"
        ) from None
    except (
        pyogrio.errors.FeatureError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.FieldError,
        pyogrio.errors.CRSError,
        RuntimeError,
        OSError,
        ValueError,
    ) as exc:
        raise DataError(
            f"{src}: 读取此 {what} 文件出错，可能已截断或损坏 (error reading this {what} file: "
            f"truncated or corrupt? "
            f"{_short(exc)}); 请重新导出该文件 (export it again)"
        ) from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def _read_dataframe(src: Path | str | bytes, **kwargs: Any) -> gpd.GeoDataFrame:
    gdf = pyogrio.read_dataframe(src, **kwargs)
    if not isinstance(gdf, gpd.GeoDataFrame):  # a layer without geometry column
        shown = "GeoJSON" if isinstance(src, bytes) else src
        raise DataError(f"{shown}: 该图层没有几何 (the layer has no geometries)")
    return gdf


# --------------------------------------------------------------------------------------------
# Shapefile
# --------------------------------------------------------------------------------------------

# .cpg contents seen in the wild, mapped to a Python codec. Every GBK variant is read as
# GB18030, its superset: GB2312 (and some GBK tables) lose characters such as 張.
_CPG_ALIASES = {
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "65001": "utf-8",
    "GBK": "gb18030",
    "936": "gb18030",
    "CP936": "gb18030",
    "ANSI936": "gb18030",
    "GB2312": "gb18030",
    "GB18030": "gb18030",
    "54936": "gb18030",
    "88591": "latin-1",
    "ISO88591": "latin-1",
    "950": "big5",
    "BIG5": "big5",
}

_DISPLAY_CODEC = {"utf-8": "UTF-8", "gb18030": "GB18030", "ascii": "UTF-8"}


def _display_codec(codec: str) -> str:
    return _DISPLAY_CODEC.get(codec, codec.upper())


def display_path(path: Path | str) -> str:
    """A path as a planner reads it: a name in GBK bytes (a file unzipped on Linux, or
    copied from an old Windows share) shown decoded, line breaks shown as ``\\n``."""
    raw = os.fsencode(str(path))
    for codec in ("utf-8", "gb18030"):
        try:
            text = raw.decode(codec)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = raw.decode("utf-8", "replace")
    return text.replace("\n", "\\n").replace("\r", "\\r")


def _gdal_safe_path(src: Path, tmp: Path) -> Path:
    """``src``, or a copy of it under a plain name when GDAL cannot open its name: bytes that
    are not UTF-8 (GBK names), ``;`` (GDAL splits there), line breaks. A Shapefile is copied
    with every part of the same stem."""
    name = str(src)
    try:
        name.encode("utf-8")
        plain = not any(c in name for c in ";\n\r")
    except UnicodeEncodeError:
        plain = False
    if plain:
        return src
    folder = tmp / "source"
    folder.mkdir()
    parts = [src]
    if src.suffix.lower() == ".shp":
        parts = [p for p in src.parent.iterdir() if p.stem == src.stem and p.is_file()]
    for part in parts:
        shutil.copyfile(part, folder / f"source{part.suffix}")
    return folder / f"source{src.suffix}"


def _sidecar(shp: Path, ext: str) -> Path | None:
    """The ``.shx``/``.dbf``/... next to ``shp``, matching the extension case-insensitively."""
    for candidate in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    for other in shp.parent.iterdir():
        if other.stem == shp.stem and other.suffix.lower() == ext:
            return other
    return None


def _codec_from_cpg(cpg: Path) -> str | None:
    text = cpg.read_bytes().decode("ascii", errors="ignore").strip()
    key = re.sub(r"[\s_\-]", "", text).upper()
    if key in _CPG_ALIASES:
        return _CPG_ALIASES[key]
    if key.isdigit():
        key = f"cp{key}"
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


def _dbf_text_chunks(dbf: Path, max_records: int = 200_000) -> list[bytes]:
    """Field names and character values from a DBF, as raw bytes (non-ASCII ones only)."""
    with dbf.open("rb") as fh:
        header = fh.read(32)
        if len(header) < 32:
            raise DataError(f"{dbf}: .dbf 文件已截断 (truncated .dbf); 请重新导出 (export again)")
        n_records, header_len, record_len = struct.unpack("<IHH", header[4:12])
        descriptors = fh.read(max(header_len - 32, 0))
        fields: list[tuple[int, int, str]] = []  # (offset in record, length, type)
        offset = 1  # byte 0 of each record is the deletion flag
        chunks: list[bytes] = []
        for i in range(0, len(descriptors) - 31, 32):
            desc = descriptors[i : i + 32]
            if desc[0] == 0x0D:
                break
            chunks.append(desc[:11].split(b"\x00", 1)[0])
            ftype, flen = chr(desc[11]), desc[16]
            fields.append((offset, flen, ftype))
            offset += flen
        text_fields = [(o, n) for o, n, t in fields if t in "CM"]
        # The header's record count may lie (a 1 KB file claiming 4 G records of 64 KB):
        # never read more than the file holds.
        left = max(dbf.stat().st_size - fh.tell(), 0)
        n = min(n_records, max_records, left // record_len if record_len else 0)
        body = fh.read(record_len * n) if n else b""
    for r in range(0, len(body) - record_len + 1, record_len or 1):
        record = body[r : r + record_len]
        for o, length in text_fields:
            value = record[o : o + length].rstrip(b" \x00")
            if value and not value.isascii():
                chunks.append(value)
    return [c for c in chunks if not c.isascii()]


def _decodes(chunks: Iterable[bytes], codec: str) -> bool:
    """True if every chunk decodes strictly, allowing a multi-byte char cut at the end.

    DBF fields have a fixed byte width and some writers cut a character in half there.
    """
    chunks = list(chunks)
    try:
        # Fast path: one strict decode of everything (a newline cannot complete a sequence).
        b"\n".join(chunks).decode(codec)
        return True
    except UnicodeDecodeError:
        pass
    for chunk in chunks:
        decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        try:
            decoder.decode(chunk, final=False)
        except UnicodeDecodeError:
            return False
    return True


def detect_dbf_encoding(dbf: str | Path) -> str:
    """Detect the text encoding of a DBF from its raw bytes.

    Strict UTF-8 is tried first, then GB18030: UTF-8 bytes usually decode "successfully" as
    GB18030 into nonsense, while GBK bytes are almost never valid UTF-8.

    Parameters
    ----------
    dbf : str or Path

    Returns
    -------
    str
        A Python codec name: ``"utf-8"`` (also for pure ASCII) or ``"gb18030"``.

    Raises
    ------
    DataError
        Neither decodes: the message asks for ``--encoding``.
    """
    path = Path(dbf)
    chunks = _dbf_text_chunks(path)
    if _decodes(chunks, "utf-8"):
        return "utf-8"
    if _decodes(chunks, "gb18030"):
        return "gb18030"
    raise DataError(
        f"{path}: 无法判断属性表的文字编码 (cannot tell the text encoding of the .dbf); "
        "请用 --encoding 指定，例如 GB18030、UTF-8、Big5 (pass --encoding)"
    )


def _check_shp_length(shp: Path) -> None:
    """A .shp shorter than its header says is truncated: GDAL would give null geometries."""
    with shp.open("rb") as fh:
        header = fh.read(100)
    size = shp.stat().st_size
    if len(header) < 100 or struct.unpack(">i", header[:4])[0] != 9994:
        raise DataError(
            f"{shp}: 不是有效的 .shp 文件 (not a valid .shp: bad header); 请重新导出 (export again)"
        )
    declared = struct.unpack(">i", header[24:28])[0] * 2
    if size < declared:
        raise DataError(
            f"{shp}: .shp 文件已截断 (truncated: {size} of {declared} bytes); "
            "请重新复制或导出完整文件 (copy or export it again)"
        )


def _read_shapefile(shp: Path, encoding: str | None, *, fmt: str = "shapefile") -> _Raw:
    missing = [ext for ext in (".shx", ".dbf") if _sidecar(shp, ext) is None]
    if missing:
        raise DataError(
            f"{shp}: 缺少 {', '.join(missing)} 文件 (Shapefile parts missing); "
            "请把同名的 .shp/.shx/.dbf/.prj 放在一起，或打包成 zip "
            "(keep .shp/.shx/.dbf/.prj together, or zip them)"
        )
    _check_shp_length(shp)
    notes: list[str] = []
    dbf = _sidecar(shp, ".dbf")
    assert dbf is not None
    cpg = _sidecar(shp, ".cpg")
    if encoding is not None:
        codec = encoding
    elif cpg is not None and (from_cpg := _codec_from_cpg(cpg)) is not None:
        codec = from_cpg
    else:
        if cpg is not None:
            notes.append(f"{cpg.name}: 无法识别的编码声明，改为自动检测 (unknown .cpg; detected)")
        codec = detect_dbf_encoding(dbf)
    with _gdal_errors(shp, "Shapefile") as gdal_notes:
        try:
            gdf = _read_dataframe(shp, encoding=codec)
        except UnicodeDecodeError:
            # A .cpg or --encoding that does not match the bytes: say so, suggest the fix.
            origin = "--encoding" if encoding is not None else (cpg.name if cpg else "")
            try:
                suggestion = _display_codec(detect_dbf_encoding(dbf))
            except DataError:
                suggestion = "GB18030"
            raise DataError(
                f"{shp}: 属性表文字不是 {_display_codec(codec)} 编码 ({origin} 的声明有误) "
                f"(the .dbf text is not {_display_codec(codec)} as {origin} says); "
                f"请用 --encoding {suggestion} 重新添加 (add again with --encoding {suggestion})"
            ) from None
    return _Raw(
        gdf=gdf,
        source_format=fmt,
        encoding=_display_codec(codec),
        layer_used=shp.stem,
        warnings=notes + gdal_notes,
    )


# --------------------------------------------------------------------------------------------
# GDAL formats: GeoPackage, GeoJSON, KML
# --------------------------------------------------------------------------------------------


def _fmt_name(fmt: str) -> str:
    base = fmt.removesuffix("-zip")
    return {"gpkg": "GeoPackage", "geojson": "GeoJSON", "kml": "KML", "kmz": "KMZ"}.get(base, base)


def _spatial_layers(src: Path, what: str) -> list[str]:
    with _gdal_errors(src, what):
        layers = pyogrio.list_layers(src)
    return [str(name) for name, gtype in layers if gtype is not None]


def _read_gdal_layered(src: Path, fmt: str, layer: str | None) -> _Raw:
    names = _spatial_layers(src, _fmt_name(fmt))
    chosen = _choose(src, ("图层", "layer"), names, layer)
    with _gdal_errors(src, _fmt_name(fmt)) as notes:
        gdf = _read_dataframe(src, layer=chosen)
    return _Raw(gdf=gdf, source_format=fmt, layer_used=chosen, warnings=notes)


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


def _read_gdal_single(src: Path, fmt: str, layer: str | None) -> _Raw:
    source: Path | bytes = src
    note = None
    if fmt.startswith("geojson"):
        source, note = _geojson_local(src)
    with _gdal_errors(src, _fmt_name(fmt)) as notes:
        gdf = _read_dataframe(source)
    if note:
        notes.append(note)
    if layer is not None:
        notes.append(f"{fmt} 只有一个图层，忽略 --layer {layer} (ignored)")
    return _Raw(gdf=gdf, source_format=fmt, warnings=notes)


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
    return _Raw(
        gdf=_clean_kml_columns(gdf),
        source_format=fmt,
        layer_used=chosen,
        warnings=notes + gdal_notes + more_notes,
        encoding=None,
    )


# --------------------------------------------------------------------------------------------
# Zip archives: .zip, .kmz (and a safety check for .xlsx)
# --------------------------------------------------------------------------------------------


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member name, with GBK names from Chinese Windows zips decoded properly.

    Without the UTF-8 flag (bit 11) Python decodes names as CP437, which garbles 村界.shp.
    """
    name = info.filename
    if not info.flag_bits & 0x800 and not name.isascii():
        raw = name.encode("cp437", errors="replace")
        for codec in ("utf-8", "gb18030"):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                continue
    return name


def _safe_members(src: Path, zf: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    """Check every member; return (info, safe relative name) for the files worth reading."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise DataError(f"{src}: 压缩包文件数过多 (more than {MAX_ZIP_MEMBERS} members): refused")
    total = 0
    members = []
    for info in infos:
        name = _member_name(info).replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise DataError(
                f"{src}: 压缩包含有不安全的路径 {name!r}，拒绝解压 "
                "(unsafe member path: absolute or '..'); 请重新打包 (re-create the zip)"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataError(f"{src}: 压缩包含有符号链接 {name!r}，拒绝解压 (symlink member)")
        if info.flag_bits & 0x1:
            raise DataError(f"{src}: 压缩包有密码保护 (encrypted zip); 请先解压 (unzip it first)")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ZIP_RATIO_MIN_BYTES and ratio > MAX_ZIP_RATIO:
            raise DataError(
                f"{src}: 成员 {name!r} 压缩比异常 ({ratio:.0f}:1)，疑似压缩炸弹，拒绝解压 "
                "(absurd compression ratio: possible zip bomb); 如确属正常数据，请先手动解压 "
                "(if legitimate, unzip it yourself and add the file)"
            )
        if info.is_dir() or name.startswith("__MACOSX/") or parts[-1].startswith("._"):
            continue
        members.append((info, name))
    if total > MAX_UNZIPPED_BYTES:
        raise DataError(
            f"{src}: 解压后 {total / 2**20:.0f} MB，超过上限 {MAX_UNZIPPED_BYTES / 2**20:.0f} MB，"
            "拒绝解压 (uncompressed size over the limit: possible zip bomb); "
            "请先手动解压 (unzip it yourself and add the file)"
        )
    return members


def _open_zip(src: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError(
            f"{src}: 压缩包已损坏或截断 (corrupt or truncated zip: {_short(exc)}); "
            "请重新下载或打包 (download or zip it again)"
        ) from None


def check_zip(src: str | Path) -> None:
    """Refuse an unsafe archive (paths, bombs, encryption) without extracting it.

    Raises
    ------
    DataError
    """
    with _open_zip(Path(src)) as zf:
        _safe_members(Path(src), zf)


def _safe_extract(src: Path, dest: Path) -> list[Path]:
    """Extract a checked archive, counting real bytes so lying headers cannot overrun."""
    written = 0
    out: list[Path] = []
    root = dest.resolve()
    with _open_zip(src) as zf:
        for info, name in _safe_members(src, zf):
            target = (root / name).resolve()
            if not target.is_relative_to(root):  # defence in depth after the name check
                raise DataError(f"{src}: 压缩包含有不安全的路径 {name!r} (unsafe path)")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as fin, target.open("wb") as fout:
                    while chunk := fin.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_UNZIPPED_BYTES:
                            raise DataError(
                                f"{src}: 解压数据超过上限 (more than "
                                f"{MAX_UNZIPPED_BYTES / 2**20:.0f} MB unpacked): refused"
                            )
                        fout.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise DataError(
                    f"{src}: 解压 {name!r} 失败，压缩包可能已损坏 "
                    f"(cannot extract: {_short(exc)}); 请重新打包 (zip it again)"
                ) from None
            out.append(target)
    return out


def _rel(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def _read_zip(src: Path, tmp: Path, layer: str | None, encoding: str | None) -> _Raw:
    files = _safe_extract(src, tmp)
    by_kind: dict[str, list[Path]] = {}
    for f in files:
        kind = _FORMATS.get(f.suffix.lower())
        if kind in ("shapefile", "gpkg", "geojson", "kml"):
            by_kind.setdefault(kind, []).append(f)
    if "shapefile" in by_kind:
        shps = sorted(by_kind["shapefile"])
        labels = [_rel(p, tmp) for p in shps]
        stems = [p.stem for p in shps]
        wanted = layer
        if layer is not None and layer in stems and layer not in labels:
            wanted = labels[stems.index(layer)]
        chosen = _choose(src, (" Shapefile ", "Shapefile"), labels, wanted)
        raw = _read_shapefile(shps[labels.index(chosen)], encoding, fmt="shapefile-zip")
        raw.layer_used = chosen
        return raw
    candidates = [p for kind in ("gpkg", "geojson", "kml") for p in by_kind.get(kind, [])]
    if len(candidates) != 1:
        found = ", ".join(_rel(p, tmp) for p in files[:MAX_LISTED]) or "(空 empty)"
        raise DataError(
            f"{src}: 压缩包里应当只有一个 Shapefile/GeoPackage/GeoJSON/KML "
            f"(expected one dataset in the zip; found: {found}); 请解压后直接添加所需文件 "
            "(unzip it and add the file you want)"
        )
    inner = candidates[0]
    kind = _FORMATS[inner.suffix.lower()]
    if kind == "kml":
        raw = _read_kml(inner, "kml-zip", layer, display=src)
    elif kind == "gpkg":
        raw = _read_gdal_layered(inner, "gpkg-zip", layer)
    else:
        raw = _read_gdal_single(inner, "geojson-zip", layer)
    if raw.layer_used is None:
        raw.layer_used = _rel(inner, tmp)
    return raw


def _read_kmz(src: Path, tmp: Path, layer: str | None) -> _Raw:
    files = _safe_extract(src, tmp)
    kmls = [f for f in files if f.suffix.lower() == ".kml"]
    # By convention the main document is doc.kml at the root; otherwise the first .kml.
    main = next((f for f in kmls if _rel(f, tmp).lower() == "doc.kml"), None)
    if main is None:
        root_kmls = [f for f in kmls if "/" not in _rel(f, tmp)]
        main = (root_kmls or kmls)[0] if kmls else None
    if main is None:
        raise DataError(f"{src}: KMZ 里没有 .kml 文件 (no .kml inside the KMZ)")
    return _read_kml(main, "kmz", layer, display=src)


# --------------------------------------------------------------------------------------------
# Tables: CSV and XLSX
# --------------------------------------------------------------------------------------------

# Linear: no two repetitions can share a run of digits (a 20 000-digit cell is one pass).
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def _infer_column(values: pd.Series) -> pd.Series:
    """Numeric if every non-empty cell is a number and none is a code that would change.

    Codes with a leading zero (``007``) and long digit strings (ID numbers, > 15 digits,
    beyond float precision) stay text.
    """
    text = values.astype(str).str.strip()
    present = text[text != ""]
    if present.empty:
        return pd.Series([None] * len(values), index=values.index, dtype=object)
    is_num = present.str.match(_NUMBER)
    if not is_num.all():
        return values.where(text != "", None)
    integers = present[present.str.match(r"^[+-]?\d+$")]
    if present.str.match(r"^[+-]?0\d").any() or (integers.str.len() > 15).any():
        return values.where(text != "", None)
    return pd.to_numeric(text.where(text != "", None))


def _decode_table_bytes(src: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding is not None:
        try:
            return data.decode(encoding), _display_codec(encoding)
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{src}: 不能按 {encoding} 解码 (cannot decode as {encoding}: byte {exc.start}); "
                "请换一个 --encoding (try another --encoding)"
            ) from None
    for codec in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(codec), _display_codec("utf-8" if codec == "utf-8-sig" else codec)
        except UnicodeDecodeError:
            continue
    raise DataError(
        f"{src}: 无法判断文字编码 (cannot tell the encoding); "
        "请用 --encoding 指定 (pass --encoding)"
    )


def _read_csv_frame(src: Path, encoding: str | None) -> tuple[pd.DataFrame, str]:
    text, used = _decode_table_bytes(src, src.read_bytes(), encoding)
    first_line = text.split("\n", 1)[0]
    sep = ","
    if "," not in first_line:
        sep = "\t" if "\t" in first_line else (";" if ";" in first_line else ",")
    try:
        # Blank lines are kept (then dropped below) so that index + 2 is the line number.
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{src}: 文件是空的 (empty file)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{src}: CSV 格式错误 (malformed CSV: {_short(exc)}); "
            "请检查引号和分隔符，或从 Excel 重新另存为 CSV UTF-8 (check quotes/separators)"
        ) from None
    frame.columns = _clean_names(frame.columns)
    frame = frame[(frame.astype(str).apply(lambda c: c.str.strip()) != "").any(axis=1)]
    return frame.apply(_infer_column), used


def _read_xlsx_frame(src: Path, sheet: str | None) -> tuple[pd.DataFrame, str]:
    check_zip(src)  # an .xlsx is a zip: the same bomb checks apply before openpyxl opens it
    try:
        book = pd.ExcelFile(src, engine="openpyxl")
        frames = {}
        names = [str(n) for n in book.sheet_names]
        for name in [sheet] if sheet in names else names:
            # dtype=object keeps text cells as text ("007"); pandas would otherwise parse
            # number-like strings. infer_objects() then types the truly numeric columns.
            df = pd.read_excel(book, sheet_name=name, dtype=object)
            df = df.dropna(how="all").dropna(axis=1, how="all").infer_objects()
            if not df.empty:
                frames[name] = df
    except GeomapError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on damaged workbooks
        raise DataError(
            f"{src}: 无法读取 Excel 文件，可能已损坏 (cannot read workbook: {_short(exc)}); "
            "请用 Excel/WPS 打开后另存为 .xlsx (re-save it as .xlsx)"
        ) from None
    if sheet is not None and sheet not in names:
        _choose(src, ("工作表", "sheet"), names, sheet)
    chosen = _choose(src, ("工作表", "sheet"), list(frames), sheet)
    frame = frames[chosen]
    frame.columns = _clean_names(frame.columns)
    return frame, chosen


def _uncached_formulas(src: Path, sheet: str) -> list[str]:
    """A warning when formula cells have no saved value (a workbook written by a program, or
    saved without recalculation): they read as empty, so say which and how many."""
    import openpyxl

    try:
        formulas = openpyxl.load_workbook(src, read_only=True, data_only=False)
        values = openpyxl.load_workbook(src, read_only=True, data_only=True)
        cells: list[str] = []
        for f_row, v_row in zip(
            formulas[sheet].iter_rows(), values[sheet].iter_rows(), strict=False
        ):
            for f_cell, v_cell in zip(f_row, v_row, strict=False):
                text = getattr(f_cell, "value", None)
                if isinstance(text, str) and text.startswith("=") and v_cell.value is None:
                    cells.append(str(getattr(f_cell, "coordinate", "?")))
        formulas.close()
        values.close()
    except Exception:  # the frame was read already: a second look that fails says nothing
        return []
    if not cells:
        return []
    shown = ", ".join(cells[:8]) + (f" … (+{len(cells) - 8})" if len(cells) > 8 else "")
    return [
        f"工作表 {sheet} 有 {len(cells)} 个公式单元格没有保存的计算结果，读作空值 ({len(cells)} "
        f"formula cells have no saved value and read as empty: {shown}); 请在 Excel/WPS 中打开、"
        "重新计算并保存后再添加 (open, recalculate and save the workbook, then add it again)"
    ]


def _clean_names(columns: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for i, col in enumerate(columns):
        name = str(col).strip() or f"field_{i + 1}"
        base, n = name, 2
        while name in out:
            name, n = f"{base}_{n}", n + 1
        out.append(name)
    return out


def _find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    lowered = {c.lower(): c for c in reversed(columns)}
    for cand in candidates:
        if cand in lowered:
            return lowered[cand]
    return None


def _parse_coordinate(
    src: Path, frame: pd.DataFrame, col: str, rows: NDArray[np.int64]
) -> NDArray[np.float64]:
    cells = frame[col]
    text = cells.astype(str).str.strip().str.rstrip("°")
    numbers = pd.to_numeric(text.where(text != "", None), errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        listed = [
            f"第 {rows[i]} 行 (row {rows[i]}) "
            + ("空 (empty)" if pd.isna(cells.iloc[i]) else repr(str(cells.iloc[i])))
            for i in bad[:MAX_LISTED]
        ]
        raise DataError(
            f"{src}: 列 {col!r} 有 {bad.size} 个缺失或不是数字的坐标 "
            f"(missing / non-numeric / infinite coordinates in column {col!r}): "
            f"{_listing(listed, bad.size)}; 请补全或删除这些行 (fill in or delete these rows)"
        )
    return values


def _read_table(
    src: Path,
    fmt: str,
    *,
    layer: str | None,
    encoding: str | None,
    lon: str | None,
    lat: str | None,
) -> _Raw:
    notes: list[str] = []
    if fmt == "csv":
        frame, used_encoding = _read_csv_frame(src, encoding)
        layer_used = None
        if layer is not None:
            notes.append(f"CSV 只有一个表，忽略 --layer {layer} (ignored)")
        enc: str | None = used_encoding
    else:
        frame, layer_used = _read_xlsx_frame(src, layer)
        notes += _uncached_formulas(src, layer_used)
        enc = None
        if encoding is not None:
            notes.append("XLSX 文件自带编码，忽略 --encoding (ignored for XLSX)")
    # Blank rows were dropped with the index kept; the header is row 1 in CSV and XLSX.
    rows = frame.index.to_numpy(dtype=np.int64) + 2
    frame = frame.reset_index(drop=True)
    columns = list(frame.columns)
    if (lon is None) != (lat is None):
        raise DataError(
            f"{src}: --lon 和 --lat 需要同时指定 (give both --lon and --lat); "
            f"现有列 (columns): {', '.join(columns)}"
        )
    for given in (lon, lat):
        if given is not None and given not in columns:
            raise DataError(
                f"{src}: 没有列 {given!r} (no column {given!r}); 现有列 (columns): "
                f"{', '.join(columns)}"
            )
    wkt_col = _find_column(columns, WKT_NAMES) if lon is None else None
    lonlat: tuple[str, str] | None = None
    if wkt_col is not None:
        geoms = _parse_wkt(src, frame, wkt_col, rows)
        frame = frame.drop(columns=[wkt_col])
    else:
        lon_col = lon or _find_column(columns, LON_NAMES)
        lat_col = lat or _find_column(columns, LAT_NAMES)
        if lon_col is None or lat_col is None or lon_col == lat_col:
            raise DataError(
                f"{src}: 找不到坐标列 (no coordinate columns found); 现有列 (columns): "
                f"{', '.join(columns)}; 请用 --lon 列名 --lat 列名 指定经纬度列，或提供 WKT 列 "
                "(name them with --lon COL --lat COL, or add a 'wkt' column)"
            )
        x = _parse_coordinate(src, frame, lon_col, rows)
        y = _parse_coordinate(src, frame, lat_col, rows)
        geoms = shapely.points(x, y)
        lonlat = (lon_col, lat_col)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=None)
    return _Raw(
        gdf=gdf,
        source_format=fmt,
        encoding=enc,
        layer_used=layer_used,
        warnings=notes,
        lonlat_columns=lonlat,
        rows=rows,
    )


def _parse_wkt(
    src: Path, frame: pd.DataFrame, col: str, rows: NDArray[np.int64]
) -> NDArray[np.object_]:
    text = frame[col].astype(str).str.strip()
    text = text.where(~frame[col].isna(), "")
    geoms: NDArray[np.object_] = shapely.from_wkt(
        text.where(text != "", None).to_numpy(dtype=object), on_invalid="ignore"
    )
    broken = np.flatnonzero(pd.isna(geoms) & (text != "").to_numpy())
    if broken.size:
        listed = [f"第 {rows[i]} 行 (row {rows[i]})" for i in broken]
        raise DataError(
            f"{src}: 列 {col!r} 中有 {broken.size} 个无法解析的 WKT (unparseable WKT): "
            f"{_listing(listed)}; 请检查这些行的几何文本 (fix the geometry text in these rows)"
        )
    return geoms


# --------------------------------------------------------------------------------------------
# Validation and conversion to WGS84
# --------------------------------------------------------------------------------------------


class _Labeller:
    """Names a feature for messages: spreadsheet row, or FID plus its name when it has one."""

    def __init__(self, gdf: gpd.GeoDataFrame, rows: NDArray[np.int64] | None) -> None:
        self.rows = rows
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        name_col = _find_column([str(c) for c in cols], NAME_FIELDS)
        self.names = gdf[name_col].to_numpy() if name_col is not None else None

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


def _check_geometries(src: Path, geoms: NDArray[np.object_], label: _Labeller) -> str:
    """Empty / NaN / mixed geometries are errors. Returns the geometry family."""
    missing = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if missing.size:
        raise DataError(
            f"{src}: {missing.size} 个要素没有几何 (empty or null geometries): "
            f"{label.many(missing)}; 请在 GIS 中补画或删除这些要素 "
            "(draw or delete them in your GIS, then export again)"
        )
    coords = shapely.get_coordinates(geoms)
    owner = np.repeat(np.arange(len(geoms)), shapely.get_num_coordinates(geoms))
    bad = np.unique(owner[~np.isfinite(coords).all(axis=1)])
    if bad.size:
        raise DataError(
            f"{src}: {bad.size} 个要素的坐标含 NaN 或无穷大 (NaN/infinite coordinates): "
            f"{label.many(bad)}; 请修正或删除这些要素 (fix or delete them)"
        )
    type_ids = shapely.get_type_id(geoms)
    families = np.array([_FAMILY.get(int(t), "other") for t in type_ids], dtype=object)
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


def _bounds(geoms: NDArray[np.object_]) -> tuple[float, float, float, float]:
    b = shapely.total_bounds(geoms)
    return float(b[0]), float(b[1]), float(b[2]), float(b[3])


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


def _lonlat_like(geoms: NDArray[np.object_]) -> bool:
    """Every feature fits lon/lat ranges, or would once its x/y are exchanged.

    Decided per feature so that a few swapped rows in a lon/lat table are reported as
    swapped rows rather than making the whole table look projected.
    """
    b = shapely.bounds(geoms)
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
    declared: pyproj.CRS | None = raw.gdf.crs
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


def _check_in_china(
    src: Path,
    raw: _Raw,
    geoms: NDArray[np.object_],
    raw_bounds: tuple[float, float, float, float],
    resolved: _Resolved,
    label: _Labeller,
) -> None:
    fb = shapely.bounds(geoms)
    outside = np.flatnonzero(~in_china_rows(fb))
    if not outside.size:
        return
    if swapped_rows(fb[outside]).all():
        raise DataError(
            f"{src}: {outside.size} 个要素的经纬度颠倒 (swapped lon/lat): "
            f"{label.many(outside)}; {_swap_hint(raw)}"
        )
    if outside.size == len(geoms):
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


def _polygonal_part(geom: Any) -> Any:
    """Keep only the polygons of make_valid's output (it may add stray lines or points)."""
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    polys = [p for p in shapely.get_parts(shapely.get_parts(geom)) if shapely.get_type_id(p) == 3]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else shapely.multipolygons(polys)


def _repair_polygons(
    src: Path,
    geoms: NDArray[np.object_],
    strict: bool,
    label: _Labeller,
    notes: list[str],
) -> int:
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if invalid.size:
        reasons = [f"{label(int(i))}: {shapely.is_valid_reason(geoms[i])}" for i in invalid]
        if strict:
            raise DataError(
                f"{src}: {invalid.size} 个面要素几何无效 (invalid polygons, refused in strict "
                f"mode): {_listing(reasons, invalid.size)}; 请在 GIS 中修复（如 QGIS “修复几何”）"
                "后重新导出，或去掉 --strict 自动修复 (fix them in your GIS, or drop --strict)"
            )
        collapsed = []
        for i in invalid:
            fixed = _polygonal_part(shapely.make_valid(geoms[i]))
            if fixed is None or shapely.is_empty(fixed):
                collapsed.append(int(i))
            geoms[i] = fixed
        if collapsed:
            raise DataError(
                f"{src}: {len(collapsed)} 个面要素修复后面积为零 (invalid polygons with no area "
                f"left after repair): {label.many(collapsed)}; 请重画或删除 (redraw or delete them)"
            )
        notes.append(
            f"已自动修复 {invalid.size} 个无效面 (repaired {invalid.size} invalid polygons): "
            f"{_listing(reasons, invalid.size)}"
        )
    # Layers are written with 7 decimals; a polygon valid at full precision can become invalid
    # once rounded (slivers, near-touching rings). Snap those to the output grid now.
    rounded_invalid = np.flatnonzero(~shapely.is_valid(round_geometries(geoms)))
    if rounded_invalid.size:
        snapped = shapely.set_precision(geoms[rounded_invalid], 10.0**-PRECISION)
        vanished = []
        for j, i in enumerate(rounded_invalid):
            geoms[i] = _polygonal_part(shapely.make_valid(snapped[j]))
            if geoms[i] is None or shapely.is_empty(geoms[i]):
                vanished.append(int(i))
        if vanished:
            raise DataError(
                f"{src}: {len(vanished)} 个面小于 1 厘米，无法保存 (polygons too small to keep at "
                f"{PRECISION} decimals): {label.many(vanished)}; 请删除 (delete them)"
            )
        notes.append(
            f"{rounded_invalid.size} 个面在保留 {PRECISION} 位小数后会自相交，已对齐到网格 "
            f"(snapped to the {PRECISION}-decimal grid to stay valid): "
            f"{label.many(rounded_invalid)}"
        )
    return int(invalid.size)


def _finish(src: Path, raw: _Raw, spec: CrsSpec | None, strict: bool) -> IngestResult:
    notes = list(raw.warnings)
    gdf = raw.gdf
    if len(gdf) == 0:
        raise DataError(
            f"{src}: 图层没有任何要素 (the layer has no features)"
            + (f": {raw.layer_used}" if raw.layer_used else "")
            + "; 请确认导出了正确的图层 (check you exported the right layer)"
        )
    gdf = gdf.reset_index(drop=True)
    label = _Labeller(gdf, raw.rows)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    geoms = shapely.force_2d(geoms)
    geoms = _normalise_collections(np.asarray(geoms, dtype=object))
    family = _check_geometries(src, geoms, label)
    raw_bounds = _bounds(geoms)
    resolved = _resolve_crs(src, raw, spec, raw_bounds, _lonlat_like(geoms), notes)
    try:
        geoms = _to_wgs84(geoms, resolved)
    except pyproj.exceptions.ProjError as exc:
        raise DataError(
            f"{src}: 坐标转换失败 (cannot transform from {resolved.label}: {_short(exc)}); "
            "请检查 --crs (check the CRS)"
        ) from None
    _check_in_china(src, raw, geoms, raw_bounds, resolved, label)
    repaired = 0
    if family == _POLY:
        repaired = _repair_polygons(src, geoms, strict, label, notes)
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    attrs.columns = _clean_names(attrs.columns)
    if "geometry" in attrs.columns:
        attrs = attrs.rename(columns={"geometry": "geometry_attr"})
    out = gpd.GeoDataFrame(
        attrs.reset_index(drop=True),
        geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"),
    )
    return IngestResult(
        gdf=out,
        source_format=raw.source_format,
        crs_in=resolved.label,
        encoding=raw.encoding,
        layer_used=raw.layer_used,
        warnings=notes,
        repaired=repaired,
    )


# --------------------------------------------------------------------------------------------
# Attribute checks used by `geomap add` and `geomap check`
# --------------------------------------------------------------------------------------------


def find_area_field(gdf: gpd.GeoDataFrame) -> str | None:
    """The declared-area column (亩) among :data:`AREA_FIELD_CANDIDATES`, case-insensitive.

    Returns
    -------
    str or None
        The first candidate present, in the order of :data:`AREA_FIELD_CANDIDATES`.
    """
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    return _find_column(columns, AREA_FIELD_CANDIDATES)


def declared_area_warnings(
    gdf: gpd.GeoDataFrame, field: str | None = None, tolerance: float = 0.05
) -> list[str]:
    """Compare a declared area field (亩) with the area computed in EPSG:4549.

    Parameters
    ----------
    gdf : GeoDataFrame
        WGS84 polygons.
    field : str, optional
        The declared-area column; detected among :data:`AREA_FIELD_CANDIDATES`
        (``declared_mu``, ``area_mu``, ``面积``, ``亩``, ``mj``, case-insensitive) when None.
    tolerance : float
        Relative difference above which a feature is reported (0.05 = 5 %).

    Returns
    -------
    list of str
        One message per feature beyond tolerance (plus one if the column looks like square
        metres or hectares); empty when there is no such field or no polygons.

    Raises
    ------
    DataError
        ``field`` given but not a column.
    """
    if field is None:
        field = find_area_field(gdf)
        if field is None:
            return []
    elif field not in gdf.columns:
        raise DataError(
            f"没有申报面积字段 {field!r} (no declared-area column {field!r}); 现有列 (columns): "
            f"{', '.join(str(c) for c in gdf.columns if c != gdf.geometry.name)}"
        )
    if len(gdf) == 0:
        return []
    computed = area_mu(gdf.geometry.values)
    declared = pd.to_numeric(gdf[field], errors="coerce").to_numpy(dtype=np.float64)
    label = _Labeller(gdf, None)
    out: list[str] = []
    usable = np.isfinite(declared) & (declared > 0) & (computed > 0)
    if usable.any():
        ratio = float(np.median(declared[usable] / computed[usable]))
        for unit, factor in (("平方米 m²", 10000 / 15), ("公顷 ha", 1 / 15)):
            if abs(ratio / factor - 1) < tolerance:
                return [
                    f"字段 {field!r} 的数值约为计算面积的 {ratio:.4g} 倍，单位似乎是{unit}而不是亩 "
                    f"(the {field!r} values look like {unit.split()[-1]}, not 亩)"
                ]
    for i in range(len(gdf)):
        if computed[i] <= 0 or not np.isfinite(computed[i]):
            continue
        value = gdf[field].iloc[i]
        if not np.isfinite(declared[i]):
            if not pd.isna(value) and str(value).strip():
                out.append(
                    f"{label(i)}: 申报面积 {value!r} 不是数字 (declared area is not a number)"
                )
            continue
        diff = (computed[i] - declared[i]) / declared[i] if declared[i] else np.inf
        if abs(diff) > tolerance:
            out.append(
                f"{label(i)}: 申报 {declared[i]:.2f} 亩，计算 {computed[i]:.2f} 亩，相差 "
                f"{diff:+.1%} (declared vs computed area differ by more than {tolerance:.0%})"
            )
    return out


def duplicate_keys(gdf: pd.DataFrame, key: str) -> dict[Any, list[int]]:
    """Key values that occur more than once, with the row positions holding them.

    Parameters
    ----------
    gdf : DataFrame or GeoDataFrame
    key : str
        The key column.

    Returns
    -------
    dict
        ``{value: [row, row, ...]}`` for duplicated non-null values, in order of first
        appearance; empty when the key is unique. Text keys are compared after stripping
        whitespace, as planners cannot see trailing spaces.

    Raises
    ------
    DataError
        ``key`` is not a column.
    """
    if key not in gdf.columns:
        raise DataError(
            f"没有键字段 {key!r} (no key column {key!r}); 现有列 (columns): "
            f"{', '.join(str(c) for c in gdf.columns)}"
        )
    values = gdf[key]
    norm = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    positions: dict[Any, list[int]] = {}
    for pos, value in enumerate(norm):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
            continue
        positions.setdefault(value, []).append(pos)
    return {k: v for k, v in positions.items() if len(v) > 1}
