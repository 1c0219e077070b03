"""A PostGIS atlas: layers as PostGIS tables, metadata and map specs as rows, history as versions.

Layout in the database (schema ``geomap`` by default; ``?atlas=NAME`` in the URL picks schema
``NAME``, so one database can hold several atlases, e.g. one per township):

* ``<s>.layers(name, current)`` -- every layer and the id of its current version;
* ``<s>.layer_versions(id, name, created, created_by, meta_toml, columns, header, features)``
  -- every version ever written (the metadata TOML verbatim, how properties map to columns);
* ``<s>.v<id>`` -- the features of version ``id``: ``_ord`` (feature order), one typed column
  per property, ``geom geometry(Geometry, 4326)`` with a GiST index;
* ``<s>."<layer>"`` -- a view of the current version with every column (for the writers);
* ``<s>_map."<layer>"`` -- a view of the current version *without private columns*, column
  comments = field labels and units (what QGIS shows); the only thing a map role can read;
* ``<s>.files(path, version, data)`` and ``<s>.file_versions`` -- ``atlas.toml``, map specs and
  indicator tables (CSV + TOML) byte for byte, with every earlier version.

Commands read a database atlas through a *snapshot folder*: in one REPEATABLE READ
transaction the current versions are written as an ordinary atlas folder (only layers and
files whose version changed since the last snapshot), then the folder code (render, check,
layers, export) runs on it unchanged, so the results are the folder atlas's by construction.
Rendered maps go to the snapshot folder's ``maps/`` (see :func:`snapshot_dir`).

Writes are transactions instead of the folder lock: :class:`DatabaseAtlas` makes
``Atlas.lock()`` one transaction and ``write_layer`` a new version table plus a switch of
``layers.current`` inside it. Features are copied before any row is locked, so concurrent
writers only queue for the few milliseconds of the switch; a killed writer's transaction is
rolled back by the server and leaves nothing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from geomap.atlas import Atlas, atomic_write, check_name, find_root
from geomap.errors import DataError, GeomapError, NotFound
from geomap.locks import SharedLock
from geomap.spec import SLUG, LayerMeta, parse_layer_meta

if TYPE_CHECKING:
    import geopandas as gpd
    import psycopg

    from geomap.chunks import ChunkedLayer

DEFAULT_SCHEMA = "geomap"
CACHE_ENV = "GEOMAP_CACHE"
MANIFEST = ".geomap-snapshot.json"
FORMAT_VERSION = "1"
_SCHEMA_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Property names that cannot be column names as they are (reserved by the layout, or longer
# than PostgreSQL's 63-byte identifiers) are stored under c<i>; the mapping is in ``columns``.
_RESERVED = {"_ord", "geom"}
# Files kept byte for byte, by folder and suffix.
_FILE_GLOBS = (("maps", ".toml"), ("data", ".csv"), ("data", ".toml"))
# How long a writer waits for another writer's row lock before giving up.
LOCK_TIMEOUT_S = 30
# How long a command waits for other local commands to let go of the snapshot folder.
SYNC_WAIT_S = 1.0
# Seconds spent in the last command's phases (``GEOMAP_TIMING=1`` prints them on stderr).
TIMINGS: dict[str, float] = {}


def ident(*parts: str) -> str:
    """A quoted, schema-qualified SQL identifier."""
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def literal(text: str) -> str:
    """A quoted SQL string literal (for DDL, which takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def safe_url(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Location:
    """A database atlas: the libpq connection string and the atlas's schema."""

    url: str
    conninfo: str
    schema: str

    @property
    def map_schema(self) -> str:
        return f"{self.schema}_map"

    @classmethod
    def parse(cls, url: str) -> Location:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        schema = next((v for k, v in query if k == "atlas"), DEFAULT_SCHEMA)
        if not _SCHEMA_NAME.fullmatch(schema):
            raise DataError(
                f"{safe_url(url)}: atlas={schema!r:.50} 无效 (invalid atlas name): lower-case "
                "letters, digits and '_', starting with a letter, at most 40"
            )
        rest = urlencode([(k, v) for k, v in query if k != "atlas"])
        return cls(url, urlunsplit(parts._replace(query=rest)), schema)


def connect(loc: Location) -> psycopg.Connection[Any]:
    """A connection to the atlas's database, or one clear error saying why not."""
    try:
        import psycopg
    except ImportError:
        raise GeomapError(
            "数据库图集需要 psycopg (a database atlas needs psycopg): pip install 'geomap[postgis]'"
        ) from None
    try:
        conn = psycopg.connect(
            loc.conninfo,
            connect_timeout=10,
            autocommit=True,
            application_name=f"geomap[{os.getpid()}]",
        )
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        raise GeomapError(
            f"无法连接数据库 {safe_url(loc.url)} (cannot connect: {reason}); check the host, "
            "database, user and password (~/.pgpass or PGPASSWORD)"
        ) from None
    conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT_S}s'")
    return conn


F = TypeVar("F", bound=Callable[..., Any])


def database_errors(func: F) -> F:
    """Turn a database error (connection lost, permission denied, …) raised by ``func`` into
    one clear GeomapError naming the database (without its password)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import psycopg

        try:
            return func(*args, **kwargs)
        except psycopg.Error as exc:
            url = next((a for a in args if isinstance(a, str) and a.startswith("postgres")), "")
            raise GeomapError(
                f"{safe_url(url)}: 数据库错误，未做任何更改 (database error; nothing was "
                f"changed): {' '.join(str(exc).split())[:300]}"
            ) from None

    return cast(F, wrapper)


# ---------------------------------------------------------------------------------------
# Schema


def _exists(conn: psycopg.Connection[Any], loc: Location) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", (f"{ident(loc.schema)}.layers",)).fetchone()
    return row is not None and row[0] is not None


def ensure_schema(conn: psycopg.Connection[Any], loc: Location) -> None:
    """Create the atlas's tables when missing (once, even with several writers at once)."""
    if _exists(conn, loc):
        return
    s, m = ident(loc.schema), ident(loc.map_schema)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"geomap:{loc.schema}",))
        if _exists(conn, loc):
            return
        has_postgis = conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'postgis'"
        ).fetchone()
        if not has_postgis:
            try:
                with conn.transaction():
                    conn.execute("CREATE EXTENSION postgis")
            except Exception as exc:
                raise GeomapError(
                    f"{safe_url(loc.url)}: 数据库没有 PostGIS 扩展，且无权创建 (no PostGIS "
                    f"extension and no right to create it: {' '.join(str(exc).split())}); ask "
                    "the database administrator to run CREATE EXTENSION postgis"
                ) from None
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {m}")
        conn.execute(f"CREATE SEQUENCE {s}.version_seq")
        conn.execute(f"CREATE TABLE {s}.info (key text PRIMARY KEY, value text NOT NULL)")
        conn.execute(f"INSERT INTO {s}.info VALUES ('format', %s)", (FORMAT_VERSION,))
        conn.execute(f"CREATE TABLE {s}.layers (name text PRIMARY KEY, current bigint)")
        conn.execute(
            f"""CREATE TABLE {s}.layer_versions (
                id bigint PRIMARY KEY, name text NOT NULL,
                created timestamptz NOT NULL DEFAULT now(),
                created_by text NOT NULL DEFAULT current_user,
                meta_toml text NOT NULL, columns json NOT NULL, header json,
                features integer NOT NULL, digest text)"""
        )
        conn.execute(
            f"CREATE TABLE {s}.files (path text PRIMARY KEY, version bigint NOT NULL, "
            "data bytea NOT NULL)"
        )
        conn.execute(
            f"""CREATE TABLE {s}.file_versions (
                version bigint PRIMARY KEY, path text NOT NULL,
                created timestamptz NOT NULL DEFAULT now(),
                created_by text NOT NULL DEFAULT current_user, data bytea)"""
        )
        conn.execute(f"CREATE TABLE {s}.readers (role name PRIMARY KEY)")
        conn.execute(
            f"COMMENT ON SCHEMA {m} IS "
            + literal("geomap 图集的公开图层（不含私密字段）(public layers, no private fields)")
        )


