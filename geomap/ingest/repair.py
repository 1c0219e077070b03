"""Geometry repair: invalid polygons made valid (or refused with --strict)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geomap.errors import DataError
from geomap.geojson_io import PRECISION, round_geometries
from geomap.ingest.common import _listing
from geomap.ingest.resolve import _Labeller


def _polygonal_part(geom: Any) -> Any:
    """Keep only the polygons of make_valid's output (it may add stray lines or points)."""
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    polys = [p for p in shapely.get_parts(shapely.get_parts(geom)) if shapely.get_type_id(p) == 3]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else shapely.multipolygons(polys)


def _repair_polygons(
    src: Path,
    geoms: NDArray[np.object_],
    strict: bool,
    label: _Labeller,
    notes: list[str],
) -> int:
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if invalid.size:
        reasons = [f"{label(int(i))}: {shapely.is_valid_reason(geoms[i])}" for i in invalid]
        if strict:
            raise DataError(
                f"{src}: {invalid.size} 个面要素几何无效 (invalid polygons, refused in strict "
                f"mode): {_listing(reasons, invalid.size)}; 请在 GIS 中修复（如 QGIS “修复几何”）"
                "后重新导出，或去掉 --strict 自动修复 (fix them in your GIS, or drop --strict)"
            )
        collapsed = []
        for i in invalid:
            fixed = _polygonal_part(shapely.make_valid(geoms[i]))
            if fixed is None or shapely.is_empty(fixed):
                collapsed.append(int(i))
            geoms[i] = fixed
        if collapsed:
            raise DataError(
                f"{src}: {len(collapsed)} 个面要素修复后面积为零 (invalid polygons with no area "
                f"left after repair): {label.many(collapsed)}; 请重画或删除 (redraw or delete them)"
            )
        notes.append(
            f"已自动修复 {invalid.size} 个无效面 (repaired {invalid.size} invalid polygons): "
            f"{_listing(reasons, invalid.size)}"
        )
    # Layers are written with 7 decimals; a polygon valid at full precision can become invalid
    # once rounded (slivers, near-touching rings). Snap those to the output grid now.
    rounded_invalid = np.flatnonzero(~shapely.is_valid(round_geometries(geoms)))
    if rounded_invalid.size:
        snapped = shapely.set_precision(geoms[rounded_invalid], 10.0**-PRECISION)
        vanished = []
        for j, i in enumerate(rounded_invalid):
            geoms[i] = _polygonal_part(shapely.make_valid(snapped[j]))
            if geoms[i] is None or shapely.is_empty(geoms[i]):
                vanished.append(int(i))
        if vanished:
            raise DataError(
                f"{src}: {len(vanished)} 个面小于 1 厘米，无法保存 (polygons too small to keep at "
                f"{PRECISION} decimals): {label.many(vanished)}; 请删除 (delete them)"
            )
        notes.append(
            f"{rounded_invalid.size} 个面在保留 {PRECISION} 位小数后会自相交，已对齐到网格 "
            f"(snapped to the {PRECISION}-decimal grid to stay valid): "
            f"{label.many(rounded_invalid)}"
        )
    return int(invalid.size)
