"""``geomap serve``: the atlas's rendered maps over HTTP, with Range requests.

A map whose large layers are vector tiles (:mod:`geomap.tiles`) reads its PMTiles archive
in pieces with HTTP Range requests, which a page opened from disk cannot make and
``python -m http.server`` does not answer. This serves ``maps/`` (the pages, their tile
folders and ``index.html``; never ``layers/`` or ``data/``, which hold private fields)
with Starlette's ``StaticFiles`` (Range, ETag, no symlinks out of the folder) on uvicorn.
Both are the extra ``[serve]``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geomap.errors import GeomapError

#: The port ``geomap serve`` listens on unless told otherwise.
DEFAULT_PORT = 8000


def app(folder: Path) -> Any:
    """The ASGI app serving ``folder`` (``/`` is its ``index.html``)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    return Starlette(routes=[Mount("/", app=StaticFiles(directory=folder, html=True))])


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free port), or a clear error when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise GeomapError(
            f"无法在 {host}:{port} 上提供服务 (cannot listen): {exc.strerror}; "
            "换一个端口 (use another port): geomap serve --port 8001"
        ) from None
    sock.listen(128)
    return sock


def serve(folder: Path, host: str, port: int, ready: Callable[[str], None]) -> None:
    """Serve ``folder`` until interrupted; ``ready`` gets the URL once listening."""
    import uvicorn

    if not folder.is_dir():
        raise GeomapError(f"{folder}: 没有地图 (no maps folder); 先运行 geomap render")
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = socket.gethostname()
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    config = uvicorn.Config(app(folder), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    ready(url)
    server.run(sockets=[sock])
