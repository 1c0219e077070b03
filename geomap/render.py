"""Map spec + layers + tables → one self-contained interactive HTML map.

The levels, each in its own module: :mod:`geomap.plan` resolves the map (data, joins,
roll-ups, filters, styles, privacy); :mod:`geomap.payload` turns the plan into the one JSON
block the client reads (:mod:`geomap.fastcodec` encodes large layers); :mod:`geomap.page`
wraps it in the HTML shell. All data reaches the page in that one escaped JSON block and the
client builds the DOM with ``textContent`` only.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from geomap.atlas import Atlas, atomic_write
from geomap.errors import GeomapError, SpecError
from geomap.fastcodec import encode_fast
from geomap.freshness import INPUTS_META, RenderOptions, is_fresh, map_digest
from geomap.page import MAP_ID, page_parts
from geomap.payload import (
    TileData,
    page_data_parts,
    script_json,
    shift_to_gcj02,
)
from geomap.plan import PlanError, Warn, merge_sources, plan_map
from geomap.spec import MapSpec

__all__ = [
    "PlanError",
    "RenderOptions",
    "RenderResult",
    "encode_fast",
    "merge_sources",
    "render_html",
    "render_map",
    "render_parts",
    "script_json",
]


@dataclass
class RenderResult:
    name: str
    path: Path
    skipped: bool = False
    warnings: list[str] = field(default_factory=list)


def render_html(
    atlas: Atlas,
    spec: MapSpec,
    options: RenderOptions,
    warn: Warn,
    digest: str = "",
    tiles_dir: Path | None = None,
) -> bytes:
    """The complete HTML page of one map, as UTF-8 bytes (:func:`render_parts` joined)."""
    return b"".join(render_parts(atlas, spec, options, warn, digest, tiles_dir))


def render_parts(
    atlas: Atlas,
    spec: MapSpec,
    options: RenderOptions,
    warn: Warn,
    digest: str = "",
    tiles_dir: Path | None = None,
) -> Iterator[bytes]:
    """The complete HTML page of one map, as UTF-8 bytes in pieces, to be written one
    after another (a 1 M-parcel page is ~120 MB: it is never held as one string).

    Raises :class:`~geomap.plan.PlanError` listing every error of the map's plan (the
    problems ``geomap check`` reports); the plan's warnings go to ``warn``. The vector
    tiles of tiled layers are written into ``tiles_dir`` (which the page finds as
    ``maps/<map>.tiles``); without it a map with tiled layers is refused. Everything but
    the page's fixed text is computed before the first piece is returned.
    """
    plan = plan_map(atlas, spec.name, spec=spec, basemap=options.basemap)
    if plan.errors:
        raise PlanError(plan)
    for problem in plan.warnings:
        warn(problem.message)
    _release_arrow_memory()
    tiles: dict[int, TileData] = {}
    if any(lp.tiles for lp in plan.layers):
        if tiles_dir is None:
            raise GeomapError(
                f"地图 {spec.name} 含矢量切片图层，只能用 geomap render 生成并用 geomap serve "
                "浏览 (a map with vector-tiled layers is rendered by geomap render only)"
            )
        from geomap.tiles import tiles_folder, write_layer_tiles

        shift = shift_to_gcj02 if plan.datum == "gcj02" else None
        # Archives of the map as last rendered: taken again when tiled from the same input.
        previous = atlas.inside(atlas.maps_dir / tiles_folder(spec.name))
        for i, lp in enumerate(plan.layers):
            if lp.tiles:
                tiles[i] = write_layer_tiles(
                    lp, i, tiles_dir, tiles_folder(spec.name), shift, previous=previous
                )
    data, cluster = page_data_parts(plan, MAP_ID, tiles)
    return page_parts(
        title=spec.title,
        data_json=data,
        digest_meta=(INPUTS_META, digest),
        online=options.online,
        cluster=cluster,
        tiles=tuple(
            f
            for t in tiles.values()
            for f in (
                t["url"],
                *((t["search"]["url"], t["search"]["points"]) if t["search"] else ()),
            )
            if f
        ),
    )


def _release_arrow_memory() -> None:
    """Hand back to the system the memory pyarrow's allocator keeps after a big layer was
    read or copied (layers/.cache): ~200 MB at 1 M parcels, else held to the end."""
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()


def render_map(
    atlas: Atlas,
    name: str,
    options: RenderOptions,
    spec: MapSpec | None = None,
    digest: str | None = None,
) -> RenderResult:
    """Render ``maps/<name>.toml`` to ``maps/<name>.html`` (skipped when nothing changed).

    ``spec`` and ``digest`` may be passed by a caller that already has them (the CLI checks
    freshness before loading this module), so nothing is parsed or hashed twice.
    """
    if spec is None:
        try:
            spec = atlas.map_spec(name)
        except SpecError:
            # List the spec's own problems together with those its content causes.
            raise PlanError(plan_map(atlas, name, basemap=options.basemap)) from None
    digest = digest or map_digest(atlas, name, spec, options)
    result = RenderResult(name, atlas.map_path(name, ".html"))
    if not options.force and is_fresh(atlas, name, digest):
        result.skipped = True
        return result
    from geomap.tiles import replace_folder, tiles_folder

    final = atlas.inside(atlas.maps_dir / tiles_folder(name))
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.tiles-", dir=atlas.maps_dir))
    try:
        page = render_parts(atlas, spec, options, result.warnings.append, digest, staging)
        if any(staging.iterdir()):
            replace_folder(staging, final)
        elif final.is_dir():  # the map has no tiled layer any more
            shutil.rmtree(final)
        atomic_write(result.path, page)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return result
