"""Map spec + layers + tables → one self-contained interactive HTML map.

The page skeleton is a folium ``Map``. Everything that comes from data (values, labels,
titles, legends) travels in one JSON block that is spliced into the page *after* folium and
branca have finished with their Jinja templates: branca compiles rendered scripts again as
templates, so a value ``{{ 6*7 }}`` would otherwise become 42 and worse could run Python.
The JSON is escaped for the script context and the client builds the DOM with
``textContent`` only.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from geomap import __version__
from geomap import assets as assetlib
from geomap.atlas import Atlas, Layer, atomic_write
from geomap.crs import wgs84_to_gcj02
from geomap.errors import DataError, PrivacyError
from geomap.freshness import INPUTS_META, RenderOptions, choose_basemaps, is_fresh, map_digest
from geomap.geojson_io import geometries_json, json_value
from geomap.join import attribute_join, rollup
from geomap.privacy import personal_kind
from geomap.spec import LayerMeta, MapLayer, MapSpec, Rollup, Style
from geomap.style import NO_DATA_COLOR, Styled, style_layer

RENDER_PRECISION = 6  # 1e-6 degree is about 0.1 m at Xiping
LABEL_MAX_FEATURES = 3000
# Layers with at least this many features are drawn by the fast canvas layer
# (geomap-fast.js) unless the spec says `fast = false`.
FAST_MIN_FEATURES = 5000
FAST_SCALE = 1_000_000  # coordinates quantised to 1e-6 degree (about 0.1 m)


@dataclass(frozen=True)
class _Marks:
    """Placeholders spliced out of the page after folium has rendered it. Each render draws
    a fresh random token, so no value in the data can pose as one."""

    token: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def head(self) -> str:
        return f"__geomap_head_{self.token}__"

    @property
    def data(self) -> str:
        return f"__geomap_data_{self.token}__"

    @property
    def script(self) -> str:
        return f"__geomap_script_{self.token}__"

    def geoms(self, index: int) -> str:
        return f"__geomap_geoms_{index}_{self.token}__"


Warn = Callable[[str], None]


@dataclass
class RenderResult:
    name: str
    path: Path
    skipped: bool = False
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# Escaping


def script_json(value: Any) -> bytes:
    """UTF-8 JSON safe to place inside ``<script type="application/json">``: ``<``, ``>``,
    ``&`` and the JavaScript line terminators U+2028/U+2029 are written as escapes.

    Kept as bytes from orjson to the file: the page's data can be tens of megabytes, and
    every ``str`` copy of Chinese text costs twice that.
    """
    return (
        orjson.dumps(value)
        .replace(b"<", b"\\u003c")
        .replace(b">", b"\\u003e")
        .replace(b"&", b"\\u0026")
        .replace("\u2028".encode(), b"\\u2028")
        .replace("\u2029".encode(), b"\\u2029")
    )


def _column_values(column: pd.Series) -> list[Any]:
    """One column as JSON-ready values (columnar: one list per field, not one per feature),
    converted vectorised: NaN and ±inf become null, numpy scalars plain numbers."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return [None if pd.isna(v) else bool(v) for v in column]
    if pd.api.types.is_numeric_dtype(column.dtype):
        arr = column.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(arr)
        integral = finite & (np.mod(np.where(finite, arr, 0), 1) == 0) & (np.abs(arr) < 2**53)
        out: list[Any] = arr.tolist()
        if pd.api.types.is_integer_dtype(column.dtype) or integral[finite].all():
            out = [int(v) if ok else None for v, ok in zip(out, finite, strict=True)]
        elif not finite.all():
            out = [v if ok else None for v, ok in zip(out, finite, strict=True)]
        return out
    if pd.api.types.is_string_dtype(column.dtype) and not pd.api.types.is_object_dtype(
        column.dtype
    ):
        texts: list[Any] = column.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]
        return texts
    return [_display_value(v) for v in column.astype(object)]


