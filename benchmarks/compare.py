"""geomap against ``GeoDataFrame.explore()`` on the same synthetic polygons, and the Xiping atlas.

Usage (from the repository root)::

    python benchmarks/compare.py --sizes 10000            # ~1 min
    python benchmarks/compare.py --sizes 100000 --repeat 1  # the headline run, ~5 min
    python benchmarks/compare.py --xiping                 # the shipped atlas: render + browser
    python benchmarks/compare.py --sizes 100000 --profile # + cProfile of geomap's render

For each size the script writes one GeoJSON layer of jittered polygons near Xiping
(119.48 E, 28.45 N; 6 attributes; seeded, so identical between runs) into a temporary atlas,
then measures both tools producing an HTML map of it (quantiles choropleth, k = 5, tooltip
with the 6 attributes, no basemap):

* python: wall time from reading the GeoJSON to the HTML file written, in a fresh
  subprocess per tool and run; imports happen before the clock starts (excluded). Peak RSS
  is that subprocess's ``ru_maxrss`` (from ``os.wait4``) and *does* include the imports.
* html: bytes of the written file.
* browser: headless Chromium (the flags of tests/conftest.py, 1280x800, every http(s)
  request aborted; the Leaflet files folium links on a CDN are served from geomap's vendored
  copies, as a browser cache would): ms from navigation start until every feature is on the
  map, plus two animation frames.
* redraw: ``map.setZoom(zoom + 1, {animate: false})`` until the page's pixels have changed
  and stopped changing (``settle.py``: DevTools screencast frames, the same rule for both
  tools); ``redraw_frames_ms`` is the old definition, until two animation frames later.
* heap: after load and a forced GC, CDP ``Runtime.getHeapUsage``: V8's used heap + Blink's
  (DOM, SVG) heap + ArrayBuffer backing stores (typed arrays live outside V8's heap, so
  ``usedJSHeapSize`` alone would miss geometry held in them).

Prints a Markdown table, then one JSON line per size (ratios geomap / explore and the raw
numbers), and saves everything to ``benchmarks/results/<date>-<sizes>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
CHROMIUM = os.environ.get("GEOMAP_CHROMIUM", "/usr/bin/chromium")
# The flags of tests/conftest.py (the smoke test checks they stay equal), plus precise memory.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXTRA_ARGS = ["--enable-precise-memory-info"]
VIEWPORT = {"width": 1280, "height": 800}

X0, Y0 = 119.48, 28.45  # Xiping
CELL = 0.0005  # degrees between polygon centres (~50 m)
VERTICES = 10
SEED = 20221
LAYER, MAP = "parcels", "bench"
ATTRS = ["code", "name", "value", "households", "area_mu", "status"]
VILLAGES = ["西屏", "六村", "九村", "南门", "水南", "下圳", "大石", "靖居", "竹源", "城北"]
STATUS = ["计划", "在建", "完工"]
TOOLS = ("explore", "geomap")
RATIOS = {
    "html_ratio": "html_bytes",
    "browser_ratio": "browser_s",
    "redraw_ratio": "redraw_ms",
    "python_ratio": "python_s",
    "rss_ratio": "rss_mib",
    "heap_ratio": "heap_mb",
}
# explore() needs matplotlib, which geomap does not. It lives in a venv of its own (sharing
# everything else with this interpreter), so geomap is measured without it: mapclassify
# imports matplotlib when it is installed, which would slow geomap's start-up too.
EXPLORE_VENV = Path(
    os.environ.get("GEOMAP_BENCH_VENV", Path.home() / ".cache" / "geomap-bench" / "explore-venv")
)
TARGET_COLD_S, TARGET_UNCHANGED_S = 10.0, 1.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Synthetic data and the temporary atlas


def synthetic(n: int, seed: int = SEED) -> Any:
    """``n`` jittered polygons on a square grid centred on Xiping, with 6 attributes."""
    import geopandas as gpd
    import numpy as np
    import shapely

    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n))
    index = np.arange(n)
    kx = 1 / math.cos(math.radians(Y0))  # roughly square on the ground
    cx = X0 + ((index % side) - side / 2 + 0.5) * CELL * kx
    cy = Y0 + ((index // side) - side / 2 + 0.5) * CELL
    angles = np.linspace(0, 2 * np.pi, VERTICES, endpoint=False)
    angles = angles + rng.uniform(0, 2 * np.pi / VERTICES, (n, 1))
    radius = CELL * 0.45 * rng.uniform(0.55, 1.0, (n, VERTICES))
    xs = cx[:, None] + radius * np.cos(angles) * kx
    ys = cy[:, None] + radius * np.sin(angles)
    polygons = shapely.polygons(np.stack([xs, ys], axis=-1))
    return gpd.GeoDataFrame(
        {
            "code": [f"P{i:06d}" for i in index],
            "name": [f"{VILLAGES[i % len(VILLAGES)]}{i // len(VILLAGES) + 1}号地块" for i in index],
            "value": np.round(rng.lognormal(4.0, 1.0, n), 2),
            "households": rng.integers(0, 400, n),
            "area_mu": np.round(rng.uniform(1, 300, n), 1),
            "status": rng.choice(STATUS, n),
        },
        geometry=polygons,
        crs="EPSG:4326",
    )


LAYER_META: dict[str, Any] = {
    "title": "地块",
    "kind": "parcel",
    "key": "code",
    "name_field": "name",
    "source": "合成数据 (benchmarks/compare.py)",
    "illustrative": True,
    "fields": {
        "code": {"label": "编码", "private": False},
        "name": {"label": "名称", "private": False},
        "value": {"label": "收入", "unit": "万元", "private": False},
        "households": {"label": "户数", "unit": "户", "private": False},
        "area_mu": {"label": "面积", "unit": "亩", "private": False},
        "status": {"label": "状态", "private": False},
    },
}
MAP_SPEC: dict[str, Any] = {
    "title": "基准测试",
    "basemap": "none",
    "layers": [
        {
            "layer": LAYER,
            "tooltip": ATTRS,
            # explore() has neither labels nor popups: keep the two maps doing the same work.
            "labels": False,
            "popup": False,
            # One page at every size (from 300,000 features geomap would write vector tiles,
            # which benchmarks/county.py measures).
            "tiles": False,
            "style": {"type": "choropleth", "column": "value", "scheme": "quantiles", "k": 5},
        }
    ],
}


def write_atlas(root: Path, n: int) -> Path:
    """A one-layer, one-map atlas of ``n`` synthetic polygons; returns the layer's path."""
    import tomli_w

    from geomap.geojson_io import dumps_layer

    for sub in ("layers", "data", "maps"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    layer = root / "layers" / f"{LAYER}.geojson"
    layer.write_bytes(dumps_layer(synthetic(n)))
    (root / "layers" / f"{LAYER}.toml").write_text(tomli_w.dumps(LAYER_META), encoding="utf-8")
    (root / "maps" / f"{MAP}.toml").write_text(tomli_w.dumps(MAP_SPEC), encoding="utf-8")
    return layer


# ---------------------------------------------------------------------------------------
# The child process: one tool producing one HTML file


def _import_explore() -> None:
    import branca  # noqa: F401
    import folium  # noqa: F401
    import geopandas  # noqa: F401
    import mapclassify  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import pyogrio  # noqa: F401


def _import_geomap() -> None:
    import mapclassify  # noqa: F401  (geomap imports it lazily, on the first choropleth)

    import geomap.render  # noqa: F401


def _run_explore(atlas: Path, out: Path) -> None:
    import geopandas as gpd

    gdf = gpd.read_file(atlas / "layers" / f"{LAYER}.geojson")
    fmap = gdf.explore(column="value", scheme="quantiles", k=5, tooltip=ATTRS, tiles=None)
    fmap.save(str(out))


def _run_geomap(atlas: Path, out: Path) -> None:
    from geomap.atlas import Atlas
    from geomap.render import RenderOptions, render_map

    result = render_map(Atlas(atlas), MAP, RenderOptions(force=True))
    shutil.move(result.path, out)


def _rss_mib(field: str = "VmRSS") -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(tool: str, atlas: Path, out: Path, profile: Path | None) -> None:
    """Runs in the child: import, then time ``tool`` writing ``out``; prints one JSON line."""
    started = time.perf_counter()
    (_import_explore if tool == "explore" else _import_geomap)()
    import_s = time.perf_counter() - started
    rss_imported = _rss_mib()
    run = _run_explore if tool == "explore" else _run_geomap
    started = time.perf_counter()
    if profile:
        import cProfile

        cProfile.runctx(
            "run(atlas, out)", globals(), {"run": run, "atlas": atlas, "out": out}, str(profile)
        )
    else:
        run(atlas, out)
    seconds = time.perf_counter() - started
    # The child's own peak (VmHWM): wait4's ru_maxrss would also count the parent's resident
    # set, which Linux carries into a child across fork + exec.
    print(
        json.dumps(
            {
                "python_s": seconds,
                "import_s": import_s,
                "rss_imported_mib": rss_imported,
                "rss_peak_mib": _rss_mib("VmHWM"),
            }
        )
    )


def run_child(args: list[str], timeout: float) -> tuple[str, str, float, float]:
    """Run ``args``; returns stdout, stderr, wall seconds and the child's peak RSS (MiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, cwd=ROOT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{args[1:4]} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return stdout, stderr, wall, usage.ru_maxrss / 1024


def explore_python() -> str:
    """An interpreter with matplotlib for explore(): this one if it has it, else the venv
    (created on first use with ``pip install matplotlib``)."""
    if importlib.util.find_spec("matplotlib"):
        return sys.executable
    python = EXPLORE_VENV / "bin" / "python"
    if not python.is_file():
        log(f"creating {EXPLORE_VENV} (matplotlib for explore(), kept out of geomap's env)")
        subprocess.run(
            [sys.executable, "-m", "venv", "--system-site-packages", str(EXPLORE_VENV)], check=True
        )
        subprocess.run([str(python), "-m", "pip", "install", "-q", "matplotlib"], check=True)
    return str(python)


def measure_python(tool: str, atlas: Path, out: Path, timeout: float) -> dict[str, Any]:
    python = explore_python() if tool == "explore" else sys.executable
    args = [python, __file__, "--worker", tool, "--atlas", str(atlas), "--out", str(out)]
    stdout, _, wall, rss = run_child(args, timeout)
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result.update(
        rss_mib=result["rss_peak_mib"],
        rss_wait4_mib=rss,
        process_s=wall,
        html_bytes=out.stat().st_size,
    )
    return result


# ---------------------------------------------------------------------------------------
# The browser

# Marks the moment every feature is on the map (then two frames later: drawn). TOOL and
# EXPECTED are filled in per page. For folium, the GeoJSON layer is the window variable
# geo_json_<id> and the map map_<id>; for geomap, window.geomap once ready.
PROBE = """
(() => {
  const TOOL = %(tool)s, EXPECTED = %(expected)d;
  const bench = window.__bench = {};
  function folium() {
    const keys = Object.keys(window);
    const mapKey = keys.find((k) => /^map_[0-9a-f]+$/.test(k) && window[k]);
    const geoKey = keys.find((k) => /^geo_json_[0-9a-f]+$/.test(k) && window[k] &&
                                    typeof window[k].getLayers === "function");
    if (!mapKey || !geoKey || !window[mapKey].hasLayer(window[geoKey])) return null;
    const count = window[geoKey].getLayers().length;
    return count >= EXPECTED ? { map: window[mapKey], count: count } : null;
  }
  function geomap() {
    const g = window.geomap;
    if (!g || g.ready !== true) return null;
    let count = 0;
    bench.layers = {};
    for (const id in g.layers) {
      count += g.layers[id].count;
      bench.layers[g.layers[id].data.layer] = g.layers[id].count;
    }
    return { map: g.map, count: count };
  }
  function poll() {
    const found = TOOL === "explore" ? folium() : geomap();
    if (!found) { setTimeout(poll, 5); return; }
    bench.ready = performance.now();
    bench.count = found.count;
    bench.map = found.map;
    requestAnimationFrame(() => requestAnimationFrame(() => { bench.drawn = performance.now(); }));
  }
  poll();
})();
"""

# A zoom in by one level (arg: +1) or out (-1), timed by settle.py.
ZOOM = "window.__bench.map.setZoom(window.__bench.map.getZoom() + arg, {animate: false})"

CDN_FILES = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/leaflet.css",
}


class Router:
    """Aborts every http(s) request, except folium's Leaflet, served from geomap's copy."""

    def __init__(self) -> None:
        self.aborted: list[str] = []
        self.served: list[str] = []

    def __call__(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        elif url in CDN_FILES:
            from geomap import assets

            self.served.append(url)
            kind = "application/javascript" if url.endswith(".js") else "text/css"
            route.fulfill(status=200, content_type=kind, body=assets.read(CDN_FILES[url]))
        else:
            self.aborted.append(url)
            route.abort()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + EXTRA_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def warm_up(browser: Any) -> None:
    """One throw-away page with Leaflet, so the first measured page is not the browser's first."""
    from geomap import assets

    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_content(
            f"<div id=m style='height:400px'></div><script>{assets.read('leaflet/leaflet.js')}"
            "</script><script>L.map('m').setView([28.45, 119.48], 13)</script>"
        )
        page.wait_for_timeout(200)
    finally:
        context.close()


HEAP_PARTS = ("usedSize", "embedderHeapUsedSize", "backingStorageSize")


def _metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def measure_browser(
    browser: Any, html: Path, tool: str, expected: int, timeout: float
) -> dict[str, Any]:
    """Load ``html`` in a fresh context; time load-to-drawn, heap and a zoom-in redraw."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(timeout * 1000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)[:200]))
        router = Router()
        page.route("**/*", router)
        page.add_init_script(PROBE % {"tool": json.dumps(tool), "expected": expected})
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(html.as_uri(), wait_until="commit")
        page.wait_for_function("window.__bench && window.__bench.drawn !== undefined", polling=200)
        bench = page.evaluate("({...__bench, map: undefined})")
        loaded = _metrics(cdp)
        cdp.send("HeapProfiler.collectGarbage")
        heap = cdp.send("Runtime.getHeapUsage")
        page.wait_for_timeout(300)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import settle

        # Zoom in by one level: the old definition (until two animation frames later), back
        # out, then the new one (until the pixels changed and stopped changing).
        redraw_frames_ms = settle.frames_ms(page, ZOOM, 1)
        settle.frames_ms(page, ZOOM, -1)
        screen = settle.Screen(context, page)
        settled = screen.settle(ZOOM, 1, timeout_s=timeout)
        screen.close()
        redraw_ms = settled["ms"]
        return {
            "browser_s": bench["drawn"] / 1000,
            "ready_s": bench["ready"] / 1000,
            "count": bench["count"],
            "layers": bench.get("layers"),
            "script_s": loaded.get("ScriptDuration"),
            "task_s": loaded.get("TaskDuration"),
            # JS objects + DOM (Blink's heap: SVG paths live there) + ArrayBuffer contents
            # (typed arrays are outside V8's heap): what the page holds after a GC.
            "heap_mb": sum(heap[k] for k in HEAP_PARTS) / 1e6,
            "heap_js_mb": heap["usedSize"] / 1e6,
            "heap_dom_mb": heap["embedderHeapUsedSize"] / 1e6,
            "heap_buffers_mb": heap["backingStorageSize"] / 1e6,
            "heap_js_before_gc_mb": loaded["JSHeapUsedSize"] / 1e6,
            "redraw_ms": redraw_ms,
            "redraw_frames_ms": redraw_frames_ms,
            "redraw_frames_seen": settled["frames"],
            "page_errors": errors,
            "aborted_requests": len(router.aborted),
        }
    finally:
        context.close()


# ---------------------------------------------------------------------------------------
# One size: both tools, python then browser


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per key, the median over runs of numeric values (the first run's value otherwise)."""
    out: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [r[key] for r in runs]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        out[key] = statistics.median(values) if numeric else first
    if len(runs) > 1:
        out["runs"] = len(runs)
        for key in ("python_s", "browser_s", "redraw_ms"):
            if key in runs[0]:
                out[f"{key}_all"] = [round(r[key], 4) for r in runs]
    return out


def bench_size(n: int, repeat: int, timeout: float, work: Path, profile: bool) -> dict[str, Any]:
    atlas = work / f"atlas-{n}"
    log(f"[{n}] writing {n} polygons to {atlas}")
    layer = write_atlas(atlas, n)
    raw: dict[str, list[dict[str, Any]]] = {tool: [] for tool in TOOLS}
    with chromium() as browser:
        warm_up(browser)
        for i in range(repeat):
            # Alternate which tool goes first, so neither always gets the colder machine.
            for tool in TOOLS if i % 2 == 0 else TOOLS[::-1]:
                html = work / f"{tool}-{n}.html"
                py = measure_python(tool, atlas, html, timeout)
                log(
                    f"[{n}] {tool} run {i + 1}/{repeat}: python {py['python_s']:.2f} s, "
                    f"{py['rss_mib']:.0f} MiB, {py['html_bytes'] / 1e6:.1f} MB"
                )
                br = measure_browser(browser, html, tool, n, timeout)
                log(
                    f"[{n}] {tool} run {i + 1}/{repeat}: browser {br['browser_s']:.2f} s, "
                    f"redraw {br['redraw_ms']} ms, heap {br['heap_mb']:.0f} MB"
                )
                if br["count"] != n:
                    log(f"[{n}] WARNING: {tool} drew {br['count']} features, expected {n}")
                raw[tool].append(py | br)
        version = browser.version
    result: dict[str, Any] = {"size": n}
    medians = {tool: _median(raw[tool]) for tool in TOOLS}
    for name, key in RATIOS.items():
        result[name] = round(medians["geomap"][key] / medians["explore"][key], 4)
    result.update(medians)
    result["layer_bytes"] = layer.stat().st_size
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["chromium"] = version
    if profile:
        result["profile"] = profile_geomap(atlas, work, n, timeout)
    return result


def profile_geomap(atlas: Path, work: Path, n: int, timeout: float) -> dict[str, Any]:
    """geomap's render under cProfile (a separate run: profiling slows it down)."""
    import pstats

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    prof = RESULTS_DIR / f"{dt.date.today().isoformat()}-{n}-geomap.prof"
    html = work / f"profile-{n}.html"
    args = [
        sys.executable,
        __file__,
        "--worker",
        "geomap",
        "--atlas",
        str(atlas),
        "--out",
        str(html),
        "--profile-out",
        str(prof),
    ]
    run_child(args, timeout)
    stats = pstats.Stats(str(prof))
    rows = []
    for (file, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{Path(file).name}:{line}({func})",
                "calls": ncalls,
                "tottime": round(tottime, 3),
                "cumtime": round(cumtime, 3),
            }
        )
    log(f"[{n}] cProfile of geomap's render saved to {prof}; top by own time:")
    top = sorted(rows, key=lambda r: -r["tottime"])[:20]
    for row in top:
        log(f"  {row['tottime']:8.3f} s own {row['cumtime']:8.3f} s cum  {row['function']}")
    return {
        "file": str(prof.relative_to(ROOT)),
        "top_tottime": top,
        "top_cumtime": sorted(rows, key=lambda r: -r["cumtime"])[:30],
    }


