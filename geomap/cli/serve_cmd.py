"""``geomap serve``: the atlas's maps over HTTP (Range requests) for the intranet."""

from __future__ import annotations

import click

from geomap.cli.main import get_atlas
from geomap.serve import DEFAULT_PORT, serve


@click.command(name="serve")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="端口 (port; 0 = any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="地址 (address); 0.0.0.0 让内网其他电脑也能打开 (serve the intranet).",
)
@click.pass_context
def command(ctx: click.Context, port: int, host: str) -> None:
    """提供地图网页服务 (serve the rendered maps over HTTP, with Range requests)."""
    atlas = get_atlas(ctx)

    def ready(url: str) -> None:
        click.echo(
            f"正在提供 {atlas.maps_dir} 的地图 (serving maps): {url}  按 Ctrl+C 停止", err=True
        )

    serve(atlas.maps_dir, host, port, ready)
