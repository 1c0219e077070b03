"""Refresh the browser assets vendored under geomap/assets/ from their packages.

Leaflet comes from the PyPI package ``xstatic-leaflet`` (the version folium 0.20 uses);
leaflet.markercluster from the npm registry at the version folium pins. Licences are kept
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


if __name__ == "__main__":
    vendor_leaflet()
    vendor_markercluster()
    print(f"assets refreshed in {ASSETS}")
