"""A map re-rendered takes its tile archive from the last render when the tiler's input
(the features as written for the tiler, public fields only), the tiler and its options are
the same, and tiles the layer again when any of them changed (issue 18: tiling 10 M parcels
takes ~50 minutes; a title, legend or popup edit must not cost that)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from parcels_atlas import build
from sample_atlas import write_layer
from test_tiles import archive_tiles, page_data, tile_properties

from geomap import tiles
from geomap.atlas import Atlas
from geomap.freshness import RenderOptions
from geomap.render import render_map

N = 600


@pytest.fixture
def county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any, list[Path]]:
    """A rendered tiled map, and the list of archives the tiler writes from now on."""
    root = tmp_path / "atlas"
    gdf = build(root, N)
    render_map(Atlas(root), "county", RenderOptions(force=True))
    tiled: list[Path] = []
    run_tiler = tiles._run_tiler

    def counted(chosen: Any, options: list[str], source: Path, target: Path) -> None:
        tiled.append(target)
        run_tiler(chosen, options, source, target)

    monkeypatch.setattr(tiles, "_run_tiler", counted)
    return root, gdf, tiled


def archive(root: Path) -> Path:
    return root / "maps" / "county.tiles" / "layer0.pmtiles"


def edit_spec(root: Path, **changes: Any) -> None:
    path = root / "maps" / "county.toml"
    spec = tomllib.loads(path.read_text(encoding="utf-8"))
    spec.update(changes)
    path.write_text(tomli_w.dumps(spec), encoding="utf-8")


def test_a_title_edit_reuses_the_archive(county: tuple[Path, Any, list[Path]]) -> None:
    root, _, tiled = county
    before = archive(root).read_bytes()
    edit_spec(root, title="全县地块（修订）")
    result = render_map(Atlas(root), "county", RenderOptions())
    assert not result.skipped and tiled == []
    assert archive(root).read_bytes() == before
    assert "全县地块（修订）" in (root / "maps" / "county.html").read_text(encoding="utf-8")
    # Taken again, it is kept again: a second edit still finds its key.
    edit_spec(root, title="全县地块（三）")
    render_map(Atlas(root), "county", RenderOptions())
    assert tiled == [] and archive(root).read_bytes() == before


def test_a_palette_edit_reuses_the_archive(county: tuple[Path, Any, list[Path]]) -> None:
    root, _, tiled = county
    layer = {
        "layer": "parcels",
        "tiles": True,
        "tooltip": ["code", "value"],
        "facets": ["status"],
        "style": {"type": "choropleth", "column": "value", "k": 5, "palette": "Blues"},
    }
    html = root / "maps" / "county.html"
    colours = page_data(html)["layers"][0]["styles"]
    edit_spec(root, layers=[layer])
    render_map(Atlas(root), "county", RenderOptions())
    assert tiled == []  # the colours are the page's; the classes in the tiles are the same
    assert page_data(html)["layers"][0]["styles"] != colours


def test_a_changed_public_value_tiles_again(county: tuple[Path, Any, list[Path]]) -> None:
    root, gdf, tiled = county
    gdf.loc[7, "status"] = "已验收"
    meta = tomllib.loads((root / "layers" / "parcels.toml").read_text(encoding="utf-8"))
    write_layer(root, "parcels", gdf, meta)
    render_map(Atlas(root), "county", RenderOptions())
    assert len(tiled) == 1
    statuses = {
        p.get("f3") for _, raw in archive_tiles(archive(root))[1] for p in tile_properties(raw)
    }
    assert "已验收" in statuses


def test_a_changed_style_tiles_again(county: tuple[Path, Any, list[Path]]) -> None:
    root, _, tiled = county
    edit_spec(
        root,
        layers=[
            {
                "layer": "parcels",
                "tiles": True,
                "tooltip": ["code", "value"],
                "style": {"type": "choropleth", "column": "value", "k": 3},
            }
        ],
    )
    render_map(Atlas(root), "county", RenderOptions())
    assert len(tiled) == 1  # the classes (_c) in the tiles changed
    classes = {p["_c"] for _, raw in archive_tiles(archive(root))[1] for p in tile_properties(raw)}
    assert classes == {0, 1, 2}


def test_another_tiler_version_or_a_missing_key_tiles_again(
    county: tuple[Path, Any, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _, tiled = county
    (root / "maps" / "county.tiles" / "layer0.pmtiles.key").unlink()
    render_map(Atlas(root), "county", RenderOptions(force=True))
    assert len(tiled) == 1
    monkeypatch.setattr(tiles, "_tiler_version", lambda chosen: "tippecanoe v99")
    render_map(Atlas(root), "county", RenderOptions(force=True))
    assert len(tiled) == 2
    render_map(Atlas(root), "county", RenderOptions(force=True))
    assert len(tiled) == 2  # same input, same tiler: taken again
