"""Vector tiles of large layers (issue 18): every feature at the full-detail zooms, no
private field anywhere, the GCJ-02 shift before tiling, and the plan's rule shared by
render and check. The archives are read back with ``pmtiles`` and their tiles decoded
with mapbox-vector-tile's protobuf (independent of the tiler that wrote them)."""

from __future__ import annotations

import gzip
import json
import math
import re
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import pmtiles.reader as pm
import pytest
from helpers import run
from mapbox_vector_tile.Mapbox import vector_tile_pb2
from parcels_atlas import PRIVATE_MARK, add_blocks, build

from geomap import tiles
from geomap.atlas import Atlas
from geomap.crs import wgs84_to_gcj02
from geomap.freshness import RenderOptions
from geomap.plan import plan_map
from geomap.render import render_map

N = 20_000


def page_data(html: Path) -> dict[str, Any]:
    text = html.read_text(encoding="utf-8")
    start = text.index('id="geomap-data">') + len('id="geomap-data">')
    data: dict[str, Any] = json.loads(text[start : text.index("</script>", start)])
    return data


def archive_tiles(path: Path) -> tuple[dict[str, Any], list[tuple[tuple[int, int, int], bytes]]]:
    """The header and every (z, x, y) tile of a PMTiles archive, decompressed."""
    with path.open("rb") as fh:
        reader = pm.Reader(pm.MmapSource(fh))
        header = reader.header()
        out = [(zxy, gzip.decompress(data)) for zxy, data in pm.all_tiles(reader.get_bytes)]
    return header, out


def tile_properties(raw: bytes) -> list[dict[str, Any]]:
    """Every feature's properties in one MVT tile (keys and values as the tile has them)."""
    tile = vector_tile_pb2.tile()
    tile.ParseFromString(raw)
    out = []
    for layer in tile.layers:
        keys, values = list(layer.keys), layer.values
        for feature in layer.features:
            props = {}
            for k, v in zip(feature.tags[::2], feature.tags[1::2], strict=True):
                ((_, value),) = values[v].ListFields()  # the one value set (proto2)
                props[keys[k]] = value
            out.append(props)
    return out


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    root = tmp_path_factory.mktemp("county")
    gdf = build(root, N)
    render_map(Atlas(root), "county", RenderOptions(force=True))
    return root, gdf


def test_every_feature_in_every_tile_zoom_from_full_detail(county: tuple[Path, Any]) -> None:
    root, _ = county
    layer = page_data(root / "maps" / "county.html")["layers"][0]
    info = layer["tiles"]
    assert info["count"] == N
    header, all_tiles = archive_tiles(root / "maps" / "county.tiles" / "layer0.pmtiles")
    assert header["min_zoom"] == info["minZoom"] and header["max_zoom"] == info["maxZoom"] == 15
    seen: dict[int, set[int]] = {}
    for (z, _, _), raw in all_tiles:
        seen.setdefault(z, set()).update(p["_i"] for p in tile_properties(raw))
    assert sorted(seen) == list(range(info["minZoom"], 16))
    for z, ids in seen.items():
        assert ids == set(range(N)), f"zoom {z}: {N - len(ids)} features missing"


def test_tiles_carry_public_fields_and_class_only(county: tuple[Path, Any]) -> None:
    root, gdf = county
    layer = page_data(root / "maps" / "county.html")["layers"][0]
    labels = [f["label"] for f in layer["fields"]]
    assert "权利人" not in labels  # the private field is not a field of the page either
    name_key = f"f{labels.index('名称')}"
    value_key = f"f{labels.index('收入')}"
    allowed = {"_i", "_c"} | {f"f{k}" for k in range(len(labels))}
    _, all_tiles = archive_tiles(root / "maps" / "county.tiles" / "layer0.pmtiles")
    checked = 0
    for (z, _, _), raw in all_tiles:
        assert PRIVATE_MARK.encode() not in raw
        if z != 15:
            continue
        for props in tile_properties(raw):
            assert set(props) <= allowed
            i = props["_i"]
            assert props[name_key] == gdf["name"][i]
            assert props[value_key] == pytest.approx(gdf["value"][i])
            assert 0 <= props["_c"] < len(layer["styles"])
            checked += 1
    assert checked >= N
    # Nor in the search index or the page, which holds no per-feature values at all.
    for path in (root / "maps" / "county.tiles").iterdir():
        data = path.read_bytes()
        assert PRIVATE_MARK.encode() not in (
            gzip.decompress(data) if path.suffix == ".gz" else data
        )
    html = (root / "maps" / "county.html").read_bytes()
    assert PRIVATE_MARK.encode() not in html
    assert all(v == [] for v in layer["values"]) and layer["cls"] == []
    assert len(html) < 1_500_000


