"""Atlas + map spec → a plan: the resolved layers of one map and every problem with it.

A plan holds, for each ``[[layers]]`` entry of a map spec, the layer's features after its
``where`` filter, join and roll-ups, the fields it may show (labels, units, privacy), its
geometry family and its computed style; and the basemaps the map is drawn on. Building it
collects **every** problem in one pass, each with a stable code (:data:`PLAN_CODES`):

* ``geomap render`` refuses a map whose plan has errors and prints all of them;
* ``geomap check`` reports the same problems as findings.

So a rule about what a map may show is written here once; neither command re-implements it.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geomap import __version__, basemaps
from geomap.atlas import Atlas, Layer, Table
from geomap.errors import DataError, GeomapError, SpecError
from geomap.geometry import Family, families, family_of, family_of_types, present_types
from geomap.join import JoinReport, attribute_join, keys_are_private, rollup
from geomap.layercache import Outline, load_outline
from geomap.privacy import personal_kind
from geomap.spec import ColumnDef, LayerMeta, MapLayer, MapSpec, Rollup, load_toml, read_map_spec
from geomap.style import PALETTES, Styled, style_layer
from geomap.text import did_you_mean, key_text, listing
from geomap.years import (
    CHANGE_ABS,
    CHANGE_PCT,
    Series,
    View,
    change_columns,
    diverging,
    series_of,
    year_styled,
)

Warn = Callable[[str], None]
Severity = Literal["error", "warning"]

#: Polygon layers with more features than this get no name labels by default.
LABEL_MAX_FEATURES = 3000
#: Layers with at least this many features are drawn by the fast canvas layer
#: (assets/js/fast.js) unless the spec says ``fast = false``.
FAST_MIN_FEATURES = 5000
#: Layers with at least this many features are written as vector tiles beside the page
#: (geomap/tiles.py, drawn by assets/js/tiles.js) unless the spec says ``tiles = false``:
#: one page holding 1 M parcels is 124 MB and opens in 8-24 s.
TILES_MIN_FEATURES = 300_000
#: The footer's one explanation of the （示意） mark the page puts after illustrative values.
BASIS_NOTE = "（示意）：该数值非报告原数，为示意拆分或示意位置；合计与报告一致。"
#: Tooltips without a ``tooltip`` list show at most this many labelled fields.
TOOLTIP_DEFAULT_FIELDS = 6

#: Every code a plan reports, with its fixed severity. ``geomap check`` uses the same codes.
PLAN_CODES: dict[str, Severity] = {
    "unreadable-file": "error",  # the spec (or atlas.toml) cannot be read at all
    "invalid-spec": "error",  # a key or value of the spec is wrong
    "unknown-layer": "error",
    "unusable-layer": "error",  # the layer exists but cannot be read (check says why)
    "unknown-table": "error",
    "unusable-table": "error",
    "unknown-column": "error",
    "unusable-column": "error",  # geometry named as a column; list-valued style column
    "unknown-palette": "error",
    "unknown-basemap": "error",
    "basemap-key": "error",  # Tianditu without a (valid) key
    "private-in-spec": "error",
    "unmarked-personal-data": "error",
    "join-no-match": "error",
    "choropleth-no-numbers": "error",
    "years-no-indicator": "error",  # years = true on a column without indicator and year
    "unknown-category": "error",  # hidden names no category of the categorical style
    "invalid-style": "error",  # a style the data cannot take (e.g. 9 classes of Set2)
    "layer-failed": "error",  # any other reason a layer cannot be drawn
    "tiles-unsupported": "error",  # tiles = true with what tiles cannot draw (cluster, years…)
    "no-geometry": "error",
    "basemap-datum": "warning",  # an extra basemap in another datum, left out
    "join-warning": "warning",  # unmatched, keyless or duplicate keys; replaced columns
    "non-numeric": "warning",  # table cells that are not numbers, shown as no data
    "few-classes": "warning",  # fewer distinct values than classes asked for
}


@dataclass(frozen=True)
class Problem:
    """One problem of a map. ``at`` is a location in the spec (``layers[0].style``) or
    None for the whole map; ``message`` is one line, Chinese first, English in ( )."""

    code: str
    at: str | None
    message: str

    @property
    def severity(self) -> Severity:
        return PLAN_CODES[self.code]


@dataclass
class FieldInfo:
    """How one column of a planned layer is shown."""

    label: str
    unit: str | None
    private: bool | None  # None: not declared either way
    basis: str | None = None  # report | illustrative | derived; None: not declared


@dataclass
class LayerPlan:
    """One map layer resolved: data (filter, join, roll-ups), fields, family and style."""

    ml: MapLayer
    meta: LayerMeta
    frame: gpd.GeoDataFrame
    fields: dict[str, FieldInfo]
    family: Family
    styled: Styled
    visible: list[str]  #: the public columns, in the order the page lists them
    tooltip: list[str]  #: the columns the tooltip shows
    sources: list[str]
    illustrative: bool
    join_report: JoinReport | None
    fast: bool  #: drawn by the fast canvas layer
    cluster: bool
    labels: bool  #: polygon name labels
    series: Series | None = None  #: the indicator's columns, for a year switch
    views: list[View] = field(default_factory=list)  #: the year switch's states
    tiles: bool = False  #: written as vector tiles beside the page (geomap/tiles.py)
    #: tiled layers: the polygon layer their features are counted onto below full detail
    #: (None: a summary grid)
    overview: Layer | None = None
    #: a tiled layer read without its geometries (``frame.geometry`` is then empty): its
    #: outline, and the outline's positions of the frame's features (None: all, in order)
    outline: Outline | None = None
    rows: np.ndarray | None = None

    @property
    def title(self) -> str:
        return self.ml.title or self.meta.title

    @property
    def start_view(self) -> int:
        """The view shown when the page opens: the style's own column."""
        return next(i for i, v in enumerate(self.views) if v.column == self.ml.style.column)

    @property
    def has_geometry(self) -> bool:
        if self.outline is not None:
            return bool((self.outline.types_of(self.rows) >= 0).any())
        geoms = self.frame.geometry.to_numpy()
        return bool((~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)).any())

    def shapes(self, size: int) -> Iterator[np.ndarray]:
        """The layer's geometries (WGS84) in feature order, ``size`` features at a time (a
        layer read as an outline streams them from its copy, never holding them all)."""
        if self.outline is not None:
            yield from self.outline.shapes(self.rows, size)
            return
        geoms = self.frame.geometry.to_numpy()
        for start in range(0, len(geoms), size):
            yield geoms[start : start + size]


