"""Validate a whole atlas: every layer, table and map spec, with stable finding codes.

:func:`check_atlas` reads the atlas once, then runs a list of small checks, each a function
that yields :class:`Finding` objects. A file that cannot be read is reported
(``unreadable-file``) and the checks go on with everything else.

Every finding has a stable kebab-case ``code`` with a fixed severity (:data:`CODES`):

* **error**: the map cannot be rendered, would silently show wrong data, would leak personal
  data, or an invariant the metadata declares (unique keys, a feature inside its parent,
  children tiling their parent) is broken;
* **warning**: the map renders and what it shows is right, but something is missing or
  degraded (unmatched keys shown as "no data", missing labels or units, an empty geometry,
  a declared area that disagrees with the geometry).

``layer`` names what the finding is about: a layer name (``villages``), ``data/<table>`` for
an indicator table, ``maps/<map>`` for a map spec, or a file path for a file that is ignored.
``feature`` is the feature's key (its 0-based index when it has no key), a table row's key
(its 0-based row index when empty), a location in a map spec (``layers[0].tooltip``), or
``None`` for a finding about the whole layer, table or column.

All measurements are made in EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E, metres),
the projection :mod:`geomap.crs` uses for areas. Tolerances are module constants below.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from geomap.atlas import Atlas, Table
from geomap.crs import AREA_EPSG, area_mu, guess_projected_crs, looks_swapped
from geomap.errors import GeomapError, SpecError
from geomap.geometry import families, present_types
from geomap.plan import PLAN_CODES, MapPlan, plan_map
from geomap.privacy import personal_kind
from geomap.spec import SLUG, LayerMeta
from geomap.text import key_text, listing
from geomap.totals import format_number, verify

__all__ = [
    "AREA_TOLERANCE",
    "CODES",
    "CONTAIN_SHARE",
    "GAP_MIN_M2",
    "GAP_SHARE",
    "OVERLAP_MIN_M2",
    "POINT_TOLERANCE_M",
    "SLIVER_WIDTH_M",
    "Finding",
    "check_atlas",
    "format_finding",
    "has_errors",
    "summary_line",
]

Severity = Literal["error", "warning"]
FeatureId = str | int | None

#: Every finding code and its severity. Codes are stable: scripts and tests rely on them.
CODES: dict[str, Severity] = {
    # files
    "unreadable-file": "error",
    "missing-metadata": "error",
    "orphan-metadata": "warning",
    "invalid-name": "warning",
    # geometry
    "empty-geometry": "warning",
    "invalid-geometry": "error",
    "not-wgs84": "error",
    "mixed-geometry": "warning",
    # keys and metadata
    "missing-key": "error",
    "duplicate-key": "error",
    "missing-field": "warning",
    # hierarchy
    "unknown-parent": "error",
    "outside-parent": "error",
    "parent-key-mismatch": "error",
    "tiling-gap": "error",
    "tiling-overlap": "error",
    # tables
    "table-key-unmatched": "warning",
    "duplicate-table-key": "error",
    "non-numeric": "warning",
    "missing-label": "warning",
    "missing-column": "warning",
    "missing-unit": "warning",
    # areas and privacy
    "area-mismatch": "warning",
    "unmarked-personal-data": "error",
    # a [[totals]] figure the data does not reproduce
    "total-mismatch": "error",
    # a check that could not finish (GEOS failed on a geometry)
    "check-failed": "error",
    # map specs: what the map's plan reports, the rules `render` applies (geomap.plan)
    **PLAN_CODES,
}

#: A polygon lies inside a parent feature when at least this share of its area does.
CONTAIN_SHARE = 0.99
#: A point or line lies inside a parent feature when within this distance (metres) of it.
POINT_TOLERANCE_M = 0.5
#: A tiling gap is reported when larger than both this share of the parent's area ...
GAP_SHARE = 0.001
#: ... and this many square metres.
GAP_MIN_M2 = 1.0
#: Two tiles overlapping by more than this many square metres are reported ...
OVERLAP_MIN_M2 = 1.0
#: ... unless the overlap is a sliver thinner than this on average (2 × area / perimeter,
#: metres): rounding shared edges to 7 decimals (about 1 cm) leaves slivers up to ~1 cm wide
#: and a few m² where one tile has a vertex on an edge the other lacks.
SLIVER_WIDTH_M = 0.05
#: A declared area more than this share off the computed one is reported.
AREA_TOLERANCE = 0.05

# A GeoJSON ``crs`` member that still means WGS84 lon/lat (RFC 7946 forbids the member).
# Searched on the name's last 200 characters only: a CRS name is short, and on a long one
# ``\D*`` from every "EPSG" would make the search quadratic.
_WGS84_CRS_NAME = re.compile(r"(CRS84|(EPSG|epsg)\D*4326)$")
_CRS_NAME_TAIL = 200
_POLYGONAL = {"Polygon", "MultiPolygon"}


@dataclass(frozen=True)
class Finding:
    """One problem found in the atlas.

    Attributes
    ----------
    severity : "error" or "warning"
    code : str
        Stable kebab-case code, e.g. ``area-mismatch`` (see :data:`CODES`).
    layer : str
        Layer name, ``data/<table>``, ``maps/<map>``, or the path of an ignored file.
    feature : str, int or None
        Feature key (or index), table row key, location in a map spec, or None.
    message : str
        One line, Chinese first with English in parentheses, saying what to do.
    """

    severity: Severity
    code: str
    layer: str
    feature: FeatureId
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The finding as the JSON object ``geomap check --json`` documents."""
        return {
            "severity": self.severity,
            "code": self.code,
            "layer": self.layer,
            "feature": self.feature,
            "message": self.message,
        }


def _finding(code: str, layer: str, feature: FeatureId, message: str) -> Finding:
    """A finding whose severity is the code's fixed one."""
    return Finding(CODES[code], code, layer, feature, " ".join(message.split()))


