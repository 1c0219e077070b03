"""A tiled map through `geomap serve` (issue 18): the page reads its PMTiles archive with
HTTP Range requests from the real server, hovering a parcel names that parcel, a legend
class toggles the tiles, search finds a parcel from the index written at render time;
opened from disk, the page says in Chinese how to serve it. No request leaves the machine."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import run
from parcels_atlas import FORMULA, PRIVATE_MARK, XSS, add_blocks, build

pytestmark = pytest.mark.browser
N = 3000
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Any]]:
    root = tmp_path_factory.mktemp("served")
    # Parcels 400 m apart: the overview's four blocks are large enough to hover at zoom 9.
    gdf = build(root, N, layer={"overview": "blocks"}, cell=0.004)
    add_blocks(root, gdf)
    assert run(root, "render", "county").exit_code == 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "geomap", "--atlas", str(root), "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # printed once the socket listens
        url = line[line.index("http://") :].split()[0]
        yield url, root, gdf
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def open_served(browser: Any, url: str) -> tuple[Any, dict[str, list[Any]]]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    seen: dict[str, list[Any]] = {"errors": [], "ranges": [], "outside": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))

    def handle(route: Any) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            seen["outside"].append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    page.on(
        "response",
        lambda r: (
            seen["ranges"].append((r.status, r.request.headers.get("range")))
            if r.url.endswith(".pmtiles")
            else None
        ),
    )
    page.goto(url + "county.html")
    page.wait_for_function("window.geomap && window.geomap.ready === true", timeout=30000)
    return page, seen


def zoom_to(page: Any, i: int) -> tuple[float, float]:
    page.evaluate(f"new Promise(r => geomap.layers.layer0.host.locate({i}, r))")
    page.evaluate(
        f"geomap.map.setView(geomap.layers.layer0.host.pointOf({i}), 17, {{animate: false}})"
    )
    page.wait_for_function(
        f"geomap.layers.layer0.host.hitAt(geomap.layers.layer0.host.pointOf({i})) === {i}",
        timeout=15000,
    )
    x, y = page.evaluate(f"geomap.pointOf('layer0', {i})")
    return float(x), float(y)


def test_hover_names_the_parcel_under_the_mouse(
    browser: Any, served: tuple[str, Path, Any]
) -> None:
    url, _, gdf = served
    page, seen = open_served(browser, url)
    for i in (5, 1234, N - 1):
        x, y = zoom_to(page, i)
        page.mouse.move(x - 2, y - 2)
        page.mouse.move(x, y)
        page.wait_for_selector(".leaflet-tooltip .gm-tooltip")
        text = page.text_content(".leaflet-tooltip .gm-tooltip")
        assert gdf["name"][i] in text and gdf["code"][i] in text
        assert f"{gdf['value'][i]:g}" in text.replace(",", "") and "万元" in text
        assert PRIVATE_MARK not in text
    assert gdf["name"][5] == XSS
    assert page.evaluate("window.__pwned") is None  # parcel 5's name stayed text
    # Read in pieces: HTTP 206 answers to Range requests, from `geomap serve` itself.
    assert seen["ranges"] and all(status == 206 and rng for status, rng in seen["ranges"])
    page.mouse.click(x, y)
    page.wait_for_selector(".leaflet-popup .gm-popup")
    assert gdf["name"][N - 1] in page.text_content(".leaflet-popup .gm-popup")
    assert seen["outside"] == [] and seen["errors"] == []
    page.close()


def test_legend_class_off_hides_parcels_and_search_finds_one(
    browser: Any, served: tuple[str, Path, Any]
) -> None:
    url, _, gdf = served
    page, seen = open_served(browser, url)
    i = 42
    zoom_to(page, i)
    cls = page.evaluate(
        f"(() => {{ var h = geomap.layers.layer0.host; h.hitAt(h.pointOf({i}));"
        " return h.tiles.queryTileFeaturesDebug(h.pointOf(" + str(i) + ").lng,"
        " h.pointOf(" + str(i) + ").lat, 4).get('')[0].feature.props._c; })()"
    )
    page.click(f".gm-legend [data-geomap=legend-item][data-class='{cls}']")
    assert (
        page.evaluate(f"geomap.layers.layer0.host.hitAt(geomap.layers.layer0.host.pointOf({i}))")
        == -1
    )
    page.click(f".gm-legend [data-geomap=legend-item][data-class='{cls}']")
    assert (
        page.evaluate(f"geomap.layers.layer0.host.hitAt(geomap.layers.layer0.host.pointOf({i}))")
        == i
    )
    # A facet chip (counted at render time) hides the parcels with that status.
    status = gdf["status"][i]
    chip = f".gm-facets [data-geomap=facet][data-value='{status}']"
    assert page.text_content(chip) == f"{status} {(gdf['status'] == status).sum()}"
    page.click(chip)
    assert (
        page.evaluate(f"geomap.layers.layer0.host.hitAt(geomap.layers.layer0.host.pointOf({i}))")
        == -1
    )
    page.click(chip)
    page.fill(".gm-search input", gdf["name"][2345])
    page.wait_for_selector(".gm-search-results li .gm-search-name")
    page.click(".gm-search-results li")
    page.wait_for_selector(".leaflet-popup .gm-popup")
    assert gdf["code"][2345] in page.text_content(".leaflet-popup .gm-popup")
    assert seen["outside"] == [] and seen["errors"] == []
    page.close()


def in_view(page: Any, gdf: Any) -> tuple[set[str], set[str]]:
    """The codes of the parcels whose box meets the map's view, and of those within 2 m
    of its edges (where the tiles' 1/4096 quantisation may decide either way)."""
    s, w, n, e = page.evaluate(
        "(() => { const b = geomap.map.getBounds();"
        " return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; })()"
    )
    b = gdf.geometry.bounds
    d = 2e-5  # about 2 m

    def meets(pad: float) -> Any:
        return (b.maxx >= w - pad) & (b.minx <= e + pad) & (b.maxy >= s - pad) & (b.miny <= n + pad)

    near = meets(d) & ~meets(-d)
    return set(gdf["code"][meets(0)]), set(gdf["code"][near])


def listed(page: Any) -> tuple[list[list[str]], bytes]:
    """The list's CSV download: its rows (header first) and bytes."""
    with page.expect_download() as info:
        page.click("[data-geomap=list-csv]")
    raw = Path(info.value.path()).read_bytes()
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))), raw


