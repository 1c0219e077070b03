"""Attribute joins of indicator tables onto layers, and spatial roll-ups.

Neither operation ever drops or multiplies a feature silently: every unmatched or duplicate
key is reported in the returned warnings, which ``render`` prints and ``check`` lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geomap.atlas import Layer, Table
from geomap.errors import DataError
from geomap.spec import Rollup
from geomap.text import key_text, listing


@dataclass(frozen=True)
class JoinReport:
    """What an attribute join matched and what it could not."""

    layer: str
    table: str
    matched: int
    unmatched_layer: tuple[str, ...] = ()
    unmatched_table: tuple[str, ...] = ()
    duplicate_table_keys: tuple[str, ...] = ()
    overridden_columns: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def _keys(series: pd.Series) -> pd.Series:
    """Keys compared as trimmed text, so 101, 101.0 and "101" match and empty never does."""
    return pd.Series([key_text(v) for v in series], index=series.index, dtype=object)


HIDDEN_KEYS = "（键值属私密数据，不显示 keys not shown: they are private）"


def keys_are_private(layer: Layer, table: Table, on: str) -> bool:
    """True when the join keys are private or look personal (resident IDs as keys): then no
    message may quote them."""
    from geomap.privacy import personal_kind

    cdef = table.meta.columns.get(table.meta.key)
    return bool(
        layer.meta.is_private(on)
        or (cdef is not None and cdef.private)
        or (on in layer.gdf.columns and personal_kind(layer.gdf[on]))
        or (table.meta.key in table.df.columns and personal_kind(table.df[table.meta.key]))
    )


def attribute_join(
    layer: Layer, table: Table, on: str, *, hide_keys: bool = False
) -> tuple[gpd.GeoDataFrame, JoinReport]:
    """Join ``table`` onto ``layer`` where ``layer[on] == table[table.key]``.

    Duplicate table keys keep their first row (and are reported); layer features without a
    row keep empty values (and are reported); table rows without a feature are reported.
    """
    gdf = layer.gdf
    if on not in gdf.columns:
        raise DataError(
            f"图层 {layer.meta.name} 没有列 {on!r} (layer has no column {on!r} to join on); "
            f"columns: {', '.join(c for c in gdf.columns if c != 'geometry')}"
        )
    tkey = table.meta.key
    right = table.df.copy()
    right["__key"] = _keys(right[tkey])
    keyless = int(right["__key"].isna().sum())
    right = right[right["__key"].notna()]  # a row without a key can match nothing
    dup_mask = right["__key"].duplicated(keep="first")
    duplicates = sorted(set(right.loc[dup_mask, "__key"]))
    right = right[~dup_mask]

    left_keys = _keys(gdf[on])
    matched_mask = left_keys.isin(set(right["__key"].dropna()))
    unmatched_layer = sorted({k for k in left_keys[~matched_mask] if isinstance(k, str)})
    missing_layer_keys = int(sum(not isinstance(k, str) for k in left_keys))
    unmatched_table = sorted(set(right["__key"].dropna()) - set(left_keys.dropna()))

    value_cols = [c for c in right.columns if c not in (tkey, "__key")]
    overridden = [c for c in value_cols if c in gdf.columns and c != on]
    joined = gdf.drop(columns=overridden).copy()
    lookup = right.set_index("__key")[value_cols]
    aligned = lookup.reindex(left_keys.to_numpy())
    for col in value_cols:
        joined[col] = aligned[col].to_numpy()

    where = f"{layer.meta.name} ← {table.meta.name}"
    warnings: list[str] = []
    if keyless:
        warnings.append(
            f"连接 {where}: 表中 {keyless} 行没有键，已忽略 (table rows without a key, ignored)"
        )
    if duplicates:
        warnings.append(
            f"连接 {where}: 表中键重复，仅使用第一行 (duplicate table keys, first row used): "
            + (HIDDEN_KEYS if hide_keys else listing(duplicates))
        )
    if unmatched_layer or missing_layer_keys:
        extra = (
            f"; {missing_layer_keys} 个要素无键 (features without a key)"
            if missing_layer_keys
            else ""
        )
        warnings.append(
            f"连接 {where}: {len(unmatched_layer)} 个要素在表中无对应行 (features with no table row): "
            + (HIDDEN_KEYS if hide_keys else listing(unmatched_layer))
            + extra
        )
    if unmatched_table:
        warnings.append(
            f"连接 {where}: {len(unmatched_table)} 行在图层中无对应要素 (table rows with no feature): "
            + (HIDDEN_KEYS if hide_keys else listing(unmatched_table))
        )
    if overridden:
        warnings.append(
            f"连接 {where}: 表中的列覆盖了图层同名列 (table columns replace layer columns): "
            + listing(overridden)
        )
    report = JoinReport(
        layer=layer.meta.name,
        table=table.meta.name,
        matched=int(matched_mask.sum()),
        unmatched_layer=tuple(unmatched_layer),
        unmatched_table=tuple(unmatched_table),
        duplicate_table_keys=tuple(duplicates),
        overridden_columns=tuple(overridden),
        warnings=tuple(warnings),
    )
    return gpd.GeoDataFrame(joined, geometry=gdf.geometry.name, crs=gdf.crs), report


def _anchor_points(source: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Points standing for each source feature: points as they are, polygons and lines by a
    point guaranteed to lie on them (so a feature is counted in exactly one target)."""
    geoms = source.geometry
    is_point = geoms.geom_type == "Point"
    anchors = geoms.where(is_point, geoms.representative_point())
    return gpd.GeoDataFrame(
        source.drop(columns=source.geometry.name), geometry=anchors.values, crs=source.crs
    )


