"""Typed, frozen descriptions of layer metadata, table definitions and map specs.

Each ``parse_*`` function reads a TOML document, collects *every* problem it finds and
raises one :class:`~geomap.errors.SpecError` listing them all, so that a planner fixes a
file in one pass instead of one error per run.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geomap.errors import SpecError
from geomap.text import did_you_mean
from geomap.totals import Total, parse_totals

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # always used with fullmatch
KINDS = (
    "boundary",
    "community",
    "village",
    "grid",
    "microgrid",
    "reservoir",
    "parcel",
    "line",
    "point",
)
COLUMN_TYPES = ("text", "number", "integer")
#: Where a field's values come from: the report, an illustrative split or placement, or
#: derived (computed) from other values.
BASES = ("report", "illustrative", "derived")
SCHEMES = ("quantiles", "natural_breaks", "equal_interval", "user_defined")
STYLE_TYPES = ("single", "categorical", "choropleth")
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class FieldDef:
    """How one attribute is shown: label, unit, and whether it is private."""

    label: str | None = None
    unit: str | None = None
    private: bool | None = None  # None: not declared either way
    basis: str | None = None  # report | illustrative | derived; None: not declared
    section: str | None = None  # the report section of a report figure, e.g. 2022(三)


@dataclass(frozen=True)
class LayerMeta:
    """The metadata of one layer (``layers/<name>.toml``)."""

    name: str
    title: str
    kind: str
    key: str
    name_field: str = "name"
    parent: str | None = None
    parent_key: str | None = None
    tiles_parent: bool = False
    status_field: str | None = None
    declared_area_field: str | None = None
    source: str | None = None
    illustrative: bool = False
    description: str | None = None
    fields: dict[str, FieldDef] = field(default_factory=dict)
    totals: tuple[Total, ...] = ()

    def label(self, column: str) -> str:
        """The Chinese label of ``column``, or the column name itself."""
        fd = self.fields.get(column)
        return fd.label if fd and fd.label else column

    def unit(self, column: str) -> str | None:
        fd = self.fields.get(column)
        return fd.unit if fd else None

    def is_private(self, column: str) -> bool:
        fd = self.fields.get(column)
        return bool(fd and fd.private)


@dataclass(frozen=True)
class ColumnDef:
    """One column of an indicator table."""

    label: str
    unit: str | None = None
    year: int | None = None
    source: str | None = None
    type: str = "text"
    private: bool | None = None
    basis: str | None = None
    section: str | None = None
    # Columns of one indicator in different years share this name (see geomap/years.py).
    indicator: str | None = None


@dataclass(frozen=True)
class TableMeta:
    """The definition of an indicator table (``data/<table>.toml``)."""

    name: str
    title: str
    key: str
    source: str | None = None
    illustrative: bool = False
    columns: dict[str, ColumnDef] = field(default_factory=dict)
    totals: tuple[Total, ...] = ()


@dataclass(frozen=True)
class Join:
    table: str
    on: str


@dataclass(frozen=True)
class Rollup:
    source: str
    count: str | None = None
    sum: dict[str, str] = field(default_factory=dict)
    mean: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Style:
    type: str = "single"
    column: str | None = None
    color: str | None = None
    fill: bool = True
    fill_color: str | None = None
    fill_opacity: float | None = None
    weight: float | None = None
    dash: str | None = None
    radius: float | None = None
    colors: dict[str, str] = field(default_factory=dict)
    scheme: str = "quantiles"
    k: int = 5
    bins: tuple[float, ...] = ()
    palette: str | None = None
    years: bool = False  # a year switch over the indicator of `column` (choropleth)
    change: bool = False  # with years: change views (absolute, %) first → last year


@dataclass(frozen=True)
class MapLayer:
    layer: str
    title: str | None = None
    tooltip: tuple[str, ...] | None = None
    popup: bool = True
    labels: bool | None = None
    show: bool = True
    cluster: bool = False
    search: bool = True
    fast: bool | None = None  # None: automatic, by feature count
    tiles: bool | None = None  # vector tiles beside the page; None: automatic, by count
    overview: str | None = None  # tiled layers: a polygon layer counted onto below full detail
    join: Join | None = None
    rollup: tuple[Rollup, ...] = ()
    style: Style = field(default_factory=Style)
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    facets: tuple[str, ...] = ()  # categorical fields the page offers as filters
    hidden: tuple[str, ...] = ()  # legend categories switched off when the page opens


@dataclass(frozen=True)
class MapSpec:
    name: str
    title: str
    subtitle: str | None = None
    description: str | None = None
    basemap: str | None = None
    basemaps: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    layers: tuple[MapLayer, ...] = ()


# ---------------------------------------------------------------------------------------
# Reading helpers: each records problems into a list instead of raising at the first one.


class _Reader:
    """Typed access to a TOML table that records every problem it meets."""

    def __init__(self, data: dict[str, Any], where: str, problems: list[str]) -> None:
        self.data = data
        self.where = where
        self.problems = problems
        self.used: set[str] = set()

    def _at(self, key: str) -> str:
        return f"{self.where}{key}" if self.where else key

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{self._at(key)}: {text}")

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = None, required: bool = False
    ) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                self.problem(key, "缺少必填项 (required key is missing)")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.problem(key, f"应为 {names} (expected {names}, got {value!r:.60})")
            return default
        return value

    def text(self, key: str, required: bool = False, default: str | None = None) -> Any:
        value = self.get(key, str, default, required)
        if required and isinstance(value, str) and not value.strip():
            self.problem(key, "不能为空 (must not be empty)")
        return value

    def slug(self, key: str, required: bool = False) -> Any:
        value = self.text(key, required)
        if isinstance(value, str) and value and not SLUG.fullmatch(value):
            self.problem(key, f"名称 {value!r:.60} 须为小写字母、数字、- 或 _ (must be a slug)")
        return value

    def unknown(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed) or "; see README 'Writing a map spec'"
                self.problem(key, f"未知的键 (unknown key{hint})")

    def table(self, key: str) -> dict[str, Any]:
        value = self.get(key, dict, {})
        return value if isinstance(value, dict) else {}


def load_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error names the file, line and column."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(
            path, ["文件不是 UTF-8 编码 (file is not UTF-8): save it as UTF-8"]
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(path, [f"TOML 语法错误 (syntax error): {exc}"]) from None
    except RecursionError:
        raise SpecError(path, ["嵌套过深，无法读取 (nested too deeply to read)"]) from None


def _finish(path: Path, problems: list[str]) -> None:
    if problems:
        raise SpecError(path, problems)


def _basis(r: _Reader) -> str | None:
    value: str | None = r.text("basis")
    if value is not None and value not in BASES:
        r.problem("basis", f"须为 {' | '.join(BASES)} (got {value!r:.30})")
        return None
    return value


def _totals(r: _Reader) -> tuple[Total, ...]:
    r.used.add("totals")
    return parse_totals(r.data.get("totals"), r.problems)


def parse_field_defs(r: _Reader, key: str) -> dict[str, FieldDef]:
    out: dict[str, FieldDef] = {}
    for col, raw in r.table(key).items():
        if not isinstance(raw, dict):
            r.problem(f"{key}.{col}", '应为表 (expected a table such as {label = "名称"})')
            continue
        fr = _Reader(raw, f"{key}.{col}.", r.problems)
        out[str(col)] = FieldDef(
            label=fr.text("label"),
            unit=fr.text("unit"),
            private=fr.get("private", bool),
            basis=_basis(fr),
            section=fr.text("section"),
        )
        fr.unknown({"label", "unit", "private", "basis", "section"})
    return out


def parse_layer_meta(name: str, data: dict[str, Any], path: Path) -> LayerMeta:
    problems: list[str] = []
    r = _Reader(data, "", problems)
    kind = r.text("kind", default="parcel")
    if kind not in KINDS:
        r.problem("kind", f"{kind!r:.40} 不是可用类型 (must be one of {', '.join(KINDS)})")
    meta = LayerMeta(
        name=name,
        title=r.text("title", required=True) or name,
        kind=kind if kind in KINDS else "parcel",
        key=r.text("key", required=True) or "",
        name_field=r.text("name_field", default="name") or "name",
        parent=r.slug("parent"),
        parent_key=r.text("parent_key"),
        tiles_parent=r.get("tiles_parent", bool, False),
        status_field=r.text("status_field"),
        declared_area_field=r.text("declared_area_field"),
        source=r.text("source"),
        illustrative=r.get("illustrative", bool, False),
        description=r.text("description"),
        fields=parse_field_defs(r, "fields"),
        totals=_totals(r),
    )
    r.unknown(set(r.used))
    _finish(path, problems)
    return meta


def parse_table_meta(name: str, data: dict[str, Any], path: Path) -> TableMeta:
    problems: list[str] = []
    r = _Reader(data, "", problems)
    columns: dict[str, ColumnDef] = {}
    for col, raw in r.table("columns").items():
        if not isinstance(raw, dict):
            r.problem(f"columns.{col}", "应为表 (expected a table)")
            continue
        cr = _Reader(raw, f"columns.{col}.", problems)
        ctype = cr.text("type", default="text")
        if ctype not in COLUMN_TYPES:
            cr.problem("type", f"须为 {' | '.join(COLUMN_TYPES)} (got {ctype!r:.30})")
        columns[str(col)] = ColumnDef(
            label=cr.text("label", required=True) or str(col),
            unit=cr.text("unit"),
            year=cr.get("year", int),
            source=cr.text("source"),
            type=ctype if ctype in COLUMN_TYPES else "text",
            private=cr.get("private", bool),
            basis=_basis(cr),
            section=cr.text("section"),
            indicator=cr.text("indicator"),
        )
        if columns[str(col)].indicator and columns[str(col)].year is None:
            cr.problem(
                "year", "有 indicator 的列需要 year (a column with `indicator` needs `year`)"
            )
        cr.unknown(set(cr.used))
    meta = TableMeta(
        name=name,
        title=r.text("title", required=True) or name,
        key=r.text("key", required=True) or "",
        source=r.text("source"),
        illustrative=r.get("illustrative", bool, False),
        columns=columns,
        totals=_totals(r),
    )
    r.unknown(set(r.used))
    _finish(path, problems)
    return meta


def _parse_style(raw: dict[str, Any], where: str, problems: list[str]) -> Style:
    r = _Reader(raw, where, problems)
    stype = r.text("type", default="single")
    if stype not in STYLE_TYPES:
        r.problem("type", f"须为 {' | '.join(STYLE_TYPES)} (got {stype!r:.30})")
        stype = "single"
    colors_raw = r.table("colors")
    colors: dict[str, str] = {}
    for cat, col in colors_raw.items():
        if not isinstance(col, str) or not HEX_COLOR.match(col):
            r.problem(
                f"colors.{cat}", f"颜色须为 #rrggbb (colour must be #rrggbb, got {col!r:.20})"
            )
        else:
            colors[str(cat)] = col
    for key in ("color", "fill_color"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not HEX_COLOR.match(value)):
            r.problem(key, f"颜色须为 #rrggbb (colour must be #rrggbb, got {value!r:.20})")
    scheme = r.text("scheme", default="quantiles")
    if scheme not in SCHEMES:
        r.problem("scheme", f"须为 {' | '.join(SCHEMES)} (got {scheme!r:.30})")
        scheme = "quantiles"
    bins_raw = r.get("bins", list, [])
    bins: list[float] = []
    for b in bins_raw:
        if isinstance(b, int | float) and not isinstance(b, bool):
            bins.append(float(b))
        else:
            r.problem("bins", f"须为数字列表 (must be numbers, got {b!r:.20})")
    k = r.get("k", int, 5)
    if not 2 <= k <= 9:
        r.problem("k", f"分级数须在 2 到 9 之间 (k must be 2..9, got {k})")
        k = 5
    style = Style(
        type=stype,
        column=r.text("column"),
        color=r.get("color", str),
        fill=r.get("fill", bool, True),
        fill_color=r.get("fill_color", str),
        fill_opacity=r.get("fill_opacity", float),
        weight=r.get("weight", float),
        dash=r.text("dash"),
        radius=r.get("radius", float),
        colors=colors,
        scheme=scheme,
        k=k,
        bins=tuple(bins),
        palette=r.text("palette"),
        years=r.get("years", bool, False),
        change=r.get("change", bool, False),
    )
    if style.years and stype != "choropleth":
        r.problem("years", 'years 只用于分级样式 (years needs type = "choropleth")')
    if style.change and not style.years:
        r.problem("change", "change 需要 years = true (change needs years = true)")
    if stype in ("categorical", "choropleth") and not style.column:
        r.problem("column", f"{stype} 样式需要 column (a {stype} style needs a column)")
    if scheme == "user_defined" and stype == "choropleth" and not bins:
        r.problem("bins", "user_defined 分级需要 bins (user_defined needs bins = [...])")
    r.unknown(set(r.used))
    return style


def _parse_rollup(raw: Any, where: str, problems: list[str]) -> Rollup | None:
    if not isinstance(raw, dict):
        problems.append(f'{where}: 应为表 (expected a table like {{from = "houses", count = "n"}})')
        return None
    r = _Reader(raw, where + ".", problems)
    source = r.slug("from", required=True)
    aggs: dict[str, dict[str, str]] = {}
    for agg in ("sum", "mean"):
        table = r.table(agg)
        aggs[agg] = {str(k): v for k, v in table.items() if isinstance(v, str)}
        for k, v in table.items():
            if not isinstance(v, str):
                r.problem(f"{agg}.{k}", "应为源图层的列名 (expected a source column name)")
    count = r.text("count")
    if not count and not aggs["sum"] and not aggs["mean"]:
        r.problem(
            "count", "汇总至少需要 count、sum 或 mean 之一 (a rollup needs count, sum or mean)"
        )
    r.unknown(set(r.used))
    return Rollup(source=source or "", count=count, sum=aggs["sum"], mean=aggs["mean"])


def _parse_map_layer(raw: Any, i: int, problems: list[str]) -> MapLayer | None:
    where_at = f"layers[{i}]."
    if not isinstance(raw, dict):
        problems.append(f"layers[{i}]: 应为表 (expected a [[layers]] table)")
        return None
    r = _Reader(raw, where_at, problems)
    tooltip = r.get("tooltip", list)
    if tooltip is not None and not all(isinstance(t, str) for t in tooltip):
        r.problem("tooltip", "应为列名列表 (expected a list of column names)")
        tooltip = None
    join = None
    join_raw = r.get("join", dict)
    if join_raw is not None:
        jr = _Reader(join_raw, where_at + "join.", problems)
        join = Join(
            table=jr.slug("table", required=True) or "", on=jr.text("on", required=True) or ""
        )
        jr.unknown(set(jr.used))
    rollups: list[Rollup] = []
    rollup_raw = raw.get("rollup")
    r.used.add("rollup")
    items = rollup_raw if isinstance(rollup_raw, list) else [rollup_raw] if rollup_raw else []
    for j, item in enumerate(items):
        ro = _parse_rollup(
            item, f"{where_at}rollup" + (f"[{j}]" if len(items) > 1 else ""), problems
        )
        if ro:
            rollups.append(ro)
    where: dict[str, tuple[str, ...]] = {}
    for col, wanted in r.table("where").items():
        values = wanted if isinstance(wanted, list) else [wanted]
        if not values or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in values
        ):
            r.problem(f"where.{col}", "应为值或值列表 (expected a value or a list of values)")
            continue
        where[str(col)] = tuple(str(v) for v in values)
    facets = r.get("facets", list, [])
    if not all(isinstance(f, str) for f in facets):
        r.problem("facets", "应为列名列表 (expected a list of column names)")
        facets = []
    hidden = r.get("hidden", list, [])
    if not all(isinstance(h, str) for h in hidden):
        r.problem("hidden", "应为类别列表 (expected a list of category values)")
        hidden = []
    style_raw = r.get("style", dict, {})
    layer = MapLayer(
        layer=r.slug("layer", required=True) or "",
        title=r.text("title"),
        tooltip=tuple(tooltip) if tooltip is not None else None,
        popup=r.get("popup", bool, True),
        labels=r.get("labels", bool),
        show=r.get("show", bool, True),
        cluster=r.get("cluster", bool, False),
        search=r.get("search", bool, True),
        fast=r.get("fast", bool),
        tiles=r.get("tiles", bool),
        overview=r.slug("overview"),
        join=join,
        rollup=tuple(rollups),
        style=_parse_style(style_raw, where_at + "style.", problems),
        where=where,
        facets=tuple(facets),
        hidden=tuple(hidden),
    )
    r.unknown(set(r.used))
    return layer


def parse_map_spec(name: str, data: dict[str, Any], path: Path) -> MapSpec:
    """The map spec in ``data``; every problem found raised as one SpecError."""
    spec, problems = read_map_spec(name, data)
    _finish(path, problems)
    return spec


def read_map_spec(name: str, data: dict[str, Any]) -> tuple[MapSpec, list[str]]:
    """The map spec in ``data`` as far as it can be read, and every problem found (each
    ``"location: text"``). Bad values are left at their defaults, so a caller such as
    :mod:`geomap.plan` can go on and find the problems the spec's content causes too."""
    problems: list[str] = []
    r = _Reader(data, "", problems)
    sources = r.get("sources", list, [])
    basemaps = r.get("basemaps", list, [])
    raw_layers = r.get("layers", list, [], required=True)
    if isinstance(raw_layers, list) and not raw_layers and "layers" in data:
        r.problem("layers", "地图至少需要一个图层 (a map needs at least one [[layers]] entry)")
    layers = [_parse_map_layer(raw, i, problems) for i, raw in enumerate(raw_layers)]
    spec = MapSpec(
        name=name,
        title=r.text("title", required=True) or name,
        subtitle=r.text("subtitle"),
        description=r.text("description"),
        basemap=r.text("basemap"),
        basemaps=tuple(str(b) for b in basemaps),
        sources=tuple(str(s) for s in sources),
        layers=tuple(layer for layer in layers if layer is not None),
    )
    r.unknown(set(r.used))
    return spec, problems