def view_without_edge_cases(page: Any, gdf: Any, i: int, zoom: int) -> set[str]:
    """Centre the view near parcel i (moved a little until no parcel lies within 2 m of
    its edges); the codes of the parcels in it."""
    for k in range(20):
        page.evaluate(
            f"(() => {{ const p = geomap.layers.layer0.host.pointOf({i});"
            f" geomap.map.setView([p.lat + {k} * 0.0003, p.lng + {k} * 0.0005], {zoom},"
            " {animate: false}); })()"
        )
        inside, near = in_view(page, gdf)
        if not near:
            page.evaluate("geomap.list.settled()")
            return inside
    raise AssertionError("no view without parcels on its edges")


def test_the_list_holds_the_parcels_in_view(browser: Any, served: tuple[str, Path, Any]) -> None:
    url, _, gdf = served
    page, seen = open_served(browser, url)
    host = "geomap.layers.layer0.host"
    detail = page.evaluate("geomap.layers.layer0.data.tiles.minZoom")
    # Below the full-detail zoom the list says how far to zoom in, and a button does it.
    page.evaluate(f"geomap.map.setZoom({detail - 1}, {{animate: false}})")
    page.click("[data-geomap=list-toggle]")
    note = page.wait_for_selector("[data-geomap=list-note]", state="visible")
    assert (
        f"请放大到第 {detail} 级" in note.text_content() and "还需放大 1 级" in note.text_content()
    )
    page.click("[data-geomap=list-zoom]")
    page.wait_for_function(
        "document.querySelector('.gm-list-title').textContent.includes('当前视图内')"
    )
    assert page.evaluate("geomap.map.getZoom()") == detail
    assert not page.is_visible("[data-geomap=list-note]")
    # At zoom 15 around parcel 5 (whose name is markup) and parcel 6 (a formula): the rows
    # are exactly the parcels in view, read from the tiles, and follow the view.
    page.evaluate(f"Promise.all([5, 1500, 2900].map(i => new Promise(r => {host}.locate(i, r))))")
    for i, zoom in ((5, 15), (1500, 14), (2900, 15)):
        inside = view_without_edge_cases(page, gdf, i, zoom)
        assert f"当前视图内 {len(inside):,} 项" in page.text_content(".gm-list-title")
        table, raw = listed(page)
        assert table[0] == ["名称", "编码", "收入（万元）"]
        codes = [r[1] for r in table[1:]]
        assert sorted(codes) == sorted(inside) and len(codes) == len(set(codes)), i
        assert PRIVATE_MARK.encode() not in raw
        rows = {r[1]: r for r in table[1:]}
        code = gdf["code"][i]
        assert rows[code][0] == {5: XSS, 6: FORMULA}.get(i, gdf["name"][i])
        assert float(rows[code][2]) == gdf["value"][i]
        if i == 5:
            # The formula is neutralised in the CSV; the markup stays text in the row.
            assert rows[gdf["code"][6]][0] == "'" + FORMULA
            cell = page.text_content(f"[data-geomap=list] [data-geomap-key={code}] .gm-list-cell")
            assert cell == XSS
    assert page.evaluate("window.__pwned") is None
    # Filters apply: a facet chip off drops its parcels from the list.
    status = gdf["status"][2900]
    page.click(f".gm-facets [data-geomap=facet][data-value='{status}']")
    page.evaluate("geomap.list.settled()")
    table, _ = listed(page)
    kept = gdf[gdf["code"].isin(inside) & (gdf["status"] != status)]
    assert sorted(r[1] for r in table[1:]) == sorted(kept["code"])
    page.click(f".gm-facets [data-geomap=facet][data-value='{status}']")
    page.evaluate("geomap.list.settled()")
    # Sorted by 收入, then a click on a row zooms to that parcel and opens its popup.
    page.click(".gm-list-header button:has-text('收入')")
    values = page.eval_on_selector_all(
        "[data-geomap=list] [data-geomap-key]", "rs => rs.map(r => r.children[2].textContent)"
    )
    numbers = [float(v.replace(",", "").replace("万元", "").strip()) for v in values]
    assert numbers == sorted(numbers) and len(numbers) == len(inside)
    code = page.get_attribute(
        "[data-geomap=list] [data-geomap-key]:nth-child(3)", "data-geomap-key"
    )
    j = int(gdf.index[gdf["code"] == code][0])
    page.click(f"[data-geomap=list] [data-geomap-key={code}]")
    popup = page.wait_for_selector(".leaflet-popup .gm-popup")
    assert code in popup.text_content() and gdf["name"][j] in popup.text_content()
    assert page.evaluate("geomap.map.getZoom()") > 15
    assert page.evaluate(f"{host}.hitAt(geomap.map.getCenter())") == j
    assert seen["outside"] == [] and seen["errors"] == []
    page.close()


