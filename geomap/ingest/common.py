"""Shared pieces of reading a source: limits, column-name candidates, the result types, and helpers for messages, paths and GDAL."""

from __future__ import annotations

import codecs
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj
from numpy.typing import NDArray

from geomap import chunks
from geomap.chunks import GeometryChunks
from geomap.errors import DataError, GeomapError

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

_POLY, _LINE, _POINT = "polygon", "line", "point"
# shapely type ids: 0 Point, 1 LineString, 2 LinearRing, 3 Polygon, 4 MultiPoint,
# 5 MultiLineString, 6 MultiPolygon, 7 GeometryCollection.
_FAMILY = {0: _POINT, 4: _POINT, 1: _LINE, 2: _LINE, 5: _LINE, 3: _POLY, 6: _POLY}
_FAMILY_ZH = {_POLY: "面 (polygon)", _LINE: "线 (line)", _POINT: "点 (point)"}


@dataclass(frozen=True)
class IngestResult:
    """What :func:`read_source` read.

    Attributes
    ----------
    attrs : DataFrame
        The attributes, one row per feature, clean ``RangeIndex``.
    geoms : GeometryChunks
        The geometries in the same order: EPSG:4326, 2D, one geometry family, valid polygons.
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

    attrs: pd.DataFrame
    geoms: GeometryChunks
    source_format: str
    crs_in: str
    encoding: str | None
    layer_used: str | None
    warnings: list[str] = field(default_factory=list)
    repaired: int = 0

    @property
    def gdf(self) -> gpd.GeoDataFrame:
        """The whole layer as one GeoDataFrame (for small layers and tests: a big one is
        kept in chunks, see :mod:`geomap.chunks`)."""
        return gpd.GeoDataFrame(
            self.attrs.copy(), geometry=gpd.GeoSeries(self.geoms.values(), crs="EPSG:4326")
        )


@dataclass
class _Raw:
    """A source as read, before CRS handling and validation: attributes, geometries (in
    chunks, read in batches from GDAL sources) and the declared CRS."""

    attrs: pd.DataFrame
    geoms: GeometryChunks
    crs: pyproj.CRS | None
    source_format: str
    encoding: str | None = None
    layer_used: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Tabular sources: the coordinate columns (for the "swap" hint) and the spreadsheet row
    # of each record (messages point at rows a planner can find, not indices).
    lonlat_columns: tuple[str, str] | None = None
    rows: NDArray[np.int64] | None = None

    @classmethod
    def of(cls, gdf: gpd.GeoDataFrame, source_format: str, **more: Any) -> _Raw:
        """A source read whole into one GeoDataFrame (tables, KML)."""
        attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        return cls(attrs, GeometryChunks.of(gdf.geometry.values), gdf.crs, source_format, **more)


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


def _read_batches(
    src: Path | str | bytes, **kwargs: Any
) -> tuple[pd.DataFrame, GeometryChunks, pyproj.CRS | None]:
    """A GDAL layer read :data:`~geomap.chunks.CHUNK` features at a time: its attributes,
    its geometries as WKB chunks and its CRS. Only one batch is ever held as shapely objects
    (pyogrio's record reader with ``skip_features``/``max_features``, the same per-column
    types as one whole read: see benchmarks/README.md for why not Arrow batches)."""
    total = int(pyogrio.read_info(src, **kwargs)["features"])
    geoms = GeometryChunks()
    parts: list[pd.DataFrame] = []
    crs = None
    start = 0
    while True:
        gdf = _read_dataframe(src, skip_features=start, max_features=chunks.CHUNK, **kwargs)
        crs = gdf.crs
        parts.append(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)))
        geoms.append(gdf.geometry.values)
        start += len(gdf)
        del gdf
        if len(parts[-1]) < chunks.CHUNK or (total >= 0 and start >= total):
            break
    return _concat(parts), geoms, crs


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Batches joined into one frame with the column types one whole read would give: a
    text column that is all null in one batch (object there) is text again."""
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    frame = pd.concat(parts, ignore_index=True)
    for name in frame.columns:
        if len({str(p[name].dtype) for p in parts}) > 1 and frame[name].dtype == object:
            frame[name] = frame[name].infer_objects()
    return frame


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
