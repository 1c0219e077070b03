"""Rendered maps in headless Chromium: drawn features, tooltips, legends, search, escaping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import sample_atlas
from browser_helpers import hover
from helpers import run

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=window.__pwned=1>"
JINJA = "{{ 6*7 }}"


@pytest.fixture
def rendered(sample: Path) -> Path:
    result = run(sample, "render")
    assert result.exit_code == 0, result.output
    return sample


def layer_counts(page: Any) -> dict[str, int]:
    return page.evaluate(
        "Object.fromEntries(Object.values(geomap.layers).map(e => [e.data.layer, e.count]))"
    )


@pytest.mark.parametrize("name", ["economy", "grid", "minimal"])
def test_every_map_loads_clean_and_draws_every_feature(rendered: Path, open_page, name) -> None:
    opened = open_page(rendered / "maps" / f"{name}.html")
    assert opened.console_errors == []
    assert opened.failed_requests == []
    counts = layer_counts(opened.page)
    for layer, drawn in counts.items():
        n = len(gpd.read_file(rendered / "layers" / f"{layer}.geojson"))
        assert drawn == n, (layer, drawn, n)
    assert opened.page.title() == opened.page.evaluate(
        "document.querySelector('.gm-header h1').textContent"
    )
    # The footer names the sources and says the data is illustrative.
    footer = opened.page.inner_text(".gm-footer")
    assert "资料来源" in footer and "示意数据" in footer
    # A scale bar in metres.
    assert "m" in opened.page.inner_text(".leaflet-control-scale")


def test_hover_shows_chinese_label_value_and_unit(rendered: Path, open_page) -> None:
    page = open_page(rendered / "maps" / "economy.html").page
    x, y = page.evaluate("geomap.pointOf('layer0', 1)")
    hover(page, x, y)
    tip = page.wait_for_selector(".leaflet-tooltip .gm-tooltip")
    text = tip.inner_text()
    assert "六村" in text
    assert "2022年集体经济总收入" in text
    assert "250.25 万元" in text


def test_click_opens_popup_with_full_record(rendered: Path, open_page) -> None:
    page = open_page(rendered / "maps" / "economy.html").page
    x, y = page.evaluate("geomap.pointOf('layer0', 2)")
    page.mouse.click(x, y)
    popup = page.wait_for_selector(".leaflet-popup-content .gm-popup").inner_text()
    for needle in ("九村", "户数", "210 户", "村编码", "V3", "增幅"):
        assert needle in popup, needle


def test_unticking_a_layer_hides_its_legend(rendered: Path, open_page) -> None:
    page = open_page(rendered / "maps" / "economy.html").page
    legend = page.locator(".gm-legend-section[data-layer=layer0]")
    assert legend.is_visible()
    assert "2022年集体经济总收入（万元）" in legend.inner_text()
    checkbox = page.locator(".leaflet-control-layers-overlays label", has_text="行政村").locator(
        "input"
    )
    checkbox.uncheck()
    assert not legend.is_visible()
    checkbox.check()
    assert legend.is_visible()


def test_choropleth_legend_shows_class_bounds_with_units(rendered: Path, open_page) -> None:
    page = open_page(rendered / "maps" / "economy.html").page
    rows = page.locator(".gm-legend-section[data-layer=layer0] .gm-legend-label").all_inner_texts()
    assert len(rows) == 3
    assert rows[0].startswith("80") and rows[-1].endswith("250.25 万元")


def test_search_finds_feature_by_name(rendered: Path, open_page) -> None:
    page = open_page(rendered / "maps" / "grid.html").page
    page.fill(".gm-search input", "九村")
    results = page.locator(".gm-search-results li").all_inner_texts()
    assert any("九村" in r for r in results)
    page.locator(".gm-search-results li").first.click()
    page.wait_for_selector(".leaflet-popup-content")
    assert "九村" in page.inner_text(".leaflet-popup-content")


def test_search_enter_chooses_the_first_result_and_closes_the_list(
    rendered: Path, open_page
) -> None:
    """A planner types a name and presses Enter: the first result opens, and the result list
    closes so it no longer covers the map (the name stays in the box)."""
    page = open_page(rendered / "maps" / "grid.html").page
    page.fill(".gm-search input", "九村")
    first = page.locator(".gm-search-results li").first.inner_text()
    page.press(".gm-search input", "Enter")
    page.wait_for_selector(".leaflet-popup-content")
    assert page.inner_text(".leaflet-popup-content h3") in first
    assert page.locator(".gm-search-results li").count() == 0
    assert page.input_value(".gm-search input") == "九村"
    page.fill(".gm-search input", "不存在的地名")
    page.press(".gm-search input", "Enter")  # 未找到: Enter does nothing
    assert page.locator(".gm-search-results li").all_inner_texts() == ["未找到"]
    page.fill(".gm-search input", "九村")
    page.locator(".gm-search-results li").first.click()
    assert page.locator(".gm-search-results li").count() == 0
    page.wait_for_timeout(300)  # the click that closed the list must not close the popup
    assert "九村" in page.inner_text(".leaflet-popup-content h3")


def test_polygon_names_are_labelled_when_they_fit(rendered: Path, open_page) -> None:
    page = open_page(rendered / "maps" / "minimal.html").page
    labels = page.locator(".gm-label").all_inner_texts()
    assert sorted(labels) == sorted(n for _, n in sample_atlas.VILLAGES)
    page.evaluate("geomap.map.setZoom(9)")
    page.wait_for_timeout(400)
    assert page.locator(".gm-label").count() == 0


def test_rollup_values_reach_the_tooltip(rendered: Path, open_page) -> None:
    page = open_page(rendered / "maps" / "grid.html").page
    data = page.evaluate(
        "(() => { const d = geomap.layers.layer0.data;"
        " const h = d.fields.findIndex(f => f.label === '农房数量');"
        " const z = d.fields.findIndex(f => f.label === '存在隐患合计');"
        " return d.values[h].map((v, i) => [v, d.values[z][i]]); })()"
    )
    # Hand count from sample_atlas.HOUSES: the border house counts once, in V1.
    assert data == [[4, 3], [2, 1], [1, 0]]


def test_hostile_values_show_as_text_and_run_nothing(tmp_path: Path, open_page) -> None:
    root = sample_atlas.build(
        tmp_path / "atlas",
        village_names=[
            ("V1", XSS),
            ("V2", JINJA),
            ("V3", "</script><script>window.__pwned=2</script>"),
        ],
        income={"V1": "100", "V2": "200", "V3": "300"},
    )
    # A hostile category value reaches the legend too.
    roads = root / "layers" / "roads.geojson"
    roads.write_text(roads.read_text(encoding="utf-8").replace("在建", XSS), encoding="utf-8")
    assert run(root, "render").exit_code == 0
    page_path = root / "maps" / "economy.html"
    raw = page_path.read_text(encoding="utf-8")
    assert JINJA in raw  # kept literally: never evaluated as a template
    opened = open_page(page_path)
    page = opened.page
    assert opened.console_errors == []
    x, y = page.evaluate("geomap.pointOf('layer0', 0)")
    hover(page, x, y)
    assert XSS in page.wait_for_selector(".leaflet-tooltip").inner_text()
    x, y = page.evaluate("geomap.pointOf('layer0', 1)")
    page.mouse.click(x, y)
    assert JINJA in page.wait_for_selector(".leaflet-popup-content").inner_text()
    assert XSS in page.inner_text(".gm-legend")
    page.fill(".gm-search input", "script")
    assert "</script>" in page.inner_text(".gm-search-results")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0


@pytest.mark.parametrize("fast", [False, True])
def test_only_the_topmost_feature_gets_the_tooltip_and_popup(
    tmp_path: Path, open_page, fast: bool
) -> None:
    """A house drawn over its village: one tooltip and one popup, the house's."""
    root = sample_atlas.build(tmp_path / "atlas")
    (root / "maps" / "stack.toml").write_text(
        'title = "叠加"\nbasemap = "none"\n'
        '[[layers]]\nlayer = "villages"\n'
        f'[[layers]]\nlayer = "houses"\nfast = {str(fast).lower()}\n'
        'style = { type = "single", radius = 8 }\n',
        encoding="utf-8",
    )
    assert run(root, "render", "stack").exit_code == 0
    page = open_page(root / "maps" / "stack.html").page
    x, y = page.evaluate("geomap.pointOf('layer1', 0)")
    hover(page, x, y)
    page.wait_for_selector(".leaflet-tooltip .gm-tooltip")
    tips = page.locator(".leaflet-tooltip").all_inner_texts()
    assert len(tips) == 1 and "房屋0" in tips[0], tips
    # Away from the house, inside the village: the village's tooltip replaces it.
    hover(page, x + 40, y + 40)
    page.wait_for_function(
        "document.querySelectorAll('.leaflet-tooltip').length === 1 &&"
        " document.querySelector('.leaflet-tooltip').textContent.includes('西一村')"
    )
    page.mouse.click(x, y)
    popup = page.wait_for_selector(".leaflet-popup-content").inner_text()
    assert "房屋0" in popup and page.locator(".leaflet-popup").count() == 1


def test_clustered_points_load_and_clusters_are_not_features(tmp_path: Path, open_page) -> None:
    root = sample_atlas.build(tmp_path / "atlas")
    (root / "maps" / "cluster.toml").write_text(
        'title = "聚合"\nbasemap = "none"\n[[layers]]\nlayer = "houses"\ncluster = true\n',
        encoding="utf-8",
    )
    assert run(root, "render", "cluster").exit_code == 0
    html = (root / "maps" / "cluster.html").read_text(encoding="utf-8")
    assert "markerClusterGroup" in html  # the vendored plugin is inlined
    opened = open_page(root / "maps" / "cluster.html")
    page = opened.page
    assert page.evaluate("geomap.layers.layer0.count") == len(sample_atlas.HOUSES)
    page.evaluate("geomap.map.setZoom(12, {animate: false})")
    icon = page.locator(".marker-cluster").first
    icon.wait_for()
    icon.click()  # zooms in; a cluster is not a feature, so no popup and no error
    page.wait_for_timeout(500)
    assert page.locator(".leaflet-popup").count() == 0
    assert opened.console_errors == []