def test_opened_from_disk_it_says_how_to_serve(
    open_page: Any, served: tuple[str, Path, Any]
) -> None:
    _, root, _ = served
    opened = open_page(root / "maps" / "county.html")
    text = opened.page.text_content("[data-geomap=tiles-notice]")
    assert "geomap serve" in text and "http://127.0.0.1:8000/county.html" in text
    assert "3,000" in text
    # The summary grid is drawn instead; nothing tried to read the tiles from disk.
    assert opened.page.evaluate(
        "geomap.layers.layer0.host.hasLayer(geomap.layers.layer0.host.grid)"
    )
    # The list cannot read the features either, and says how to serve the map.
    opened.page.click("[data-geomap=list-toggle]")
    note = opened.page.wait_for_selector("[data-geomap=list-note]", state="visible")
    assert "geomap serve" in note.text_content() and "清单不可用" in note.text_content()
    assert not opened.page.is_visible("[data-geomap=list-zoom]")
    assert opened.console_errors == [] and opened.failed_requests == []


def test_below_full_detail_the_overview_names_its_counts(
    browser: Any, served: tuple[str, Path, Any]
) -> None:
    url = served[0]
    page, seen = open_served(browser, url)
    host = "geomap.layers.layer0.host"
    zoom = page.evaluate(f"{host}.tiles && geomap.layers.layer0.data.tiles.minZoom") - 1
    page.evaluate(f"geomap.map.setZoom({zoom}, {{animate: false}})")
    assert page.evaluate(f"{host}.hasLayer({host}.grid) && !{host}.hasLayer({host}.tiles)")
    counts = page.evaluate("geomap.layers.layer0.data.tiles.gridCounts")
    assert sum(counts) == N
    # Hover the first block (西南片) at a point inside it.
    x, y = page.evaluate(
        f"(() => {{ var b = {host}.grid.getLayers().find(l => l.feature.properties.name === '西南片');"
        " var c = b.getBounds().getCenter(); var p = geomap.map.latLngToContainerPoint(c);"
        " var r = geomap.map.getContainer().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; })()"
    )
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y)
    page.wait_for_selector(".leaflet-tooltip .gm-tooltip")
    text = page.text_content(".leaflet-tooltip .gm-tooltip")
    assert "西南片" in text and f"{counts[0]:,} 个" in text
    note = page.text_content("[data-geomap=tiles-note]")
    assert "按片区汇总的图斑数" in note and f"全部 {N:,} 个图斑" in note
    assert seen["outside"] == [] and seen["errors"] == []
    page.close()