@dataclass(frozen=True)
class JoinRun:
    """A join a map makes, and what it matched (``geomap check`` lists unmatched keys)."""

    layer: str
    table: str
    on: str
    where: tuple[tuple[str, tuple[str, ...]], ...]
    report: JoinReport


@dataclass
class MapPlan:
    """Every layer of one map, resolved, its basemaps, and every problem found."""

    name: str
    spec: MapSpec | None
    layers: list[LayerPlan] = field(default_factory=list)
    basemaps: list[tuple[basemaps.Basemap, str | None]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    joins: list[JoinRun] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def illustrative(self) -> bool:
        return any(lp.illustrative for lp in self.layers)

    @property
    def datum(self) -> str:
        return self.basemaps[0][0].datum if self.basemaps else "wgs84"

    def footer(self) -> list[str]:
        """The footer lines: sources, the 示意 note, the datum shift, the generator."""
        spec_sources = self.spec.sources if self.spec else ()
        sources = merge_sources([*(s for lp in self.layers for s in lp.sources), *spec_sources])
        lines = []
        if sources:
            lines.append("资料来源：" + "；".join(sources))
        if self.illustrative:
            lines.append("示意数据：图中几何位置与分项数字为示意，非测绘成果，仅合计与报告一致。")
        if any(lp.fields[c].basis == "illustrative" for lp in self.layers for c in lp.visible):
            lines.append(BASIS_NOTE)
        if self.datum == "gcj02":
            lines.append("坐标：数据为 WGS84/CGCS2000，显示时偏移至 GCJ-02 以对齐高德底图。")
        lines.append(f"由 geomap {__version__} 生成")
        return lines


class PlanError(GeomapError):
    """A map cannot be rendered: every error of its plan, one per line."""

    def __init__(self, plan: MapPlan) -> None:
        self.plan = plan
        errors = plan.errors
        lines = [
            f"maps/{plan.name}.toml: {len(errors)} 个问题，地图未生成 ({len(errors)} problems)"
        ]
        lines += [f"  - [{p.code}] {p.message}" for p in errors]  # messages say where
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------------------------------
# Where a plan reads its layers and tables


class _Sources:
    """Layers and tables by name, read through the atlas (which caches layers)."""

    def __init__(self, atlas: Atlas) -> None:
        self.atlas = atlas
        # A name with either file is known: one without the other is "unusable", not unknown.
        self.layer_names = {p.stem for p in _files(atlas.layers_dir, ".geojson", ".toml")}
        self.table_names = {p.stem for p in _files(atlas.data_dir, ".csv", ".toml")}
        self.tables: dict[str, Table] = {}

    def layer(self, name: str) -> Layer:
        return self.atlas.read_layer(name)

    def outline(self, name: str, min_rows: int) -> tuple[Layer, Outline] | None:
        """Layer ``name`` without its geometries (see :func:`~geomap.layercache.load_outline`)
        when it has at least ``min_rows`` features; None otherwise (read it whole)."""
        atlas = self.atlas
        path, cache = atlas.layer_path(name), atlas.layer_cache_dir()
        meta, outline = atlas.consistent(
            name, lambda: (atlas.layer_meta(name), load_outline(path, cache, min_rows))
        )
        if outline is None:
            return None
        attrs = outline.attrs
        if meta.key and meta.key not in attrs.columns and len(attrs):
            return None  # read whole, which says what is wrong
        frame = gpd.GeoDataFrame(
            attrs, geometry=gpd.GeoSeries(np.full(len(attrs), None), crs="EPSG:4326")
        )
        return Layer(meta, frame), outline

    def table(self, name: str) -> Table:
        if name not in self.tables:
            self.tables[name] = self.atlas.read_table(name)
        return self.tables[name]


def _files(folder: Any, *suffixes: str) -> list[Any]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.suffix in suffixes and not p.name.startswith(".")]