# ---------------------------------------------------------------------------------------
# The shipped Xiping atlas


def copy_atlas(dest: Path) -> Path:
    """The repository's atlas (layers, tables, map specs; no rendered HTML) in ``dest``."""
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "layers", dest / "layers", ignore=shutil.ignore_patterns(".history"))
    shutil.copytree(ROOT / "data", dest / "data")
    (dest / "maps").mkdir()
    for spec in (ROOT / "maps").glob("*.toml"):
        shutil.copy2(spec, dest / "maps" / spec.name)
    if (ROOT / "atlas.toml").is_file():
        shutil.copy2(ROOT / "atlas.toml", dest / "atlas.toml")
    return dest


def geomap_command() -> list[str]:
    """The geomap console script next to this interpreter (not a pyenv shim)."""
    script = Path(sys.executable).parent / "geomap"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from geomap.cli.main import main; main()"]


MAP_LINE = re.compile(r"✓ (\S+) → \S+\s+(.*)$")


def timed_render(atlas: Path, force: bool, timeout: float) -> dict[str, Any]:
    args = [*geomap_command(), "--atlas", str(atlas), "render", *(["--force"] if force else [])]
    _, stderr, wall, rss = run_child(args, timeout)
    maps = {m.group(1): m.group(2) for m in map(MAP_LINE.search, stderr.splitlines()) if m}
    return {"wall_s": wall, "rss_mib": rss, "maps": maps}


