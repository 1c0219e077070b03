"""geomap alone at sizes where explore() cannot produce a usable page (default 1,000,000).

Writes the same synthetic parcels as ``compare.py``, renders them with geomap in a child
process (its own peak RSS), opens the page in headless Chromium and reports: time from
navigation until the page is ready, until it is interactive (a hover at a parcel's interior
at the opening view shows that parcel's name and value), and until drawn; the JS heap
(after a GC, typed arrays included) and the page size; the zoom redraw at every zoom from
the opening view six levels in and back out, timed until the pixels have changed and
stopped changing (``settle.py``; ``redraw_ms`` is the slowest of them); the same zoom
with the old definition (two animation frames, at the deep zoom the README's 83 ms was
measured at, and back out to the opening view); a hover tooltip after zooming to one
parcel. Prints one JSON line.

    python benchmarks/million.py                 # 1,000,000 parcels, ~1.5 min
    python benchmarks/million.py --size 300000
    python benchmarks/million.py --render-only   # geomap's render alone (no Chromium)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # this checkout's geomap

import compare
import settle
import tomli_w

HOVER_FEATURE = 12_345
# How many zoom levels in from the opening view the redraw is timed (then back out).
ZOOM_STEPS = 6
ZOOM_BODY = "geomap.map.setZoom(arg, {animate: false})"


def _heap(cdp: Any) -> dict[str, float]:
    cdp.send("HeapProfiler.collectGarbage")
    heap = cdp.send("Runtime.getHeapUsage")
    return {
        # V8 + Blink + ArrayBuffer contents, as compare.py (typed arrays live outside V8).
        "heap_mb": sum(heap[k] for k in compare.HEAP_PARTS) / 1e6,
        "heap_js_mb": heap["usedSize"] / 1e6,
        "heap_buffers_mb": heap["backingStorageSize"] / 1e6,
    }


def measure_page(browser: Any, html: Path, n: int) -> dict[str, Any]:
    context = browser.new_context(viewport=compare.VIEWPORT)
    page = context.new_page()
    page.route("http*://**", lambda route: route.abort())
    f = min(HOVER_FEATURE, n - 1)
    started = time.perf_counter()
    page.goto(html.as_uri(), wait_until="commit", timeout=600_000)
    page.wait_for_function(
        "window.geomap && window.geomap.ready === true", timeout=600_000, polling=20
    )
    ready_s = time.perf_counter() - started
    # Interactive: a hover at a parcel's interior (at the opening view) shows a tooltip with
    # the name and value of the parcel the page's hit test finds there.
    # (At the opening view a parcel is about a pixel: the first parcel from f on whose
    # anchor's whole pixel lies inside a parcel.)
    x, y = page.evaluate(
        """f => { const m = geomap.map, host = geomap.layers.layer0.host;
          const r = m.getContainer().getBoundingClientRect();
          for (;; f++) {
            const [x, y] = geomap.pointOf('layer0', f).map(Math.round);
            if (host.hitAt(m.containerPointToLatLng([x - r.left, y - r.top])) >= 0) return [x, y];
          } }""",
        f,
    )
    page.mouse.move(x - 2, y - 2)
    page.mouse.move(x, y)
    page.wait_for_selector(".leaflet-tooltip .gm-tooltip", timeout=60_000)
    interactive_s = time.perf_counter() - started
    tip = page.locator(".leaflet-tooltip .gm-tooltip").inner_text()
    hit = page.evaluate(
        """([x, y]) => { const r = geomap.map.getContainer().getBoundingClientRect();
          const ll = geomap.map.containerPointToLatLng([x - r.left, y - r.top]);
          return geomap.layers.layer0.host.hitAt(ll); }""",
        [x, y],
    )
    want = page.evaluate(
        "i => { const d = geomap.layers.layer0.data; return d.values[d.name][i]; }", hit
    )
    if hit < 0 or str(want) not in tip:
        raise RuntimeError(f"hover tooltip {tip!r} does not name feature {hit} ({want!r})")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    drawn_s = time.perf_counter() - started
    counted = page.evaluate("Object.values(geomap.layers).reduce((s, e) => s + e.count, 0)")
    if counted != n:
        raise RuntimeError(f"{counted} features drawn, expected {n}")
    page.mouse.move(1, 1)
    cdp = context.new_cdp_session(page)
    out: dict[str, Any] = {
        "ready_s": ready_s,
        "interactive_s": interactive_s,
        "browser_s": drawn_s,
        **_heap(cdp),
    }
    # Zoom redraw, new definition (settle.py: until the pixels changed and stopped
    # changing), from the opening view in and back out to it: every zoom it passes.
    screen = settle.Screen(context, page)
    z0 = page.evaluate("geomap.map.getZoom()")
    redraws: dict[str, Any] = {}
    zooms = [z0 + k for k in range(1, ZOOM_STEPS + 1)] + [z0 + ZOOM_STEPS - 1, z0]
    for z in zooms:
        before = page.evaluate("geomap.map.getZoom()")
        got = screen.settle(ZOOM_BODY, z, timeout_s=120)
        got["draw"] = page.evaluate("geomap.layers.layer0.host.drawStats")
        redraws[f"{before}->{z}"] = got
    screen.close()
    settled = [r["ms"] for r in redraws.values() if r["ms"] is not None]
    out["redraw_ms"] = max(settled) if settled else None
    out["redraw_median_ms"] = statistics.median(settled) if settled else None
    out["redraws"] = redraws
    # The old definition (what the README's 83 ms measured): one feature fitted at zoom 17,
    # one level out, until two animation frames later; and the same zoom-out with the new.
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
    out["tooltip_s"] = time.perf_counter() - started
    page.mouse.move(1, 1)
    z_fit = page.evaluate("geomap.map.getZoom()")
    out["redraw_old_ms"] = settle.frames_ms(page, ZOOM_BODY, z_fit - 1)
    out["redraw_old_zooms"] = [z_fit, z_fit - 1]
    out["redraw_old_zoom_out_opening_ms"] = settle.frames_ms(page, ZOOM_BODY, z0)
    page.close()
    context.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument(
        "--tiles", action="store_true", help="let geomap tile the layer (default: fast layer)"
    )
    parser.add_argument(
        "--render-only", action="store_true", help="measure the render only (no Chromium)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="geomap-million-") as tmp:
        work = Path(tmp)
        compare.log(f"writing {args.size} polygons")
        compare.write_atlas(work / "atlas", args.size)
        if not args.tiles:  # the fast canvas layer (from 300,000 features tiles by default)
            spec = work / "atlas" / "maps" / f"{compare.MAP}.toml"
            spec.write_text(
                tomli_w.dumps(
                    {
                        **compare.MAP_SPEC,
                        "layers": [{**compare.MAP_SPEC["layers"][0], "tiles": False}],
                    }
                ),
                "utf-8",
            )
        out = work / "geomap.html"
        compare.log("rendering with geomap")
        load_at_start = [round(x, 2) for x in os.getloadavg()]
        python = compare.measure_python("geomap", work / "atlas", out, args.timeout)
        compare.log(f"python {python['python_s']:.1f} s, peak RSS {python['rss_mib']:.0f} MiB")
        browser_figures: dict[str, Any] = {}
        if not args.render_only:
            with compare.chromium() as browser:
                browser_figures = measure_page(browser, out, args.size)
    load = [round(x, 2) for x in os.getloadavg()]
    result = {
        "size": args.size,
        "loadavg_at_render": load_at_start,
        **python,
        **browser_figures,
        "loadavg_at_end": load,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
