"""Hand a layer to GIS tools: GeoPackage, Shapefile, GeoJSON or CSV, labelled and without
private fields.

The bureau and the GIS technician work in QGIS/ArcGIS, which never read our ``.toml``
sidecars. :func:`export_layer` writes one layer so that what the sidecar says travels with it
as far as each format allows:

* **GeoPackage 1.2**: the title and description in ``gpkg_contents``, the source and the
  示意 note as layer metadata, each field's label (+ unit) as its alias in
  ``gpkg_data_columns``, and a QGIS default style (``layer_styles``) carrying the same
  aliases and a label by name, so the layer opens labelled in QGIS.
* **Shapefile**: a ``.cpg`` naming the encoding (UTF-8, or GBK for old tools), field names cut
  to the format's 10 bytes without clashes, and a ``.qml`` beside it (QGIS loads it as the
  layer's style) with the aliases.
* **GeoJSON** and **CSV** (geometry as WKT; UTF-8 with a BOM so Excel reads it, or GBK).

Private fields (``private = true``) are left out unless ``include_private``; a column that
looks like personal data but is not marked either way is refused, as on a map. The file
appears complete or not at all: everything is written in a temporary folder beside the
target and moved into place at the end. An existing file is replaced only with ``replace``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from geomap.atlas import Atlas
from geomap.crs import parse_crs
from geomap.errors import DataError, GeomapError, PrivacyError
from geomap.ingest.formats import exported
from geomap.privacy import personal_kind
from geomap.spec import LayerMeta

if TYPE_CHECKING:
    import geopandas as gpd

# From the one list of formats (geomap.ingest.formats): --format name → suffix, GDAL driver.
FORMATS = {name: f.suffixes[0] for name, f in exported().items()}
DRIVERS = {name: f.driver for name, f in exported().items() if f.driver}
ENCODINGS = ("utf-8", "gbk")
# A Shapefile is a set of files; these are the ones written here.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qml")
SHAPEFILE_NAME_BYTES = 10
# Features written per call: progress is reported between chunks.
CHUNK = 50_000


@dataclass
class ExportResult:
    """What was written, and what a planner should know about it."""

    path: Path
    files: list[Path]
    features: int
    geometry_type: str
    crs: str
    fields: list[str]
    left_out: list[str]
    renamed: dict[str, str] = field(default_factory=dict)
    private_included: list[str] = field(default_factory=list)


def export_layer(
    atlas: Atlas,
    name: str,
    fmt: str,
    out: Path,
    *,
    crs: str | None = None,
    encoding: str = "utf-8",
    include_private: bool = False,
    replace: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write layer ``name`` of ``atlas`` to ``out`` as ``fmt`` (see :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise GeomapError(f"未知格式 {fmt!r} (unknown format); 可用 (use): {', '.join(FORMATS)}")
    encoding = encoding.lower().replace("_", "-")
    if encoding not in ENCODINGS:
        raise GeomapError(
            f"不支持的编码 {encoding!r} (unsupported encoding); 可用 (use): {', '.join(ENCODINGS)}"
        )
    if encoding != "utf-8" and fmt in ("gpkg", "geojson"):
        raise GeomapError(f"{fmt} 总是 UTF-8 (always UTF-8); --encoding 只用于 shp 和 csv")
    out = _target(atlas, out, fmt, replace)
    layer = atlas.read_layer(name)
    meta = layer.meta
    gdf, left_out, included = _public_columns(layer.gdf, meta, include_private)
    from geomap.geojson_io import promote_to_multi

    gdf = gdf.set_geometry(promote_to_multi(gdf.geometry.values), crs=gdf.crs)
    epsg = parse_crs(crs).epsg if crs else 4326
    if epsg is None:
        raise GeomapError(
            f"导出坐标系须为 EPSG 代码 (export needs an EPSG code, not {crs}); "
            "e.g. EPSG:4490 (CGCS2000) or EPSG:4549 (CGCS2000 3度带 CM 120E)"
        )
    if epsg != 4326:
        gdf = gdf.to_crs(epsg)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    renamed = _shapefile_names(columns) if fmt == "shp" else {}
    renderer = _map_renderer(atlas, name, gdf, renamed)  # by the layer's own column names
    gdf = gdf.rename(columns=renamed)
    if encoding == "gbk":
        _check_encodable(gdf, encoding, atlas.layer_path(name))
    gdf = _plain_values(gdf)
    aliases = {renamed.get(c, c): _alias(meta, c) for c in columns}
    work = Path(tempfile.mkdtemp(prefix=f".{out.stem}.", suffix=".tmp", dir=out.parent))
    try:
        staged = work / out.name
        if fmt == "csv":
            _write_csv(gdf, staged, encoding)
            if on_progress:
                on_progress(len(gdf))
        else:
            _write_ogr(gdf, staged, fmt, meta, encoding, on_progress)
        if fmt == "gpkg":
            _describe_geopackage(staged, name, aliases, meta, renderer)
        if fmt == "shp":
            qml = _qml(aliases, meta, renamed, renderer)
            staged.with_suffix(".qml").write_text(qml, encoding="utf-8")
        # The file to open first, then its companions (a Shapefile's .shx, .dbf, …).
        files = sorted(
            (p for p in work.iterdir() if p.is_file()),
            key=lambda p: (p.name != out.name, _part_order(p.suffix), p.name),
        )
        moved = []
        for part in files:
            target = out.with_suffix(part.suffix) if fmt == "shp" else out
            os.replace(part, target)
            moved.append(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    geom_types = sorted(set(gdf.geom_type.dropna()))
    return ExportResult(
        path=out,
        files=moved,
        features=len(gdf),
        geometry_type="/".join(geom_types) or "—",
        crs=f"EPSG:{epsg}",
        fields=[c for c in gdf.columns if c != gdf.geometry.name],
        left_out=left_out,
        renamed={k: v for k, v in renamed.items() if k != v},
        private_included=included,
    )


def _part_order(suffix: str) -> int:
    return SHAPEFILE_PARTS.index(suffix) if suffix in SHAPEFILE_PARTS else len(SHAPEFILE_PARTS)


def default_output(name: str, fmt: str, folder: Path | None = None) -> Path:
    """``<folder>/<layer>.<ext>``: the working directory unless told otherwise."""
    return (folder or Path.cwd()) / f"{name}{FORMATS[fmt]}"


def _target(atlas: Atlas, out: Path, fmt: str, replace: bool) -> Path:
    out = Path(out)
    if out.suffix.lower() != FORMATS[fmt]:
        out = out.with_name(out.name + FORMATS[fmt])
    out = out.absolute()
    for folder in (atlas.layers_dir, atlas.data_dir):
        resolved = out.parent.resolve()
        if resolved == folder.resolve() or folder.resolve() in resolved.parents:
            raise DataError(
                f"{out}: 不能导出到图集的 {folder.name}/ 目录 (would write inside the atlas's "
                f"{folder.name}/ folder); choose another place with -o"
            )
    parts = [out.with_suffix(s) for s in SHAPEFILE_PARTS] if fmt == "shp" else [out]
    existing = [p for p in parts if p.exists()]
    if existing and not replace:
        raise DataError(
            f"{existing[0]}: 文件已存在 (file exists); use --replace to overwrite it, "
            "or -o to write elsewhere"
        )
    if not out.parent.is_dir():
        raise DataError(f"{out.parent}: 目录不存在 (folder does not exist); create it first")
    return out


def _public_columns(
    gdf: gpd.GeoDataFrame, meta: LayerMeta, include_private: bool
) -> tuple[gpd.GeoDataFrame, list[str], list[str]]:
    """The layer without its private columns (or with them, named, when asked)."""
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    private = [c for c in columns if meta.is_private(c)]
    if include_private:
        return gdf, [], private
    for col in columns:
        fd = meta.fields.get(col)
        if (fd is None or fd.private is None) and col not in private:
            kind = personal_kind(gdf[col])
            if kind:
                raise PrivacyError(
                    f"图层 {meta.name} 的列 {col!r:.60} 看起来是{kind}，但未标明是否公开 "
                    f"(column looks like personal data and is not marked); add "
                    f"[fields.{col}] private = true to layers/{meta.name}.toml to leave it "
                    "out, private = false if it is public, or pass --include-private"
                )
    return gdf.drop(columns=private), private, []


def _alias(meta: LayerMeta, column: str) -> str:
    label = meta.label(column)
    unit = meta.unit(column)
    return f"{label} ({unit})" if unit else label


def _shapefile_names(columns: list[str]) -> dict[str, str]:
    """Field names cut to 10 bytes (UTF-8) and made unique: ``{old: new}`` for all columns."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        base = _cut(col, SHAPEFILE_NAME_BYTES)
        new, n = base, 1
        while new.lower() in taken:
            suffix = f"_{n}"
            new = _cut(col, SHAPEFILE_NAME_BYTES - len(suffix)) + suffix
            n += 1
        taken.add(new.lower())
        out[col] = new
    return out


