"""Attribute joins and spatial roll-ups: nothing dropped or multiplied silently."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import sample_atlas
from shapely.geometry import MultiPolygon, Point, box

from geomap.atlas import Atlas, Layer, Table
from geomap.errors import DataError
from geomap.join import attribute_join, rollup
from geomap.spec import LayerMeta, Rollup, TableMeta

X0, Y0, STEP = sample_atlas.X0, sample_atlas.Y0, sample_atlas.STEP


def make_layer(columns: dict[str, list[Any]], name: str = "villages") -> Layer:
    n = len(next(iter(columns.values())))
    gdf = gpd.GeoDataFrame(
        columns,
        geometry=[box(X0 + i * STEP, Y0, X0 + (i + 1) * STEP, Y0 + STEP) for i in range(n)],
        crs="EPSG:4326",
    )
    return Layer(LayerMeta(name=name, title="图层", kind="village", key="code"), gdf)


def make_table(columns: dict[str, list[Any]], key: str = "code") -> Table:
    return Table(TableMeta(name="economy", title="表", key=key), pd.DataFrame(columns))


@pytest.fixture
def atlas(tmp_path: Path) -> Atlas:
    return Atlas(sample_atlas.build(tmp_path / "atlas"))


# -- attribute joins --------------------------------------------------------------------


def test_join_sample_atlas_all_matched(atlas: Atlas) -> None:
    joined, report = attribute_join(
        atlas.read_layer("villages"), atlas.read_table("economy"), "code"
    )
    assert report.matched == 3
    assert report.unmatched_layer == () and report.unmatched_table == ()
    assert report.warnings == ()
    assert joined["income_2022"].tolist() == [100.5, 250.25, 80.0]
    assert joined["name"].tolist() == ["西一村", "六村", "九村"]
    assert isinstance(joined, gpd.GeoDataFrame)
    assert joined.crs is not None and joined.crs.to_epsg() == 4326


def test_unmatched_keys_on_both_sides() -> None:
    layer = make_layer({"code": ["V1", "V2", "V4"], "name": ["一", "二", "四"]})
    table = make_table({"code": ["V1", "V2", "V3", "V9"], "income": [1.0, 2.0, 3.0, 9.0]})
    joined, report = attribute_join(layer, table, "code")
    # Features kept, in order, never multiplied.
    assert len(joined) == 3
    assert joined["code"].tolist() == ["V1", "V2", "V4"]
    assert joined.geometry.equals(layer.gdf.geometry)
    assert joined["income"].iloc[:2].tolist() == [1.0, 2.0]
    assert pd.isna(joined["income"].iloc[2])
    assert report.matched == 2
    assert report.unmatched_layer == ("V4",)
    assert report.unmatched_table == ("V3", "V9")
    assert len(report.warnings) == 2
    layer_warning = next(w for w in report.warnings if "features with no table row" in w)
    table_warning = next(w for w in report.warnings if "table rows with no feature" in w)
    assert "V4" in layer_warning and "1 个要素" in layer_warning
    assert "V3" in table_warning and "V9" in table_warning and "2 行" in table_warning
    # The input layer is untouched.
    assert "income" not in layer.gdf.columns


def test_duplicate_table_keys_use_first_row_and_are_reported() -> None:
    layer = make_layer({"code": ["V1", "V2"]})
    table = make_table({"code": ["V1", "V2", "V1", "V2", "V1"], "income": [1, 2, 10, 20, 100]})
    joined, report = attribute_join(layer, table, "code")
    assert len(joined) == 2  # not multiplied
    assert joined["income"].tolist() == [1, 2]
    assert report.duplicate_table_keys == ("V1", "V2")
    assert report.matched == 2
    assert report.unmatched_table == ()
    assert any("duplicate table keys" in w and "V1" in w and "V2" in w for w in report.warnings)


def test_numeric_and_string_keys_match() -> None:
    layer = make_layer({"code": [101, 102, 103]})
    table = make_table({"code": ["101", " 102 ", "104"], "x": [1.0, 2.0, 4.0]})
    joined, report = attribute_join(layer, table, "code")
    assert report.matched == 2
    assert joined["x"].tolist()[:2] == [1.0, 2.0]
    assert report.unmatched_layer == ("103",)
    assert report.unmatched_table == ("104",)
    # The layer's key column keeps its own values and type.
    assert joined["code"].tolist() == [101, 102, 103]


def test_string_layer_keys_match_numeric_table_keys() -> None:
    layer = make_layer({"code": ["101", "102"]})
    table = make_table({"code": [101, 102], "x": [1.0, 2.0]})
    joined, report = attribute_join(layer, table, "code")
    assert report.matched == 2
    assert joined["x"].tolist() == [1.0, 2.0]


def test_float_keys_with_integer_values_match_text_keys() -> None:
    # A key column typed float (as pandas types an integer column with one missing value,
    # e.g. a table column declared type = "number") must still match "101".
    layer = make_layer({"code": ["101", "102"]})
    table = make_table({"code": [101.0, 102.0], "x": [1.0, 2.0]})
    joined, report = attribute_join(layer, table, "code")
    assert report.matched == 2
    assert joined["x"].tolist() == [1.0, 2.0]


def test_feature_without_key_is_kept_and_reported() -> None:
    layer = make_layer({"code": ["V1", None, "V9"]})
    table = make_table({"code": ["V1"], "x": [1.0]})
    joined, report = attribute_join(layer, table, "code")
    assert len(joined) == 3
    assert joined["x"].iloc[0] == 1.0
    assert joined["x"].iloc[1:].isna().all()
    assert report.matched == 1
    assert report.unmatched_layer == ("V9",)
    assert any("1 个要素无键" in w for w in report.warnings)


def test_table_columns_override_layer_columns_with_warning() -> None:
    layer = make_layer({"code": ["V1"], "income": [0.0]})
    table = make_table({"code": ["V1"], "income": [5.0]})
    joined, report = attribute_join(layer, table, "code")
    assert joined["income"].tolist() == [5.0]
    assert report.overridden_columns == ("income",)
    assert any("income" in w and "replace layer columns" in w for w in report.warnings)


def test_join_on_different_column_names() -> None:
    layer = make_layer({"code": ["V1", "V2"], "vid": ["a", "b"]})
    table = make_table({"village": ["b", "a"], "x": [2, 1]}, key="village")
    joined, report = attribute_join(layer, table, "vid")
    assert joined["x"].tolist() == [1, 2]
    assert "village" not in joined.columns
    assert report.matched == 2


def test_join_on_missing_layer_column_raises() -> None:
    layer = make_layer({"code": ["V1"]})
    with pytest.raises(DataError, match="'nosuch'"):
        attribute_join(layer, make_table({"code": ["V1"], "x": [1]}), "nosuch")


# -- roll-ups ---------------------------------------------------------------------------

HOUSE_SPEC = Rollup(
    source="houses",
    count="houses",
    sum={"hazards": "has_hazard"},
    mean={"hazard_rate": "has_hazard"},
)


def test_border_house_premise() -> None:
    # The sample's fourth house lies exactly on the V1/V2 border.
    v = sample_atlas.villages_gdf()
    x, y, _ = sample_atlas.HOUSES[3]
    assert v.geometry.intersects(Point(x, y)).tolist() == [True, True, False]


def test_rollup_counts_sums_means_by_hand(atlas: Atlas) -> None:
    villages = atlas.read_layer("villages").gdf
    out = rollup(villages, atlas.read_layer("houses"), HOUSE_SPEC)
    # By hand from HOUSES: V1 holds H0, H1, H2 and the border house H3 (counted once, in
    # the first polygon); V2 holds H4, H5; V3 holds H6.
    assert out["houses"].tolist() == [4, 2, 1]
    assert out["houses"].sum() == len(sample_atlas.HOUSES)
    assert out["hazards"].tolist() == [3, 1, 0]
    assert out["hazard_rate"].tolist() == pytest.approx([0.75, 0.5, 0.0])
    assert out["houses"].dtype.kind == "i"
    # The target is not changed in place, and keeps its rows and columns.
    assert "houses" not in villages.columns
    assert out["code"].tolist() == ["V1", "V2", "V3"]


def test_rollup_over_grids_counts_corner_house_once(atlas: Atlas) -> None:
    # H3 sits on the corner shared by four grids.
    grids = atlas.read_layer("grids").gdf
    out = rollup(grids, atlas.read_layer("houses"), Rollup(source="houses", count="n"))
    assert out["n"].sum() == len(sample_atlas.HOUSES)
    by_village = out.groupby("village")["n"].sum().to_dict()
    assert by_village == {"V1": 4, "V2": 2, "V3": 1}


def test_rollup_empty_target_gets_zero_count_and_nan_mean(atlas: Atlas) -> None:
    target = gpd.GeoDataFrame(
        {"code": ["E"]}, geometry=[box(X0 + 0.1, Y0, X0 + 0.11, Y0 + 0.01)], crs="EPSG:4326"
    )
    out = rollup(target, atlas.read_layer("houses"), HOUSE_SPEC)
    assert out["houses"].tolist() == [0]
    assert out["hazards"].tolist() == [0]
    assert math.isnan(out["hazard_rate"].iloc[0])


def test_rollup_polygon_sources_count_by_representative_point() -> None:
    villages = sample_atlas.villages_gdf()
    parcels = gpd.GeoDataFrame(
        {
            "code": ["P1", "P2", "P3"],
            "mu": [10.0, 20.0, 40.0],
        },
        geometry=[
            # Straddles the V1/V2 border: must be counted once, not in both.
            box(X0 + 0.008, Y0 + 0.004, X0 + 0.012, Y0 + 0.006),
            # Wholly inside V3.
            box(X0 + 0.022, Y0 + 0.002, X0 + 0.024, Y0 + 0.004),
            # Two parts, in V1 and in V3: the centroid falls in V2, the representative
            # point on one of the parts, so V2 must not get it.
            MultiPolygon(
                [
                    box(X0 + 0.002, Y0 + 0.002, X0 + 0.004, Y0 + 0.004),
                    box(X0 + 0.026, Y0 + 0.002, X0 + 0.028, Y0 + 0.004),
                ]
            ),
        ],
        crs="EPSG:4326",
    )
    assert villages.geometry.contains(parcels.geometry.iloc[2].centroid).tolist() == [
        False,
        True,
        False,
    ]
    source = Layer(LayerMeta(name="parcels", title="地块", kind="parcel", key="code"), parcels)
    out = rollup(villages, source, Rollup(source="parcels", count="n", sum={"area": "mu"}))
    assert out["n"].sum() == 3
    assert out["area"].sum() == pytest.approx(70.0)
    # Expected placement: by each parcel's representative point.
    expected = np.zeros(3, dtype=int)
    for geom in parcels.geometry:
        inside = np.flatnonzero(villages.geometry.intersects(geom.representative_point()))
        expected[inside[0]] += 1
    assert out["n"].tolist() == expected.tolist()
    assert out["n"].iloc[1] <= 1  # only the straddling parcel can be in V2
    assert out["n"].iloc[2] >= 1  # P2


def test_rollup_ignores_empty_and_missing_geometries(atlas: Atlas) -> None:
    houses = atlas.read_layer("houses")
    gdf = houses.gdf.copy()
    extra = gpd.GeoDataFrame(
        {"code": ["HX", "HY"], "name": ["x", "y"], "has_hazard": [1, 1]},
        geometry=[None, Point()],
        crs="EPSG:4326",
    )
    source = Layer(houses.meta, pd.concat([gdf, extra], ignore_index=True))
    out = rollup(atlas.read_layer("villages").gdf, source, Rollup(source="houses", count="n"))
    assert out["n"].tolist() == [4, 2, 1]


def test_rollup_unknown_source_column_raises(atlas: Atlas) -> None:
    villages = atlas.read_layer("villages").gdf
    houses = atlas.read_layer("houses")
    with pytest.raises(DataError, match="'nosuch'"):
        rollup(villages, houses, Rollup(source="houses", sum={"x": "nosuch"}))
    with pytest.raises(DataError, match="'nosuch'"):
        rollup(villages, houses, Rollup(source="houses", count="n", mean={"x": "nosuch"}))


def test_rollup_sum_ignores_non_numeric_values(atlas: Atlas) -> None:
    houses = atlas.read_layer("houses")
    gdf = houses.gdf.copy()
    gdf["has_hazard"] = gdf["has_hazard"].astype(object)
    gdf.loc[0, "has_hazard"] = "未知"
    out = rollup(
        atlas.read_layer("villages").gdf,
        Layer(houses.meta, gdf),
        Rollup(source="houses", sum={"hazards": "has_hazard"}),
    )
    assert out["hazards"].tolist() == [2, 1, 0]