def test_legend_says_what_is_drawn_below_full_detail(county: tuple[Path, Any]) -> None:
    root, _ = county
    info = page_data(root / "maps" / "county.html")["layers"][0]["tiles"]
    assert f"第 {info['minZoom']} 级及以上显示全部 20,000 个图斑" in info["note"]
    assert "汇总网格" in info["note"] and "不抽样" in info["note"]
    assert sum(info["gridCounts"]) == N  # the grid counts every feature once
    assert len(info["grid"]) == len(info["gridCounts"])
    assert info["gridLegend"]["items"][-1]["label"].endswith("个")


def read_index(folder: Path, base: str = "layer0") -> list[tuple[str | None, Any]]:
    """A search index decoded (independently of the writer): each feature's name (None for
    an empty line) and point steps (x, y; None when both are -2**31)."""
    text = gzip.decompress((folder / f"{base}.search.txt.gz").read_bytes()).decode("utf-8")
    assert text.endswith("\n") or text == ""
    names = []
    for line in text.split("\n")[:-1]:
        assert "\t" not in line and "\r" not in line
        plain = re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m[1], m[1]), line)
        names.append(plain or None)
    raw = (folder / f"{base}.points.bin").read_bytes()
    steps = np.frombuffer(raw, dtype="<i4").reshape(-1, 2)
    assert len(steps) == len(names)
    points = [None if x == -(2**31) == y else (int(x), int(y)) for x, y in steps]
    return list(zip(names, points, strict=True))


def test_search_index_names_and_locates_every_feature(county: tuple[Path, Any]) -> None:
    root, gdf = county
    folder = root / "maps" / "county.tiles"
    lines = read_index(folder)
    info = page_data(root / "maps" / "county.html")["layers"][0]["tiles"]["search"]
    assert info["url"] == "county.tiles/layer0.search.txt.gz" and info["count"] == N
    assert info["points"] == "county.tiles/layer0.points.bin"
    raw = gzip.decompress((folder / "layer0.search.txt.gz").read_bytes())
    assert info["bytes"] == len(raw)
    assert [n for n, _ in lines] == list(gdf["name"])
    import shapely

    for i in (0, 777, N - 1):
        point = lines[i][1]
        assert point is not None
        x = info["x0"] + point[0] / info["scale"]
        y = info["y0"] + point[1] / info["scale"]
        assert shapely.contains_xy(gdf.geometry[i], x, y)


HOSTILE = [
    "a\tb",
    "two\nlines",
    "cr\rhere",
    "back\\slash\\t not a tab",
    "\\",
    "ends with \\",
    "</script><script>window.__pwned=1</script>",
    "西坪村\t一组\n（甲）",
    "𠀀 beyond the BMP",
    None,
    "",
    "İstanbul",
    "  spaces  ",
]