def _display_value(value: Any) -> Any:
    """A value for tooltips and popups: JSON-ready, nested lists/objects shown as JSON text."""
    plain = json_value(value)
    return orjson.dumps(plain).decode() if isinstance(plain, list | dict) else plain


# ---------------------------------------------------------------------------------------
# One layer of a map


@dataclass
class FieldInfo:
    label: str
    unit: str | None
    private: bool | None


def _geom_family(gdf: gpd.GeoDataFrame) -> str:
    types = set(gdf.geometry.dropna().geom_type)
    if types <= {"Point", "MultiPoint"} and types:
        return "point"
    if types <= {"LineString", "MultiLineString"} and types:
        return "line"
    return "polygon"


def _path_styles(
    style: Style, styled: Styled, family: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Leaflet path options for each class, and for features without data."""

    def one(color: str) -> dict[str, Any]:
        if family == "point":
            return {
                "radius": style.radius or 5,
                "color": "#555555",
                "weight": 0.5,
                "fillColor": color,
                "fillOpacity": 0.9,
            }
        if family == "line":
            out: dict[str, Any] = {"color": color, "weight": style.weight or 3, "opacity": 0.9}
            if style.dash:
                out["dashArray"] = style.dash
            return out
        stroke = style.color or ("#555555" if style.type != "single" else color)
        out = {
            "color": stroke,
            "weight": style.weight if style.weight is not None else 1,
            "opacity": 0.9,
            "fill": style.fill,
            "fillColor": color,
            "fillOpacity": style.fill_opacity if style.fill_opacity is not None else 0.6,
        }
        if style.dash:
            out["dashArray"] = style.dash
        return out

    return [one(c) for c in styled.colors], one(NO_DATA_COLOR)


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


class LayerBuild:
    """Collects everything one map layer needs, applying joins and roll-ups."""

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
            )
            for col in layer.gdf.columns
            if col != layer.gdf.geometry.name
        }
        frame = _filtered(layer.gdf, ml)
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
            for col, cdef in table.meta.columns.items():
                if col in frame.columns and col != table.meta.key:
                    self.fields[col] = FieldInfo(cdef.label, cdef.unit, cdef.private)
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
            for out, label in self._rollup_labels(ro, src.meta).items():
                self.fields.setdefault(out, FieldInfo(*label, None))
                if out in self.meta.fields and self.meta.fields[out].label:
                    self.fields[out] = FieldInfo(self.meta.label(out), self.meta.unit(out), False)
        self.frame = frame
        self._check_privacy()

    @staticmethod
    def _rollup_labels(ro: Rollup, src: LayerMeta) -> dict[str, tuple[str, str | None]]:
        out: dict[str, tuple[str, str | None]] = {}
        if ro.count:
            out[ro.count] = (f"{src.title}数量", None)
        for name, col in ro.sum.items():
            out[name] = (f"{src.label(col)}合计", src.unit(col))
        for name, col in ro.mean.items():
            out[name] = (f"{src.label(col)}平均", src.unit(col))
        return out

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

    def visible(self) -> list[str]:
        return [
            c for c, info in self.fields.items() if not info.private and c in self.frame.columns
        ]

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
                    f"found); columns: {', '.join(self.visible())}"
                )

    def payload(
        self, index: int, shift: bool, marks: _Marks
    ) -> tuple[dict[str, Any], str, np.ndarray]:
        ml, meta, frame = self.ml, self.meta, self.frame
        family = _geom_family(frame)
        visible = self.visible()
        position = {c: i for i, c in enumerate(visible)}
        name_idx = position.get(meta.name_field, -1)
        if ml.tooltip is not None:
            self._require(ml.tooltip, "tooltip")
            tooltip = [position[c] for c in ml.tooltip]
        else:
            labelled = [c for c in visible if c in meta.fields and meta.fields[c].label]
            tooltip = [position[c] for c in labelled if c != meta.name_field][:6]
        if ml.style.column:
            self._require([ml.style.column], "style")
        title = ml.title or meta.title
        labels = {c: (f.label, f.unit) for c, f in self.fields.items()}
        styled = style_layer(ml.style, frame, meta, family, title, labels)
        styles, no_data = _path_styles(ml.style, styled, family)

        geoms = frame.geometry.to_numpy()
        if shift:
            geoms = _shift(geoms)
        fast = ml.fast if ml.fast is not None else len(frame) >= FAST_MIN_FEATURES
        fast = fast and not (ml.cluster and family == "point")
        if fast:
            geoms_text = "null"
        else:
            geo_json = geometries_json(geoms, RENDER_PRECISION)
            geoms_text = "[" + ",".join(g if g is not None else "null" for g in geo_json) + "]"

        # By default polygons with names are labelled, except outline-only layers (a boundary
        # drawn over others) and layers too large for labels to help.
        want_labels = (
            ml.labels
            if ml.labels is not None
            else family == "polygon"
            and name_idx >= 0
            and len(frame) <= LABEL_MAX_FEATURES
            and ml.style.fill
        )
        label_at = None
        if want_labels and family == "polygon" and name_idx >= 0:
            pts = shapely.point_on_surface(geoms)
            xy = shapely.get_coordinates(pts, include_z=False)
            valid = ~shapely.is_missing(pts) & ~shapely.is_empty(pts)
            coords = iter(xy.tolist())
            label_at = [
                [round(y, 6), round(x, 6)] if ok else None
                for ok, (x, y) in ((v, next(coords) if v else (0, 0)) for v in valid)
            ]
        values = [_column_values(frame[c]) for c in visible]
        legend = {
            "title": styled.legend_title or title,
            "items": [{"label": i.label, "color": i.color} for i in styled.legend],
        }
        data = {
            "id": f"layer{index}",
            "layer": ml.layer,
            "title": title,
            "geom": family,
            "show": ml.show,
            "cluster": ml.cluster and family == "point",
            "search": ml.search,
            "geoms": marks.geoms(index),
            "cls": styled.classes.tolist(),
            "styles": styles,
            "noData": no_data,
            "legend": legend,
            "fields": [
                {"label": self.fields[c].label, "unit": self.fields[c].unit} for c in visible
            ],
            "values": values,
            "tooltip": tooltip,
            "popup": list(range(len(visible))) if ml.popup else [],
            "name": name_idx,
            "labelAt": label_at,
            "fast": encode_fast(geoms, family) if fast else None,
        }
        return data, geoms_text, geoms


def _escape_int16(deltas: np.ndarray) -> np.ndarray:
    """Deltas as int16, a delta outside ±32767 written as -32768 then its high and low
    16 bits (decoded by geomap-fast.js)."""
    big = (deltas > 32767) | (deltas < -32767)
    width = np.where(big, 3, 1)
    out = np.empty(int(width.sum()), dtype=np.int16)
    pos = np.concatenate([[0], np.cumsum(width)[:-1]])
    small = ~big
    out[pos[small]] = deltas[small]
    wide = deltas[big].astype(np.int64) & 0xFFFFFFFF
    out[pos[big]] = -32768
    out[pos[big] + 1] = (wide >> 16).astype(np.uint16).view(np.int16)
    out[pos[big] + 2] = (wide & 0xFFFF).astype(np.uint16).view(np.int16)
    return out


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode("ascii")


def _ragged(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates, ring (or line, or point) offsets into them, and feature offsets into the
    rings, read by :func:`shapely.to_ragged_array` without copying any geometry."""
    n = len(geoms)
    kind, coords, offsets = shapely.to_ragged_array(geoms)
    if kind == shapely.GeometryType.POINT:
        valid = ~np.isnan(coords[:, 0])
        coords = coords[valid]
        return coords, np.arange(len(coords) + 1), np.concatenate([[0], np.cumsum(valid)])
    if kind == shapely.GeometryType.MULTIPOINT:
        return coords, np.arange(len(coords) + 1), offsets[0]
    if kind == shapely.GeometryType.LINESTRING:
        return coords, offsets[0], np.arange(n + 1)
    if kind in (shapely.GeometryType.MULTILINESTRING, shapely.GeometryType.POLYGON):
        return coords, offsets[0], offsets[1]
    # MultiPolygon: rings of polygons of features.
    return coords, offsets[0], offsets[1][offsets[2]]


def encode_fast(geoms: np.ndarray, family: str) -> dict[str, Any]:
    """Geometry for the fast canvas layer: rings of coordinates quantised to 1e-6 degree,
    delta-encoded as int16 with escapes, plus ring and feature offsets (base64)."""
    coords, ring_start, feature_ring = _ragged(geoms)
    if family == "polygon":
        # The closing vertex repeats the first: the canvas closes the path itself.
        counts = np.diff(ring_start)
        keep = np.ones(len(coords), dtype=bool)
        keep[ring_start[1:][counts > 0] - 1] = False
        coords = coords[keep]
        ring_start = np.concatenate([[0], np.cumsum(np.maximum(counts - 1, 0))])
    ring_start = ring_start.astype(np.int32)
    feature_ring = np.asarray(feature_ring).astype(np.int32)
    x0 = float(np.floor(coords[:, 0].min() * FAST_SCALE) / FAST_SCALE) if len(coords) else 0.0
    y0 = float(np.floor(coords[:, 1].min() * FAST_SCALE) / FAST_SCALE) if len(coords) else 0.0
    q = np.empty((len(coords), 2), dtype=np.int64)
    q[:, 0] = np.round((coords[:, 0] - x0) * FAST_SCALE)
    q[:, 1] = np.round((coords[:, 1] - y0) * FAST_SCALE)
    deltas = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).reshape(-1)
    return {
        "x0": x0,
        "y0": y0,
        "scale": FAST_SCALE,
        "nVertices": len(coords),
        "coords": _b64(_escape_int16(deltas)),
        "rings": _b64(ring_start),
        "features": _b64(feature_ring),
    }


