"""The opening view (page start and the ⌂ button) on every shipped map: the subdistrict
fits in the part of the map no panel covers. At 1024×640 the legend once covered its east
edge on three maps, and at 1600×900 on eight."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import overlap
from helpers import shipped_atlas

from geomap.atlas import Atlas

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
MAPS = Atlas(REPO).map_names()

# The subdistrict's bounds and the panels a planner would lose it under, in page pixels.
VIEW_JS = """() => {
  const m = geomap.map, sub = geomap.layerList.find(e => e.data.layer === 'subdistrict');
  const b = sub.geo.getBounds(), o = m.getContainer().getBoundingClientRect();
  const nw = m.latLngToContainerPoint(b.getNorthWest());
  const se = m.latLngToContainerPoint(b.getSouthEast());
  const box = e => { const r = e.getBoundingClientRect();
                     return {x: r.x, y: r.y, width: r.width, height: r.height}; };
  const panels = {};
  for (const sel of ['.gm-legend', '[data-geomap=title]', '.leaflet-control-layers',
                     '.gm-facets', '.gm-tools', '.gm-footer'])
    for (const e of document.querySelectorAll(sel)) panels[sel] = box(e);
  return {zoom: m.getZoom(), panels,
          map: box(m.getContainer()),
          sub: {x: o.x + nw.x, y: o.y + nw.y, width: se.x - nw.x, height: se.y - nw.y}};
}"""


@pytest.fixture(scope="module")
def xiping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shipped_atlas(tmp_path_factory.mktemp("xiping-view"), render=MAPS)


@pytest.mark.parametrize("size", [(1024, 640), (1600, 900)])
def test_subdistrict_opens_clear_of_the_legend_and_panels(
    xiping: Path, open_page, size: tuple[int, int]
) -> None:
    for name in MAPS:
        opened = open_page(xiping / "maps" / f"{name}.html", size=size)
        page = opened.page
        view = page.evaluate(VIEW_JS)
        sub, frame = view["sub"], view["map"]
        assert sub["x"] >= frame["x"] and sub["y"] >= frame["y"], (name, view)
        assert sub["x"] + sub["width"] <= frame["x"] + frame["width"], (name, view)
        assert sub["y"] + sub["height"] <= frame["y"] + frame["height"], (name, view)
        assert ".gm-legend" in view["panels"], name
        covered = [k for k, p in view["panels"].items() if p["width"] and overlap(sub, p)]
        assert covered == [], (name, size, covered, view)
        # Not clear by being tiny: the subdistrict spans a third of the map's width or more
        # (41 % on key-projects at 1024×640, beside its four facet groups; 44–58 % elsewhere).
        assert sub["width"] >= frame["width"] / 3, (name, view)
        # ⌂ returns to the same view after a zoom and a pan.
        page.evaluate("() => { geomap.map.setView([28.45, 119.5], 15, {animate: false}); }")
        page.locator("[data-geomap=home]").click()
        again = page.evaluate(VIEW_JS)
        assert again["zoom"] == view["zoom"], name
        assert again["sub"] == pytest.approx(sub, abs=1), name  # within a pixel
        assert opened.console_errors == [], name
        page.close()
