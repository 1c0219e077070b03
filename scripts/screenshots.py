"""Screenshots of the Xiping maps for the README (docs/screenshots/<map>.png).

Renders each map with ``--basemap none`` into a temporary copy of the atlas (no tiles can
load on the machines that build the docs) and captures it in headless Chromium at
1280×800. Run: ``python scripts/screenshots.py [MAP …]``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from geomap.atlas import Atlas
from geomap.export import CHROMIUM_ARGS, find_chromium
from geomap.render import RenderOptions, render_map

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"


def main(names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for sub in ("layers", "data", "maps"):
            shutil.copytree(REPO / sub, root / sub, ignore=shutil.ignore_patterns("*.html"))
        atlas = Atlas(root)
        names = names or atlas.map_names()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            for name in names:
                result = render_map(atlas, name, RenderOptions(basemap="none", force=True))
                page.goto(result.path.as_uri())
                page.wait_for_function("window.geomap && window.geomap.ready === true")
                page.wait_for_timeout(300)
                page.screenshot(path=str(OUT / f"{name}.png"))
                print(OUT / f"{name}.png")
            browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