def test_a_view_reads_its_tiles_in_a_few_joined_requests(
    browser: Any, served: tuple[str, Path, Any]
) -> None:
    """ranges.js: the tiles of a view come in a few Range requests (the archive is
    clustered), every one answered 206, and the parcels drawn are the right ones."""
    url, _, gdf = served
    page, seen = open_served(browser, url)
    src = "geomap.layers.layer0.host.source.source"
    page.wait_for_load_state("networkidle")
    before = page.evaluate(f"[{src}.asked, {src}.requests]")
    seen["ranges"].clear()
    # The middle of the parcels at the full-detail zoom + 1: a view of many tiles.
    detail = page.evaluate("geomap.layers.layer0.data.tiles.minZoom")
    x, y = gdf.geometry.union_all().centroid.coords[0]
    page.evaluate(f"void geomap.map.setView([{y}, {x}], {detail + 1}, {{animate: false}})")
    page.wait_for_function(
        "(() => { const t = geomap.layers.layer0.host.tiles; const k = Object.keys(t._tiles);"
        " return k.length > 0 && k.every(x => t._tiles[x].loaded); })()",
        timeout=15000,
    )
    page.wait_for_load_state("networkidle")
    after = page.evaluate(f"[{src}.asked, {src}.requests]")
    asked, requests = after[0] - before[0], after[1] - before[1]
    # (Empty tiles ask nothing: the archive's directory says they are missing.)
    assert asked >= 8, asked
    assert requests <= asked / 3, (asked, requests)
    assert len(seen["ranges"]) == requests
    assert all(status == 206 for status, _ in seen["ranges"])
    for i in (0, N // 2, N - 1):
        x, y = zoom_to(page, i)
        page.mouse.move(x, y)
        page.wait_for_selector(".leaflet-tooltip .gm-tooltip")
        assert gdf["code"][i] in page.text_content(".leaflet-tooltip .gm-tooltip")
    assert seen["outside"] == [] and seen["errors"] == []
    page.close()


def test_serve_answers_ranges_and_keeps_everything_outside_maps_private(
    served: tuple[str, Path, Any],
) -> None:
    import http.client
    import urllib.parse

    url, root, _ = served
    (root / "maps" / "leak.geojson").symlink_to(root / "layers" / "parcels.geojson")
    where = urllib.parse.urlsplit(url)

    def get(path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body

    status, body = get("/county.tiles/layer0.pmtiles", {"Range": "bytes=0-6"})
    assert (status, body) == (206, b"PMTiles")
    for path in (
        "/../layers/parcels.geojson",
        "/%2e%2e/layers/parcels.geojson",
        "/..%2flayers/parcels.toml",
        "/leak.geojson",  # a symlink out of maps/
    ):
        status, body = get(path)
        assert status == 404 and PRIVATE_MARK.encode() not in body, path
    assert get("/")[0] == 200  # the gallery


def test_serve_on_a_taken_port_says_so(tmp_path: Path) -> None:
    import socket

    from geomap.errors import GeomapError
    from geomap.serve import bind

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        with pytest.raises(GeomapError, match="换一个端口"):
            bind("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()
