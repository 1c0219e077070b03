"""An indicator over several years: one column per year, and views for the page.

Form (documented in docs/formats.md): a table keeps one column per year, each with its
``year``; the columns of one indicator share an ``indicator`` name (e.g. ``income_2021`` and
``income_2022`` both ``indicator = "集体经济总收入"``). A map layer with ``years = true`` in a
choropleth style shows the indicator of its ``column`` with a year switch: one view per year,
all classified with the *same* class breaks (computed over every year's values) so colours
compare across years; with ``change = true`` two more views, the change from the first to
the last year in the unit and in per cent, on a diverging palette centred on zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geomap.errors import DataError
from geomap.spec import ColumnDef, Style
from geomap.style import LegendItem, Styled, _fmt, _palette, choropleth

CHANGE_PALETTE = "RdYlGn"  # red for a fall, green for a rise
CHANGE_CLASSES = 6  # three below zero, three above
# Names of the derived change columns (first → last year) added to a layer's data.
CHANGE_ABS = "__change"
CHANGE_PCT = "__change_pct"


@dataclass(frozen=True)
class Series:
    """The columns of one indicator, oldest year first."""

    indicator: str
    years: tuple[int, ...]
    columns: tuple[str, ...]


@dataclass(frozen=True)
class View:
    """One state of the year switch: its label, the column it shows, its classes and
    legend, and the columns its tooltip shows."""

    label: str
    column: str
    styled: Styled
    tooltip: tuple[str, ...]


def series_of(columns: Mapping[str, ColumnDef], column: str, where: str) -> Series:
    """The series ``column`` belongs to: the table columns sharing its ``indicator``."""
    cdef = columns.get(column)
    if cdef is None or not cdef.indicator or cdef.year is None:
        raise DataError(
            f"{where}: years = true 需要分级列 {column!r:.60} 在指标表中有 indicator 和 year "
            "(the style column must be a table column with `indicator` and `year`); add "
            'indicator = "…" and year = YYYY to each year\'s [columns.X] in data/<table>.toml'
        )
    members = sorted(
        (c.year, name)
        for name, c in columns.items()
        if c.indicator == cdef.indicator and c.year is not None
    )
    years = [y for y, _ in members]
    if len(set(years)) != len(years):
        raise DataError(
            f"{where}: 指标 {cdef.indicator!r:.60} 有两列同一年份 (two columns of one indicator "
            f"have the same year: {years}); give each year one column"
        )
    units = {columns[name].unit for _, name in members}
    if len(units) > 1:
        raise DataError(
            f"{where}: 指标 {cdef.indicator!r:.60} 各年份单位不同 (units differ across years: "
            f"{sorted(u or '' for u in units)}); use one unit for every year"
        )
    return Series(cdef.indicator, tuple(years), tuple(name for _, name in members))


def year_styled(
    style: Style,
    frame: pd.DataFrame,
    series: Series,
    column: str,
    title: str,
    unit: str | None,
) -> Styled:
    """The classes of one year's ``column``, with class breaks computed over every year."""
    pooled = pd.concat(
        [pd.to_numeric(frame[c], errors="coerce") for c in series.columns], ignore_index=True
    )
    return choropleth(style, frame[column], title, unit, pool=pooled)


def change_columns(frame: pd.DataFrame, series: Series) -> tuple[pd.Series, pd.Series]:
    """Change from the first to the last year: in the unit, and in per cent of the first."""
    first = pd.to_numeric(frame[series.columns[0]], errors="coerce")
    last = pd.to_numeric(frame[series.columns[-1]], errors="coerce")
    absolute = (last - first).round(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = ((last - first) / first.where(first != 0) * 100).round(2)
    return absolute, percent


def diverging(values: pd.Series, title: str, unit: str | None) -> Styled:
    """Classes symmetric about zero on a diverging palette: falls red, rises green."""
    y = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(y)
    m = float(np.abs(y[finite]).max()) if finite.any() else 0.0
    m = m or 1.0
    half = CHANGE_CLASSES // 2
    step = m / half
    # Bounds -m .. m in equal steps; class i holds (edge[i], edge[i+1]].
    edges = [-m + i * step for i in range(CHANGE_CLASSES + 1)]
    colors = _palette(CHANGE_PALETTE, CHANGE_CLASSES, False)
    classes = np.full(len(y), -1, dtype=np.int32)
    classes[finite] = np.clip(
        np.searchsorted(edges[1:], y[finite], side="left"), 0, CHANGE_CLASSES - 1
    ).astype(np.int32)
    suffix = f" {unit}" if unit else ""

    def signed(v: float) -> str:
        return ("+" if v > 0 else "") + _fmt(round(v, 2))

    legend = [
        LegendItem(f"{signed(edges[i])} – {signed(edges[i + 1])}{suffix}", colors[i])
        for i in range(CHANGE_CLASSES)
    ]
    if (~finite).any():
        legend.append(LegendItem("无数据", "#d9d9d9"))
    return Styled(classes, colors, title, legend)
