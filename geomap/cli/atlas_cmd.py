"""``geomap atlas push|pull|grant``: move an atlas between a folder and a PostGIS database."""

from __future__ import annotations

import click


@click.group(name="atlas")
def command() -> None:
    """数据库图集 (database atlas): push a folder atlas to PostGIS, pull it back, grant access."""


@command.command(name="push")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.argument("url")
@click.option(
    "--replace",
    is_flag=True,
    help="替换数据库中已有的图集 (old versions are kept in the database).",
)
def push_command(folder: str, url: str, replace: bool) -> None:
    """把图集目录上传到数据库 (copy the folder atlas FOLDER into the database atlas URL, one
    transaction). URL: postgresql://user@host/db[?atlas=NAME]. A folder made by `pull` is
    checked for conflicts: what others changed in the database since is never overwritten."""
    from geomap.store.postgis import push, safe_url

    click.echo(f"上传 (pushing) {folder} → {safe_url(url)} …", err=True)
    report = push(folder, url, replace=replace)
    features = sum(n for _, n in report.layers)
    click.echo(
        f"已上传 (pushed): {len(report.layers)} 个图层 layers ({features} 个要素 features), "
        f"{len(report.files)} 个文件 files (atlas.toml, maps, data); "
        f"{len(report.unchanged)} 项未变 (unchanged)"
    )
    for rel in report.skipped:
        click.echo(f"警告 (warning): 跳过 {rel}：没有对应的 GeoJSON (skipped: no layer)", err=True)
    for rel in report.removed:
        click.echo(f"已移除 (removed from the database atlas): {rel}")


@command.command(name="pull")
@click.argument("url")
@click.argument("folder", type=click.Path(file_okay=False))
def pull_command(url: str, folder: str) -> None:
    """把数据库图集下载为目录 (write the database atlas URL into FOLDER, new or empty)."""
    from geomap.store.postgis import pull, safe_url

    click.echo(f"下载 (pulling) {safe_url(url)} → {folder} …", err=True)
    report = pull(url, folder)
    click.echo(
        f"已下载 (pulled): {len(report.layers_written)} 个图层 layers, "
        f"{len(report.files_written)} 个文件 files → {folder}"
    )


@command.command(name="grant")
@click.argument("url")
@click.argument("role")
def grant_command(url: str, role: str) -> None:
    """允许只读角色查看公开图层 (let database role ROLE read the public views of the atlas:
    layers without private fields, labelled for QGIS)."""
    from geomap.store.postgis import Location, grant_reader

    views = grant_reader(url, role)
    schema = Location.parse(url).map_schema
    click.echo(f"{role} 可读取 (may read) {schema}: {', '.join(views) or '(无 none)'}")


@command.command(name="history")
@click.argument("url")
@click.argument("name", required=False)
def history_command(url: str, name: str | None) -> None:
    """列出版本 (list every version of the layers and files, or of layer/file NAME)."""
    from geomap.store.postgis import history

    for v in history(url, name):
        what = f"{v.features} 个要素 features" if v.features is not None else "文件 file"
        mark = " ← 当前 current" if v.current else ""
        click.echo(f"{v.id:>6}  {v.created}  {v.created_by:<12} {v.name:<28} {what}{mark}")


@command.command(name="restore")
@click.argument("url")
@click.argument("layer")
@click.argument("version", type=int)
def restore_command(url: str, layer: str, version: int) -> None:
    """恢复旧版本 (make VERSION of LAYER current again, as a new version; nothing is lost)."""
    from geomap.store.postgis import restore

    vid = restore(url, layer, version)
    click.echo(f"已恢复 (restored): 图层 layer {layer} 版本 {version} → 新版本 new version {vid}")
