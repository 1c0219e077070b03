"""A small atlas built in code for the tests: three villages, grids, houses, a road, a table.

Geometry near Xiping (119.48 E, 28.45 N). Values are chosen so that roll-ups can be checked
by hand: see ``HOUSES`` and the expected counts in the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import tomli_w
from shapely.geometry import LineString, Point, box

from geomap.geojson_io import dumps_layer

X0, Y0 = 119.46, 28.44
STEP = 0.01

# Three villages side by side (west to east), each 0.01° wide; grids split each in two.
VILLAGES = [("V1", "西一村"), ("V2", "六村"), ("V3", "九村")]
# Houses: (lon, lat, hazard). One sits exactly on the V1/V2 border (x = X0 + STEP).
HOUSES = [
    (X0 + 0.002, Y0 + 0.002, 1),
    (X0 + 0.004, Y0 + 0.007, 0),
    (X0 + 0.006, Y0 + 0.003, 1),
    (X0 + STEP, Y0 + 0.005, 1),  # on the shared border of V1 and V2: counted once
    (X0 + 0.013, Y0 + 0.002, 0),
    (X0 + 0.017, Y0 + 0.008, 1),
    (X0 + 0.025, Y0 + 0.005, 0),
]


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def write_layer(root: Path, name: str, gdf: gpd.GeoDataFrame, meta: dict[str, Any]) -> None:
    write(root / "layers" / f"{name}.geojson", dumps_layer(gdf))
    write(root / "layers" / f"{name}.toml", tomli_w.dumps(meta))


def villages_gdf(names: list[tuple[str, str]] | None = None) -> gpd.GeoDataFrame:
    names = names or VILLAGES
    return gpd.GeoDataFrame(
        {
            "code": [c for c, _ in names],
            "name": [n for _, n in names],
            "households": [120, 95, 210][: len(names)],
        },
        geometry=[
            box(X0 + i * STEP, Y0, X0 + (i + 1) * STEP, Y0 + STEP) for i in range(len(names))
        ],
        crs="EPSG:4326",
    )


def build(
    root: Path,
    *,
    village_names: list[tuple[str, str]] | None = None,
    income: dict[str, str] | None = None,
) -> Path:
    """Write the sample atlas into ``root`` and return it."""
    villages = villages_gdf(village_names)
    write_layer(
        root,
        "villages",
        villages,
        {
            "title": "行政村",
            "kind": "village",
            "key": "code",
            "name_field": "name",
            "source": "测试数据 2022(四)",
            "illustrative": True,
            "fields": {
                "name": {"label": "村名"},
                "code": {"label": "村编码"},
                "households": {"label": "户数", "unit": "户"},
            },
        },
    )
    grids = []
    for code, geom in zip(villages["code"], villages.geometry, strict=True):
        minx, miny, maxx, maxy = geom.bounds
        mid = (miny + maxy) / 2
        grids.append((f"{code}-1", f"{code}网格1", code, box(minx, miny, maxx, mid)))
        grids.append((f"{code}-2", f"{code}网格2", code, box(minx, mid, maxx, maxy)))
    write_layer(
        root,
        "grids",
        gpd.GeoDataFrame(
            {
                "code": [g[0] for g in grids],
                "name": [g[1] for g in grids],
                "village": [g[2] for g in grids],
            },
            geometry=[g[3] for g in grids],
            crs="EPSG:4326",
        ),
        {
            "title": "网格",
            "kind": "grid",
            "key": "code",
            "parent": "villages",
            "parent_key": "village",
            "tiles_parent": True,
            "illustrative": True,
            "source": "测试数据 2022(四)",
            "fields": {"name": {"label": "网格名"}},
        },
    )
    write_layer(
        root,
        "houses",
        gpd.GeoDataFrame(
            {
                "code": [f"H{i}" for i in range(len(HOUSES))],
                "name": [f"房屋{i}" for i in range(len(HOUSES))],
                "has_hazard": [h for _, _, h in HOUSES],
            },
            geometry=[Point(x, y) for x, y, _ in HOUSES],
            crs="EPSG:4326",
        ),
        {
            "title": "农房",
            "kind": "point",
            "key": "code",
            "illustrative": True,
            "source": "测试数据 2022(三)",
            "fields": {
                "has_hazard": {"label": "存在隐患", "unit": "幢"},
                "name": {"label": "编号"},
            },
        },
    )
    write_layer(
        root,
        "roads",
        gpd.GeoDataFrame(
            {"code": ["R1"], "name": ["G235国道"], "status": ["在建"]},
            geometry=[LineString([(X0, Y0 + 0.012), (X0 + 0.03, Y0 + 0.011)])],
            crs="EPSG:4326",
        ),
        {
            "title": "道路",
            "kind": "line",
            "key": "code",
            "status_field": "status",
            "source": "测试数据 2022(二)",
            "illustrative": True,
            "fields": {"name": {"label": "名称"}, "status": {"label": "状态"}},
        },
    )
    income = income or {"V1": "100.5", "V2": "250.25", "V3": "80"}
    rows = "\n".join(f"{k},{v},{i * 10}" for i, (k, v) in enumerate(income.items()))
    write(root / "data" / "economy.csv", "code,income_2022,growth\n" + rows + "\n")
    write(
        root / "data" / "economy.toml",
        tomli_w.dumps(
            {
                "title": "村集体经济",
                "key": "code",
                "source": "测试数据 2022(一)",
                "illustrative": True,
                "columns": {
                    "code": {"label": "村编码", "type": "text"},
                    "income_2022": {
                        "label": "2022年集体经济总收入",
                        "unit": "万元",
                        "type": "number",
                        "year": 2022,
                    },
                    "growth": {"label": "增幅", "unit": "%", "type": "number"},
                },
            }
        ),
    )
    write(
        root / "maps" / "economy.toml",
        tomli_w.dumps(
            {
                "title": "村集体经济",
                "subtitle": "2022年各村集体经济总收入",
                "description": "测试用地图",
                "basemap": "none",
                "layers": [
                    {
                        "layer": "villages",
                        "tooltip": ["name", "income_2022", "growth"],
                        "join": {"table": "economy", "on": "code"},
                        "style": {
                            "type": "choropleth",
                            "column": "income_2022",
                            "scheme": "quantiles",
                            "k": 3,
                            "palette": "YlGn",
                        },
                    },
                    {"layer": "roads", "style": {"type": "categorical", "column": "status"}},
                ],
            }
        ),
    )
    write(
        root / "maps" / "grid.toml",
        tomli_w.dumps(
            {
                "title": "网格治理",
                "basemap": "none",
                "layers": [
                    {
                        "layer": "villages",
                        "rollup": {
                            "from": "houses",
                            "count": "houses",
                            "sum": {"hazards": "has_hazard"},
                        },
                        "style": {"type": "single", "color": "#333333", "fill": False},
                    },
                    {
                        "layer": "grids",
                        "rollup": {
                            "from": "houses",
                            "count": "houses",
                            "sum": {"hazards": "has_hazard"},
                        },
                        "style": {
                            "type": "choropleth",
                            "column": "hazards",
                            "scheme": "equal_interval",
                            "k": 2,
                        },
                    },
                    {"layer": "houses", "style": {"type": "categorical", "column": "has_hazard"}},
                ],
            }
        ),
    )
    write(
        root / "maps" / "minimal.toml",
        tomli_w.dumps(
            {
                "title": "最简地图",
                "basemap": "none",
                "layers": [{"layer": "villages"}],
            }
        ),
    )
    return root
