"""Spec parsing: every problem in a file is collected into one SpecError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from geomap.atlas import Atlas
from geomap.errors import SpecError
from geomap.spec import (
    FieldDef,
    Join,
    MapSpec,
    Rollup,
    load_toml,
    parse_layer_meta,
    parse_map_spec,
    parse_table_meta,
)

PATH = Path("maps/test.toml")


def map_problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_map_spec("test", data, PATH)
    return info.value.problems


def style_problems(style: dict[str, Any]) -> list[str]:
    return map_problems({"title": "图", "layers": [{"layer": "villages", "style": style}]})


def keys_of(problems: list[str]) -> list[str]:
    """The location each problem names (text before the first ': ')."""
    return sorted(p.split(": ", 1)[0] for p in problems)


def single_map(style: dict[str, Any]) -> MapSpec:
    return parse_map_spec("test", {"title": "图", "layers": [{"layer": "v", "style": style}]}, PATH)


# -- several problems, one error --------------------------------------------------------


def test_map_spec_with_many_problems_raises_one_error_listing_all() -> None:
    data = {
        "titel": "村集体经济",  # typo: unknown key, and so title is missing
        "layers": [
            {
                "layer": "Bad Name",
                "stlye": {},
                "style": {
                    "type": "choropleth",
                    "scheme": "jenks",
                    "k": 12,
                    "color": "red",
                },
            }
        ],
    }
    with pytest.raises(SpecError) as info:
        parse_map_spec("test", data, PATH)
    err = info.value
    assert err.path == PATH
    assert keys_of(err.problems) == sorted(
        [
            "titel",
            "title",
            "layers[0].layer",
            "layers[0].stlye",
            "layers[0].style.scheme",
            "layers[0].style.k",
            "layers[0].style.color",
            "layers[0].style.column",
        ]
    )
    assert len(err.problems) == 8
    text = "\n".join(err.problems)
    assert "unknown key" in text
    assert "required key is missing" in text
    assert "jenks" in text
    assert "got 12" in text
    # The message carries the count and every problem.
    assert "8 处问题" in str(err)
    for problem in err.problems:
        assert problem in str(err)


def test_layer_meta_with_many_problems_lists_them_all() -> None:
    data = {
        "title": 5,
        "kind": "town",
        "parent": "Villages",
        "tiles_parent": "yes",
        "colour": "red",
        "fields": {"name": "名称", "code": {"lable": "编码"}},
    }
    with pytest.raises(SpecError) as info:
        parse_layer_meta("villages", data, Path("layers/villages.toml"))
    problems = info.value.problems
    assert keys_of(problems) == sorted(
        [
            "title",
            "key",
            "kind",
            "parent",
            "tiles_parent",
            "colour",
            "fields.name",
            "fields.code.lable",
        ]
    )
    assert len(problems) == 8
    kind = next(p for p in problems if p.startswith("kind"))
    assert "'town'" in kind and "village" in kind


def test_table_meta_with_many_problems_lists_them_all() -> None:
    data = {
        "keys": "code",
        "columns": {
            "x": {"type": "float"},
            "y": {"label": "收入", "year": "2022", "units": "万元"},
            "z": "文本",
        },
    }
    with pytest.raises(SpecError) as info:
        parse_table_meta("economy", data, Path("data/economy.toml"))
    problems = info.value.problems
    assert keys_of(problems) == sorted(
        [
            "title",
            "key",
            "keys",
            "columns.x.label",
            "columns.x.type",
            "columns.y.year",
            "columns.y.units",
            "columns.z",
        ]
    )
    assert len(problems) == 8
    assert any("float" in p and "text | number | integer" in p for p in problems)


def test_valid_layer_and_table_meta_parse() -> None:
    meta = parse_layer_meta(
        "villages",
        {
            "title": "行政村",
            "kind": "village",
            "key": "code",
            "parent": "subdistrict",
            "tiles_parent": True,
            "fields": {"owner": {"label": "户主", "private": True}, "area": {"unit": "亩"}},
        },
        Path("x.toml"),
    )
    assert (meta.name, meta.title, meta.kind, meta.key, meta.name_field) == (
        "villages",
        "行政村",
        "village",
        "code",
        "name",
    )
    assert meta.tiles_parent is True
    assert meta.fields["owner"] == FieldDef(label="户主", private=True)
    assert meta.is_private("owner") and not meta.is_private("area")
    assert meta.label("owner") == "户主" and meta.label("area") == "area"
    assert meta.unit("area") == "亩"

    table = parse_table_meta(
        "economy",
        {
            "title": "村集体经济",
            "key": "code",
            "columns": {"income": {"label": "收入", "type": "number", "year": 2022}},
        },
        Path("y.toml"),
    )
    assert table.columns["income"].type == "number"
    assert table.columns["income"].year == 2022


# -- TOML syntax ------------------------------------------------------------------------


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('title = "图"\n\n[[layers]]\nlayer = \n', encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_toml(path)
    assert info.value.path == path
    assert len(info.value.problems) == 1
    assert "line 4" in info.value.problems[0]
    assert str(path) in str(info.value)


def test_toml_syntax_error_through_atlas_map_spec(tmp_path: Path) -> None:
    (tmp_path / "layers").mkdir()
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "bad.toml").write_text('title = "图"\nbasemap = "amap\n', "utf-8")
    with pytest.raises(SpecError) as info:
        Atlas(tmp_path).map_spec("bad")
    assert "line 2" in str(info.value)
    assert "bad.toml" in str(info.value)


def test_non_utf8_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "gbk.toml"
    path.write_bytes('title = "行政村"\n'.encode("gbk"))
    with pytest.raises(SpecError, match="UTF-8"):
        load_toml(path)


def test_utf8_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + 'title = "行政村"\n'.encode())
    assert load_toml(path) == {"title": "行政村"}


# -- unknown keys -----------------------------------------------------------------------


def test_unknown_keys_are_reported_at_every_level() -> None:
    problems = map_problems(
        {
            "title": "图",
            "basemapp": "amap",
            "layers": [
                {
                    "layer": "villages",
                    "tooltips": ["name"],
                    "join": {"table": "economy", "on": "code", "how": "left"},
                    "rollup": {"from": "houses", "count": "n", "avg": {"x": "y"}},
                    "style": {"type": "single", "colour": "#123456"},
                }
            ],
        }
    )
    assert keys_of(problems) == sorted(
        [
            "basemapp",
            "layers[0].tooltips",
            "layers[0].join.how",
            "layers[0].rollup.avg",
            "layers[0].style.colour",
        ]
    )
    assert all("unknown key" in p for p in problems)


# -- styles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "where"),
    [
        ({"type": "single", "color": "red"}, "layers[0].style.color"),
        ({"type": "single", "color": "#12345"}, "layers[0].style.color"),
        ({"type": "single", "fill_color": "#gggggg"}, "layers[0].style.fill_color"),
        (
            {"type": "categorical", "column": "status", "colors": {"完工": "green"}},
            "layers[0].style.colors.完工",
        ),
    ],
)
def test_bad_colours_are_reported(style: dict[str, Any], where: str) -> None:
    problems = style_problems(style)
    assert keys_of(problems) == [where]
    assert "#rrggbb" in problems[0]


def test_good_colours_are_kept() -> None:
    spec = single_map(
        {"type": "categorical", "column": "s", "colors": {"完工": "#2CA25F", "在建": "#fdae6b"}}
    )
    assert spec.layers[0].style.colors == {"完工": "#2CA25F", "在建": "#fdae6b"}
    assert list(spec.layers[0].style.colors) == ["完工", "在建"]


def test_bad_scheme_is_reported() -> None:
    problems = style_problems({"type": "choropleth", "column": "x", "scheme": "jenks"})
    assert keys_of(problems) == ["layers[0].style.scheme"]
    assert "natural_breaks" in problems[0]


def test_bad_style_type_is_reported() -> None:
    problems = style_problems({"type": "heatmap"})
    assert keys_of(problems) == ["layers[0].style.type"]


@pytest.mark.parametrize("k", [0, 1, 10, 100, -3])
def test_k_out_of_range_is_reported(k: int) -> None:
    problems = style_problems({"type": "choropleth", "column": "x", "k": k})
    assert keys_of(problems) == ["layers[0].style.k"]
    assert f"got {k}" in problems[0]


@pytest.mark.parametrize("k", [2, 5, 9])
def test_k_in_range_is_kept(k: int) -> None:
    assert single_map({"type": "choropleth", "column": "x", "k": k}).layers[0].style.k == k


def test_k_must_be_an_integer() -> None:
    problems = style_problems({"type": "choropleth", "column": "x", "k": "5"})
    assert keys_of(problems) == ["layers[0].style.k"]


def test_user_defined_without_bins_is_reported() -> None:
    problems = style_problems({"type": "choropleth", "column": "x", "scheme": "user_defined"})
    assert keys_of(problems) == ["layers[0].style.bins"]
    assert "user_defined" in problems[0]


def test_user_defined_with_bins_parses_as_floats() -> None:
    spec = single_map(
        {"type": "choropleth", "column": "x", "scheme": "user_defined", "bins": [10, 20.5, 50]}
    )
    assert spec.layers[0].style.bins == (10.0, 20.5, 50.0)


def test_non_numeric_bins_are_reported() -> None:
    problems = style_problems(
        {"type": "choropleth", "column": "x", "scheme": "user_defined", "bins": [1, "two"]}
    )
    assert keys_of(problems) == ["layers[0].style.bins"]


@pytest.mark.parametrize("stype", ["choropleth", "categorical"])
def test_style_without_column_is_reported(stype: str) -> None:
    problems = style_problems({"type": stype})
    assert keys_of(problems) == ["layers[0].style.column"]
    assert stype in problems[0]


# -- layers, joins, rollups ---------------------------------------------------------------


def test_map_without_layers_is_reported() -> None:
    assert keys_of(map_problems({"title": "图"})) == ["layers"]
    assert keys_of(map_problems({"title": "图", "layers": []})) == ["layers"]


def test_join_and_rollup_problems() -> None:
    problems = map_problems(
        {
            "title": "图",
            "layers": [
                {"layer": "a", "join": {"table": "../economy"}},
                {"layer": "b", "rollup": {"from": "houses"}},
                {"layer": "c", "rollup": {"from": "houses", "count": "c", "sum": {"n": 3}}},
            ],
        }
    )
    assert keys_of(problems) == sorted(
        [
            "layers[0].join.table",
            "layers[0].join.on",
            "layers[1].rollup.count",
            "layers[2].rollup.sum.n",
        ]
    )


def test_join_and_rollups_parse() -> None:
    spec = parse_map_spec(
        "m",
        {
            "title": "图",
            "layers": [
                {
                    "layer": "villages",
                    "join": {"table": "economy", "on": "code"},
                    "rollup": [
                        {"from": "houses", "count": "houses"},
                        {"from": "parcels", "sum": {"area": "mu"}, "mean": {"avg": "mu"}},
                    ],
                }
            ],
        },
        PATH,
    )
    layer = spec.layers[0]
    assert layer.join == Join(table="economy", on="code")
    assert layer.rollup == (
        Rollup(source="houses", count="houses"),
        Rollup(source="parcels", sum={"area": "mu"}, mean={"avg": "mu"}),
    )


def test_minimal_spec_parses_with_defaults() -> None:
    spec = parse_map_spec("minimal", {"title": "最简", "layers": [{"layer": "villages"}]}, PATH)
    assert spec.name == "minimal"
    assert spec.title == "最简"
    assert spec.subtitle is None and spec.description is None
    assert spec.basemap is None
    assert spec.basemaps == () and spec.sources == ()
    assert len(spec.layers) == 1
    layer = spec.layers[0]
    assert layer.layer == "villages"
    assert layer.title is None
    assert layer.tooltip is None
    assert layer.popup is True and layer.show is True and layer.search is True
    assert layer.cluster is False
    assert layer.labels is None
    assert layer.join is None and layer.rollup == ()
    style = layer.style
    assert style.type == "single"
    assert style.column is None
    assert style.fill is True
    assert style.scheme == "quantiles" and style.k == 5 and style.bins == ()
    assert style.colors == {}


def test_minimal_spec_file_from_sample_atlas(tmp_path: Path) -> None:
    import sample_atlas

    root = sample_atlas.build(tmp_path / "atlas")
    spec = Atlas(root).map_spec("minimal")
    assert spec.title == "最简地图"
    assert [layer.layer for layer in spec.layers] == ["villages"]
    assert spec.layers[0].style.type == "single"