def test_search_index_decodes_back_to_hostile_names_and_points(tmp_path: Path) -> None:
    """Each name (tab, newline, CR, backslash, markup, CJK, null) and point survives the
    index's format; a feature without a point has none."""
    n = len(HOSTILE)
    inside = np.array([[119.5 + k * 1e-4, 28.4 - k * 1e-5] for k in range(n)])
    inside[3] = np.nan
    info = tiles.write_index(tmp_path, "layer0", inside, lambda a, b: HOSTILE[a:b])
    assert (info["x0"], info["y0"], info["count"]) == (119.0, 28.0, n)
    raw = gzip.decompress((tmp_path / "layer0.search.txt.gz").read_bytes())
    assert raw.count(b"\n") == n and b"\t" not in raw and b"\r" not in raw
    assert info["bytes"] == len(raw)
    lines = read_index(tmp_path)
    assert [name for name, _ in lines] == [h or None for h in HOSTILE]
    for k, (_, point) in enumerate(lines):
        if k == 3:
            assert point is None
        else:
            assert point == (50_000 + 10 * k, 40_000 - k)


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2
    return int((lon + 180) / 360 * n), int(y * n)


def test_gcj02_shift_happens_before_tiling(tmp_path: Path) -> None:
    gdf = build(tmp_path, 50, basemap="amap")
    render_map(Atlas(tmp_path), "county", RenderOptions(force=True))
    centre = gdf.geometry[0].centroid
    glon, glat = (float(v[0]) for v in wgs84_to_gcj02([centre.x], [centre.y]))
    z = 15
    tx, ty = _tile_of(glon, glat, z)
    _, all_tiles = archive_tiles(tmp_path / "maps" / "county.tiles" / "layer0.pmtiles")
    raw = dict(all_tiles)[(z, tx, ty)]
    decoded = mapbox_vector_tile.decode(raw, default_options={"y_coord_down": True})
    (feature,) = [f for f in decoded[tiles.TILE_LAYER]["features"] if f["properties"]["_i"] == 0]
    ring = feature["geometry"]["coordinates"][0]
    px = sum(p[0] for p in ring[:-1]) / (len(ring) - 1) / 4096
    py = sum(p[1] for p in ring[:-1]) / (len(ring) - 1) / 4096
    lon = (tx + px) / (1 << z) * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (ty + py) / (1 << z)))))
    metres = 111_320.0
    assert (
        math.hypot((lon - glon) * metres * math.cos(math.radians(glat)), (lat - glat) * metres) < 5
    )
    assert math.hypot((lon - centre.x) * metres, (lat - centre.y) * metres) > 300


def test_gdal_fallback_keeps_every_feature(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiles, "tiler", lambda: tiles.Tiler("gdal", None))
    build(tmp_path, 800)
    render_map(Atlas(tmp_path), "county", RenderOptions(force=True))
    info = page_data(tmp_path / "maps" / "county.html")["layers"][0]["tiles"]
    assert info["tiler"] == "gdal"
    header, all_tiles = archive_tiles(tmp_path / "maps" / "county.tiles" / "layer0.pmtiles")
    at_detail = set()
    for (z, _, _), raw in all_tiles:
        if z == header["min_zoom"]:
            at_detail.update(p["_i"] for p in tile_properties(raw))
            assert PRIVATE_MARK.encode() not in raw
    assert at_detail == set(range(800))


def test_tiles_with_cluster_refused_by_render_and_check_alike(tmp_path: Path) -> None:
    build(tmp_path, 20, layer={"cluster": True, "labels": True})
    plan = plan_map(Atlas(tmp_path), "county")
    assert [p.code for p in plan.errors] == ["tiles-unsupported"]
    assert "cluster = true, labels = true" in plan.errors[0].message
    rendered = run(tmp_path, "render", "county")
    assert rendered.exit_code == 1 and "tiles-unsupported" in rendered.output
    assert not (tmp_path / "maps" / "county.html").exists()
    assert not any(
        p.name.endswith(".tiles") or "tiles-" in p.name for p in (tmp_path / "maps").iterdir()
    )
    checked = run(tmp_path, "check", "--json")
    codes = [f["code"] for f in json.loads(checked.stdout)]
    assert "tiles-unsupported" in codes


