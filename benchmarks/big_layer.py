"""Big layers on the user path: ``geomap add`` and ``geomap render`` as a planner runs them.

Builds the synthetic parcels of ``compare.py`` (10-vertex polygons near Xiping, 6
attributes, seeded) as a GeoPackage and as a GBK Shapefile, both in EPSG:4549 (CGCS2000
3-degree Gauss-Kruger CM 120E, as a county's land survey is delivered), then runs the
installed ``geomap`` console script as a subprocess under ``/usr/bin/time -v``:

* ``geomap add parcels.gpkg`` / ``geomap add parcels.shp`` into a fresh atlas;
* ``geomap render`` of a one-layer choropleth map of that layer: the first render (which
  also writes the layer's binary copy, ``layers/.cache/``), then ``--force`` again (reading
  the binary copy), then ``render`` with nothing changed.

Each figure is wall time and peak RSS of the whole command, interpreter start and imports
included; the imports alone are timed the same way:
``python -c "import geomap.cli.main, geomap.add"`` (and ``geomap.render``). ``--xiping`` times ``geomap render --force`` (cold) and ``geomap render`` (unchanged)
on a copy of the shipped atlas.

    python benchmarks/big_layer.py                         # 1,000,000 parcels, ~6 min
    python benchmarks/big_layer.py --sizes 10000,100000 --xiping
    python benchmarks/big_layer.py --sizes 1000000 --formats gpkg
    python benchmarks/big_layer.py --readers                # batch readers: pyogrio vs Arrow

Prints one JSON line per measurement and a Markdown table; saves everything to
``benchmarks/results/<date>-big-<sizes>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare

ROOT = compare.ROOT
SOURCE_CRS = "EPSG:4549"
MAP_TOML = """title = "地块"
basemap = "none"

[[layers]]
layer = "parcels"
tooltip = ["code", "name", "value", "households", "status"]
labels = false
popup = false
style = { type = "choropleth", column = "value", scheme = "quantiles", k = 5 }
"""


def write_sources(folder: Path, n: int, formats: list[str]) -> dict[str, Path]:
    """The synthetic parcels as ``parcels.gpkg`` and a GBK ``parcels.shp`` (no .cpg), in
    EPSG:4549, written by pyogrio."""
    import numpy as np
    import pyogrio

    gdf = compare.synthetic(n).to_crs(SOURCE_CRS)
    # A survey's declared areas agree with its geometry (compare.py's are random, which
    # would make `add` report every parcel): 亩 measured in the source CRS, 0.1 亩 rounded.
    gdf["area_mu"] = np.round(gdf.geometry.area.to_numpy() * 15 / 10000, 1)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    if "gpkg" in formats:
        out["gpkg"] = folder / "parcels.gpkg"
        pyogrio.write_dataframe(gdf, out["gpkg"], layer="parcels", driver="GPKG")
    if "shp" in formats:
        out["shp"] = folder / "parcels.shp"
        pyogrio.write_dataframe(gdf, out["shp"], driver="ESRI Shapefile", encoding="GBK")
        out["shp"].with_suffix(".cpg").unlink(missing_ok=True)  # detected from the DBF bytes
    return out


TIME_LINE = re.compile(
    r"^\s*(Maximum resident set size \(kbytes\)|Elapsed \(wall clock\).*?): (.*)$"
)


def _seconds(clock: str) -> float:
    parts = [float(p) for p in clock.split(":")]
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def timed(args: list[str], timeout: float = 3600) -> dict[str, Any]:
    """Run ``args`` under ``/usr/bin/time -v``: wall seconds and peak RSS (MiB) of the command
    itself (GNU time forks from a small process, so the child's high-water mark is its own)."""
    done = subprocess.run(
        ["/usr/bin/time", "-v", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    figures: dict[str, Any] = {}
    for line in done.stderr.splitlines():
        m = TIME_LINE.match(line)
        if m and m.group(1).startswith("Maximum"):
            figures["rss_mib"] = round(int(m.group(2)) / 1024, 1)
        elif m:
            figures["wall_s"] = round(_seconds(m.group(2)), 2)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:6])} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return figures


def geomap(*args: str) -> list[str]:
    return [sys.executable, "-m", "geomap", *args]


def import_time(module: str) -> dict[str, Any]:
    return timed([sys.executable, "-c", f"import {module}"])


def new_atlas(root: Path) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("layers", "data", "maps"):
        (root / sub).mkdir(parents=True)
    (root / "maps" / "parcels.toml").write_text(MAP_TOML, encoding="utf-8")
    return root


def bench_size(n: int, formats: list[str], work: Path) -> list[dict[str, Any]]:
    compare.log(f"[{n}] writing sources")
    sources = write_sources(work / f"src-{n}", n, formats)
    rows = []
    for fmt, path in sources.items():
        atlas = new_atlas(work / f"atlas-{n}-{fmt}")
        row: dict[str, Any] = {"size": n, "format": fmt, "source_mb": _source_mb(path)}
        row["add"] = timed(
            geomap("--atlas", str(atlas), "-q", "add", str(path), "--name", "parcels")
        )
        compare.log(f"[{n} {fmt}] add {row['add']}")
        layer = atlas / "layers" / "parcels.geojson"
        row["layer_mb"] = round(layer.stat().st_size / 1e6, 1)
        render = geomap("--atlas", str(atlas), "-q", "render", "parcels")
        row["render_first"] = timed(render)
        row["render_cached"] = timed([*render, "--force"])
        row["render_unchanged"] = timed(render)
        row["html_mb"] = round((atlas / "maps" / "parcels.html").stat().st_size / 1e6, 1)
        compare.log(f"[{n} {fmt}] render {row['render_first']} / {row['render_cached']}")
        rows.append(row)
        print(json.dumps(row), flush=True)
        shutil.rmtree(atlas)
    shutil.rmtree(work / f"src-{n}")
    return rows


