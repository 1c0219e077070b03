"""Browser helpers: open a rendered map with the network blocked and tiles stubbed; hover."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A 1x1 transparent PNG served for every basemap tile request.
TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
TILE_HOSTS = ("autonavi.com", "tianditu.gov.cn", "geoq.cn", "openstreetmap.org")


@dataclass
class Opened:
    page: Any
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    tile_requests: list[str] = field(default_factory=list)


def open_map(
    browser: Any, html: Path, *, tiles: bool = True, size: tuple[int, int] = (1280, 800)
) -> Opened:
    """Open ``html`` in a window of ``size`` (CSS pixels) with every network request blocked
    except stubbed tiles; wait until geomap has built the map."""
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.set_default_timeout(10000)
    opened = Opened(page)
    page.on(
        "console", lambda m: opened.console_errors.append(m.text) if m.type == "error" else None
    )
    page.on("pageerror", lambda e: opened.console_errors.append(f"pageerror: {e}"))

    def handle(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        elif any(h in url for h in TILE_HOSTS):
            opened.tile_requests.append(url)
            if tiles:
                route.fulfill(status=200, content_type="image/png", body=TILE)
            else:
                route.abort()
        else:
            opened.failed_requests.append(url)
            route.abort()

    page.route("**/*", handle)
    page.goto(html.as_uri())
    page.wait_for_function("window.geomap && window.geomap.ready === true", timeout=30000)
    return opened


def hover(page: Any, x: float, y: float) -> None:
    """Move the mouse onto (x, y) as a person would: Leaflet's canvas renderer ignores
    mouse moves that come less than 32 ms after the previous one."""
    page.mouse.move(x - 3, y - 3)
    page.wait_for_timeout(60)
    page.mouse.move(x, y)
    page.wait_for_timeout(60)


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two bounding boxes (Playwright's x, y, width, height) share any area."""
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )
