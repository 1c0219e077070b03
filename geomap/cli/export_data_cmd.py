"""``geomap export-data``: one layer as GeoPackage, Shapefile, GeoJSON or CSV for GIS tools."""

from __future__ import annotations

from pathlib import Path

import click

from geomap.cli.main import get_atlas, note, progress, warn
from geomap.exchange import ENCODINGS, FORMATS, default_output, export_layer
from geomap.ingest.formats import exported


@click.command(name="export-data")
@click.argument("layer")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="gpkg",
    show_default=True,
    help="格式 (format): "
    + ", ".join(f"{name} = {f.title}" for name, f in exported().items())
    + "; csv has a WKT geometry column.",
)
@click.option(
    "--crs",
    help="输出坐标系 (output CRS), e.g. EPSG:4490 (CGCS2000), EPSG:4549 (3度带 CM 120E); "
    "default EPSG:4326 (WGS84).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="输出文件 (default: ./<LAYER>.<format>).",
)
@click.option(
    "--encoding",
    type=click.Choice(list(ENCODINGS), case_sensitive=False),
    default="utf-8",
    show_default=True,
    help="shp/csv 属性编码 (attribute encoding); gbk for old tools (ArcGIS 10, Excel).",
)
@click.option(
    "--include-private",
    is_flag=True,
    help="包含私密字段 (also write fields marked private = true; said on stderr).",
)
@click.option("--replace", is_flag=True, help="覆盖已有文件 (overwrite an existing file).")
@click.pass_context
def command(
    ctx: click.Context,
    layer: str,
    fmt: str,
    crs: str | None,
    output: Path | None,
    encoding: str,
    include_private: bool,
    replace: bool,
) -> None:
    """导出图层数据 (export a layer for QGIS/ArcGIS: labels as aliases, no private fields)."""
    atlas = get_atlas(ctx)
    out = output or default_output(layer, fmt)
    total = len(atlas.read_layer(layer).gdf)
    with progress(f"导出 (exporting) {layer} → {out.name}", total) as advance:
        result = export_layer(
            atlas,
            layer,
            fmt,
            out,
            crs=crs,
            encoding=encoding,
            include_private=include_private,
            replace=replace,
            on_progress=advance,
        )
    if result.private_included:
        warn(
            f"已包含私密字段 (private fields included): {', '.join(result.private_included)}; "
            "不要把这个文件公开 (do not publish this file)"
        )
    if result.left_out:
        note(f"未导出私密字段 (private fields left out): {', '.join(result.left_out)}")
    for old, new in result.renamed.items():
        note(f"字段改名 (field renamed, Shapefile names ≤ 10 bytes): {old} → {new}")
    note(
        f"{result.features} 个要素 (features), {result.geometry_type}, {result.crs}, "
        f"{len(result.fields)} 个字段 (fields)"
    )
    for path in result.files:
        click.echo(str(path))
