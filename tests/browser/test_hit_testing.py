"""The feature under the cursor wins: on a dense layer the nearest mark (topmost layer first,
of equally near marks the one drawn last), on fast and Leaflet-drawn layers alike, at every
zoom. Checked with the page's own hit test at exact positions and with the real mouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import sample_atlas
import shapely
import tomli_w
from browser_helpers import hover
from helpers import run, shipped_atlas
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from shapely.geometry import LineString, Point, box

from geomap.atlas import Atlas

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def housing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped housing-safety map, rendered from the repository's atlas."""
    root = tmp_path_factory.mktemp("xiping")
    return shipped_atlas(root, render=("housing-safety",))


def layer_id(page: Any, layer: str) -> str:
    found = page.evaluate(
        "name => Object.keys(geomap.layers).filter(id => geomap.layers[id].data.layer === name)",
        layer,
    )
    assert len(found) == 1, found
    return str(found[-1])


def indices_of(page: Any, lid: str, codes: list[str]) -> dict[str, int]:
    """Feature index in the page of each code (the layer's name field)."""
    names = page.evaluate(
        "id => { const d = geomap.layers[id].data; return d.values[d.name]; }", lid
    )
    where = {str(v): i for i, v in enumerate(names)}
    return {c: where[c] for c in codes}


def latlng_of(page: Any, lid: str, i: int) -> list[float]:
    return list(
        page.evaluate(
            "([id, i]) => { const p = geomap.anchorOf(geomap.layers[id], i);"
            " return [p.lat, p.lng]; }",
            [lid, i],
        )
    )


@pytest.mark.parametrize("fast", [True, False])
def test_every_c_d_house_is_the_house_under_the_cursor(
    housing: Path, open_page, fast: bool
) -> None:
    houses = Atlas(housing).read_layer("houses").gdf
    cd = houses[houses["rating"].isin(["C", "D"])]
    assert len(cd) == 34
    html = housing / "maps" / "housing-safety.html"
    if not fast:  # the same map with the houses drawn by Leaflet instead of the fast layer
        spec = (housing / "maps" / "housing-safety.toml").read_text(encoding="utf-8")
        (housing / "maps" / "hs-leaflet.toml").write_text(
            spec.replace('layer = "houses"\n', 'layer = "houses"\nfast = false\n', 1),
            encoding="utf-8",
        )
        assert run(housing, "render", "hs-leaflet").exit_code == 0
        html = housing / "maps" / "hs-leaflet.html"
    opened = open_page(html)
    page = opened.page
    lid = layer_id(page, "houses")
    assert page.evaluate("id => !!geomap.layers[id].host.hitAt", lid) is fast
    index = indices_of(page, lid, [str(c) for c in cd["code"]])
    where = {i: latlng_of(page, lid, i) for i in index.values()}
    opening = page.evaluate("geomap.map.getZoom()")
    for zoom in (opening, opening + 2, opening + 4):
        page.evaluate("z => { geomap.map.setZoom(z, {animate: false}); }", zoom)
        wrong = {
            code: page.evaluate("([a, b]) => geomap.hitAt(a, b)", where[i])
            for code, i in index.items()
        }
        wrong = {c: hit for c, hit in wrong.items() if hit != [lid, index[c]]}
        assert not wrong, f"zoom {zoom}: {len(wrong)} of 34 houses name another feature: {wrong}"
    # The real mouse, two levels in (mouse events come in whole pixels; at the opening view
    # some houses are less than a pixel apart): each house centred in turn, hovered.
    page.evaluate("z => { geomap.map.setZoom(z, {animate: false}); }", opening + 2)
    misses = []
    for code, i in list(index.items()):
        page.evaluate(
            "([a, b]) => { geomap.map.setView([a, b], geomap.map.getZoom(), {animate: false}); }",
            where[i],
        )
        x, y = page.evaluate("([id, i]) => geomap.pointOf(id, i)", [lid, i])
        hover(page, x, y)
        try:  # the page may still be redrawing after the jump: give the tooltip a moment
            page.wait_for_function(
                "code => (document.querySelector('.leaflet-tooltip .gm-tooltip-title') || {})"
                ".textContent === code",
                arg=code,
                timeout=3000,
            )
        except PlaywrightTimeout:
            misses.append((code, page.inner_text(".leaflet-tooltip .gm-tooltip-title")))
    assert not misses, misses
    assert opened.console_errors == []


# -- a generated atlas: dense polygons, points and lines -------------------------------------
N_SIDE = 40  # 1600 parcels: big enough to be dense, small enough for a fast suite


