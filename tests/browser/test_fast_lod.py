"""Level of detail on the fast layer: polygons a few pixels wide are drawn as their box's
pixels or scanline by scanline into one image, large ones as paths; whatever a zoom draws,
every feature is where its geometry is, in its class's colour, and the hover names the
feature under the cursor (hit testing is on the full geometry). A ~20k polygon layer."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import sample_atlas
import shapely
import tomli_w
from browser_helpers import hover
from helpers import run
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from shapely.geometry import Polygon

pytestmark = pytest.mark.browser

SIDE = 140  # 19,600 parcels
CELL = 0.0005  # degrees (~50 m)
KINDS = ["耕地", "林地", "园地", "草地"]
COLORS = {"耕地": "#e6ab02", "林地": "#1b9e77", "园地": "#7570b3", "草地": "#e7298a"}
STROKE = (0x55, 0x55, 0x55)


def parcels(seed: int = 11) -> gpd.GeoDataFrame:
    """Jittered heptagons, one inside each grid cell (they never overlap)."""
    rng = np.random.default_rng(seed)
    x0, y0 = 119.40, 28.40
    k = np.arange(7) / 7 * 2 * np.pi
    geoms = []
    for j in range(SIDE):
        for i in range(SIDE):
            cx, cy = x0 + (i + 0.5) * CELL, y0 + (j + 0.5) * CELL
            r = CELL * 0.42 * rng.uniform(0.75, 1.0, 7)
            geoms.append(Polygon(np.c_[cx + r * np.cos(k), cy + r * np.sin(k)]))
    n = len(geoms)
    return gpd.GeoDataFrame(
        {"pid": [f"D{k}" for k in range(n)], "kind": [KINDS[(k * 7) % 4] for k in range(n)]},
        geometry=geoms,
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def lod_map(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, gpd.GeoDataFrame]:
    root = tmp_path_factory.mktemp("lod")
    sample_atlas.build(root)
    gdf = parcels()
    sample_atlas.write_layer(
        root,
        "plots",
        gdf,
        {
            "title": "地块",
            "kind": "parcel",
            "key": "pid",
            "name_field": "pid",
            "fields": {"pid": {"label": "编号"}, "kind": {"label": "地类"}},
        },
    )
    spec = {
        "title": "细节层级",
        "basemap": "none",
        "layers": [
            {
                "layer": "plots",
                "fast": True,
                "labels": False,
                "tooltip": ["pid", "kind"],
                "style": {"type": "categorical", "column": "kind", "colors": COLORS},
            }
        ],
    }
    (root / "maps" / "lod.toml").write_text(tomli_w.dumps(spec), encoding="utf-8")
    result = run(root, "render", "lod")
    assert result.exit_code == 0, result.output
    return root / "maps" / "lod.html", gdf


def rgba(hex_color: str, alpha: float) -> tuple[int, ...]:
    return (*(int(hex_color[k : k + 2], 16) for k in (1, 3, 5)), round(alpha * 255))


def expected_colours(kind: str) -> list[tuple[int, ...]]:
    """A feature's pixels: its fill (opacity 0.6), or where the outline runs, the outline
    (#555555 at 0.9) over the fill."""
    fill = rgba(COLORS[kind], 0.6)
    a = 0.9 + 0.6 * 0.1
    edge = tuple(round((s * 0.9 + f * 0.06) / a) for s, f in zip(STROKE, fill[:3], strict=True))
    return [fill, (*edge, round(a * 255))]


# The canvas pixel under feature i's centre (a point well inside each heptagon), after
# centring the map on it at zoom z; and what drew it.
PIXEL_AT = """([i, z, lat, lng]) => {
  const map = geomap.map, host = geomap.layers.layer0.host;
  map.setView([lat, lng], z, {animate: false});
  const lp = map.latLngToLayerPoint([lat, lng]), b = host._bounds;
  const m = host._container.width / (b.max.x - b.min.x);
  const d = host._ctx.getImageData(Math.floor((lp.x - b.min.x) * m),
                                   Math.floor((lp.y - b.min.y) * m), 1, 1).data;
  return [Array.from(d), host.drawStats];
}"""


def close(got: list[int], want: tuple[int, ...]) -> bool:
    return all(abs(g - w) <= 3 for g, w in zip(got, want, strict=True))


def test_every_feature_is_drawn_in_its_colour_at_every_level_of_detail(
    lod_map: tuple[Path, gpd.GeoDataFrame], open_page: Any
) -> None:
    html, gdf = lod_map
    opened = open_page(html)
    page = opened.page
    n = len(gdf)
    # The opening view may be a quarter level (13.75 here): the levels below are whole
    # levels from the one under it, where parcels are a few pixels wide (boxes).
    opening = math.floor(page.evaluate("geomap.map.getZoom()"))
    # At the opening view every parcel is in sight, and every one is drawn.
    stats = page.evaluate("geomap.layers.layer0.host.drawStats")
    assert stats["paths"] + stats["raster"] + stats["boxes"] == n, stats
    rng = np.random.default_rng(5)
    sample = rng.choice(n, 60, replace=False)
    centres = shapely.centroid(gdf.geometry.values)
    seen = set()
    for dz in (0, 2, 3, 5):
        wrong = []
        for i in sample:
            c = centres[int(i)]
            pixel, stats = page.evaluate(PIXEL_AT, [int(i), opening + dz, c.y, c.x])
            seen.update(k for k in ("paths", "raster", "boxes") if stats[k])
            if not any(close(pixel, w) for w in expected_colours(gdf["kind"].iloc[int(i)])):
                wrong.append((int(i), pixel))
        assert not wrong, f"zoom {opening + dz}: {len(wrong)} of 60 parcels not in their colour"
        if dz == 5:  # full detail: everything in view is a path
            assert stats["raster"] == 0 and stats["boxes"] == 0 and stats["paths"] > 0, stats
    assert seen == {"paths", "raster", "boxes"}  # each level of detail was checked
    assert opened.console_errors == []


def test_hover_after_a_zoom_names_the_parcel_under_the_cursor(
    lod_map: tuple[Path, gpd.GeoDataFrame], open_page: Any
) -> None:
    html, gdf = lod_map
    page = open_page(html).page
    opening = page.evaluate("geomap.map.getZoom()")
    rng = np.random.default_rng(9)
    misses = []
    for k, i in enumerate(rng.choice(len(gdf), 100, replace=False)):
        c = gdf.geometry.iloc[int(i)].centroid
        z = opening + 2 + k % 4  # drawn as scanlines, then paths: the hover must not care
        page.evaluate(
            "([z, lat, lng]) => { geomap.map.setView([lat, lng], z, {animate: false}); }",
            [z, c.y, c.x],
        )
        x, y = page.evaluate(
            """([lat, lng]) => { const p = geomap.map.latLngToContainerPoint([lat, lng]);
              const r = geomap.map.getContainer().getBoundingClientRect();
              return [r.left + p.x, r.top + p.y]; }""",
            [c.y, c.x],
        )
        hover(page, x, y)
        want = gdf["pid"].iloc[int(i)]
        try:
            page.wait_for_function(
                "pid => (document.querySelector('.leaflet-tooltip .gm-tooltip-title') || {})"
                ".textContent === pid",
                arg=want,
                timeout=3000,
            )
        except PlaywrightTimeout:
            tip = page.evaluate("(document.querySelector('.leaflet-tooltip') || {}).textContent")
            misses.append((want, z, tip))
    assert not misses, misses