def bench_xiping(repeat: int, timeout: float, work: Path) -> dict[str, Any]:
    cold, unchanged = [], []
    atlas = work / "xiping"
    for i in range(repeat):
        shutil.rmtree(atlas, ignore_errors=True)
        copy_atlas(atlas)
        cold.append(timed_render(atlas, True, timeout))
        unchanged.append(timed_render(atlas, False, timeout))
        log(
            f"[xiping] run {i + 1}/{repeat}: cold {cold[-1]['wall_s']:.2f} s, "
            f"unchanged {unchanged[-1]['wall_s']:.2f} s"
        )
    pages = {}
    with chromium() as browser:
        warm_up(browser)
        for html in sorted((atlas / "maps").glob("*.html")):
            if html.name == "index.html":
                continue
            runs = [measure_browser(browser, html, "geomap", 0, timeout) for _ in range(repeat)]
            pages[html.stem] = _median(runs) | {"html_bytes": html.stat().st_size}
            log(f"[xiping] {html.stem}: browser {pages[html.stem]['browser_s']:.2f} s")
        version = browser.version
    houses = pages.get("housing-safety", {})
    return {
        "cold_s": statistics.median(r["wall_s"] for r in cold),
        "unchanged_s": statistics.median(r["wall_s"] for r in unchanged),
        "cold_rss_mib": statistics.median(r["rss_mib"] for r in cold),
        "targets": {"cold_s": TARGET_COLD_S, "unchanged_s": TARGET_UNCHANGED_S},
        "houses_browser_s": houses.get("browser_s"),
        "houses_features": (houses.get("layers") or {}).get("houses"),
        "cold_runs": cold,
        "unchanged_runs": unchanged,
        "pages": pages,
        "chromium": version,
    }