def generated_atlas(root: Path, fast: bool) -> Path:
    sample_atlas.build(root)
    rng = np.random.default_rng(7)
    x0, y0, d = 119.40, 28.40, 0.0005
    cells = [
        box(x0 + i * d, y0 + j * d, x0 + (i + 1) * d, y0 + (j + 1) * d)
        for j in range(N_SIDE)
        for i in range(N_SIDE)
    ]
    # The last 40 parcels overlap earlier ones: drawn later, they are on top there.
    cells += [shapely.affinity.translate(c, d / 2, d / 2) for c in cells[:40]]
    parcels = gpd.GeoDataFrame(
        {
            "pid": [f"P{k}" for k in range(len(cells))],
            "kind": [["耕地", "林地", "园地"][k % 3] for k in range(len(cells))],
        },
        geometry=cells,
        crs="EPSG:4326",
    )
    pts = rng.uniform([x0, y0], [x0 + N_SIDE * d, y0 + N_SIDE * d], size=(1500, 2))
    points = gpd.GeoDataFrame(
        {"pid": [f"H{k}" for k in range(len(pts))], "kind": ["甲", "乙"] * (len(pts) // 2)},
        geometry=[Point(p) for p in pts],
        crs="EPSG:4326",
    )
    lines = gpd.GeoDataFrame(
        {"pid": [f"L{k}" for k in range(30)], "kind": ["路"] * 30},
        geometry=[
            LineString([(x0, y0 + (k + 0.25) * d), (x0 + N_SIDE * d, y0 + (k + 0.3) * d)])
            for k in range(30)
        ],
        crs="EPSG:4326",
    )
    for name, gdf, kind in (
        ("parcels", parcels, "parcel"),
        ("dots", points, "point"),
        ("paths", lines, "line"),
    ):
        sample_atlas.write_layer(
            root,
            name,
            gdf,
            {
                "title": name,
                "kind": kind,
                "key": "pid",
                "name_field": "pid",
                "fields": {"pid": {"label": "编号"}, "kind": {"label": "类别"}},
            },
        )
    layers = [
        {
            "layer": "parcels",
            "fast": fast,
            "labels": False,
            "style": {"type": "categorical", "column": "kind"},
        },
        {"layer": "paths", "fast": fast, "style": {"type": "single", "weight": 3}},
        {
            "layer": "dots",
            "fast": fast,
            "style": {"type": "categorical", "column": "kind", "radius": 4},
        },
    ]
    (root / "maps" / "gen.toml").write_text(
        tomli_w.dumps({"title": "生成", "basemap": "none", "layers": layers}), encoding="utf-8"
    )
    result = run(root, "render", "gen")
    assert result.exit_code == 0, result.output
    return root


@pytest.mark.parametrize("fast", [True, False])
def test_generated_layers_hit_the_feature_under_the_cursor(
    tmp_path: Path, open_page, fast: bool
) -> None:
    root = generated_atlas(tmp_path / "atlas", fast)
    page = open_page(root / "maps" / "gen.html").page
    parcels, paths, dots = (layer_id(page, n) for n in ("parcels", "paths", "dots"))
    atlas = Atlas(root)
    pgdf = atlas.read_layer("parcels").gdf
    dgdf = atlas.read_layer("dots").gdf
    rng = np.random.default_rng(3)
    page.evaluate("() => { geomap.map.setZoom(geomap.map.getZoom() + 2, {animate: false}); }")

    def hit(lat: float, lng: float) -> Any:
        return page.evaluate("([a, b]) => geomap.hitAt(a, b)", [lat, lng])

    # Every dot at its own position is itself (the topmost layer, the nearest mark).
    for k in rng.choice(len(dgdf), 60, replace=False):
        p = dgdf.geometry.iloc[k]
        assert hit(p.y, p.x) == [dots, int(k)], k
    # Between two close dots the nearer one wins, wherever the two are in drawing order.
    xy = np.c_[dgdf.geometry.x, dgdf.geometry.y]
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(dist, np.inf)
    a = int(np.argmin(dist.min(axis=1)))
    b = int(np.argmin(dist[a]))
    for near, other in ((a, b), (b, a)):
        q = xy[near] + (xy[other] - xy[near]) * 0.3
        assert hit(q[1], q[0]) == [dots, near]
    # Parcels away from dots and paths: the parcel containing the point; where two overlap,
    # the one drawn later (the shifted copies) is on top.
    cls = page.evaluate("id => geomap.layers[id].data.cls", parcels)
    checked = 0
    for k in rng.permutation(len(pgdf)):
        x_0, y_0, x_1, y_1 = pgdf.geometry.iloc[k].bounds  # a point off every edge
        c = Point(x_0 + 0.3 * (x_1 - x_0), y_0 + 0.65 * (y_1 - y_0))
        if np.min(np.hypot(xy[:, 0] - c.x, xy[:, 1] - c.y)) < 0.0001:
            continue  # a dot is on top here
        got = hit(c.y, c.x)
        if got[0] == paths:
            continue
        owners = [j for j in range(len(pgdf)) if pgdf.geometry.iloc[j].contains(c)]
        # The fast layer draws class by class, Leaflet in feature order.
        top = max(owners, key=lambda j: (cls[j], j)) if fast else max(owners)
        assert got == [parcels, top], (k, owners, got)
        checked += 1
        if checked == 60:
            break
    assert checked == 60
    # A path's stroke beats the parcel under it.
    line = atlas.read_layer("paths").gdf.geometry.iloc[5]
    m = line.interpolate(0.37, normalized=True)
    assert hit(m.y, m.x) == [paths, 5]
