"""County scale (issue 18): a tiled layer of synthetic parcels, rendered, served, opened.

Writes ``--size`` synthetic parcels (the 10-vertex polygons of ``compare.py``, about 50 m
apart) as one layer with ``tiles = true``, then measures:

* ``geomap render`` in a child process: wall time, the time spent writing the tiles
  (``geomap.tiles.write_layer_tiles``), the child's peak RSS and the tiler's (tippecanoe's)
  peak RSS, the archive's size and its zooms;
* ``geomap serve`` (a child) and headless Chromium on the page: first view drawn (from
  navigation until the map is built and two frames are painted), a street-level zoom
  (``setView`` to a parcel at zoom 17 until every visible tile is drawn, then the parcel
  hit-tested there), eight more views at zooms 14 and 16, the duration of each tile request
  (Resource Timing: the archive read in HTTP Range requests) at zooms >= 14, the JS heap
  at the first view and after browsing, and the search index's load time and heap.

Prints one JSON line and writes it to ``benchmarks/results/<date>-county-<size>.json``.

    python benchmarks/county.py                  # 1,000,000 parcels
    python benchmarks/county.py --size 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare
import tomli_w

STREET_ZOOM = 17
DETAIL_VIEWS = 8  # street-level views visited for the tile timings (zooms 14 and 16)


def write_tiled_atlas(root: Path, n: int) -> None:
    compare.write_atlas(root, n)
    spec = dict(compare.MAP_SPEC)
    spec["layers"] = [{**compare.MAP_SPEC["layers"][0], "tiles": True, "popup": True}]
    assert spec["layers"][0]["tiles"] is True
    (root / "maps" / f"{compare.MAP}.toml").write_text(tomli_w.dumps(spec), encoding="utf-8")


def worker(atlas: Path) -> None:
    """In the child: render the map (force), timing the tile writing; one JSON line."""
    from geomap import render, tiles
    from geomap.atlas import Atlas
    from geomap.freshness import RenderOptions

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
    print(
        json.dumps(
            {
                "render_s": time.perf_counter() - started,
                "tiles_s": sum(spent),
                "render_peak_rss_mib": compare._rss_mib("VmHWM"),
                "tiler_peak_rss_mib": tiler_peak[0],
                "tiler": tiles.tiler().name if tiles.tiler() else None,  # type: ignore[union-attr]
            }
        )
    )


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


def go(page: Any, i: int, n: int, zoom: int) -> float:
    """Seconds from setView to every visible tile drawn (two frames after)."""
    lat, lon = centre(i, n)
    started = time.perf_counter()
    page.evaluate(f"void geomap.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
    page.evaluate(TILES_DRAWN)
    return time.perf_counter() - started


def measure_browser(browser: Any, url: str, n: int) -> dict[str, Any]:
    page = browser.new_page(viewport=compare.VIEWPORT)
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(url) else route.abort(),
    )
    started = time.perf_counter()
    page.goto(url + f"{compare.MAP}.html", wait_until="commit")
    page.wait_for_function("window.geomap && window.geomap.ready === true", timeout=120_000)
    page.evaluate(DRAWN)
    first_view_s = time.perf_counter() - started
    first_zoom = page.evaluate("geomap.map.getZoom()")
    heap_first_mb = page.evaluate("performance.memory.usedJSHeapSize") / 1e6
    rng = random.Random(18)
    page.evaluate(
        "performance.clearResourceTimings(); performance.setResourceTimingBufferSize(100000)"
    )
    feature = rng.randrange(n)
    street_s = go(page, feature, n, STREET_ZOOM)
    lat, lon = centre(feature, n)
    hit = page.evaluate(f"geomap.layers.layer0.host.hitAt(L.latLng({lat}, {lon}))")
    views = [go(page, rng.randrange(n), n, 14 + 2 * (k % 2)) for k in range(DETAIL_VIEWS)]
    durations = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.name.endsWith('.pmtiles'))"
        ".map(e => e.duration)"
    )
    heap_browsed_mb = page.evaluate("performance.memory.usedJSHeapSize") / 1e6
    started = time.perf_counter()
    page.evaluate("new Promise(r => geomap.layers.layer0.host.searchNames(r))")
    index_s = time.perf_counter() - started
    heap_index_mb = page.evaluate("performance.memory.usedJSHeapSize") / 1e6
    page.close()
    durations.sort()
    p95 = durations[max(0, round(0.95 * len(durations)) - 1)] if durations else None
    return {
        "first_view_s": first_view_s,
        "first_view_zoom": first_zoom,
        "street_zoom_s": street_s,
        "street_hit_ok": hit == feature,
        "views_z14_z16_s": views,
        "tile_requests_z14plus": len(durations),
        "tile_ms_median": statistics.median(durations) if durations else None,
        "tile_ms_p95": p95,
        "heap_first_view_mb": heap_first_mb,
        "heap_browsed_mb": heap_browsed_mb,
        "search_index_s": index_s,
        "heap_with_search_index_mb": heap_index_mb,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return
    with tempfile.TemporaryDirectory(prefix="geomap-county-") as tmp:
        atlas = Path(tmp) / "atlas"
        compare.log(f"writing {args.size} parcels")
        write_tiled_atlas(atlas, args.size)
        compare.log("rendering (tiles) in a child process")
        stdout, _, wall_s, _ = compare.run_child(
            [sys.executable, __file__, "--worker", str(atlas)], args.timeout
        )
        python = json.loads(stdout.strip().splitlines()[-1])
        python["render_wall_s"] = wall_s
        folder = atlas / "maps" / f"{compare.MAP}.tiles"
        python["archive_mb"] = (folder / "layer0.pmtiles").stat().st_size / 1e6
        python["html_mb"] = (atlas / "maps" / f"{compare.MAP}.html").stat().st_size / 1e6
        compare.log(f"render {python['render_s']:.1f} s (tiles {python['tiles_s']:.1f} s)")
        proc, url = serve(atlas)
        try:
            with compare.chromium() as browser:
                compare.warm_up(browser)
                figures = measure_browser(browser, url, args.size)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    result = {
        "size": args.size,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        **python,
        **figures,
    }
    line = json.dumps(result)
    print(line)
    out = compare.RESULTS_DIR / f"{dt.date.today().isoformat()}-county-{args.size}.json"
    out.write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
