"""``geomap serve``: the atlas's rendered maps over HTTP, with Range requests.

A map whose large layers are vector tiles (:mod:`geomap.tiles`) reads its PMTiles archive
in pieces with HTTP Range requests, which a page opened from disk cannot make and
``python -m http.server`` does not answer. This serves ``maps/`` (the pages, their tile
folders and ``index.html``; never ``layers/`` or ``data/``, which hold private fields)
with Starlette's ``StaticFiles`` (Range, ETag, no symlinks out of the folder) on uvicorn.
Both are the extra ``[serve]``.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geomap.errors import GeomapError

#: The port ``geomap serve`` listens on unless told otherwise.
DEFAULT_PORT = 8000


#: A single byte range up to this size is read at once and sent with its headers (see
#: :func:`app`); larger ones are streamed by Starlette.
INLINE_RANGE = 1 << 20
_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


def app(folder: Path) -> Any:
    """The ASGI app serving ``folder`` (``/`` is its ``index.html``).

    Starlette's ``StaticFiles`` does everything (paths, symlinks, ETag, 304, 416, multiple
    ranges) except one case made quick: a page reading its vector tiles asks for one small
    byte range of the archive per tile, some thirty at once per view over the browser's six
    connections. Starlette streams each from a worker thread in four steps (open, seek,
    read, close), so a tile waited for up to four thread hand-overs after its headers; here
    a single range of at most :data:`INLINE_RANGE` bytes (with no ``If-Range`` or one
    naming the file's ETag) is read in one ``pread`` and sent with its headers.
    """
    from starlette.applications import Starlette
    from starlette.datastructures import Headers
    from starlette.responses import FileResponse, Response
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    class Static(StaticFiles):
        def file_response(
            self, full_path: Any, stat_result: os.stat_result, scope: Any, status_code: int = 200
        ) -> Response:
            response = super().file_response(full_path, stat_result, scope, status_code)
            asked = Headers(scope=scope)
            found = _RANGE.fullmatch(asked.get("range", "").strip())
            if_range = asked.get("if-range")
            if (
                type(response) is not FileResponse
                or status_code != 200
                or scope["method"] != "GET"
                or found is None
                or (if_range is not None and if_range != response.headers.get("etag"))
            ):
                return response
            start, size = int(found[1]), stat_result.st_size
            end = min(int(found[2]), size - 1)
            if start > end or end - start >= INLINE_RANGE:
                return response  # Starlette answers 416, or streams a large range
            fd = os.open(full_path, os.O_RDONLY)
            try:
                data = os.pread(fd, end - start + 1, start)
            finally:
                os.close(fd)
            headers = {k: v for k, v in response.headers.items() if k != "content-length"}
            headers["content-range"] = f"bytes {start}-{start + len(data) - 1}/{size}"
            return Response(data, status_code=206, headers=headers)

    return Starlette(routes=[Mount("/", app=Static(directory=folder, html=True))])


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
    # http="auto" (the default): httptools, part of the extra [serve], when installed.
    config = uvicorn.Config(app(folder), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    ready(url)
    server.run(sockets=[sock])
