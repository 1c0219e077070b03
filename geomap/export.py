"""Printable maps: report-grade PNG and PDF sheets of a map, and one sheet per feature.

The engine is headless Chromium printing the *same* page that ``geomap render`` writes,
switched to a print layout (the sheet). That keeps one renderer for screen and paper: the
legend, classes and escaping are the ones the planner checked on screen, and Chinese text is
real text in the PDF (searchable, sharp). What differs on paper is computed here and in
:mod:`geomap.sheet` from the page's own data block (the exact data the page draws): the
frame the map fills, the view that fills it, and where every feature's name goes.

One Chromium session serves a whole run: ``--each LAYER`` loads the page once and lays it
out again for every page (cover, index, one page per feature), then the pages are joined
into one PDF with pypdf (or written one PNG per feature into a folder).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import shapely
from shapely.geometry import Point, box, shape
from shapely.geometry.base import BaseGeometry

from geomap.atlas import Atlas, atomic_write
from geomap.crs import wgs84_to_gcj02
from geomap.errors import GeomapError
from geomap.freshness import RenderOptions, choose_basemaps
from geomap.sheet import (
    PAPERS_MM,
    Box,
    Feature,
    Layout,
    View,
    extent_aspect,
    fit_view,
    paper_size_mm,
    place_names,
    sheet_layout,
)
from geomap.spec import MapSpec

CSS_DPI = 96.0
CHROMIUM_ENV = "GEOMAP_CHROMIUM"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TILE_WAIT_MS = 8000
EXPORTS_DIR = "exports"
MAX_CALLOUTS_PER_LAYER = 60  # a layer with more features in the frame is named in place only
MIN_SPAN_DEG = 0.004  # a --each page shows at least ~400 m around its feature
TABLE_FIELDS = 2  # key figures per callout-table row: the layer's first tooltip fields
INDEX_ROWS_PER_PAGE = {("A4", True): 24, ("A4", False): 36, ("A3", True): 36, ("A3", False): 52}
OFFLINE_MESSAGE = (
    "底图未能加载（离线或网络受限）：已按无底图打印，去掉了底图署名与 GCJ-02 坐标说明；"
    "离线打印请用 --basemap none (basemap tiles could not be loaded)"
)
_DATA_START = b'<script type="application/json" id="geomap-data">'

Progress = Callable[[int, int], None]
_T = TypeVar("_T")


@dataclass(frozen=True)
class ExportOptions:
    format: str = "pdf"  # pdf | png
    paper: str = "A4"
    landscape: bool = True
    dpi: int = 150
    basemap: str | None = None
    extent: tuple[float, float, float, float] | None = None  # lon/lat (WGS84)
    layer_extent: str | None = None  # frame the map on this layer's features
    each: str | None = None  # one page per feature of this layer
    where: tuple[tuple[str, str], ...] = ()  # --each filter: (field, value) pairs


@dataclass
class ExportResult:
    """What an export wrote: the file (or folder), its pages, and what the planner should
    know (warnings, an offline basemap, how much of the frame the map fills)."""

    path: Path
    pages: int = 0
    files: list[Path] = field(default_factory=list)
    offline: bool = False
    warnings: list[str] = field(default_factory=list)
    fill: tuple[float, float] = (0.0, 0.0)  # share of the frame's width, height (first map page)


def png_size_px(paper: str, landscape: bool, dpi: int) -> tuple[int, int]:
    """The pixel size of a PNG export: the paper at ``dpi`` dots per inch."""
    w, h = paper_size_mm(_paper(paper), landscape)
    return round(w / 25.4 * dpi), round(h / 25.4 * dpi)


def _paper(paper: str) -> str:
    if paper not in PAPERS_MM:
        raise GeomapError(f"纸张 {paper!r} 不支持 (unsupported paper); use A4 or A3")
    return paper


def default_output(atlas: Atlas, name: str, options: ExportOptions) -> Path:
    """Where an export goes without ``-o``: ``exports/`` in the atlas, apart from the
    interactive pages in ``maps/``. One sheet: ``exports/<MAP>.<fmt>``; ``--each``:
    ``exports/<MAP>-<LAYER>.pdf``, or a folder ``exports/<MAP>-<LAYER>/`` of PNGs."""
    folder = atlas.root / EXPORTS_DIR
    if options.each:
        stem = f"{name}-{options.each}"
        return folder / (stem if options.format == "png" else f"{stem}.pdf")
    return folder / f"{name}.{options.format}"


def find_chromium() -> str:
    """``$GEOMAP_CHROMIUM`` when set, else Debian's Chromium; a clear error when there is
    none. A ``$GEOMAP_CHROMIUM`` that names no file is an error, never silently ignored."""
    chosen = os.environ.get(CHROMIUM_ENV)
    if chosen:
        if not Path(chosen).is_file():
            raise GeomapError(
                f"{CHROMIUM_ENV}={chosen} 不是文件 (names no file): 改为 Chromium 的路径，或取消"
                f"该设置以使用 /usr/bin/chromium (point it at a Chromium, or unset it)"
            )
        return chosen
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    raise GeomapError(
        "找不到 Chromium 浏览器 (no Chromium found) for export: install it with "
        "`apt-get install chromium fonts-wqy-microhei`, or set GEOMAP_CHROMIUM=/path/to/chrome"
    )


def page_data(page_html: bytes) -> dict[str, Any]:
    """The data block of a rendered page: exactly what the page draws."""
    start = page_html.index(_DATA_START) + len(_DATA_START)
    end = page_html.index(b"</script>", start)
    data: dict[str, Any] = orjson.loads(page_html[start:end])
    return data


def safe_file_name(text: str, limit: int = 40) -> str:
    """A feature name as a file name: letters, digits (any script), - and _ kept, the rest
    replaced; never a path, never hidden."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)
    cleaned = re.sub(r"_+", "_", cleaned).strip("_")[:limit]
    return cleaned or "feature"


