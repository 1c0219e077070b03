"""Printable maps: PNG and PDF of a map, with title, legend, scale bar, north arrow, sources.

The engine is headless Chromium printing the *same* page that ``geomap render`` writes, in
an export layout (interactive controls hidden, north arrow and date added). That keeps one
renderer for screen and paper: the legend, labels, classes and escaping are the ones the
planner checked on screen, and Chinese text is real text in the PDF (searchable, sharp).
matplotlib would need a second renderer of every style and legend.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geomap.atlas import Atlas, atomic_write
from geomap.errors import GeomapError
from geomap.render import RenderOptions, render_html

PAPERS_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
CSS_DPI = 96.0
CHROMIUM_ENV = "GEOMAP_CHROMIUM"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TILE_WAIT_MS = 8000


@dataclass(frozen=True)
class ExportOptions:
    format: str = "pdf"  # pdf | png
    paper: str = "A4"
    landscape: bool = True
    dpi: int = 150
    basemap: str | None = None


def paper_size_mm(paper: str, landscape: bool) -> tuple[float, float]:
    """(width, height) in millimetres."""
    if paper not in PAPERS_MM:
        raise GeomapError(f"纸张 {paper!r} 不支持 (unsupported paper); use A4 or A3")
    short, long = PAPERS_MM[paper]
    return (long, short) if landscape else (short, long)


def png_size_px(paper: str, landscape: bool, dpi: int) -> tuple[int, int]:
    """The pixel size of a PNG export: the paper at ``dpi`` dots per inch."""
    w, h = paper_size_mm(paper, landscape)
    return round(w / 25.4 * dpi), round(h / 25.4 * dpi)


def find_chromium() -> str:
    """Debian's Chromium (or ``$GEOMAP_CHROMIUM``); a clear error when there is none."""
    for candidate in (
        os.environ.get(CHROMIUM_ENV),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    raise GeomapError(
        "找不到 Chromium 浏览器 (no Chromium found) for export: install it with "
        "`apt-get install chromium fonts-wqy-microhei`, or set GEOMAP_CHROMIUM=/path/to/chrome"
    )


def export_map(
    atlas: Atlas, name: str, out: Path, options: ExportOptions, warn: list[str] | None = None
) -> Path:
    """Write ``maps/<name>`` as a PNG or PDF to ``out`` (atomically)."""
    if options.format not in ("png", "pdf"):
        raise GeomapError(f"格式 {options.format!r} 不支持 (format must be png or pdf)")
    if not 50 <= options.dpi <= 600:
        raise GeomapError(f"分辨率 {options.dpi} 不合理 (dpi must be between 50 and 600)")
    width_mm, height_mm = paper_size_mm(options.paper, options.landscape)
    spec = atlas.map_spec(name)
    warnings = warn if warn is not None else []
    page_html = render_html(atlas, spec, RenderOptions(basemap=options.basemap), warnings.append)
    chromium = find_chromium()
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a runtime dependency
        raise GeomapError("导出需要 playwright (pip install playwright)") from None

    # The page is laid out at the paper's size in CSS pixels (96 per inch), then printed, or
    # captured at dpi/96 device pixels per CSS pixel, clipped to exactly the requested size.
    # A PNG is captured a pixel or two larger (Chromium rounds device pixels) and cropped to
    # exactly the requested size.
    scale = options.dpi / CSS_DPI if options.format == "png" else 1.0
    png_w, png_h = png_size_px(options.paper, options.landscape, options.dpi)
    if options.format == "png":
        vw, vh = math.ceil(png_w / scale) + 1, math.ceil(png_h / scale) + 1
    else:
        vw, vh = round(width_mm / 25.4 * CSS_DPI), round(height_mm / 25.4 * CSS_DPI)
    with tempfile.TemporaryDirectory(prefix="geomap-export-") as tmp:
        html_path = Path(tmp) / f"{name}.html"
        html_path.write_bytes(page_html)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(
                        viewport={"width": vw, "height": vh}, device_scale_factor=scale
                    )
                    page.goto(html_path.as_uri())
                    page.wait_for_function(
                        "window.geomap && window.geomap.ready === true", timeout=60000
                    )
                    page.evaluate("d => window.geomap.exportMode(d)", dt.date.today().isoformat())
                    _wait_for_tiles(page)
                    target = Path(tmp) / f"out.{options.format}"
                    if options.format == "png":
                        page.screenshot(path=str(target))
                        _crop_png(target, png_w, png_h)
                    else:
                        page.emulate_media(media="screen")
                        page.pdf(
                            path=str(target),
                            width=f"{width_mm}mm",
                            height=f"{height_mm}mm",
                            print_background=True,
                            margin={"top": "0", "right": "0", "bottom": "0", "left": "0"},
                            page_ranges="1",
                        )
                finally:
                    browser.close()
        except PlaywrightError as exc:
            raise GeomapError(
                f"导出失败 (export failed in Chromium): {str(exc).splitlines()[0]}"
            ) from None
        atomic_write(out, target.read_bytes())
    return out


def _wait_for_tiles(page: Any) -> None:
    """Give basemap tiles a moment to arrive; a map without them still exports."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(
            "() => { const t = document.querySelectorAll('.leaflet-tile');"
            " return t.length === 0 || [...t].every(i => i.complete); }",
            timeout=TILE_WAIT_MS,
        )
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _crop_png(path: Path, width: int, height: int) -> None:
    """Crop a captured PNG to exactly ``width`` × ``height`` pixels."""
    from PIL import Image

    with Image.open(path) as img:
        cropped = img.crop((0, 0, width, height))
        cropped.load()
    cropped.save(path, format="PNG", optimize=True)
