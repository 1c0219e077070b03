"""Geometry repair: invalid polygons made valid (or refused with --strict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geomap.chunks import GeometryChunks
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


@dataclass
class _Repairs:
    """What repairing a layer's chunks found, to be reported once for the whole layer."""

    strict: bool
    invalid: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    collapsed: list[int] = field(default_factory=list)
    snapped: list[int] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)

    def chunk(
        self, start: int, geoms: NDArray[np.object_], label: _Labeller
    ) -> NDArray[np.object_]:
        """Repair the chunk ``geoms`` (features from ``start``) in place and return it."""
        invalid = np.flatnonzero(~shapely.is_valid(geoms))
        self.invalid += [start + int(i) for i in invalid]
        self.reasons += [
            f"{label(start + int(i))}: {shapely.is_valid_reason(geoms[i])}" for i in invalid
        ]
        if self.strict and invalid.size:
            return geoms
        for i in invalid:
            fixed = _polygonal_part(shapely.make_valid(geoms[i]))
            if fixed is None or shapely.is_empty(fixed):
                self.collapsed.append(start + int(i))
            geoms[i] = fixed
        # Layers are written with 7 decimals; a polygon valid at full precision can become
        # invalid once rounded (slivers, near-touching rings). Snap those to the output grid.
        rounded_invalid = np.flatnonzero(~shapely.is_valid(round_geometries(geoms)))
        if rounded_invalid.size:
            snapped = shapely.set_precision(geoms[rounded_invalid], 10.0**-PRECISION)
            for j, i in enumerate(rounded_invalid):
                geoms[i] = _polygonal_part(shapely.make_valid(snapped[j]))
                self.snapped.append(start + int(i))
                if geoms[i] is None or shapely.is_empty(geoms[i]):
                    self.vanished.append(start + int(i))
        return geoms


def _repair_polygons(
    src: Path,
    geoms: GeometryChunks,
    strict: bool,
    label: _Labeller,
    notes: list[str],
) -> tuple[GeometryChunks, int]:
    """Invalid polygons made valid (refused with ``strict``), and polygons that rounding to
    :data:`PRECISION` decimals would make invalid snapped to that grid, chunk by chunk;
    problems are reported once for the whole layer. Returns the repaired geometries and
    how many were invalid."""
    found = _Repairs(strict)
    geoms = geoms.mapped(lambda start, chunk: found.chunk(start, chunk, label))
    if found.invalid:
        if strict:
            raise DataError(
                f"{src}: {len(found.invalid)} 个面要素几何无效 (invalid polygons, refused in strict "
                f"mode): {_listing(found.reasons, len(found.invalid))}; 请在 GIS 中修复（如 QGIS “修复几何”）"
                "后重新导出，或去掉 --strict 自动修复 (fix them in your GIS, or drop --strict)"
            )
        if found.collapsed:
            raise DataError(
                f"{src}: {len(found.collapsed)} 个面要素修复后面积为零 (invalid polygons with no area "
                f"left after repair): {label.many(found.collapsed)}; 请重画或删除 (redraw or delete them)"
            )
        notes.append(
            f"已自动修复 {len(found.invalid)} 个无效面 (repaired {len(found.invalid)} invalid polygons): "
            f"{_listing(found.reasons, len(found.invalid))}"
        )
    if found.snapped:
        if found.vanished:
            raise DataError(
                f"{src}: {len(found.vanished)} 个面小于 1 厘米，无法保存 (polygons too small to keep at "
                f"{PRECISION} decimals): {label.many(found.vanished)}; 请删除 (delete them)"
            )
        notes.append(
            f"{len(found.snapped)} 个面在保留 {PRECISION} 位小数后会自相交，已对齐到网格 "
            f"(snapped to the {PRECISION}-decimal grid to stay valid): "
            f"{label.many(found.snapped)}"
        )
    return geoms, len(found.invalid)