# ---------------------------------------------------------------------------------------
# Planning the sheets from the page's data


@dataclass
class _LayerView:
    """One layer of the page data, with shapely geometries for the non-fast layers."""

    data: dict[str, Any]
    geoms: list[BaseGeometry | None]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def name(self, i: int) -> str | None:
        idx = self.data["name"]
        if idx < 0:
            return None
        v = self.data["values"][idx][i]
        return None if v is None else str(v)


class SheetPlanner:
    """Turns a map's page data and the export options into sheets for the page's export
    mode: layout, view, labels, callouts, tables."""

    def __init__(
        self, spec: MapSpec, data: dict[str, Any], options: ExportOptions, datum: str
    ) -> None:
        self.spec = spec
        self.data = data
        self.options = options
        self.datum = datum
        self.date = dt.date.today().isoformat()
        self.layers: list[_LayerView] = []
        for ld in data["layers"]:
            geoms: list[BaseGeometry | None] = []
            if isinstance(ld.get("geoms"), list):
                geoms = [shape(g) if g else None for g in ld["geoms"]]
            self.layers.append(_LayerView(ld, geoms))
        self.offline = False
        # (layer, column) → field labels, so --where can name a column
        self.column_labels: dict[tuple[str, str], tuple[str, ...]] = {}
        self.max_zoom = float(data.get("maxZoom", 18))

    # -- which features and which extent --------------------------------------------------
    def layer(self, name: str) -> _LayerView:
        for lv in self.layers:
            if lv.data["layer"] == name:
                return lv
        on_map = ", ".join(dict.fromkeys(str(lv.data["layer"]) for lv in self.layers))
        raise GeomapError(
            f"图层 {name!r} 不在地图 {self.spec.name} 上 (layer not on this map); "
            f"layers of this map: {on_map}"
        )

    def _shift_bounds(self, bounds: Sequence[float]) -> tuple[float, float, float, float]:
        """A WGS84 extent in the page's coordinates (GCJ-02 for AMap/GeoQ basemaps)."""
        if self.datum != "gcj02":
            return (bounds[0], bounds[1], bounds[2], bounds[3])
        lon, lat = wgs84_to_gcj02(
            np.array([bounds[0], bounds[2]], dtype=float),
            np.array([bounds[1], bounds[3]], dtype=float),
        )
        return (float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1]))

    def extent(self) -> tuple[float, float, float, float]:
        """The extent of the one-sheet export: --extent, else --layer-extent, else the layers
        shown when the map opens."""
        if self.options.extent:
            return self._shift_bounds(self.options.extent)
        if self.options.layer_extent:
            lv = self.layer(self.options.layer_extent)
            return self._layer_bounds(lv)
        (miny, minx), (maxy, maxx) = self.data["bounds"]
        return (minx, miny, maxx, maxy)

    def _layer_bounds(self, lv: _LayerView) -> tuple[float, float, float, float]:
        valid = [g for g in lv.geoms if g is not None and not g.is_empty]
        if not valid:
            if lv.data.get("fast"):  # drawn by the fast layer: its bounds are in the payload
                fast = lv.data["fast"]
                raise GeomapError(
                    f"图层 {lv.data['layer']} 要素过多 ({fast['nVertices']} vertices), "
                    "请用 --extent 指定范围 (use --extent for this layer)"
                )
            raise GeomapError(f"图层 {lv.data['layer']} 没有几何 (layer has no geometry)")
        b = shapely.total_bounds(np.array(valid, dtype=object))
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    def each_features(self) -> list[int]:
        """The features of the --each layer that get a page (its map filter and --where)."""
        lv = self.layer(self.options.each or "")
        if not lv.geoms:
            raise GeomapError(
                f"图层 {lv.data['layer']} 要素过多，不能逐个出图 (--each needs a layer "
                "drawn feature by feature; this one has thousands of features)"
            )
        keep = [i for i, g in enumerate(lv.geoms) if g is not None and not g.is_empty]
        fields = lv.data["fields"]
        for column, value in self.options.where:
            idx = self._field_index(lv, column)
            values = lv.data["values"][idx]
            keep = [i for i in keep if _as_text(values[i]) == value]
        if not keep:
            raise GeomapError(
                f"图层 {lv.data['layer']} 没有符合条件的要素 (no feature matches --where "
                f"{' '.join(f'{c}={v}' for c, v in self.options.where)}); fields: "
                f"{', '.join(f['label'] for f in fields)}"
            )
        return keep

    def _field_index(self, lv: _LayerView, column: str) -> int:
        labels = [f["label"] for f in lv.data["fields"]]
        wanted = {column, *self.column_labels.get((str(lv.data["layer"]), column), ())}
        for i, label in enumerate(labels):
            if label in wanted:
                return i
        raise GeomapError(
            f"--where {column}: 图层 {lv.data['layer']} 上没有这个字段 (no such field on the "
            f"map's layer); fields: {', '.join(labels)}"
        )

    # -- naming -------------------------------------------------------------------------
    def _named_layers(self) -> list[_LayerView]:
        """Layers whose features get names on the sheet, topmost first: shown, with a name
        field, drawn feature by feature; polygons only when the map labels them."""
        out = []
        for lv in reversed(self.layers):
            ld = lv.data
            if not ld["show"] or ld["name"] < 0 or not lv.geoms:
                continue
            if ld["geom"] == "polygon" and ld.get("labelAt") is None:
                continue
            out.append(lv)
        return out

    def _features(
        self, view: View, frame: BaseGeometry, within: BaseGeometry | None, skip: str | None
    ) -> tuple[list[Feature], list[str]]:
        features: list[Feature] = []
        groups: list[str] = []
        for lv in self._named_layers():
            if lv.id == skip:
                continue
            layer_feats = []
            for i, g in enumerate(lv.geoms):
                name = lv.name(i)
                if g is None or g.is_empty or not name:
                    continue
                anchor_ll = self._anchor(lv, i, g)
                if within is not None and not within.contains(anchor_ll):
                    continue
                projected = view.project(g)
                if not projected.intersects(frame):
                    continue
                ax, ay = view.to_frame(anchor_ll.x, anchor_ll.y)
                layer_feats.append(
                    Feature((lv.id, i), name, lv.data["geom"], projected, (float(ax), float(ay)))
                )
            if len(layer_feats) > MAX_CALLOUTS_PER_LAYER:
                layer_feats = [
                    Feature(f.key, f.name, f.family, f.geom, f.anchor, callout=False)
                    for f in layer_feats
                ]
            features += layer_feats
            groups.append(lv.id)
        # Callout numbers run from the bottom layer up (villages before the projects in them).
        return features, groups[::-1]

    @staticmethod
    def _anchor(lv: _LayerView, i: int, g: BaseGeometry) -> Point:
        label_at = lv.data.get("labelAt")
        if label_at and label_at[i]:
            lat, lon = label_at[i]
            return Point(lon, lat)
        if lv.data["geom"] == "line":
            return g.interpolate(0.5, normalized=True) if hasattr(g, "interpolate") else g.centroid
        return g.representative_point()

    def _obstacles(self, frame: Box) -> list[Box]:
        """The parts of the frame the page's own marks take: north arrow, scale bar, credit."""
        w, h = frame.w, frame.h
        boxes = [Box(w - 8 - 36, 8, 36, 46), Box(8, h - 8 - 24, 110, 24)]
        if self.data["basemaps"] and not self.offline:
            boxes.append(Box(w - 250, h - 16, 250, 16))
        return boxes

    # -- sheets -------------------------------------------------------------------------
    def footer(self) -> list[str]:
        lines = list(self.data["footer"])
        if self.offline:  # no tiles were drawn: the shift to GCJ-02 explains nothing
            lines = [t for t in lines if "GCJ-02" not in t]
        return lines

    def _base(self, layout: Layout, kind: str) -> dict[str, Any]:
        return {
            "kind": kind,
            "date": self.date,
            "layout": layout.as_dict(),
            "title": self.data["title"],
            "subtitle": self.data.get("subtitle"),
            "illustrative": self.data.get("illustrative", False),
            "footer": self.footer(),
            "description": self.data.get("description"),
            "offline": self.offline,
        }

    def map_sheet(
        self,
        extent: Sequence[float],
        focus: tuple[_LayerView, int] | None = None,
    ) -> tuple[dict[str, Any], tuple[float, float], int]:
        """One map sheet: (the sheet for the page, the share of the frame the extent fills,
        the callouts that found no free place)."""
        o = self.options
        layout = sheet_layout(o.paper, o.landscape, extent_aspect(extent))
        fr = layout.frame
        view = fit_view(extent, fr.w, fr.h, max_zoom=self.max_zoom)
        frame_box = box(0, 0, fr.w, fr.h)
        within = focus[0].geoms[focus[1]] if focus else None
        features, groups = self._features(view, frame_box, within, focus[0].id if focus else None)
        naming = place_names(
            features,
            fr.w,
            fr.h,
            font_px=layout.font_px,
            obstacles=self._obstacles(fr),
            groups=groups,
        )
        sheet = self._base(layout, "map")
        sheet["view"] = view.as_dict()
        sheet["check"] = [extent[0], extent[1]]
        sheet["labels"] = [lb.as_dict() for lb in naming.labels]
        sheet["callouts"] = [c.as_dict() for c in naming.callouts]
        sheet["table"] = self._callout_table(naming.callouts)
        if focus:
            lv, i = focus
            name = lv.name(i) or f"{lv.data['title']} {i + 1}"
            sheet["title"] = f"{self.data['title']}·{name}"
            sheet["subtitle"] = f"{lv.data['title']}：{name}" + (
                f"（{self.data['subtitle']}）" if self.data.get("subtitle") else ""
            )
            sheet["focus"] = {"layer": lv.id, "i": i}
            sheet["facts"] = {"layer": lv.id, "i": i, "fields": self._fact_fields(lv)}
            sheet["description"] = None
        fill = _fill(view, extent)
        return sheet, fill, naming.overlaps

    def _callout_table(self, callouts: Sequence[Any]) -> list[dict[str, Any]]:
        groups: dict[str, dict[str, Any]] = {}
        for c in callouts:
            layer_id, i = c.key
            if layer_id not in groups:
                lv = next(lv for lv in self.layers if lv.id == layer_id)
                groups[layer_id] = {"layer": layer_id, "fields": self._key_fields(lv), "rows": []}
            groups[layer_id]["rows"].append([c.number, i])
        return list(groups.values())

    @staticmethod
    def _fact_fields(lv: _LayerView) -> list[int]:
        name = lv.data["name"]
        fields = [f for f in lv.data["tooltip"] if f != name]
        return fields or [f for f in range(len(lv.data["fields"])) if f != name]

    def _key_fields(self, lv: _LayerView) -> list[int]:
        return self._fact_fields(lv)[:TABLE_FIELDS]

    def each_sheets(self) -> list[tuple[str, dict[str, Any], int | None]]:
        """Every page of a --each atlas: (kind, sheet, feature index) for the cover, the
        index pages and one map per feature."""
        o = self.options
        lv = self.layer(o.each or "")
        features = self.each_features()
        layout = sheet_layout(o.paper, o.landscape)
        per_page = INDEX_ROWS_PER_PAGE[(o.paper, o.landscape)]
        index_pages = math.ceil(len(features) / per_page)
        first = 2 + index_pages
        pages: list[tuple[str, dict[str, Any], int | None]] = []
        cover = self._base(layout, "cover")
        cover["kicker"] = f"{lv.data['title']} · 逐一成图"
        cover["coverTitle"] = self.data["title"]
        cover["lines"] = [
            t
            for t in (
                self.data.get("subtitle"),
                f"共 {len(features)} 页，每页一个{lv.data['title']}（第 {first} 页起）",
                f"纸张 {o.paper} {'横向' if o.landscape else '纵向'}",
                "示意数据：几何与分项数字为示意，仅合计与报告一致"
                if self.data.get("illustrative")
                else None,
            )
            if t
        ]
        pages.append(("cover", cover, None))
        for k in range(index_pages):
            chunk = features[k * per_page : (k + 1) * per_page]
            sheet = self._base(layout, "index")
            sheet["title"] = f"{self.data['title']} · 目录"
            sheet["index"] = {
                "layerId": lv.id,
                "fields": self._key_fields(lv),
                "rows": [[first + k * per_page + j, i] for j, i in enumerate(chunk)],
            }
            pages.append(("index", sheet, None))
        for i in features:
            geom = lv.geoms[i]
            assert geom is not None
            pages.append(("map", {"extent": _at_least(geom.bounds, MIN_SPAN_DEG), "focus": i}, i))
        return pages


