"""``geomap add``: bring a Shapefile/zip, GeoPackage, KML/KMZ, GeoJSON, CSV or XLSX into layers/."""

from __future__ import annotations

import click

from geomap.add import AddReport, add_layer
from geomap.cli.main import get_atlas, note, progress, warn
from geomap.crs import describe_epsg
from geomap.ingest import display_path
from geomap.ingest.formats import listing
from geomap.spec import KINDS


def _crs_text(crs_in: str) -> str:
    if crs_in.upper().startswith("EPSG:"):
        try:
            return f"{crs_in} ({describe_epsg(int(crs_in.split(':')[1]))})"
        except ValueError:
            return crs_in
    return crs_in


def summary_lines(r: AddReport) -> list[str]:
    """The summary a planner reads after ``geomap add``."""
    ing = r.ingest
    lines = [
        f"来源 (source): {display_path(r.source)} — {ing.source_format}"
        + (f", 图层 (layer) {ing.layer_used}" if ing.layer_used else ""),
        f"要素 (features): {r.features}, {r.geometry_type}",
        f"坐标 (CRS): {_crs_text(ing.crs_in)} → WGS84 (EPSG:4326)",
        f"编码 (encoding): {ing.encoding or '—'}",
    ]
    if r.area_mu is not None:
        lines.append(
            f"面积 (area, EPSG:4549): {r.area_mu:,.2f} 亩 ({r.area_mu * 10000 / 15:,.0f} m²)"
        )
    if r.length_m is not None:
        lines.append(f"长度 (length, EPSG:4549): {r.length_m:,.0f} m")
    lines.append(f"键 (key): {r.key}; 名称字段 (name field): {r.name_field or '—'}")
    if r.private_fields:
        lines.append(f"私密字段 (private): {', '.join(r.private_fields)}")
    return lines


def warning_lines(r: AddReport) -> list[str]:
    """What the planner should look at: printed on stderr, apart from the summary."""
    lines = []
    if r.ingest.repaired:
        lines.append(
            f"修复 (repaired): {r.ingest.repaired} 个无效面已用 make_valid 修复 (invalid polygons)"
        )
    return [*lines, *r.warnings]


@click.command(
    name="add",
    help="加入图层 (add a layer from a planner's file).\n\n"
    f"SOURCE 的格式 (formats read): {listing()}.",
)
@click.argument("source", type=click.Path(dir_okay=True, path_type=str))
@click.option("--name", required=True, help="图层名 (layer name): a slug such as new-park.")
@click.option("--title", help="图层标题 (Chinese title); default: the source's name.")
@click.option("--kind", type=click.Choice(KINDS), help="图层类型 (kind); default from geometry.")
@click.option("--layer", "sublayer", help="GeoPackage/KML 图层或 XLSX 工作表 (which layer/sheet).")
@click.option("--crs", help="源坐标系 (source CRS) when the file has none: EPSG:n, gcj02, bd09.")
@click.option("--encoding", help="属性编码 (attribute encoding), e.g. gbk, gb18030, utf-8.")
@click.option("--lon", help="经度列 (longitude column) of a CSV/XLSX.")
@click.option("--lat", help="纬度列 (latitude column) of a CSV/XLSX.")
@click.option("--key", help="唯一编号列 (unique id column); default: detected, else a new fid.")
@click.option(
    "--replace", is_flag=True, help="替换同名图层 (old version kept in layers/.history/)."
)
@click.option("--dry-run", is_flag=True, help="只检查并报告，不写入 (report only, write nothing).")
@click.option("--strict", is_flag=True, help="拒绝无效面而不是修复 (refuse invalid polygons).")
@click.option("--map", "map_name", help="同时加入地图 (also add the layer to maps/MAP.toml).")
@click.pass_context
def command(
    ctx: click.Context,
    source: str,
    name: str,
    title: str | None,
    kind: str | None,
    sublayer: str | None,
    crs: str | None,
    encoding: str | None,
    lon: str | None,
    lat: str | None,
    key: str | None,
    replace: bool,
    dry_run: bool,
    strict: bool,
    map_name: str | None,
) -> None:
    """Parse the options, add the layer, print the summary (help: the decorator)."""
    atlas = get_atlas(ctx)
    note(f"读取 (reading) {display_path(source)} …")
    with progress(f"导入 (adding) {name}"):
        report = add_layer(
            atlas,
            source,
            name=name,
            title=title,
            kind=kind,
            layer=sublayer,
            crs=crs,
            encoding=encoding,
            lon=lon,
            lat=lat,
            key=key,
            replace=replace,
            dry_run=dry_run,
            strict=strict,
            map_name=map_name,
        )
    for line in summary_lines(report):
        click.echo(line)
    for line in warning_lines(report):
        warn(line)  # data on stdout; warnings on stderr
    if report.dry_run:
        click.echo("试运行，未写入任何文件 (dry run: nothing written)")
        return
    from geomap.store.postgis import DatabaseAtlas

    if isinstance(atlas, DatabaseAtlas):  # one transaction; versions stay in the database
        click.echo(
            f"已写入数据库 (written to the database): {atlas.label} 图层 layer {name}"
            + ("（旧版本保留在数据库中 old version kept）" if report.replaced else "")
        )
    else:
        written = ", ".join(str(p.relative_to(atlas.root)) for p in report.written)
        click.echo(
            f"已写入 (written): {written}"
            + ("（旧版本已存入 layers/.history/）" if report.replaced else "")
        )
    if report.map_updated:
        click.echo(f"已加入地图 (added to map): maps/{report.map_updated}.toml")
    click.echo(
        f"下一步 (next): 在 layers/{name}.toml 中填写字段标签和单位 (label fields), "
        + ("" if report.map_updated else f"把 {name} 加入地图 (add it to a map spec), ")
        + "geomap check, geomap render"
    )
