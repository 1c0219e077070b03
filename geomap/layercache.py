"""The one reader of atlas layers, with a binary copy of big ones keyed by their content.

GeoJSON stays the source of truth. Parsing it is most of the time a command spends on a big
layer (at 1 M parcels, 20 of 30 s of a render), so the first command that reads a layer of
at least :data:`CACHE_MIN_BYTES` also writes a GeoParquet copy of what it parsed to
``layers/.cache/<name>.<sha256 of the GeoJSON>.v1.parquet``; later reads hash the GeoJSON
(streamed, ~0.5 s for 400 MB) and read the copy with that digest instead of parsing.

- A copy is used only when its name holds the digest of the GeoJSON's present bytes: an
  edited, replaced or restored layer never meets a stale copy. Older copies of a layer are
  removed when a new one is written; ``layers/.cache/`` may be deleted at any time.
- Copies are written to a temporary file and renamed, so a reader sees a whole copy or
  none; concurrent renders may write the same copy, and the last rename wins with
  identical content. A copy that cannot be read is ignored (the GeoJSON is parsed).
- Only layers whose parsed frame the copy reproduces exactly are copied: columns of
  integers, floats, booleans or text (GeoJSON with list or mixed-type properties, or with a
  ``crs`` member, is always parsed).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap.errors import DataError
from geomap.geojson_io import parse_layer

CACHE_DIR = ".cache"  # inside layers/
CACHE_MIN_BYTES = 8_000_000  # ~25,000 parcels; smaller layers parse in well under a second
FORMAT_TAG = "v1.parquet"  # bump when the copy's layout changes: old copies are then unused


@dataclass(frozen=True)
class LayerFile:
    """A parsed layer file: its features and its FeatureCollection's ``crs`` member."""

    gdf: gpd.GeoDataFrame
    crs: Any = None


def load_layer(path: Path, cache: Path | None = None) -> LayerFile:
    """Read the layer file ``path``; with ``cache`` (a folder), through its binary copy.

    Raises
    ------
    DataError
        The file is missing or is not a GeoJSON FeatureCollection.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{path}: 文件不存在 (file not found)") from None
    if cache is None or size < CACHE_MIN_BYTES:
        return LayerFile(*parse_layer(_read_bytes(path), path))
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    copy = _read_copy(copy_path(cache, path.stem, digest))
    if copy is not None:
        return LayerFile(copy)
    data = _read_bytes(path)
    gdf, crs = parse_layer(data, path)
    if crs is None:
        digest = hashlib.sha256(data).hexdigest()  # of the bytes parsed (the file may change)
        del data
        with contextlib.suppress(OSError):  # a read-only atlas, a full disk: no copy
            write_copy(cache, path.stem, digest, gdf)
    return LayerFile(gdf, crs)


def copy_path(cache: Path, name: str, digest: str) -> Path:
    """Where the copy of layer ``name`` whose GeoJSON has sha256 ``digest`` lives."""
    return cache / f"{name}.{digest}.{FORMAT_TAG}"


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: 文件不存在 (file not found)") from None


def _read_copy(copy: Path) -> gpd.GeoDataFrame | None:
    if not copy.is_file():
        return None
    try:
        gdf = gpd.read_parquet(copy)
    except Exception:  # any unreadable copy (truncated, foreign): parse the GeoJSON instead
        return None
    return gdf if isinstance(gdf, gpd.GeoDataFrame) else None


# The column types a GeoParquet copy gives back unchanged: numbers, booleans, and pandas'
# text columns (``str``, missing values NaN). Object columns (lists, mixed types) are not.
_EXACT = (np.dtype("int64"), np.dtype("float64"), np.dtype("bool"))


def cacheable(gdf: gpd.GeoDataFrame) -> bool:
    """Whether a GeoParquet copy gives back exactly this frame (columns, dtypes, values)."""
    if gdf.geometry.name != "geometry" or not isinstance(gdf.index, pd.RangeIndex):
        return False
    names = [c for c in gdf.columns if c != "geometry"]
    if len(names) + 1 != len(gdf.columns) or not all(isinstance(c, str) for c in names):
        return False
    return all(
        dtype in _EXACT or (isinstance(dtype, pd.StringDtype) and dtype.na_value is np.nan)
        for dtype in (gdf[name].dtype for name in names)
    )


def write_copy(cache: Path, name: str, digest: str, gdf: gpd.GeoDataFrame) -> Path | None:
    """Write the copy of ``gdf`` (parsed from GeoJSON with sha256 ``digest``) atomically and
    remove the layer's older copies; None when the frame cannot be copied exactly."""
    if not cacheable(gdf):
        return None
    cache.mkdir(exist_ok=True)
    target = copy_path(cache, name, digest)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=cache)
    os.close(fd)
    try:
        gdf.to_parquet(tmp, compression="snappy", index=None)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp's 0600 would hide the copy from other users
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    for old in cache.glob(f"{name}.*.parquet"):
        if old != target:
            with contextlib.suppress(OSError):
                old.unlink()
    return target
