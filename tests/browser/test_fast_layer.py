"""The fast canvas layer (large layers): every feature drawn, exact tooltip values, popups,
search, legend toggling and escaping — forced on the small sample atlas with `fast = true`."""

from __future__ import annotations

from pathlib import Path

import pytest
import sample_atlas
import tomli_w
from browser_helpers import hover
from helpers import run

pytestmark = pytest.mark.browser
XSS = "<img src=x onerror=window.__pwned=1>"


def fast_atlas(root: Path, **kw) -> Path:
    sample_atlas.build(root, **kw)
    (root / "maps" / "fast.toml").write_text(
        tomli_w.dumps(
            {
                "title": "快速图层",
                "basemap": "none",
                "layers": [
                    {
                        "layer": "villages",
                        "fast": True,
                        "tooltip": ["name", "income_2022"],
                        "join": {"table": "economy", "on": "code"},
                        "style": {"type": "choropleth", "column": "income_2022", "k": 3},
                    },
                    {
                        "layer": "roads",
                        "fast": True,
                        "style": {"type": "categorical", "column": "status"},
                    },
                    {
                        "layer": "houses",
                        "fast": True,
                        "style": {"type": "categorical", "column": "has_hazard"},
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    result = run(root, "render", "fast")
    assert result.exit_code == 0, result.output
    return root / "maps" / "fast.html"


def test_fast_layers_draw_every_feature_and_show_exact_values(tmp_path: Path, open_page) -> None:
    html = fast_atlas(tmp_path / "atlas")
    text = html.read_text(encoding="utf-8")
    assert '"fast":{' in text and '"geoms":null' in text  # really the fast path
    opened = open_page(html)
    page = opened.page
    assert opened.console_errors == []
    counts = page.evaluate("Object.values(geomap.layers).map(e => [e.data.layer, e.count])")
    assert dict(counts) == {"villages": 3, "roads": 1, "houses": len(sample_atlas.HOUSES)}
    # Hover the middle village: its name and exact income with the unit.
    x, y = page.evaluate("geomap.pointOf('layer0', 1)")
    hover(page, x, y + 60)  # away from the road and houses
    tip = page.wait_for_selector(".leaflet-tooltip .gm-tooltip").inner_text()
    assert "六村" in tip and "250.25 万元" in tip
    # Click opens the full record.
    page.mouse.click(x, y + 60)
    popup = page.wait_for_selector(".leaflet-popup-content .gm-popup").inner_text()
    assert "六村" in popup and "95 户" in popup


def test_fast_layer_geometry_is_where_the_data_says(tmp_path: Path, open_page) -> None:
    page = open_page(fast_atlas(tmp_path / "atlas")).page
    # Bounds of village V2 decoded in the browser equal the layer's box to 1e-6 degree.
    b = page.evaluate(
        "(() => { const bb = geomap.layers.layer0.host.boundsOf(1);"
        " return [bb.getWest(), bb.getSouth(), bb.getEast(), bb.getNorth()]; })()"
    )
    x0, y0, step = sample_atlas.X0, sample_atlas.Y0, sample_atlas.STEP
    want = [x0 + step, y0, x0 + 2 * step, y0 + step]
    assert all(abs(a - w) < 2e-6 for a, w in zip(b, want, strict=True)), (b, want)


def test_fast_layer_legend_toggles_and_search_finds(tmp_path: Path, open_page) -> None:
    page = open_page(fast_atlas(tmp_path / "atlas")).page
    legend = page.locator(".gm-legend-section[data-layer=layer0]")
    assert legend.is_visible()
    box = page.locator(".leaflet-control-layers-overlays label", has_text="行政村")
    box.locator("input").uncheck()
    assert not legend.is_visible()
    box.locator("input").check()
    page.fill(".gm-search input", "九村")
    page.locator(".gm-search-results li").first.click()
    assert "九村" in page.wait_for_selector(".leaflet-popup-content").inner_text()


def test_fast_layer_escapes_hostile_values(tmp_path: Path, open_page) -> None:
    html = fast_atlas(
        tmp_path / "atlas", village_names=[("V1", XSS), ("V2", "{{ 6*7 }}"), ("V3", "九村")]
    )
    page = open_page(html).page
    x, y = page.evaluate("geomap.pointOf('layer0', 0)")
    hover(page, x, y + 60)
    assert XSS in page.wait_for_selector(".leaflet-tooltip").inner_text()
    x, y = page.evaluate("geomap.pointOf('layer0', 1)")
    hover(page, x, y + 60)
    page.wait_for_function("document.querySelector('.leaflet-tooltip').textContent.includes('6*7')")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