def require_schema(conn: psycopg.Connection[Any], loc: Location) -> None:
    if not _exists(conn, loc):
        raise NotFound(
            f"{safe_url(loc.url)}: 数据库中没有图集 {loc.schema} (no atlas in this database); "
            f"create one with: geomap atlas push DIR {safe_url(loc.url)}"
        )


# ---------------------------------------------------------------------------------------
# Layers: columns, copy in, copy out


@dataclass(frozen=True)
class Column:
    prop: str  # the GeoJSON property name
    name: str  # the SQL column name
    type: str  # the SQL type


def _sql_type(values: list[Any]) -> str:
    """The narrowest SQL type that gives every (JSON-ready) value back exactly."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds or kinds == {str}:
        return "text"
    if kinds == {bool}:
        return "boolean"
    if kinds == {int} and all(-(2**63) <= v < 2**63 for v in values if v is not None):
        return "bigint"
    if kinds == {float}:
        return "double precision"
    return "json"


def _plan_columns(
    gdf: gpd.GeoDataFrame, records: list[dict[str, Any]] | None = None
) -> tuple[list[Column], list[list[Any]]]:
    """The SQL columns for ``gdf``'s properties, and each column's JSON-ready values: taken
    from ``records`` (the properties as parsed from the file) when given, so that an integer
    column with gaps stays integer rather than pandas' float."""
    from geomap.geojson_io import json_value

    columns: list[Column] = []
    values: list[list[Any]] = []
    props = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    used = set(props) | _RESERVED
    for i, prop in enumerate(props):
        if records is not None:
            vals = [json_value(r.get(prop)) for r in records]
        else:
            vals = [json_value(v) for v in gdf[prop].tolist()]
        name = prop
        if prop in _RESERVED or len(prop.encode()) > 63:
            name = f"c{i}"
            while name in used:
                name = "_" + name
            used.add(name)
        columns.append(Column(prop, name, _sql_type(vals)))
        values.append(vals)
    return columns, values


def _comment(meta: LayerMeta, column: str) -> str:
    label = meta.label(column)
    unit = meta.unit(column)
    text = f"{label}（{unit}）" if unit else label
    return text + ("【私密 private】" if meta.is_private(column) else "")


def _copy_features(
    conn: psycopg.Connection[Any],
    loc: Location,
    vid: int,
    gdf: gpd.GeoDataFrame,
    records: list[dict[str, Any]] | None = None,
) -> list[Column]:
    """Create ``<s>.v<vid>`` and copy ``gdf`` (WGS84) into it."""
    import numpy as np
    import shapely
    from psycopg.types.json import Json

    columns, values = _plan_columns(gdf, records)
    table = ident(loc.schema, f"v{vid}")
    defs = ", ".join(f"{ident(c.name)} {c.type}" for c in columns)
    conn.execute(
        f"CREATE TABLE {table} (_ord integer PRIMARY KEY, "
        + (defs + ", " if defs else "")
        + "geom geometry(Geometry, 4326))"
    )
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if records is None:
        # What a folder add writes (dumps_layer): a family mixing single and multi parts
        # all-Multi, so the table has one geometry type for QGIS. A pushed file is kept as is.
        from geomap.geojson_io import promote_to_multi

        geoms = promote_to_multi(geoms)
    geoms = shapely.set_srid(geoms, 4326)
    wkb = shapely.to_wkb(geoms, hex=True, include_srid=True)
    for c, vals in zip(columns, values, strict=True):
        if c.type == "json":
            vals[:] = [None if v is None else Json(v) for v in vals]
    names = ", ".join(["_ord", *(ident(c.name) for c in columns), "geom"])
    with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in zip(range(len(gdf)), *values, wkb, strict=True):
            copy.write_row(row)
    conn.execute(f"CREATE INDEX ON {table} USING gist (geom)")
    return columns


