"""Pages show where a value comes from: an illustrative value (a split or placement the
report does not give) carries the mark （示意） in tooltips and popups, and a choropleth on
an illustrative split says so in its legend title; report figures carry no mark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_helpers import hover
from helpers import shipped_atlas

pytestmark = pytest.mark.browser
MARK = "（示意）"


@pytest.fixture(scope="module")
def xiping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("xiping")
    return shipped_atlas(root, render=("collective-economy", "key-projects", "--basemap", "none"))


def rows(page: Any, selector: str) -> dict[str, str]:
    """Label → value text of the record table inside ``selector``."""
    return page.evaluate(
        """sel => Object.fromEntries([...document.querySelectorAll(sel + ' tr')].map(
             tr => [tr.querySelector('th').textContent, tr.querySelector('td').textContent]))""",
        selector,
    )


def test_illustrative_split_is_marked_in_tooltip_popup_and_legend(xiping: Path, open_page) -> None:
    opened = open_page(xiping / "maps" / "collective-economy.html")
    page = opened.page
    assert opened.console_errors == []
    layer = page.evaluate(
        "Object.keys(geomap.layers).find(k => geomap.layers[k].data.layer === 'villages')"
    )
    fields = page.evaluate(f"geomap.layers['{layer}'].data.fields")
    assert {f["label"]: f["basis"] for f in fields}["名称"] == "report"
    x, y = page.evaluate(f"geomap.pointOf('{layer}', 0)")
    hover(page, x, y)
    page.wait_for_selector(".leaflet-tooltip .gm-tooltip")
    tip = rows(page, ".leaflet-tooltip .gm-tooltip")
    income = tip["2022年集体经济总收入"]
    assert income.endswith("万元" + MARK), income
    assert "名称" not in tip  # the heading names the village (the report's name, no mark)
    heading = page.inner_text(".leaflet-tooltip .gm-tooltip-title")
    assert heading and MARK not in heading
    mark = page.query_selector(".leaflet-tooltip .gm-basis")
    assert mark is not None and "示意" in (mark.get_attribute("title") or "")
    page.mouse.click(x, y)
    page.wait_for_selector(".leaflet-popup-content .gm-popup")
    popup = rows(page, ".leaflet-popup-content .gm-popup")
    assert popup["2022年经营性收入"].endswith(MARK)
    assert popup["类型"] == "行政村"  # derived from the report's words: no mark
    # The choropleth ranks villages on an illustrative split: its legend title says so.
    title = page.inner_text(f".gm-legend-section[data-layer='{layer}'] .gm-legend-title")
    assert title.endswith(MARK), title
    # The subdistrict outline (a single style) has no such mark.
    titles = page.locator(".gm-legend-title").all_inner_texts()
    assert sum(t.endswith(MARK) for t in titles) == 1
    # One short explanation of the mark, in the footer.
    assert "（示意）：该数值非报告原数" in page.inner_text(".gm-footer")


def test_report_words_are_not_marked(xiping: Path, open_page) -> None:
    page = open_page(xiping / "maps" / "key-projects.html").page
    layer = page.evaluate(
        "Object.keys(geomap.layers).find(k => geomap.layers[k].data.layer === 'key_projects')"
    )
    html = page.evaluate(
        f"""(() => {{ const e = geomap.layers['{layer}'];
             return geomap.lib.arbiter.tooltipContent(e.data, 0).outerHTML; }})()"""
    )
    assert "gm-basis" not in html  # category, status (derived) and the report's quotes
    legend = page.inner_text(f".gm-legend-section[data-layer='{layer}'] .gm-legend-title")
    assert not legend.endswith(MARK)
