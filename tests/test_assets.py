"""One list of client assets: the page builder and the freshness digest read the same one."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import sample_atlas
from helpers import run

from geomap import assets, freshness
from geomap.freshness import RenderOptions, map_digest

ASSETS = Path(str(resources.files("geomap") / "assets"))


def test_every_client_file_is_listed_once() -> None:
    on_disk = sorted(f"js/{p.name}" for p in (ASSETS / "js").glob("*.js"))
    assert sorted(assets.CLIENT_JS) == on_disk
    assert len(set(assets.CLIENT_JS)) == len(assets.CLIENT_JS)
    # Nothing of geomap's own code outside assets/js/ (a file there would be missed).
    assert sorted(p.name for p in ASSETS.glob("*.js")) == []


def test_page_inlines_every_listed_client_file(tmp_path: Path) -> None:
    root = sample_atlas.build(tmp_path / "atlas")
    assert run(root, "render", "economy").exit_code == 0
    page = (root / "maps" / "economy.html").read_text(encoding="utf-8")
    positions = [page.find(assets.read(path)) for path in assets.CLIENT_JS]
    assert all(p > 0 for p in positions)
    assert positions == sorted(positions)  # in the listed order


@pytest.mark.parametrize("path", ["js/fast.js", "js/legend.js", "geomap.css", "leaflet/leaflet.js"])
def test_editing_any_page_asset_changes_the_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Editing fast.js once left every map "unchanged": the digest listed files by hand."""
    assert path in assets.page_files()
    root = sample_atlas.build(tmp_path / "atlas")
    from geomap.atlas import Atlas

    atlas = Atlas.find(str(root))
    spec = atlas.map_spec("economy")
    freshness._code_digest.cache_clear()
    before = map_digest(atlas, "economy", spec, RenderOptions())
    original = assets.read_bytes
    monkeypatch.setattr(
        assets, "read_bytes", lambda p: original(p) + (b"/* edited */" if p == path else b"")
    )
    freshness._code_digest.cache_clear()
    try:
        assert map_digest(atlas, "economy", spec, RenderOptions()) != before
    finally:
        monkeypatch.undo()
        freshness._code_digest.cache_clear()