def _source_mb(path: Path) -> float:
    parts = [p for p in path.parent.iterdir() if p.stem == path.stem]
    return round(sum(p.stat().st_size for p in parts) / 1e6, 1)


def bench_xiping(work: Path, repeat: int) -> dict[str, Any]:
    cold, unchanged = [], []
    for _ in range(repeat):
        atlas = work / "xiping"
        shutil.rmtree(atlas, ignore_errors=True)
        compare.copy_atlas(atlas)
        cold.append(timed(geomap("--atlas", str(atlas), "-q", "render", "--force")))
        unchanged.append(timed(geomap("--atlas", str(atlas), "-q", "render")))
    result = {
        "cold_s": statistics.median(r["wall_s"] for r in cold),
        "unchanged_s": statistics.median(r["wall_s"] for r in unchanged),
        "cold_rss_mib": statistics.median(r["rss_mib"] for r in cold),
        "cold_runs": cold,
        "unchanged_runs": unchanged,
    }
    print(json.dumps({"xiping": result}), flush=True)
    return result


READERS = ("whole", "batches", "arrow")


def read_child(src: str, how: str) -> None:
    """In a child: read every feature of ``src`` once, keeping its geometry as WKB, with one
    of :data:`READERS`; prints seconds and the peak RSS the read added (sampled)."""
    import threading
    import time

    import pyogrio
    import shapely

    def rss() -> int:
        return int(compare._rss_mib())

    peak = [0]

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], rss())
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()
    kwargs = {"encoding": "gbk"} if src.endswith(".shp") else {}
    base, started, count, kept = rss(), time.perf_counter(), 0, []
    if how == "whole":
        gdf = pyogrio.read_dataframe(src, **kwargs)
        count = len(gdf)
        kept.append(shapely.to_wkb(gdf.geometry.values))
        del gdf
    elif how == "batches":
        total = pyogrio.read_info(src, **kwargs)["features"]
        for start in range(0, total, 50_000):
            gdf = pyogrio.read_dataframe(src, skip_features=start, max_features=50_000, **kwargs)
            count += len(gdf)
            kept.append(shapely.to_wkb(gdf.geometry.values))
    else:
        with pyogrio.open_arrow(src, batch_size=50_000, use_pyarrow=True, **kwargs) as (
            meta,
            reader,
        ):
            for batch in reader:
                frame = batch.to_pandas()
                count += len(frame)
                kept.append(frame[meta["geometry_name"] or "wkb_geometry"].to_numpy())
    seconds = time.perf_counter() - started
    print(json.dumps({"features": count, "s": round(seconds, 1), "peak_mib": peak[0] - base}))


def bench_readers(n: int, work: Path) -> list[dict[str, Any]]:
    """Each reader of :data:`READERS` on the GeoPackage and the Shapefile, one process each."""
    sources = write_sources(work / f"src-{n}", n, ["gpkg", "shp"])
    rows = []
    for fmt, path in sources.items():
        for how in READERS:
            done = subprocess.run(
                [sys.executable, __file__, "--read-child", str(path), how],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            row = {"size": n, "format": fmt, "reader": how, **json.loads(done.stdout)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    shutil.rmtree(work / f"src-{n}")
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| parcels | input | add s | add RSS MiB | render (first) s | RSS MiB "
        "| render --force (cached) s | RSS MiB | unchanged s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['format']} | {r['add']['wall_s']:.1f} | {r['add']['rss_mib']:.0f} "
            f"| {r['render_first']['wall_s']:.1f} | {r['render_first']['rss_mib']:.0f} "
            f"| {r['render_cached']['wall_s']:.1f} | {r['render_cached']['rss_mib']:.0f} "
            f"| {r['render_unchanged']['wall_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--formats", default="gpkg,shp")
    parser.add_argument("--xiping", action="store_true", help="also the shipped atlas")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the Xiping timing")
    parser.add_argument("--results-dir", type=Path, default=compare.RESULTS_DIR)
    parser.add_argument(
        "--readers", action="store_true", help="only compare the batch readers (GPKG + SHP)"
    )
    parser.add_argument("--read-child", nargs=2, metavar=("SRC", "HOW"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.read_child:
        read_child(*args.read_child)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    formats = [f for f in args.formats.split(",") if f]
    payload: dict[str, Any] = {
        "imports": {
            "python_only": timed([sys.executable, "-c", "pass"]),
            "cli_add": import_time("geomap.cli.main, geomap.add"),
            "cli_render": import_time("geomap.cli.main, geomap.render"),
        },
        "environment": compare.environment(),
    }
    print(json.dumps({"imports": payload["imports"]}), flush=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="geomap-big-") as tmp:
        if args.readers:
            payload["readers"] = [r for n in sizes for r in bench_readers(n, Path(tmp))]
            sizes = []
        for n in sizes:
            rows += bench_size(n, formats, Path(tmp))
        if args.xiping:
            payload["xiping"] = bench_xiping(Path(tmp), args.repeat)
    payload["rows"] = rows
    if rows:
        print(table(rows))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    tag = args.sizes.replace(",", "-") + ("-readers" if args.readers else "")
    tag += "-xiping" if args.xiping else ""
    out = args.results_dir / f"{dt.date.today().isoformat()}-big-{tag}.json"
    out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    compare.log(f"saved {out}")


if __name__ == "__main__":
    main()
