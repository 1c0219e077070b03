"""The atlas: a folder of layers, indicator tables and map specs.

``Atlas`` finds the root, reads and writes layers (GeoJSON + TOML metadata), tables (CSV +
TOML column definitions) and map specs. Every name a user gives is checked to be a slug and
every path is checked to stay inside the atlas. Every write is atomic (temporary file in the
same folder, fsync, rename), so a failed or killed command leaves the atlas as it was.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from geomap.errors import AtlasNotFound, DataError, NotFound, SpecError, UnsafePath
from geomap.spec import (
    SLUG,
    LayerMeta,
    MapSpec,
    TableMeta,
    load_toml,
    parse_layer_meta,
    parse_map_spec,
    parse_table_meta,
)

# pandas, numpy and geopandas are imported where they are used: finding the atlas, reading
# specs and deciding that a map is up to date must not pay ~1 s of imports.
if TYPE_CHECKING:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

ENV_VAR = "GEOMAP_ATLAS"
CONFIG_FILE = "atlas.toml"
# A temporary file older than this was left by a killed write (an atomic write takes seconds).
TEMP_FILE_MAX_AGE = 3600.0


def find_root(explicit: str | Path | None = None, cwd: Path | None = None) -> Path:
    """Find the atlas root: ``explicit``, else ``$GEOMAP_ATLAS``, else the nearest ancestor
    of ``cwd`` that holds ``layers/`` (as git finds ``.git``)."""
    chosen = explicit if explicit is not None else os.environ.get(ENV_VAR) or None
    if chosen is not None:
        root = Path(chosen).expanduser().resolve()
        if not (root / "layers").is_dir():
            raise AtlasNotFound(
                f"{root}: 不是图集目录，缺少 layers/ (not an atlas: no layers/ folder); "
                "create it or point --atlas at the right folder"
            )
        return root
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "layers").is_dir():
            return folder
    raise AtlasNotFound(
        f"在 {here} 及其上级目录中找不到图集 (no folder holding layers/ at or above {here}); "
        "use --atlas DIR or set GEOMAP_ATLAS"
    )


def check_name(name: str, what: str) -> str:
    """Refuse a layer/table/map name that is not a slug (and so could name a path)."""
    if not isinstance(name, str) or not SLUG.fullmatch(name):
        raise UnsafePath(
            f"{what} 名称 {name!r:.80} 无效 (invalid name): use lower-case letters, "
            "digits, '-' and '_' only, starting with a letter or digit"
        )
    return name


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; give the file the mode an ordinary new file would get.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_csv_text(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """A UTF-8 CSV as text columns, and the file line on which each row starts.

    Read with the csv module rather than pandas so that line numbers in messages are the
    ones a planner sees in an editor (blank lines and quoted line breaks included) and
    duplicate header names are caught before anything renames them.
    """
    import numpy as np
    import pandas as pd

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: 不是 UTF-8 编码 (not UTF-8, byte {exc.start}); save the CSV as UTF-8"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise DataError(f"{path}: CSV 为空，缺少表头 (empty: no header row)")
        header = [h.strip() for h in header]
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise DataError(f"{path}: 列名重复 (duplicate column names): {', '.join(dupes)}")
        rows: list[list[str]] = []
        lines: list[int] = []
        start = reader.line_num + 1
        for row in reader:
            if row and any(cell.strip() for cell in row):
                if len(row) != len(header):
                    raise DataError(
                        f"{path}: 第 {start} 行有 {len(row)} 列，表头有 {len(header)} 列 "
                        f"(line {start} has {len(row)} fields, the header {len(header)})"
                    )
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}: CSV 无法读取 (line {reader.line_num}: {exc})") from None
    return pd.DataFrame(rows, columns=header, dtype=object), np.asarray(lines, dtype=int)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass(frozen=True)
class Layer:
    """A layer's features (WGS84) and metadata."""

    meta: LayerMeta
    gdf: gpd.GeoDataFrame


@dataclass(frozen=True)
class Table:
    """An indicator table, typed by its column definitions, and any problems in its cells."""

    meta: TableMeta
    df: pd.DataFrame
    issues: tuple[str, ...] = field(default=())