def rollup(target: gpd.GeoDataFrame, source: Layer, spec: Rollup) -> gpd.GeoDataFrame:
    """Add count / sum / mean columns of ``source`` features falling inside each polygon of
    ``target``. A feature on a border shared by two polygons counts once (in the first)."""
    geoms = source.gdf.geometry.to_numpy()
    src = source.gdf[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    for out_name in [spec.count, *spec.sum, *spec.mean]:
        if out_name and (out_name == target.geometry.name or out_name == "geometry"):
            raise DataError(
                f"汇总结果列名 {out_name!r} 是几何列的保留名 (a rollup output cannot be named "
                f"{out_name!r}: that is the geometry); 换一个名称 (choose another name)"
            )
    for col in [*spec.sum.values(), *spec.mean.values()]:
        if col not in src.columns or col == src.geometry.name:
            raise DataError(
                f"汇总来源图层 {source.meta.name} 没有列 {col!r} (rollup source has no column "
                f"{col!r}); columns: {', '.join(c for c in src.columns if c != 'geometry')}"
            )
    points = _anchor_points(src)
    polys = gpd.GeoDataFrame(geometry=target.geometry.values, crs=target.crs)
    polys["__target"] = np.arange(len(polys))
    hits = gpd.sjoin(points, polys, how="inner", predicate="intersects")
    # A point on a shared border intersects both polygons: keep its first target only.
    hits = hits.sort_values("__target", kind="stable")
    hits = hits[~hits.index.duplicated(keep="first")]
    grouped = hits.groupby("__target")
    out = target.copy()
    index = np.arange(len(out))
    if spec.count:
        out[spec.count] = grouped.size().reindex(index, fill_value=0).to_numpy().astype(int)
    for name, col in spec.sum.items():
        values = pd.to_numeric(hits[col], errors="coerce")
        out[name] = values.groupby(hits["__target"]).sum().reindex(index, fill_value=0).to_numpy()
    for name, col in spec.mean.items():
        values = pd.to_numeric(hits[col], errors="coerce")
        out[name] = values.groupby(hits["__target"]).mean().reindex(index).to_numpy()
    return out