def _make_views(
    conn: psycopg.Connection[Any],
    loc: Location,
    name: str,
    vid: int | None,
    meta: LayerMeta | None,
    columns: list[Column],
) -> None:
    """(Re)create the full view ``<s>."name"`` and the public view ``<s>_map."name"``."""
    full, public = ident(loc.schema, name), ident(loc.map_schema, name)
    conn.execute(f"DROP VIEW IF EXISTS {full}")
    conn.execute(f"DROP VIEW IF EXISTS {public}")
    if vid is None or meta is None:
        return
    table = ident(loc.schema, f"v{vid}")

    def select(cols: list[Column]) -> str:
        return ", ".join(["_ord", *(ident(c.name) for c in cols), "geom"])

    public_cols = [c for c in columns if not meta.is_private(c.prop)]
    conn.execute(f"CREATE VIEW {full} AS SELECT {select(columns)} FROM {table}")
    conn.execute(f"CREATE VIEW {public} AS SELECT {select(public_cols)} FROM {table}")
    title = meta.title + (f"（{meta.source}）" if meta.source else "")
    for view, cols in ((full, columns), (public, public_cols)):
        conn.execute(f"COMMENT ON VIEW {view} IS {literal(title)}")
        for c in cols:
            comment = _comment(meta, c.prop) + (f" [{c.prop}]" if c.name != c.prop else "")
            conn.execute(f"COMMENT ON COLUMN {view}.{ident(c.name)} IS {literal(comment)}")
        conn.execute(f"COMMENT ON COLUMN {view}._ord IS {literal('要素顺序 (feature order)')}")
        conn.execute(f"COMMENT ON COLUMN {view}.geom IS {literal('几何 WGS84 (geometry)')}")
    _grant_readers(conn, loc, public)


def _grant_readers(conn: psycopg.Connection[Any], loc: Location, relation: str) -> None:
    """Let every role granted the atlas (``<s>.readers``) read ``relation`` (a quoted name)."""
    for (role,) in conn.execute(f"SELECT role FROM {ident(loc.schema)}.readers").fetchall():
        conn.execute(f"GRANT SELECT ON {relation} TO {ident(role)}")


def publish_table(
    conn: psycopg.Connection[Any],
    loc: Location,
    name: str,
    csv_data: bytes | None,
    toml_data: bytes | None,
) -> None:
    """Inside the caller's transaction: (re)make ``<s>_map."data/<name>"``, the indicator
    table as a real table for QGIS and the map role: its public columns only, numbers as
    numbers, labels, units and years as column comments. The CSV and TOML in ``files`` stay
    the atlas's own copy; a table that cannot be read is left out (``check`` reports it)."""
    import csv
    import io

    from geomap.spec import parse_table_meta

    target = ident(loc.map_schema, f"data/{name}")
    conn.execute(f"DROP TABLE IF EXISTS {target}")
    if csv_data is None or toml_data is None:
        return
    try:
        meta = parse_table_meta(
            name, tomllib.loads(toml_data.decode("utf-8-sig")), Path(f"data/{name}.toml")
        )
        rows = list(csv.reader(io.StringIO(csv_data.decode("utf-8-sig"), newline="")))
    except (GeomapError, tomllib.TOMLDecodeError, UnicodeDecodeError, csv.Error):
        return
    if not rows or len(set(rows[0])) != len(rows[0]):
        return
    header = [h.strip() for h in rows[0]]
    keep = [
        i for i, h in enumerate(header) if h and not (h in meta.columns and meta.columns[h].private)
    ]
    numeric = {
        i for i in keep if header[i] in meta.columns and meta.columns[header[i]].type != "text"
    }
    defs = ", ".join(
        f"{ident(header[i])} {'double precision' if i in numeric else 'text'}" for i in keep
    )
    conn.execute(f"CREATE TABLE {target} ({defs})")

    def cell(i: int, value: str) -> Any:
        value = value.strip()
        if i not in numeric:
            return value
        try:
            return float(value) if value else None
        except ValueError:
            return None

    with conn.cursor().copy(
        f"COPY {target} ({', '.join(ident(header[i]) for i in keep)}) FROM STDIN"
    ) as copy:
        for row in rows[1:]:
            if len(row) == len(header) and any(c.strip() for c in row):
                copy.write_row([cell(i, row[i]) for i in keep])
    title = meta.title + (f"（{meta.source}）" if meta.source else "")
    conn.execute(f"COMMENT ON TABLE {target} IS {literal(title)}")
    for i in keep:
        cdef = meta.columns.get(header[i])
        if cdef is None:
            continue
        text = cdef.label + (f"（{cdef.unit}）" if cdef.unit else "")
        text += f" {cdef.year}年" if cdef.year and str(cdef.year) not in cdef.label else ""
        conn.execute(f"COMMENT ON COLUMN {target}.{ident(header[i])} IS {literal(text)}")
    _grant_readers(conn, loc, target)


