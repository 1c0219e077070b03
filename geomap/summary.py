"""Per-layer summaries for ``geomap layers``: counts, extents, areas in 亩, lengths in m."""

from __future__ import annotations

from typing import Any

import numpy as np

from geomap.atlas import Atlas
from geomap.crs import area_mu, length_m
from geomap.geometry import families, present_types


def layer_summaries(atlas: Atlas) -> list[dict[str, Any]]:
    """One dict per layer with the fields ``geomap layers --json`` documents."""
    out = []
    for name in atlas.layer_names():
        layer = atlas.read_layer(name)
        geoms = layer.gdf.geometry
        present = geoms[geoms.notna() & ~geoms.is_empty]
        types = sorted(present_types(present))
        family = families(types)
        bbox = [round(float(v), 7) for v in present.total_bounds] if len(present) else None
        area = length = None
        if family == {"polygon"}:
            area = round(float(np.sum(area_mu(present.values))), 3)
        elif family == {"line"}:
            length = round(float(np.sum(length_m(present.values))), 2)
        out.append(
            {
                "name": name,
                "title": layer.meta.title,
                "kind": layer.meta.kind,
                "geometry_type": "/".join(types) if types else None,
                "features": len(layer.gdf),
                "bbox": bbox,
                "area_mu": area,
                "length_m": length,
                "illustrative": layer.meta.illustrative,
                "source": layer.meta.source,
            }
        )
    return out