def _at_least(bounds: Sequence[float], span: float) -> tuple[float, float, float, float]:
    """``bounds`` grown about its centre to at least ``span`` degrees each way (a point's
    page shows its surroundings)."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    hw, hh = max(maxx - minx, span) / 2, max(maxy - miny, span) / 2
    return (cx - hw, cy - hh, cx + hw, cy + hh)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _fill(view: View, extent: Sequence[float]) -> tuple[float, float]:
    from geomap.sheet import filled_fraction

    return filled_fraction(view, extent)


# ---------------------------------------------------------------------------------------
# The browser session


class _Session:
    """One Chromium page holding the map, laid out again for each sheet and printed."""

    def __init__(self, page: Any, options: ExportOptions, has_tiles: bool) -> None:
        self.page = page
        self.options = options
        self.has_tiles = has_tiles

    def show(self, sheet: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.page.evaluate("d => window.geomap.exportMode(d)", sheet)
        return result

    def wait_for_tiles(self) -> None:
        """Give basemap tiles a moment to arrive; a map without them still exports."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if self.has_tiles:
            with contextlib.suppress(PlaywrightTimeout):
                self.page.wait_for_function(
                    "() => { const t = document.querySelectorAll('.leaflet-tile');"
                    " return t.length === 0 || [...t].every(i => i.complete); }",
                    timeout=TILE_WAIT_MS,
                )
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )

    def tiles_loaded(self) -> bool:
        status: dict[str, int] = self.page.evaluate("() => window.geomap.sheetTiles()")
        return status["loaded"] > 0

    def capture(self) -> bytes:
        o = self.options
        if o.format == "png":
            png_w, png_h = png_size_px(o.paper, o.landscape, o.dpi)
            raw: bytes = self.page.screenshot(type="png")
            return _crop_png(raw, png_w, png_h)
        width_mm, height_mm = paper_size_mm(o.paper, o.landscape)
        self.page.emulate_media(media="screen")
        pdf: bytes = self.page.pdf(
            width=f"{width_mm}mm",
            height=f"{height_mm}mm",
            print_background=True,
            margin={"top": "0", "right": "0", "bottom": "0", "left": "0"},
            page_ranges="1",
        )
        return pdf


