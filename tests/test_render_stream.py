"""The page is written piece by piece (a 1 M-parcel page is ~120 MB and is never one
string): the pieces are the one escaped JSON block a single ``script_json`` of the whole
page data would give, and a failure while the page is being written leaves the old page."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import parcels_atlas
import pytest
import tomli_w
from payloads import PAYLOADS
from sample_atlas import write, write_layer

import geomap.page
import geomap.render
from geomap.atlas import Atlas
from geomap.payload import page_data_parts, script_json
from geomap.plan import plan_map
from geomap.render import RenderOptions, render_html, render_map

N = 300


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Parcels with hostile names, drawn twice: by the fast layer and as GeoJSON paths with
    labels (both ways a layer's per-feature data reaches the page)."""
    root = tmp_path / "atlas"
    gdf = parcels_atlas.build(root, N)
    gdf["name"] = [f"{PAYLOADS[i % len(PAYLOADS)]}{i}" for i in range(N)]
    meta = tomllib.loads((root / "layers" / "parcels.toml").read_text("utf-8"))
    write_layer(root, "parcels", gdf, meta)
    spec = {
        "title": "地块</script><script>window.__pwned=1</script>",
        "basemap": "amap",  # GCJ-02: the geometries are shifted for display
        "layers": [
            {
                "layer": "parcels",
                "tiles": False,
                "fast": True,
                "tooltip": ["name", "value"],
                "style": {"type": "choropleth", "column": "value", "k": 5},
            },
            {"layer": "parcels", "tiles": False, "fast": False, "labels": True, "show": False},
        ],
    }
    write(root / "maps" / "county.toml", tomli_w.dumps(spec))
    return root


def test_the_pieces_are_one_script_json_of_the_page(root: Path) -> None:
    plan = plan_map(Atlas(root), "county")
    assert plan.errors == []
    parts, cluster = page_data_parts(plan, "m")
    assert len(parts) > 20 and not cluster  # really in pieces
    block = b"".join(parts)
    page = orjson.loads(block)
    # Dumping the parsed block whole gives the same bytes: every piece is escaped as the
    # one block would be, and nothing was added or lost at a seam.
    assert script_json(page) == block
    assert b"</script" not in block and b"<" not in block
    fast, paths = page["layers"]
    assert fast["fast"]["nVertices"] > 0 and fast["geoms"] is None
    assert len(paths["geoms"]) == N and len(paths["labelAt"]) == N and paths["fast"] is None
    names = fast["values"][fast["name"]]
    assert (
        names
        == paths["values"][paths["name"]]
        == [f"{PAYLOADS[i % len(PAYLOADS)]}{i}" for i in range(N)]
    )


def test_render_map_writes_what_render_html_returns(root: Path) -> None:
    atlas = Atlas(root)
    result = render_map(atlas, "county", RenderOptions(force=True))
    digest = geomap.render.map_digest(atlas, "county", atlas.map_spec("county"), RenderOptions())
    whole = render_html(atlas, atlas.map_spec("county"), RenderOptions(), lambda _: None, digest)
    assert result.path.read_bytes() == whole


def test_a_failure_while_the_page_is_written_leaves_the_old_page(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    atlas = Atlas(root)
    page = render_map(atlas, "county", RenderOptions()).path
    old = page.read_bytes()
    spec = root / "maps" / "county.toml"
    spec.write_text(spec.read_text("utf-8").replace("地块<", "新标题<"), "utf-8")
    written: list[int] = []
    real_write = geomap.render.atomic_write

    def counting(path: Path, data: Iterable[bytes]) -> None:
        def pieces() -> Iterator[bytes]:
            for piece in data:
                written.append(len(piece))
                yield piece

        real_write(path, pieces())

    def broken() -> str:  # the client script comes after the data block
        raise OSError("assets/js unreadable")

    monkeypatch.setattr(geomap.render, "atomic_write", counting)
    monkeypatch.setattr(geomap.page.assets, "client_script", broken)
    with pytest.raises(OSError, match="unreadable"):
        render_map(Atlas(root), "county", RenderOptions())
    assert sum(written) > 100_000  # the head and the data were written before it failed
    assert page.read_bytes() == old
    assert sorted(p.name for p in page.parent.iterdir()) == ["county.html", "county.toml"]
    monkeypatch.undo()
    assert "新标题" in render_map(Atlas(root), "county", RenderOptions()).path.read_text("utf-8")
