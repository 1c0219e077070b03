"""The shipped Xiping maps use the page tools (issue 14, point 9): the housing map opens on
the 66 hazard houses and lists them with their outcomes; key projects filter by status and
year; collective economy has a 2021/2022 switch and change views."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import hover, overlap
from helpers import shipped_atlas

pytestmark = pytest.mark.browser
MAPS = ("housing-safety", "key-projects", "collective-economy")


@pytest.fixture(scope="module")
def xiping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("xiping-tools")
    return shipped_atlas(root, render=MAPS)


def test_housing_map_lists_the_66_hazard_houses_with_outcomes(xiping: Path, open_page) -> None:
    opened = open_page(xiping / "maps" / "housing-safety.html")
    page = opened.page
    assert page.locator("[data-geomap=title]").inner_text().startswith("农房安全")
    page.locator("[data-geomap=list-toggle]").click()
    rows = page.locator("[data-geomap=list] [data-geomap-key]")
    assert rows.count() == 66
    header = page.locator(".gm-list-header").inner_text()
    assert "一户一策整治" in header and "排查结果" in header
    outcomes = rows.evaluate_all("rs => rs.map(r => r.children[2].textContent)")
    assert outcomes.count("腾空") == 26 and outcomes.count("修缮加固") == 8
    assert outcomes.count("日常治理") == 10
    # The outcome chips: houses without an outcome are （无）, last, never read as 未填 (missing).
    chips = page.locator("[data-geomap=facet][data-field*=一户一策整治]")
    texts = chips.evaluate_all("cs => cs.map(c => c.textContent)")
    assert texts[-1] == "（无） 11327" and not any("未填" in t for t in texts), texts
    assert sum(int(t.rsplit(" ", 1)[1]) for t in texts) == 11393
    # The houses without hazards are one legend click away.
    clear = page.locator("[data-geomap=legend-item]", has_text="未查出隐患")
    assert clear.get_attribute("aria-pressed") == "false"
    clear.click()
    page.wait_for_function("document.querySelector('.gm-list-title').textContent.includes('11393')")
    assert opened.console_errors == []


def test_key_projects_filter_by_status_and_year(xiping: Path, open_page) -> None:
    page = open_page(xiping / "maps" / "key-projects.html").page
    chips = page.locator("[data-geomap=facet]")
    fields = set(chips.evaluate_all("cs => cs.map(c => c.dataset.field)"))
    assert any("状态" in f for f in fields) and "年份" in fields
    page.locator("[data-geomap=list-toggle]").click()
    rows = page.locator("[data-geomap=list] [data-geomap-key]")
    before = rows.count()
    top = page.evaluate(
        "geomap.layerList.filter(e => geomap.map.hasLayer(e.host)).pop().data.id"
    )  # the list shows the topmost layer: filter that one
    year = page.locator(f".gm-facet[data-layer={top}] [data-geomap=facet][data-field=年份]").first
    year.click()
    assert 0 <= rows.count() < before
    year.click()
    assert rows.count() == before


def test_status_chips_follow_the_legend(xiping: Path, open_page) -> None:
    """Chips of the styled field (状态) read in the legend's order (在建 before 计划, as
    the colours are listed), not alphabetically; other fields' chips (年份) by value."""
    page = open_page(xiping / "maps" / "key-projects.html").page
    for layer in ("key_projects", "lines"):
        lid = page.evaluate(f"geomap.layerList.find(e => e.data.layer === '{layer}').data.id")
        legend = page.locator(
            f".gm-legend-section[data-layer={lid}] [data-geomap=legend-item]"
        ).evaluate_all("rs => rs.map(r => r.textContent)")
        group = page.locator(f".gm-facet[data-layer={lid}]")
        status = group.locator("[data-geomap=facet][data-field*=状态]").evaluate_all(
            "cs => cs.map(c => c.dataset.value)"
        )
        assert len(status) >= 3 and set(status) <= set(legend), (status, legend)
        assert status == [v for v in legend if v in status], (layer, status, legend)
        years = group.locator("[data-geomap=facet][data-field=年份]").evaluate_all(
            "cs => cs.map(c => c.dataset.value)"
        )
        assert years == ["2022", "2023"], years


