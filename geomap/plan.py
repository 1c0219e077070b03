"""Atlas + map spec → a plan: the resolved layers of one map.

A plan holds, for each ``[[layers]]`` entry of a map spec, the layer's features after its
``where`` filter, joins and roll-ups, the fields it may show (labels, units, privacy), its
geometry family, and its computed style. :mod:`geomap.render` turns a plan into a page
(:mod:`geomap.payload`, :mod:`geomap.page`); nothing about what a map shows is decided
anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from geomap import __version__
from geomap.atlas import Atlas, Layer
from geomap.errors import DataError, PrivacyError
from geomap.geometry import family_of
from geomap.join import attribute_join, rollup
from geomap.privacy import personal_kind
from geomap.spec import ColumnDef, LayerMeta, MapLayer, MapSpec, Rollup
from geomap.style import Styled, style_layer
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

#: Polygon layers with more features than this get no name labels by default.
LABEL_MAX_FEATURES = 3000
#: Layers with at least this many features are drawn by the fast canvas layer
#: (assets/js/fast.js) unless the spec says ``fast = false``.
FAST_MIN_FEATURES = 5000
#: The footer's one explanation of the （示意） mark the page puts after illustrative values.
BASIS_NOTE = "（示意）：该数值非报告原数，为示意拆分或示意位置；合计与报告一致。"
#: Tooltips without a ``tooltip`` list show at most this many labelled fields.
TOOLTIP_DEFAULT_FIELDS = 6


@dataclass
class FieldInfo:
    """How one column of a planned layer is shown."""

    label: str
    unit: str | None
    private: bool | None  # None: not declared either way
    basis: str | None = None  # report | illustrative | derived; None: not declared


def _filtered(gdf: gpd.GeoDataFrame, ml: MapLayer) -> gpd.GeoDataFrame:
    """Only the features matching the map layer's ``where`` (values compared as text)."""
    if not ml.where:
        return gdf
    keep = np.ones(len(gdf), dtype=bool)
    for col, values in ml.where.items():
        if col not in gdf.columns:
            raise DataError(
                f"地图图层 {ml.layer}: where 中的列 {col!r:.60} 不存在 (column not found); "
                f"columns: {', '.join(c for c in gdf.columns if c != gdf.geometry.name)}"
            )
        keep &= gdf[col].map(lambda v: "" if v is None else str(v)).isin(values).to_numpy()
    return gdf[keep].reset_index(drop=True)


def _rollup_labels(ro: Rollup, src: LayerMeta) -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = {}
    if ro.count:
        out[ro.count] = (f"{src.title}数量", None)
    for name, col in ro.sum.items():
        out[name] = (f"{src.label(col)}合计", src.unit(col))
    for name, col in ro.mean.items():
        out[name] = (f"{src.label(col)}平均", src.unit(col))
    return out