def write_layer_version(
    conn: psycopg.Connection[Any],
    loc: Location,
    name: str,
    gdf: gpd.GeoDataFrame,
    meta_toml: str,
    *,
    replace: bool,
    header: dict[str, Any] | None = None,
    records: list[dict[str, Any]] | None = None,
    digest: str | None = None,
) -> int:
    """Inside the caller's transaction: store ``gdf`` as a new version of layer ``name`` and
    make it current. The features are copied before the layer's row is locked."""
    check_name(name, "图层 layer")
    meta = parse_layer_meta(
        name, tomllib.loads(meta_toml), Path(f"{loc.schema}/layers/{name}.toml")
    )
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    row = conn.execute(f"SELECT nextval('{loc.schema}.version_seq')").fetchone()
    assert row is not None
    vid = int(row[0])
    columns = _copy_features(conn, loc, vid, gdf, records)
    s = ident(loc.schema)
    conn.execute(f"INSERT INTO {s}.layers (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,))
    waited = time.monotonic()
    current = conn.execute(
        f"SELECT current FROM {s}.layers WHERE name = %s FOR UPDATE", (name,)
    ).fetchone()
    TIMINGS["lock_wait_s"] = TIMINGS.get("lock_wait_s", 0.0) + time.monotonic() - waited
    if current is not None and current[0] is not None and not replace:
        raise DataError(
            f"{safe_url(loc.url)}: 图层 {name} 已存在 (layer already exists); use --replace to "
            "replace it (the old version is kept in the database), or choose another --name"
        )
    conn.execute(
        f"INSERT INTO {s}.layer_versions (id, name, meta_toml, columns, header, features, "
        "digest) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            vid,
            name,
            meta_toml,
            json.dumps([[c.prop, c.name, c.type] for c in columns], ensure_ascii=False),
            json.dumps(header, ensure_ascii=False) if header else None,
            len(gdf),
            digest,
        ),
    )
    conn.execute(f"UPDATE {s}.layers SET current = %s WHERE name = %s", (vid, name))
    _make_views(conn, loc, name, vid, meta, columns)
    return vid


def drop_layer(conn: psycopg.Connection[Any], loc: Location, name: str) -> None:
    """Inside the caller's transaction: the layer has no current version any more (its
    versions stay)."""
    conn.execute(f"UPDATE {ident(loc.schema)}.layers SET current = NULL WHERE name = %s", (name,))
    _make_views(conn, loc, name, None, None, [])


def write_file(conn: psycopg.Connection[Any], loc: Location, path: str, data: bytes | None) -> None:
    """Inside the caller's transaction: a new version of an atlas file (None deletes it)."""
    s = ident(loc.schema)
    row = conn.execute(f"SELECT nextval('{loc.schema}.version_seq')").fetchone()
    assert row is not None
    version = int(row[0])
    conn.execute(
        f"INSERT INTO {s}.file_versions (version, path, data) VALUES (%s, %s, %s)",
        (version, path, data),
    )
    if data is None:
        conn.execute(f"DELETE FROM {s}.files WHERE path = %s", (path,))
    else:
        conn.execute(
            f"INSERT INTO {s}.files (path, version, data) VALUES (%s, %s, %s) "
            "ON CONFLICT (path) DO UPDATE SET version = EXCLUDED.version, data = EXCLUDED.data",
            (path, version, data),
        )


