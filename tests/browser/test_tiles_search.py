"""Search of a tiled layer through `geomap serve` (issue 18): the page scans the gzipped
text index written at render time, kept in memory when small and streamed per search when
large (forced here with a small threshold). A result zooms to its parcel and opens its
popup; names with tabs, line breaks, backslashes or markup are found and shown as text;
an answer to an earlier query never shows; streamed and in-memory searches give the
features Python finds in the names."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import run
from parcels_atlas import XSS, build

pytestmark = pytest.mark.browser
N = 2000
REPO = Path(__file__).resolve().parents[2]
HOST = "geomap.layers.layer0.host"
NAMES: dict[int, str | None] = {
    10: "甲\t乙地块",  # a tab
    11: "上村\n下村",  # a line break
    12: "C:\\tmp\\new 地块",  # backslashes before t and n: not escapes
    13: "Zhang Ming 张明地块",  # capitals
    14: None,
    15: "\\",
    1999: "末尾\r地块",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Path]]:
    root = tmp_path_factory.mktemp("search")
    gdf = build(root, N, names=NAMES)
    assert run(root, "render", "county").exit_code == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "geomap", "--atlas", str(root), "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # printed once the socket listens
        yield line[line.index("http://") :].split()[0], gdf, root
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def open_served(browser: Any, url: str, *, streamed: bool = False) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(url) else route.abort(),
    )
    page.goto(url + "county.html")
    page.wait_for_function("window.geomap && window.geomap.ready === true", timeout=30000)
    if streamed:
        # Every search streams the index, in pieces of ~3,000 characters (about 100 lines):
        # matches across many piece boundaries.
        page.evaluate(
            "geomap.lib.tileIndex.settings.inMemory = 0; geomap.lib.tileIndex.settings.piece = 3000"
        )
    assert page.evaluate(f"{HOST}.searchStreamed()") is streamed
    return page, errors


def expected(gdf: Any, query: str, limit: int = 12) -> list[list[Any]]:
    """What a search must answer: the first parcels whose name holds the query, any case."""
    q = query.lower()
    return [[i, n] for i, n in enumerate(gdf["name"]) if isinstance(n, str) and q in n.lower()][
        :limit
    ]


SEARCH = f"""([q, limit]) => new Promise(r => {HOST}.search(q, limit,
  res => r(res.map(m => [m.i, m.name]))))"""
QUERIES = [
    "试验1",
    "试验19",
    "乙地",
    "上村\n下",
    "下村",
    "\\",
    "\\t",
    "\\n",
    "zhang m",
    "ZHANG",
    "<img",
    "onerror",
    "号地块",
    "不存在的名称",
    "\t",
    "t",
    "n",
    "0",
]


@pytest.mark.parametrize("streamed", [False, True])
def test_index_search_finds_what_python_finds(
    browser: Any, served: tuple[str, Any, Path], streamed: bool
) -> None:
    url, gdf, _ = served
    page, errors = open_served(browser, url, streamed=streamed)
    points: list[tuple[int, str | None]] = []
    page.on(
        "response",
        lambda r: (
            points.append((r.status, r.request.headers.get("range")))
            if r.url.endswith(".points.bin")
            else None
        ),
    )
    for q in QUERIES:
        assert page.evaluate(SEARCH, [q, 12]) == expected(gdf, q), q
    # All of them when the limit allows: the last parcel, after the last piece boundary.
    before = len(points)
    assert page.evaluate(SEARCH, ["地块", 5000]) == expected(gdf, "地块", 5000)
    # Their points (8 bytes each, 2,000 parcels: 16 kB) are read in one joined request.
    page.wait_for_load_state("networkidle")
    assert len(points) - before == 1, points[before:]
    assert page.evaluate(SEARCH, ["末尾", 5]) == [[1999, NAMES[1999]]]
    # Each result's point is read (runs of them in one Range request): inside its parcel.
    found = [i for i, _ in expected(gdf, "地块", 5000)]
    located = page.evaluate(
        f"ids => ids.map(i => {HOST}.pointOf(i)).map(p => [p.lng, p.lat])", found
    )
    for i, (lng, lat) in zip(found, located, strict=True):
        minx, miny, maxx, maxy = gdf.geometry[i].bounds
        assert minx < lng < maxx and miny < lat < maxy, i
    # The points were read in pieces (HTTP 206 to Range requests), never the whole file.
    assert points and all(status == 206 and rng for status, rng in points)
    assert errors == []
    page.close()


@pytest.mark.parametrize("streamed", [False, True])
def test_a_new_search_drops_the_one_before(
    browser: Any, served: tuple[str, Any, Path], streamed: bool
) -> None:
    url, _, _ = served
    page, errors = open_served(browser, url, streamed=streamed)
    answers = page.evaluate(
        f"""() => new Promise(r => {{
          const got = [];
          {HOST}.search("试验1", 12, res => got.push(["first", res.length]));
          {HOST}.search("乙地", 12, res => {{
            got.push(["second", res.map(m => m.i)]);
            setTimeout(() => r(got), 300);
          }});
        }})"""
    )
    assert answers == [["second", [10]]]
    assert errors == []
    page.close()


def results(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        ".gm-search-results li .gm-search-name", "es => es.map(e => e.textContent)"
    )


@pytest.mark.parametrize("streamed", [False, True])
def test_search_box_finds_zooms_and_opens_the_popup(
    browser: Any, served: tuple[str, Any, Path], streamed: bool
) -> None:
    url, gdf, _ = served
    page, errors = open_served(browser, url, streamed=streamed)
    # A name with a tab, a line break, markup: found by a part of it, shown as the text.
    for query, i in (("乙地块", 10), ("下村", 11), ("onerror", 5), ("zhang", 13)):
        page.fill(".gm-search input", query)
        page.wait_for_selector(".gm-search-results li .gm-search-name")
        assert results(page) == [gdf["name"][i]]
    assert gdf["name"][5] == XSS and page.evaluate("window.__pwned") is None
    page.fill(".gm-search input", "甲\t乙")
    page.wait_for_selector(".gm-search-results li .gm-search-name")
    page.press(".gm-search input", "Enter")
    popup = page.wait_for_selector(".leaflet-popup .gm-popup")
    assert gdf["code"][10] in popup.text_content()
    assert page.evaluate("geomap.map.getZoom()") >= 15
    assert page.evaluate(f"{HOST}.hitAt(geomap.map.getCenter())") == 10
    assert page.locator(".gm-search-results li").count() == 0
    # Many matches: the first twelve; none: 未找到.
    page.fill(".gm-search input", "试验1")
    page.wait_for_selector(".gm-search-results li .gm-search-name")
    assert results(page) == [n for _, n in expected(gdf, "试验1")]
    page.fill(".gm-search input", "不存在的名称")
    page.wait_for_selector(".gm-search-results li.gm-search-none:not(.gm-search-pending)")
    assert page.locator(".gm-search-results li").all_inner_texts() == ["未找到"]
    # A result clicked: its parcel zoomed to, its popup open.
    i = 1234
    page.fill(".gm-search input", gdf["name"][i])
    page.wait_for_selector(".gm-search-results li .gm-search-name")
    page.evaluate("geomap.map.closePopup()")
    page.click(".gm-search-results li")
    popup = page.wait_for_selector(".leaflet-popup .gm-popup")
    assert gdf["code"][i] in popup.text_content()
    assert page.evaluate(f"{HOST}.hitAt(geomap.map.getCenter())") == i
    assert errors == []
    page.close()


def test_search_box_shows_only_the_answer_to_the_last_query(
    browser: Any, served: tuple[str, Any, Path]
) -> None:
    url, gdf, _ = served
    page, errors = open_served(browser, url)
    # The index answers the first query late (as a slow read would, with its true
    # answer): coming after the second query's answer, it must not reach the list.
    page.evaluate(
        f"""() => new Promise(r => {{
          const search = {HOST}.search;
          search("试验1", 12, early => {{
            {HOST}.search = function (q, limit, done) {{
              if (q !== "试验1") {{ search(q, limit, done); return; }}
              setTimeout(() => {{ done(early); window.lateDone = true; }}, 400);
            }};
            r();
          }});
        }})"""
    )
    page.fill(".gm-search input", "试验1")
    page.fill(".gm-search input", "乙地")
    page.wait_for_function("window.lateDone === true")
    page.evaluate("new Promise(r => setTimeout(r, 50))")
    assert results(page) == [gdf["name"][10]]
    assert errors == []
    page.close()


@pytest.mark.parametrize("streamed", [False, True])
def test_results_are_told_as_found_and_can_be_chosen_before_the_scan_ends(
    browser: Any, served: tuple[str, Any, Path], streamed: bool
) -> None:
    url, gdf, _ = served
    page, errors = open_served(browser, url, streamed=streamed)
    events = page.evaluate(
        f"""() => new Promise(r => {{
          const got = [];
          {HOST}.search("乙地", 12, res => {{ got.push(["done", res.map(m => m.i)]); r(got); }},
                        more => got.push(["found", more.map(m => m.i)]));
        }})"""
    )
    assert events == [["found", [10]], ["done", [10]]]
    # A scan still under way (as told here: parcel 1500 found, the end not yet reached):
    # the result is listed, and choosing it reads its point, zooms there, opens its popup.
    i = 1500
    page.evaluate(
        f"""name => {{
          {HOST}.search = (q, limit, done, found) =>
            setTimeout(() => found([{{i: {i}, name: name}}]), 50);
        }}""",
        gdf["name"][i],
    )
    page.fill(".gm-search input", gdf["name"][i])
    page.wait_for_selector(".gm-search-results li .gm-search-name")
    assert results(page) == [gdf["name"][i]]
    assert page.locator(".gm-search-results li.gm-search-pending").count() == 1
    assert page.evaluate(f"{HOST}.pointOf({i})") is None  # not read yet
    page.click(".gm-search-results li >> nth=0")
    popup = page.wait_for_selector(".leaflet-popup .gm-popup")
    assert gdf["code"][i] in popup.text_content()
    assert page.evaluate(f"{HOST}.hitAt(geomap.map.getCenter())") == i
    assert errors == []
    page.close()


def test_opened_from_disk_the_search_says_how_to_serve(
    open_page: Any, served: tuple[str, Any, Path]
) -> None:
    _, gdf, root = served
    opened = open_page(root / "maps" / "county.html")
    opened.page.fill(".gm-search input", gdf["name"][42])
    opened.page.wait_for_selector(".gm-search-results li.gm-search-error")
    assert opened.page.locator(".gm-search-results li").all_inner_texts() == [
        "「地块」在本地文件中无法搜索：请在图集目录运行 geomap serve 后打开地图"
    ]
    assert opened.console_errors == [] and opened.failed_requests == []