@contextlib.contextmanager
def _session(page_html: bytes, options: ExportOptions, has_tiles: bool) -> Iterator[_Session]:
    chromium = find_chromium()
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a runtime dependency
        raise GeomapError("导出需要 playwright (pip install playwright)") from None
    # The page is laid out at the paper's size in CSS pixels (96 per inch), then printed, or
    # captured at dpi/96 device pixels per CSS pixel and cropped to exactly the requested
    # size (Chromium rounds device pixels).
    width_mm, height_mm = paper_size_mm(options.paper, options.landscape)
    scale = options.dpi / CSS_DPI if options.format == "png" else 1.0
    if options.format == "png":
        png_w, png_h = png_size_px(options.paper, options.landscape, options.dpi)
        vw, vh = math.ceil(png_w / scale) + 1, math.ceil(png_h / scale) + 1
    else:
        vw, vh = round(width_mm / 25.4 * CSS_DPI), round(height_mm / 25.4 * CSS_DPI)
    with tempfile.TemporaryDirectory(prefix="geomap-export-") as tmp:
        html_path = Path(tmp) / "map.html"
        html_path.write_bytes(page_html)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(
                        viewport={"width": vw, "height": vh}, device_scale_factor=scale
                    )
                    page.goto(html_path.as_uri())
                    page.wait_for_function(
                        "window.geomap && window.geomap.ready === true", timeout=60000
                    )
                    yield _Session(page, options, has_tiles)
                finally:
                    browser.close()
        except PlaywrightError as exc:
            raise GeomapError(
                f"导出失败 (export failed in Chromium): {str(exc).splitlines()[0]}"
            ) from None


