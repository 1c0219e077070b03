"""The atlas: a folder of layers, indicator tables and map specs.

``Atlas`` finds the root, reads and writes layers (GeoJSON + TOML metadata), tables (CSV +
TOML column definitions) and map specs. Every name a user gives is checked to be a slug and
every path is checked to stay inside the atlas. Every write is atomic (temporary file in the
same folder, fsync, rename), so a failed or killed command leaves the atlas as it was.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import tomli_w

from geomap.errors import AtlasNotFound, DataError, NotFound, SpecError, UnsafePath
from geomap.locks import exclusive_lock
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

    from geomap.chunks import ChunkedLayer
    from geomap.layercache import LayerFile

T = TypeVar("T")
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


# Device names Windows reserves for any file name (``con.geojson`` is the console there).
WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))]
)


def check_name(name: str, what: str) -> str:
    """Refuse a layer/table/map name that is not a slug (and so could name a path), or that
    Windows reserves for a device."""
    if not isinstance(name, str) or not SLUG.fullmatch(name):
        raise UnsafePath(
            f"{what} 名称 {name!r:.80} 无效 (invalid name): use lower-case letters, "
            "digits, '-' and '_' only, starting with a letter or digit"
        )
    if name in WINDOWS_RESERVED:
        raise UnsafePath(
            f"{what} 名称 {name!r} 是 Windows 保留的设备名 (a device name on Windows: the file "
            "could not be opened there); 换一个名称 (choose another name)"
        )
    return name


def atomic_write(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, then rename.

    ``data`` may be given in pieces (an iterable of bytes, consumed once, written one after
    another: a large page is never joined into one string). Until the rename ``path`` is
    untouched: an error while writing, or raised by the iterable, leaves the old file.

    Portable: no POSIX-only calls (``os.fchmod`` exists on Windows only from Python 3.13),
    and a rename refused because another program holds ``path`` open (Windows: QGIS, an
    antivirus scan) is retried briefly, then reported as one clear error.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            for piece in (data,) if isinstance(data, bytes | bytearray | memoryview) else data:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; give the file the mode an ordinary new file would get
        # (on Windows chmod only sets the read-only flag, which this mode leaves off).
        os.chmod(tmp, 0o666 & ~_umask())
        _replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class _Hashing:
    """A file that also hashes what is written to it."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()

    def write(self, data: bytes, /) -> int:
        self.sha.update(data)
        written: int = self.fh.write(data)
        return written


