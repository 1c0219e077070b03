"""Browser assets for rendered maps: inlined from the vendored copies, or linked online.

Offline (the default) every script, stylesheet and image is inlined, so a map opened from
disk on an intranet PC needs nothing from the network except basemap tiles. The vendored
copies come from packages (see ``scripts/vendor_assets.py``); their licences sit beside them.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources

# The CDN copies folium 0.20 uses, at the same pinned versions as the vendored files.
CDN = {
    "leaflet.js": "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
    "leaflet.css": "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css",
    "markercluster.js": "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
    "leaflet.markercluster.js",
    "markercluster.css": "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
    "MarkerCluster.css",
    "markercluster-default.css": "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/"
    "1.1.0/MarkerCluster.Default.css",
}

#: geomap's own client code, split by concern and inlined as one script in this order
#: (each file adds its module to the one global namespace ``window.geomap``).
CLIENT_JS = tuple(
    f"js/{name}.js"
    for name in (
        "dom",  # shared DOM helpers; creates window.geomap
        "fast",  # the fast canvas layer for large layers
        "ranges",  # a tile archive's byte ranges read in few requests
        "tileindex",  # a tiled layer's search index beside the page
        "tiles",  # layers drawn from vector tiles beside the page (geomap/tiles.py)
        "hittest",  # the feature under the cursor on Leaflet-drawn layers
        "arbiter",  # tooltip and popup contents, one of each for the topmost feature
        "legend",
        "layers",  # basemaps, vector layers, labels
        "search",
        "filters",  # legend items and facets hide/show features
        "years",  # the year switch and the popup chart of indicators over years
        "list",  # the list (清单) panel and its CSV
        "measure",  # distance and area
        "tools",  # home, list, measure buttons, basemap switch, fitting legend/footer
        "chrome",  # header, footer, controls
        "export",  # the print layout of `geomap export`
        "main",  # builds the map from the data block
    )
)
CLIENT_CSS = "geomap.css"
LEAFLET_JS = "leaflet/leaflet.js"
LEAFLET_CSS = "leaflet/leaflet.css"
CLUSTER_JS = "markercluster/leaflet.markercluster.js"
CLUSTER_CSS = ("markercluster/MarkerCluster.css", "markercluster/MarkerCluster.Default.css")
#: Reading PMTiles archives and drawing their vector tiles: inlined only into pages with a
#: tiled layer (always offline copies: the tiles themselves are served with the page).
TILES_JS = ("tiles/pmtiles.js", "tiles/protomaps-leaflet.js")

_URL = re.compile(r"url\((['\"]?)(images/[^)'\"]+)\1\)")


@cache
def read(path: str) -> str:
    """The text of a vendored asset, e.g. ``leaflet/leaflet.js``."""
    return (resources.files("geomap") / "assets" / path).read_text(encoding="utf-8")


def _data_uri(path: str) -> str:
    raw = (resources.files("geomap") / "assets" / path).read_bytes()
    mime = "image/svg+xml" if path.endswith(".svg") else "image/png"
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


@cache
def leaflet_css_inline() -> str:
    """leaflet.css with its ``url(images/…)`` references turned into data URIs."""
    css = read("leaflet/leaflet.css")
    return _URL.sub(lambda m: f'url("{_data_uri("leaflet/" + m.group(2))}")', css)


def _script(code: str) -> str:
    # A vendored file can never close the inline <script> it sits in.
    if "</script" in code.lower():
        raise ValueError("refusing to inline a script containing </script")
    return f"<script>{code}</script>"


def head(*, online: bool, cluster: bool, tiles: bool = False) -> str:
    """The ``<head>`` additions: Leaflet, markercluster and the tile readers when needed,
    geomap's CSS."""
    parts: list[str] = []
    if online:
        parts.append(f'<link rel="stylesheet" href="{CDN["leaflet.css"]}">')
        parts.append(f'<script src="{CDN["leaflet.js"]}"></script>')
        if cluster:
            parts.append(f'<link rel="stylesheet" href="{CDN["markercluster.css"]}">')
            parts.append(f'<link rel="stylesheet" href="{CDN["markercluster-default.css"]}">')
            parts.append(f'<script src="{CDN["markercluster.js"]}"></script>')
    else:
        parts.append(f"<style>{leaflet_css_inline()}</style>")
        parts.append(_script(read(LEAFLET_JS)))
        if cluster:
            parts.append(f"<style>{read(CLUSTER_CSS[0])}")
            parts.append(f"{read(CLUSTER_CSS[1])}</style>")
            parts.append(_script(read(CLUSTER_JS)))
    if tiles:
        parts.extend(_script(read(path)) for path in TILES_JS)
    parts.append(f"<style>{read(CLIENT_CSS)}</style>")
    return "\n".join(parts)


def client_script() -> str:
    """geomap's own client code (always inlined: it is ours and small)."""
    code = "\n".join(read(path) for path in CLIENT_JS)
    if "</script" in code.lower():
        raise ValueError("geomap's client code must not contain </script")
    return code


def page_files() -> list[str]:
    """Every asset a rendered page may contain (the freshness digest hashes them all)."""
    folder = resources.files("geomap") / "assets"
    images = sorted(f"leaflet/images/{p.name}" for p in (folder / "leaflet" / "images").iterdir())
    return [
        *CLIENT_JS,
        CLIENT_CSS,
        LEAFLET_JS,
        LEAFLET_CSS,
        *images,
        CLUSTER_JS,
        *CLUSTER_CSS,
        *TILES_JS,
    ]


def read_bytes(path: str) -> bytes:
    """The bytes of an asset, e.g. ``js/main.js``."""
    return (resources.files("geomap") / "assets" / path).read_bytes()
