"""The Python → JavaScript contract: the one JSON block a page's client reads.

:class:`PageData` (and the :class:`LayerData` in it) is everything the client
(``assets/js/*.js``) knows about a map. Each key is documented here and nowhere else; the
keys are JavaScript's spelling. The block is built from a :class:`~geomap.plan.MapPlan`
and written by :func:`script_json`, escaped for the ``<script type="application/json">``
element it sits in; the client parses it and builds every text with ``textContent``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NotRequired, TypedDict

import numpy as np
import orjson
import pandas as pd
import shapely

from geomap.basemaps import Basemap
from geomap.crs import wgs84_to_gcj02
from geomap.fastcodec import FastGeometry, encode_fast
from geomap.geojson_io import geometries_json, json_value
from geomap.plan import LayerPlan, MapPlan
from geomap.spec import Style
from geomap.style import NO_DATA_COLOR, Styled
from geomap.years import View

RENDER_PRECISION = 6  # 1e-6 degree is about 0.1 m at Xiping

PathStyle = dict[str, Any]
"""Leaflet path options (``color``, ``weight``, ``fillColor``, ``radius``…) of one class."""


class LegendItemData(TypedDict):
    label: str  #: class bounds with unit, a category, or the layer title
    color: str  #: #rrggbb


class LegendData(TypedDict):
    title: str
    items: list[LegendItemData]
    basis: str | None  #: basis of the styled column (illustrative: the page marks 示意)


class FieldData(TypedDict):
    label: str  #: Chinese label of the column
    unit: str | None  #: unit shown after values (亩, 万元, 户)
    basis: str | None  #: report | illustrative | derived | null (illustrative: marked 示意)


class ViewData(TypedDict):
    """One state of a years layer's year switch (a year, or a change between two years)."""

    label: str  #: 2021年, 2022年, 变化, 变化率
    field: int  #: field index of the values this view shows
    cls: list[int]  #: class per feature in this view (as LayerData.cls)
    styles: list[PathStyle]
    noData: PathStyle
    legend: LegendData
    tooltip: list[int]  #: field indices the tooltip shows in this view


class SeriesData(TypedDict):
    """The indicator of a years layer over its years (the popup's small chart)."""

    label: str  #: the indicator's name
    unit: str | None
    years: list[int]
    fields: list[int]  #: field index of each year's values


class SearchData(TypedDict):
    """A tiled layer's search index (:func:`geomap.tiles.write_index`): the names, gzipped
    text, one line per feature; the points, int32 steps of 1/scale degree from (x0, y0)."""

    url: str  #: the names file, relative to the page
    points: str  #: the points file, relative to the page
    x0: float
    y0: float
    scale: int
    count: int  #: lines (features)
    bytes: int  #: its size uncompressed: the page keeps a small index, streams a large one


class TileData(TypedDict):
    """A layer drawn from vector tiles beside the page (:mod:`geomap.tiles`)."""

    url: str  #: the PMTiles archive, relative to the page ("" when the layer is empty)
    search: SearchData | None  #: the search index (names, points); None when empty
    layer: str  #: the MVT layer name in the archive
    minZoom: int  #: full detail (every feature) from this zoom; the summary grid below it
    maxZoom: int  #: the deepest tiles (over-zoomed beyond)
    count: int  #: features in the tiles
    grid: list[Any]  #: GeoJSON polygons of the summary grid's cells, or of the overview layer
    gridCounts: list[int]  #: features counted in each cell (or overview polygon)
    gridNames: list[str | None]  #: each overview polygon's name (null for grid cells)
    gridBreaks: list[int]  #: upper bound of each class of the grid's counts
    gridColors: list[str]  #: #rrggbb of each class
    gridLegend: LegendData  #: the grid's legend (counts with their unit)
    facetCounts: dict[str, list[list[Any]]]  #: per facet field index: [value text, count]
    unit: str  #: what one feature is called (图斑, 要素)
    note: str  #: the legend's line on what is drawn at which zoom
    tiler: str  #: tippecanoe | gdal
    bounds: list[float] | None  #: [west, south, east, north] of the features (display)