def test_popup_and_tooltip_do_not_repeat_the_name(xiping: Path, open_page) -> None:
    """A village's popup once listed 名称 九村 and 村名 九村 under the heading 九村: a field
    whose value is the heading is left out; every other field stays."""
    opened = open_page(xiping / "maps" / "collective-economy.html")
    page = opened.page
    lid = page.evaluate("geomap.layerList.find(e => e.data.layer === 'villages').data.id")
    x, y = page.evaluate(f"geomap.pointOf('{lid}', 3)")
    hover(page, x, y)
    tip = page.locator(".gm-tooltip")
    name = tip.locator(".gm-tooltip-title").inner_text()
    cells = tip.locator(".gm-record td").evaluate_all("tds => tds.map(td => td.textContent)")
    assert name and cells and name not in cells, (name, cells)
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    assert popup.locator("h3").inner_text() == name
    labels = popup.locator(".gm-record th").evaluate_all("ths => ths.map(th => th.textContent)")
    cells = popup.locator(".gm-record td").evaluate_all("tds => tds.map(td => td.textContent)")
    assert name not in cells and "名称" not in labels and "村名" not in labels, labels
    fields = page.evaluate(
        f"(() => {{ const ld = geomap.layers.{lid}.data;"
        " return ld.popup.map(f => ld.fields[f].label); })()"
    )
    assert "名称" in fields and "村名" in fields  # the spec shows them: left out as repeats
    assert labels == [f for f in fields if f not in ("名称", "村名")]
    # No village's popup repeats its heading.
    repeats = page.evaluate(
        f"(() => {{ const ld = geomap.layers.{lid}.data; let n = 0;"
        " for (let i = 0; i < ld.cls.length; i++) {"
        "   const box = geomap.lib.arbiter.popupContent(ld, i);"
        "   const h = box.querySelector('h3').textContent;"
        "   for (const td of box.querySelectorAll('td')) if (td.textContent === h) n++; }"
        " return n; })()"
    )
    assert repeats == 0
    assert opened.console_errors == []


def test_collective_economy_switches_years_and_shows_change(xiping: Path, open_page) -> None:
    page = open_page(xiping / "maps" / "collective-economy.html").page
    switch = page.locator("[data-geomap=year]")
    years = switch.evaluate("s => [...s.options].map(o => o.dataset.year || o.textContent)")
    assert years == ["2021", "2022", "变化", "变化率"]
    legend = page.locator(".gm-legend-section[data-layer=layer1]")
    assert "2022年" in legend.inner_text()
    switch.select_option(label="2021年")
    assert "2021年" in legend.inner_text()
    switch.select_option(label="变化")
    assert "变化" in legend.inner_text() and "+" in legend.inner_text()


# Every panel over the map: Leaflet controls (zoom, search, facet chips, tools, layers,
# legend, footer, scale) and geomap's boxes (title, list, measure).
PANELS_JS = """() => [...document.querySelectorAll(
    '.leaflet-control, [data-geomap=title], [data-geomap=list], .gm-measure-result')]
  .map(e => { const r = e.getBoundingClientRect();
              return {name: e.className, x: r.x, y: r.y, width: r.width, height: r.height}; })
  .filter(r => r.width > 0 && r.height > 0)"""