def stage_write(path: Path, write: Callable[[_Hashing], object]) -> tuple[str, str]:
    """Write a file's new content through ``write`` to a temporary file beside ``path``
    (synced, with an ordinary file's mode), without replacing ``path``; returns the temporary
    file's name and the content's SHA-256. The caller renames it into place (or deletes it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
            sink = _Hashing(fh)
            write(sink)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp, sink.sha.hexdigest()


def copy_atomic(source: Path, path: Path) -> None:
    """Copy ``source`` to ``path`` atomically, a block at a time (never held whole)."""

    def copy(out: _Hashing) -> None:
        with open(source, "rb") as fh:
            while block := fh.read(1 << 20):
                out.write(block)

    tmp, _ = stage_write(path, copy)
    try:
        _replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# How long a rename waits for another program to let go of the target (Windows only).
REPLACE_RETRY_SECONDS = 2.0


def _replace(tmp: str, path: Path) -> None:
    deadline = time.monotonic() + REPLACE_RETRY_SECONDS
    while True:
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            # POSIX never refuses a rename over an open file; Windows does while another
            # process has it open without FILE_SHARE_DELETE.
            if os.name != "nt":
                raise
            if time.monotonic() > deadline:
                raise DataError(
                    f"{path}: 文件被其他程序占用，无法替换 (the file is open in another program, "
                    "e.g. QGIS or Excel); close it there and run the command again"
                ) from None
            time.sleep(0.1)


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


def check_archive_name(name: object) -> str:
    """A ``.history`` file name from a journal: ``NAME.STAMP.SUFFIX``, never a path."""
    if (
        not isinstance(name, str)
        or "/" in name
        or "\\" in name
        or name.startswith(".")
        or not SLUG.match(name)
    ):
        raise ValueError(name)
    return name


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _digest(path: Path) -> str | None:
    data = _read_or_none(path)
    return None if data is None else hashlib.sha256(data).hexdigest()


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
        self._holding_lock = False  # this Atlas holds the lock (a nested lock() is a no-op)

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
        """Read a layer and its metadata (cached for the life of this Atlas), as one version:
        see :meth:`consistent`."""
        if name not in self._layer_cache:
            meta, loaded = self.layer_file(name)
            gdf = loaded.gdf
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

    def layer_file(self, name: str) -> tuple[LayerMeta, LayerFile]:
        """A layer's metadata and parsed file, of one version (see :meth:`consistent`), read
        through the binary copy of big layers in ``layers/.cache/``
        (:mod:`geomap.layercache`): the one reader of layers for every command."""
        from geomap.layercache import load_layer

        cache = self.layer_cache_dir()
        return self.consistent(
            name, lambda: (self.layer_meta(name), load_layer(self.layer_path(name), cache))
        )

    def layer_cache_dir(self) -> Path | None:
        """``layers/.cache/``, where binary copies of big layers live (rebuildable, ignored
        by git); None when it would lie outside the atlas (a symlink)."""
        try:
            return self.inside(self.layers_dir / ".cache")
        except UnsafePath:
            return None

    def layer_pair(self, name: str) -> tuple[LayerMeta, bytes]:
        """A layer's metadata and GeoJSON bytes, of one version (see :meth:`consistent`)."""
        return self.consistent(
            name, lambda: (self.layer_meta(name), self.layer_path(name).read_bytes())
        )

    def consistent(self, name: str, read: Callable[[], T]) -> T:
        """Run ``read`` (which reads layer ``name``'s metadata and data) so that both come from
        one version of the layer, never new metadata beside old data.

        Without a writer at work, ``read`` runs once, unlocked: the metadata is the same
        before and after it and no write journal appeared meanwhile. When a write is under way
        (or was killed, its journal left behind), ``read`` runs under the atlas lock, which
        waits for the writer, or finishes or rolls back a killed write first.
        """
        journal = self._journal_path(name)
        toml = self.layer_path(name, ".toml")
        if self._holding_lock:
            return read()
        if not journal.exists():
            before = _read_or_none(toml)
            value = read()
            if not journal.exists() and _read_or_none(toml) == before:
                return value
        with self.lock():
            return read()

    def write_layer(
        self,
        name: str,
        gdf: gpd.GeoDataFrame | ChunkedLayer,
        meta: dict[str, Any],
        replace: bool = False,
    ) -> Path:
        """Write a layer and its metadata as one version; keep the old one in ``.history``.

        The GeoJSON is written chunk by chunk (:class:`~geomap.chunks.ChunkedLayer`) to a
        temporary file beside its place, and renamed there last; it is never held whole.

        Call under :meth:`lock`. A journal (``layers/.NAME.journal``) names the new version
        (checksums of both files) and the archive of the old one before anything is replaced;
        it is removed once both files are in place. A failure rolls the layer back at once; a
        kill leaves the journal, and the next command that takes the lock (a reader finding
        the journal takes it) finishes or rolls back the write: the metadata of one version
        never stands beside the data of another.
        """
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
        from geomap.chunks import ChunkedLayer
        from geomap.geojson_io import write_features

        layer = gdf if isinstance(gdf, ChunkedLayer) else ChunkedLayer.of(gdf)
        meta_bytes = tomli_w.dumps(meta).encode("utf-8")
        # The new GeoJSON goes to a temporary file first (and its digest into the journal).
        staged, geo_digest = stage_write(geo_path, lambda fh: write_features(fh, layer))
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{time.time_ns() % 1_000_000:06d}"
        journal = self._journal_path(name)
        try:
            history = self.inside(self.layers_dir / ".history")
            entries: dict[str, dict[str, str | None]] = {}
            for path, digest in (
                (toml_path, hashlib.sha256(meta_bytes).hexdigest()),
                (geo_path, geo_digest),
            ):
                entries[path.suffix] = {
                    "new": digest,
                    "archive": f"{name}.{stamp}{path.suffix}" if path.exists() else None,
                }
            atomic_write(journal, json.dumps({"layer": name, "files": entries}).encode("utf-8"))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged)
            raise
        try:
            for path in (toml_path, geo_path):
                archive = entries[path.suffix]["archive"]
                if archive:
                    copy_atomic(path, self.inside(history / archive))
            # Metadata first, GeoJSON last: a layer is listed by its .geojson.
            atomic_write(toml_path, meta_bytes)
            _replace(staged, geo_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged)
            with contextlib.suppress(OSError):  # else the next command rolls it back
                self._settle(name)
            raise
        journal.unlink()
        self._layer_cache.pop(name, None)
        return geo_path

    def _journal_path(self, name: str) -> Path:
        return self.inside(self.layers_dir / f".{check_name(name, '图层 layer')}.journal")

    def _settle(self, name: str) -> str:
        """Finish or roll back the write that left ``layers/.NAME.journal``. 'complete' when
        both new files are in place; else 'rolled back': the old version restored from its
        archive (a new layer's files removed) and this write's archive copies deleted.
        Call under the lock."""
        journal = self._journal_path(name)
        paths = {suffix: self.layer_path(name, suffix) for suffix in (".toml", ".geojson")}
        try:
            files = json.loads(journal.read_bytes())["files"]
            if set(files) != set(paths):
                raise ValueError(files)
            for entry in files.values():
                if entry["archive"] is not None:
                    check_archive_name(entry["archive"])
        except (ValueError, KeyError, TypeError):
            # A journal is written whole before anything else: nothing was replaced.
            journal.unlink(missing_ok=True)
            return "rolled back"
        self._layer_cache.pop(name, None)
        # Under the lock no live command writes this layer: its temporary files are the
        # killed writer's, and go.
        history = self.layers_dir / ".history"
        for folder, pattern in (
            (self.layers_dir, f".{name}.geojson.*.tmp"),
            (self.layers_dir, f".{name}.toml.*.tmp"),
            (self.layers_dir, f".{name}.journal.*.tmp"),
            (history, f".{name}.*.tmp"),
        ):
            for tmp in (f for own in self._own_folders(folder) for f in own.glob(pattern)):
                if tmp.is_file() and not tmp.is_symlink():
                    tmp.unlink()
        if all(_digest(paths[suffix]) == entry["new"] for suffix, entry in files.items()):
            journal.unlink()
            return "complete"
        for suffix, entry in files.items():
            if not entry["archive"]:
                paths[suffix].unlink(missing_ok=True)  # the old version had no such file
                continue
            archive = self.inside(history / str(entry["archive"]))
            if archive.is_file():
                old = archive.read_bytes()
                if _read_or_none(paths[suffix]) != old:
                    atomic_write(paths[suffix], old)
                archive.unlink()
            # No archive yet: the file it would hold had not been replaced.
        journal.unlink()
        return "rolled back"

    def settle_interrupted_writes(self) -> None:
        """Finish or roll back the layer writes a killed command left (their journals), so
        no command sees the metadata of one version beside the data of another. Waits for a
        live writer; without journals, does nothing (and takes no lock)."""
        if self.layers_dir.is_dir() and any(self.layers_dir.glob(".*.journal")):
            with self.lock():
                pass

    def _settle_all(self) -> None:
        for journal in sorted(self.layers_dir.glob(".*.journal")):
            name = journal.name[1 : -len(".journal")]
            if SLUG.fullmatch(name) and journal.is_file() and not journal.is_symlink():
                self._settle(name)

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
        if "geometry" in df.columns:
            raise DataError(
                f"{path}: 列名 geometry 是地图几何的保留名 (a table column cannot be named "
                "'geometry': joined onto a layer it would replace the shapes); 在表头中改名 "
                "(rename the column in the header row)"
            )
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
        """Hold the atlas write lock; a second writer waits up to ``timeout`` seconds.

        On taking it, writes that a killed command left half-done are finished or rolled
        back (see :meth:`write_layer`). Taking it again in the same Atlas is a no-op.
        """
        if self._holding_lock:
            yield
            return
        # A symlinked .lock would make the lock create or truncate a file outside the atlas.
        path = self.inside(self.layers_dir / ".lock")
        with exclusive_lock(path, timeout):
            self._holding_lock = True
            try:
                self._settle_all()
                self._sweep_temp_files()
                yield
            finally:
                self._holding_lock = False

    def _own_folders(self, *folders: Path) -> list[Path]:
        """The folders that exist and lie inside the atlas (a folder symlinked elsewhere is
        never swept: its files are not the atlas's)."""
        out = []
        for folder in folders:
            if folder.is_dir():
                with contextlib.suppress(UnsafePath):
                    out.append(self.inside(folder))
        return out

    def _sweep_temp_files(self, older_than: float = TEMP_FILE_MAX_AGE) -> None:
        """Remove the hidden temporary files of writes killed half-way (never a real file:
        only ``.<name>.<random>.tmp`` that no live command can still be writing)."""
        cutoff = time.time() - older_than
        for folder in self._own_folders(
            self.layers_dir,
            self.layers_dir / ".history",
            self.layers_dir / ".cache",
            self.data_dir,
            self.maps_dir,
        ):
            for tmp in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    if tmp.is_file() and not tmp.is_symlink() and tmp.stat().st_mtime < cutoff:
                        tmp.unlink()
