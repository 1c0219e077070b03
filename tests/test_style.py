"""Styles: class indices, palettes and legends computed in Python."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from branca.utilities import color_brewer

from geomap.errors import DataError
from geomap.spec import FieldDef, LayerMeta, Style
from geomap.style import (
    NO_DATA_COLOR,
    STATUS_COLORS,
    categorical,
    choropleth,
    single,
    style_layer,
)

NAN = float("nan")


def choro(values: list[float], unit: str | None = "万元", **kwargs: Any):
    style = Style(type="choropleth", column="x", **kwargs)
    return choropleth(style, pd.Series(values), "收入", unit)


def labels(styled) -> list[str]:
    return [item.label for item in styled.legend]


# Whole-number data: each class holds the integers above the previous bound (0–5, 6–10).
# -- choropleth schemes ------------------------------------------------------------------


def test_quantiles() -> None:
    s = choro(list(range(1, 11)), scheme="quantiles", k=2)
    assert s.classes.tolist() == [0] * 5 + [1] * 5
    assert labels(s) == ["1 – 5 万元", "6 – 10 万元"]
    assert len(s.colors) == 2
    assert [item.color for item in s.legend] == s.colors
    assert s.legend_title == "收入"


def test_quantiles_four_classes() -> None:
    s = choro([10, 20, 30, 40, 50, 60, 70, 80], scheme="quantiles", k=4)
    assert s.classes.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert labels(s) == ["10 – 27 万元", "28 – 45 万元", "46 – 62 万元", "63 – 80 万元"]


def test_equal_interval() -> None:
    s = choro(list(range(0, 11)), scheme="equal_interval", k=2)
    assert s.classes.tolist() == [0] * 6 + [1] * 5  # 5 is the upper bound of class 0
    assert labels(s) == ["0 – 5 万元", "6 – 10 万元"]


def test_natural_breaks_fisher_jenks() -> None:
    values = [1, 2, 3, 10, 11, 12, 50]
    s = choro(values, scheme="natural_breaks", k=3)
    assert s.classes.tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert labels(s) == ["1 – 3 万元", "4 – 12 万元", "13 – 50 万元"]


def test_natural_breaks_is_deterministic() -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(10, 2, 60), rng.normal(40, 5, 60), rng.normal(90, 3, 30)])
    runs = [choro(values.tolist(), scheme="natural_breaks", k=5) for _ in range(2)]
    assert np.array_equal(runs[0].classes, runs[1].classes)
    assert labels(runs[0]) == labels(runs[1])
    assert runs[0].colors == runs[1].colors
    assert len(set(runs[0].classes.tolist())) == 5


def test_user_defined_bins_extended_to_max() -> None:
    s = choro(list(range(1, 11)), scheme="user_defined", bins=(3.0, 6.0))
    assert s.classes.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    assert labels(s) == ["1 – 3 万元", "4 – 6 万元", "7 – 10 万元"]


def test_user_defined_bins_sorted_and_kept_above_max() -> None:
    s = choro([5, 15, 25], scheme="user_defined", bins=(30.0, 10.0, 20.0))
    assert s.classes.tolist() == [0, 1, 2]
    assert labels(s) == ["5 – 10 万元", "11 – 20 万元", "21 – 30 万元"]


def test_legend_without_unit_and_number_formatting() -> None:
    s = choro([1000, 2500.5, 12345.678], unit=None, scheme="equal_interval", k=2)
    assert s.classes.tolist() == [0, 0, 1]
    assert labels(s) == ["1,000 – 6,672.84", "6,672.84 – 12,345.68"]


def test_k_capped_by_distinct_values() -> None:
    s = choro([1, 1, 2, 2], scheme="quantiles", k=5)
    assert s.classes.tolist() == [0, 0, 1, 1]
    assert len(s.colors) == 2
    one = choro([3, 3, 3], scheme="natural_breaks", k=5)
    assert one.classes.tolist() == [0, 0, 0]
    assert labels(one) == ["3 万元"]


def test_palette_is_the_named_colorbrewer_ramp() -> None:
    s = choro(list(range(1, 11)), scheme="quantiles", k=5, palette="YlGn")
    assert s.colors == list(color_brewer("YlGn", 5))
    # Lighter colours for smaller values: the ramp's first colour is class 0.
    assert s.legend[0].color == color_brewer("YlGn", 5)[0]


# -- no data -----------------------------------------------------------------------------


def test_nan_values_get_class_minus_one_and_no_data_legend() -> None:
    s = choro([1, NAN, 2, 3, None, 4], scheme="quantiles", k=2)
    assert s.classes.tolist() == [0, -1, 0, 1, -1, 1]
    assert s.legend[-1].label == "无数据"
    assert s.legend[-1].color == NO_DATA_COLOR
    assert len(s.legend) == 3
    assert len(s.colors) == 2  # no-data is not a class colour


def test_non_numeric_text_is_no_data() -> None:
    s = choro(["1", "2", "n/a", "4"], scheme="equal_interval", k=3)
    assert s.classes[2] == -1
    assert labels(s)[-1] == "无数据"


def test_no_data_legend_only_when_needed() -> None:
    assert "无数据" not in labels(choro([1, 2, 3, 4], k=2))


def test_all_missing_raises() -> None:
    with pytest.raises(DataError, match="'x'"):
        choro([NAN, None], k=3)


# -- categorical -------------------------------------------------------------------------


def test_categorical_fixed_colours_keep_declared_order_and_others_from_palette() -> None:
    style = Style(
        type="categorical",
        column="s",
        colors={"计划": "#00ff00", "在建": "#ff0000", "缺席": "#0000ff"},
    )
    values = pd.Series(["甲", "在建", "乙", "计划", "在建"])
    s = categorical(style, values, "状态")
    # Declared (and present) first, in declared order; then the rest sorted.
    assert labels(s) == ["计划", "在建", "乙", "甲"]
    assert s.colors[:2] == ["#00ff00", "#ff0000"]
    set2 = list(color_brewer("Set2", 3))
    assert s.colors[2:] == set2[:2]
    assert s.classes.tolist() == [3, 1, 2, 0, 1]
    assert [item.color for item in s.legend] == s.colors
    assert "缺席" not in labels(s)  # declared but absent: not in the legend
    assert "无数据" not in labels(s)


def test_categorical_status_colours_are_fixed() -> None:
    s = categorical(Style(type="categorical", column="s"), pd.Series(["完工", "在建", "其他"]), "t")
    colors = dict(zip(labels(s), s.colors, strict=True))
    assert colors["完工"] == STATUS_COLORS["完工"]
    assert colors["在建"] == STATUS_COLORS["在建"]
    assert colors["其他"] == color_brewer("Set2", 3)[0]


def test_categorical_named_palette_for_the_rest() -> None:
    style = Style(type="categorical", column="s", colors={"a": "#111111"}, palette="Dark2")
    s = categorical(style, pd.Series(["a", "b", "c"]), "t")
    assert s.colors == ["#111111", *list(color_brewer("Dark2", 3))[:2]]


def test_categorical_missing_values_are_no_data() -> None:
    style = Style(type="categorical", column="s", colors={"完工": "#2ca25f"})
    s = categorical(style, pd.Series(["完工", None, "计划", np.nan]), "t")
    assert s.classes.tolist() == [0, -1, 1, -1]
    assert labels(s) == ["完工", "计划", "无数据"]
    assert s.legend[-1].color == NO_DATA_COLOR


# -- palettes and dispatch -----------------------------------------------------------------


def test_unknown_palette_raises_data_error() -> None:
    with pytest.raises(DataError, match="NoSuchPalette"):
        choro([1, 2, 3, 4], k=2, palette="NoSuchPalette")
    with pytest.raises(DataError, match="NoSuchPalette"):
        categorical(
            Style(type="categorical", column="s", palette="NoSuchPalette"),
            pd.Series(["x", "y"]),
            "t",
        )


def test_single_style() -> None:
    s = single(Style(type="single", color="#123456"), "polygon", 3, "行政村")
    assert s.classes.tolist() == [0, 0, 0]
    assert s.colors == ["#123456"]
    assert labels(s) == ["行政村"]
    filled = single(Style(color="#123456", fill_color="#abcdef"), "polygon", 1, "x")
    assert filled.colors == ["#abcdef"]
    assert single(Style(), "line", 1, "x").colors == ["#d95f02"]


META = LayerMeta(
    name="villages",
    title="行政村",
    kind="village",
    key="code",
    fields={"income": FieldDef(label="收入", unit="万元")},
)


def test_style_layer_uses_labels_and_units() -> None:
    frame = pd.DataFrame({"income": [1.0, 2.0, 3.0, 4.0], "status": ["完工"] * 4})
    s = style_layer(
        Style(type="choropleth", column="income", k=2), frame, META, "polygon", "行政村", {}
    )
    assert s.legend_title == "行政村 · 收入（万元）"
    assert labels(s)[0].endswith(" 万元")
    # Table labels (from a join) win over the layer's.
    t = style_layer(
        Style(type="choropleth", column="income", k=2),
        frame,
        META,
        "polygon",
        "行政村",
        {"income": ("集体经济收入", "元")},
    )
    assert t.legend_title == "行政村 · 集体经济收入（元）"
    assert labels(t)[0].endswith(" 元")
    c = style_layer(Style(type="categorical", column="status"), frame, META, "polygon", "村", {})
    assert c.legend_title == "村 · status"


def test_style_layer_missing_column_raises() -> None:
    frame = pd.DataFrame({"income": [1.0]})
    with pytest.raises(DataError, match="'nosuch'"):
        style_layer(Style(type="choropleth", column="nosuch"), frame, META, "polygon", "t", {})
