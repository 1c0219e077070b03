"""Is a rendered map up to date? A digest of everything the map depends on.

Kept apart from :mod:`geomap.render` (and free of pandas, geopandas and folium) so that
``geomap render`` decides in a few milliseconds that nothing changed.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from geomap import __version__, assets, basemaps
from geomap.atlas import Atlas
from geomap.spec import MapSpec

INPUTS_META = "geomap-inputs"
#: The tile files a page reads (relative to it, space-separated): ``render`` skips the map
#: only while they are all there.
TILES_META = "geomap-tiles"


@dataclass
class RenderOptions:
    basemap: str | None = None
    online: bool = False
    force: bool = False


def inputs_digest(
    atlas: Atlas, spec_name: str, spec: MapSpec, options: RenderOptions, basemap: str
) -> str:
    """A digest of everything a map depends on, to skip maps whose inputs did not change."""
    h = hashlib.sha256()
    h.update(f"{__version__}|{basemap}|{options.online}".encode())
    paths = [atlas.map_path(spec_name), atlas.root / "atlas.toml"]
    for ml in spec.layers:
        for name in [ml.layer, *(r.source for r in ml.rollup)]:
            paths += [atlas.layer_path(name), atlas.layer_path(name, ".toml")]
        if ml.join:
            paths += [atlas.table_path(ml.join.table), atlas.table_path(ml.join.table, ".toml")]
    for path in paths:
        h.update(str(path.name).encode())
        if path.is_file():
            with path.open("rb") as fh:  # streamed: a county's layer is gigabytes
                while block := fh.read(1 << 20):
                    h.update(block)
        else:
            h.update(b"-")
    h.update(_code_digest().encode())
    return h.hexdigest()


@functools.cache
def _code_digest() -> str:
    """geomap's own code and every asset a page may contain (the one list in
    :mod:`geomap.assets`): a changed renderer or client file re-renders every map."""
    h = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    for name in assets.page_files():
        h.update(name.encode())
        h.update(assets.read_bytes(name))
    return h.hexdigest()


def _head_meta(path: Path, name: str) -> str | None:
    """The content of ``<meta name=NAME>`` in the first 4 KiB of a page, if there."""
    if not path.is_file():
        return None
    with open(path, "rb") as fh:
        head = fh.read(4096).decode("utf-8", "replace")
    marker = f'<meta name="{name}" content="'
    start = head.find(marker)
    if start < 0:
        return None
    start += len(marker)
    return head[start : head.find('"', start)]


def existing_digest(path: Path) -> str | None:
    return _head_meta(path, INPUTS_META)


def choose_basemaps(
    atlas: Atlas, spec: MapSpec, options: RenderOptions, warn: object = None
) -> list[tuple[basemaps.Basemap, str | None]]:
    """The map's primary basemap and its key, as a one-item list; raises a clear
    :class:`~geomap.errors.GeomapError` when it is unknown or lacks a key. (The plan,
    :mod:`geomap.plan`, adds a spec's extra basemaps and reports every problem.)"""
    config = atlas.config()
    name = basemaps.primary(config, spec.basemap, options.basemap)
    return [basemaps.get(name, config.get("tianditu_key"))]


def map_digest(atlas: Atlas, name: str, spec: MapSpec, options: RenderOptions) -> str:
    """The digest of everything ``maps/<name>.html`` depends on, for these options."""
    primary = basemaps.primary(atlas.config(), spec.basemap, options.basemap)
    return inputs_digest(atlas, name, spec, options, primary)


def is_fresh(atlas: Atlas, name: str, digest: str) -> bool:
    """True when ``maps/<name>.html`` was rendered from exactly the inputs of ``digest``
    and the vector tiles it reads (``<meta name="geomap-tiles">``) are all beside it."""
    page = atlas.map_path(name, ".html")
    if existing_digest(page) != digest:
        return False
    files = _head_meta(page, TILES_META)
    return not files or all((page.parent / f).is_file() for f in files.split(" "))
