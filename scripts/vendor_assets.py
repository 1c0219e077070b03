"""Refresh the browser assets vendored under geomap/assets/ from their packages.

Leaflet comes from the PyPI package ``xstatic-leaflet`` (the version folium 0.20 uses);
leaflet.markercluster from the npm registry at the version folium pins; pmtiles and
protomaps-leaflet (vector tiles, geomap/tiles.py) from the npm registry. Licences are kept
beside each copy. Run: ``python scripts/vendor_assets.py`` (needs ``pip install
xstatic-leaflet`` and ``npm``).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "geomap" / "assets"
LEAFLET_VERSION = "1.9.3"
MARKERCLUSTER_VERSION = "1.1.0"
PMTILES_VERSION = "4.5.0"
PROTOMAPS_LEAFLET_VERSION = "5.1.0"
# The npm tarball of pmtiles has no LICENSE file; its package.json says BSD-3-Clause and the
# repository's LICENSE names this holder.
BSD3 = """Copyright {holder}

Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions and the following disclaimer in the documentation and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or promote products derived from this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""
# protomaps-leaflet's package.json dependencies, which its browser build bundles where used,
# with their licences as the npm registry states them.
PROTOMAPS_BUNDLED = (
    "pmtiles (BSD-3-Clause, Protomaps LLC)",
    "@mapbox/point-geometry (ISC, Mapbox)",
    "@mapbox/vector-tile (BSD-3-Clause, Mapbox)",
    "pbf (BSD-3-Clause, Mapbox)",
    "rbush (MIT, Vladimir Agafonkin) and quickselect (ISC, Vladimir Agafonkin)",
    "potpack (ISC, Mapbox)",
    "color2k (MIT, Rico Kahler)",
    "@protomaps/basemaps (BSD-3-Clause, Protomaps LLC)",
)


def vendor_leaflet() -> None:
    import xstatic.pkg.leaflet as xs

    if xs.VERSION != LEAFLET_VERSION:
        raise SystemExit(f"xstatic-leaflet has {xs.VERSION}, expected {LEAFLET_VERSION}")
    src = Path(xs.BASE_DIR)
    dest = ASSETS / "leaflet"
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "images").mkdir(parents=True)
    for name in ("leaflet.js", "leaflet.css"):
        shutil.copy(src / name, dest / name)
    for image in sorted((src / "images").iterdir()):
        shutil.copy(image, dest / "images" / image.name)
    npm_extract("leaflet", LEAFLET_VERSION, {"package/LICENSE": dest / "LICENSE"})
    (dest / "VERSION").write_text(f"leaflet {LEAFLET_VERSION} from PyPI xstatic-leaflet\n")


def npm_extract(package: str, version: str, members: dict[str, Path]) -> None:
    """Fetch ``package@version`` with ``npm pack`` and copy the named tarball members."""
    with tempfile.TemporaryDirectory() as tmp:
        out = (
            subprocess.run(
                ["npm", "pack", f"{package}@{version}", "--silent"],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        with tarfile.open(Path(tmp) / out) as tar:
            for member, target in members.items():
                fh = tar.extractfile(member)
                if fh is None:
                    raise SystemExit(f"{package}: {member} missing")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(fh.read())


def vendor_markercluster() -> None:
    dest = ASSETS / "markercluster"
    if dest.exists():
        shutil.rmtree(dest)
    npm_extract(
        "leaflet.markercluster",
        MARKERCLUSTER_VERSION,
        {
            "package/dist/leaflet.markercluster.js": dest / "leaflet.markercluster.js",
            "package/dist/MarkerCluster.css": dest / "MarkerCluster.css",
            "package/dist/MarkerCluster.Default.css": dest / "MarkerCluster.Default.css",
            "package/MIT-LICENCE.txt": dest / "LICENSE",
        },
    )
    (dest / "VERSION").write_text(
        f"leaflet.markercluster {MARKERCLUSTER_VERSION} from the npm registry\n"
    )


def vendor_tiles() -> None:
    """pmtiles (reads an archive with HTTP Range requests) and protomaps-leaflet (draws
    its vector tiles on Leaflet canvases), their browser builds (one global each)."""
    dest = ASSETS / "tiles"
    if dest.exists():
        shutil.rmtree(dest)
    npm_extract("pmtiles", PMTILES_VERSION, {"package/dist/pmtiles.js": dest / "pmtiles.js"})
    # pmtiles' own dependency fflate (MIT) is in its browser build too.
    (dest / "LICENSE-pmtiles").write_text(BSD3.format(holder="2021 Protomaps LLC"))
    npm_extract(
        "protomaps-leaflet",
        PROTOMAPS_LEAFLET_VERSION,
        {
            "package/dist/protomaps-leaflet.js": dest / "protomaps-leaflet.js",
            "package/LICENSE": dest / "LICENSE-protomaps-leaflet",
        },
    )
    bundled = "".join(f"- {line}\n" for line in PROTOMAPS_BUNDLED)
    (dest / "VERSION").write_text(
        f"pmtiles {PMTILES_VERSION} and protomaps-leaflet {PROTOMAPS_LEAFLET_VERSION} "
        "from the npm registry (dist/*.js, their browser builds).\n"
        "pmtiles.js bundles fflate (MIT, Arjun Barrett).\n"
        f"protomaps-leaflet.js bundles, where used:\n{bundled}"
    )


if __name__ == "__main__":
    vendor_leaflet()
    vendor_markercluster()
    vendor_tiles()
    print(f"assets refreshed in {ASSETS}")
