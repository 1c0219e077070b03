"""The basemap providers geomap offers, defined once.

xyzservices supplies Gaode (AMap); it has no Tianditu or GeoQ provider, so those are defined
here. ``datum`` says which coordinates the tiles use: AMap and GeoQ tiles are in GCJ-02, so
vector layers are shifted to GCJ-02 at render time to line up with them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import xyzservices.providers as xyz

from geomap.errors import GeomapError

TIANDITU_ENV = "GEOMAP_TIANDITU_KEY"
_KEY = re.compile(r"^[0-9A-Za-z]{16,64}$")


@dataclass(frozen=True)
class Basemap:
    name: str
    title: str
    url: str | None  # None: a plain background, no tiles
    attribution: str
    datum: str = "wgs84"  # wgs84 | gcj02
    subdomains: str = "abc"
    max_zoom: int = 18
    overlay_url: str | None = None  # annotation layer drawn above the tiles (Tianditu)
    needs_key: bool = False


def _tianditu(layer: str) -> str:
    """Tianditu's Web-Mercator WMTS as an XYZ template; ``{key}`` is filled at render time."""
    return (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}"
        "&TILEROW={y}&TILECOL={x}&tk={key}"
    )


TIANDITU_ATTRIBUTION = "&copy; 天地图 Tianditu (国家地理信息公共服务平台)"


def _gaode(name: str, title: str, provider: Any) -> Basemap:
    """An AMap basemap from its xyzservices provider (GCJ-02 tiles)."""
    return Basemap(
        name,
        title,
        provider.url,
        provider.html_attribution,
        "gcj02",
        "".join(provider.get("subdomains", "1234")),
        int(provider.get("max_zoom", 18)),
    )


def _tianditu_basemap(name: str, title: str, layer: str, labels: str) -> Basemap:
    """A Tianditu basemap: tiles of ``layer`` with the annotation layer ``labels`` above."""
    return Basemap(
        name,
        title,
        _tianditu(layer),
        TIANDITU_ATTRIBUTION,
        "wgs84",
        "01234567",
        18,
        _tianditu(labels),
        True,
    )


PROVIDERS: dict[str, Basemap] = {
    "none": Basemap("none", "无底图", None, "", max_zoom=19),
    "amap": _gaode("amap", "高德地图", xyz.Gaode.Normal),
    "amap-img": _gaode("amap-img", "高德影像", xyz.Gaode.Satellite),
    "geoq": Basemap(
        "geoq",
        "GeoQ 灰色底图",
        "https://map.geoq.cn/ArcGIS/rest/services/ChinaOnlineStreetGray/MapServer/tile/{z}/{y}/{x}",
        "&copy; GeoQ 智图",
        "gcj02",
        "",
        16,
    ),
    "tianditu-vec": _tianditu_basemap("tianditu-vec", "天地图矢量", "vec", "cva"),
    "tianditu-img": _tianditu_basemap("tianditu-img", "天地图影像", "img", "cia"),
    # OpenStreetMap refuses tile requests without a Referer, which a map opened from disk
    # never sends: offered for maps served over http only.
    "osm": Basemap(
        "osm",
        "OpenStreetMap",
        xyz.OpenStreetMap.Mapnik.url,
        xyz.OpenStreetMap.Mapnik.html_attribution,
        "wgs84",
        "abc",
        19,
    ),
}
DEFAULT = "amap"


def primary(config: Mapping[str, Any], spec_basemap: str | None, override: str | None) -> str:
    """The basemap a map is drawn on: ``--basemap``, else the spec's ``basemap``, else
    atlas.toml's, else :data:`DEFAULT`. (Whether it exists is for :func:`get` to say.)"""
    return str(override or spec_basemap or config.get("basemap") or DEFAULT)


def get(name: str, tianditu_key: str | None = None) -> tuple[Basemap, str | None]:
    """The provider called ``name`` and its key (Tianditu only); clear errors otherwise."""
    if name not in PROVIDERS:
        raise GeomapError(
            f"底图 {name!r:.40} 不存在 (unknown basemap); choose one of: {', '.join(PROVIDERS)}"
        )
    base = PROVIDERS[name]
    if not base.needs_key:
        return base, None
    key = os.environ.get(TIANDITU_ENV) or tianditu_key
    if not key:
        raise GeomapError(
            f"底图 {name} 需要天地图密钥 (Tianditu needs a key): set {TIANDITU_ENV}=<tk> or "
            'tianditu_key = "..." in atlas.toml; apply for one at the Tianditu console'
        )
    if not _KEY.match(key):
        raise GeomapError("天地图密钥格式不对 (the Tianditu key must be 16–64 letters/digits)")
    return base, key