def _reason(exc: Exception) -> str:
    """One line saying why a file cannot be used."""
    if isinstance(exc, SpecError):
        return f"{exc.path}: " + "; ".join(exc.problems)
    return " ".join(str(exc).split())


# ---------------------------------------------------------------------------------------
# Planning one map


class _Planner:
    """Collects the problems of one map while resolving it."""

    def __init__(self, atlas: Atlas, name: str, sources: _Sources) -> None:
        self.atlas = atlas
        self.name = name
        self.sources = sources
        self.problems: list[Problem] = []
        self.joins: list[JoinRun] = []
        self.file = f"maps/{name}.toml"

    def add(self, code: str, at: str | None, message: str) -> None:
        self.problems.append(Problem(code, at, " ".join(message.split())))

    # -- the spec and the basemaps -------------------------------------------------------
    def read_spec(self) -> MapSpec | None:
        try:
            data = load_toml(self.atlas.map_path(self.name))
        except SpecError as exc:
            self.add(
                "unreadable-file", None, f"无法读取地图配置 (cannot read map spec): {_reason(exc)}"
            )
            return None
        except OSError as exc:
            self.add("unreadable-file", None, f"无法读取地图配置 (cannot read map spec): {exc}")
            return None
        spec, problems = read_map_spec(self.name, data)
        for text in problems:
            at, _, what = text.partition(": ")
            self.add("invalid-spec", at, f"{self.file} 的 {at}: {what}")
        return spec

    def choose_basemaps(
        self, spec: MapSpec, override: str | None
    ) -> list[tuple[basemaps.Basemap, str | None]]:
        try:
            config = self.atlas.config()
        except GeomapError as exc:
            self.add(
                "unreadable-file",
                None,
                f"无法读取图集设置 (cannot read atlas settings): {_reason(exc)}",
            )
            config = {}
        key = config.get("tianditu_key")
        primary = basemaps.primary(config, spec.basemap, override)
        where = "--basemap" if override else "basemap" if spec.basemap else "atlas.toml basemap"
        chosen = self._basemap(primary, where, key)
        if chosen is None:
            return []
        out = [chosen]
        for i, extra in enumerate(spec.basemaps):
            found = self._basemap(extra, f"basemaps[{i}]", key)
            if found is None or extra == primary:
                continue
            if found[0].datum != chosen[0].datum:
                self.add(
                    "basemap-datum",
                    f"basemaps[{i}]",
                    f"地图 {self.name}: 底图 {extra} 与 {primary} 坐标系不同 (different datum), 未加入",
                )
                continue
            out.append(found)
        return out

    def _basemap(
        self, name: str, at: str, key: str | None
    ) -> tuple[basemaps.Basemap, str | None] | None:
        if name not in basemaps.PROVIDERS:
            self.add(
                "unknown-basemap",
                at,
                f"底图 {name!r:.40} 不存在 (unknown basemap{did_you_mean(name, basemaps.PROVIDERS)}); "
                f"可选 (choose one of): {', '.join(basemaps.PROVIDERS)}",
            )
            return None
        try:
            return basemaps.get(name, key)
        except GeomapError as exc:
            self.add("basemap-key", at, str(exc))
            return None

    # -- one layer -----------------------------------------------------------------------
    def layer(self, i: int, ml: MapLayer) -> LayerPlan | None:
        at = f"layers[{i}]"
        # A style the spec already got wrong (e.g. user_defined without bins) is not drawn.
        style_ok = self.check_style_names(at, ml) and not any(
            p.code == "invalid-spec" and (p.at or "").startswith(f"{at}.style")
            for p in self.problems
        )
        table = self.read_table(at, ml)
        outlined = self.outlined(ml)
        if outlined is not None:
            problems, joins = len(self.problems), len(self.joins)
            planned = self.plan_layer(at, ml, outlined[0], table, [], style_ok, outlined[1])
            if planned is None or planned.tiles:
                return planned
            # Not tiled after all (its `where` keeps too few): planned again, read whole.
            del self.problems[problems:], self.joins[joins:]
        layer = self.read_layer(f"{at}.layer", ml.layer) if ml.layer else None
        sources = [self.read_layer(f"{at}.rollup", ro.source) for ro in ml.rollup]
        if layer is None or any(s is None for s in sources):
            return None
        return self.plan_layer(at, ml, layer, table, [s for s in sources if s], style_ok)

    def plan_layer(
        self,
        at: str,
        ml: MapLayer,
        layer: Layer,
        table: Table | None,
        sources: list[Layer],
        style_ok: bool,
        outline: Outline | None = None,
    ) -> LayerPlan | None:
        try:
            planner = _LayerPlanner(self, at, ml, layer, outline)
            planner.failed = not style_ok  # go on, to find the layer's other problems
            return planner.plan(table, sources)
        except GeomapError as exc:
            self.add("layer-failed", at, f"{self.file} 的 {at}: {_reason(exc)}")
            return None

    def outlined(self, ml: MapLayer) -> tuple[Layer, Outline] | None:
        """A layer that may be tiled, read without its geometries (a county's parcels are
        never held whole); None for any other (read whole). Roll-ups onto the layer need its
        polygons, and cluster or a year switch are never tiled."""
        if not ml.layer or ml.layer not in self.sources.layer_names or ml.tiles is False:
            return None
        if ml.rollup or ml.cluster or ml.style.years:
            return None
        try:
            return self.sources.outline(ml.layer, 0 if ml.tiles else TILES_MIN_FEATURES)
        except (GeomapError, OSError):
            return None  # read whole, which reports the problem

    def check_style_names(self, at: str, ml: MapLayer) -> bool:
        """False (and the problem recorded) when the style names an unknown palette."""
        palette = ml.style.palette
        if palette and ml.style.type != "single" and palette not in PALETTES:
            self.add(
                "unknown-palette",
                f"{at}.style",
                f"{self.file} 的 {at}.style.palette = {palette!r:.40} 不是 ColorBrewer 调色板 "
                f"(unknown palette{did_you_mean(palette, PALETTES)}); 可选如 (e.g.) YlGn, YlOrRd, "
                "Blues, Greens, Reds, Purples, Set2, Paired",
            )
            return False
        return True

    def read_layer(self, at: str, name: str) -> Layer | None:
        known = self.sources.layer_names
        if name not in known:
            self.add(
                "unknown-layer",
                at,
                f"{self.file} 的 {at} = {name!r:.60} 不存在 (layer does not exist"
                f"{did_you_mean(name, known)}; layers: {listing(sorted(known))}); "
                "更正名称或先用 geomap add 导入 (fix the name or add the layer)",
            )
            return None
        try:
            return self.sources.layer(name)
        except (GeomapError, OSError) as exc:
            self.add(
                "unusable-layer",
                at,
                f"{self.file} 的 {at}: 图层 {name} 无法使用 (layer cannot be used): "
                f"{_reason(exc)}; 先修正该图层，geomap check 会说明原因 (fix the layer first)",
            )
            return None

    def read_table(self, at: str, ml: MapLayer) -> Table | None:
        if ml.join is None or not ml.join.table:
            return None
        name = ml.join.table
        known = self.sources.table_names
        if name not in known:
            self.add(
                "unknown-table",
                f"{at}.join",
                f"{self.file} 的 {at}.join.table = {name!r:.60} 不存在 (table does not exist"
                f"{did_you_mean(name, known)}; tables: {listing(sorted(known))}); 更正名称或在 "
                "data/ 中添加该表 (fix the name or add the table)",
            )
            return None
        try:
            return self.sources.table(name)
        except (GeomapError, OSError) as exc:
            self.add(
                "unusable-table",
                f"{at}.join",
                f"{self.file} 的 {at}.join: 表 {name} 无法使用 (table cannot be used): "
                f"{_reason(exc)}; 先修正该表 (fix the table first)",
            )
            return None


