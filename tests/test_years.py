"""Years: the table form (one column per year, shared `indicator`), the map keys (`years`,
`change`, `facets`, `hidden`), class breaks shared by every year, change views, and the
errors a planner gets for a wrong setup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sample_atlas
import tomli_w
from helpers import run

from geomap.atlas import Atlas
from geomap.errors import DataError, SpecError
from geomap.plan import plan_map
from geomap.spec import ColumnDef, parse_map_spec, parse_table_meta
from geomap.years import CHANGE_ABS, CHANGE_PCT, change_columns, diverging, series_of

PATH = Path("x.toml")


def problems(data: dict[str, Any], table: bool = False) -> list[str]:
    with pytest.raises(SpecError) as info:
        if table:
            parse_table_meta("t", data, PATH)
        else:
            parse_map_spec("m", data, PATH)
    return info.value.problems


def test_spec_keys_parse_and_wrong_use_is_reported() -> None:
    spec = parse_map_spec(
        "m",
        {
            "title": "图",
            "layers": [
                {
                    "layer": "v",
                    "facets": ["status"],
                    "hidden": ["完工"],
                    "style": {"type": "choropleth", "column": "x", "years": True, "change": True},
                }
            ],
        },
        PATH,
    )
    ml = spec.layers[0]
    assert ml.style.years and ml.style.change and ml.facets == ("status",)
    assert ml.hidden == ("完工",)
    found = problems(
        {
            "title": "图",
            "layers": [
                {"layer": "v", "facets": [1], "style": {"type": "single", "years": True}},
                {"layer": "w", "style": {"type": "choropleth", "column": "x", "change": True}},
            ],
        }
    )
    assert any(p.startswith("layers[0].facets") for p in found)
    assert any(p.startswith("layers[0].style.years") for p in found)
    assert any(p.startswith("layers[1].style.change") for p in found)
    # A table column with an indicator needs its year.
    found = problems(
        {"title": "t", "key": "k", "columns": {"a": {"label": "A", "indicator": "收入"}}},
        table=True,
    )
    assert found and found[0].startswith("columns.a.year")


def test_series_are_ordered_by_year_and_checked() -> None:
    cols = {
        "b": ColumnDef("2022年", "万元", 2022, indicator="收入"),
        "a": ColumnDef("2021年", "万元", 2021, indicator="收入"),
        "other": ColumnDef("别的", "万元", 2021, indicator="支出"),
    }
    s = series_of(cols, "b", "地图图层 v")
    assert s.years == (2021, 2022) and s.columns == ("a", "b")
    with pytest.raises(DataError, match="indicator"):
        series_of(cols | {"c": ColumnDef("无", "万元", 2022)}, "c", "地图图层 v")
    with pytest.raises(DataError, match="same year"):
        series_of(cols | {"d": ColumnDef("重复", "万元", 2022, indicator="收入")}, "b", "v")
    with pytest.raises(DataError, match="units differ"):
        series_of(cols | {"e": ColumnDef("元", "元", 2023, indicator="收入")}, "b", "v")


def test_change_columns_and_diverging_classes() -> None:
    frame = pd.DataFrame({"a": [100.0, 250.0, 80.0, 0.0], "b": [120.0, 200.0, 180.0, 5.0]})
    s = series_of(
        {
            "a": ColumnDef("2021", None, 2021, indicator="x"),
            "b": ColumnDef("2022", None, 2022, indicator="x"),
        },
        "b",
        "v",
    )
    absolute, percent = change_columns(frame, s)
    assert absolute.tolist() == [20.0, -50.0, 100.0, 5.0]
    assert percent.tolist()[:3] == [20.0, -20.0, 125.0] and np.isnan(percent.iloc[3])
    styled = diverging(absolute, "变化", "万元")
    assert len(styled.colors) == 6 and styled.colors[0] != styled.colors[-1]
    # Falls in the lower half (reds), rises in the upper half (greens).
    assert styled.classes.tolist() == [3, 1, 5, 3]
    assert styled.legend[0].label.startswith("-100") and styled.legend[-1].label.endswith("万元")


def years_atlas(root: Path, style: dict[str, Any], **layer: Any) -> Atlas:
    sample_atlas.build(root)
    sample_atlas.write(
        root / "data" / "inc.csv", "code,i21,i22\nV1,100,120\nV2,250,200\nV3,80,180\n"
    )
    col = {"unit": "万元", "type": "number", "indicator": "收入"}
    sample_atlas.write(
        root / "data" / "inc.toml",
        tomli_w.dumps(
            {
                "title": "收入",
                "key": "code",
                "columns": {
                    "code": {"label": "编码"},
                    "i21": {"label": "2021年收入", "year": 2021, **col},
                    "i22": {"label": "2022年收入", "year": 2022, **col},
                },
            }
        ),
    )
    spec = {
        "title": "年",
        "basemap": "none",
        "layers": [
            {
                "layer": "villages",
                "tooltip": ["name", "i21", "i22"],
                "join": {"table": "inc", "on": "code"},
                "style": style,
                **layer,
            }
        ],
    }
    (root / "maps" / "y.toml").write_text(tomli_w.dumps(spec), encoding="utf-8")
    return Atlas(root)


def test_every_year_uses_one_set_of_breaks(tmp_path: Path) -> None:
    style = {
        "type": "choropleth",
        "column": "i22",
        "k": 3,
        "scheme": "equal_interval",
        "years": True,
        "change": True,
    }
    atlas = years_atlas(tmp_path / "a", style)
    plan = plan_map(atlas, "y")
    assert plan.errors == []
    lp = plan.layers[0]
    labels = [v.label for v in lp.views]
    assert labels == ["2021年", "2022年", "变化", "变化率"] and lp.start_view == 1
    y21, y22 = lp.views[0].styled, lp.views[1].styled
    assert [i.label for i in y21.legend] == [i.label for i in y22.legend]
    assert y21.legend[0].label.startswith("80") and y21.legend[-1].label.startswith("194 – 250")
    assert y21.classes.tolist() == [0, 2, 0] and y22.classes.tolist() == [0, 2, 1]
    # Each view's tooltip shows its own column in place of the other year.
    assert lp.views[0].tooltip == ("name", "i21") and lp.views[1].tooltip == ("name", "i22")
    assert lp.views[2].tooltip == ("name", "i21", "i22", CHANGE_ABS)
    assert lp.views[3].tooltip[-1] == CHANGE_PCT
    assert lp.fields[CHANGE_ABS].label == "2021–2022年收入变化"
    assert lp.fields[CHANGE_PCT].unit == "%"
    # The page opens on the style's own year.
    assert lp.styled is lp.views[1].styled


def test_years_on_a_column_without_indicator_is_one_clear_error(tmp_path: Path) -> None:
    atlas = years_atlas(
        tmp_path / "a", {"type": "choropleth", "column": "households", "years": True}
    )
    result = run(atlas.root, "render", "y")
    assert result.exit_code == 1
    assert "years = true" in result.output and "indicator" in result.output


def test_hidden_must_name_a_category(tmp_path: Path) -> None:
    atlas = years_atlas(
        tmp_path / "a", {"type": "categorical", "column": "name"}, hidden=["没有这个村"]
    )
    result = run(atlas.root, "render", "y")
    assert result.exit_code == 1
    assert "没有这个村" in result.output and "西一村" in result.output


def test_check_reports_what_render_refuses(tmp_path: Path) -> None:
    from geomap.check import check_atlas

    bad_years = years_atlas(
        tmp_path / "a", {"type": "choropleth", "column": "households", "years": True}
    )
    codes = [(f.code, f.layer) for f in check_atlas(bad_years)]
    assert ("years-no-indicator", "maps/y") in codes
    bad_hidden = years_atlas(
        tmp_path / "b",
        {"type": "categorical", "column": "name"},
        hidden=["没有这个村"],
        facets=["nope"],
    )
    codes = [f.code for f in check_atlas(bad_hidden)]
    assert "unknown-category" in codes and "unknown-column" in codes
    good = years_atlas(
        tmp_path / "c",
        {"type": "choropleth", "column": "i22", "years": True, "change": True},
        facets=["name"],
    )
    assert not [f for f in check_atlas(good) if f.severity == "error"]
