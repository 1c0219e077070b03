"""Maps that work on an intranet: every Xiping map opens with the network blocked (tiles
stubbed), AMap mode shifts vectors to GCJ-02, and unreachable tiles are announced."""

from __future__ import annotations

import math
import re
from pathlib import Path

import prcoords
import pytest
import sample_atlas
import tomli_w
from browser_helpers import TILE_HOSTS
from helpers import run, shipped_atlas

from geomap.atlas import Atlas

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def xiping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("xiping")
    return shipped_atlas(root, render=())


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in metres between two (lat, lon) points a few metres apart."""
    dy = (a[0] - b[0]) * 111_320
    dx = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


@pytest.mark.parametrize("name", Atlas(REPO).map_names())
def test_xiping_map_needs_nothing_but_tiles(xiping: Path, open_page, name: str) -> None:
    opened = open_page(xiping / "maps" / f"{name}.html")
    assert opened.console_errors == []
    assert opened.failed_requests == []  # every non-tile request would be listed here
    assert opened.tile_requests, "the AMap basemap should have asked for tiles"
    assert all(any(h in u for h in TILE_HOSTS) for u in opened.tile_requests)
    # Every map says its geometry is illustrative and cites the report's sections.
    page = opened.page
    assert page.inner_text(".gm-badge") == "示意数据"
    footer = page.inner_text(".gm-footer")
    assert "示意数据" in footer and "西屏街道工作总结" in footer
    assert re.search(r"20(22|23)\([一二三四]\)", footer)
    html = (xiping / "maps" / f"{name}.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in html and "cdnjs" not in html and "code.jquery" not in html


def test_amap_mode_shifts_vectors_to_gcj02(xiping: Path, open_page) -> None:
    atlas = Atlas(xiping)
    facilities = atlas.read_layer("facilities").gdf
    lon, lat = facilities.geometry.iloc[0].x, facilities.geometry.iloc[0].y
    want_lat, want_lon = prcoords.wgs_gcj((lat, lon))  # independent implementation
    page = open_page(xiping / "maps" / "overview.html").page
    layer_id = page.evaluate(
        "Object.values(geomap.layers).find(e => e.data.layer === 'facilities').data.id"
    )
    got = page.evaluate(
        f"(() => {{ const l = geomap.layers['{layer_id}'].byIndex[0];"
        " const p = l.getLatLng(); return [p.lat, p.lng]; })()"
    )
    assert metres(tuple(got), (want_lat, want_lon)) < 1.0
    # The shift itself is real: hundreds of metres at Xiping.
    assert metres(tuple(got), (lat, lon)) > 300


def test_unreachable_tiles_are_announced_and_vectors_still_work(xiping: Path, open_page) -> None:
    opened = open_page(xiping / "maps" / "water-land.html", tiles=False)
    page = opened.page
    notice = page.locator(".gm-notice")
    notice.wait_for(state="visible")
    assert "底图无法加载" in notice.inner_text()
    counts = page.evaluate("Object.values(geomap.layers).map(e => e.count)")
    assert counts and all(c > 0 for c in counts)


def test_layer_control_offers_configured_basemaps(tmp_path: Path, open_page) -> None:
    root = sample_atlas.build(tmp_path / "atlas")
    (root / "maps" / "bases.toml").write_text(
        tomli_w.dumps(
            {
                "title": "底图",
                "basemap": "amap",
                "basemaps": ["amap-img", "geoq"],
                "layers": [{"layer": "villages"}],
            }
        ),
        encoding="utf-8",
    )
    assert run(root, "render", "bases").exit_code == 0
    page = open_page(root / "maps" / "bases.html").page
    names = page.locator(".leaflet-control-layers-base label").all_inner_texts()
    assert [n.strip() for n in names] == ["高德地图", "高德影像", "GeoQ 灰色底图"]
    assert "Gaode" in page.inner_text(".leaflet-control-attribution")


def test_online_mode_links_cdn_copies(tmp_path: Path) -> None:
    root = sample_atlas.build(tmp_path / "atlas")
    assert run(root, "render", "minimal", "--online").exit_code == 0
    html = (root / "maps" / "minimal.html").read_text(encoding="utf-8")
    assert 'src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"' in html
    offline = sample_atlas.build(tmp_path / "atlas2")
    assert run(offline, "render", "minimal").exit_code == 0
    inlined = (offline / "maps" / "minimal.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in inlined and "Leaflet 1.9.3" in inlined
