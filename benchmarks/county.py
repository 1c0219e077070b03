"""County scale (issue 18): a tiled layer of synthetic parcels, rendered, served, opened.

Writes ``--size`` synthetic parcels (the 10-vertex polygons of ``compare.py``, about 50 m
apart) as one layer with ``tiles = true``, then measures:

* ``geomap render`` in a child process: wall time, the time spent writing the tiles
  (``geomap.tiles.write_layer_tiles``), the child's peak RSS and the tiler's (tippecanoe's)
  peak RSS, the archive's size and its zooms;
* ``geomap serve`` (a child) and headless Chromium on the page: first view drawn (from
  navigation until the map is built and two frames are painted), a street-level zoom
  (``setView`` to a parcel at zoom 17 until every visible tile is drawn, then the parcel
  hit-tested there), nine more views at zooms 14, 15 and 16 (the summary grid below the
  layer's full-detail zoom), each tile's wait for its bytes at zooms >= 14 (from the
  archive's source asked until the bytes are there: ranges joined, a connection waited
  for, the Range request answered), the HTTP requests that read them (Resource Timing,
  startTime -> responseEnd, and its parts: queued, server, body), the time to draw a tile again from data already read, the JS heap at the first
  view and after browsing, the first search (a parcel's name typed until it is listed:
  the gzipped index fetched, inflated, parsed and scanned), the search index's heap;
* the archive's tiles at zooms 14 and 15: how many, bytes and features per tile.

The synthetic layer is written :data:`WRITE_CHUNK` parcels at a time (10 M parcels are
~4.5 GB of GeoJSON), byte for byte what ``compare.write_atlas`` writes whole: checked on
2,345 parcels at every start. With ``--progress FILE`` the render child appends its stage,
elapsed time and resident memory to FILE every 30 s.

Prints one JSON line and writes it to ``benchmarks/results/<date>-county-<size>.json`` (``-2``,
``-3``, ... when that file exists: a run never overwrites another's results).

    python benchmarks/county.py                  # 1,000,000 parcels
    python benchmarks/county.py --size 100000
    python benchmarks/county.py --size 10000000 --progress /tmp/county10m.progress

``--search-only`` measures the search index alone at ``--size`` names: a small tiled map
(:data:`SEARCH_MAP_PARCELS` parcels) is rendered, its index replaced by one of ``--size``
names and points written by geomap's own writer (``tiles.write_index``), then through
``geomap serve`` in Chromium: searches typed until listed (a random parcel's name, the last
parcel's, a name that is nowhere), the JS heap after each. One JSON line, written to
``benchmarks/results/<date>-county-search-<size>.json``.

    python benchmarks/county.py --search-only --size 10000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare
import tomli_w

STREET_ZOOM = 17
#: Views visited after the street-level one, in turn at these zooms (three each): the tile
#: timings are those of all these views' requests.
VIEW_ZOOMS = (14, 15, 16)
DETAIL_VIEWS = 9


#: Parcels generated and written at a time.
WRITE_CHUNK = 100_000


def write_layer_chunked(path: Path, n: int, chunk: int = WRITE_CHUNK) -> None:
    """``compare.synthetic(n)`` written as ``compare.write_atlas`` writes it (the same bytes),
    ``chunk`` parcels at a time: the random draws of the whole layer are made in the same
    order (those of the vertices' radii, by far the largest, by a second generator moved to
    where they begin: PCG64 makes one 64-bit draw per uniform double)."""
    import numpy as np
    import pandas as pd
    import shapely

    from geomap.chunks import ChunkedLayer, GeometryChunks
    from geomap.geojson_io import write_features

    rng = np.random.default_rng(compare.SEED)
    side = math.ceil(math.sqrt(n))
    kx = 1 / math.cos(math.radians(compare.Y0))
    sides = compare.VERTICES
    turns = rng.uniform(0, 2 * np.pi / sides, (n, 1))
    radii = np.random.default_rng()
    radii.bit_generator.state = rng.bit_generator.state
    rng.bit_generator.advance(n * sides)  # type: ignore[attr-defined]
    value = np.round(rng.lognormal(4.0, 1.0, n), 2)
    households = rng.integers(0, 400, n)
    area_mu = np.round(rng.uniform(1, 300, n), 1)
    status = rng.choice(compare.STATUS, n)
    angles = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    villages = compare.VILLAGES
    header, footer = b'{"type":"FeatureCollection","features":[\n', b"\n]}\n"
    with path.open("wb") as out:
        out.write(header)
        for start in range(0, n, chunk):
            index = np.arange(start, min(start + chunk, n))
            cx = compare.X0 + ((index % side) - side / 2 + 0.5) * compare.CELL * kx
            cy = compare.Y0 + ((index // side) - side / 2 + 0.5) * compare.CELL
            radius = compare.CELL * 0.45 * radii.uniform(0.55, 1.0, (len(index), sides))
            turned = angles + turns[index]
            xs = cx[:, None] + radius * np.cos(turned) * kx
            ys = cy[:, None] + radius * np.sin(turned)
            attrs = pd.DataFrame(
                {
                    "code": [f"P{i:06d}" for i in index],
                    "name": [
                        f"{villages[i % len(villages)]}{i // len(villages) + 1}号地块"
                        for i in index
                    ],
                    "value": value[index],
                    "households": households[index],
                    "area_mu": area_mu[index],
                    "status": status[index],
                }
            )
            polygons = GeometryChunks.of(shapely.polygons(np.stack([xs, ys], axis=-1)))
            part = io.BytesIO()
            write_features(part, ChunkedLayer(attrs, polygons))
            text = part.getvalue()
            assert text.startswith(header) and text.endswith(footer)
            if start:
                out.write(b",\n")
            out.write(text[len(header) : -len(footer)])
        out.write(footer)


def check_chunked_writer(n: int = 2_345, chunk: int = 1_000) -> None:
    """The chunked writer gives the bytes of ``compare.write_atlas`` (whole layer)."""
    with tempfile.TemporaryDirectory(prefix="geomap-county-check-") as tmp:
        whole = compare.write_atlas(Path(tmp) / "whole", n).read_bytes()
        chunked = Path(tmp) / "chunked.geojson"
        write_layer_chunked(chunked, n, chunk)
        if chunked.read_bytes() != whole:
            raise SystemExit("county.py: the chunked layer writer differs from write_atlas")


def write_tiled_atlas(root: Path, n: int) -> None:
    for sub in ("layers", "data", "maps"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    write_layer_chunked(root / "layers" / f"{compare.LAYER}.geojson", n)
    (root / "layers" / f"{compare.LAYER}.toml").write_text(
        tomli_w.dumps(compare.LAYER_META), encoding="utf-8"
    )
    spec = dict(compare.MAP_SPEC)
    spec["layers"] = [{**compare.MAP_SPEC["layers"][0], "tiles": True, "popup": True}]
    assert spec["layers"][0]["tiles"] is True
    (root / "maps" / f"{compare.MAP}.toml").write_text(tomli_w.dumps(spec), encoding="utf-8")


def watch_progress(path: Path, stage: list[str]) -> None:
    """Append the stage, elapsed seconds and resident memory to ``path`` every 30 s."""
    started = time.perf_counter()

    def loop() -> None:
        while True:
            with path.open("a", encoding="utf-8") as fh:
                fh.write(
                    f"{dt.datetime.now(dt.UTC):%H:%M:%S} {time.perf_counter() - started:7.0f} s "
                    f"rss {compare._rss_mib():6.0f} MiB peak {compare._rss_mib('VmHWM'):6.0f} "
                    f"MiB load {os.getloadavg()[0]:.1f} {stage[0]}\n"
                )
            time.sleep(30)

    threading.Thread(target=loop, daemon=True).start()


def _staged(func: Any, what: str, stage: list[str]) -> Any:
    def staged(*args: Any, **kw: Any) -> Any:
        stage[0] = what
        return func(*args, **kw)

    return staged


def worker(atlas: Path, progress: Path | None = None) -> None:
    """In the child: render the map (force), timing the tile writing; one JSON line."""
    from geomap import render, tiles
    from geomap.atlas import Atlas
    from geomap.freshness import RenderOptions

    stage = ["digest, plan (layer read as an outline)"]
    if progress:
        watch_progress(progress, stage)
        for module, name, what in [
            (tiles, "_scan", "streaming the layer to the tiler's input"),
            (tiles, "_run_tiler", "tippecanoe"),
            (tiles, "write_search_index", "search index"),
            (render, "page_data_parts", "page"),
        ]:
            setattr(module, name, _staged(getattr(module, name), what, stage))

    spent: list[float] = []
    original = tiles.write_layer_tiles
    tiler_peak: list[float] = [0.0]
    run = subprocess.run

    def watched(args: Any, **kw: Any) -> Any:
        """subprocess.run, polling the tiler's own peak RSS (VmHWM): its ru_maxrss would
        count this process's resident set, which Linux carries across fork + exec."""
        if not str(args[0]).endswith("tippecanoe"):
            return run(args, **kw)
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
            while proc.poll() is None:
                try:
                    status = Path(f"/proc/{proc.pid}/status").read_text()
                    hwm = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
                    tiler_peak[0] = max(tiler_peak[0], int(hwm.split()[1]) / 1024)
                except (OSError, StopIteration):
                    pass
                time.sleep(0.05)
            err.seek(0)
            return subprocess.CompletedProcess(args, proc.returncode, "", err.read().decode())

    tiles.subprocess.run = watched  # type: ignore[assignment]

    def timed(*args: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            spent.append(time.perf_counter() - started)

    tiles.write_layer_tiles = timed  # type: ignore[assignment]
    started = time.perf_counter()
    render.render_map(Atlas(atlas), compare.MAP, RenderOptions(force=True))
    figures = {
        "render_s": time.perf_counter() - started,
        "tiles_s": sum(spent),
        "render_peak_rss_mib": compare._rss_mib("VmHWM"),
        "tiler_peak_rss_mib": tiler_peak[0],
        "tiler": tiles.tiler().name if tiles.tiler() else None,  # type: ignore[union-attr]
    }
    # The map's title edited and the map rendered again: the archive is taken from the
    # last render (same tiler input), not tiled again.
    spec_path = atlas / "maps" / f"{compare.MAP}.toml"
    spec = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    spec["title"] = f"{spec['title']}（修订）"
    spec_path.write_text(tomli_w.dumps(spec), encoding="utf-8")
    spent.clear()
    archive = atlas / "maps" / f"{compare.MAP}.tiles" / "layer0.pmtiles"
    before = archive.stat().st_ino
    started = time.perf_counter()
    render.render_map(Atlas(atlas), compare.MAP, RenderOptions())
    figures["rerender_title_s"] = time.perf_counter() - started
    figures["rerender_tiles_s"] = sum(spent)
    figures["rerender_archive_reused"] = archive.stat().st_ino == before
    print(json.dumps(figures))


def serve(atlas: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "geomap", "--atlas", str(atlas), "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=compare.ROOT,
        env={**os.environ, "PYTHONPATH": str(compare.ROOT)},
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    return proc, line[line.index("http://") :].split()[0]


DRAWN = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# Resolves once the tile layer has no tile still loading (or drawing).
TILES_DRAWN = """() => new Promise(resolve => {
  var t = geomap.layers.layer0.host.tiles;
  function done() { requestAnimationFrame(() => requestAnimationFrame(resolve)); }
  function loading() {
    return Object.values(t._tiles || {}).some(function (x) { return !x.loaded; });
  }
  if (!t._map) { done(); return; }
  if (!loading() && Object.keys(t._tiles).length) { done(); return; }
  t.once("load", done);
})"""


def centre(i: int, n: int) -> tuple[float, float]:
    """[lat, lon] of parcel i's centre (``compare.synthetic``'s grid): inside the parcel."""
    side = math.ceil(math.sqrt(n))
    kx = 1 / math.cos(math.radians(compare.Y0))
    lon = compare.X0 + ((i % side) - side / 2 + 0.5) * compare.CELL * kx
    lat = compare.Y0 + ((i // side) - side / 2 + 0.5) * compare.CELL
    return lat, lon


# Every visible tile drawn again from the tiles already read (no request, no decoding), one
# after another without protomaps-leaflet's stagger: milliseconds per tile.
REDRAW = """() => {
  var t = geomap.layers.layer0.host.tiles, keys = Object.keys(t._tiles), delay = t.tileDelay;
  t.tileDelay = 0;
  var started = performance.now();
  return Promise.all(keys.map(function (k) {
    var c = t._wrapCoords(t._keyToTileCoords(k));
    return t.renderTile(c, t._tiles[k].el, t._tileCoordsToKey(c));
  })).then(function () { t.tileDelay = delay; return [keys.length, performance.now() - started]; });
}"""

# Each tile's wait as the tile layer sees it: from the archive's source asked for the tile's
# bytes (pmtiles getBytes, on the range-joining source of ranges.js) until they are there,
# which holds the joining, the wait for a connection and the request. Directory reads
# (offsets below the header's tileDataOffset) are told apart afterwards.
TILE_WAITS = """() => {
  var s = geomap.layers.layer0.host.source.source, get = s.getBytes;
  window.__tileWaits = [];
  s.getBytes = function (offset, length, signal, etag) {
    var started = performance.now();
    return get.call(this, offset, length, signal, etag).then(function (got) {
      __tileWaits.push([performance.now() - started, offset]);
      return got;
    });
  };
  return geomap.layers.layer0.host.source.getHeader().then(h => h.tileDataOffset);
}"""

# Each HTTP request's Resource Timing (one request reads a joined run of a view's tiles):
# the duration (startTime -> responseEnd, which holds the wait for one of the browser's six
# connections to the server), its parts and size.
TIMINGS = """() => performance.getEntriesByType('resource')
  .filter(e => e.name.endsWith('.pmtiles'))
  .map(e => [e.duration, e.requestStart - e.startTime, e.responseStart - e.requestStart,
             e.responseEnd - e.responseStart, e.encodedBodySize])"""


def p95(values: list[float]) -> float | None:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)] if ordered else None


def tile_contents(archive: Path, zoom: int, sample: int = 40) -> dict[str, Any]:
    """Size (bytes as stored, gzip) and features of up to ``sample`` tiles of ``zoom``
    around the middle of the archive's tiles there."""
    import gzip

    import mapbox_vector_tile
    from pmtiles.reader import MmapSource, Reader, all_tiles

    with archive.open("rb") as fh:
        reader = Reader(MmapSource(fh))
        coords = sorted(c for c, _ in all_tiles(reader.get_bytes) if c[0] == zoom)
        middle = coords[len(coords) // 2 - sample // 2 : len(coords) // 2 + sample // 2]
        sizes, counts = [], []
        for z, x, y in middle:
            data = reader.get(z, x, y)
            sizes.append(len(data))
            layers = mapbox_vector_tile.decode(gzip.decompress(data))
            counts.append(sum(len(v["features"]) for v in layers.values()))
    return {
        "zoom": zoom,
        "tiles": len(coords),
        "bytes_median": statistics.median(sizes) if sizes else None,
        "features_median": statistics.median(counts) if counts else None,
        "features_max": max(counts, default=None),
    }


def heap_mb(page: Any) -> float:
    """The page's JS heap in use, MB."""
    used: float = page.evaluate("performance.memory.usedJSHeapSize") / 1e6
    return used


def open_map(browser: Any, url: str, **goto: Any) -> Any:
    """The benchmark map served at ``url`` in a new page (nothing fetched from elsewhere),
    once built."""
    page = browser.new_page(viewport=compare.VIEWPORT)
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(url) else route.abort(),
    )
    page.goto(url + f"{compare.MAP}.html", **goto)
    page.wait_for_function("window.geomap && window.geomap.ready === true", timeout=120_000)
    return page


def served_browser(atlas: Path, measure: Any, n: int) -> dict[str, Any]:
    """``measure(browser, url, n)`` with ``atlas`` served by ``geomap serve`` and a warmed-up
    headless Chromium."""
    proc, url = serve(atlas)
    try:
        with compare.chromium() as browser:
            compare.warm_up(browser)
            figures: dict[str, Any] = measure(browser, url, n)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return figures


def heap_kept_mb(page: Any) -> float:
    """The JS heap the page keeps once its search has ended (搜索中… gone) and garbage is
    collected (CDP HeapProfiler.collectGarbage): a streamed scan's pieces are garbage as
    soon as they are scanned, but V8 collects them when it likes."""
    page.wait_for_function(
        "!document.querySelector('.gm-search-pending')", timeout=600_000, polling=100
    )
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.collectGarbage")
    cdp.detach()
    return heap_mb(page)


def go(page: Any, i: int, n: int, zoom: int) -> float:
    """Seconds from setView to every visible tile drawn (two frames after)."""
    lat, lon = centre(i, n)
    started = time.perf_counter()
    page.evaluate(f"void geomap.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
    page.evaluate(TILES_DRAWN)
    return time.perf_counter() - started


def measure_browser(browser: Any, url: str, n: int) -> dict[str, Any]:
    started = time.perf_counter()
    page = open_map(browser, url, wait_until="commit")
    page.evaluate(DRAWN)
    first_view_s = time.perf_counter() - started
    first_zoom = page.evaluate("geomap.map.getZoom()")
    detail = page.evaluate("geomap.layers.layer0.data.tiles.minZoom")
    heap_first_mb = heap_mb(page)
    rng = random.Random(18)
    page.evaluate(
        "performance.clearResourceTimings(); performance.setResourceTimingBufferSize(100000)"
    )
    tile_data_offset = page.evaluate(TILE_WAITS)
    feature = rng.randrange(n)
    street_s = go(page, feature, n, STREET_ZOOM)
    lat, lon = centre(feature, n)
    hit = page.evaluate(f"geomap.layers.layer0.host.hitAt(L.latLng({lat}, {lon}))")
    views: dict[str, list[float]] = {str(z): [] for z in VIEW_ZOOMS}
    redraw: dict[str, float] = {}
    for k in range(DETAIL_VIEWS):
        zoom = VIEW_ZOOMS[k % len(VIEW_ZOOMS)]
        views[str(zoom)].append(go(page, rng.randrange(n), n, zoom))
        if zoom >= detail and str(zoom) not in redraw:
            count, ms = page.evaluate(REDRAW)
            redraw[str(zoom)] = ms / max(count, 1)
    timings = page.evaluate(TIMINGS)
    durations = [t[0] for t in timings]
    waits = [ms for ms, offset in page.evaluate("__tileWaits") if offset >= tile_data_offset]
    heap_browsed_mb = heap_mb(page)
    # The first search: a parcel's name typed until it is listed (the index fetched,
    # inflated and parsed, then the names scanned).
    target = rng.randrange(n)
    name = parcel_name(target)
    index_error = None
    started = time.perf_counter()
    try:
        page.fill(".gm-search input", name)
        page.wait_for_function(
            "n => [...document.querySelectorAll('.gm-search-results .gm-search-name')]"
            ".some(e => e.textContent === n)",
            arg=name,
            timeout=600_000,
        )
        first_search_s: float | None = time.perf_counter() - started
        heap_index_mb: float | None = heap_mb(page)
        heap_kept: float | None = heap_kept_mb(page)
    except Exception as exc:  # e.g. a tab out of memory on 10 M names: keep the rest
        first_search_s = heap_index_mb = heap_kept = None
        index_error = " ".join(str(exc).split())[:300]
    page.close()

    def part(k: int) -> dict[str, float | None]:
        values = [t[k] for t in timings]
        return {"median": statistics.median(values) if values else None, "p95": p95(values)}

    return {
        "first_view_s": first_view_s,
        "first_view_zoom": first_zoom,
        "detail_zoom": detail,
        "street_zoom_s": street_s,
        "street_hit_ok": hit == feature,
        "views_s": views,
        # Tiles read at zooms >= 14: each tile's wait for its bytes (TILE_WAITS).
        "tiles_read_z14plus": len(waits),
        "tile_ms_median": statistics.median(waits) if waits else None,
        "tile_ms_p95": p95(waits),
        # The HTTP requests that read them (joined runs of tiles, and directories).
        "http_requests_z14plus": len(durations),
        "http_ms_median": statistics.median(durations) if durations else None,
        "http_ms_p95": p95(durations),
        # startTime -> requestStart: waiting for a connection (six per server in HTTP/1.1);
        # requestStart -> responseStart: the server; responseStart -> responseEnd: the body.
        "http_ms_queued": part(1),
        "http_ms_server": part(2),
        "http_ms_body": part(3),
        "http_bytes_median": part(4)["median"],
        "redraw_ms_per_tile": redraw,
        "first_search_s": first_search_s,
        "heap_first_view_mb": heap_first_mb,
        "heap_browsed_mb": heap_browsed_mb,
        # Read as soon as the name is listed (a streamed scan may still be running) ...
        "heap_with_search_index_mb": heap_index_mb,
        # ... and once the search has ended and garbage is collected.
        "heap_kept_after_search_mb": heap_kept,
        "search_index_error": index_error,
    }


#: Parcels of the map whose search index ``--search-only`` replaces.
SEARCH_MAP_PARCELS = 2_000


def parcel_name(i: int) -> str:
    villages = compare.VILLAGES
    return f"{villages[i % len(villages)]}{i // len(villages) + 1}号地块"


def write_big_index(atlas: Path, n: int) -> dict[str, Any]:
    """Replace the rendered map's search index by one of ``n`` parcels (names and centres
    of ``compare.synthetic``'s grid) written by geomap's writer; the page told its header."""
    import re

    import numpy as np

    from geomap import tiles

    side = math.ceil(math.sqrt(n))
    kx = 1 / math.cos(math.radians(compare.Y0))
    i = np.arange(n)
    inside = np.stack(
        [
            compare.X0 + ((i % side) - side / 2 + 0.5) * compare.CELL * kx,
            compare.Y0 + ((i // side) - side / 2 + 0.5) * compare.CELL,
        ],
        axis=1,
    )
    del i
    villages = compare.VILLAGES

    def names(start: int, stop: int) -> list[str | None]:
        return [f"{villages[k % 10]}{k // 10 + 1}号地块" for k in range(start, stop)]

    assert len(villages) == 10
    folder = atlas / "maps" / f"{compare.MAP}.tiles"
    started = time.perf_counter()
    header = tiles.write_index(folder, "layer0", inside, names)
    written_s = time.perf_counter() - started
    html = atlas / "maps" / f"{compare.MAP}.html"
    text = html.read_text(encoding="utf-8")
    header["url"] = f"{compare.MAP}.tiles/layer0.search.txt.gz"
    header["points"] = f"{compare.MAP}.tiles/layer0.points.bin"
    text, k = re.subn(r'"search":\{[^{}]*\}', lambda _: '"search":' + json.dumps(header), text)
    assert k == 1, "the page's search header was not found"
    html.write_text(text, encoding="utf-8")
    return {
        "index_write_s": written_s,
        "index_gz_mb": (folder / "layer0.search.txt.gz").stat().st_size / 1e6,
        "points_mb": (folder / "layer0.points.bin").stat().st_size / 1e6,
        "index_text_mb": header["bytes"] / 1e6,
    }


def measure_search(browser: Any, url: str, n: int) -> dict[str, Any]:
    """Searches typed into the box until listed, each timed, the JS heap after each."""
    page = open_map(browser, url)
    page.evaluate(DRAWN)
    out: dict[str, Any] = {
        "streamed": page.evaluate("geomap.layers.layer0.host.searchStreamed()"),
        "heap_before_mb": heap_mb(page),
    }
    target = random.Random(18).randrange(n)
    for what, query, want in [
        ("first_search", parcel_name(target), parcel_name(target)),
        ("again", parcel_name(target), parcel_name(target)),
        ("last", parcel_name(n - 1), parcel_name(n - 1)),
        ("nowhere", "不存在的地块", None),
        ("many", "号地块", parcel_name(0)),
    ]:
        page.fill(".gm-search input", "")
        started = time.perf_counter()
        page.fill(".gm-search input", query)
        page.wait_for_function(
            "w => [...document.querySelectorAll('.gm-search-results li')].some(e => w === null"
            " ? e.textContent === '未找到' : e.querySelector('.gm-search-name') &&"
            " e.querySelector('.gm-search-name').textContent === w)",
            arg=want,
            timeout=600_000,
        )
        out[f"{what}_s"] = time.perf_counter() - started
        out[f"{what}_heap_mb"] = heap_mb(page)
        out[f"{what}_heap_kept_mb"] = heap_kept_mb(page)
    out["target"] = target
    page.close()
    return out


def search_only(size: int) -> dict[str, Any]:
    from geomap.atlas import Atlas
    from geomap.freshness import RenderOptions
    from geomap.render import render_map

    with tempfile.TemporaryDirectory(prefix="geomap-county-search-") as tmp:
        atlas = Path(tmp) / "atlas"
        write_tiled_atlas(atlas, SEARCH_MAP_PARCELS)
        render_map(Atlas(atlas), compare.MAP, RenderOptions(force=True))
        compare.log(f"{dt.datetime.now(dt.UTC):%H:%M:%S} writing an index of {size} names")
        python = write_big_index(atlas, size)
        compare.log(f"index written in {python['index_write_s']:.1f} s; searching")
        figures = served_browser(atlas, measure_search, size)
    return {"size": size, "load_average": os.getloadavg(), **python, **figures}


def results_path(stem: str) -> Path:
    """``benchmarks/results/<date>-<stem>.json``, or ``…-<stem>-2.json`` and on when that
    exists: a run never overwrites an earlier run's (committed) results."""
    base = f"{dt.date.today().isoformat()}-{stem}"
    path, k = compare.RESULTS_DIR / f"{base}.json", 2
    while path.exists():
        path, k = compare.RESULTS_DIR / f"{base}-{k}.json", k + 1
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--progress", type=Path, help="append the render's progress here")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--search-only", action="store_true", help="the search index alone")
    args = parser.parse_args(argv)
    if args.search_only:
        result = search_only(args.size)
        result["when"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        line = json.dumps(result)
        print(line)
        results_path(f"county-search-{args.size}").write_text(line + "\n", encoding="utf-8")
        return
    if args.worker:
        worker(args.worker, args.progress)
        return
    check_chunked_writer()
    with tempfile.TemporaryDirectory(prefix="geomap-county-") as tmp:
        atlas = Path(tmp) / "atlas"
        compare.log(f"{dt.datetime.now(dt.UTC):%H:%M:%S} writing {args.size} parcels")
        write_tiled_atlas(atlas, args.size)
        size_gb = (atlas / "layers" / f"{compare.LAYER}.geojson").stat().st_size / 1e9
        compare.log(f"{dt.datetime.now(dt.UTC):%H:%M:%S} layer {size_gb:.2f} GB; rendering")
        extra = ["--progress", str(args.progress)] if args.progress else []
        stdout, _, wall_s, _ = compare.run_child(
            [sys.executable, __file__, "--worker", str(atlas), *extra], args.timeout
        )
        python = json.loads(stdout.strip().splitlines()[-1])
        python["render_wall_s"] = wall_s
        folder = atlas / "maps" / f"{compare.MAP}.tiles"
        python["archive_mb"] = (folder / "layer0.pmtiles").stat().st_size / 1e6
        python["html_mb"] = (atlas / "maps" / f"{compare.MAP}.html").stat().st_size / 1e6
        python["layer_gb"] = size_gb
        python["search_index_mb"] = (folder / "layer0.search.txt.gz").stat().st_size / 1e6
        copies = list((atlas / "layers" / ".cache").glob("*.parquet"))
        python["copy_gb"] = copies[0].stat().st_size / 1e9 if copies else None
        python["tiles_at_zoom"] = [tile_contents(folder / "layer0.pmtiles", z) for z in (14, 15)]
        out = results_path(f"county-{args.size}")
        out.write_text(json.dumps({"size": args.size, **python}) + "\n", encoding="utf-8")
        compare.log(f"render {python['render_s']:.1f} s (tiles {python['tiles_s']:.1f} s)")
        figures = served_browser(atlas, measure_browser, args.size)
    result = {
        "size": args.size,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        **python,
        **figures,
    }
    line = json.dumps(result)
    print(line)
    out.write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