def layer_geojson(
    conn: psycopg.Connection[Any],
    loc: Location,
    vid: int,
    columns: list[list[str]],
    header: dict[str, Any] | None,
) -> bytes:
    """The GeoJSON text of version ``vid``, as :func:`geomap.geojson_io.dumps_layer` writes
    it (so a layer pushed from a folder comes back byte for byte)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from geomap.geojson_io import dumps_layer

    names = [ident(col) for _, col, _ in columns]
    query = (
        "SELECT "
        + ", ".join([*names, "ST_AsBinary(geom)"])
        + f" FROM {ident(loc.schema, f'v{vid}')} ORDER BY _ord"
    )
    cur = conn.cursor(binary=True)
    rows = cur.execute(query).fetchall()
    data: dict[str, pd.Series] = {}
    for i, (prop, _, _) in enumerate(columns):
        data[prop] = pd.Series([r[i] for r in rows], dtype=object)
    wkb = np.array([r[-1] for r in rows], dtype=object)
    del rows
    geoms = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
    geometry = gpd.GeoSeries(geoms, crs="EPSG:4326", name="\x00geometry")
    gdf = gpd.GeoDataFrame(pd.DataFrame(data, index=range(len(geoms))), geometry=geometry)
    out = dumps_layer(gdf)
    if header:
        extra = json.dumps(header, ensure_ascii=False, separators=(",", ":"))[1:-1]
        prefix = b'{"type":"FeatureCollection",'
        out = prefix + extra.encode() + b"," + out[len(prefix) :]
    return out


# ---------------------------------------------------------------------------------------
# Snapshots: the database atlas as a folder


def snapshot_dir(loc: Location) -> Path:
    """Where the snapshot folder of a database atlas lives (and so its rendered maps):
    ``$GEOMAP_CACHE/<database>-<atlas>-<hash>``, by default under ``~/.cache/geomap``."""
    base = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "geomap"
    )
    parts = urlsplit(loc.conninfo)
    label = re.sub(r"[^A-Za-z0-9_-]", "_", (parts.path.strip("/") or "db"))[:40]
    digest = hashlib.sha256(
        f"{parts.hostname}:{parts.port}{parts.path}#{loc.schema}".encode()
    ).hexdigest()[:10]
    return Path(base) / f"{label}-{loc.schema}-{digest}"


@dataclass
class SyncReport:
    layers_written: list[str] = field(default_factory=list)
    files_written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def sync_folder(
    conn: psycopg.Connection[Any], loc: Location, folder: Path, *, manifest: bool = True
) -> SyncReport:
    """Write the current state of the database atlas into ``folder`` as an atlas folder, in
    one REPEATABLE READ transaction (a consistent snapshot even while others write). With
    ``manifest``, only what changed since the last sync is written."""
    report = SyncReport()
    s = ident(loc.schema)
    mpath = folder / MANIFEST
    found = _manifest(folder) if manifest else None
    old: dict[str, dict[str, int]] = {
        "layers": dict((found or {}).get("layers", {})),
        "files": dict((found or {}).get("files", {})),
    }
    require_schema(conn, loc)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        layers = conn.execute(
            f"SELECT l.name, v.id, v.meta_toml, v.columns, v.header FROM {s}.layers l "
            f"JOIN {s}.layer_versions v ON v.id = l.current ORDER BY l.name"
        ).fetchall()
        files = conn.execute(f"SELECT path, version FROM {s}.files ORDER BY path").fetchall()
        new: dict[str, dict[str, int]] = {
            "layers": {name: vid for name, vid, *_ in layers},
            "files": dict(files),
        }
        for sub in ("layers", "data", "maps"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        if manifest:
            # Invalidate first: a sync killed half-way leaves a manifest that matches nothing.
            atomic_write(mpath, b"{}")
        for name, vid, meta_toml, columns, header in layers:
            # A name written into the database by hand must not become a path.
            check_name(name, "数据库中的图层 layer in the database")
            if old["layers"].get(name) == vid and (folder / "layers" / f"{name}.geojson").is_file():
                continue
            data = layer_geojson(conn, loc, vid, columns, header)
            atomic_write(folder / "layers" / f"{name}.toml", meta_toml.encode("utf-8"))
            atomic_write(folder / "layers" / f"{name}.geojson", data)
            report.layers_written.append(name)
        changed = [
            p
            for p, v in new["files"].items()
            if old["files"].get(p) != v or not (folder / p).is_file()
        ]
        if changed:
            for path, data in conn.execute(
                f"SELECT path, data FROM {s}.files WHERE path = ANY(%s)", (changed,)
            ).fetchall():
                atomic_write(_inside(folder, path), bytes(data))
                report.files_written.append(path)
    for name in set(old["layers"]) - set(new["layers"]):
        for suffix in (".geojson", ".toml"):
            (folder / "layers" / f"{name}{suffix}").unlink(missing_ok=True)
        report.removed.append(f"layers/{name}")
    for path in set(old["files"]) - set(new["files"]):
        _inside(folder, path).unlink(missing_ok=True)
        report.removed.append(path)
    if manifest:
        atomic_write(mpath, json.dumps(new, ensure_ascii=False, sort_keys=True).encode())
    return report


def _inside(folder: Path, rel: str) -> Path:
    """``folder/rel`` for a stored file name, refused when it is not one geomap writes."""
    parts = rel.split("/")
    ok = rel == "atlas.toml" or (
        len(parts) == 2
        and any(
            parts[0] == d and parts[1].endswith(sfx) and SLUG.fullmatch(parts[1][: -len(sfx)])
            for d, sfx in _FILE_GLOBS
        )
    )
    if not ok:
        raise DataError(f"数据库中的文件名 {rel!r:.80} 无效 (invalid stored file name)")
    return folder / rel


_held_locks: list[SharedLock] = []


def _state(conn: psycopg.Connection[Any], loc: Location) -> dict[str, dict[str, int]]:
    """Which version of every layer and file is current (what a snapshot manifest records)."""
    s = ident(loc.schema)
    layers = conn.execute(
        f"SELECT name, current FROM {s}.layers WHERE current IS NOT NULL"
    ).fetchall()
    files = conn.execute(f"SELECT path, version FROM {s}.files").fetchall()
    return {"layers": dict(layers), "files": dict(files)}


def _manifest(folder: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    return None


@database_errors
def open_database_atlas(url: str) -> DatabaseAtlas:
    """The database atlas at ``url``, read through an up-to-date snapshot folder.

    Commands hold a shared lock on the snapshot folder for their whole run, so no other
    command rewrites it under a running render or check; a command that finds the snapshot
    out of date takes the lock exclusively and syncs it. When other commands hold the
    snapshot for longer than ``SYNC_WAIT_S``, it goes on with the older snapshot and warns
    (writers do not depend on it: the database is what they check against).
    """
    # One command per process: a lock held for an earlier command in this process (tests
    # run commands in-process) is let go, or this process would wait for itself.
    while _held_locks:
        _held_locks.pop().close()
    loc = Location.parse(url)
    conn = connect(loc)
    require_schema(conn, loc)
    folder = snapshot_dir(loc)
    folder.mkdir(parents=True, exist_ok=True)
    lock = SharedLock(folder / ".geomap-sync.lock")
    started = time.monotonic()
    lock.share()
    TIMINGS["snapshot_wait_s"] = time.monotonic() - started
    state = _state(conn, loc)
    if _manifest(folder) != state:
        lock.release()
        waited = time.monotonic()
        got = lock.own_within(SYNC_WAIT_S)
        TIMINGS["snapshot_wait_s"] += time.monotonic() - waited
        if got:
            try:
                sync_folder(conn, loc, folder)
            finally:
                lock.release()
                lock.share()
        else:
            # Other commands of this user are reading the snapshot: rather than wait for
            # them, use it as it is (a consistent, older state) and say so.
            lock.share()
            print(
                f"警告 (warning): 快照正被其他 geomap 命令使用，本次使用较早的快照 (the snapshot "
                f"{folder} is in use by other geomap commands: this command sees the atlas as "
                "of the last sync; run it again to see newer changes)",
                file=sys.stderr,
            )
    TIMINGS["snapshot_s"] = time.monotonic() - started
    _held_locks.append(lock)
    return DatabaseAtlas(folder, loc, conn)


class DatabaseAtlas(Atlas):
    """An atlas whose data live in PostGIS; reads come from the snapshot folder ``root``.

    ``lock()`` is a database transaction; inside it ``write_layer`` writes a new version and
    ``map_spec`` reads (and locks) the map spec's current row, so two writers adding layers
    to one map both keep theirs. Map specs edited during the transaction are written to a
    private folder and stored when it commits; the snapshot folder is never written.
    """

    def __init__(self, root: Path, loc: Location, conn: psycopg.Connection[Any]) -> None:
        super().__init__(root)
        self.location = loc
        self.conn = conn
        self._snapshot_maps = self.maps_dir
        self._locked: dict[str, bytes | None] = {}
        self._work: Path | None = None

    @property
    def label(self) -> str:
        return safe_url(self.location.url)

    def close(self) -> None:
        """The command is done: let go of the connection and the snapshot lock (a process
        would on exit; tests run many commands in one process)."""
        self.conn.close()
        while _held_locks:
            _held_locks.pop().close()

    @contextlib.contextmanager
    def lock(self, timeout: float = 30.0) -> Iterator[None]:
        # A private copy of the map specs inside the snapshot (so paths stay in the atlas).
        import tempfile

        self._work = Path(tempfile.mkdtemp(prefix=".write-", dir=self.root))
        work_maps = self._work / "maps"
        shutil.copytree(self._snapshot_maps, work_maps, ignore=shutil.ignore_patterns("*.html"))
        base = {p.name: p.read_bytes() for p in work_maps.glob("*.toml")}
        self._locked = {}
        self.maps_dir = work_maps
        import psycopg

        started = time.monotonic()
        try:
            with self.conn.transaction():
                self.conn.execute(f"SET LOCAL lock_timeout = '{max(1, int(timeout))}s'")
                yield
                self._store_maps(base)
        except psycopg.errors.LockNotAvailable:
            raise DataError(
                f"{self.label}: 另一个 geomap 命令正在写入同一图层或地图 (another geomap command "
                f"is writing the same layer or map); waited {timeout:.0f} s, try again later"
            ) from None
        except psycopg.Error as exc:
            raise GeomapError(
                f"{self.label}: 数据库写入失败，未做任何更改 (the database refused the write; "
                f"nothing was changed): {' '.join(str(exc).split())}"
            ) from None
        finally:
            self.maps_dir = self._snapshot_maps
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None
            TIMINGS["transaction_s"] = time.monotonic() - started
            if os.environ.get("GEOMAP_TIMING") == "1":
                print("geomap-timing " + json.dumps(TIMINGS), file=sys.stderr)

    def _store_maps(self, base: dict[str, bytes]) -> None:
        s = ident(self.location.schema)
        for path in sorted(self.maps_dir.glob("*.toml")):
            data = path.read_bytes()
            rel = f"maps/{path.name}"
            if rel in self._locked:
                if data == self._locked[rel]:
                    continue
            else:
                if data == base.get(path.name):
                    continue
                row = self.conn.execute(
                    f"SELECT data FROM {s}.files WHERE path = %s FOR UPDATE", (rel,)
                ).fetchone()
                if (bytes(row[0]) if row else None) != base.get(path.name):
                    raise DataError(
                        f"{self.label}: {rel} 已被他人修改 (changed by someone else meanwhile); "
                        "run the command again"
                    )
            write_file(self.conn, self.location, rel, data)

    def map_spec(self, name: str) -> Any:
        if self._work is not None:
            # Inside a write: the current row, locked until the transaction ends.
            rel = f"maps/{name}.toml"
            waited = time.monotonic()
            row = self.conn.execute(
                f"SELECT data FROM {ident(self.location.schema)}.files WHERE path = %s FOR UPDATE",
                (rel,),
            ).fetchone()
            TIMINGS["lock_wait_s"] = TIMINGS.get("lock_wait_s", 0.0) + time.monotonic() - waited
            current = bytes(row[0]) if row else None
            if rel not in self._locked:
                self._locked[rel] = current
                path = self.map_path(name)
                if current is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write(path, current)
        return super().map_spec(name)

    def write_layer(
        self,
        name: str,
        gdf: gpd.GeoDataFrame | ChunkedLayer,
        meta: dict[str, Any],
        replace: bool = False,
    ) -> Path:
        import tomli_w

        from geomap.chunks import ChunkedLayer

        if isinstance(gdf, ChunkedLayer):  # `geomap add` hands its layer over in chunks
            gdf = gdf.to_gdf()
        meta_toml = tomli_w.dumps(meta)
        if self._work is None:
            with self.lock():
                write_layer_version(self.conn, self.location, name, gdf, meta_toml, replace=replace)
        else:
            write_layer_version(self.conn, self.location, name, gdf, meta_toml, replace=replace)
        return self.layer_path(name)


# ---------------------------------------------------------------------------------------
# push and pull


@dataclass
class PushReport:
    layers: list[tuple[str, int]] = field(default_factory=list)  # name, features
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _raw_layer(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The properties of every feature as the file has them, and the FeatureCollection's
    members other than type/features (e.g. ``crs``; None for geomap's own layout)."""
    import orjson

    data = path.read_bytes()
    head = b'{"type":"FeatureCollection","features":[\n'
    start, key = b'{"type":"Feature","properties":', b',"geometry":'
    if data.startswith(head):
        end = data.rstrip().rfind(b"\n]}")
        body = data[len(head) : end]
        lines = body.split(b",\n") if body.strip() else []
        try:
            records = [orjson.loads(ln[len(start) : ln.rfind(key)]) for ln in lines]
            if all(
                ln.startswith(start) and isinstance(r, dict)
                for ln, r in zip(lines, records, strict=True)
            ):
                return records, None
        except orjson.JSONDecodeError:
            pass
    raw = orjson.loads(data)
    records = [f.get("properties") or {} for f in raw["features"]]
    extra = {k: v for k, v in raw.items() if k not in ("type", "features")}
    return records, extra or None


