"""The page tools on a large fast layer: legend toggle, facet filter, year switch, list open.

Writes ``compare.py``'s synthetic parcels (default 100,000) with a two-year indicator table,
renders a map whose parcel layer has a year switch with change views, a status facet and a
list, opens it in headless Chromium and times, in the page, each action from the click until
the next frame has been drawn (median of --repeat runs). Prints one JSON line.

    python benchmarks/tools.py                   # 100,000 parcels
    python benchmarks/tools.py --size 20000 --repeat 3

Targets (issue 14): legend toggle, filter change and year switch <= 200 ms; list <= 500 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare

# Time from an action until two animation frames later (the redraw is on screen).
TIMED = """async (action) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  await frame();
  const t0 = performance.now();
  action === 'legend' ? document.querySelector('[data-geomap=legend-item]').click()
  : action === 'facet' ? document.querySelector('[data-geomap=facet]').click()
  : action === 'year' ? (() => { const s = document.querySelector('[data-geomap=year]');
                                  s.value = s.value === '0' ? '1' : '0';
                                  s.dispatchEvent(new Event('change')); })()
  : document.querySelector('[data-geomap=list-toggle]').click();
  await frame();
  return performance.now() - t0;
}"""


def write_atlas(root: Path, n: int) -> None:
    import numpy as np
    import tomli_w

    compare.write_atlas(root, n)
    frame = compare.synthetic(n)
    rng = np.random.default_rng(1)
    before = np.round(frame["value"].to_numpy() * rng.uniform(0.7, 1.2, n), 2)
    rows = "\n".join(
        f"{c},{a},{b}" for c, a, b in zip(frame["code"], before, frame["value"], strict=True)
    )
    (root / "data" / "income.csv").write_text("code,v2021,v2022\n" + rows + "\n", "utf-8")
    col = {"unit": "万元", "type": "number", "indicator": "收入"}
    (root / "data" / "income.toml").write_text(
        tomli_w.dumps(
            {
                "title": "收入",
                "key": "code",
                "columns": {
                    "code": {"label": "编码"},
                    "v2021": {"label": "2021年收入", "year": 2021, **col},
                    "v2022": {"label": "2022年收入", "year": 2022, **col},
                },
            }
        ),
        "utf-8",
    )
    spec = {
        "title": "工具基准",
        "basemap": "none",
        "layers": [
            {
                "layer": compare.LAYER,
                "fast": True,
                "labels": False,
                "tooltip": ["name", "v2021", "v2022", "status"],
                "facets": ["status"],
                "join": {"table": "income", "on": "code"},
                "style": {
                    "type": "choropleth",
                    "column": "v2022",
                    "scheme": "quantiles",
                    "k": 5,
                    "years": True,
                    "change": True,
                },
            }
        ],
    }
    (root / "maps" / f"{compare.MAP}.toml").write_text(tomli_w.dumps(spec), "utf-8")


def measure(browser: Any, html: Path, n: int, repeat: int) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.route("http*://**", lambda route: route.abort())
    page.goto(html.as_uri(), wait_until="commit", timeout=600_000)
    page.wait_for_function("window.geomap && window.geomap.ready === true", timeout=600_000)
    counted = page.evaluate("Object.values(geomap.layers).reduce((s, e) => s + e.count, 0)")
    if counted != n:
        raise RuntimeError(f"{counted} features drawn, expected {n}")
    out: dict[str, Any] = {"zoom": page.evaluate("geomap.map.getZoom()")}
    # Hit testing on the 100k layer: the page's own hit test at the centre of sampled parcels
    # (each parcel is star-shaped about its centre) names that parcel, at two zooms.
    for zoom_in in (0, 3):
        wrong = page.evaluate(
            """([n, dz]) => { const m = geomap.map, e = geomap.layers.layer0, bad = [];
              m.setZoom(m.getZoom() + dz, {animate: false});
              for (let k = 0; k < 300; k++) {
                const f = Math.floor(k * n / 300), c = e.host.boundsOf(f).getCenter();
                const hit = geomap.hitAt(c.lat, c.lng);
                if (!hit || hit[1] !== f) bad.push([f, hit]);
              }
              return bad; }""",
            [n, zoom_in],
        )
        out[f"hit_wrong_of_300_z{zoom_in}"] = len(wrong)
    page.locator("[data-geomap=home]").click()
    # At the opening view (every feature in sight) and two levels in (features big enough
    # to be drawn with outlines, tens of thousands still in sight).
    for suffix, zoom_in in (("", 0), ("_z2", 2)):
        page.evaluate(
            "dz => { geomap.map.setZoom(geomap.map.getZoom() + dz, {animate: false}); }", zoom_in
        )
        for action in ("legend", "facet", "year"):
            runs = [page.evaluate(TIMED, action) for _ in range(2 * repeat)]  # on, off, …
            out[f"{action}{suffix}_ms"] = round(statistics.median(runs), 1)
            out[f"{action}{suffix}_runs_ms"] = [round(r, 1) for r in runs]
    runs = []
    for _ in range(repeat):
        runs.append(page.evaluate(TIMED, "list"))  # open
        rows = page.evaluate(
            "document.querySelectorAll('[data-geomap=list] [data-geomap-key]').length"
        )
        page.evaluate(TIMED, "list")  # close
    out["list_ms"] = round(statistics.median(runs), 1)
    out["list_runs_ms"] = [round(r, 1) for r in runs]
    out["list_rows_in_dom"] = rows
    page.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="geomap-tools-") as tmp:
        work = Path(tmp)
        compare.log(f"writing {args.size} polygons")
        write_atlas(work / "atlas", args.size)
        out = work / "geomap.html"
        compare.log("rendering with geomap")
        python = compare.measure_python("geomap", work / "atlas", out, args.timeout)
        compare.log(f"python {python['python_s']:.1f} s")
        with compare.chromium() as browser:
            figures = measure(browser, out, args.size, args.repeat)
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else ""
    print(
        json.dumps(
            {"size": args.size, "render_s": round(python["python_s"], 1), **figures, "load": load}
        )
    )


if __name__ == "__main__":
    main()
