"""``geomap export``: a printable PNG or PDF of a map."""

from __future__ import annotations

from pathlib import Path

import click

from geomap.cli.main import get_atlas
from geomap.export import ExportOptions, export_map, png_size_px


@click.command(name="export")
@click.argument("map_name", metavar="MAP")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["png", "pdf"]),
    default="pdf",
    show_default=True,
    help="输出格式 (output format).",
)
@click.option(
    "--paper",
    type=click.Choice(["A4", "A3"]),
    default="A4",
    show_default=True,
    help="纸张 (paper size).",
)
@click.option("--landscape/--portrait", default=True, show_default=True, help="横向/纵向.")
@click.option(
    "--dpi",
    type=int,
    default=150,
    show_default=True,
    help="PNG 分辨率 (dots per inch; A4 landscape at 150 dpi is 1754×1240 px).",
)
@click.option("--basemap", help="底图 (basemap), default: the map's own; `none` for no tiles.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="输出文件 (default: maps/<MAP>.<format>).",
)
@click.pass_context
def command(
    ctx: click.Context,
    map_name: str,
    fmt: str,
    paper: str,
    landscape: bool,
    dpi: int,
    basemap: str | None,
    output: Path | None,
) -> None:
    """导出打印图 (export a printable PNG/PDF with title, legend, scale bar, north arrow)."""
    atlas = get_atlas(ctx)
    out = output or atlas.map_path(map_name, f".{fmt}")
    options = ExportOptions(format=fmt, paper=paper, landscape=landscape, dpi=dpi, basemap=basemap)
    click.echo(f"导出 (exporting) {map_name} → {out} …", err=True)
    warnings: list[str] = []
    export_map(atlas, map_name, out, options, warnings)
    for warning in warnings:
        click.echo(f"警告 (warning): {warning}", err=True)
    size = ""
    if fmt == "png":
        width, height = png_size_px(paper, landscape, dpi)
        size = f", {width}×{height} px"
    click.echo(f"{out} ({paper} {'横向' if landscape else '纵向'}{size})")