class Atlas:
    """An atlas folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.layers_dir = self.root / "layers"
        self.data_dir = self.root / "data"
        self.maps_dir = self.root / "maps"
        self._layer_cache: dict[str, Layer] = {}

    @classmethod
    def find(cls, explicit: str | Path | None = None) -> Atlas:
        # A PostGIS atlas (postgresql://… as --atlas, $GEOMAP_ATLAS or store = in atlas.toml)
        # is read through a snapshot folder: see geomap.store.postgis.
        from geomap.store import database_url

        url = database_url(explicit)
        if url is not None:
            from geomap.store.postgis import open_database_atlas

            return open_database_atlas(url)
        return cls(find_root(explicit))

    # -- paths --------------------------------------------------------------------------
    def inside(self, path: Path) -> Path:
        """``path`` if it (after resolving symlinks) stays inside the atlas, else an error."""
        resolved = path.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise UnsafePath(
                f"{path}: 指向图集之外 (points outside the atlas {self.root}); "
                "replace the symlink with a real file inside the atlas"
            )
        return path

    def layer_path(self, name: str, suffix: str = ".geojson") -> Path:
        return self.inside(self.layers_dir / f"{check_name(name, '图层 layer')}{suffix}")

    def table_path(self, name: str, suffix: str = ".csv") -> Path:
        return self.inside(self.data_dir / f"{check_name(name, '表 table')}{suffix}")

    def map_path(self, name: str, suffix: str = ".toml") -> Path:
        return self.inside(self.maps_dir / f"{check_name(name, '地图 map')}{suffix}")

    # -- listing ------------------------------------------------------------------------
    @staticmethod
    def _names(folder: Path, suffix: str) -> list[str]:
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob(f"*{suffix}") if SLUG.fullmatch(p.stem))

    def layer_names(self) -> list[str]:
        return self._names(self.layers_dir, ".geojson")

    def table_names(self) -> list[str]:
        return self._names(self.data_dir, ".csv")

    def map_names(self) -> list[str]:
        return self._names(self.maps_dir, ".toml")

    def config(self) -> dict[str, Any]:
        """Atlas-wide settings from ``atlas.toml`` (optional): e.g. ``basemap = "amap"``."""
        path = self.root / CONFIG_FILE
        return load_toml(path) if path.is_file() else {}

    # -- layers -------------------------------------------------------------------------
    def layer_meta(self, name: str) -> LayerMeta:
        path = self.layer_path(name, ".toml")
        if not path.is_file():
            if self.layer_path(name).is_file():
                raise NotFound(
                    f"{path}: 图层 {name} 缺少元数据文件 (layer has no metadata file); "
                    "add it with a title and key (see docs/formats.md)"
                )
            raise NotFound(self._missing("图层 layer", name, self.layer_names()))
        return parse_layer_meta(name, load_toml(path), path)

    def read_layer(self, name: str) -> Layer:
        """Read a layer and its metadata (cached for the life of this Atlas)."""
        if name not in self._layer_cache:
            meta = self.layer_meta(name)
            from geomap.geojson_io import read_layer

            gdf = read_layer(self.layer_path(name))
            if meta.key and meta.key not in gdf.columns and len(gdf):
                raise SpecError(
                    self.layer_path(name, ".toml"),
                    [
                        f"key: 列 {meta.key!r} 不在图层中 (key column not in the layer; "
                        f"columns: {', '.join(map(str, gdf.columns[:-1]))})"
                    ],
                )
            self._layer_cache[name] = Layer(meta, gdf)
        return self._layer_cache[name]

    def write_layer(
        self, name: str, gdf: gpd.GeoDataFrame, meta: dict[str, Any], replace: bool = False
    ) -> Path:
        """Write a layer and its metadata atomically; keep the old version in ``.history``."""
        geo_path = self.layer_path(name)
        toml_path = self.layer_path(name, ".toml")
        # A layer exists when its GeoJSON does: metadata alone is what an interrupted write
        # leaves behind, and is archived and overwritten.
        exists = geo_path.exists()
        if exists and not replace:
            raise DataError(
                f"{geo_path}: 图层 {name} 已存在 (layer already exists); "
                "use --replace to replace it (the old version is kept in layers/.history/)"
            )
        # Validate the metadata before touching anything.
        parse_layer_meta(name, meta, toml_path)
        from geomap.geojson_io import dumps_layer

        payload = dumps_layer(gdf.to_crs(4326) if gdf.crs and gdf.crs.to_epsg() != 4326 else gdf)
        meta_bytes = tomli_w.dumps(meta).encode("utf-8")
        old_toml = toml_path.read_bytes() if toml_path.exists() else None
        if exists or toml_path.exists():
            self._archive(name, [geo_path, toml_path])
        # Metadata first, GeoJSON last: a layer is listed by its .geojson, so a command killed
        # between the two renames leaves a new layer unlisted rather than half-listed. A
        # failure of the second write puts the old metadata back (or removes the new one).
        atomic_write(toml_path, meta_bytes)
        try:
            atomic_write(geo_path, payload)
        except BaseException:
            if old_toml is None:
                toml_path.unlink(missing_ok=True)
            else:
                atomic_write(toml_path, old_toml)
            raise
        self._layer_cache.pop(name, None)
        return geo_path

    def _archive(self, name: str, paths: list[Path]) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{time.time_ns() % 1_000_000:06d}"
        history = self.layers_dir / ".history"
        for path in paths:
            if path.exists():
                target = self.inside(history / f"{name}.{stamp}{path.suffix}")
                atomic_write(target, path.read_bytes())

    # -- tables -------------------------------------------------------------------------
    def table_meta(self, name: str) -> TableMeta:
        path = self.table_path(name, ".toml")
        if not path.is_file():
            if not self.table_path(name).is_file():
                raise NotFound(self._missing("表 table", name, self.table_names()))
            raise NotFound(
                f"{path}: 表 {name} 缺少列定义文件 (table has no column definitions); "
                "add a TOML with title, key and [columns.X] label/unit"
            )
        return parse_table_meta(name, load_toml(path), path)

    def read_table(self, name: str) -> Table:
        """Read a table; numeric columns are converted and bad cells listed in ``issues``."""
        import pandas as pd

        meta = self.table_meta(name)
        path = self.table_path(name)
        df, line_of = read_csv_text(path)
        if meta.key not in df.columns:
            raise SpecError(
                self.table_path(name, ".toml"),
                [
                    f"key: 列 {meta.key!r} 不在 {path.name} 中 (key column missing; "
                    f"columns: {', '.join(df.columns)})"
                ],
            )
        issues: list[str] = []
        for col, cdef in meta.columns.items():
            if col not in df.columns or cdef.type == "text":
                continue
            raw = df[col].str.strip()
            num = pd.to_numeric(raw.replace("", None), errors="coerce")
            bad = raw[(raw != "") & num.isna()]
            for line, value in zip(line_of[bad.index[:5]], bad.head(5), strict=False):
                issues.append(
                    f"{path}: 第 {line} 行 列 {col}: {value!r:.40} 不是数字 "
                    f"(line {line}: not a number)"
                )
            if len(bad) > 5:
                issues.append(f"{path}: 列 {col}: 另有 {len(bad) - 5} 个非数字值 (more)")
            df[col] = num
        return Table(meta, df, tuple(issues))

    # -- maps ---------------------------------------------------------------------------
    def map_spec(self, name: str) -> MapSpec:
        path = self.map_path(name)
        if not path.is_file():
            raise NotFound(self._missing("地图 map", name, self.map_names()))
        return parse_map_spec(name, load_toml(path), path)

    @staticmethod
    def _missing(what: str, name: str, existing: list[str]) -> str:
        listing = ", ".join(existing) if existing else "(无 none)"
        return f"{what} {name!r:.80} 不存在 (does not exist); 现有 (available): {listing}"

    # -- locking ------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, timeout: float = 30.0) -> Iterator[None]:
        """Hold the atlas write lock; a second writer waits up to ``timeout`` seconds."""
        path = self.layers_dir / ".lock"
        with open(path, "a+b") as fh:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise DataError(
                            f"{path}: 另一个 geomap 命令正在写入图集 (another geomap command is "
                            f"writing this atlas); waited {timeout:.0f} s, try again later"
                        ) from None
                    time.sleep(0.1)
            self._sweep_temp_files()
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _sweep_temp_files(self, older_than: float = TEMP_FILE_MAX_AGE) -> None:
        """Remove the hidden temporary files of writes killed half-way (never a real file:
        only ``.<name>.<random>.tmp`` that no live command can still be writing)."""
        cutoff = time.time() - older_than
        for folder in (self.layers_dir, self.layers_dir / ".history", self.data_dir, self.maps_dir):
            for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
                with contextlib.suppress(OSError):
                    if tmp.is_file() and not tmp.is_symlink() and tmp.stat().st_mtime < cutoff:
                        tmp.unlink()
