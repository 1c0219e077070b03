"""Styles computed once in Python: a class index per feature, a palette, and a legend.

The browser then styles each feature by looking up its class in a short list of style
objects, which is far cheaper than one style function result per feature.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from branca.utilities import color_brewer

from geomap.errors import DataError
from geomap.spec import LayerMeta, Style

NO_DATA_COLOR = "#d9d9d9"
DEFAULT_COLORS = {"polygon": "#3366cc", "line": "#d95f02", "point": "#7b3294"}
# Fixed colours for the statuses planners use, so every map shows them alike.
STATUS_COLORS = {"完工": "#2ca25f", "在建": "#fdae6b", "计划": "#9ecae1", "已验收": "#2ca25f"}
QUALITATIVE = "Set2"


def _palette_names() -> tuple[str, ...]:
    """Every palette ``palette =`` accepts: branca's ColorBrewer table, each also reversed
    with ``_r``."""
    import json

    from branca.utilities import rootpath

    with open(f"{rootpath}/scheme_base_codes.json", encoding="utf-8") as fh:
        codes = [str(c) for c in json.load(fh)["codes"]]
    return tuple(sorted([*codes, *(f"{c}_r" for c in codes)], key=str.lower))


#: The palette names (ColorBrewer, from branca's table, and their ``_r`` reversals).
PALETTES = _palette_names()


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str


@dataclass(frozen=True)
class Styled:
    """A layer's styling: ``classes[i]`` indexes ``colors`` (-1: no data)."""

    classes: np.ndarray
    colors: list[str]
    legend_title: str | None
    legend: list[LegendItem]


def _palette(name: str | None, n: int, qualitative: bool) -> list[str]:
    """``n`` ColorBrewer colours (branca's table; qualitative schemes are cycled)."""
    scheme = name or (QUALITATIVE if qualitative else "YlOrRd")
    try:
        if qualitative:
            base = color_brewer(scheme, max(3, min(n, 8)))
            return [base[i % len(base)] for i in range(n)]
        colors = list(color_brewer(scheme, max(n, 3)))  # ColorBrewer starts at 3 classes
        return colors[-n:]
    except (ValueError, KeyError):
        raise DataError(
            f"调色板 {scheme!r} 不存在 (unknown ColorBrewer palette); try YlGn, YlOrRd, Blues, "
            "Greens, Reds, Purples, Set2, Paired"
        ) from None