def _rollup_labels(ro: Rollup, src: LayerMeta) -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = {}
    if ro.count:
        out[ro.count] = (f"{src.title}数量", None)
    for name, col in ro.sum.items():
        out[name] = (f"{src.label(col)}合计", src.unit(col))
    for name, col in ro.mean.items():
        out[name] = (f"{src.label(col)}平均", src.unit(col))
    return out


def where_mask(gdf: pd.DataFrame, where: dict[str, tuple[str, ...]]) -> np.ndarray:
    """The features a map layer's ``where`` keeps: values compared as text; a column the
    layer lacks keeps nothing (it is reported as ``unknown-column``)."""
    keep = np.ones(len(gdf), dtype=bool)
    for col, values in where.items():
        if col not in gdf.columns or col == "geometry":
            return np.zeros(len(gdf), dtype=bool)
        keep &= gdf[col].map(lambda v: "" if v is None else str(v)).isin(values).to_numpy()
    return keep


def _scalar(values: pd.Series) -> bool:
    """True when no value is a list, mapping or array (as GeoJSON properties may be)."""
    return not values.map(lambda v: isinstance(v, list | dict | tuple | np.ndarray)).any()


def _columns(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if c != "geometry"]


class _LayerPlanner:
    """Resolves one map layer, recording its problems in the map's planner."""

    def __init__(
        self, planner: _Planner, at: str, ml: MapLayer, layer: Layer, outline: Outline | None
    ) -> None:
        self.p = planner
        self.at = at
        self.ml = ml
        self.layer = layer
        self.outline = outline
        self.rows: np.ndarray | None = None  # the outline's features the `where` keeps
        self.meta = layer.meta
        self.failed = False  # an error that leaves nothing to style
        self.sources: list[str] = [layer.meta.source] if layer.meta.source else []
        self.illustrative = layer.meta.illustrative
        self.fields: dict[str, FieldInfo] = {
            col: FieldInfo(
                layer.meta.label(col),
                layer.meta.unit(col),
                layer.meta.fields[col].private if col in layer.meta.fields else None,
                layer.meta.fields[col].basis if col in layer.meta.fields else None,
            )
            for col in _columns(layer.gdf)
        }
        self.report: JoinReport | None = None
        self.no_match = False
        self.table_columns: dict[str, ColumnDef] = {}
        self.series: Series | None = None

    def add(self, code: str, at: str, message: str) -> None:
        if PLAN_CODES[code] == "error":
            self.failed = True
        self.p.add(code, at, message)

    def unknown_column(self, at: str, what: str, col: str, choices: Iterable[str]) -> None:
        options = sorted(set(choices))
        self.add(
            "unknown-column",
            at,
            f"{self.p.file} 的 {at} 中的列 {col!r:.60} {what} (column not found"
            f"{did_you_mean(col, options)}; columns: {listing(options, 12)}); 更正列名 "
            "(fix the column name)",
        )

    def plan(self, table: Table | None, sources: list[Layer]) -> LayerPlan | None:
        frame = self.filtered()
        if self.ml.join is not None:
            frame = self.join(frame, table)
        for ro, src in zip(self.ml.rollup, sources, strict=True):
            frame = self.rollup(frame, ro, src)
        frame = self.years(frame)
        self.check_privacy(frame)
        visible = [c for c, f in self.fields.items() if not f.private and c in frame.columns]
        tooltip = self.tooltip(frame, visible)
        self.check_style_column(frame, visible)
        for col in self.ml.facets:
            self.require(f"{self.at}.facets", col, frame, visible)
        if self.failed:
            self.hidden_alone(frame)
            return None
        return self.finish(frame, visible, tooltip)

    def hidden_alone(self, frame: gpd.GeoDataFrame) -> None:
        """Check `hidden` even when another problem stops the layer, if its style can be
        computed: every problem is reported in one pass."""
        style, column = self.ml.style, self.ml.style.column
        usable = column in frame.columns and not (
            column in self.fields and self.fields[column].private
        )
        if not self.ml.hidden or style.type != "categorical" or not column or not usable:
            return
        labels = {c: (f.label, f.unit) for c, f in self.fields.items()}
        try:
            styled = style_layer(style, frame, self.meta, "polygon", self.ml.layer, labels)
        except DataError:
            return  # the style's own problem is reported
        self.check_hidden(styled)

    def years(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """A year switch: the indicator's series, and the change columns when asked for."""
        style = self.ml.style
        if not style.years or self.failed:
            return frame
        try:
            self.series = series_of(
                self.table_columns, style.column or "", f"地图图层 {self.ml.layer}"
            )
        except DataError as exc:
            self.add("years-no-indicator", f"{self.at}.style", f"{self.p.file}: {exc}")
            return frame
        if not style.change:
            return frame
        series = self.series
        absolute, percent = change_columns(frame, series)
        frame = frame.copy()
        frame[CHANGE_ABS], frame[CHANGE_PCT] = absolute, percent
        span = f"{series.years[0]}–{series.years[-1]}年{series.indicator}"
        unit = self.fields[series.columns[-1]].unit
        illustrative = any(self.fields[c].basis == "illustrative" for c in series.columns)
        # A change of illustrative values is itself illustrative.
        basis = "illustrative" if illustrative else "derived"
        self.fields[CHANGE_ABS] = FieldInfo(f"{span}变化", unit, False, basis)
        self.fields[CHANGE_PCT] = FieldInfo(f"{span}变化率", "%", False, basis)
        return frame

    def check_hidden(self, styled: Styled) -> bool:
        """`hidden` names categories of the layer's categorical style."""
        if not self.ml.hidden:
            return True
        labels = [i.label for i in styled.legend]
        wrong = [h for h in self.ml.hidden if h not in labels]
        if self.ml.style.type == "categorical" and not wrong:
            return True
        self.add(
            "unknown-category",
            f"{self.at}.hidden",
            f"{self.p.file} 的 {self.at}.hidden 中的类别 {listing(wrong)} 不是该层分类样式的类别 "
            f"(hidden names no category of the layer's categorical style"
            f"{did_you_mean(wrong[0], labels) if wrong else ''}; categories: "
            f"{listing(labels)}); 更正类别 (fix the value)",
        )
        return False

    def views(self, frame: gpd.GeoDataFrame, tooltip: list[str], title: str) -> list[View]:
        """The year switch: one view per year (class breaks shared by all years, so colours
        compare), then the change views (diverging about zero). The tooltip of each view
        shows its own column in place of the indicator's other years."""
        series, style = self.series, self.ml.style
        if series is None:
            return []
        unit = self.fields[series.columns[-1]].unit
        own = {*series.columns, CHANGE_ABS, CHANGE_PCT}
        at = next((k for k, c in enumerate(tooltip) if c in own), len(tooltip))
        rest = [c for c in tooltip if c not in own]

        def tip(shown: list[str]) -> tuple[str, ...]:
            return (*rest[:at], *shown, *rest[at:])

        views = []
        for year, col in zip(series.years, series.columns, strict=True):
            info = self.fields[col]
            label = f"{title} · {info.label}" + (f"（{info.unit}）" if info.unit else "")
            styled = year_styled(style, frame, series, col, label, unit)
            views.append(View(f"{year}年", col, styled, tip([col])))
        if style.change:
            ends = [series.columns[0], series.columns[-1]]
            for name, col in (("变化", CHANGE_ABS), ("变化率", CHANGE_PCT)):
                info = self.fields[col]
                label = f"{title} · {info.label}（{info.unit}）" if info.unit else info.label
                styled = diverging(frame[col], label, info.unit)
                views.append(View(name, col, styled, tip([*ends, col])))
        return views

    def filtered(self) -> gpd.GeoDataFrame:
        gdf = self.layer.gdf
        for col in self.ml.where:
            if col not in gdf.columns or col == gdf.geometry.name:
                self.unknown_column(
                    f"{self.at}.where", f"不是图层 {self.ml.layer} 的列", col, _columns(gdf)
                )
            elif self.meta.is_private(col):
                # Filtering on a private field tells which features hold which private value.
                self.add(
                    "private-in-spec",
                    f"{self.at}.where",
                    f"{self.p.file} 的 {self.at}.where 按私密字段 {col!r:.60} 筛选，会暴露其取值 "
                    "(filtering on a private field reveals its values: private); 从地图配置中删除"
                    "它 (remove it from the spec)",
                )
        if not self.ml.where:
            return gdf
        keep = where_mask(gdf, self.ml.where)
        if self.outline is not None:
            self.rows = np.flatnonzero(keep)
        return gdf[keep].reset_index(drop=True)

    def join(self, frame: gpd.GeoDataFrame, table: Table | None) -> gpd.GeoDataFrame:
        assert self.ml.join is not None
        on, at = self.ml.join.on, f"{self.at}.join"
        if on not in frame.columns:
            self.unknown_column(at, f"不是图层 {self.ml.layer} 的列", on, _columns(frame))
        if table is None or on not in frame.columns:
            self.failed = True
            return frame
        for issue in table.issues:
            self.add("non-numeric", at, issue)
        shown = Layer(self.meta, frame)
        hidden = keys_are_private(shown, table, on)
        joined, report = attribute_join(shown, table, on, hide_keys=hidden)
        if hidden:  # private keys: counts only, never the values
            report = dataclasses.replace(
                report,
                unmatched_layer=tuple(f"#{i + 1}" for i in range(len(report.unmatched_layer))),
                unmatched_table=tuple(f"#{i + 1}" for i in range(len(report.unmatched_table))),
            )
        self.report = report
        where = tuple(sorted(self.ml.where.items()))
        self.p.joins.append(JoinRun(self.ml.layer, self.ml.join.table, on, where, report))
        if report.matched == 0 and len(frame) and len(table.df):
            self.no_match = True
            self.add("join-no-match", at, self._no_match_message(frame, table, on))
        else:
            self._join_warnings(report, at)
        if table.meta.source:
            self.sources.append(table.meta.source)
        self.illustrative = self.illustrative or table.meta.illustrative
        self.table_columns = table.meta.columns
        for col, cdef in table.meta.columns.items():
            if col in joined.columns and col != table.meta.key:
                self.fields[col] = FieldInfo(cdef.label, cdef.unit, cdef.private, cdef.basis)
        for col in map(str, table.df.columns):
            if col not in self.fields and col != table.meta.key and col in joined.columns:
                self.fields[col] = FieldInfo(col, None, None)
        return joined

    def _join_warnings(self, report: JoinReport, at: str) -> None:
        for text in report.warnings:
            self.add("join-warning", at, f"地图图层 {self.ml.layer}: {text}")

    def _no_match_message(self, frame: pd.DataFrame, table: Table, on: str) -> str:
        keys = {key_text(v) for v in table.df[table.meta.key]} - {None}
        best, hits = None, 0
        for col in _columns(frame):
            n = sum(key_text(v) in keys for v in frame[col])
            if n > hits:
                best, hits = col, n
        hint = (
            f"; 列 {best!r} 可匹配 {hits} 个要素，是否应写 on = {best!r}? "
            f"(column {best!r} matches {hits} features: did you mean on = {best!r}?)"
            if best
            else "; 检查表的键与图层的列是否同一种编码 (check both hold the same codes)"
        )
        assert self.ml.join is not None
        return (
            f"{self.p.file} 的 {self.at}.join: 图层 {self.ml.layer} 的列 {on!r} 与表 "
            f"{self.ml.join.table} 的键 {table.meta.key!r} 没有一个相同 (no feature matches any "
            f"table row: every value would show as no data){hint}"
        )

    def rollup(self, frame: gpd.GeoDataFrame, ro: Rollup, src: Layer) -> gpd.GeoDataFrame:
        at, ok = f"{self.at}.rollup", True
        if "geometry" in (ro.count, *ro.sum, *ro.mean):
            self.add(
                "unusable-column",
                at,
                f"{self.p.file} 的 {at} 结果列名 'geometry' 是几何列的保留名 (a rollup output "
                "cannot be named 'geometry'); 换一个名称 (choose another name)",
            )
            ok = False
        for col in [*ro.sum.values(), *ro.mean.values()]:
            if col not in src.gdf.columns or col == "geometry":
                self.unknown_column(at, f"不在图层 {ro.source} 中", col, _columns(src.gdf))
                ok = False
            elif src.meta.is_private(col):
                # A sum or mean over one feature is that feature's value.
                self.add(
                    "private-in-spec",
                    at,
                    f"{self.p.file} 的 {at} 汇总了私密字段 {col!r:.60}（图层 {ro.source}），只含一个"
                    "要素的面会公开它的值 (a rollup cannot sum or average a private field); 从汇总"
                    "中删除它 (remove it from the rollup)",
                )
                ok = False
        if not ok:
            return frame
        out = rollup(frame, src, ro)
        for name, label in _rollup_labels(ro, src.meta).items():
            self.fields.setdefault(name, FieldInfo(*label, None))
            declared = self.meta.fields.get(name)
            if declared and declared.label:
                self.fields[name] = FieldInfo(declared.label, declared.unit, False, declared.basis)
        return out

    def check_privacy(self, frame: pd.DataFrame) -> None:
        for col, info in self.fields.items():
            if info.private is None and col in frame.columns:
                kind = personal_kind(frame[col])
                if kind:
                    self.add(
                        "unmarked-personal-data",
                        self.at,
                        f"图层 {self.meta.name} 的列 {col!r:.60} 看起来是{kind}，但未标明是否公开 "
                        f"(column looks like personal data and is not marked); add "
                        f"[fields.{col}] private = true to layers/{self.meta.name}.toml "
                        "(or to the table's [columns.X]) to keep it out of maps, or "
                        "private = false if it is meant to be public",
                    )

    def require(self, at: str, col: str, frame: pd.DataFrame, visible: list[str]) -> bool:
        """True when ``col`` may be shown; otherwise the problem is recorded."""
        if col in self.fields and self.fields[col].private:
            self.add(
                "private-in-spec",
                at,
                f"{self.p.file} 的 {at} 使用了私密字段 {col!r:.60}（图层 {self.ml.layer}），私密字段"
                f"不能出现在地图上 (a private field cannot appear on a map: private); 从地图配置中"
                "删除它 (remove it from the map spec)",
            )
            return False
        if col not in frame.columns or col == "geometry":
            what = "在图层、连接的表和汇总结果中都不存在"
            self.unknown_column(at, what, col, visible)
            return False
        if at.endswith(".style") and not _scalar(frame[col]):
            self.add(
                "unusable-column",
                at,
                f"{self.p.file} 的 {at} 的列 {col!r:.60} 含有列表或对象值 (holds lists or "
                "objects, not one value per feature); 选择一个普通列 (choose a column of plain "
                "text or numbers)",
            )
            return False
        return True

    def tooltip(self, frame: pd.DataFrame, visible: list[str]) -> list[str]:
        """The columns the tooltip shows: the spec's list, else the labelled fields."""
        if self.ml.tooltip is not None:
            cols = list(self.ml.tooltip)
            ok = [self.require(f"{self.at}.tooltip", c, frame, visible) for c in cols]
            return cols if all(ok) else []
        meta = self.meta
        labelled = [c for c in visible if c in meta.fields and meta.fields[c].label]
        return [c for c in labelled if c != meta.name_field][:TOOLTIP_DEFAULT_FIELDS]

    def check_style_column(self, frame: pd.DataFrame, visible: list[str]) -> None:
        style, at = self.ml.style, f"{self.at}.style"
        if not style.column or not self.require(at, style.column, frame, visible):
            return
        if style.type != "choropleth" or self.no_match:
            return
        numbers = pd.to_numeric(frame[style.column], errors="coerce")
        if not np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan)).any():
            self.add(
                "choropleth-no-numbers",
                at,
                f"{self.p.file} 的 {at} 按列 {style.column!r} 分级设色，但该列没有数值 (the "
                'choropleth column holds no numbers); 检查连接与表的列类型 type = "number" '
                "(check the join and the column type)",
            )

    def finish(
        self, frame: gpd.GeoDataFrame, visible: list[str], tooltip: list[str]
    ) -> LayerPlan | None:
        ml, meta = self.ml, self.meta
        if self.outline is not None:
            types = self.outline.present_types(self.rows)
        else:
            types = present_types(frame.geometry)
        family = family_of_types(types)
        labels = {c: (f.label, f.unit) for c, f in self.fields.items()}
        title = ml.title or meta.title
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                styled = style_layer(ml.style, frame, meta, family, title, labels)
                views = self.views(frame, tooltip, title)
            except DataError as exc:
                self.add(
                    "invalid-style", f"{self.at}.style", f"{self.p.file} 的 {self.at}.style: {exc}"
                )
                return None
        if not self.check_hidden(styled):
            return None
        if views:
            start = next(i for i, v in enumerate(views) if v.column == ml.style.column)
            styled, tooltip = views[start].styled, list(views[start].tooltip)
        for w in caught:
            if issubclass(w.category, UserWarning) and "unique values" in str(w.message):
                self.add(
                    "few-classes",
                    f"{self.at}.style",
                    f"{self.p.file} 的 {self.at}.style: 不同数值太少，分级数已减少 (too few "
                    f"distinct values: {w.message})",
                )
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        cluster = ml.cluster and family == "point"
        fast = ml.fast if ml.fast is not None else len(frame) >= FAST_MIN_FEATURES
        # The fast encoding holds one geometry family; a mixed layer (which check reports as
        # mixed-geometry) is drawn by Leaflet instead.
        fast = fast and len(families(types)) <= 1
        tiles = self.tiles(len(frame))
        overview = self.overview(tiles) if tiles is not None else None
        if tiles is None or overview is False:
            return None
        named = meta.name_field in visible
        if ml.labels is not None:
            want_labels = ml.labels and family == "polygon" and named
        else:
            # Outline-only layers (a boundary over others) and very large ones: no labels.
            want_labels = (
                family == "polygon" and named and len(frame) <= LABEL_MAX_FEATURES and ml.style.fill
            )
        return LayerPlan(
            ml=ml,
            meta=meta,
            frame=frame,
            fields=self.fields,
            family=family,
            styled=styled,
            visible=visible,
            tooltip=tooltip,
            sources=self.sources,
            illustrative=self.illustrative,
            join_report=self.report,
            fast=fast and not cluster and not tiles,
            cluster=cluster,
            labels=want_labels and not tiles,
            series=self.series,
            views=views,
            tiles=tiles,
            overview=overview if isinstance(overview, Layer) else None,
            outline=self.outline,
            rows=self.rows,
        )

    def overview(self, tiles: bool) -> Layer | bool | None:
        """The layer a tiled layer is counted onto below full detail (``overview``); None
        without one, False (the problem recorded) when it cannot be used."""
        name, at = self.ml.overview, f"{self.at}.overview"
        if name is None:
            return None
        if not tiles:
            self.add(
                "tiles-unsupported",
                at,
                f"{self.p.file} 的 {at}: overview 只用于矢量切片图层 (overview applies to a "
                "tiled layer only); 加上 tiles = true 或删除 overview (add tiles = true or "
                "remove overview)",
            )
            return False
        layer = self.p.read_layer(at, name)
        if layer is None:
            self.failed = True
            return False
        if family_of(layer.gdf.geometry) != "polygon":
            self.add(
                "tiles-unsupported",
                at,
                f"{self.p.file} 的 {at} = {name!r}: 汇总图层应为面图层 (the overview layer must "
                "hold polygons, e.g. villages or grids)",
            )
            return False
        return layer

    def tiles(self, count: int) -> bool | None:
        """Whether the layer is written as vector tiles (``tiles`` in the spec, else by
        feature count); None, with the problem recorded, when the spec asks for tiles
        with something tiles cannot draw."""
        ml = self.ml
        if ml.tiles is None:
            return count >= TILES_MIN_FEATURES and not ml.cluster and not ml.style.years
        if not ml.tiles:
            return False
        clash = [
            what
            for what, on in (
                ("cluster = true", ml.cluster),
                ("fast = true", ml.fast is True),
                ("labels = true", ml.labels is True),
                ("style.years = true", ml.style.years),
            )
            if on
        ]
        if clash:
            self.add(
                "tiles-unsupported",
                self.at,
                f"{self.p.file} 的 {self.at}: tiles = true 不能与 {', '.join(clash)} 同用 "
                "(vector tiles cannot be combined with these); 删除其中之一 (remove one)",
            )
            return None
        return True


