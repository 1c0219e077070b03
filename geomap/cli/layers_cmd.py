"""``geomap layers``: one row per layer, as a table or as JSON."""

from __future__ import annotations

import json

import click

from geomap.cli.main import get_atlas
from geomap.cli.options import json_option
from geomap.summary import layer_summaries


@click.command(name="layers")
@json_option
@click.pass_context
def command(ctx: click.Context, as_json: bool) -> None:
    """列出图层 (list layers): name, title, kind, geometry, features, bbox, area 亩, length m."""
    rows = layer_summaries(get_atlas(ctx))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"图层 ({len(rows)})", show_lines=False)
    for col in (
        "名称 name",
        "标题 title",
        "类型 kind",
        "几何 geometry",
        "要素 features",
        "面积 亩",
        "长度 m",
    ):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["name"],
            r["title"],
            r["kind"],
            r["geometry_type"] or "—",
            str(r["features"]),
            f"{r['area_mu']:,.1f}" if r["area_mu"] is not None else "—",
            f"{r['length_m']:,.0f}" if r["length_m"] is not None else "—",
        )
    Console(soft_wrap=False).print(table)