def test_popup_from_the_list_pans_clear_of_every_panel(xiping: Path, open_page) -> None:
    """Issue 14: 清单 → the first row (H00035, next to the facet chips at the top left)
    opens a popup whose heading is under no panel once the map has panned."""
    opened = open_page(xiping / "maps" / "housing-safety.html")
    page = opened.page
    page.locator("[data-geomap=list-toggle]").click()
    first = page.locator("[data-geomap=list] [data-geomap-key]").first
    key = first.get_attribute("data-geomap-key")
    assert key == "H00035"
    first.click()
    heading = page.locator(".leaflet-popup-content h3")
    assert heading.inner_text() == key
    page.wait_for_timeout(400)  # the pan animation (0.25 s)
    box = dict(heading.bounding_box())
    panels = page.evaluate(PANELS_JS)
    names = " ".join(p["name"] for p in panels)
    assert all(n in names for n in ("gm-facets", "gm-header", "gm-list", "gm-legend")), names
    assert [p for p in panels if overlap(box, p)] == [], box
    assert opened.console_errors == []


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1024, 640)])
def test_a_long_popup_is_readable_inside_the_map(
    xiping: Path, open_page, width: int, height: int
) -> None:
    """九村's collective-economy popup (18 fields, labels such as
    2021–2022年集体经济总收入变化率, and a chart): its values get a readable column rather
    than a few characters per line, and the popup fits inside the map (its record scrolls),
    clear of every panel."""
    page = open_page(xiping / "maps" / "collective-economy.html", size=(width, height)).page
    page.locator(".gm-search input").fill("九村")
    page.locator(".gm-search-results li").first.click()
    popup = page.locator(".leaflet-popup")
    assert popup.locator("h3").inner_text() == "九村"
    page.wait_for_timeout(400)  # the pan animation (0.25 s)
    widths = popup.locator(".gm-record td").evaluate_all(
        "tds => tds.map(td => td.getBoundingClientRect().width)"
    )
    assert min(widths) >= 120, widths  # about eight characters, not three
    box = dict(popup.bounding_box())
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, box
    panels = page.evaluate(PANELS_JS)
    assert [p["name"] for p in panels if overlap(box, p)] == [], box


def test_popup_from_the_list_on_a_small_screen_meets_no_panel(xiping: Path, open_page) -> None:
    """At 1024×640 with 清单 open the legend moves beside the list, into the middle of the
    map: a house's popup opened from the list once lay under the legend, its fields hidden.
    It now shortens (its record scrolls) until a place clear of every panel holds it."""
    page = open_page(xiping / "maps" / "housing-safety.html", size=(1024, 640)).page
    page.locator("[data-geomap=list-toggle]").click()
    row = page.locator("[data-geomap=list] [data-geomap-key]").nth(2)
    key = row.get_attribute("data-geomap-key")
    row.click()
    popup = page.locator(".leaflet-popup")
    assert popup.locator("h3").inner_text() == key
    page.wait_for_timeout(400)  # the pan animation (0.25 s)
    box = dict(popup.bounding_box())
    assert box["y"] >= 0 and box["y"] + box["height"] <= 640 and box["x"] >= 0, box
    panels = page.evaluate(PANELS_JS)
    assert [p["name"] for p in panels if overlap(box, p)] == [], box
    # Every field is still there, reachable by scrolling the shortened record (9 fields
    # but 编码, which the heading shows).
    assert popup.locator(".gm-record tr").count() == 8


def test_measure_result_covers_no_panel(xiping: Path, open_page) -> None:
    """The measuring box (距离/面积) once sat over the unfolded footer at 1280×800, hiding
    its sources and notes; it now stacks above the footer and the scale bar."""
    page = open_page(xiping / "maps" / "collective-economy.html").page
    footer = page.locator(".gm-footer")
    assert "gm-folded" not in (footer.get_attribute("class") or "")
    page.locator("[data-geomap=measure]").click()
    for x, y in ((500, 300), (700, 300), (700, 500)):
        page.mouse.click(x, y)
    result = page.locator("[data-geomap=measure-result]")
    assert "面积" in result.inner_text() and "亩" in result.inner_text()
    box = dict(result.bounding_box())
    others = [p for p in page.evaluate(PANELS_JS) if "gm-measure-result" not in p["name"]]
    assert [p["name"] for p in others if overlap(box, p)] == [], box


def test_measuring_starts_with_no_popup_in_the_way(xiping: Path, open_page) -> None:
    """A popup left open took the first measuring clicks (距离 0.0 m after three clicks over
    it); 测量 now closes it, so every click adds a point."""
    page = open_page(xiping / "maps" / "collective-economy.html").page
    page.locator(".gm-search input").fill("九村")
    page.locator(".gm-search input").press("Enter")
    popup = page.locator(".leaflet-popup")
    assert popup.count() == 1
    box = popup.bounding_box()
    page.locator("[data-geomap=measure]").click()
    page.wait_for_timeout(300)  # Leaflet fades a closed popup out over 0.2 s
    assert popup.count() == 0
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-60, -40), (60, -40), (60, 40)):
        page.mouse.click(cx + dx, cy + dy)
    text = page.inner_text("[data-geomap=measure-result]")
    assert "面积" in text and "0.0 m" not in text, text