def plan_map(
    atlas: Atlas,
    name: str,
    *,
    spec: MapSpec | None = None,
    basemap: str | None = None,
) -> MapPlan:
    """Resolve the map ``maps/<name>.toml`` and collect every problem with it.

    Parameters
    ----------
    atlas : Atlas
    name : str
        The map's name.
    spec : MapSpec, optional
        The spec, when the caller has already read it without problems.
    basemap : str, optional
        A basemap that overrides the spec's (``geomap render --basemap``).

    Returns
    -------
    MapPlan
        Its ``problems`` list every error and warning, in spec order; its ``layers`` hold
        the layers that could be resolved (all of them when there is no error).
    """
    planner = _Planner(atlas, name, _Sources(atlas))
    spec = spec or planner.read_spec()
    plan = MapPlan(name, spec)
    if spec is not None:
        plan.basemaps = planner.choose_basemaps(spec, basemap)
        for i, ml in enumerate(spec.layers):
            lp = planner.layer(i, ml)
            if lp is not None:
                plan.layers.append(lp)
        complete = spec.layers and len(plan.layers) == len(spec.layers)
        if complete and not any(lp.has_geometry for lp in plan.layers):
            planner.add(
                "no-geometry", None, f"地图 {name}: 所有图层都没有几何 (no layer has any geometry)"
            )
    plan.problems = planner.problems
    plan.joins = planner.joins
    return plan