class LayerData(TypedDict):
    """One map layer. Features are numbered 0..n-1; per-feature lists are columnar."""

    id: str  #: ``layer<index>``, unique in the page
    layer: str  #: the atlas layer name
    title: str  #: shown in the layer control, popups and search results
    geom: str  #: family: point | line | polygon
    show: bool  #: on the map when the page opens
    cluster: bool  #: points drawn in clusters (leaflet.markercluster)
    search: bool  #: names searchable
    geoms: list[Any] | None  #: GeoJSON geometry per feature (null for fast layers)
    cls: list[int]  #: class per feature, index into ``styles``; -1: no data
    styles: list[PathStyle]  #: Leaflet path options per class
    noData: PathStyle  #: path options of features without data
    legend: LegendData
    fields: list[FieldData]  #: the public fields, in the order of ``values``
    values: list[list[Any]]  #: ``values[field][feature]``: text, number or null
    tooltip: list[int]  #: field indices the tooltip shows
    popup: list[int]  #: field indices the popup shows (empty: no popup)
    name: int  #: field index of the feature name, -1 when none
    key: int  #: field index of the layer's key (the list's data-geomap-key), -1 when none
    facets: list[int]  #: field indices offered as filters (chips of their values)
    hidden: list[int]  #: classes switched off when the page opens (legend items greyed)
    labelAt: list[list[float] | None] | None  #: [lat, lon] of each polygon's label, or null
    fast: FastGeometry | None  #: typed-array geometry when drawn by the fast layer
    #: drawn from vector tiles (``values``/``cls`` are then empty: tiles carry each
    #: feature's fields as ``f<k>``, its class as ``_c`` and its index as ``_i``)
    tiles: TileData | None
    #: years layers only (``years = true``): the year switch's views, the one shown at
    #: open (``cls``/``styles``/``legend``/``tooltip`` above are that view's), the series
    views: NotRequired[list[ViewData]]
    view: NotRequired[int]
    series: NotRequired[SeriesData]


class BasemapData(TypedDict):
    title: str
    attribution: str  #: HTML from the provider table (never from data)
    maxZoom: int  #: the provider's deepest tiles
    subdomains: str
    url: str  #: XYZ template
    overlayUrl: str | None  #: annotation tiles drawn above (Tianditu)


class PageData(TypedDict):
    """The whole block (``<script type="application/json" id="geomap-data">``)."""

    mapId: str  #: id of the element the map is drawn in
    title: str
    subtitle: str | None
    description: str | None
    illustrative: bool  #: show the 示意数据 badge
    footer: list[str]  #: lines: sources, notes, generator
    bounds: list[list[float]]  #: [[south, west], [north, east]] the view fits at open
    center: list[float]  #: [lat, lon] before the view is fitted
    maxZoom: int
    basemaps: list[BasemapData]  #: the first is shown; the rest are choices
    layers: list[LayerData]  #: in spec order, the last drawn on top


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


class Encoded(list[bytes]):
    """A value already written as JSON by :func:`script_json`, in pieces (a large layer's
    columns and geometry are encoded one at a time, each as soon as it is built, and never
    joined into one string: the page is written piece by piece)."""


def encoded(value: Any) -> Encoded:
    """``value`` as one escaped JSON piece (its Python objects can go at once)."""
    return Encoded([script_json(value)])


def _json_object(obj: dict[str, Any]) -> Encoded:
    """``obj`` as :func:`script_json` writes it (compact, keys in order), its
    :class:`Encoded` values spliced in as they are."""
    if not obj:
        return encoded({})
    out, sep = Encoded(), b"{"
    for key, value in obj.items():
        head = sep + script_json(key) + b":"
        if isinstance(value, Encoded):
            out.append(head)
            out.extend(value)
        else:
            out.append(head + script_json(value))
        sep = b","
    out.append(b"}")
    return out


def _json_array(items: Iterable[Encoded]) -> Encoded:
    """The JSON array of already encoded items (consumed one at a time)."""
    out, sep = Encoded(), b"["
    for item in items:
        out.append(sep)
        out.extend(item)
        sep = b","
    out.append(b"]" if sep == b"," else b"[]")
    return out