# ---------------------------------------------------------------------------------------
# The loaded atlas


@dataclass
class _Layer:
    """A readable layer with the per-feature facts several checks share."""

    meta: LayerMeta
    gdf: gpd.GeoDataFrame
    crs_member: Any = None
    ids: list[str | int] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    _metric: NDArray[np.object_] | None = None

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def geoms(self) -> NDArray[np.object_]:
        return np.asarray(self.gdf.geometry.values, dtype=object)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.gdf.columns if c != self.gdf.geometry.name]

    def present(self) -> NDArray[np.bool_]:
        g = self.geoms
        present: NDArray[np.bool_] = ~shapely.is_missing(g) & ~shapely.is_empty(g)
        return present

    def metric(self) -> NDArray[np.object_]:
        """Geometries in EPSG:4549 metres, invalid ones repaired (they are reported apart)."""
        if self._metric is None:
            g = self.geoms.copy()
            broken = self.present() & ~shapely.is_valid(g)
            if broken.any():
                g[broken] = shapely.make_valid(g[broken])
            self._metric = shapely.transform(g, _to_metric)
        return self._metric


@dataclass
class _Context:
    """Everything read from the atlas, shared by the checks."""

    atlas: Atlas
    layers: dict[str, _Layer] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    plans: dict[str, MapPlan] = field(default_factory=dict)
    layer_files: set[str] = field(default_factory=set)  # names with a .geojson or .toml
    table_files: set[str] = field(default_factory=set)
    bad_coords: set[str] = field(default_factory=set)  # layers not in lon/lat: no metric checks