def _cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", errors="ignore")


def _check_encodable(gdf: gpd.GeoDataFrame, encoding: str, source: Path) -> None:
    """Refuse, naming feature and field, a text the chosen code page cannot hold."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    for col in [c for c in gdf.columns if c != gdf.geometry.name]:
        try:
            col.encode(encoding)
        except UnicodeEncodeError:
            raise DataError(
                f"{source}: 字段名 {col!r} 不能用 {encoding.upper()} 编码 (field name not "
                f"representable in {encoding.upper()}); export with --encoding utf-8"
            ) from None
        if is_numeric_dtype(gdf[col]) or is_bool_dtype(gdf[col]):
            continue
        for i, value in enumerate(gdf[col]):
            if isinstance(value, str):
                try:
                    value.encode(encoding)
                except UnicodeEncodeError as exc:
                    raise DataError(
                        f"{source}: 第 {i + 1} 个要素 字段 {col}: {value!r:.40} 中的字符 "
                        f"{exc.object[exc.start : exc.end]!r} 不能用 {encoding.upper()} 编码 "
                        f"(feature {i + 1}, field {col}: character not in {encoding.upper()}); "
                        "export with --encoding utf-8 (UTF-8 holds every character)"
                    ) from None


def _plain_values(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Text columns GDAL can write: lists and mappings as JSON, mixed values as text."""
    import orjson
    import pandas as pd

    from geomap.geojson_io import json_value

    out = gdf.copy()
    for col in [c for c in out.columns if c != out.geometry.name]:
        if out[col].dtype != object:  # numbers, booleans, pandas strings: GDAL writes them
            continue
        values = [json_value(v) for v in out[col]]
        if all(v is None or isinstance(v, str) for v in values):
            continue
        out[col] = pd.Series(
            [
                None
                if v is None
                else orjson.dumps(v).decode()
                if isinstance(v, list | dict)
                else str(v)
                for v in values
            ],
            index=out.index,
            dtype=object,
        )
    return out


