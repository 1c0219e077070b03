"""The page tools on a large fast layer: legend toggle, facet filter, year switch, list open.

Writes ``compare.py``'s synthetic parcels (default 100,000) with a two-year indicator table,
renders a map whose parcel layer has a year switch with change views, a status facet and a
list, opens it in headless Chromium and times each action from the click until the page's
pixels have changed and stopped changing (``settle.py``), and by the old definition (until
two animation frames later); medians of 2 x --repeat runs (on, off, ...). Prints one JSON line.

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
import settle

# Each action as JavaScript statements (settle.py runs them and times the redraw).
ACTIONS = {
    "legend": "document.querySelector('[data-geomap=legend-item]').click()",
    "facet": "document.querySelector('[data-geomap=facet]').click()",
    "year": "const s = document.querySelector('[data-geomap=year]');"
    " s.value = s.value === '0' ? '1' : '0'; s.dispatchEvent(new Event('change'))",
    "list": "document.querySelector('[data-geomap=list-toggle]').click()",
}


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
    context = browser.new_context(viewport=compare.VIEWPORT)
    page = context.new_page()
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
    screen = settle.Screen(context, page)
    # At the opening view (every feature in sight) and two levels in (features big enough
    # to be drawn with outlines, tens of thousands still in sight). Each action is timed by
    # the new definition (until the pixels changed and stopped changing: `_ms`) and by the
    # old one (until two animation frames later: `_frames_ms`), on, off, on, off, ...
    for suffix, zoom_in in (("", 0), ("_z2", 2)):
        page.evaluate(
            "dz => { geomap.map.setZoom(geomap.map.getZoom() + dz, {animate: false}); }", zoom_in
        )
        for action in ("legend", "facet", "year"):
            settled = [screen.settle(ACTIONS[action]) for _ in range(2 * repeat)]
            runs = [r["ms"] for r in settled if r["ms"] is not None]
            out[f"{action}{suffix}_ms"] = round(statistics.median(runs), 1) if runs else None
            out[f"{action}{suffix}_runs_ms"] = [r["ms"] for r in settled]
            old = [settle.frames_ms(page, ACTIONS[action]) for _ in range(2 * repeat)]
            out[f"{action}{suffix}_frames_ms"] = round(statistics.median(old), 1)
            out[f"{action}{suffix}_frames_runs_ms"] = old
    runs, old = [], []
    for _ in range(repeat):
        runs.append(screen.settle(ACTIONS["list"])["ms"])  # open
        rows = page.evaluate(
            "document.querySelectorAll('[data-geomap=list] [data-geomap-key]').length"
        )
        screen.settle(ACTIONS["list"])  # close
        old.append(settle.frames_ms(page, ACTIONS["list"]))
        settle.frames_ms(page, ACTIONS["list"])
    screen.close()
    done = [r for r in runs if r is not None]
    out["list_ms"] = round(statistics.median(done), 1) if done else None
    out["list_runs_ms"] = runs
    out["list_frames_ms"] = round(statistics.median(old), 1)
    out["list_rows_in_dom"] = rows
    page.close()
    context.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
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
