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

A layer drawn as vector tiles is never held whole: :func:`load_outline` gives its attributes
and each feature's geometry type, and :meth:`Outline.shapes` streams its geometries from the
copy in batches. The copy of such a layer is itself written batch by batch
(:func:`stream_copy`), so no command holds a county's parcels at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from geomap.chunks import CHUNK
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


def _big(path: Path) -> bool:
    """Whether the layer file ``path`` is big enough to be read through a copy; raises
    DataError when the file is missing."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{path}: 文件不存在 (file not found)") from None
    return size >= CACHE_MIN_BYTES


def load_layer(path: Path, cache: Path | None = None) -> LayerFile:
    """Read the layer file ``path``; with ``cache`` (a folder), through its binary copy.

    Raises
    ------
    DataError
        The file is missing or is not a GeoJSON FeatureCollection.
    """
    if not _big(path) or cache is None:
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


def _publish(tmp: str, target: Path) -> None:
    """Put the finished copy ``tmp`` in place: flushed to disk, readable as the umask
    allows (mkstemp's 0600 would hide the copy from other users), then renamed."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, target)


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
        _publish(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    for old in cache.glob(f"{name}.*.parquet"):
        if old != target:
            with contextlib.suppress(OSError):
                old.unlink()
    return target


# ---------------------------------------------------------------------------------------
# Big layers without their shapes (vector tiles)


@dataclass(frozen=True)
class Outline:
    """A big layer without its geometries: its attributes (as parsing the GeoJSON gives
    them), the shapely type id of each feature's geometry (-1 when missing or empty), and
    its copy, kept open, from which :meth:`shapes` streams the geometries."""

    attrs: pd.DataFrame
    types: np.ndarray
    copy: Any  #: the copy as an open ``pyarrow.parquet.ParquetFile``

    def types_of(self, rows: np.ndarray | None) -> np.ndarray:
        """The type ids of the features at ``rows`` (None: all)."""
        return self.types if rows is None else self.types[rows]

    def present_types(self, rows: np.ndarray | None) -> set[str]:
        """The geometry type names present among ``rows`` (:func:`geometry.present_types`)."""
        from geomap.geometry import _TYPE_NAMES

        ids = np.unique(self.types_of(rows))
        return {_TYPE_NAMES[int(t)] for t in ids if t >= 0}

    def shapes(self, rows: np.ndarray | None = None, size: int = CHUNK) -> Iterator[np.ndarray]:
        """The geometries (WGS84 shapely arrays) of the features at positions ``rows``
        (increasing; None: every feature), in order, read ``size`` features at a time."""
        start = 0
        for batch in self.copy.iter_batches(batch_size=size, columns=["geometry"]):
            wkb = batch.column(0)
            stop = start + len(wkb)
            if rows is None:
                picked = np.asarray(wkb.to_numpy(zero_copy_only=False), dtype=object)
            else:
                lo, hi = np.searchsorted(rows, [start, stop])
                if lo == hi:
                    start = stop
                    continue
                picked = np.asarray(
                    wkb.take(rows[lo:hi] - start).to_numpy(zero_copy_only=False), dtype=object
                )
            yield shapely.from_wkb(picked)
            start = stop


def _type_ids(geoms: np.ndarray) -> np.ndarray:
    ids: np.ndarray = shapely.get_type_id(geoms).astype(np.int8)
    ids[shapely.is_empty(geoms)] = -1
    return ids


def load_outline(path: Path, cache: Path | None, min_rows: int = 0) -> Outline | None:
    """The outline of the layer file ``path`` through its copy in ``cache``, the copy written
    first (batch by batch) when there is none. None when the layer has fewer than
    ``min_rows`` features or gets no copy (small, not in geomap's one-feature-a-line layout,
    or of types a copy cannot reproduce): read it whole with :func:`load_layer`."""
    import pyarrow.parquet as pq

    if not _big(path) or cache is None:
        return None
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
        copy = copy_path(cache, path.stem, digest)
        try:
            opened = pq.ParquetFile(copy)
        except Exception:  # no copy, or an unreadable one: write it
            fh.seek(0)
            try:
                written = stream_copy(fh, cache, path.stem, digest)
            except OSError:  # a read-only atlas, a full disk: no copy
                return None
            if written is None:
                return None
            opened = pq.ParquetFile(written)
    if opened.metadata.num_rows < min_rows:
        return None
    try:
        attrs = _attributes(opened)
        types = [_type_ids(g) for g in Outline(attrs, np.array([]), opened).shapes()]
    except Exception:  # a copy not of geomap's making: read the layer whole
        return None
    ids = np.concatenate(types) if types else np.array([], dtype=np.int8)
    return Outline(attrs, ids, opened)


def _attributes(copy: Any) -> pd.DataFrame:
    names = [n for n in copy.schema_arrow.names if n != "geometry"]
    frame: pd.DataFrame = copy.read(columns=names).to_pandas()
    return frame


# -- writing the copy of a big GeoJSON, batch by batch ----------------------------------

_HEADER = b'{"type":"FeatureCollection","features":[\n'
_FEATURE_START = b'{"type":"Feature","properties":'
_GEOMETRY_KEY = b',"geometry":'


def _lines(fh: IO[bytes], size: int) -> Iterator[list[bytes]]:
    """The feature lines of a layer in geomap's layout (:func:`geojson_io.dumps_layer`),
    ``size`` at a time, each without its ``,`` and line end; raises ValueError at the first
    line out of that layout."""
    if fh.readline().rstrip(b"\r\n") != _HEADER.rstrip(b"\n"):
        raise ValueError("not geomap's layout")
    batch: list[bytes] = []
    ended = False
    for raw in fh:
        line = raw.rstrip(b"\r\n")
        if ended:
            if line.strip():
                raise ValueError("text after the end")
            continue
        if line == b"]}":
            ended = True
            continue
        if line.endswith(b","):
            line = line[:-1]
        if not line.startswith(_FEATURE_START) or not line.endswith(b"}"):
            raise ValueError("not geomap's layout")
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if not ended:
        raise ValueError("no end")
    if batch:
        yield batch


def _split(line: bytes) -> tuple[bytes, bytes | None]:
    cut = line.rfind(_GEOMETRY_KEY)
    if cut < 0:
        raise ValueError("no geometry")
    geometry = line[cut + len(_GEOMETRY_KEY) : -1]
    return line[len(_FEATURE_START) : cut], None if geometry == b"null" else geometry


def _unify(kinds: list[Any]) -> Any:
    """The dtype parsing the whole file gives a column whose batches parsed as ``kinds``
    (None: a batch of nulls only); None when the batches do not add up to one type a copy
    keeps exactly."""
    known = {k for k in kinds if k is not None}
    if len(known) == 1:
        (kind,) = known
        if kind == np.dtype("int64") and None in kinds:
            return np.dtype("float64")  # integers and nulls parse as floats
        return kind if kind != np.dtype("bool") or None not in kinds else None
    if known == {np.dtype("int64"), np.dtype("float64")}:
        return np.dtype("float64")
    return None


def _read_attributes(fh: IO[bytes], size: int) -> pd.DataFrame | None:
    """Every feature's properties, parsed ``size`` features at a time into the frame that
    parsing the whole file gives; None when the file is not in geomap's layout or its
    columns are not of one plain type (then it is parsed whole)."""
    parts: list[pd.DataFrame] = []
    try:
        for lines in _lines(fh, size):
            records = [orjson.loads(_split(line)[0]) for line in lines]
            if not all(isinstance(r, dict) for r in records):
                return None
            part = pd.DataFrame.from_records(records)
            if parts and list(part.columns) != list(parts[0].columns):
                return None
            parts.append(part)
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not parts:
        return None
    columns: dict[str, pd.Series] = {}
    for name in parts[0].columns:
        kinds = [
            None if p[name].dtype == object and p[name].isna().all() else p[name].dtype
            for p in parts
        ]
        kind = _unify(kinds)
        if kind is None or not isinstance(name, str):
            return None
        pieces = [p[name] if p[name].dtype == kind else p[name].astype(kind) for p in parts]
        columns[name] = pd.concat(pieces, ignore_index=True)
        for p in parts:
            del p[name]
    frame = pd.DataFrame(columns)
    probe = gpd.GeoDataFrame(frame.head(0), geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    return frame if cacheable(probe) else None


def stream_copy(fh: IO[bytes], cache: Path, name: str, digest: str) -> Path | None:
    """Write the copy of layer ``name`` from its open GeoJSON ``fh`` (sha256 ``digest``),
    :data:`~geomap.chunks.CHUNK` features at a time: the same file :func:`write_copy` writes
    from the parsed layer, without the layer ever held whole (the attributes are). None,
    nothing written, when the file is not one a copy reproduces."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = fh.tell()
    attrs = _read_attributes(fh, CHUNK)
    if attrs is None:
        return None
    fh.seek(start)
    cache.mkdir(exist_ok=True)
    target = copy_path(cache, name, digest)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=cache)
    os.close(fd)
    writer: Any = None
    try:
        offset = 0
        for lines in _lines(fh, CHUNK):
            shapes = np.array([_split(line)[1] for line in lines], dtype=object)
            try:
                geoms = shapely.from_geojson(shapes)
            except (shapely.errors.GEOSException, ValueError, TypeError):
                return None  # a broken geometry: parsing the whole file says which
            part = gpd.GeoDataFrame(
                attrs.iloc[offset : offset + len(lines)].reset_index(drop=True),
                geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"),
            )
            offset += len(lines)
            table = pa.Table.from_pandas(part.to_wkb(), preserve_index=False)
            if writer is None:
                meta = {**(table.schema.metadata or {}), b"geo": _geo_metadata(part)}
                writer = pq.ParquetWriter(tmp, table.schema.with_metadata(meta))
            writer.write_table(table.replace_schema_metadata(writer.schema.metadata))
        if writer is None or offset != len(attrs):
            return None
        writer.close()
        writer = None
        _publish(tmp, target)
    finally:
        if writer is not None:
            writer.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    for old in cache.glob(f"{name}.*.parquet"):
        if old != target:
            with contextlib.suppress(OSError):
                old.unlink()
    return target


def _geo_metadata(part: gpd.GeoDataFrame) -> bytes:
    """GeoParquet metadata for a copy written in batches: that of geopandas' own writer,
    with the geometry types left open (unknown until the last batch) and no bounding box."""
    from geopandas.io.arrow import _create_metadata

    meta = _create_metadata(part)
    column = meta["columns"]["geometry"]
    column["geometry_types"] = []
    column.pop("bbox", None)
    return json.dumps(meta).encode()
