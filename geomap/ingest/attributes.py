"""Attribute checks used by `geomap add` and `geomap check`."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geomap.crs import (
    area_mu,
)
from geomap.errors import DataError
from geomap.ingest.common import AREA_FIELD_CANDIDATES
from geomap.ingest.resolve import _Labeller
from geomap.ingest.tables import _find_column

# --------------------------------------------------------------------------------------------
# Attribute checks used by `geomap add` and `geomap check`
# --------------------------------------------------------------------------------------------


def find_area_field(gdf: pd.DataFrame) -> str | None:
    """The declared-area column (亩) among :data:`AREA_FIELD_CANDIDATES`, case-insensitive.

    Returns
    -------
    str or None
        The first candidate present, in the order of :data:`AREA_FIELD_CANDIDATES`.
    """
    geometry = gdf.geometry.name if isinstance(gdf, gpd.GeoDataFrame) else None
    columns = [str(c) for c in gdf.columns if c != geometry]
    return _find_column(columns, AREA_FIELD_CANDIDATES)


def declared_area_warnings(
    gdf: pd.DataFrame,
    field: str | None = None,
    tolerance: float = 0.05,
    *,
    computed: NDArray[np.float64] | None = None,
) -> list[str]:
    """Compare a declared area field (亩) with the area computed in EPSG:4549.

    Parameters
    ----------
    gdf : GeoDataFrame or DataFrame
        WGS84 polygons, or their attributes when ``computed`` is given.
    field : str, optional
        The declared-area column; detected among :data:`AREA_FIELD_CANDIDATES`
        (``declared_mu``, ``area_mu``, ``面积``, ``亩``, ``mj``, case-insensitive) when None.
    tolerance : float
        Relative difference above which a feature is reported (0.05 = 5 %).
    computed : ndarray, optional
        The features' areas in 亩 (:func:`geomap.crs.area_mu`), when already measured.

    Returns
    -------
    list of str
        One message per feature beyond tolerance (plus one if the column looks like square
        metres or hectares); empty when there is no such field or no polygons.

    Raises
    ------
    DataError
        ``field`` given but not a column.
    """
    if field is None:
        field = find_area_field(gdf)
        if field is None:
            return []
    elif field not in gdf.columns:
        raise DataError(
            f"没有申报面积字段 {field!r} (no declared-area column {field!r}); 现有列 (columns): "
            f"{', '.join(str(c) for c in gdf.columns if c != 'geometry')}"
        )
    if len(gdf) == 0:
        return []
    if computed is None:
        computed = area_mu(gdf.geometry.values)
    declared = pd.to_numeric(gdf[field], errors="coerce").to_numpy(dtype=np.float64)
    label = _Labeller(gdf, None)
    out: list[str] = []
    usable = np.isfinite(declared) & (declared > 0) & (computed > 0)
    if usable.any():
        ratio = float(np.median(declared[usable] / computed[usable]))
        for unit, factor in (("平方米 m²", 10000 / 15), ("公顷 ha", 1 / 15)):
            if abs(ratio / factor - 1) < tolerance:
                return [
                    f"字段 {field!r} 的数值约为计算面积的 {ratio:.4g} 倍，单位似乎是{unit}而不是亩 "
                    f"(the {field!r} values look like {unit.split()[-1]}, not 亩)"
                ]
    values = gdf[field].to_numpy()
    measured = np.isfinite(computed) & (computed > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        beyond = ~(np.abs((computed - declared) / declared) <= tolerance)  # NaN/0/inf too
    for i in np.flatnonzero(measured & beyond).tolist():  # only the rows to report
        value = values[i]
        if not np.isfinite(declared[i]):
            if not pd.isna(value) and str(value).strip():
                out.append(
                    f"{label(i)}: 申报面积 {value!r} 不是数字 (declared area is not a number)"
                )
            continue
        diff = (computed[i] - declared[i]) / declared[i] if declared[i] else np.inf
        if abs(diff) > tolerance:
            out.append(
                f"{label(i)}: 申报 {declared[i]:.2f} 亩，计算 {computed[i]:.2f} 亩，相差 "
                f"{diff:+.1%} (declared vs computed area differ by more than {tolerance:.0%})"
            )
    return out


def duplicate_keys(gdf: pd.DataFrame, key: str) -> dict[Any, list[int]]:
    """Key values that occur more than once, with the row positions holding them.

    Parameters
    ----------
    gdf : DataFrame or GeoDataFrame
    key : str
        The key column.

    Returns
    -------
    dict
        ``{value: [row, row, ...]}`` for duplicated non-null values, in order of first
        appearance; empty when the key is unique. Text keys are compared after stripping
        whitespace, as planners cannot see trailing spaces.

    Raises
    ------
    DataError
        ``key`` is not a column.
    """
    if key not in gdf.columns:
        raise DataError(
            f"没有键字段 {key!r} (no key column {key!r}); 现有列 (columns): "
            f"{', '.join(str(c) for c in gdf.columns)}"
        )
    values = gdf[key]
    norm = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    positions: dict[Any, list[int]] = {}
    for pos, value in enumerate(norm):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
            continue
        positions.setdefault(value, []).append(pos)
    return {k: v for k, v in positions.items() if len(v) > 1}