@database_errors
def push(folder: str | Path, url: str, *, replace: bool = False) -> PushReport:
    """Copy the folder atlas at ``folder`` into the database atlas at ``url`` in one
    transaction.

    An atlas that already has content is refused unless ``replace``: then every layer and
    file that differs gets a new version, and what the folder lacks is dropped from the
    current state (old versions stay). A folder made by ``pull`` remembers which versions it
    holds: anything changed in the database since then is a conflict and nothing is written,
    and what others added since is kept.
    """
    from geomap.geojson_io import read_layer

    atlas = Atlas(find_root(folder))
    loc = Location.parse(url)
    report = PushReport()
    for bad in [
        p
        for p in atlas.layers_dir.glob("*.geojson")
        if not (atlas.layers_dir / f"{p.stem}.toml").is_file()
    ]:
        raise DataError(
            f"{bad}: 图层缺少元数据文件 (layer has no metadata file); add it before pushing"
        )
    names = atlas.layer_names()
    for name in names:
        if len(name.encode()) > 60:
            raise DataError(f"图层名 {name} 过长 (name too long for a database table, max 60)")
    pulled = _manifest(atlas.root)
    seen: dict[str, dict[str, int]] = {
        "layers": dict((pulled or {}).get("layers", {})),
        "files": dict((pulled or {}).get("files", {})),
    }
    conflicts: list[str] = []

    def changed_since_pull(kind: str, key: str, version: int | None) -> bool:
        return pulled is not None and version is not None and seen[kind].get(key) != version

    conn = connect(loc)
    try:
        ensure_schema(conn, loc)
        with conn.transaction():
            s = ident(loc.schema)
            current = {
                name: (vid, digest, meta)
                for name, vid, digest, meta in conn.execute(
                    f"SELECT l.name, v.id, v.digest, v.meta_toml FROM {s}.layers l "
                    f"JOIN {s}.layer_versions v ON v.id = l.current"
                ).fetchall()
            }
            stored = {
                path: (version, bytes(data))
                for path, version, data in conn.execute(
                    f"SELECT path, version, data FROM {s}.files"
                ).fetchall()
            }
            if (current or stored) and not replace:
                raise DataError(
                    f"{safe_url(url)}: 数据库图集 {loc.schema} 已有内容 (the database atlas is not "
                    "empty); use --replace to update it (old versions are kept), or "
                    "?atlas=NAME for another atlas in this database"
                )
            for name in names:
                meta_toml = atlas.layer_path(name, ".toml").read_bytes().decode("utf-8-sig")
                atlas.layer_meta(name)  # validated: a broken metadata file is refused
                path = atlas.layer_path(name)
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                vid, old_digest, old_meta = current.get(name, (None, None, None))
                if old_digest == digest and old_meta == meta_toml:
                    report.unchanged.append(f"layers/{name}")
                    continue
                if changed_since_pull("layers", name, vid):
                    conflicts.append(f"layers/{name}")
                    continue
                gdf = read_layer(path)
                records, header = _raw_layer(path)
                write_layer_version(
                    conn,
                    loc,
                    name,
                    gdf,
                    meta_toml,
                    replace=True,
                    header=header,
                    records=records,
                    digest=digest,
                )
                del records
                report.layers.append((name, len(gdf)))
            for orphan in sorted(set(atlas._names(atlas.layers_dir, ".toml")) - set(names)):
                report.skipped.append(f"layers/{orphan}.toml")
            wanted: dict[str, bytes] = {}
            if (atlas.root / "atlas.toml").is_file():
                wanted["atlas.toml"] = (atlas.root / "atlas.toml").read_bytes()
            for sub, suffix in _FILE_GLOBS:
                for stem in atlas._names(atlas.root / sub, suffix):
                    wanted[f"{sub}/{stem}{suffix}"] = atlas.inside(
                        atlas.root / sub / f"{stem}{suffix}"
                    ).read_bytes()
            for rel, data in sorted(wanted.items()):
                version, old = stored.get(rel, (None, None))
                if old == data:
                    report.unchanged.append(rel)
                elif changed_since_pull("files", rel, version):
                    conflicts.append(rel)
                else:
                    write_file(conn, loc, rel, data)
                    report.files.append(rel)
            # Indicator tables whose CSV or TOML changed are republished for the map role.
            touched = {rel for rel in report.files if rel.startswith("data/")}
            for table in sorted({Path(rel).stem for rel in touched}):
                publish_table(
                    conn,
                    loc,
                    table,
                    wanted.get(f"data/{table}.csv"),
                    wanted.get(f"data/{table}.toml"),
                )
            for rel in sorted(set(stored) - set(wanted)):
                if pulled is not None and rel not in seen["files"]:
                    continue  # added by someone else after the pull: kept
                if changed_since_pull("files", rel, stored[rel][0]):
                    conflicts.append(rel)
                    continue
                write_file(conn, loc, rel, None)
                report.removed.append(rel)
                if rel.startswith("data/"):
                    publish_table(conn, loc, Path(rel).stem, None, None)
            for name in sorted(set(current) - set(names)):
                if pulled is not None and name not in seen["layers"]:
                    continue
                if changed_since_pull("layers", name, current[name][0]):
                    conflicts.append(f"layers/{name}")
                    continue
                drop_layer(conn, loc, name)
                report.removed.append(f"layers/{name}")
            if conflicts:
                raise DataError(
                    f"{safe_url(url)}: 自从 {atlas.root} 被下载后，数据库中这些内容已被他人修改 "
                    f"(changed in the database since this folder was pulled): "
                    f"{', '.join(conflicts)}; nothing was pushed. Pull again into a new folder, "
                    "redo your edit there, and push that"
                )
        if pulled is not None:
            # The folder now matches the database at these versions.
            atomic_write(
                atlas.root / MANIFEST, json.dumps(_state(conn, loc), sort_keys=True).encode()
            )
    finally:
        conn.close()
    return report


