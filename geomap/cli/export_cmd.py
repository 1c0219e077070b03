"""``geomap export``: report-grade PNG or PDF sheets of a map, or one page per feature."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from geomap.cli.main import get_atlas, note, verbosity, warn
from geomap.export import ExportOptions, default_output, export_map, png_size_px


def _extent(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        parts = [float(v) for v in value.replace(" ", "").split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4:
        raise click.BadParameter(
            "give west,south,east,north in degrees, e.g. 119.43,28.42,119.53,28.48"
        )
    return (parts[0], parts[1], parts[2], parts[3])


def _where(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    out = []
    for value in values:
        column, sep, wanted = value.partition("=")
        if not sep or not column:
            raise click.BadParameter(f"{value!r}: write FIELD=VALUE, e.g. type=行政村")
        out.append((column.strip(), wanted.strip()))
    return tuple(out)


class _Progress:
    """Pages done on stderr, as the other commands report progress (``-q`` silences it).

    On a terminal a rich bar: pages done / total, pages per second, time elapsed and left.
    Into a file or pipe nothing, unless ``-v``: then a line when the work starts and one
    with the count and the rate when it ends.
    """

    def __init__(self, label: str) -> None:
        from rich.console import Console

        self.label = label
        self.level = verbosity()
        self.console = Console(stderr=True)
        self.bar: Any = None
        self.task: Any = None
        self.done = 0
        self.total = 0
        self.started = time.perf_counter()

    def __enter__(self) -> _Progress:
        if self.level < 0:
            return self
        if not self.console.is_terminal:
            if self.level > 0:
                click.echo(f"{self.label} …", err=True)
            return self
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("页 {task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("剩余"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
        elif self.level > 0 and self.total:
            seconds = time.perf_counter() - self.started
            click.echo(
                f"{self.label}: {self.done}/{self.total} 页, {seconds:.1f} s"
                f" ({seconds / max(self.done, 1):.1f} s/页)",
                err=True,
            )

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self.bar is None:
            return
        if self.task is None:
            self.task = self.bar.add_task(self.label, total=total, rate="")
        speed = self.bar.tasks[0].speed if done else None
        rate = f"{speed:.2f} 页/秒" if speed else ""
        self.bar.update(self.task, completed=done, total=total, rate=rate)


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
@click.option(
    "--basemap",
    help="底图 (basemap), default: the map's own; `none` for no tiles (use it offline).",
)
@click.option(
    "--extent",
    "--bbox",
    "extent",
    callback=_extent,
    metavar="W,S,E,N",
    help="图幅范围，经纬度 (frame this lon/lat extent instead of the map's layers).",
)
@click.option(
    "--layer-extent",
    metavar="LAYER",
    help="按此图层的范围取图 (frame the map on this layer's features).",
)
@click.option(
    "--each",
    metavar="LAYER",
    help="一要素一图 (one page per feature of LAYER, with a cover and an index).",
)
@click.option(
    "--where",
    multiple=True,
    callback=_where,
    metavar="FIELD=VALUE",
    help="只导出符合条件的要素 (with --each; repeatable; FIELD is a column or its label).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="输出文件 (default: exports/<MAP>.<format>; with --each exports/<MAP>-<LAYER>.pdf, "
    "or a folder exports/<MAP>-<LAYER>/ of PNGs).",
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
    extent: tuple[float, float, float, float] | None,
    layer_extent: str | None,
    each: str | None,
    where: tuple[tuple[str, str], ...],
    output: Path | None,
) -> None:
    """导出打印图 (export a report-grade PNG/PDF sheet: the map filling its frame, every
    feature named, title, legend, scale bar, north arrow, sources; --each: one page per
    feature)."""
    atlas = get_atlas(ctx)
    options = ExportOptions(
        format=fmt,
        paper=paper,
        landscape=landscape,
        dpi=dpi,
        basemap=basemap,
        extent=extent,
        layer_extent=layer_extent,
        each=each,
        where=where,
    )
    out = output or default_output(atlas, map_name, options)
    note(f"导出 (exporting) {map_name} → {out}")
    warnings: list[str] = []
    with _Progress("出图 (pages)") as progress:
        result = export_map(atlas, map_name, out, options, warnings, progress)
    for warning in warnings:
        warn(warning)
    size = ""
    if fmt == "png":
        width, height = png_size_px(paper, landscape, dpi)
        size = f", {width}×{height} px"
    pages = f", {result.pages} 页" if each else ""
    click.echo(f"{out} ({paper} {'横向' if landscape else '纵向'}{size}{pages})")