def _fmt(value: float) -> str:
    """Class bounds for people: no trailing zeros, thousands separators, 2 decimals at most."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _title(meta: LayerMeta, column: str, labels: dict[str, tuple[str, str | None]]) -> str:
    label, unit = labels.get(column, (meta.label(column), meta.unit(column)))
    return f"{label}（{unit}）" if unit else label


def single(style: Style, geom_type: str, n: int, title: str) -> Styled:
    color = style.color or DEFAULT_COLORS.get(geom_type, "#3366cc")
    return Styled(
        np.zeros(n, dtype=np.int32),
        [style.fill_color or color],
        None,
        [LegendItem(title, style.fill_color or color)],
    )


def categorical(style: Style, values: pd.Series, title: str) -> Styled:
    assert style.column is not None
    text = [
        None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in values
    ]
    seen = sorted({v for v in text if v is not None})
    # Declared colours first, in their declared order; then the rest alphabetically.
    order = [c for c in style.colors if c in seen] + [c for c in seen if c not in style.colors]
    missing = [c for c in order if c not in style.colors and c not in STATUS_COLORS]
    fallback = dict(zip(missing, _palette(style.palette, len(missing), True), strict=True))
    colors = [style.colors.get(c) or STATUS_COLORS.get(c) or fallback[c] for c in order]
    index = {c: i for i, c in enumerate(order)}
    classes = np.array([index.get(v, -1) if v is not None else -1 for v in text], dtype=np.int32)
    legend = [LegendItem(c, col) for c, col in zip(order, colors, strict=True)]
    if (classes < 0).any():
        legend.append(LegendItem("无数据", NO_DATA_COLOR))
    return Styled(classes, colors, title, legend)


def class_bounds(style: Style, data: np.ndarray) -> list[float]:
    """Upper class bounds of a choropleth for the finite values ``data`` (the spec's scheme)."""
    # Imported here: mapclassify pulls in scipy and scikit-learn (~1.8 s), which only
    # choropleths need, so `geomap --help`, `check` and `add` start fast.
    import mapclassify

    k = min(style.k, len(np.unique(data)))
    if style.scheme == "user_defined":
        bins = sorted(style.bins)
        if bins[-1] < data.max():
            bins.append(float(data.max()))
        classifier = mapclassify.UserDefined(data, bins)
    elif k < 2:
        classifier = mapclassify.UserDefined(data, [float(data.max())])
    elif style.scheme == "natural_breaks":
        # Fisher-Jenks is the exact, deterministic natural-breaks optimum (NaturalBreaks is
        # k-means with random starts, so two renders could differ).
        with warnings.catch_warnings():  # "Numba not installed": pure Python is fast enough here
            warnings.simplefilter("ignore", UserWarning)
            classifier = mapclassify.FisherJenks(data, k=k)
    elif style.scheme == "equal_interval":
        classifier = mapclassify.EqualInterval(data, k=k)
    else:
        classifier = mapclassify.Quantiles(data, k=k)
    return [float(b) for b in classifier.bins]


def choropleth(
    style: Style,
    values: pd.Series,
    title: str,
    unit: str | None,
    pool: pd.Series | None = None,
) -> Styled:
    """Classes of ``values``; the breaks and legend come from ``pool`` when given (e.g. all
    years of an indicator, so that one year's colours compare with another's)."""
    assert style.column is not None
    y = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(y)
    p = y if pool is None else pd.to_numeric(pool, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(p).any():
        raise DataError(
            f"分级列 {style.column!r} 没有数值 (choropleth column has no numbers); check the "
            "join and the column's type in the table definition"
        )
    data = p[np.isfinite(p)]
    upper = class_bounds(style, data)
    n = len(upper)
    colors = _palette(style.palette or "YlOrRd", n, False)
    classes = np.full(len(y), -1, dtype=np.int32)
    classes[finite] = np.minimum(
        np.searchsorted(np.asarray(upper), y[finite], side="left"), n - 1
    ).astype(np.int32)
    # Counts read better as 0, 1, 2–3 than as 0–0, 0–1, 1–3: with whole-number data a class
    # holds the integers above the previous bound up to its own.
    if np.all(np.mod(data, 1) == 0):
        hi_bounds = [float(np.floor(u)) for u in upper]
        lower = [float(data.min()), *(h + 1 for h in hi_bounds[:-1])]
    else:
        hi_bounds = upper
        lower = [float(data.min()), *upper[:-1]]
    suffix = f" {unit}" if unit else ""
    legend = [
        LegendItem((f"{_fmt(lo)} – {_fmt(hi)}" if lo < hi else _fmt(hi)) + suffix, colors[i])
        for i, (lo, hi) in enumerate(zip(lower, hi_bounds, strict=True))
    ]
    if (~finite).any():
        legend.append(LegendItem("无数据", NO_DATA_COLOR))
    return Styled(classes, colors, title, legend)


def style_layer(
    style: Style,
    frame: pd.DataFrame,
    meta: LayerMeta,
    geom_type: str,
    layer_title: str,
    labels: dict[str, tuple[str, str | None]],
) -> Styled:
    """Compute the classes, palette and legend of one map layer."""
    if style.type == "single":
        return single(style, geom_type, len(frame), layer_title)
    column = style.column or ""
    if column not in frame.columns:
        raise DataError(
            f"图层 {meta.name} 的样式列 {column!r} 不存在 (style column not found); "
            f"columns: {', '.join(c for c in frame.columns if c != 'geometry')}"
        )
    title = f"{layer_title} · {_title(meta, column, labels)}"
    if style.type == "categorical":
        return categorical(style, frame[column], title)
    unit = labels.get(column, (None, meta.unit(column)))[1]
    return choropleth(style, frame[column], title, unit)
