"""The ``geomap`` command group: atlas discovery, version, and error handling in one place.

A :class:`~geomap.errors.GeomapError` becomes one clear message on stderr and exit code 1;
``--debug`` (or ``GEOMAP_DEBUG=1``) shows the traceback. Bad usage exits 2 (click's own).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

import click

from geomap import __version__
from geomap.atlas import Atlas
from geomap.errors import GeomapError

# Command name → module; each module defines ``command``. Modules are imported only when
# their command runs, so `geomap render` with nothing to do does not load the whole stack.
COMMANDS = {
    "render": "geomap.cli.render_cmd",
    "layers": "geomap.cli.layers_cmd",
    "check": "geomap.cli.check_cmd",
    "add": "geomap.cli.add_cmd",
    "export": "geomap.cli.export_cmd",
    "atlas": "geomap.cli.atlas_cmd",
}


class GeomapGroup(click.Group):
    """A click group with lazily loaded commands that turns expected errors into one line
    and exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name])
        command: click.Command = module.command
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (GeomapError, OSError) as exc:
            debug = (ctx.obj or {}).get("debug") or os.environ.get("GEOMAP_DEBUG") == "1"
            if debug:
                traceback.print_exc()
            message = str(exc)
            if isinstance(exc, OSError) and not isinstance(exc, GeomapError):
                where = f"{exc.filename}: " if exc.filename else ""
                message = f"{where}{exc.strerror or exc} (文件系统错误 file-system error)"
            click.echo(f"错误 (error): {message}", err=True)
            sys.exit(1)


@click.group(cls=GeomapGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--atlas",
    "atlas_dir",
    type=click.Path(file_okay=False, path_type=str),
    help="图集目录 (atlas folder); default: $GEOMAP_ATLAS, else the nearest folder "
    "at or above the working directory holding layers/.",
)
@click.option("--debug", is_flag=True, help="出错时显示完整回溯 (show tracebacks).")
@click.version_option(__version__, prog_name="geomap")
@click.pass_context
def cli(ctx: click.Context, atlas_dir: str | None, debug: bool) -> None:
    """geomap: 把图层和指标表做成交互式网页地图 (GeoJSON layers + indicator tables → HTML maps)."""
    ctx.ensure_object(dict)
    ctx.obj["atlas_dir"] = atlas_dir
    ctx.obj["debug"] = debug


def get_atlas(ctx: click.Context) -> Atlas:
    """The atlas the user pointed at (found lazily, so --help works anywhere)."""
    atlas = Atlas.find(ctx.obj.get("atlas_dir"))
    atlas.settle_interrupted_writes()  # a killed add left a journal: finish or roll back
    return atlas


def main() -> None:
    cli(prog_name="geomap")