def column_values(column: pd.Series) -> list[Any]:
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
# Layers


def path_styles(style: Style, styled: Styled, family: str) -> tuple[list[PathStyle], PathStyle]:
    """Leaflet path options for each class, and for features without data."""

    def one(color: str) -> PathStyle:
        if family == "point":
            return {
                "radius": style.radius or 5,
                "color": "#555555",
                "weight": 0.5,
                "fillColor": color,
                "fillOpacity": 0.9,
            }
        if family == "line":
            out: PathStyle = {"color": color, "weight": style.weight or 3, "opacity": 0.9}
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


def shift_to_gcj02(geoms: np.ndarray) -> np.ndarray:
    """WGS84 → GCJ-02, so vector layers line up with AMap / GeoQ tiles."""

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    moved: np.ndarray = shapely.transform(geoms, move)
    return moved


def _label_points(geoms: np.ndarray) -> list[list[float] | None]:
    pts = shapely.point_on_surface(geoms)
    xy = shapely.get_coordinates(pts, include_z=False)
    valid = ~shapely.is_missing(pts) & ~shapely.is_empty(pts)
    coords = iter(xy.tolist())
    return [
        [round(y, 6), round(x, 6)] if ok else None
        for ok, (x, y) in ((v, next(coords) if v else (0, 0)) for v in valid)
    ]


def _style_basis(lp: LayerPlan) -> str | None:
    """The basis of the column a choropleth or categorical style classifies by."""
    column = lp.ml.style.column
    if lp.ml.style.type == "single" or not column or column not in lp.fields:
        return None
    return lp.fields[column].basis


def layer_data(
    lp: LayerPlan, index: int, geoms: np.ndarray, tiles: TileData | None = None
) -> Encoded:
    """The layer's block (:class:`LayerData`, keys in its order), escaped. ``geoms`` are the
    layer's geometries in display coordinates. Per-feature lists (geometry, classes, each
    field's values) are encoded one at a time as they are built, so only one of them is
    ever held as Python objects. A tiled layer (``tiles``) carries neither geometry nor
    per-feature values: its tiles do."""
    position = {c: i for i, c in enumerate(lp.visible)}
    styles, no_data = path_styles(lp.ml.style, lp.styled, lp.family)
    if lp.fast or tiles is not None:
        geoms_text = encoded(None)
    else:
        geo_json = geometries_json(geoms, RENDER_PRECISION)
        geoms_text = Encoded(
            [("[" + ",".join(g if g is not None else "null" for g in geo_json) + "]").encode()]
        )
        del geo_json
    data: dict[str, Any] = {  # LayerData
        "id": f"layer{index}",
        "layer": lp.ml.layer,
        "title": lp.title,
        "geom": lp.family,
        "show": lp.ml.show,
        "cluster": lp.cluster,
        "search": lp.ml.search,
        "geoms": geoms_text,
        "cls": encoded([] if tiles else lp.styled.classes.tolist()),
        "styles": styles,
        "noData": no_data,
        "legend": {
            "title": lp.styled.legend_title or lp.title,
            "items": [{"label": i.label, "color": i.color} for i in lp.styled.legend],
            "basis": _style_basis(lp),
        },
        "fields": [
            {"label": lp.fields[c].label, "unit": lp.fields[c].unit, "basis": lp.fields[c].basis}
            for c in lp.visible
        ],
        "values": _json_array(
            encoded([] if tiles else column_values(lp.frame[c])) for c in lp.visible
        ),
        "tooltip": [position[c] for c in lp.tooltip],
        "popup": list(range(len(lp.visible))) if lp.ml.popup else [],
        "name": position.get(lp.meta.name_field, -1),
        "key": position.get(lp.meta.key, -1),
        "facets": [position[c] for c in lp.ml.facets],
        "hidden": [k for k, item in enumerate(lp.styled.legend) if item.label in lp.ml.hidden],
        "labelAt": encoded(_label_points(geoms) if lp.labels and not tiles else None),
        "fast": encoded(encode_fast(geoms, lp.family) if lp.fast and not tiles else None),
        "tiles": tiles,
    }
    if lp.series is not None:
        data["views"] = [_view_data(lp, v, position) for v in lp.views]
        data["view"] = lp.start_view
        data["series"] = {
            "label": lp.series.indicator,
            "unit": lp.fields[lp.series.columns[-1]].unit,
            "years": list(lp.series.years),
            "fields": [position[c] for c in lp.series.columns],
        }
    return _json_object(data)