@lru_cache(maxsize=2)
def _transformer(src: int, dst: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _to_metric(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    x, y = _transformer(4326, AREA_EPSG).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _lonlat(point: Any) -> str:
    """``lon, lat`` of a point given in EPSG:4549, for messages that say where to look."""
    lon, lat = _transformer(AREA_EPSG, 4326).transform(point.x, point.y)
    return f"{lon:.5f}, {lat:.5f}"


def _as_text(values: pd.Series) -> pd.Series:
    """Values as the text a person typed: integral floats lose their ``.0``."""
    return values.map(key_text)


def _error_text(exc: GeomapError) -> str:
    """A one-line version of an error (a SpecError lists its problems on several lines)."""
    if isinstance(exc, SpecError):
        return f"{exc.path}: " + "; ".join(exc.problems)
    return " ".join(str(exc).split())


def _stems(folder: Path, suffix: str) -> tuple[set[str], list[Path]]:
    """Slug stems of ``folder/*suffix`` and the paths whose stem is not a slug."""
    if not folder.is_dir():
        return set(), []
    good: set[str] = set()
    bad: list[Path] = []
    for path in sorted(folder.glob(f"*{suffix}")):
        if path.name.startswith("."):
            continue
        if SLUG.fullmatch(path.stem):
            good.add(path.stem)
        else:
            bad.append(path)
    return good, bad


# ---------------------------------------------------------------------------------------
# Loading: each loader yields the findings of files it cannot read


def _load_layers(ctx: _Context) -> Iterator[Finding]:
    folder = ctx.atlas.layers_dir
    geo, bad_geo = _stems(folder, ".geojson")
    meta, bad_meta = _stems(folder, ".toml")
    yield from _bad_names(ctx.atlas, [*bad_geo, *bad_meta])
    ctx.layer_files = geo | meta
    for name in sorted(geo | meta):
        if name not in meta:
            yield _finding(
                "missing-metadata",
                name,
                None,
                f"图层 {name} 缺少元数据文件 layers/{name}.toml，无法使用 (layer has no metadata "
                f"file); 添加含 title 与 key 的 layers/{name}.toml (add one with title and key; "
                "see docs/formats.md)",
            )
            continue
        if name not in geo:
            # What an `add` interrupted between its two renames leaves (metadata is written
            # first): no layer is listed, so nothing is broken; the next `add` overwrites it.
            yield _finding(
                "orphan-metadata",
                name,
                None,
                f"layers/{name}.toml 没有对应的 layers/{name}.geojson，可能是中断的 geomap add "
                f"留下的 (metadata without a layer, likely from an interrupted add); 重新运行 "
                "geomap add，或删除该 TOML (run the add again, or delete the stray TOML)",
            )
            continue
        try:
            # One version of the layer, through the one reader (and big layers' binary copy).
            layer_meta, loaded = ctx.atlas.layer_file(name)
            gdf = loaded.gdf
        except (GeomapError, OSError) as exc:
            text = _error_text(exc) if isinstance(exc, GeomapError) else f"{exc}"
            yield _finding(
                "unreadable-file",
                name,
                None,
                f"无法读取图层 {name} (cannot read layer): {text}",
            )
            continue
        lyr = _Layer(layer_meta, gdf, loaded.crs)
        key = layer_meta.key
        if key in gdf.columns:
            lyr.keys = [key_text(v) for v in gdf[key]]
        else:
            lyr.keys = [None] * len(gdf)
        lyr.ids = [k if k is not None else i for i, k in enumerate(lyr.keys)]
        if key in gdf.columns and (layer_meta.is_private(key) or personal_kind(gdf[key])):
            # Findings name features by their key: a private key is never printed.
            lyr.ids = [f"#{i + 1}" for i in range(len(gdf))]
        ctx.layers[name] = lyr


def _load_tables(ctx: _Context) -> Iterator[Finding]:
    folder = ctx.atlas.data_dir
    csv, bad_csv = _stems(folder, ".csv")
    defs, bad_defs = _stems(folder, ".toml")
    yield from _bad_names(ctx.atlas, [*bad_csv, *bad_defs])
    ctx.table_files = csv | defs
    for name in sorted(csv | defs):
        where = f"data/{name}"
        if name not in defs:
            yield _finding(
                "missing-metadata",
                where,
                None,
                f"表 {name} 缺少列定义文件 data/{name}.toml (table has no column definitions); "
                "添加含 title、key 与各列 [columns.X] label/unit 的 TOML (add one with title, "
                "key and a [columns.X] label for every column)",
            )
            continue
        if name not in csv:
            yield _finding(
                "missing-metadata",
                where,
                None,
                f"data/{name}.toml 没有对应的 data/{name}.csv (column definitions without a "
                "table); 添加 CSV 或删除该 TOML (add the CSV or delete the stray TOML)",
            )
            continue
        try:
            ctx.tables[name] = ctx.atlas.read_table(name)
        except (GeomapError, OSError) as exc:
            text = _error_text(exc) if isinstance(exc, GeomapError) else f"{exc}"
            yield _finding(
                "unreadable-file", where, None, f"无法读取表 {name} (cannot read table): {text}"
            )


def _load_specs(ctx: _Context) -> Iterator[Finding]:
    """Map specs with names that are not slugs, and an unreadable atlas.toml. (A spec
    itself is read by its plan, in :func:`check_maps`.)"""
    _, bad = _stems(ctx.atlas.maps_dir, ".toml")
    yield from _bad_names(ctx.atlas, bad)
    try:
        ctx.atlas.config()
    except GeomapError as exc:
        yield _finding(
            "unreadable-file",
            "atlas.toml",
            None,
            f"无法读取图集设置 (cannot read atlas settings): {_error_text(exc)}",
        )


def _bad_names(atlas: Atlas, paths: list[Path]) -> Iterator[Finding]:
    for path in paths:
        rel = str(path.relative_to(atlas.root))
        yield _finding(
            "invalid-name",
            rel,
            None,
            f"文件 {rel} 的名称不是合法的名称，已被忽略 (file ignored: its name is not a slug); "
            "请改名为小写字母、数字、- 或 _ (rename it using a-z, 0-9, '-' and '_')",
        )


# ---------------------------------------------------------------------------------------
# Layer checks


def check_geometry(ctx: _Context) -> Iterator[Finding]:
    """``empty-geometry`` and ``invalid-geometry`` (with shapely's reason)."""
    for lyr in ctx.layers.values():
        geoms = lyr.geoms
        present = lyr.present()
        for i in np.flatnonzero(~present):
            yield _finding(
                "empty-geometry",
                lyr.name,
                lyr.ids[i],
                f"图层 {lyr.name} 的要素 {lyr.ids[i]} 没有几何，地图上不会显示 (feature has a "
                "null or empty geometry and is not drawn); 补画几何或删除该要素 (draw its "
                "geometry or remove the feature)",
            )
        invalid = present & ~shapely.is_valid(geoms)
        for i in np.flatnonzero(invalid):
            reason = shapely.is_valid_reason(geoms[i])
            yield _finding(
                "invalid-geometry",
                lyr.name,
                lyr.ids[i],
                f"图层 {lyr.name} 的要素 {lyr.ids[i]} 几何无效：{reason}，面积与汇总会出错 "
                f"(invalid geometry: {reason}; areas and roll-ups are wrong); 在 QGIS 中用"
                "“修复几何”修正自相交等问题后用 geomap add --replace 重新导入 (repair it, e.g. "
                "QGIS 'Fix geometries', and re-add the layer)",
            )


def check_wgs84(ctx: _Context) -> Iterator[Finding]:
    """``not-wgs84``: a ``crs`` member other than WGS84, or coordinates beyond lon/lat."""
    for lyr in ctx.layers.values():
        yield from _crs_member(lyr)
        bounds = shapely.bounds(lyr.geoms)
        with np.errstate(invalid="ignore"):
            bad = (
                (bounds[:, 0] < -180)
                | (bounds[:, 2] > 180)
                | (bounds[:, 1] < -90)
                | (bounds[:, 3] > 90)
            )
        present = lyr.present()
        if not bad.any():
            continue
        ctx.bad_coords.add(lyr.name)
        if bad.sum() == present.sum() and bad.sum() > 1:
            # The whole layer is in some other CRS: one finding, with a guess at which.
            total = (
                float(np.nanmin(bounds[:, 0])),
                float(np.nanmin(bounds[:, 1])),
                float(np.nanmax(bounds[:, 2])),
                float(np.nanmax(bounds[:, 3])),
            )
            yield _finding(
                "not-wgs84",
                lyr.name,
                None,
                f"图层 {lyr.name} 的坐标不是经纬度 (coordinates are not WGS84 lon/lat; bounds "
                f"{', '.join(f'{v:.6g}' for v in total)}); {_crs_hint(lyr.name, total)}",
            )
            continue
        for i in np.flatnonzero(bad):
            yield _finding(
                "not-wgs84",
                lyr.name,
                lyr.ids[i],
                f"图层 {lyr.name} 的要素 {lyr.ids[i]} 坐标超出经纬度范围 (coordinates outside "
                f"lon/lat range: {', '.join(f'{v:.6g}' for v in bounds[i])}); 检查该要素是否"
                "来自其他坐标系，转换为 WGS84 后重新导入 (convert it to WGS84 and re-add)",
            )


def _crs_member(lyr: _Layer) -> Iterator[Finding]:
    member = lyr.crs_member
    if member is None:
        return
    props = member.get("properties") if isinstance(member, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if isinstance(name, str) and _WGS84_CRS_NAME.search(name[-_CRS_NAME_TAIL:]):
        return
    shown = (name if isinstance(name, str) else orjson.dumps(member).decode())[:80]
    yield _finding(
        "not-wgs84",
        lyr.name,
        None,
        f"图层 {lyr.name} 的 GeoJSON 声明了坐标系 {shown}，图集只接受 WGS84 (the GeoJSON declares "
        f"crs {shown}; atlas layers must be WGS84 without a crs member); 用 geomap add SOURCE "
        f"--name {lyr.name} --crs <源坐标系> --replace 重新导入 (re-add with --crs)",
    )


def _crs_hint(name: str, bounds: tuple[float, float, float, float]) -> str:
    if looks_swapped(bounds):
        return (
            "经度与纬度似乎颠倒 (x and y look swapped: latitude given as x); "
            f"交换坐标后重新导入 {name} (swap them and re-add the layer)"
        )
    guesses = guess_projected_crs(bounds)
    crs = f"EPSG:{guesses[0]}" if guesses else "<源坐标系>"
    also = f" (候选 candidates: {', '.join(f'EPSG:{g}' for g in guesses)})" if guesses else ""
    return (
        f"用 geomap add SOURCE --name {name} --crs {crs} --replace 重新导入{also} "
        "(re-add the source with its CRS so it is converted to WGS84)"
    )


def check_geometry_family(ctx: _Context) -> Iterator[Finding]:
    """``mixed-geometry``: points, lines and polygons mixed in one layer."""
    for lyr in ctx.layers.values():
        types = present_types(lyr.gdf.geometry)
        if len(families(types)) > 1:
            yield _finding(
                "mixed-geometry",
                lyr.name,
                None,
                f"图层 {lyr.name} 混合了多种几何类型 ({', '.join(sorted(types))}) (a layer "
                "should hold one geometry family); 拆分为多个图层 (split it into one layer per "
                "family)",
            )


def check_keys(ctx: _Context) -> Iterator[Finding]:
    """``missing-key`` (no key column, or empty values) and ``duplicate-key``."""
    for lyr in ctx.layers.values():
        key = lyr.meta.key
        if not len(lyr.gdf):
            continue
        if key not in lyr.gdf.columns:
            yield _finding(
                "missing-key",
                lyr.name,
                None,
                f"图层 {lyr.name} 没有键列 {key!r} (key column missing; columns: "
                f"{listing(lyr.columns)}); 在 layers/{lyr.name}.toml 中把 key 改为唯一编码列 "
                "(set key to the unique id column)",
            )
            continue
        for i, k in enumerate(lyr.keys):
            if k is None:
                yield _finding(
                    "missing-key",
                    lyr.name,
                    i,
                    f"图层 {lyr.name} 第 {i} 个要素的键 {key} 为空 (feature {i} has an empty "
                    f"key {key!r}); 填写唯一编码 (give it a unique code)",
                )
        hidden = bool(lyr.meta.is_private(key) or personal_kind(lyr.gdf[key]))
        yield from _duplicates(lyr.name, key, lyr.keys, "duplicate-key", "要素 features", hidden)


def _duplicates(
    where: str, key: str, keys: list[str | None], code: str, what: str, hidden: bool = False
) -> Iterator[Finding]:
    """Duplicate keys; ``hidden`` (private keys) names them by position, never by value."""
    positions: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k is not None:
            positions.setdefault(k, []).append(i)
    for k, idx in positions.items():
        if len(idx) > 1:
            shown = f"#{idx[0] + 1}" if hidden else k
            yield _finding(
                code,
                where,
                shown,
                f"{where} 中键 {key} = {shown!r} 重复 {len(idx)} 次 (duplicate key; {what} "
                f"{listing(idx)}, 0-based); 每个键必须唯一，请更正编码或删除重复项 (keys must be "
                "unique: fix the codes or remove the duplicates)",
            )


def check_metadata_fields(ctx: _Context) -> Iterator[Finding]:
    """``missing-field``: metadata naming a column the layer does not have."""
    for lyr in ctx.layers.values():
        if not len(lyr.gdf):
            continue
        meta = lyr.meta
        named = {
            "parent_key": meta.parent_key,
            "status_field": meta.status_field,
            "declared_area_field": meta.declared_area_field,
            # "name" is the default: a layer without names is allowed.
            "name_field": meta.name_field if meta.name_field != "name" else None,
        }
        for setting, column in named.items():
            if column and column not in lyr.gdf.columns:
                yield _finding(
                    "missing-field",
                    lyr.name,
                    None,
                    f"layers/{lyr.name}.toml 的 {setting} = {column!r} 不是图层的列 (names a "
                    f"column the layer does not have; columns: {listing(lyr.columns)}); "
                    "更正列名或删除该设置 (fix the column name or remove the setting)",
                )


def check_area(ctx: _Context) -> Iterator[Finding]:
    """``area-mismatch``: declared area (亩) more than 5 % off the computed one."""
    for lyr in ctx.layers.values():
        column = lyr.meta.declared_area_field
        if not column or column not in lyr.gdf.columns or lyr.name in ctx.bad_coords:
            continue
        text = _as_text(lyr.gdf[column])
        declared = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        for i in np.flatnonzero(text.notna().to_numpy() & np.isnan(declared)):
            yield _finding(
                "non-numeric",
                lyr.name,
                lyr.ids[i],
                f"图层 {lyr.name} 的要素 {lyr.ids[i]} 申报面积 {column} = {text.iloc[i]!r} 不是"
                "数字 (declared area is not a number); 填写以亩为单位的数字 (write a number in 亩)",
            )
        geoms = lyr.geoms
        usable = lyr.present() & shapely.is_valid(geoms) & (declared > 0)
        if not usable.any():
            continue
        computed = np.full(len(geoms), np.nan)
        computed[usable] = area_mu(geoms[usable])
        # Relative to the computed area (the geometry is the measurement); a declared area on
        # a feature without area (point, line) is always a mismatch.
        with np.errstate(invalid="ignore", divide="ignore"):
            off = np.where(computed > 0, (declared - computed) / computed, np.inf)
        for i in np.flatnonzero(usable & (np.abs(off) > AREA_TOLERANCE)):
            diff = f"{off[i]:+.1%}" if np.isfinite(off[i]) else "∞"
            yield _finding(
                "area-mismatch",
                lyr.name,
                lyr.ids[i],
                f"图层 {lyr.name} 的要素 {lyr.ids[i]} 申报面积 {declared[i]:,.2f} 亩，计算面积 "
                f"{computed[i]:,.2f} 亩 (EPSG:{AREA_EPSG})，相差 {diff}，超过 ±"
                f"{AREA_TOLERANCE:.0%} (declared area is {diff} off the computed one; tolerance "
                f"±{AREA_TOLERANCE:.0%}); 核对 {column} 的数值或要素边界 (check the declared value "
                "or the boundary)",
            )


def check_personal_data(ctx: _Context) -> Iterator[Finding]:
    """``unmarked-personal-data``: resident IDs / mobile numbers not marked ``private``."""
    for lyr in ctx.layers.values():
        for col in lyr.columns:
            fd = lyr.meta.fields.get(col)
            if fd is not None and fd.private is not None:
                continue
            kind = personal_kind(lyr.gdf[col])
            if kind:
                yield _finding(
                    "unmarked-personal-data",
                    lyr.name,
                    None,
                    f"图层 {lyr.name} 的列 {col!r} 看起来是{kind}，但未标明是否公开 (column looks "
                    f"like personal data and is not marked); 在 layers/{lyr.name}.toml 中加 "
                    f"[fields.{col}] private = true 使其不进入地图，确需公开则写 private = false "
                    "(mark it private = true to keep it off maps, or private = false if public)",
                )
    for name, table in ctx.tables.items():
        for col in table.df.columns:
            cdef = table.meta.columns.get(str(col))
            if cdef is not None and cdef.private is not None:
                continue
            kind = personal_kind(table.df[col])
            if kind:
                yield _finding(
                    "unmarked-personal-data",
                    f"data/{name}",
                    None,
                    f"表 {name} 的列 {col!r} 看起来是{kind}，但未标明是否公开 (column looks like "
                    f"personal data and is not marked); 在 data/{name}.toml 的 [columns.{col}] "
                    "中加 private = true，确需公开则写 private = false (mark it private = true, "
                    "or private = false if it is meant to be public)",
                )


# ---------------------------------------------------------------------------------------
# Hierarchy: parent, parent_key, tiles_parent


def _parent_of(ctx: _Context, lyr: _Layer) -> tuple[_Layer | None, list[Finding]]:
    """The readable, lon/lat, polygonal parent layer of ``lyr``, or the reason there is none.

    A parent that exists but cannot be read gives no finding here: it is reported already.
    """
    parent = lyr.meta.parent
    where = f"layers/{lyr.name}.toml"
    if parent is None:
        return None, []
    if parent == lyr.name:
        return None, [
            _finding(
                "unknown-parent",
                lyr.name,
                None,
                f"{where} 的 parent 指向图层自身 (a layer cannot be its own parent); "
                "改为上级图层名称 (name the enclosing layer)",
            )
        ]
    if parent not in ctx.layers:
        if parent in ctx.layer_files:
            return None, []
        return None, [
            _finding(
                "unknown-parent",
                lyr.name,
                None,
                f"{where} 的上级图层 parent = {parent!r} 不存在 (parent layer does not exist; "
                f"layers: {listing(sorted(ctx.layer_files))}); 更正名称或先导入该图层 (fix the "
                "name or add that layer first)",
            )
        ]
    plyr = ctx.layers[parent]
    if lyr.name in ctx.bad_coords or parent in ctx.bad_coords:
        return None, []
    if not (shapely.area(plyr.metric()) > 0).any():
        return None, [
            _finding(
                "unknown-parent",
                lyr.name,
                None,
                f"上级图层 {parent} 没有面要素，无法包含 {lyr.name} (the parent layer has no "
                "polygons); 把 parent 改为面图层 (name a polygon layer as parent)",
            )
        ]
    return plyr, []


def _containing(
    child: NDArray[np.object_], parent: NDArray[np.object_]
) -> tuple[list[list[int]], NDArray[np.float64], NDArray[np.int64]]:
    """For each child, the parents it lies in, its best share and best parent (polygons).

    A polygon lies in a parent when ``CONTAIN_SHARE`` of its area does; a point or line when
    it is within ``POINT_TOLERANCE_M`` of it (covered by the parent buffered by that much).
    """
    n = len(child)
    inside: list[list[int]] = [[] for _ in range(n)]
    best_share = np.zeros(n)
    best_parent = np.full(n, -1, dtype=np.int64)
    present = ~shapely.is_missing(child) & ~shapely.is_empty(child)
    child_area = np.where(present, shapely.area(child), 0.0)
    parent_ok = np.flatnonzero(shapely.area(parent) > 0)
    tree = shapely.STRtree(parent[parent_ok])

    polys = np.flatnonzero(present & (child_area > 0))
    if len(polys):
        ci, ti = tree.query(child[polys], predicate="intersects")
        ci, pi = polys[ci], parent_ok[ti]
        share = shapely.area(shapely.intersection(child[ci], parent[pi])) / child_area[ci]
        for c, p, s in zip(ci, pi, share, strict=True):
            if s >= CONTAIN_SHARE:
                inside[c].append(int(p))
            if s > best_share[c]:
                best_share[c], best_parent[c] = s, p

    others = np.flatnonzero(present & (child_area <= 0))
    if len(others):
        ci, ti = tree.query(child[others], predicate="dwithin", distance=POINT_TOLERANCE_M)
        ci, pi = others[ci], parent_ok[ti]
        is_point = shapely.get_type_id(child[ci]) == 0
        ok = is_point.copy()
        if (~is_point).any():
            ok[~is_point] = shapely.covered_by(
                child[ci[~is_point]], shapely.buffer(parent[pi[~is_point]], POINT_TOLERANCE_M)
            )
        for c, p in zip(ci[ok], pi[ok], strict=True):
            inside[c].append(int(p))
    return inside, best_share, best_parent


def check_hierarchy(ctx: _Context) -> Iterator[Finding]:
    """``unknown-parent``, ``outside-parent`` and ``parent-key-mismatch``."""
    for lyr in ctx.layers.values():
        plyr, problems = _parent_of(ctx, lyr)
        yield from problems
        if plyr is None:
            continue
        child = lyr.metric()
        inside, best_share, best_parent = _containing(child, plyr.metric())
        present = lyr.present()
        pk = lyr.meta.parent_key
        check_pk = bool(pk and pk in lyr.gdf.columns and plyr.meta.key in plyr.gdf.columns)
        pk_values = [key_text(v) for v in lyr.gdf[pk]] if check_pk and pk else []
        for i in np.flatnonzero(present):
            fid = lyr.ids[i]
            if not inside[i]:
                yield _outside(
                    lyr,
                    plyr,
                    fid,
                    float(best_share[i]),
                    int(best_parent[i]),
                    float(shapely.area(child[i])) > 0,
                )
                continue
            if not check_pk:
                continue
            expected = [str(plyr.ids[p]) for p in inside[i]]
            if pk_values[i] not in expected:
                got = "为空 (empty)" if pk_values[i] is None else f"= {pk_values[i]!r}"
                yield _finding(
                    "parent-key-mismatch",
                    lyr.name,
                    fid,
                    f"图层 {lyr.name} 的要素 {fid} 的 {pk} {got}，但它位于 {plyr.name} 的要素 "
                    f"{' / '.join(expected)} 内 (parent_key does not match the parent feature "
                    f"it lies in); 把 {pk} 改为 {expected[0]}，或修正边界 (set it to "
                    f"{expected[0]}, or fix the geometry)",
                )


def _outside(
    lyr: _Layer, plyr: _Layer, fid: str | int, share: float, best: int, polygon: bool
) -> Finding:
    if polygon and best >= 0:
        detail = (
            f"只有 {share:.1%} 的面积位于 {plyr.name} 的要素 {plyr.ids[best]} 内，要求 ≥ "
            f"{CONTAIN_SHARE:.0%} (only {share:.1%} of its area lies inside any one {plyr.name} "
            f"feature, best {plyr.ids[best]}; tolerance: ≥ {CONTAIN_SHARE:.0%} of its area "
            "must lie in one parent)"
        )
    elif polygon:
        detail = f"完全不在 {plyr.name} 的任何要素内 (lies outside every {plyr.name} feature)"
    else:
        detail = (
            f"不在 {plyr.name} 的任何要素内，容差 {POINT_TOLERANCE_M:g} 米 (not within any "
            f"{plyr.name} feature, tolerance {POINT_TOLERANCE_M:g} m)"
        )
    return _finding(
        "outside-parent",
        lyr.name,
        fid,
        f"图层 {lyr.name} 的要素 {fid} {detail}; 修正其边界或位置，或在 layers/{lyr.name}.toml "
        "中更正 parent (fix its geometry, or the parent setting)",
    )


def check_tiling(ctx: _Context) -> Iterator[Finding]:
    """``tiling-overlap`` and ``tiling-gap`` for layers with ``tiles_parent = true``.

    Overlaps: pairs of children whose intersection exceeds ``OVERLAP_MIN_M2``. Gaps: parent
    area not covered by the union of the children, beyond ``max(GAP_MIN_M2, GAP_SHARE ×
    parent area)``. Both found with an STRtree, so 424 micro-grids take well under a second.
    """
    for lyr in ctx.layers.values():
        if not lyr.meta.tiles_parent:
            continue
        if lyr.meta.parent is None:
            yield _finding(
                "unknown-parent",
                lyr.name,
                None,
                f"layers/{lyr.name}.toml 设置了 tiles_parent = true 但没有 parent (tiles_parent "
                "without a parent layer); 添加 parent 或删除 tiles_parent (add parent = ...)",
            )
            continue
        plyr, _ = _parent_of(ctx, lyr)  # problems reported by check_hierarchy
        if plyr is None:
            continue
        child = lyr.metric()
        tiles = np.flatnonzero(shapely.area(child) > 0)
        yield from _overlaps(lyr, child, tiles)
        yield from _gaps(lyr, plyr, child, tiles)


def _overlaps(
    lyr: _Layer, child: NDArray[np.object_], tiles: NDArray[np.int64]
) -> Iterator[Finding]:
    if len(tiles) < 2:
        return
    geoms = child[tiles]
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    # Neighbours sharing only an edge "intersect": skip them before computing any area.
    interior = ~shapely.touches(geoms[a], geoms[b])
    a, b = a[interior], b[interior]
    shared = shapely.intersection(geoms[a], geoms[b])
    areas = shapely.area(shared)
    width = 2 * areas / np.maximum(shapely.length(shared), 1e-9)
    for j in np.flatnonzero((areas > OVERLAP_MIN_M2) & (width > SLIVER_WIDTH_M)):
        i, k = int(tiles[a[j]]), int(tiles[b[j]])
        where = _lonlat(shapely.point_on_surface(shared[j]))
        yield _finding(
            "tiling-overlap",
            lyr.name,
            lyr.ids[i],
            f"图层 {lyr.name} 的要素 {lyr.ids[i]} 与 {lyr.ids[k]} 重叠 {areas[j]:,.1f} m²，位于 "
            f"{where} 附近，平均宽 {width[j]:,.2f} 米；容差：面积 {OVERLAP_MIN_M2:g} m² 且平均宽 "
            f"{SLIVER_WIDTH_M:g} 米 (tiles overlap by {areas[j]:,.1f} m² near {where}; "
            f"tolerance: {OVERLAP_MIN_M2:g} m² and {SLIVER_WIDTH_M:g} m mean width, so "
            "rounding slivers pass); 修正共用边界 (fix the shared boundary)",
        )


def _gaps(
    lyr: _Layer, plyr: _Layer, child: NDArray[np.object_], tiles: NDArray[np.int64]
) -> Iterator[Finding]:
    parent = plyr.metric()
    parents = np.flatnonzero(shapely.area(parent) > 0)
    if not len(parents):
        return
    hits_p, hits_c = (
        shapely.STRtree(child[tiles]).query(parent[parents], predicate="intersects")
        if len(tiles)
        else (np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    )
    by_parent: dict[int, list[int]] = {}
    for p, c in zip(hits_p, hits_c, strict=True):
        by_parent.setdefault(int(parents[p]), []).append(int(tiles[c]))
    for p in parents:
        pgeom = parent[p]
        parea = float(shapely.area(pgeom))
        cover = shapely.union_all(child[by_parent.get(int(p), [])])
        gap = parea - float(shapely.area(shapely.intersection(pgeom, cover)))
        tolerance = max(GAP_MIN_M2, GAP_SHARE * parea)
        if gap <= tolerance:
            continue
        pieces = shapely.get_parts(shapely.difference(pgeom, cover))
        largest = pieces[int(np.argmax(shapely.area(pieces)))] if len(pieces) else pgeom
        where = _lonlat(shapely.point_on_surface(largest))
        yield _finding(
            "tiling-gap",
            lyr.name,
            plyr.ids[p],
            f"{plyr.name} 的要素 {plyr.ids[p]} 有 {gap:,.1f} m²（{gap / parea:.2%}）未被 "
            f"{lyr.name} 的要素覆盖，最大缺口在 {where} 附近；容差 {tolerance:,.1f} m² "
            f"(parent area not covered by the {lyr.name} tiles: {gap:,.1f} m², largest gap near "
            f"{where}; tolerance {tolerance:,.1f} m² = max({GAP_MIN_M2:g} m², "
            f"{GAP_SHARE:.1%} of the parent)); 补画缺失的要素或修正边界 (add the missing tile or "
            "fix the boundaries)",
        )


# ---------------------------------------------------------------------------------------
# Table checks


def check_table_keys(ctx: _Context) -> Iterator[Finding]:
    """``missing-key`` (empty key cells) and ``duplicate-table-key``."""
    for name, table in ctx.tables.items():
        where = f"data/{name}"
        keys = [key_text(v) for v in table.df[table.meta.key]]
        for i, k in enumerate(keys):
            if k is None:
                yield _finding(
                    "missing-key",
                    where,
                    i,
                    f"表 {name} 第 {i + 2} 行的键 {table.meta.key} 为空，无法连接 (row has an "
                    f"empty key and can never be joined); 填写编码或删除该行 (fill in the code "
                    "or remove the row)",
                )
        cdef = table.meta.columns.get(table.meta.key)
        hidden = bool(
            (cdef is not None and cdef.private) or personal_kind(table.df[table.meta.key])
        )
        yield from _duplicates(
            where, table.meta.key, keys, "duplicate-table-key", "CSV 行 rows", hidden
        )


def check_table_columns(ctx: _Context) -> Iterator[Finding]:
    """``non-numeric``, ``missing-label``, ``missing-column`` and ``missing-unit``."""
    for name, table in ctx.tables.items():
        where = f"data/{name}"
        for issue in table.issues:
            yield _finding(
                "non-numeric",
                where,
                None,
                f"{issue}; 地图上显示为无数据，请改为数字或留空 (shown as no data: write a "
                "number or leave the cell empty)",
            )
        csv_columns = [str(c) for c in table.df.columns]
        for col in csv_columns:
            if col not in table.meta.columns:
                yield _finding(
                    "missing-label",
                    where,
                    None,
                    f"表 {name} 的列 {col!r} 没有定义，地图上将显示列名 (column has no "
                    f"[columns.{col}] definition; its name is shown as label); 在 "
                    f'data/{name}.toml 中添加 [columns.{col}] label = "中文名" (add a label)',
                )
        for col, cdef in table.meta.columns.items():
            if col not in csv_columns:
                yield _finding(
                    "missing-column",
                    where,
                    None,
                    f"data/{name}.toml 定义了列 [columns.{col}]，但 CSV 中没有该列 (defined "
                    f"column not in the CSV; columns: {listing(csv_columns)}); 更正列名或删除"
                    "该定义 (fix the name or remove the definition)",
                )
            elif cdef.type != "text" and not cdef.unit and col != table.meta.key:
                yield _finding(
                    "missing-unit",
                    where,
                    None,
                    f"表 {name} 的数值列 {col!r}（{cdef.label}）没有单位 (numeric column has no "
                    f'unit); 在 [columns.{col}] 中添加 unit，如 "万元"、"户"、"%" (add a '
                    "unit so legends and tooltips are clear)",
                )


def check_joins(ctx: _Context) -> Iterator[Finding]:
    """``table-key-unmatched``: table rows without a feature and features without a row,
    for every layer/table pair joined in some map (after the map layer's ``where``), as the
    maps' plans joined them. A join matching nothing is the plan's ``join-no-match``."""
    seen: dict[tuple[str, str, str, tuple[tuple[str, tuple[str, ...]], ...]], list[str]] = {}
    reports = {}
    for name, plan in ctx.plans.items():
        for run in plan.joins:
            if run.report.matched:
                group = (run.layer, run.table, run.on, run.where)
                seen.setdefault(group, []).append(name)
                reports[group] = run.report
    for group, maps in seen.items():
        layer, table_name, on, where = group
        report = reports[group]
        in_maps = listing(maps)
        subset = ""
        if where:
            conditions = "; ".join(f"{c} = {'/'.join(v)}" for c, v in where)
            subset = f"（筛选 where {conditions}）"
        for key in report.unmatched_table:
            yield _finding(
                "table-key-unmatched",
                f"data/{table_name}",
                key,
                f"表 {table_name} 的键 {key!r} 在图层 {layer}{subset}的 {on} 中没有对应要素，不会出现在"
                f"地图 {in_maps} 上 (table row has no feature in layer {layer}; not shown); "
                "检查编码是否写错，或删除该行 (check the code for a typo, or remove the row)",
            )
        for key in report.unmatched_layer:
            yield _finding(
                "table-key-unmatched",
                layer,
                key,
                f"图层 {layer} 的要素 {key} 在表 {table_name} 中没有对应行，地图 {in_maps} 上显示为"
                f"无数据 (feature has no row in table {table_name}; shown as no data); 在 "
                f"data/{table_name}.csv 中添加该行，或用 where 把它排除在该地图之外 (add a row "
                "for it, or leave it out of the map with where)",
            )


# ---------------------------------------------------------------------------------------
# Map specs: every problem a map's plan finds (what `render` would refuse or warn about)

#: Plan warnings reported here per table or layer instead (table-key-unmatched from
#: check_joins; non-numeric, missing-key and duplicate-table-key from the table checks).
_REPORTED_ELSEWHERE = {"join-warning", "non-numeric"}


def check_maps(ctx: _Context) -> Iterator[Finding]:
    """Every problem of every map's plan: ``unknown-layer``, ``unknown-column``,
    ``unknown-palette``, ``private-in-spec``, ``join-no-match`` … (see
    :data:`geomap.plan.PLAN_CODES`). A map has an error here exactly when `render` refuses
    it."""
    for name in ctx.atlas.map_names():
        plan = plan_map(ctx.atlas, name)
        ctx.plans[name] = plan
        yield from map_findings(plan)


def map_findings(plan: MapPlan) -> list[Finding]:
    """The findings of one map's plan (``layer`` is ``maps/<name>``)."""
    return [
        _finding(p.code, f"maps/{plan.name}", p.at, p.message)
        for p in plan.problems
        if p.code not in _REPORTED_ELSEWHERE
    ]


def check_totals(ctx: _Context) -> Iterator[Finding]:
    """``total-mismatch``: a declared ``[[totals]]`` figure the data does not reproduce."""
    sources = [(name, lyr.meta.totals, lyr.gdf) for name, lyr in ctx.layers.items()]
    sources += [(f"data/{n}", t.meta.totals, t.df) for n, t in ctx.tables.items()]
    for where, totals, df in sources:
        for m in verify(pd.DataFrame(df), totals):
            t = m.total
            unit = t.unit or ""
            cite = f"，来源 {t.source}" if t.source else ""
            if m.found is None:
                found_text = f"列 {m.missing} 不存在 (column {m.missing} does not exist)"
            else:
                found_text = format_number(m.found, t.decimals) + unit
            yield _finding(
                "total-mismatch",
                where,
                f"totals[{m.index}]",
                f"{t.describe()} 应为 {format_number(t.value, t.decimals)}{unit}{cite}，实际为 "
                f"{found_text} (declared total: expected {format_number(t.value, t.decimals)}{unit}, "
                f"found {found_text}); 更正数据或 [[totals]] 中的 value (fix the data or the "
                "declared value)",
            )


# ---------------------------------------------------------------------------------------
# Entry points

Check = Callable[[_Context], Iterator[Finding]]

#: The checks, in the order they run (each reads the loaded atlas and yields findings).
CHECKS: tuple[Check, ...] = (
    check_geometry,
    check_wgs84,
    check_geometry_family,
    check_keys,
    check_metadata_fields,
    check_area,
    check_hierarchy,
    check_tiling,
    check_table_keys,
    check_table_columns,
    check_maps,
    check_joins,
    check_personal_data,
    check_totals,
)


def _sort_key(f: Finding) -> tuple[str, str, tuple[Any, ...]]:
    feature = f.feature
    if feature is None:
        rank: tuple[Any, ...] = (0,)
    elif isinstance(feature, int):
        rank = (1, feature)
    else:
        # Natural order, so V2 sorts before V10; split() alternates text and digits.
        parts = re.split(r"(\d+)", feature)
        rank = (2, *(int(p) if k % 2 else p for k, p in enumerate(parts)))
    return f.layer, f.code, rank


def check_atlas(atlas: Atlas) -> list[Finding]:
    """Validate every layer, table and map spec of ``atlas``.

    Parameters
    ----------
    atlas : Atlas

    Returns
    -------
    list of Finding
        Sorted by layer, code and feature (stable). Empty when the atlas is clean.
    """
    ctx = _Context(atlas)
    findings: list[Finding] = []
    for load in (_load_layers, _load_tables, _load_specs):
        findings.extend(load(ctx))
    for check in CHECKS:
        try:
            for finding in check(ctx):
                findings.append(finding)
        except shapely.errors.GEOSException as exc:
            # A geometry GEOS cannot process even after make_valid: say which check stopped
            # rather than losing every other finding to a traceback.
            findings.append(
                _finding(
                    "check-failed",
                    "atlas",
                    check.__name__,
                    f"检查 {check.__name__} 因几何运算失败而中止：{exc} (the check stopped on a "
                    "geometry GEOS cannot process); 先修正上面报告的无效几何再重新检查 (fix the "
                    "invalid geometries reported and run geomap check again)",
                )
            )
    return sorted(findings, key=_sort_key)


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding is an error."""
    return any(f.severity == "error" for f in findings)


_SEVERITY_TEXT = {"error": "错误 error", "warning": "警告 warning"}


def format_finding(f: Finding) -> str:
    """One line: ``错误 error [code] layer feature: message``."""
    where = f.layer if f.feature is None else f"{f.layer} {f.feature}"
    return f"{_SEVERITY_TEXT[f.severity]} [{f.code}] {where}: {f.message}"


def summary_line(findings: list[Finding]) -> str:
    """The last line of the human report: counts of errors and warnings."""
    if not findings:
        return "图集检查通过，未发现问题 (atlas is clean: no findings)"
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    return (
        f"共 {len(findings)} 个问题：{errors} 个错误，{warnings} 个警告 "
        f"({len(findings)} findings: {errors} errors, {warnings} warnings)"
    )