def _write_ogr(
    gdf: gpd.GeoDataFrame,
    path: Path,
    fmt: str,
    meta: LayerMeta,
    encoding: str,
    on_progress: Callable[[int], None] | None,
) -> None:
    import pyogrio

    options: dict[str, Any] = {}
    if fmt == "gpkg":
        options = {
            "layer": meta.name,
            "dataset_options": {"VERSION": "1.2"},
            "layer_options": {
                "IDENTIFIER": meta.title,
                "DESCRIPTION": _description(meta),
            },
            "metadata": {
                k: v
                for k, v in {
                    "title": meta.title,
                    "source": meta.source,
                    "illustrative": "true (示意数据)" if meta.illustrative else None,
                    "generator": "geomap export-data",
                }.items()
                if v
            },
        }
    elif fmt == "shp":
        options = {"encoding": "GBK" if encoding == "gbk" else "UTF-8"}
    geom_type = _one_type(gdf)
    # GeoPackage and Shapefile take appends: written in chunks, with progress between them.
    step = CHUNK if fmt in ("gpkg", "shp") else max(len(gdf), 1)
    for start in range(0, max(len(gdf), 1), step):
        part = gdf.iloc[start : start + step]
        more: dict[str, Any] = (
            options if start == 0 else {**_append_options(options), "append": True}
        )
        pyogrio.write_dataframe(part, path, driver=DRIVERS[fmt], geometry_type=geom_type, **more)
        if on_progress:
            on_progress(len(part))


