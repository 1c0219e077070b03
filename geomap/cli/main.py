"""The ``geomap`` command group: atlas discovery, version, console output and error handling.

A :class:`~geomap.errors.GeomapError` becomes one clear message on stderr and exit code 1;
``--debug`` (or ``GEOMAP_DEBUG=1``) shows the traceback. Bad usage exits 2 (click's own).

Console conventions, shared by every command through the helpers below: data on stdout;
notes, progress, warnings and errors on stderr. ``-q`` silences notes and progress (never
warnings or errors); progress appears only for work lasting over :data:`PROGRESS_DELAY`
seconds and only on a terminal, unless ``-v``, which also prints it as plain lines into a
log. Output never crashes on a console that cannot show a character (a GBK console on
Windows): such characters degrade readably (``✓`` → ``√``, ``m²`` → ``m2``, else ``?``).
"""

from __future__ import annotations

import codecs
import contextlib
import importlib
import os
import sys
import threading
import time
import traceback
import unicodedata
from collections.abc import Callable, Iterator
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
    "export-data": "geomap.cli.export_data_cmd",
    "serve": "geomap.cli.serve_cmd",
}

# Modules of optional extras: a command that needs one says which extra to install.
OPTIONAL_MODULES = {"playwright": "export", "starlette": "serve", "uvicorn": "serve"}

# Work that ends sooner than this shows no progress bar.
PROGRESS_DELAY = 2.0

# Readable stand-ins for characters a legacy console code page (GBK: cp936) cannot show.
_STAND_INS = {"✓": "√", "✔": "√", "✗": "×", "✘": "×", "⚠": "!", "•": "·", "\u00a0": " "}
_ERROR_HANDLER = "geomap-readable"


def _readable(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: an unencodable character becomes a look-alike, its NFKC form
    (``²`` → ``2``) or ``?`` -- never an exception in the middle of a command."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start : exc.end]:
        for candidate in (_STAND_INS.get(ch), unicodedata.normalize("NFKC", ch), "?"):
            if candidate:
                try:
                    candidate.encode(exc.encoding)
                except (UnicodeEncodeError, LookupError):
                    continue
                out.append(candidate)
                break
    return "".join(out), exc.end


codecs.register_error(_ERROR_HANDLER, _readable)


def readable_streams() -> None:
    """Make stdout and stderr degrade unencodable characters instead of raising."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) != _ERROR_HANDLER:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors=_ERROR_HANDLER)


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
        except ModuleNotFoundError as exc:
            extra = OPTIONAL_MODULES.get((exc.name or "").split(".")[0])
            if extra is None:
                raise
            click.echo(
                f"错误 (error): 此命令需要 {exc.name} (this command needs {exc.name}); "
                f"install it with: pip install 'geomap[{extra}]'",
                err=True,
            )
            sys.exit(1)
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
@click.option(
    "-q", "--quiet", is_flag=True, help="安静：只输出数据、警告和错误 (no notes or progress)."
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="详细：显示进度，输出不是终端时也显示 (progress even into a log file).",
)
@click.option("--debug", is_flag=True, help="出错时显示完整回溯 (show tracebacks).")
@click.version_option(__version__, prog_name="geomap")
@click.pass_context
def cli(ctx: click.Context, atlas_dir: str | None, quiet: bool, verbose: bool, debug: bool) -> None:
    """geomap: 把图层和指标表做成交互式网页地图 (GeoJSON layers + indicator tables → HTML maps)."""
    if quiet and verbose:
        raise click.UsageError("-q/--quiet 与 -v/--verbose 不能同时使用 (use one of them)")
    readable_streams()
    ctx.ensure_object(dict)
    ctx.obj["atlas_dir"] = atlas_dir
    ctx.obj["debug"] = debug
    ctx.obj["verbosity"] = -1 if quiet else 1 if verbose else 0


def get_atlas(ctx: click.Context) -> Atlas:
    """The atlas the user pointed at (found lazily, so --help works anywhere)."""
    atlas = Atlas.find(ctx.obj.get("atlas_dir"))
    close = getattr(atlas, "close", None)  # a database atlas: its connection, at the end
    if close is not None:
        ctx.call_on_close(close)
    atlas.settle_interrupted_writes()  # a killed add left a journal: finish or roll back
    return atlas


def verbosity() -> int:
    """-1 with ``-q``, 1 with ``-v``, else 0."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return int(obj.get("verbosity", 0)) if isinstance(obj, dict) else 0


def note(message: str) -> None:
    """A note for the person at the console (stderr), silenced by ``-q``."""
    if verbosity() >= 0:
        click.echo(message, err=True)


def warn(message: str) -> None:
    """A warning on stderr, shown even with ``-q``."""
    click.echo(f"警告 (warning): {message}", err=True)


@contextlib.contextmanager
def progress(message: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Report long work on stderr; yields ``advance(n)`` to count ``n`` of ``total`` done.

    On a terminal a rich bar (or spinner when ``total`` is None) appears once the work has
    lasted :data:`PROGRESS_DELAY` seconds and disappears when it ends. Into a file or pipe,
    nothing, unless ``-v``: then a line when the work starts and one when it ends.
    """
    level = verbosity()
    if level < 0:
        yield lambda n: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        if level < 1:
            yield lambda n: None
            return
        done = [0]
        started = time.perf_counter()
        click.echo(f"{message} …" + (f" ({total:,})" if total is not None else ""), err=True)
        yield lambda n: done.__setitem__(0, done[0] + n)
        count = f"{done[0]:,}/{total:,}, " if total is not None else ""
        click.echo(f"{message}: {count}{time.perf_counter() - started:.1f} s", err=True)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    bar = Progress(*columns, TimeElapsedColumn(), console=console, transient=True)
    task = bar.add_task(message, total=total)
    lock = threading.Lock()
    state = {"finished": False}

    def show() -> None:
        with lock:
            if not state["finished"]:
                bar.start()

    timer = threading.Timer(0 if level > 0 else PROGRESS_DELAY, show)
    timer.daemon = True
    timer.start()
    try:
        yield lambda n: bar.advance(task, n)
    finally:
        timer.cancel()
        with lock:
            state["finished"] = True
            bar.stop()


def main() -> None:
    readable_streams()
    cli(prog_name="geomap")


if __name__ == "__main__":
    main()