# ---------------------------------------------------------------------------------------
# Output


def code_digest() -> str:
    """A digest of geomap's code as it is on disk (it may have uncommitted changes)."""
    h = hashlib.sha256()
    package = ROOT / "geomap"
    for path in sorted(p for p in package.rglob("*") if p.suffix in {".py", ".js", ".css"}):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def environment() -> dict[str, Any]:
    import folium
    import geopandas

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "geomap_dirty": bool(git("status", "--porcelain", "--", "geomap")),
        "geomap_tree_sha256": code_digest(),
        "python": platform.python_version(),
        "geopandas": geopandas.__version__,
        "folium": folium.__version__,
        "cpus": os.cpu_count(),
        "matplotlib_in_geomap_env": importlib.util.find_spec("matplotlib") is not None,
        # Other work on the machine skews absolute times more than the ratios.
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(value: Any, scale: float = 1, digits: int = 2) -> str:
    return "—" if value is None else f"{value / scale:.{digits}f}"


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| size | tool | python s | peak RSS MiB | HTML MB | browser s | redraw ms | heap MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        for tool in (*TOOLS, "ratio"):
            r = res[tool] if tool != "ratio" else {k: res[n] for n, k in RATIOS.items()}
            label = "geomap/explore" if tool == "ratio" else tool
            if tool == "ratio":
                cells = [
                    _fmt(r["python_s"], digits=3),
                    _fmt(r["rss_mib"], digits=3),
                    _fmt(r["html_bytes"], digits=3),
                    _fmt(r["browser_s"], digits=3),
                    _fmt(r["redraw_ms"], digits=3),
                    _fmt(r["heap_mb"], digits=3),
                ]
            else:
                cells = [
                    _fmt(r["python_s"]),
                    _fmt(r["rss_mib"], digits=0),
                    _fmt(r["html_bytes"], 1e6, 1),
                    _fmt(r["browser_s"]),
                    _fmt(r["redraw_ms"], digits=0),
                    _fmt(r["heap_mb"], digits=0),
                ]
            lines.append(f"| {res['size']} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def xiping_table(res: dict[str, Any]) -> str:
    lines = [
        f"cold `geomap render --force`: {res['cold_s']:.2f} s (target ≤ {TARGET_COLD_S:g} s), "
        f"peak RSS {res['cold_rss_mib']:.0f} MiB",
        f"unchanged `geomap render`: {res['unchanged_s']:.2f} s (target ≤ {TARGET_UNCHANGED_S:g} s)",
        f"house points ({res['houses_features']} drawn) load-to-drawn: "
        f"{_fmt(res['houses_browser_s'])} s",
        "",
        "| map | HTML MB | features | browser s | redraw ms | heap MB | cold render |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    cold_maps = res["cold_runs"][0]["maps"]
    for name, p in res["pages"].items():
        lines.append(
            f"| {name} | {p['html_bytes'] / 1e6:.2f} | {p['count']} | {p['browser_s']:.2f} | "
            f"{p['redraw_ms']:.0f} | {p['heap_mb']:.0f} | {cold_maps.get(name, '?')} |"
        )
    return "\n".join(lines)


def save(payload: dict[str, Any], tag: str, results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{dt.date.today().isoformat()}-{tag}.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def json_line(res: dict[str, Any]) -> str:
    keep = ["size", *RATIOS]
    return json.dumps({k: res[k] for k in keep} | {t: res[t] for t in TOOLS}, ensure_ascii=False)


# ---------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", help="comma-separated feature counts, e.g. 10000,100000")
    p.add_argument("--xiping", action="store_true", help="time the shipped Xiping atlas")
    p.add_argument(
        "--repeat",
        type=int,
        help="runs per measurement, median reported (default 3, or 1 when a size is above 20000)",
    )
    p.add_argument("--timeout", type=float, default=900, help="seconds per step (default 900)")
    p.add_argument("--profile", action="store_true", help="also cProfile geomap's render")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    p.add_argument("--atlas", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.worker and not args.sizes and not args.xiping:
        p.error("give --sizes N[,N…] and/or --xiping")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # This checkout's geomap, in the worker too (else the child would import whichever
    # geomap is installed, and a benchmark run from another worktree measure that).
    sys.path.insert(0, str(ROOT))
    if args.worker:
        worker(args.worker, args.atlas, args.out, args.profile_out)
        return
    env = environment()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else []
    repeat = args.repeat or (1 if any(n > 20000 for n in sizes) else 3)
    with tempfile.TemporaryDirectory(prefix="geomap-bench-") as tmp:
        work = Path(tmp)
        if sizes:
            results = [bench_size(n, repeat, args.timeout, work, args.profile) for n in sizes]
            tag = "-".join(map(str, sizes))
            path = save({"env": env, "repeat": repeat, "results": results}, tag, args.results_dir)
            print(table(results))
            print()
            for res in results:
                print(json_line(res))
            log(f"saved {path}")
        if args.xiping:
            xi = bench_xiping(args.repeat or 3, args.timeout, work)
            path = save({"env": env, "xiping": xi}, "xiping", args.results_dir)
            print(xiping_table(xi))
            print(json.dumps({k: xi[k] for k in ("cold_s", "unchanged_s", "houses_browser_s")}))
            log(f"saved {path}")


if __name__ == "__main__":
    main()