def _shift(geoms: np.ndarray) -> np.ndarray:
    """WGS84 → GCJ-02, so vector layers line up with AMap / GeoQ tiles."""

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, move)


# ---------------------------------------------------------------------------------------
# The page


class _GeomapScript(MacroElement):
    """Placeholder for geomap's client script, rendered after the map is created."""

    def __init__(self, mark: str) -> None:
        super().__init__()
        self._template = Template("{% macro script(this, kwargs) %}" + mark + "{% endmacro %}")


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


def _footer(spec: MapSpec, builds: list[LayerBuild], datum: str, illustrative: bool) -> list[str]:
    sources = merge_sources([*(s for b in builds for s in b.sources), *spec.sources])
    lines = []
    if sources:
        lines.append("资料来源：" + "；".join(sources))
    if illustrative:
        lines.append("示意数据：图中几何位置与分项数字为示意，非测绘成果，仅合计与报告一致。")
    if datum == "gcj02":
        lines.append("坐标：数据为 WGS84/CGCS2000，显示时偏移至 GCJ-02 以对齐高德底图。")
    lines.append(f"由 geomap {__version__} 生成")
    return lines


def render_html(
    atlas: Atlas, spec: MapSpec, options: RenderOptions, warn: Warn, digest: str = ""
) -> bytes:
    """The complete HTML page of one map, as UTF-8 bytes."""
    bases = choose_basemaps(atlas, spec, options, warn)
    datum = bases[0][0].datum
    shift = datum == "gcj02"
    builds = [LayerBuild(atlas, ml, warn) for ml in spec.layers]
    marks = _Marks()
    layer_data: list[dict[str, Any]] = []
    geoms_texts: list[str] = []
    bounds: list[np.ndarray] = []
    hidden_bounds: list[np.ndarray] = []
    for i, b in enumerate(builds):
        data, text, geoms = b.payload(i, shift, marks)
        layer_data.append(data)
        geoms_texts.append(text)
        valid = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
        if len(valid) and b.ml.show:  # the view fits the layers shown when the map opens
            bounds.append(shapely.total_bounds(valid))
        elif len(valid):
            hidden_bounds.append(shapely.total_bounds(valid))
    bounds = bounds or hidden_bounds
    if not bounds:
        raise DataError(f"地图 {spec.name}: 所有图层都没有几何 (no layer has any geometry)")
    box = np.vstack(bounds)
    minx, miny = box[:, 0].min(), box[:, 1].min()
    maxx, maxy = box[:, 2].max(), box[:, 3].max()
    illustrative = any(x.illustrative for x in builds)
    max_zoom = max(18, *(base.max_zoom for base, _ in bases))

    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=13,
        tiles=None,
        prefer_canvas=True,
        max_zoom=max_zoom,
        control_scale=False,
    )
    # Fixed element ids keep the output byte-stable between renders.
    fmap._id = hashlib.sha1(spec.name.encode()).hexdigest()[:16]
    fmap.default_js = []
    fmap.default_css = []
    figure = fmap.get_root()
    assert isinstance(figure, Figure)
    figure.header.add_child(Element(marks.head), name="geomap_head")
    figure.html.add_child(Element(marks.data), name="geomap_data")
    script = _GeomapScript(marks.script)
    script._id = "client"
    fmap.add_child(script, name="geomap_client")

    payload = {
        "mapId": fmap.get_name(),
        "mapVar": fmap.get_name(),
        "title": spec.title,
        "subtitle": spec.subtitle,
        "description": spec.description,
        "illustrative": illustrative,
        "footer": _footer(spec, builds, datum, illustrative),
        "bounds": [[float(miny), float(minx)], [float(maxy), float(maxx)]],
        "maxZoom": max_zoom,
        "basemaps": [
            {
                "title": base.title,
                "attribution": base.attribution,
                "maxZoom": base.max_zoom,
                "subdomains": base.subdomains,
                "url": base.url.replace("{key}", k or ""),
                "overlayUrl": base.overlay_url.replace("{key}", k or "")
                if base.overlay_url
                else None,
            }
            for base, k in bases
            if base.url
        ],
        "layers": layer_data,
    }
    cluster = any(d["cluster"] for d in layer_data)
    data_json = script_json(payload)
    del payload, layer_data  # the page is assembled in bytes; free the Python objects first
    for i, text in enumerate(geoms_texts):
        data_json = data_json.replace(f'"{marks.geoms(i)}"'.encode(), text.encode(), 1)

    page = figure.render()
    page = page.replace(marks.head, assetlib.head(online=options.online, cluster=cluster), 1)
    page = page.replace(marks.script, assetlib.client_script(), 1)
    head = (
        f'<head>\n<meta charset="utf-8">\n<meta name="{INPUTS_META}" content="{digest}">\n'
        f"<title>{html.escape(spec.title)}</title>"
    )
    page = page.replace("<head>", head, 1).replace("<html>", '<html lang="zh-CN">', 1)
    before, after = page.split(marks.data, 1)
    return b"".join(
        [
            before.encode("utf-8"),
            b'<script type="application/json" id="geomap-data">',
            data_json,
            b"</script>",
            after.encode("utf-8"),
        ]
    )


def render_map(
    atlas: Atlas,
    name: str,
    options: RenderOptions,
    spec: MapSpec | None = None,
    digest: str | None = None,
) -> RenderResult:
    """Render ``maps/<name>.toml`` to ``maps/<name>.html`` (skipped when nothing changed).

    ``spec`` and ``digest`` may be passed by a caller that already has them (the CLI checks
    freshness before loading this module), so nothing is parsed or hashed twice.
    """
    spec = spec or atlas.map_spec(name)
    digest = digest or map_digest(atlas, name, spec, options)
    result = RenderResult(name, atlas.map_path(name, ".html"))
    if not options.force and is_fresh(atlas, name, digest):
        result.skipped = True
        return result
    page = render_html(atlas, spec, options, result.warnings.append, digest)
    atomic_write(result.path, page)
    return result