def _view_data(lp: LayerPlan, view: View, position: dict[str, int]) -> ViewData:
    styles, no_data = path_styles(lp.ml.style, view.styled, lp.family)
    return {
        "label": view.label,
        "field": position[view.column],
        "cls": view.styled.classes.tolist(),
        "styles": styles,
        "noData": no_data,
        "legend": {
            "title": view.styled.legend_title or lp.title,
            "items": [{"label": i.label, "color": i.color} for i in view.styled.legend],
            "basis": lp.fields[view.column].basis,
        },
        "tooltip": [position[c] for c in view.tooltip],
    }


def basemap_data(bases: list[tuple[Basemap, str | None]]) -> list[BasemapData]:
    """The tile layers of the chosen basemaps (a plain background has none)."""
    return [
        {
            "title": base.title,
            "attribution": base.attribution,
            "maxZoom": base.max_zoom,
            "subdomains": base.subdomains,
            "url": base.url.replace("{key}", k or ""),
            "overlayUrl": base.overlay_url.replace("{key}", k or "") if base.overlay_url else None,
        }
        for base, k in bases
        if base.url
    ]


def display_geometries(plan: MapPlan, lp: LayerPlan) -> np.ndarray:
    """A layer's geometries as the page draws them (GCJ-02 on AMap/GeoQ basemaps)."""
    geoms = lp.frame.geometry.to_numpy()
    return shift_to_gcj02(geoms) if plan.datum == "gcj02" else geoms


def page_data_parts(
    plan: MapPlan, map_id: str, tiles: dict[int, TileData] | None = None
) -> tuple[Encoded, bool]:
    """The escaped data block of a page, in pieces to be written one after another, and
    whether any layer is clustered. The plan must be free of errors (it then has basemaps
    and some geometry). ``tiles`` describes the layers (by index) whose tiles were written
    beside the page."""
    tiles = tiles or {}
    bases = plan.basemaps
    assert plan.spec is not None and bases
    layers: list[Encoded] = []
    shown: list[np.ndarray] = []
    hidden: list[np.ndarray] = []
    for i, lp in enumerate(plan.layers):
        tile = tiles.get(i)
        # A tiled layer's geometries are in its tiles (and may not be in the plan at all).
        geoms = np.array([], dtype=object) if tile else display_geometries(plan, lp)
        layers.append(layer_data(lp, i, geoms, tile))
        valid = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
        extent = tile["bounds"] if tile else shapely.total_bounds(valid) if len(valid) else None
        if extent is not None:  # the view fits the layers shown when the map opens
            (shown if lp.ml.show else hidden).append(np.asarray(extent))
        del geoms, valid
    box = np.vstack(shown or hidden)  # the plan guarantees some geometry
    minx, miny = float(box[:, 0].min()), float(box[:, 1].min())
    maxx, maxy = float(box[:, 2].max()), float(box[:, 3].max())
    page: dict[str, Any] = {  # PageData
        "mapId": map_id,
        "title": plan.spec.title,
        "subtitle": plan.spec.subtitle,
        "description": plan.spec.description,
        "illustrative": plan.illustrative,
        "footer": plan.footer(),
        "bounds": [[miny, minx], [maxy, maxx]],
        "center": [(miny + maxy) / 2, (minx + maxx) / 2],
        "maxZoom": max(18, *(base.max_zoom for base, _ in bases)),
        "basemaps": basemap_data(bases),
        "layers": _json_array(layers),
    }
    return _json_object(page), any(lp.cluster for lp in plan.layers)


def page_json(
    plan: MapPlan, map_id: str, tiles: dict[int, TileData] | None = None
) -> tuple[bytes, bool]:
    """:func:`page_data_parts` joined: the data block as one string."""
    parts, cluster = page_data_parts(plan, map_id, tiles)
    return b"".join(parts), cluster