def _append_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in ("layer", "encoding")}


def _one_type(gdf: gpd.GeoDataFrame) -> str | None:
    """The layer's one geometry type, or None to let GDAL decide (mixed or empty)."""
    types = set(gdf.geom_type.dropna())
    return types.pop() if len(types) == 1 else None


def _description(meta: LayerMeta) -> str:
    parts = [meta.description or meta.title]
    if meta.source:
        parts.append(f"来源 (source): {meta.source}")
    if meta.illustrative:
        parts.append("示意数据 (illustrative geometry)")
    return "; ".join(parts)


def _write_csv(gdf: gpd.GeoDataFrame, path: Path, encoding: str) -> None:
    """Attributes plus the geometry as WKT (``geomap add`` reads it back)."""
    frame = gdf.drop(columns=gdf.geometry.name)
    frame["wkt"] = gdf.geometry.to_wkt(rounding_precision=-1)
    frame.to_csv(path, index=False, encoding="utf-8-sig" if encoding == "utf-8" else encoding)


def _describe_geopackage(
    path: Path, table: str, aliases: dict[str, str], meta: LayerMeta, renderer: str
) -> None:
    """Field aliases (GeoPackage schema extension) and a QGIS default style."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, "
            "column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, "
            "mime_type TEXT, constraint_name TEXT, "
            "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), "
            "CONSTRAINT fk_gdc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name))"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
            "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
            "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"
        )
        definition = "http://www.geopackage.org/spec121/#extension_schema"
        for ext_table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
            db.execute(
                "INSERT OR IGNORE INTO gpkg_extensions VALUES (?, NULL, 'gpkg_schema', ?, "
                "'read-write')",
                (ext_table, definition),
            )
        db.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT "
            "NOT NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, "
            "min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, "
            "description TEXT, CONSTRAINT gdcc_ntv UNIQUE (constraint_name, "
            "constraint_type, value))"
        )
        for column, alias in aliases.items():
            unit = meta.unit(column)
            db.execute(
                "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, "
                "title, description) VALUES (?, ?, ?, ?, ?)",
                (table, column, alias, alias, f"单位 (unit): {unit}" if unit else None),
            )
        db.execute(
            "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
            "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
            "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
            "update_time DATETIME DEFAULT CURRENT_TIMESTAMP)"
        )
        geometry_column = db.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (table,)
        ).fetchone()
        db.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description) "
            "VALUES ('', '', ?, ?, ?, ?, '', 1, ?)",
            (
                table,
                geometry_column[0] if geometry_column else "geom",
                table,
                _qml(aliases, meta, {}, renderer),
                f"geomap: {meta.title}",
            ),
        )
        db.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', "
            "'', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
        )


def _map_renderer(atlas: Atlas, name: str, gdf: gpd.GeoDataFrame, renamed: dict[str, str]) -> str:
    """A QGIS renderer with the classes of the first map that colours this layer by one of
    its own exported columns (categorical or choropleth); "" when no map does.

    The classes, colours and legend labels are the ones :func:`geomap.style.style_layer`
    computes for the web map, so QGIS shows what the map shows.
    """
    from geomap.style import style_layer

    meta = atlas.read_layer(name).meta
    for map_name in atlas.map_names():
        try:
            spec = atlas.map_spec(map_name)
        except GeomapError:
            continue  # a broken spec is `check`'s business, not the export's
        for ml in spec.layers:
            style = ml.style
            if ml.layer != name or ml.where or style.type not in ("categorical", "choropleth"):
                continue
            column = style.column or ""
            if column not in gdf.columns:
                continue  # a joined or private column: not in the exported file
            kind = _symbol_kind(gdf)
            try:
                styled = style_layer(style, gdf, meta, kind, ml.title or meta.title, {})
            except GeomapError:
                continue
            values = gdf[column]
            field_name = renamed.get(column, column)
            if style.type == "categorical":
                order = [item.label for item in styled.legend if item.label != "无数据"]
                items = "".join(
                    f"      <category value={quoteattr(v)} label={quoteattr(v)} "
                    f'symbol="{i}" render="true"/>\n'
                    for i, v in enumerate(order)
                )
                kind_xml, tag = "categorizedSymbol", "categories"
            else:
                import numpy as np
                import pandas as pd

                numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
                rows = []
                lower = float(np.nanmin(numbers))
                for i in range(len(styled.colors)):
                    inside = numbers[styled.classes == i]
                    upper = float(inside.max()) if len(inside) else lower
                    rows.append(
                        f'      <range lower="{lower!r}" upper="{upper!r}" '
                        f'label={quoteattr(styled.legend[i].label)} symbol="{i}" '
                        'render="true"/>\n'
                    )
                    lower = upper
                items = "".join(rows)
                kind_xml, tag = "graduatedSymbol", "ranges"
            symbols = "".join(_symbol(kind, str(i), c) for i, c in enumerate(styled.colors))
            return (
                f'  <renderer-v2 type="{kind_xml}" attr={quoteattr(field_name)} '
                f'symbollevels="0" forceraster="0" enableorderby="0">\n'
                f"    <{tag}>\n{items}    </{tag}>\n"
                f"    <symbols>\n{symbols}    </symbols>\n"
                f"  </renderer-v2>\n"
                f"  <!-- classes of the map {map_name}: {quoteattr(spec.title)} -->\n"
            )
    return ""


def _symbol_kind(gdf: gpd.GeoDataFrame) -> str:
    types = " ".join(set(gdf.geom_type.dropna()))
    return "point" if "Point" in types else "line" if "Line" in types else "polygon"


def _symbol(kind: str, name: str, color: str) -> str:
    rgb = ",".join(str(int(color.lstrip("#")[i : i + 2], 16)) for i in (0, 2, 4)) + ",255"
    if kind == "line":
        qgis_type, layer_class = "line", "SimpleLine"
        options = {"line_color": rgb, "line_width": "0.6", "line_style": "solid"}
    elif kind == "point":
        qgis_type, layer_class = "marker", "SimpleMarker"
        options = {"color": rgb, "name": "circle", "size": "2.4", "outline_color": "50,50,50,255"}
    else:
        qgis_type, layer_class = "fill", "SimpleFill"
        options = {"color": rgb, "style": "solid", "outline_color": "80,80,80,255"}
        options["outline_width"] = "0.26"
    props = "".join(
        f'            <Option name="{k}" type="QString" value={quoteattr(v)}/>\n'
        for k, v in options.items()
    )
    return (
        f'      <symbol type="{qgis_type}" name="{name}" alpha="1" clip_to_extent="1">\n'
        f'        <layer class="{layer_class}" enabled="1" pass="0" locked="0">\n'
        f'          <Option type="Map">\n{props}          </Option>\n'
        "        </layer>\n      </symbol>\n"
    )


def _qml(
    aliases: dict[str, str], meta: LayerMeta, renamed: dict[str, str], renderer: str = ""
) -> str:
    """A QGIS style: the field aliases, a label by the layer's name field, and the map's
    classification (``renderer``, from :func:`_map_renderer`) when there is one."""
    rows = "\n".join(
        f'    <alias field={quoteattr(col)} index="{i}" name={quoteattr(alias)}/>'
        for i, (col, alias) in enumerate(aliases.items())
    )
    name_field = renamed.get(meta.name_field, meta.name_field)
    labeling = ""
    if name_field in aliases:
        labeling = (
            '  <labeling type="simple">\n    <settings calloutType="simple">\n'
            f'      <text-style fieldName={quoteattr(name_field)} fontSize="9" '
            'textColor="50,50,50,255" isExpression="0"/>\n'
            '      <text-buffer bufferDraw="1" bufferSize="0.8" bufferColor="255,255,255,255"/>\n'
            "    </settings>\n  </labeling>\n"
        )
    categories = "Symbology|Fields|Labeling" if renderer else "Fields|Labeling"
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="3.28.0" styleCategories="{categories}" '
        f'labelsEnabled="{1 if labeling else 0}">\n'
        f"{renderer}"
        f"  <aliases>\n{rows}\n  </aliases>\n{labeling}"
        "</qgis>\n"
    )