@database_errors
def pull(url: str, folder: str | Path) -> SyncReport:
    """Write the database atlas at ``url`` into ``folder`` (new or empty) as a folder atlas."""
    target = Path(folder)
    if target.exists() and any(target.iterdir()):
        raise DataError(
            f"{target}: 目录不为空 (folder is not empty); pull into a new or empty folder"
        )
    loc = Location.parse(url)
    conn = connect(loc)
    try:
        target.mkdir(parents=True, exist_ok=True)
        # The manifest remembers the versions pulled, so a later push can see conflicts.
        return sync_folder(conn, loc, target)
    finally:
        conn.close()


@database_errors
def grant_reader(url: str, role: str) -> list[str]:
    """Let ``role`` (an existing role) read the public views of the atlas: layers without
    private columns. Returns the views granted."""
    loc = Location.parse(url)
    conn = connect(loc)
    try:
        require_schema(conn, loc)
        with conn.transaction():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                raise NotFound(
                    f"数据库角色 {role!r:.60} 不存在 (no such role); create it first, e.g. "
                    f"CREATE ROLE {role} LOGIN PASSWORD '…'"
                )
            s, m = ident(loc.schema), ident(loc.map_schema)
            conn.execute(
                f"INSERT INTO {s}.readers (role) VALUES (%s) ON CONFLICT DO NOTHING", (role,)
            )
            conn.execute(f"GRANT USAGE ON SCHEMA {m} TO {ident(role)}")
            conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {m} TO {ident(role)}")
            views = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.views WHERE table_schema = %s "
                    "ORDER BY 1",
                    (loc.map_schema,),
                ).fetchall()
            ]
        return views
    finally:
        conn.close()