class LayerPlan:
    """One map layer resolved: data (filter, join, roll-ups), fields, family and style."""

    def __init__(self, atlas: Atlas, ml: MapLayer, warn: Warn) -> None:
        self.ml = ml
        layer = atlas.read_layer(ml.layer)
        self.meta: LayerMeta = layer.meta
        self.sources: list[str] = [layer.meta.source] if layer.meta.source else []
        self.illustrative = layer.meta.illustrative
        self.fields: dict[str, FieldInfo] = {
            col: FieldInfo(
                layer.meta.label(col),
                layer.meta.unit(col),
                layer.meta.fields[col].private if col in layer.meta.fields else None,
                layer.meta.fields[col].basis if col in layer.meta.fields else None,
            )
            for col in layer.gdf.columns
            if col != layer.gdf.geometry.name
        }
        frame = _filtered(layer.gdf, ml)
        table_columns: dict[str, ColumnDef] = {}
        if ml.join:
            table = atlas.read_table(ml.join.table)
            for issue in table.issues:
                warn(issue)
            frame, report = attribute_join(Layer(layer.meta, frame), table, ml.join.on)
            for w in report.warnings:
                warn(f"地图图层 {ml.layer}: {w}")
            if table.meta.source:
                self.sources.append(table.meta.source)
            self.illustrative = self.illustrative or table.meta.illustrative
            table_columns = table.meta.columns
            for col, cdef in table.meta.columns.items():
                if col in frame.columns and col != table.meta.key:
                    self.fields[col] = FieldInfo(cdef.label, cdef.unit, cdef.private, cdef.basis)
            for col in table.df.columns:
                if col not in self.fields and col != table.meta.key and col in frame.columns:
                    self.fields[col] = FieldInfo(col, None, None)
        for ro in ml.rollup:
            src = atlas.read_layer(ro.source)
            for col in [*ro.sum.values(), *ro.mean.values()]:
                # A sum or mean over one feature is that feature's value: never of private data.
                if src.meta.is_private(col):
                    raise PrivacyError(
                        f"地图图层 {ml.layer}: 汇总使用了图层 {ro.source} 的私密字段 {col!r:.60} "
                        "(a rollup cannot sum or average a private field: a polygon holding one "
                        "feature would publish its value); remove it from the rollup"
                    )
            frame = rollup(frame, src, ro)
            for out, label in _rollup_labels(ro, src.meta).items():
                self.fields.setdefault(out, FieldInfo(*label, None))
                declared = self.meta.fields.get(out)
                if declared and declared.label:
                    self.fields[out] = FieldInfo(
                        declared.label, declared.unit, False, declared.basis
                    )
        self.series: Series | None = None
        if ml.style.years:
            self.series = series_of(table_columns, ml.style.column or "", f"地图图层 {ml.layer}")
            if ml.style.change:
                frame = self._add_change(frame, self.series)
        self.frame: gpd.GeoDataFrame = frame
        self._check_privacy()
        self.family = family_of(frame.geometry)
        self.title = ml.title or self.meta.title
        self.visible = [
            c for c, info in self.fields.items() if not info.private and c in self.frame.columns
        ]
        self.tooltip = self._tooltip()
        if ml.style.column:
            self._require([ml.style.column], "style")
        self._require(ml.facets, "facets")
        labels = {c: (f.label, f.unit) for c, f in self.fields.items()}
        self.styled: Styled = style_layer(
            ml.style, frame, self.meta, self.family, self.title, labels
        )
        self._check_hidden()
        self.views: list[View] = self._views() if self.series else []
        if self.views:
            self.styled = self.views[self.start_view].styled
            self.tooltip = list(self.views[self.start_view].tooltip)
        fast = ml.fast if ml.fast is not None else len(frame) >= FAST_MIN_FEATURES
        self.cluster = ml.cluster and self.family == "point"
        self.fast = fast and not self.cluster
        self.labels = self._wants_labels()

    def _check_hidden(self) -> None:
        """`hidden` names categories of the layer's categorical style."""
        if not self.ml.hidden:
            return
        labels = [i.label for i in self.styled.legend]
        wrong = [h for h in self.ml.hidden if h not in labels]
        if self.ml.style.type != "categorical" or wrong:
            raise DataError(
                f"地图图层 {self.ml.layer}: hidden 中的类别不存在 (hidden names no category of "
                f"the layer's categorical style: {', '.join(repr(w) for w in wrong) or '—'}); "
                f"categories: {', '.join(labels)}"
            )

    def _add_change(self, frame: gpd.GeoDataFrame, series: Series) -> gpd.GeoDataFrame:
        """The change columns of a years layer: first → last year, in the unit and in %."""
        absolute, percent = change_columns(frame, series)
        frame = frame.copy()
        frame[CHANGE_ABS], frame[CHANGE_PCT] = absolute, percent
        span = f"{series.years[0]}–{series.years[-1]}年{series.indicator}"
        unit = self.fields[series.columns[-1]].unit
        basis = "illustrative" if any(
            self.fields[c].basis == "illustrative" for c in series.columns
        ) else "derived"  # a change of illustrative values is itself illustrative
        self.fields[CHANGE_ABS] = FieldInfo(f"{span}变化", unit, False, basis)
        self.fields[CHANGE_PCT] = FieldInfo(f"{span}变化率", "%", False, basis)
        return frame

    def _views(self) -> list[View]:
        """The year switch: one view per year (class breaks shared by all years, so colours
        compare), then the change views (diverging about zero). The tooltip of each view
        shows its own column in place of the indicator's other years."""
        series, style = self.series, self.ml.style
        assert series is not None
        unit = self.fields[series.columns[-1]].unit
        own = {*series.columns, CHANGE_ABS, CHANGE_PCT}
        at = next((k for k, c in enumerate(self.tooltip) if c in own), len(self.tooltip))
        rest = [c for c in self.tooltip if c not in own]

        def tip(shown: list[str]) -> tuple[str, ...]:
            return (*rest[:at], *shown, *rest[at:])

        views = []
        for year, col in zip(series.years, series.columns, strict=True):
            info = self.fields[col]
            title = f"{self.title} · {info.label}" + (f"（{info.unit}）" if info.unit else "")
            styled = year_styled(style, self.frame, series, col, title, unit)
            views.append(View(f"{year}年", col, styled, tip([col])))
        if style.change:
            ends = [series.columns[0], series.columns[-1]]
            for label, col in (("变化", CHANGE_ABS), ("变化率", CHANGE_PCT)):
                info = self.fields[col]
                title = f"{self.title} · {info.label}（{info.unit}）" if info.unit else info.label
                styled = diverging(self.frame[col], title, info.unit)
                views.append(View(label, col, styled, tip([*ends, col])))
        return views

    @property
    def start_view(self) -> int:
        """The view shown when the page opens: the style's own column."""
        return next(i for i, v in enumerate(self.views) if v.column == self.ml.style.column)

    @property
    def has_geometry(self) -> bool:
        geoms = self.frame.geometry.to_numpy()
        return bool((~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)).any())

    def _check_privacy(self) -> None:
        for col, info in self.fields.items():
            if info.private is None and col in self.frame.columns:
                kind = personal_kind(self.frame[col])
                if kind:
                    raise PrivacyError(
                        f"图层 {self.meta.name} 的列 {col!r:.60} 看起来是{kind}，但未标明是否公开 "
                        f"(column looks like personal data and is not marked); add "
                        f"[fields.{col}] private = true to layers/{self.meta.name}.toml "
                        "(or to the table's [columns.X]) to keep it out of maps, or "
                        "private = false if it is meant to be public"
                    )

    def _require(self, cols: Iterable[str], what: str) -> None:
        for col in cols:
            if col in self.fields and self.fields[col].private:
                raise PrivacyError(
                    f"地图图层 {self.ml.layer}: {what} 使用了私密字段 {col!r:.60} "
                    "(a private field cannot appear on a map); remove it from the map spec"
                )
            if col not in self.frame.columns:
                raise DataError(
                    f"地图图层 {self.ml.layer}: {what} 中的列 {col!r:.60} 不存在 (column not "
                    f"found); columns: {', '.join(self.visible)}"
                )

    def _tooltip(self) -> list[str]:
        """The columns the tooltip shows: the spec's list, else the labelled fields."""
        if self.ml.tooltip is not None:
            self._require(self.ml.tooltip, "tooltip")
            return list(self.ml.tooltip)
        meta = self.meta
        labelled = [c for c in self.visible if c in meta.fields and meta.fields[c].label]
        return [c for c in labelled if c != meta.name_field][:TOOLTIP_DEFAULT_FIELDS]

    def _wants_labels(self) -> bool:
        """By default polygons with names are labelled, except outline-only layers (a
        boundary drawn over others) and layers too large for labels to help."""
        named = self.meta.name_field in self.visible
        if self.ml.labels is not None:
            return self.ml.labels and self.family == "polygon" and named
        return (
            self.family == "polygon"
            and named
            and len(self.frame) <= LABEL_MAX_FEATURES
            and self.ml.style.fill
        )


