"""The HTML shell of a map page: three slots (head assets, data block, client script).

geomap writes this shell itself rather than through folium. folium's page model compiles
every rendered script again as a Jinja template (a value ``{{ 6*7 }}`` would become 42, and
worse could run Python), so geomap had kept all data out of it and used folium only for a
``<div>`` and one ``L.map(...)`` call, reaching into private attributes to make the output
byte-stable. A shell of our own has no template engine at all: the page is a join of
fixed bytes, escaped text (the title) and the JSON block from :mod:`geomap.payload`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator

from geomap import assets
from geomap.freshness import TILES_META

#: The element the map is drawn in (``PageData.mapId``).
MAP_ID = "geomap-map"

# Full-window map; `.leaflet-container` font size as folium's pages had it.
_SHELL_CSS = (
    "html, body { width: 100%; height: 100%; margin: 0; padding: 0; }\n"
    f"#{MAP_ID} {{ position: relative; width: 100%; height: 100%; left: 0; top: 0; }}\n"
    ".leaflet-container { font-size: 1rem; }"
)


def page_parts(
    *,
    title: str,
    data_json: Iterable[bytes],
    digest_meta: tuple[str, str],
    online: bool,
    cluster: bool,
    tiles: tuple[str, ...] = (),
) -> Iterator[bytes]:
    """The complete page as UTF-8 bytes, in pieces (the data block's pieces as they come:
    a large page is written to its file without ever being one string).

    Parameters
    ----------
    title : str
        The map title (escaped here for ``<title>``).
    data_json : iterable of bytes
        The data block, already escaped for the script context (:func:`payload.script_json`),
        in pieces (:func:`payload.page_data_parts`).
    digest_meta : (name, value)
        The ``<meta>`` that records the render's input digest (:mod:`geomap.freshness`).
    online, cluster : bool
        Link the CDN copies instead of inlining; include leaflet.markercluster.
    tiles : tuple of str
        The tile files the page reads (relative to it): listed in ``<meta
        name="geomap-tiles">`` (:mod:`geomap.freshness` checks they exist), and the
        vector-tile readers (pmtiles, protomaps-leaflet) are included when there are any.
    """
    name, value = digest_meta
    head = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="zh-CN">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta name="{html.escape(name)}" content="{html.escape(value)}">',
            *(
                [f'<meta name="{TILES_META}" content="{html.escape(" ".join(tiles))}">']
                if tiles
                else []
            ),
            f"<title>{html.escape(title)}</title>",
            '<meta name="viewport" content="width=device-width, initial-scale=1.0, '
            'maximum-scale=1.0, user-scalable=no">',
            assets.head(online=online, cluster=cluster, tiles=bool(tiles)),
            f"<style>{_SHELL_CSS}</style>",
            "</head>",
            "<body>",
            f'<div id="{MAP_ID}"></div>',
            '<script type="application/json" id="geomap-data">',
        ]
    )
    yield head.encode("utf-8")
    yield from data_json
    tail = f"</script>\n<script>\n{assets.client_script()}\n</script>\n</body>\n</html>\n"
    yield tail.encode("utf-8")
