"""The client is split into files by concern but stays one script with one global.

(Named test_render_* so it runs after test_export.py: a live Playwright session in the same
process breaks export's sync API.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run

pytestmark = pytest.mark.browser

# What a page holding only Leaflet and leaflet.markercluster adds to window, measured once
# in the same browser (so browser-specific globals do not count).
BASELINE = """
async () => {
  const frame = document.createElement("iframe");
  frame.srcdoc = "<html><body></body></html>";
  document.body.appendChild(frame);
  await new Promise((resolve) => frame.addEventListener("load", resolve));
  const keys = Object.keys(frame.contentWindow);
  frame.remove();
  return keys;
}
"""


def test_the_page_adds_one_global_besides_leaflet(sample: Path, open_page) -> None:
    assert run(sample, "render", "grid").exit_code == 0
    opened = open_page(sample / "maps" / "grid.html")
    page = opened.page
    blank = set(page.evaluate(BASELINE))
    added = set(page.evaluate("Object.keys(window)")) - blank
    # Leaflet's own: its namespace L, its UMD name, the store of events bound to window.
    assert added - {"L", "leaflet", "_leaflet_events"} == {"geomap"}, added
    modules = page.evaluate("Object.keys(window.geomap.lib).sort()")
    for name in ("dom", "FastLayer", "arbiter", "legend", "layers", "search", "chrome"):
        assert name in modules
    assert opened.console_errors == []
