"""Bring a planner's file into the atlas as a layer: read, validate, describe, write safely.

:func:`add_layer` reads the source with :mod:`geomap.ingest` (format, CRS, encoding,
validation), chooses a key and a name field, measures areas in 亩, marks columns that look
personal as private, and writes ``layers/NAME.geojson`` + ``layers/NAME.toml`` atomically
under the atlas lock. Nothing is written with ``dry_run``; an existing layer is replaced only
with ``replace`` (the old version goes to ``layers/.history/``).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from geomap.atlas import Atlas, atomic_write, check_name
from geomap.chunks import ChunkedLayer, concat_floats
from geomap.crs import area_mu, length_m
from geomap.errors import DataError, SpecError
from geomap.geometry import TYPE_NAME, Family, family_of_types
from geomap.ingest import (
    NAME_FIELDS,
    IngestResult,
    declared_area_warnings,
    display_path,
    find_area_field,
    read_source,
)
from geomap.privacy import personal_kind
from geomap.spec import KINDS, load_toml, parse_map_spec

KEY_CANDIDATES = ("code", "id", "key", "fid", "编号", "编码", "代码", "dkbh", "bsm", "objectid")
# The computed area column added to polygon layers (not a name ingest takes for a declared area).
AREA_COLUMN = "calc_mu"
STATUS_FIELDS = ("status", "状态", "项目状态", "进度", "zt")


@dataclass
class AddReport:
    """What ``geomap add`` did (or, with ``dry_run``, would do)."""

    name: str
    source: Path
    ingest: IngestResult
    title: str
    kind: str
    key: str
    name_field: str | None
    features: int
    geometry_type: str
    area_mu: float | None
    length_m: float | None
    private_fields: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    replaced: bool = False
    map_updated: str | None = None
    dry_run: bool = False


def _default_kind(family: Family) -> str:
    return {"point": "point", "line": "line"}.get(family, "parcel")


def _choose_key(gdf: pd.DataFrame, wanted: str | None, src: Path) -> tuple[pd.DataFrame, str]:
    """The unique id column: the one asked for, else a unique candidate, else a new ``fid``."""
    columns = [str(c) for c in gdf.columns]
    if wanted is not None:
        if wanted not in columns:
            raise DataError(
                f"{src}: 没有键列 {wanted!r} (no key column {wanted!r}); columns: {', '.join(columns)}"
            )
        values = gdf[wanted].astype(str).str.strip()
        dupes = sorted(set(values[values.duplicated()]))
        if dupes or gdf[wanted].isna().any():
            shown = ", ".join(dupes[:8]) or "(空值 empty)"
            if personal_kind(gdf[wanted]):  # never print resident IDs or phone numbers
                shown = f"{len(dupes)} 个重复值（私密数据，不显示 values not shown: personal data）"
            raise DataError(
                f"{src}: 键列 {wanted!r} 有重复或空值 (key column has duplicates or empty values): "
                f"{shown}; fix the source or choose another --key"
            )
        return gdf, wanted
    lowered = {c.lower(): c for c in columns}
    for cand in KEY_CANDIDATES:
        col = lowered.get(cand)
        if (
            col is not None
            and gdf[col].notna().all()
            and not gdf[col].astype(str).duplicated().any()
        ):
            return gdf, col
    out = gdf.copy()
    out.insert(0, "fid", np.arange(1, len(out) + 1))
    return out, "fid"


def _choose_name(gdf: pd.DataFrame) -> str | None:
    lowered = {str(c).lower(): str(c) for c in gdf.columns}
    for cand in NAME_FIELDS:
        if cand.lower() in lowered:
            return lowered[cand.lower()]
    return None


def _choose_status(gdf: pd.DataFrame) -> str | None:
    """A project-status column (计划 / 在建 / 完工 …), by its usual names."""
    lowered = {str(c).lower(): str(c) for c in gdf.columns}
    return next((lowered[c] for c in STATUS_FIELDS if c in lowered), None)


def _map_text_with_layer(atlas: Atlas, map_name: str, layer: str) -> tuple[Path, str] | None:
    """The map spec's text with a ``[[layers]]`` entry for ``layer`` appended (comments kept),
    or None when the map already shows it. Validated before anything is written."""
    path = atlas.map_path(map_name)
    spec = atlas.map_spec(map_name)
    if any(ml.layer == layer for ml in spec.layers):
        return None
    text = path.read_text(encoding="utf-8-sig")
    # Appending a [[layers]] table keeps the planner's comments and layout; a spec that
    # writes its layers as an inline array cannot take one, so it is rewritten instead.
    new_text = text.rstrip("\n") + f'\n\n[[layers]]\nlayer = "{layer}"\n'
    try:
        data = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        data = tomllib.loads(text)
        data["layers"] = [*data.get("layers", []), {"layer": layer}]
        new_text = tomli_w.dumps(data)
    try:
        parse_map_spec(map_name, data, path)
    except SpecError as exc:
        raise DataError(f"{path}: 无法自动加入图层 (cannot add the layer: {exc})") from None
    return path, new_text


def add_layer(
    atlas: Atlas,
    source: str | Path,
    *,
    name: str,
    title: str | None = None,
    kind: str | None = None,
    layer: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    key: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
    strict: bool = False,
    map_name: str | None = None,
) -> AddReport:
    """Read ``source`` and write it as layer ``name``; see the module docstring."""
    check_name(name, "图层 layer")
    if kind is not None and kind not in KINDS:
        raise DataError(f"类型 {kind!r} 无效 (invalid kind); choose one of: {', '.join(KINDS)}")
    geo_path = atlas.layer_path(name)
    if geo_path.exists() and not replace:
        raise DataError(
            f"{geo_path}: 图层 {name} 已存在 (layer already exists); use --replace to replace "
            "it (the old version is kept in layers/.history/), or choose another --name"
        )
    if map_name:  # fail early, before reading the source; edited under the lock below
        _map_text_with_layer(atlas, map_name, name)

    result = read_source(
        source, layer=layer, crs=crs, encoding=encoding, lon=lon, lat=lat, strict=strict
    )
    # The layer stays in chunks (geomap.chunks): attributes in one frame, geometries as WKB.
    attrs, key_col = _choose_key(result.attrs, key, Path(source))
    geoms = result.geoms
    family = family_of_types(geoms.present_types())  # one family: ingest refuses mixtures
    warnings = list(result.warnings)
    total_area = total_length = None
    declared = find_area_field(attrs) if family == "polygon" else None
    if family == "polygon":
        areas = concat_floats(geoms.each(lambda _, chunk: area_mu(chunk)))
        total_area = float(np.sum(areas))
        if declared:
            warnings += declared_area_warnings(attrs, declared, computed=areas)
        if AREA_COLUMN not in attrs.columns:
            attrs = attrs.copy()
            attrs[AREA_COLUMN] = np.round(areas, 2)
    elif family == "line":
        total_length = float(np.sum(concat_floats(geoms.each(lambda _, c: length_m(c)))))

    fields: dict[str, dict[str, Any]] = {}
    private: list[str] = []
    for col in (str(c) for c in attrs.columns):
        entry: dict[str, Any] = {"label": col}
        if col == AREA_COLUMN:
            entry = {"label": "计算面积", "unit": "亩"}
        elif col == declared:
            entry["unit"] = "亩"
        kind_found = personal_kind(attrs[col])
        if kind_found:
            entry["private"] = True
            private.append(col)
            warnings.append(
                f"列 {col!r} 看起来是{kind_found}，已标记为私密 (looks personal: marked private; "
                f"set private = false in layers/{name}.toml only if it may be published)"
            )
        fields[col] = entry
    name_field = _choose_name(attrs)
    src = Path(source)
    meta: dict[str, Any] = {
        "title": title
        or (result.layer_used if result.layer_used else display_path(src.stem))
        or name,
        "kind": kind or _default_kind(family),
        "key": key_col,
        "source": f"{display_path(src.name)}（geomap add {dt.date.today().isoformat()}）",
        "illustrative": False,
        "fields": fields,
    }
    if name_field:
        meta["name_field"] = name_field
    status = _choose_status(attrs)
    if status:
        meta["status_field"] = status
    if declared:
        meta["declared_area_field"] = declared
    if geo_path.exists():
        meta = _keep_curated(atlas, name, meta, title=title, kind=kind)

    report = AddReport(
        name=name,
        source=src,
        ingest=result,
        title=meta["title"],
        kind=meta["kind"],
        key=key_col,
        name_field=name_field,
        features=len(attrs),
        geometry_type=TYPE_NAME[family],
        area_mu=total_area,
        length_m=total_length,
        private_fields=private,
        warnings=warnings,
        replaced=geo_path.exists(),
        dry_run=dry_run,
    )
    if dry_run:
        return report
    with atlas.lock():
        if geo_path.exists() and not replace:  # another command wrote it meanwhile
            raise DataError(f"{geo_path}: 图层 {name} 已存在 (layer already exists); use --replace")
        report.written.append(
            atlas.write_layer(name, ChunkedLayer(attrs, geoms), meta, replace=replace)
        )
        report.written.append(atlas.layer_path(name, ".toml"))
        # Read and edit the map spec under the lock, so two adds to one map keep both.
        map_edit = _map_text_with_layer(atlas, map_name, name) if map_name else None
        if map_edit:
            atomic_write(map_edit[0], map_edit[1].encode("utf-8"))
            report.map_updated = map_name
    return report


def _keep_curated(
    atlas: Atlas, name: str, new: dict[str, Any], *, title: str | None, kind: str | None
) -> dict[str, Any]:
    """On --replace, keep what a person curated in the old metadata: title, kind, hierarchy,
    declared totals, labels, units and privacy of columns that still exist (not a field's
    basis: the new data may be surveyed where the old was illustrative)."""
    try:
        old = load_toml(atlas.layer_path(name, ".toml"))
    except SpecError:
        return new
    merged = {**{k: v for k, v in old.items() if k not in ("fields", "key", "source")}, **new}
    if title is None and "title" in old:
        merged["title"] = old["title"]
    if kind is None and "kind" in old:
        merged["kind"] = old["kind"]
    merged["fields"] = {
        col: {**entry, **_curated_entry(old, col)} for col, entry in new["fields"].items()
    }
    for entry in merged["fields"].values():
        # Where the old values came from says nothing about the new delivery's.
        entry.pop("basis", None)
        entry.pop("section", None)
    return merged


def _curated_entry(old: dict[str, Any], col: str) -> dict[str, Any]:
    """What a person set for ``col`` in the old metadata (label, unit, privacy). A column
    whose name changed only in case (``OWNER_NAME`` for ``owner_name``, as Shapefiles write
    names) is the same column; when several old entries match, privacy is kept if any was
    private."""
    fields = old.get("fields")
    if not isinstance(fields, dict):
        return {}
    if isinstance(fields.get(col), dict):
        return dict(fields[col])
    matches = [
        entry
        for name, entry in fields.items()
        if str(name).casefold() == col.casefold() and isinstance(entry, dict)
    ]
    if not matches:
        return {}
    merged: dict[str, Any] = {}
    for entry in matches:
        merged.update(entry)
    if any(entry.get("private") is True for entry in matches):
        merged["private"] = True
    return merged