_NUMERALS = "一二三四五六七八九十"
_SECTION = r"\d{4}\([一二三四五六七八九十]+\)"
# Searched, not matched from the start: each attempt begins at one blank and fails at the
# next non-section character, so a line of 80 000 spaces is one linear pass.
_CITED = re.compile(rf"\s(?P<sections>{_SECTION}(?:、{_SECTION})*)$")


def merge_sources(sources: Iterable[str]) -> list[str]:
    """Sources without repeats; citations of one document merged into one, sections in
    report order: "报告 2022(二)" and "报告 2022(一)、2022(二)" → "报告 2022(一)、2022(二)"."""
    merged: dict[str, set[str] | None] = {}
    for source in sources:
        text = source.strip()
        m = _CITED.search(text)
        doc = text[: m.start()].rstrip() if m else ""
        if m is None or not doc:
            merged.setdefault(source, None)
            continue
        sections = merged.setdefault(doc, set())
        if sections is not None:
            sections.update(m["sections"].split("、"))

    def order(section: str) -> tuple[int, int]:
        year, numeral = section[:4], section[5:-1]
        return int(year), sum(_NUMERALS.index(c) + 1 for c in numeral)

    return [
        doc if sections is None else f"{doc} {'、'.join(sorted(sections, key=order))}"
        for doc, sections in merged.items()
    ]