@dataclass(frozen=True)
class Version:
    id: int
    name: str  # a layer name, or a file path such as maps/overview.toml
    created: str
    created_by: str
    features: int | None  # None for a file version
    current: bool


@database_errors
def history(url: str, name: str | None = None) -> list[Version]:
    """Every version of every layer and file (or of one layer or file), oldest first."""
    loc = Location.parse(url)
    conn = connect(loc)
    try:
        require_schema(conn, loc)
        s = ident(loc.schema)
        rows = conn.execute(
            f"""SELECT v.id, v.name, to_char(v.created, 'YYYY-MM-DD HH24:MI:SS'), v.created_by,
                       v.features, l.current IS NOT DISTINCT FROM v.id
                FROM {s}.layer_versions v LEFT JOIN {s}.layers l ON l.name = v.name
                WHERE %(n)s::text IS NULL OR v.name = %(n)s
                UNION ALL
                SELECT f.version, f.path, to_char(f.created, 'YYYY-MM-DD HH24:MI:SS'),
                       f.created_by, NULL, c.version IS NOT DISTINCT FROM f.version
                FROM {s}.file_versions f LEFT JOIN {s}.files c ON c.path = f.path
                WHERE f.data IS NOT NULL AND (%(n)s::text IS NULL OR f.path = %(n)s)
                ORDER BY 1""",
            {"n": name},
        ).fetchall()
        return [Version(*row) for row in rows]
    finally:
        conn.close()


@database_errors
def restore(url: str, name: str, version: int) -> int:
    """Make an earlier version of layer ``name`` current again, as a new version (a copy of
    its features and metadata, in one transaction). Returns the new version's id."""
    check_name(name, "图层 layer")
    loc = Location.parse(url)
    conn = connect(loc)
    try:
        require_schema(conn, loc)
        s = ident(loc.schema)
        with conn.transaction():
            row = conn.execute(
                f"SELECT meta_toml, columns, header, features, digest FROM {s}.layer_versions "
                "WHERE id = %s AND name = %s",
                (version, name),
            ).fetchone()
            if row is None:
                raise NotFound(
                    f"{safe_url(url)}: 图层 {name} 没有版本 {version} (no such version); list "
                    f"them with: geomap atlas history URL {name}"
                )
            meta_toml, columns, header, features, digest = row
            new = conn.execute(f"SELECT nextval('{loc.schema}.version_seq')").fetchone()
            assert new is not None
            vid = int(new[0])
            table = ident(loc.schema, f"v{vid}")
            conn.execute(
                f"CREATE TABLE {table} (LIKE {ident(loc.schema, f'v{version}')} INCLUDING ALL)"
            )
            conn.execute(f"INSERT INTO {table} SELECT * FROM {ident(loc.schema, f'v{version}')}")
            conn.execute(
                f"INSERT INTO {s}.layers (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,)
            )
            conn.execute(f"SELECT 1 FROM {s}.layers WHERE name = %s FOR UPDATE", (name,))
            conn.execute(
                f"INSERT INTO {s}.layer_versions (id, name, meta_toml, columns, header, "
                "features, digest) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    vid,
                    name,
                    meta_toml,
                    json.dumps(columns, ensure_ascii=False),
                    json.dumps(header, ensure_ascii=False) if header else None,
                    features,
                    digest,
                ),
            )
            conn.execute(f"UPDATE {s}.layers SET current = %s WHERE name = %s", (vid, name))
            meta = parse_layer_meta(name, tomllib.loads(meta_toml), Path(f"layers/{name}.toml"))
            _make_views(conn, loc, name, vid, meta, [Column(*c) for c in columns])
        return vid
    finally:
        conn.close()
