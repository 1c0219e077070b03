"""Map spec + layers + tables → one self-contained interactive HTML map.

The levels, each in its own module: :mod:`geomap.plan` resolves the map (data, joins,
roll-ups, filters, styles, privacy); :mod:`geomap.payload` turns the plan into the one JSON
block the client reads (:mod:`geomap.fastcodec` encodes large layers); :mod:`geomap.page`
wraps it in the HTML shell. All data reaches the page in that one escaped JSON block and the
client builds the DOM with ``textContent`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from geomap.atlas import Atlas, atomic_write
from geomap.errors import SpecError
from geomap.fastcodec import encode_fast
from geomap.freshness import INPUTS_META, RenderOptions, is_fresh, map_digest
from geomap.page import MAP_ID, build_page
from geomap.payload import page_json, script_json
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
    "script_json",
]


@dataclass
class RenderResult:
    name: str
    path: Path
    skipped: bool = False
    warnings: list[str] = field(default_factory=list)


def render_html(
    atlas: Atlas, spec: MapSpec, options: RenderOptions, warn: Warn, digest: str = ""
) -> bytes:
    """The complete HTML page of one map, as UTF-8 bytes.

    Raises :class:`~geomap.plan.PlanError` listing every error of the map's plan (the
    problems ``geomap check`` reports); the plan's warnings go to ``warn``.
    """
    plan = plan_map(atlas, spec.name, spec=spec, basemap=options.basemap)
    if plan.errors:
        raise PlanError(plan)
    for problem in plan.warnings:
        warn(problem.message)
    data_json, cluster = page_json(plan, MAP_ID)
    return build_page(
        title=spec.title,
        data_json=data_json,
        digest_meta=(INPUTS_META, digest),
        online=options.online,
        cluster=cluster,
    )


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
    page = render_html(atlas, spec, options, result.warnings.append, digest)
    atomic_write(result.path, page)
    return result