def _crop_png(raw: bytes, width: int, height: int) -> bytes:
    """A captured PNG cropped to exactly ``width`` × ``height`` pixels."""
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as img:
        cropped = img.crop((0, 0, width, height))
        cropped.load()
    out = io.BytesIO()
    cropped.save(out, format="PNG", optimize=True)
    return out.getvalue()


# ---------------------------------------------------------------------------------------
# The command's library side


def _validate(options: ExportOptions) -> None:
    if options.format not in ("png", "pdf"):
        raise GeomapError(f"格式 {options.format!r} 不支持 (format must be png or pdf)")
    _paper(options.paper)
    if not 50 <= options.dpi <= 600:
        raise GeomapError(f"分辨率 {options.dpi} 不合理 (dpi must be between 50 and 600)")
    if options.extent:
        minx, miny, maxx, maxy = options.extent
        if not (-180 <= minx < maxx <= 180 and -85 <= miny < maxy <= 85):
            raise GeomapError(
                f"--extent {minx},{miny},{maxx},{maxy} 不是有效的经纬度范围 (not a lon/lat "
                "extent): give west,south,east,north in degrees, e.g. 119.43,28.42,119.53,28.48"
            )
    if options.extent and options.layer_extent:
        raise GeomapError("--extent 与 --layer-extent 只能选一个 (use one of them)")
    if options.each and (options.extent or options.layer_extent):
        raise GeomapError("--each 每页按要素取范围，不能与 --extent/--layer-extent 同用")
    if options.where and not options.each:
        raise GeomapError("--where 只用于 --each (filters the features of --each LAYER)")


