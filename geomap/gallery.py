"""``maps/index.html``: a gallery page linking every map of the atlas."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

from geomap import __version__
from geomap.atlas import Atlas, atomic_write
from geomap.errors import GeomapError
from geomap.freshness import existing_digest


def withdraw_page(atlas: Atlas, name: str) -> Path | None:
    """Remove ``maps/<name>.html`` (if there is one) when the map can no longer be rendered:
    the old page may show data that has since become private, or been removed. Returns the
    path removed."""
    page = atlas.map_path(name, ".html")
    if page.is_symlink() or not page.is_file():
        return None
    page.unlink()
    _withdraw_tiles(page)
    return page


def _withdraw_tiles(page: Path) -> None:
    """The vector tiles beside a withdrawn page go with it (they hold its features)."""
    folder = page.with_name(f"{page.stem}.tiles")
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)


def withdraw_orphan_pages(atlas: Atlas) -> list[Path]:
    """Remove pages geomap rendered for maps whose spec is gone (a deleted map may have been
    deleted because of what it showed). Only pages carrying geomap's inputs digest go."""
    if not atlas.maps_dir.is_dir():
        return []
    specs = set(atlas.map_names())
    removed = []
    for page in sorted(atlas.maps_dir.glob("*.html")):
        if page.stem == "index" or page.stem in specs or page.is_symlink():
            continue
        if existing_digest(page) is not None:
            page.unlink()
            _withdraw_tiles(page)
            removed.append(page)
    return removed


def render_index(atlas: Atlas, failed: set[str] | frozenset[str] = frozenset()) -> Path:
    """``maps/index.html``: a gallery of every map with its title, description and a link;
    a map in ``failed`` (its render failed, its old page withdrawn) is marked so."""
    cards = []
    for name in atlas.map_names():
        try:
            spec = atlas.map_spec(name)
            title, desc = spec.title, spec.description or spec.subtitle or ""
        except GeomapError:
            title, desc = name, "（地图定义有误，请运行 geomap check）"
        heading = f"<h2>{html.escape(title)}</h2>"
        if name in failed:
            desc = f"（无法生成，旧页面已撤下；请运行 geomap check 查看原因）{desc}"
        elif atlas.map_path(name, ".html").is_file():
            heading = f'<a href="{html.escape(name)}.html">{heading}</a>'
        else:  # never rendered, or its render failed: no dead link
            desc = f"（尚未生成，请运行 geomap render {name}）{desc}"
        cards.append(
            f"<li>{heading}<p>{html.escape(desc)}</p><code>{html.escape(name)}</code></li>"
        )
    page = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>地图目录</title>\n<style>body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',"
        "'Microsoft YaHei',sans-serif;margin:2em auto;max-width:960px;color:#222}"
        "ul{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,"
        "minmax(260px,1fr));gap:16px}li{border:1px solid #ddd;border-radius:6px;padding:12px;"
        "overflow-wrap:anywhere}h2{font-size:18px;margin:0 0 6px}a{color:#0b5cad;"
        "text-decoration:none}code{color:#888;font-size:12px}</style>\n</head>\n<body>\n"
        f"<h1>地图目录</h1>\n<p>共 {len(cards)} 幅地图。由 geomap {__version__} 生成。</p>\n"
        "<ul>\n" + "\n".join(cards) + "\n</ul>\n</body>\n</html>\n"
    )
    out = atlas.inside(atlas.maps_dir / "index.html")
    data = page.encode("utf-8")
    if not out.is_file() or out.read_bytes() != data:
        atomic_write(out, data)
    return out
