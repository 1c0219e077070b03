"""Deterministic GeoJSON writing and strict reading."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from geomap.errors import DataError
from geomap.geojson_io import dumps_layer, read_layer

LON, LAT = 119.123456789123, 28.987654321987


def sample_gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["A", "B", "C"],
            "name": ["西一村", "六村", "九村"],
            "households": np.array([120, 95, 210], dtype=np.int64),
            "income": [100.5, float("nan"), 80.25],
            "done": [True, False, True],
        },
        geometry=[
            Point(LON, LAT),
            LineString([(119.1, 28.1), (119.200000049, 28.23456789)]),
            Polygon([(119.0, 28.0), (119.00000001, 28.5), (119.5, 28.5), (119.0, 28.0)]),
        ],
        crs="EPSG:4326",
    )


def coords(node) -> list[float]:
    """Every number in a (nested) coordinates array."""
    if isinstance(node, list):
        return [c for item in node for c in coords(item)]
    return [node]


def test_dumps_is_deterministic() -> None:
    a = dumps_layer(sample_gdf())
    assert a == dumps_layer(sample_gdf())
    assert a == dumps_layer(sample_gdf())
    assert isinstance(a, bytes)
    assert a.endswith(b"\n")


def test_dumps_is_a_feature_collection_one_feature_per_line() -> None:
    text = dumps_layer(sample_gdf()).decode("utf-8")
    doc = json.loads(text)
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc
    assert len(doc["features"]) == 3
    feature_lines = [line for line in text.splitlines() if line.startswith('{"type":"Feature"')]
    assert len(feature_lines) == 3
    assert "西一村" in text  # UTF-8, not \u escapes
    first = doc["features"][0]
    assert first["properties"] == {
        "code": "A",
        "name": "西一村",
        "households": 120,
        "income": 100.5,
        "done": True,
    }


def test_coordinates_rounded_to_seven_decimals() -> None:
    gdf = sample_gdf()
    text = dumps_layer(gdf).decode()
    doc = json.loads(text)
    assert doc["features"][0]["geometry"]["coordinates"] == [
        round(LON, 7),
        round(LAT, 7),
    ]
    assert doc["features"][0]["geometry"]["coordinates"] == [119.1234568, 28.9876543]
    for feature, geom in zip(doc["features"], gdf.geometry, strict=True):
        written = coords(feature["geometry"]["coordinates"])
        original = [c for xy in shapely_coords(geom) for c in xy]
        assert written == [round(c, 7) for c in original]
    # No number in the text has more than 7 decimals.
    geometry_text = "".join(re.findall(r'"coordinates":(\[.*?\]\]*)\}', text))
    assert geometry_text
    for number in re.findall(r"-?\d+\.(\d+)", geometry_text):
        assert len(number) <= 7, number


def shapely_coords(geom) -> list[tuple[float, float]]:
    if geom.geom_type == "Polygon":
        return list(geom.exterior.coords)
    return list(geom.coords)


def test_precision_argument() -> None:
    gdf = sample_gdf().iloc[:1]
    doc = json.loads(dumps_layer(gdf, precision=3))
    assert doc["features"][0]["geometry"]["coordinates"] == [119.123, 28.988]


def test_nan_and_missing_written_as_null() -> None:
    gdf = gpd.GeoDataFrame(
        {
            "income": [float("nan"), 1.5, np.inf],
            "label": [None, "x", pd.NA],
            "n": pd.array([1, None, 3], dtype="Int64"),
            "when": [pd.Timestamp("2022-05-01"), pd.NaT, pd.Timestamp("2023-01-02")],
        },
        geometry=[Point(119.1, 28.1), Point(119.2, 28.2), None],
        crs="EPSG:4326",
    )
    text = dumps_layer(gdf).decode()
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text)
    props = [f["properties"] for f in doc["features"]]
    assert props[0] == {"income": None, "label": None, "n": 1, "when": "2022-05-01T00:00:00"}
    assert props[1] == {"income": 1.5, "label": "x", "n": None, "when": None}
    assert props[2]["income"] is None and props[2]["label"] is None
    assert doc["features"][2]["geometry"] is None


def test_round_trip_via_read_layer(tmp_path: Path) -> None:
    gdf = sample_gdf()
    path = tmp_path / "layer.geojson"
    path.write_bytes(dumps_layer(gdf))
    back = read_layer(path)
    assert list(back.columns) == ["code", "name", "households", "income", "done", "geometry"]
    assert back.crs is not None and back.crs.to_epsg() == 4326
    assert back["code"].tolist() == ["A", "B", "C"]
    assert back["name"].tolist() == ["西一村", "六村", "九村"]
    assert back["households"].tolist() == [120, 95, 210]
    assert back["income"].iloc[0] == 100.5 and np.isnan(back["income"].iloc[1])
    assert back["done"].tolist() == [True, False, True]
    for original, read in zip(gdf.geometry, back.geometry, strict=True):
        assert read.geom_type == original.geom_type
        assert read.equals_exact(original, tolerance=1e-7)
    # Writing what was read gives the same bytes again.
    assert dumps_layer(back) == path.read_bytes()


def test_truncated_json_raises_data_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "villages.geojson"
    data = dumps_layer(sample_gdf())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as info:
        read_layer(path)
    assert str(path) in str(info.value)
    assert "invalid JSON" in str(info.value)


def test_missing_file_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "nosuch.geojson"
    with pytest.raises(DataError, match=r"nosuch\.geojson"):
        read_layer(path)


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ('{"type": "Feature", "properties": {}, "geometry": null}', "FeatureCollection"),
        ("[1, 2]", "FeatureCollection"),
        ('{"type": "FeatureCollection", "features": {}}', "features must be a list"),
        ('{"type": "FeatureCollection", "features": [{"type": "Point"}]}', "feature 0"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", '
            '"properties": [1], "geometry": null}]}',
            "feature 0",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
            '"geometry": {"type": "Point", "coordinates": "x"}}]}',
            "broken geometry",
        ),
    ],
)
def test_malformed_layers_raise_data_error(tmp_path: Path, doc: str, match: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(doc, "utf-8")
    with pytest.raises(DataError, match=match) as info:
        read_layer(path)
    assert "bad.geojson" in str(info.value)


def test_empty_collection_round_trips(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"code": []}, geometry=[], crs="EPSG:4326")
    path = tmp_path / "empty.geojson"
    path.write_bytes(dumps_layer(gdf))
    assert json.loads(path.read_bytes()) == {"type": "FeatureCollection", "features": []}
    assert len(read_layer(path)) == 0


_PROPS = {
    "same keys": ['{"a":1,"b":"x"}', '{"a":2,"b":null}', '{"a":null,"b":"y"}'],
    "order changes": ['{"a":1,"b":"x"}', '{"b":"z","a":2}', '{"a":3,"b":"y"}'],
    "key missing, key added": ['{"a":1,"b":"x"}', '{"a":2}', '{"a":3,"b":"y","c":true}'],
    "all empty": ["{}", "{}", "{}"],
    "empty first": ["{}", '{"a":1}', "{}"],
    "empty later": ['{"a":1}', "{}", '{"a":2}'],
    "nested and mixed": ['{"a":[1,2],"b":{"k":1}}', '{"a":"s","b":1.5}'],
    "every type": ['{"a":1,"b":1.5,"c":true,"d":"t"}', '{"a":2,"b":2,"c":false,"d":null}'],
    "ints then text": ['{"a":1}', '{"a":1.0}', '{"a":"x"}'],
}


@pytest.mark.parametrize("props", _PROPS.values(), ids=list(_PROPS))
def test_fast_reader_builds_the_general_readers_frame(props: list[str]) -> None:
    """The one-feature-per-line reader keeps properties as tuples while every feature has the
    same keys in the same order (memory at 1 M parcels), else as dicts: either way the
    frame is the one the general reader builds (columns, dtypes, values)."""
    import orjson

    from geomap.geojson_io import _read_canonical, layer_from_mapping

    data = (
        '{"type":"FeatureCollection","features":[\n'
        + ",\n".join(
            f'{{"type":"Feature","properties":{p},"geometry":'
            f'{{"type":"Point","coordinates":[119.{i},28.4]}}}}'
            for i, p in enumerate(props)
        )
        + "\n]}\n"
    ).encode()
    fast = _read_canonical(data)
    assert fast is not None  # the fast path did read it
    general = layer_from_mapping(orjson.loads(data), "x.geojson")
    pd.testing.assert_frame_equal(fast, general, check_exact=True)
    assert list(fast.dtypes) == list(general.dtypes)
    assert fast.columns.dtype == general.columns.dtype
