"""Page chrome on the shipped maps: popups pan clear of the title box, labels never
overprint, the overview legend fits 1280x800 without scrolling, the footer folds on a
1024x640 screen, a single-style layer names itself once in the legend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_helpers import overlap
from helpers import shipped_atlas

pytestmark = pytest.mark.browser
MAPS = ("overview", "collective-economy")


@pytest.fixture(scope="module")
def xiping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("xiping-chrome")
    return shipped_atlas(root, render=MAPS)


def rect(page: Any, selector: str) -> dict[str, float]:
    return dict(page.locator(selector).first.bounding_box())


def test_popup_heading_is_never_under_the_title(xiping: Path, open_page) -> None:
    page = open_page(xiping / "maps" / "collective-economy.html").page
    lid = "layer1"
    names = page.evaluate(f"geomap.layers.{lid}.data.values[geomap.layers.{lid}.data.name]")
    # Every village, the northern ones (next to the title) included.
    for i, name in enumerate(names):
        page.evaluate("() => { geomap.map.closePopup(); }")
        page.wait_for_function("!document.querySelector('.leaflet-popup')")  # faded out
        page.locator("[data-geomap=home]").click()
        x, y = page.evaluate(f"geomap.pointOf('{lid}', {i})")
        page.mouse.click(x, y)
        heading = page.wait_for_selector(".leaflet-popup-content h3")
        assert heading.inner_text() == name
        page.wait_for_timeout(350)  # the pan animation
        title = rect(page, "[data-geomap=title]")
        box = dict(page.locator(".leaflet-popup-content h3").bounding_box())
        assert not overlap(box, title), (name, box, title)


def test_labels_do_not_overprint(xiping: Path, open_page) -> None:
    page = open_page(xiping / "maps" / "overview.html").page
    for dz in (0, 1):
        page.evaluate("dz => { geomap.map.setZoom(geomap.map.getZoom() + dz); }", dz)
        page.wait_for_timeout(300)
        boxes = page.evaluate(
            "[...document.querySelectorAll('.gm-label span')].map(s => {"
            " const r = s.getBoundingClientRect();"
            " return {x: r.x, y: r.y, width: r.width, height: r.height, t: s.textContent}; })"
        )
        assert boxes, "no labels at all"
        for k, a in enumerate(boxes):
            for b in boxes[k + 1 :]:
                assert not overlap(a, b), (a, b)


def test_legend_fits_and_folds(xiping: Path, open_page) -> None:
    page = open_page(xiping / "maps" / "overview.html").page
    fits = page.evaluate(
        "(() => { const l = document.querySelector('.gm-legend');"
        " const r = l.getBoundingClientRect();"
        " return [l.scrollHeight <= l.clientHeight + 1, r.top >= 0, r.bottom <= innerHeight]; })()"
    )
    assert fits == [True, True, True]
    # A folded section opens with a click on its title.
    titles = page.locator(".gm-legend-section button.gm-legend-title")
    assert titles.count() >= 1
    first = titles.first
    before = first.get_attribute("aria-expanded")
    first.click()
    assert first.get_attribute("aria-expanded") != before
    # The single-style outline layer names itself once (as its only item).
    single = page.locator(".gm-legend-section").first.inner_text()
    assert single.count(single.strip().split("\n")[0]) == 1


def test_footer_folds_on_a_small_screen(xiping: Path, open_page) -> None:
    page = open_page(xiping / "maps" / "overview.html").page
    big = rect(page, ".gm-footer")
    page.set_viewport_size({"width": 1024, "height": 640})
    page.reload()
    page.wait_for_function("window.geomap && window.geomap.ready === true")
    small = rect(page, ".gm-footer")
    assert small["height"] < 40 < big["height"]
    page.locator("[data-geomap=footer-toggle]").click()
    assert rect(page, ".gm-footer")["height"] > 40
