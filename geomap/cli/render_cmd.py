"""``geomap render``: every map (or the named ones) to maps/<map>.html, and maps/index.html."""

from __future__ import annotations

import time

import click

from geomap.cli.main import get_atlas, note, progress, warn
from geomap.cli.options import basemap_option
from geomap.errors import GeomapError, NotFound, SpecError
from geomap.freshness import RenderOptions, is_fresh, map_digest
from geomap.gallery import render_index, withdraw_orphan_pages, withdraw_page


@click.command(name="render")
@click.argument("maps", nargs=-1)
@basemap_option
@click.option(
    "--offline/--online",
    default=True,
    help="离线单文件 (default: every script inlined) or link the CDN copies.",
)
@click.option("--force", is_flag=True, help="重新生成未变化的地图 (re-render unchanged maps).")
@click.pass_context
def command(
    ctx: click.Context, maps: tuple[str, ...], basemap: str | None, offline: bool, force: bool
) -> None:
    """生成地图 (render maps to HTML)."""
    atlas = get_atlas(ctx)
    existing = atlas.map_names()
    for name in maps:
        if name not in existing:
            listing = ", ".join(existing) or "(无 none)"
            raise NotFound(f"地图 {name!r} 不存在 (no such map); 现有 (available): {listing}")
    names = list(maps) or existing
    if not names:
        raise NotFound(f"{atlas.maps_dir}: 没有地图定义 (no maps/*.toml to render)")
    options = RenderOptions(basemap=basemap, online=not offline, force=force)
    failures: list[str] = []
    for name in names:
        started = time.perf_counter()
        try:
            try:
                spec = atlas.map_spec(name)
            except SpecError:
                spec = None  # render_map lists these problems with the rest of the map's
            if spec is not None:
                digest = map_digest(atlas, name, spec, options)
                if not force and is_fresh(atlas, name, digest):
                    note(f"✓ {name} 未变化，跳过 (unchanged)")
                    continue
            from geomap.render import render_map  # the full stack, only when there is work

            with progress(f"渲染 (rendering) {name}"):
                result = render_map(atlas, name, options, spec, digest if spec else None)
        except GeomapError as exc:
            failures.append(f"{name}: {exc}")
            click.echo(f"✗ {name}: {exc}", err=True)
            # The old page may show what is now private or gone: it must not stay published.
            withdrawn = withdraw_page(atlas, name)
            if withdrawn is not None:
                click.echo(
                    f"  已撤下旧页面 {withdrawn.relative_to(atlas.root)} (removed the old page: "
                    "the map can no longer be rendered, so it must not stay published)",
                    err=True,
                )
            continue
        for warning in result.warnings:
            warn(warning)
        state = (
            "未变化，跳过 (unchanged)"
            if result.skipped
            else f"{time.perf_counter() - started:.1f} s"
        )
        note(f"✓ {name} → {result.path.relative_to(atlas.root)}  {state}")
    for page in withdraw_orphan_pages(atlas):  # shown even with -q: a page was removed
        click.echo(
            f"  已撤下旧页面 {page.relative_to(atlas.root)} (removed: its map spec is gone)",
            err=True,
        )
    index = render_index(atlas, {f.split(":")[0] for f in failures})
    note(f"✓ 目录 (index) → {index.relative_to(atlas.root)}")
    if failures:
        raise GeomapError(
            f"{len(failures)} 幅地图未生成 (maps failed): "
            + "; ".join(f.split(":")[0] for f in failures)
        )