@dataclass
class MapPlan:
    """Every layer of one map, resolved, and what the page says about them."""

    spec: MapSpec
    layers: list[LayerPlan] = field(default_factory=list)

    @property
    def illustrative(self) -> bool:
        return any(lp.illustrative for lp in self.layers)

    def footer(self, datum: str) -> list[str]:
        """The footer lines: sources, the 示意 note, the datum shift, the generator."""
        sources = merge_sources(
            [*(s for lp in self.layers for s in lp.sources), *self.spec.sources]
        )
        lines = []
        if sources:
            lines.append("资料来源：" + "；".join(sources))
        if self.illustrative:
            lines.append("示意数据：图中几何位置与分项数字为示意，非测绘成果，仅合计与报告一致。")
        if any(lp.fields[c].basis == "illustrative" for lp in self.layers for c in lp.visible):
            lines.append(BASIS_NOTE)
        if datum == "gcj02":
            lines.append("坐标：数据为 WGS84/CGCS2000，显示时偏移至 GCJ-02 以对齐高德底图。")
        lines.append(f"由 geomap {__version__} 生成")
        return lines


def plan_map(atlas: Atlas, spec: MapSpec, warn: Warn) -> MapPlan:
    """Resolve every layer of ``spec`` (raises on the first problem found)."""
    return MapPlan(spec, [LayerPlan(atlas, ml, warn) for ml in spec.layers])


_NUMERALS = "一二三四五六七八九十"
_SECTION = r"\d{4}\([一二三四五六七八九十]+\)"
_CITED = re.compile(rf"^(?P<doc>.+?)\s+(?P<sections>{_SECTION}(?:、{_SECTION})*)$")


def merge_sources(sources: Iterable[str]) -> list[str]:
    """Sources without repeats; citations of one document merged into one, sections in
    report order: "报告 2022(二)" and "报告 2022(一)、2022(二)" → "报告 2022(一)、2022(二)"."""
    merged: dict[str, set[str] | None] = {}
    for source in sources:
        m = _CITED.match(source.strip())
        if m is None:
            merged.setdefault(source, None)
            continue
        sections = merged.setdefault(m["doc"], set())
        if sections is not None:
            sections.update(m["sections"].split("、"))

    def order(section: str) -> tuple[int, int]:
        year, numeral = section[:4], section[5:-1]
        return int(year), sum(_NUMERALS.index(c) + 1 for c in numeral)

    return [
        doc if sections is None else f"{doc} {'、'.join(sorted(sections, key=order))}"
        for doc, sections in merged.items()
    ]
