"""geomap alone at sizes where explore() cannot produce a usable page (default 1,000,000).

Writes the same synthetic parcels as ``compare.py``, renders them with geomap in a child
process (its own peak RSS), opens the page in headless Chromium and reports: time from
navigation until every feature is drawn, the time for a hover tooltip to appear on one
parcel (after zooming to it), a zoom redraw, and the JS heap. Prints one JSON line.

    python benchmarks/million.py                 # 1,000,000 parcels, ~1.5 min
    python benchmarks/million.py --size 300000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare

HOVER_FEATURE = 12_345


def measure_page(browser: Any, html: Path, n: int) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.route("http*://**", lambda route: route.abort())
    started = time.perf_counter()
    page.goto(html.as_uri(), wait_until="commit", timeout=600_000)
    page.wait_for_function("window.geomap && window.geomap.ready === true", timeout=600_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    drawn_s = time.perf_counter() - started
    counted = page.evaluate("Object.values(geomap.layers).reduce((s, e) => s + e.count, 0)")
    if counted != n:
        raise RuntimeError(f"{counted} features drawn, expected {n}")
    f = min(HOVER_FEATURE, n - 1)
    page.evaluate(
        f"geomap.map.fitBounds(geomap.layers.layer0.host.boundsOf({f}),"
        " {animate: false, maxZoom: 17})"
    )
    page.wait_for_timeout(300)
    x, y = page.evaluate(f"geomap.pointOf('layer0', {f})")
    page.mouse.move(x - 3, y - 3)
    page.wait_for_timeout(60)
    started = time.perf_counter()
    page.mouse.move(x, y)
    page.wait_for_selector(".leaflet-tooltip .gm-tooltip", timeout=30_000)
    tooltip_s = time.perf_counter() - started
    started = time.perf_counter()
    page.evaluate(
        "() => new Promise(r => { geomap.map.setZoom(geomap.map.getZoom() - 1, {animate: false});"
        " requestAnimationFrame(() => requestAnimationFrame(r)); })"
    )
    redraw_ms = (time.perf_counter() - started) * 1000
    heap_mb = page.evaluate("performance.memory.usedJSHeapSize") / 1e6
    page.close()
    return {
        "browser_s": drawn_s,
        "tooltip_s": tooltip_s,
        "redraw_ms": redraw_ms,
        "heap_mb": heap_mb,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="geomap-million-") as tmp:
        work = Path(tmp)
        compare.log(f"writing {args.size} polygons")
        compare.write_atlas(work / "atlas", args.size)
        out = work / "geomap.html"
        compare.log("rendering with geomap")
        python = compare.measure_python("geomap", work / "atlas", out, args.timeout)
        compare.log(f"python {python['python_s']:.1f} s, peak RSS {python['rss_mib']:.0f} MiB")
        with compare.chromium() as browser:
            browser_figures = measure_page(browser, out, args.size)
    result = {"size": args.size, **python, **browser_figures}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
