"""A synthetic parcel atlas for the vector-tile tests: n small polygons near Xiping with a
name, a value (万元), a status and a private field whose values must never reach tiles."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import tomli_w
from sample_atlas import write, write_layer

X0, Y0 = 119.48, 28.45
CELL = 0.0004  # degrees between parcel centres (~40 m)
PRIVATE_MARK = "SECRET-"  # every private value starts with this
#: The name of parcel 5: markup that would run script if any page put it into innerHTML.
XSS = '<img src=x onerror="window.__pwned=1">{{ 6*7 }}'
#: The name of parcel 6: a spreadsheet formula, which a CSV download must neutralise.
FORMULA = '=HYPERLINK("http://x","6")'


def parcels(n: int, seed: int = 18, cell: float = CELL) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n))
    i = np.arange(n)
    kx = 1 / math.cos(math.radians(Y0))
    cx = X0 + ((i % side) - side / 2) * cell * kx
    cy = Y0 + ((i // side) - side / 2) * cell
    h = cell * 0.4 * rng.uniform(0.6, 1.0, n)
    boxes = shapely.box(cx - h * kx, cy - h, cx + h * kx, cy + h)
    return gpd.GeoDataFrame(
        {
            "code": [f"T{k:06d}" for k in i],
            "name": [{5: XSS, 6: FORMULA}.get(k, f"试验{k}号地块") for k in i],
            "value": np.round(rng.uniform(1, 500, n), 2),
            "status": rng.choice(["在建", "完工", "计划"], n),
            "owner": [f"{PRIVATE_MARK}{k}" for k in i],
        },
        geometry=boxes,
        crs="EPSG:4326",
    )


def build(
    root: Path,
    n: int,
    *,
    basemap: str = "none",
    layer: dict[str, Any] | None = None,
    cell: float = CELL,
    names: dict[int, str | None] | None = None,
) -> gpd.GeoDataFrame:
    """An atlas at ``root`` with layer ``parcels`` (n features) on map ``county``, tiled
    (``names``: parcel -> the name it gets instead of its own)."""
    gdf = parcels(n, cell=cell)
    for k, name in (names or {}).items():
        gdf.loc[k, "name"] = name
    meta = {
        "title": "地块",
        "kind": "parcel",
        "key": "code",
        "name_field": "name",
        "illustrative": True,
        "fields": {
            "code": {"label": "编码", "private": False},
            "name": {"label": "名称", "private": False},
            "value": {"label": "收入", "unit": "万元", "private": False},
            "status": {"label": "状态", "private": False},
            "owner": {"label": "权利人", "private": True},
        },
    }
    write_layer(root, "parcels", gdf, meta)
    (root / "data").mkdir(exist_ok=True)
    spec = {
        "title": "全县地块",
        "basemap": basemap,
        "layers": [
            {
                "layer": "parcels",
                "tiles": True,
                "tooltip": ["code", "value"],
                "facets": ["status"],
                "style": {"type": "choropleth", "column": "value", "k": 5},
                **(layer or {}),
            }
        ],
    }
    write(root / "maps" / "county.toml", tomli_w.dumps(spec))
    return gdf


def add_blocks(root: Path, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Layer ``blocks``: the parcels' extent cut into four named quadrants (an overview)."""
    minx, miny, maxx, maxy = gdf.total_bounds
    # Off-centre cuts, between parcel rows and columns: no parcel's point lies on a border.
    mx, my = minx + 0.41 * (maxx - minx), miny + 0.37 * (maxy - miny)
    pad = 0.001
    boxes = [
        ("西南片", shapely.box(minx - pad, miny - pad, mx, my)),
        ("东南片", shapely.box(mx, miny - pad, maxx + pad, my)),
        ("西北片", shapely.box(minx - pad, my, mx, maxy + pad)),
        ("东北片", shapely.box(mx, my, maxx + pad, maxy + pad)),
    ]
    blocks = gpd.GeoDataFrame(
        {"code": [f"B{k}" for k in range(4)], "name": [n for n, _ in boxes]},
        geometry=[b for _, b in boxes],
        crs="EPSG:4326",
    )
    meta = {
        "title": "片区",
        "kind": "grid",
        "key": "code",
        "name_field": "name",
        "fields": {"code": {"label": "编码"}, "name": {"label": "名称"}},
    }
    write_layer(root, "blocks", blocks, meta)
    return blocks
