"""The tools planners work with on a rendered map: the year switch (shared class breaks,
tooltips and legend following the year, change views, a popup chart), legend filters and
facets, the list (清单) with sorting, zoom and a CSV download, measuring, the home button
and the basemap switch — on Leaflet and fast layers alike."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import sample_atlas
import tomli_w
from browser_helpers import hover
from helpers import run
from pyproj import Geod
from shapely.geometry import Point

pytestmark = pytest.mark.browser
INCOME = {"V1": (100.0, 120.0), "V2": (250.0, 200.0), "V3": (80.0, 180.0)}


def tools_atlas(root: Path, fast: bool) -> Path:
    sample_atlas.build(root)
    rows = "\n".join(f"{k},{a},{b}" for k, (a, b) in INCOME.items())
    sample_atlas.write(root / "data" / "income.csv", "code,inc_2021,inc_2022\n" + rows + "\n")
    col = {"unit": "万元", "type": "number", "indicator": "总收入"}
    sample_atlas.write(
        root / "data" / "income.toml",
        tomli_w.dumps(
            {
                "title": "收入",
                "key": "code",
                "columns": {
                    "code": {"label": "编码"},
                    "inc_2021": {"label": "2021年总收入", "year": 2021, **col},
                    "inc_2022": {"label": "2022年总收入", "year": 2022, **col},
                },
            }
        ),
    )
    # Sites: a status facet, a private contact, and names a spreadsheet would run.
    names = ['=HYPERLINK("x")', "+1 项目", "@SUM(A1)", "甲项目", "乙项目", "-2 项目"]
    sites = gpd.GeoDataFrame(
        {
            "code": [f"S{i}" for i in range(6)],
            "name": names,
            "status": ["在建", "完工", "在建", "计划", "完工", "在建"],
            "year": [2022, 2022, 2023, 2023, 2022, 2023],
            "contact": [f"1380000000{i}" for i in range(6)],
        },
        geometry=[
            Point(sample_atlas.X0 + 0.004 * (i + 1), sample_atlas.Y0 + 0.005) for i in range(6)
        ],
        crs="EPSG:4326",
    )
    sample_atlas.write_layer(
        root,
        "sites",
        sites,
        {
            "title": "项目",
            "kind": "point",
            "key": "code",
            "fields": {
                "name": {"label": "名称"},
                "status": {"label": "状态"},
                "year": {"label": "年份"},
                "contact": {"label": "联系电话", "private": True},
            },
        },
    )
    spec = {
        "title": "工具",
        "basemap": "amap",
        "layers": [
            {
                "layer": "villages",
                "fast": fast,
                "tooltip": ["name", "inc_2021", "inc_2022"],
                "join": {"table": "income", "on": "code"},
                "style": {
                    "type": "choropleth",
                    "column": "inc_2022",
                    "k": 3,
                    "scheme": "equal_interval",
                    "years": True,
                    "change": True,
                },
            },
            {
                "layer": "sites",
                "fast": fast,
                "tooltip": ["status", "year"],
                "facets": ["status", "year"],
                "style": {"type": "categorical", "column": "status", "radius": 6},
            },
        ],
    }
    (root / "maps" / "tools.toml").write_text(tomli_w.dumps(spec), encoding="utf-8")
    result = run(root, "render", "tools")
    assert result.exit_code == 0, result.output
    return root / "maps" / "tools.html"


def tooltip_at(page: Any, lid: str, i: int, dy: float = 0) -> str:
    x, y = page.evaluate("([id, i]) => geomap.pointOf(id, i)", [lid, i])
    page.mouse.move(5, 5)
    page.wait_for_timeout(80)
    hover(page, x, y + dy)
    return str(page.wait_for_selector(".leaflet-tooltip .gm-tooltip").inner_text())


@pytest.mark.parametrize("fast", [False, True])
def test_year_switch_keeps_breaks_and_follows_the_year(
    tmp_path: Path, open_page, fast: bool
) -> None:
    opened = open_page(tools_atlas(tmp_path / "atlas", fast))
    page = opened.page
    switch = page.locator("[data-geomap=year]")
    assert switch.evaluate("s => [...s.options].map(o => o.textContent)") == [
        "2021年",
        "2022年",
        "变化",
        "变化率",
    ]
    assert switch.input_value() == "1"  # the style's column, 2022, at open
    legend_2022 = page.locator(".gm-legend-section[data-layer=layer0]").inner_text()
    assert "2022年总收入" in legend_2022
    # The village tooltip shows the year's value only (V2: 200 in 2022, 250 in 2021).
    tip = tooltip_at(page, "layer0", 1, 40)
    assert "200 万元" in tip and "250" not in tip
    cls_2022 = page.evaluate("geomap.layers.layer0.data.cls")
    switch.select_option("0")
    legend_2021 = page.locator(".gm-legend-section[data-layer=layer0]").inner_text()
    assert "2021年总收入" in legend_2021
    # The same breaks in both years (equal intervals over 80..250), so colours compare.
    assert legend_2021.split("\n")[1:] == legend_2022.split("\n")[1:]
    cls_2021 = page.evaluate("geomap.layers.layer0.data.cls")
    assert cls_2021 == [0, 2, 0] and cls_2022 == [0, 2, 1], (cls_2021, cls_2022)
    tip = tooltip_at(page, "layer0", 1, 40)
    assert "250 万元" in tip and "200" not in tip
    # The change views: absolute (-50 for V2) and per cent (+125 % for V3), diverging.
    switch.select_option("2")
    tip = tooltip_at(page, "layer0", 1, 40)
    assert "-50 万元" in tip
    colors = page.evaluate("geomap.layers.layer0.data.styles.map(s => s.fillColor)")
    assert len(colors) == 6 and colors[0] != colors[-1]
    cls = page.evaluate("geomap.layers.layer0.data.cls")
    assert cls[1] < 3 <= cls[0] and cls[2] >= 3  # V2 fell, V1 and V3 rose
    switch.select_option("3")
    assert "125 %" in tooltip_at(page, "layer0", 2, 40)
    # A popup carries the chart of the indicator over the years, in inline SVG.
    x, y = page.evaluate("geomap.pointOf('layer0', 1)")
    page.mouse.click(x, y + 40)
    chart = page.wait_for_selector(".leaflet-popup-content .gm-chart svg")
    texts = chart.evaluate("s => [...s.querySelectorAll('text')].map(t => t.textContent)")
    assert "2021年" in texts and "2022年" in texts and "250" in texts and "200" in texts
    assert opened.console_errors == []


@pytest.mark.parametrize("fast", [False, True])
def test_legend_items_and_facets_filter_features_hits_and_list(
    tmp_path: Path, open_page, fast: bool
) -> None:
    page = open_page(tools_atlas(tmp_path / "atlas", fast)).page
    items = page.locator(".gm-legend-section[data-layer=layer1] [data-geomap=legend-item]")
    assert items.all_inner_texts() == ["在建", "完工", "计划"]
    page.locator("[data-geomap=list-toggle]").click()
    rows = page.locator("[data-geomap=list] [data-geomap-key]")
    assert rows.count() == 6
    # 在建 off: its three sites vanish from the list and from the hit test.
    items.nth(0).click()
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.geomapKey)")) == ["S1", "S3", "S4"]
    lat, lng = page.evaluate(
        "(() => { const p = geomap.anchorOf(geomap.layers.layer1, 0); return [p.lat, p.lng]; })()"
    )
    assert page.evaluate("([a, b]) => geomap.hitAt(a, b)", [lat, lng]) != ["layer1", 0]
    assert page.evaluate("([a, b]) => geomap.hitAt(a, b)", [lat, lng])[0] == "layer0"
    items.nth(0).click()
    assert rows.count() == 6
    assert page.evaluate("([a, b]) => geomap.hitAt(a, b)", [lat, lng]) == ["layer1", 0]
    # Facet: year 2023 off leaves the 2022 sites.
    page.locator("[data-geomap=facet][data-field=年份][data-value='2023']").click()
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.geomapKey)")) == ["S0", "S1", "S4"]
    # Sorting by 状态 (click the header), then a click on a row zooms and opens the popup.
    page.locator(".gm-list-header button", has_text="状态").click()
    statuses = rows.evaluate_all("rs => rs.map(r => r.children[1].textContent)")
    assert statuses == page.evaluate(
        "a => [...a].sort((x, y) => x.localeCompare(y, 'zh-CN', {numeric: true}))", statuses
    )
    assert len(set(statuses)) == 2
    zoom = page.evaluate("geomap.map.getZoom()")
    page.locator("[data-geomap=list] [data-geomap-key=S4]").click()
    popup = page.wait_for_selector(".leaflet-popup-content").inner_text()
    assert "乙项目" in popup and page.evaluate("geomap.map.getZoom()") > zoom


def test_list_csv_is_excel_ready_safe_and_public(tmp_path: Path, open_page) -> None:
    page = open_page(tools_atlas(tmp_path / "atlas", False)).page
    page.locator("[data-geomap=list-toggle]").click()
    with page.expect_download() as info:
        page.locator("[data-geomap=list-csv]").click()
    raw = Path(info.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the Chinese
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == ["名称", "状态", "年份"]
    names = [r[0] for r in table[1:]]
    assert '\'=HYPERLINK("x")' in names and "'+1 项目" in names and "'@SUM(A1)" in names
    assert "'-2 项目" in names and "甲项目" in names
    assert not any(c[:1] in "=+-@" for r in table[1:] for c in r)
    assert b"1380000000" not in raw  # the private field never reaches the page
    assert b"1380000000" not in (tmp_path / "atlas" / "maps" / "tools.html").read_bytes()


def test_measure_home_and_basemap(tmp_path: Path, open_page) -> None:
    opened = open_page(tools_atlas(tmp_path / "atlas", True))
    page = opened.page
    start = page.evaluate("[geomap.map.getZoom(), geomap.map.getCenter().lat]")
    # The opening view fits the layers, not these corners: show them.
    page.evaluate("() => { geomap.map.setView([28.4485, 119.47], 15, {animate: false}); }")
    page.locator("[data-geomap=measure]").click()
    corners = [(119.465, 28.445), (119.475, 28.445), (119.475, 28.452)]
    for lon, lat in corners:
        x, y = page.evaluate(
            "([a, b]) => { const p = geomap.map.latLngToContainerPoint([a, b]);"
            " const r = geomap.map.getContainer().getBoundingClientRect();"
            " return [r.left + p.x, r.top + p.y]; }",
            [lat, lon],
        )
        page.mouse.click(x, y)
    assert page.locator(".leaflet-popup").count() == 0  # measuring clicks open no popups
    # The page's own geodesic figures equal pyproj's for the points it received.
    pts = page.evaluate(
        "(() => { const ls = []; geomap.map.eachLayer(l => { if (l instanceof L.Polygon &&"
        " l.getLatLngs()[0] && l.getLatLngs()[0].length === 3) ls.push(l.getLatLngs()[0]"
        ".map(p => [p.lat, p.lng])); }); return ls[0]; })()"
    )
    geod = Geod(ellps="WGS84")
    lats, lons = [p[0] for p in pts], [p[1] for p in pts]
    dist = sum(geod.inv(lons[k], lats[k], lons[k + 1], lats[k + 1])[2] for k in range(2))
    area = abs(geod.polygon_area_perimeter(lons, lats)[0])
    text = page.inner_text("[data-geomap=measure-result]")
    shown_km = float(text.split("距离：")[1].split(" km")[0])
    assert math.isclose(shown_km, dist / 1000, abs_tol=0.005), (text, dist)
    mu = float(text.split("面积：")[1].split(" 亩")[0].replace(",", ""))
    assert math.isclose(mu, area / (10000 / 15), rel_tol=1e-4), (text, area)
    js_area = page.evaluate(
        "pts => geomap.lib.measure.area(pts.map(p => L.latLng(p[0], p[1])))", pts
    )
    assert math.isclose(js_area, area, rel_tol=1e-5), (js_area, area)
    page.locator("[data-geomap=measure]").click()
    # Home: back to the opening view after a zoom.
    page.evaluate("() => { geomap.map.setView([28.5, 119.6], 16, {animate: false}); }")
    page.locator("[data-geomap=home]").click()
    assert page.evaluate("[geomap.map.getZoom(), geomap.map.getCenter().lat]") == start
    # Basemap switch: 无底图 removes the tiles, choosing the basemap brings them back.
    sw = page.locator("[data-geomap=basemap]")
    assert "无底图" in sw.inner_text()
    sw.select_option("none")
    assert page.locator(".leaflet-tile-pane img").count() == 0
    sw.select_option("0")
    page.wait_for_function("document.querySelectorAll('.leaflet-tile-pane img').length > 0")
    assert opened.console_errors == []
