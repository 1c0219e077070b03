"""fiona against pyogrio on the jobs geomap has for a GDAL binding.

    python benchmarks/fiona_vs_pyogrio.py [--copies N]

Each job runs in a fresh subprocess (so peak RSS is the job's own), best of three runs:

* ``write-gbk``: the Xiping ``houses`` layer (11,393 points, repeated ``--copies`` times) to a
  GBK Shapefile with a .cpg, as ``geomap export-data --format shp --encoding gbk`` does;
* ``read``: that Shapefile back into a GeoDataFrame, as ``geomap add`` does;
* ``stream``: every record of it visited once without holding the whole layer (fiona's record
  iterator against pyogrio frames of 10,000 features), the streaming case fiona is known for.

Prints one table: seconds and peak RSS (MB) per library and job. fiona is optional: install
it with ``pip install fiona`` to run this.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def job(lib: str, name: str, copies: int, folder: Path) -> dict[str, float]:
    import geopandas as gpd
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from geomap.geojson_io import read_layer

    shp = folder / f"houses-{lib}.shp"
    if name == "write-gbk":
        base = read_layer(ROOT / "layers" / "houses.geojson")
        gdf = gpd.GeoDataFrame(pd.concat([base] * copies, ignore_index=True), crs=base.crs)
        started = time.perf_counter()
        if lib == "pyogrio":
            import pyogrio

            pyogrio.write_dataframe(gdf, shp, encoding="GBK")
        else:
            import fiona

            schema = {
                "geometry": "Point",
                "properties": {
                    c: "float"
                    if gdf[c].dtype.kind == "f"
                    else "int"
                    if gdf[c].dtype.kind in "iu"
                    else "str"
                    for c in gdf.columns
                    if c != "geometry"
                },
            }
            records = gdf.iterfeatures(na="null")
            with fiona.open(
                shp, "w", driver="ESRI Shapefile", schema=schema, crs="EPSG:4326", encoding="GBK"
            ) as dst:
                dst.writerecords(
                    {"geometry": f["geometry"], "properties": f["properties"]} for f in records
                )
        seconds = time.perf_counter() - started
    elif name == "read":
        started = time.perf_counter()
        if lib == "pyogrio":
            import pyogrio

            frame = pyogrio.read_dataframe(shp)
        else:
            import fiona

            with fiona.open(shp) as src:
                frame = gpd.GeoDataFrame.from_features(src, crs=src.crs)
        assert len(frame) == 11393 * copies
        seconds = time.perf_counter() - started
    else:  # stream
        started = time.perf_counter()
        count = 0
        if lib == "pyogrio":
            import pyogrio

            total = pyogrio.read_info(shp)["features"]
            for skip in range(0, total, 10_000):
                batch = pyogrio.read_dataframe(shp, skip_features=skip, max_features=10_000)
                count += len(batch)
        else:
            import fiona

            with fiona.open(shp) as src:
                for _record in src:
                    count += 1
        assert count == 11393 * copies
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--job", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        lib, name, folder = args.job
        print(json.dumps(job(lib, name, args.copies, Path(folder))))
        return
    features = 11393 * args.copies
    print(f"{features:,} points (houses × {args.copies}), best of 3; peak RSS of the job's process")
    print(f"{'job':10} {'library':8} {'seconds':>8} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for name in ("write-gbk", "read", "stream"):
            for lib in ("pyogrio", "fiona"):
                runs = []
                for _ in range(3):
                    out = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--copies",
                            str(args.copies),
                            "--job",
                            lib,
                            name,
                            folder,
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
                best = min(runs, key=lambda r: r["seconds"])
                print(f"{name:10} {lib:8} {best['seconds']:8.2f} {best['peak_mb']:8.0f}")


if __name__ == "__main__":
    main()