def export_map(
    atlas: Atlas,
    name: str,
    out: Path | None,
    options: ExportOptions,
    warn: list[str] | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Export map ``name`` as one sheet, or with ``options.each`` as one page per feature,
    to ``out`` (default :func:`default_output`). Files are written atomically; a folder of
    PNGs appears whole or not at all."""
    from geomap.render import render_html

    _validate(options)
    spec = atlas.map_spec(name)
    target = out or default_output(atlas, name, options)
    result = ExportResult(target)
    warnings = warn if warn is not None else result.warnings
    render_opts = RenderOptions(basemap=options.basemap)
    datum = choose_basemaps(atlas, spec, render_opts, lambda _: None)[0][0].datum
    page_html = render_html(atlas, spec, render_opts, warnings.append)
    planner = SheetPlanner(spec, page_data(page_html), options, datum)
    planner.column_labels = _column_labels(atlas, spec)

    if options.each:
        pages = planner.each_sheets()
        if options.format == "png":
            pages = [p for p in pages if p[0] == "map"]
    else:
        pages = [("map", {"extent": planner.extent(), "focus": None}, None)]

    def print_pages() -> list[bytes]:
        return _print_pages(page_html, pages, planner, result, warnings, progress)

    outputs = _in_own_thread(print_pages)
    result.pages = len(pages)
    _write(result, pages, outputs, planner, options)
    return result


def _print_pages(
    page_html: bytes,
    pages: list[tuple[str, dict[str, Any], int | None]],
    planner: SheetPlanner,
    result: ExportResult,
    warnings: list[str],
    progress: Progress | None,
) -> list[bytes]:
    """Every page laid out and captured in one Chromium session."""
    options = planner.options
    has_tiles = bool(planner.data["basemaps"])
    total = len(pages)
    outputs: list[bytes] = []
    with _session(page_html, options, has_tiles) as session:
        if progress:
            progress(0, total)
        if has_tiles:  # find out first whether tiles load, so every page tells the truth
            first = next(p for p in pages if p[0] == "map")[1]
            _show_map(session, planner, first, options, [])
            if not session.tiles_loaded():
                planner.offline = result.offline = True
                session.has_tiles = False
                warnings.append(OFFLINE_MESSAGE)
        for done, (kind, sheet, _i) in enumerate(pages, start=1):
            if kind == "map":
                fill = _show_map(session, planner, sheet, options, warnings, done)
                result.fill = result.fill if result.fill[0] else fill
            else:
                session.show({**sheet, "footer": planner.footer(), "offline": planner.offline})
            outputs.append(session.capture())
            if progress:
                progress(done, total)
    return outputs


def _in_own_thread(work: Callable[[], _T]) -> _T:
    """``work()`` run in a thread of its own; its result returned, its error raised here.

    Playwright's sync API refuses to start in a thread that already runs an asyncio loop:
    a Jupyter kernel, an async server, or another Playwright session in the same thread
    (a test suite's shared browser). A fresh thread has no loop, so ``export_map`` works
    whoever calls it. The caller waits; nothing runs concurrently."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="geomap-export", daemon=True)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    value: _T = outcome["value"]
    return value


def _show_map(
    session: _Session,
    planner: SheetPlanner,
    page: dict[str, Any],
    options: ExportOptions,
    warnings: list[str],
    number: int = 0,
) -> tuple[float, float]:
    """Lay the page out as one map sheet and wait for its tiles; returns the share of the
    frame the extent fills."""
    focus = (planner.layer(options.each), page["focus"]) if options.each else None
    sheet, fill, overlaps = planner.map_sheet(page["extent"], focus)
    where = f"第 {number} 页: " if options.each else ""
    if overlaps:
        warnings.append(f"{where}{overlaps} 个编号未能找到空位，与其他标注重叠 (callouts overlap)")
    shown = session.show(sheet)
    session.wait_for_tiles()
    if not shown.get("panelFits", True):
        warnings.append(
            f"{where}图例与编号表未能完整放入版面 (legend/table cut off); try --paper A3"
        )
    return fill


def _column_labels(atlas: Atlas, spec: MapSpec) -> dict[tuple[str, str], tuple[str, ...]]:
    """Column name → field labels, so ``--where village_type=…`` can name a column."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for ml in spec.layers:
        meta = atlas.layer_meta(ml.layer)
        for col in meta.fields:
            out[(ml.layer, col)] = (meta.label(col),)
        if ml.join:
            tmeta = atlas.table_meta(ml.join.table)
            for col, cdef in tmeta.columns.items():
                out[(ml.layer, col)] = (cdef.label or col,)
    return out


def _write(
    result: ExportResult,
    pages: list[tuple[str, dict[str, Any], int | None]],
    outputs: list[bytes],
    planner: SheetPlanner,
    options: ExportOptions,
) -> None:
    target = result.path
    if options.each and options.format == "png":
        lv = planner.layer(options.each)
        width = max(2, len(str(len(outputs))))
        names = []
        for k, (_kind, _sheet, i) in enumerate(pages, start=1):
            label = lv.name(i) if i is not None else None
            names.append(f"{k:0{width}d}-{safe_file_name(label or str(i))}.png")
        _write_folder(target, dict(zip(names, outputs, strict=True)))
        result.files = [target / n for n in names]
        return
    if len(outputs) == 1:
        atomic_write(target, outputs[0])
    else:
        atomic_write(target, _join_pdfs(outputs, planner.data["title"]))
    result.files = [target]


def _join_pdfs(parts: list[bytes], title: str) -> bytes:
    try:
        from pypdf import PdfWriter
    except ImportError:  # pragma: no cover - pypdf comes with the [export] extra
        raise GeomapError("多页导出需要 pypdf (pip install 'geomap[export]')") from None

    writer = PdfWriter()
    for part in parts:
        writer.append(io.BytesIO(part))
    writer.add_metadata({"/Title": title, "/Producer": "geomap"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _write_folder(target: Path, files: dict[str, bytes]) -> None:
    """Write a folder of files whole: into a hidden sibling, then renamed into place (an
    older folder of the same name is replaced only once the new one is complete)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for fname, data in files.items():
            (tmp / fname).write_bytes(data)
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