def test_large_layers_tiled_by_count_unless_the_spec_says_no(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geomap.plan

    build(tmp_path, 30)
    spec_path = tmp_path / "maps" / "county.toml"
    spec_path.write_text(
        spec_path.read_text(encoding="utf-8").replace("tiles = true\n", ""), encoding="utf-8"
    )
    assert not plan_map(Atlas(tmp_path), "county").layers[0].tiles
    monkeypatch.setattr(geomap.plan, "TILES_MIN_FEATURES", 30)
    assert plan_map(Atlas(tmp_path), "county").layers[0].tiles
    text = spec_path.read_text(encoding="utf-8").replace(
        'layer = "parcels"', 'layer = "parcels"\ntiles = false'
    )
    spec_path.write_text(text, encoding="utf-8")
    assert not plan_map(Atlas(tmp_path), "county").layers[0].tiles


def test_a_map_no_longer_tiled_loses_its_tile_folder(tmp_path: Path) -> None:
    build(tmp_path, 40)
    atlas = Atlas(tmp_path)
    render_map(atlas, "county", RenderOptions(force=True))
    assert (tmp_path / "maps" / "county.tiles" / "layer0.pmtiles").is_file()
    spec_path = tmp_path / "maps" / "county.toml"
    spec_path.write_text(
        spec_path.read_text(encoding="utf-8").replace("tiles = true", "tiles = false"),
        encoding="utf-8",
    )
    render_map(Atlas(tmp_path), "county", RenderOptions(force=True))
    assert not (tmp_path / "maps" / "county.tiles").exists()
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["county.html", "county.toml"]


def test_missing_tiles_make_the_page_stale_and_withdrawn_pages_take_theirs(tmp_path: Path) -> None:
    build(tmp_path, 40)
    assert run(tmp_path, "render").exit_code == 0
    folder = tmp_path / "maps" / "county.tiles"
    assert "✓ county 未变化" in run(tmp_path, "render").output  # unchanged: skipped
    (folder / "layer0.pmtiles").unlink()
    again = run(tmp_path, "render")
    assert "未变化" not in again.output and (folder / "layer0.pmtiles").is_file()
    # A map whose spec is deleted loses its page and its tiles.
    (tmp_path / "maps" / "county.toml").rename(tmp_path / "maps" / "other.toml")
    assert run(tmp_path, "render", "other").exit_code == 0
    assert not (tmp_path / "maps" / "county.html").exists() and not folder.exists()


def test_overview_counts_features_onto_a_polygon_layer(tmp_path: Path) -> None:
    gdf = build(tmp_path, 600, layer={"overview": "blocks"})
    blocks = add_blocks(tmp_path, gdf)
    render_map(Atlas(tmp_path), "county", RenderOptions(force=True))
    info = page_data(tmp_path / "maps" / "county.html")["layers"][0]["tiles"]
    assert info["gridNames"] == list(blocks["name"])
    points = gdf.geometry.representative_point()
    expected = [int(points.within(b).sum()) for b in blocks.geometry]
    assert info["gridCounts"] == expected and sum(expected) == 600
    assert info["gridLegend"]["title"] == "按片区汇总：每个片区的图斑数（个）"
    assert "按片区汇总的图斑数" in info["note"]


def test_overview_must_be_a_polygon_layer_of_a_tiled_layer(tmp_path: Path) -> None:
    build(tmp_path, 20, layer={"overview": "nope"})
    assert [p.code for p in plan_map(Atlas(tmp_path), "county").errors] == ["unknown-layer"]
    build(tmp_path, 20, layer={"overview": "parcels", "tiles": False})
    (problem,) = plan_map(Atlas(tmp_path), "county").errors
    assert problem.code == "tiles-unsupported" and problem.at == "layers[0].overview"


def test_a_tiled_layer_left_empty_by_where_renders_without_files(tmp_path: Path) -> None:
    build(tmp_path, 10, layer={"where": {"status": "不存在"}, "style": {"type": "single"}})
    spec_path = tmp_path / "maps" / "county.toml"
    spec_path.write_text(
        spec_path.read_text(encoding="utf-8") + '\n[[layers]]\nlayer = "parcels"\n',
        encoding="utf-8",
    )
    render_map(Atlas(tmp_path), "county", RenderOptions(force=True))
    info = page_data(tmp_path / "maps" / "county.html")["layers"][0]["tiles"]
    assert info["count"] == 0 and info["url"] == "" and info["search"] is None
    assert not (tmp_path / "maps" / "county.tiles").exists()


def _outcome(root: Path) -> tuple[list[Any], Any, dict[str, Any]]:
    """What a render leaves: every tile decoded, the search index, the page's tile data."""
    info = page_data(root / "maps" / "county.html")["layers"][0]["tiles"]
    _, all_tiles = archive_tiles(root / "maps" / "county.tiles" / "layer0.pmtiles")
    decoded = [(zxy, mapbox_vector_tile.decode(raw)) for zxy, raw in sorted(all_tiles)]
    index = read_index(root / "maps" / "county.tiles")
    return decoded, index, info


@pytest.mark.parametrize("basemap", ["none", "amap"])
def test_batch_size_and_reading_the_layer_whole_or_streamed_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, basemap: str
) -> None:
    """The layer streamed in batches of 1, 7 or all its features, read whole (a small layer)
    or as an outline from its GeoParquet copy (a big one, the copy itself written in
    batches): the same tiles, search index, grid and overview counts, GCJ-02 or not."""
    from geomap import layercache

    n = 300
    results = []
    for streamed, size in [(False, n), (True, 1), (True, 7), (True, n)]:
        root = tmp_path / f"{streamed}-{size}"
        # `where` leaves a subset (the outline's rows), `overview` counts batch by batch.
        gdf = build(
            root,
            n,
            basemap=basemap,
            layer={"where": {"status": ["在建", "完工"]}, "overview": "blocks"},
        )
        add_blocks(root, gdf)
        monkeypatch.setattr(layercache, "CACHE_MIN_BYTES", 0 if streamed else 10**12)
        monkeypatch.setattr(layercache, "CHUNK", size)
        monkeypatch.setattr(tiles, "CHUNK", size)
        plan = plan_map(Atlas(root), "county")
        assert (plan.layers[0].outline is not None) == streamed
        render_map(Atlas(root), "county", RenderOptions(force=True))
        assert (root / "layers" / ".cache").is_dir() == streamed
        results.append(_outcome(root))
    kept = int(gdf["status"].isin(["在建", "完工"]).sum())
    assert 0 < kept < n and results[0][2]["count"] == kept
    assert sum(results[0][2]["gridCounts"]) == kept
    assert len(results[0][1]) == kept
    for other in results[1:]:
        assert other[0] == results[0][0]  # every tile, decoded
        assert other[1] == results[0][1]  # the search index
        assert other[2] == results[0][2]  # grid, counts, bounds, zooms, facets


def test_check_and_render_agree_on_a_layer_read_as_an_outline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geomap import layercache

    build(tmp_path, 200, layer={"tooltip": ["code", "owner"], "facets": ["nope"]})
    monkeypatch.setattr(layercache, "CACHE_MIN_BYTES", 0)
    outlined = plan_map(Atlas(tmp_path), "county")
    monkeypatch.setattr(layercache, "CACHE_MIN_BYTES", 10**12)
    whole = plan_map(Atlas(tmp_path), "county")
    assert outlined.problems == whole.problems
    assert sorted(p.code for p in whole.errors) == ["private-in-spec", "unknown-column"]
    monkeypatch.setattr(layercache, "CACHE_MIN_BYTES", 0)
    rendered = run(tmp_path, "render", "county")
    assert rendered.exit_code == 1
    assert "private-in-spec" in rendered.output and "unknown-column" in rendered.output
    codes = [f["code"] for f in json.loads(run(tmp_path, "check", "--json").stdout)]
    assert "private-in-spec" in codes and "unknown-column" in codes
    assert not (tmp_path / "maps" / "county.html").exists()
