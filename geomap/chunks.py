"""A layer's geometries held compactly, in chunks: what lets `geomap add` take 1 M parcels.

Shapely objects cost about four times their WKB (a 10-vertex parcel: ~700 bytes as a GEOS
polygon and its Python wrapper, ~180 as WKB). :class:`GeometryChunks` keeps a layer's
geometries as WKB, :data:`CHUNK` features a piece, and hands them out one chunk of shapely
geometries at a time; every step of ingest and writing works chunk by chunk, the same code
for ten features and for a million (a small layer is one chunk). WKB keeps every
coordinate's exact double, so a round trip changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import NDArray

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

# Features per chunk: large enough that the vectorised GEOS calls dominate, small enough
# that one chunk's shapely objects and GeoJSON text stay a few tens of MB.
CHUNK = 50_000


def _to_wkb(geoms: Any) -> NDArray[np.object_]:
    wkb: NDArray[np.object_] = shapely.to_wkb(np.asarray(geoms, dtype=object), output_dimension=3)
    return wkb


class GeometryChunks:
    """Geometries in feature order, as WKB chunks of at most :data:`CHUNK` features."""

    def __init__(self) -> None:
        self._parts: list[NDArray[np.object_]] = []

    @classmethod
    def of(cls, geoms: Any) -> GeometryChunks:
        """Chunks of the geometries ``geoms`` (an array, GeoSeries or list)."""
        out = cls()
        arr = np.asarray(geoms, dtype=object)
        for start in range(0, len(arr), CHUNK):
            out.append(arr[start : start + CHUNK])
        return out

    def append(self, geoms: Any) -> None:
        """Add ``geoms`` at the end (split into chunks of at most :data:`CHUNK`)."""
        arr = np.asarray(geoms, dtype=object)
        for start in range(0, len(arr), CHUNK):
            self._parts.append(_to_wkb(arr[start : start + CHUNK]))

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)

    def __iter__(self) -> Iterator[tuple[int, NDArray[np.object_]]]:
        """``(start, geometries)`` of each chunk: ``start`` is its first feature's position."""
        start = 0
        for part in self._parts:
            geoms: NDArray[np.object_] = shapely.from_wkb(part)
            yield start, geoms
            start += len(part)

    def mapped(
        self, func: Callable[[int, NDArray[np.object_]], NDArray[np.object_]]
    ) -> GeometryChunks:
        """A new store of ``func(start, geometries)`` for each chunk, in order. This store is
        emptied as the new one fills, so the two never both hold the whole layer."""
        out = GeometryChunks()
        start = 0
        while self._parts:
            part = self._parts.pop(0)
            out._parts.append(_to_wkb(func(start, shapely.from_wkb(part))))
            start += len(part)
        return out

    def each(self, func: Callable[[int, NDArray[np.object_]], Any]) -> list[Any]:
        """``func(start, geometries)`` of every chunk, in order."""
        return [func(start, geoms) for start, geoms in self]

    def values(self) -> NDArray[np.object_]:
        """Every geometry as one shapely array (for small layers and tests)."""
        parts = [geoms for _, geoms in self]
        return np.concatenate(parts) if parts else np.array([], dtype=object)

    def present_types(self) -> set[str]:
        """The geometry type names of the present geometries (:func:`geometry.present_types`)."""
        from geomap.geometry import present_types

        found: set[str] = set()
        for _, geoms in self:
            found |= present_types(geoms)
        return found

    def type_ids(self) -> NDArray[np.int64]:
        """The shapely type id of every geometry (-1 for a missing one)."""
        ids = [np.asarray(shapely.get_type_id(g), dtype=np.int64) for _, g in self]
        return np.concatenate(ids) if ids else np.array([], dtype=np.int64)


def concat_floats(parts: Iterable[NDArray[np.float64]]) -> NDArray[np.float64]:
    """Per-chunk float results joined in feature order."""
    arrays = list(parts)
    return np.concatenate(arrays) if arrays else np.array([], dtype=np.float64)


@dataclass(frozen=True)
class ChunkedLayer:
    """A layer ready to write: attributes (one row per feature) and WGS84 geometries."""

    attrs: pd.DataFrame
    geoms: GeometryChunks

    @classmethod
    def of(cls, gdf: gpd.GeoDataFrame) -> ChunkedLayer:
        """A GeoDataFrame's layer (converted to WGS84 first when it has another CRS)."""
        import pandas as pd

        if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
            gdf = gdf.to_crs(4326)
        attrs = pd.DataFrame(gdf[[c for c in gdf.columns if c != gdf.geometry.name]])
        return cls(attrs, GeometryChunks.of(gdf.geometry.values))

    def to_gdf(self) -> gpd.GeoDataFrame:
        """The whole layer as one GeoDataFrame (WGS84)."""
        import geopandas as gpd

        return gpd.GeoDataFrame(
            self.attrs.copy(), geometry=gpd.GeoSeries(self.geoms.values(), crs="EPSG:4326")
        )
