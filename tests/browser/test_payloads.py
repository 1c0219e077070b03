"""Issue 7, escaping: an atlas in which every string is an injection payload.

Values, column names, field labels and units, layer titles, table titles, column labels and
units, map titles, subtitles, descriptions and sources, category values of a categorical
legend and the unit of a choropleth are all drawn from :data:`payloads.PAYLOADS`. The atlas
is rendered by a separate ``geomap render`` process (so that its process id is known), then
every map is opened in Chromium and each string must show literally (``textContent``) in
the tooltip, popup, legend, layer control, header, footer and search results, with no
script run, no element injected and no template evaluated.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import sample_atlas
import tomli_w
from browser_helpers import open_map
from helpers import run
from payloads import LONG, MARKER, PAYLOADS, PLACEHOLDERS, html_parsed
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sample_atlas import write, write_layer
from shapely.geometry import Point, box

from geomap import assets as assetlib

pytestmark = pytest.mark.browser

P = PAYLOADS
R = [x for x in P if x != LONG]  # the 100 KB payload gets slots of its own (see below)
N = len(R)  # features of the hostile layer
COLS = 6  # features laid out in a grid of COLS columns
SIZE = 0.004
X0, Y0 = 119.46, 28.44
SMALL_MAPS = 12  # small maps rotate the map-level strings (title, subtitle, ...)

# Table columns: the layer already uses every payload as a column name, so the table's
# names carry a prefix (a joined column replaces a layer column of the same name).
T_KEY, T_NUM, T_TEXT = "表·" + R[0], "表·" + R[1], "表·" + R[2]
COUNT_COL = "数·" + R[15]
KEY = R[0]
# The name column is named by the 100 KB payload and holds it as feature 0's name (and so as
# a category of the legend): one tooltip and one popup carry it, as many as a hover loop can
# afford (a 100 KB tooltip takes Chromium most of a second to lay out).
NAME = LONG


def p(i: int) -> str:
    """Single strings (titles, sources, labels of the table) from the full list."""
    return P[i % len(P)]


def r(i: int) -> str:
    return R[i % N]


def label(j: int) -> str:
    """Label of layer column R[j]."""
    return r(j + 5)


def unit(j: int) -> str:
    return r(j + 11)


def value(i: int, j: int) -> str:
    """Feature i's value in column R[j]: every column holds every payload once."""
    return r(i + j)


def name(i: int) -> str:
    return LONG if i == 0 else r(i)


def number(i: int) -> float:
    return i * 1.5 + 0.25


HOSTILE_META = {
    "title": p(3),
    "kind": "parcel",
    "key": KEY,
    "name_field": NAME,
    "source": p(4),
    "description": p(5),
    "fields": {
        **{R[j]: {"label": label(j), "unit": unit(j)} for j in range(N)},
        NAME: {"label": r(4), "unit": r(9)},
    },
}
PTS_META = {
    "title": p(18),
    "kind": "point",
    "key": p(6),
    "name_field": p(7),
    "source": p(19),
    "fields": {p(6): {"label": r(20), "unit": r(21)}, p(7): {"label": r(22)}},
}
TABLE_META = {
    "title": p(23),
    "key": T_KEY,
    "source": p(24),
    "columns": {
        T_KEY: {"label": p(25), "type": "text"},
        T_NUM: {"label": p(26), "unit": p(27), "type": "number"},
        T_TEXT: {"label": p(28), "unit": p(29), "type": "text"},
    },
}
HOSTILE_SPEC = {
    "title": p(10),
    "subtitle": p(11),
    "description": p(12),
    "sources": [p(13)],
    "basemap": "none",
    "layers": [
        {
            "layer": "hostile",
            "title": p(14),
            "tooltip": [*R, T_NUM, T_TEXT, COUNT_COL],
            "join": {"table": "hostile_t", "on": KEY},
            "rollup": {"from": "pts", "count": COUNT_COL},
            "style": {"type": "categorical", "column": NAME, "colors": {r(30): "#e31a1c"}},
        },
        {
            "layer": "hostile",
            "title": p(16),
            "show": False,
            "join": {"table": "hostile_t", "on": KEY},
            "style": {"type": "choropleth", "column": T_NUM, "k": 4, "scheme": "quantiles"},
        },
        {"layer": "pts", "title": p(17)},
        {
            # The fast canvas layer (used for large layers) shares tooltips and popups.
            "layer": "hostile",
            "title": p(15),
            "show": False,
            "fast": True,
            "tooltip": [R[0], R[3], NAME],
            "style": {"type": "categorical", "column": R[3]},
        },
    ],
}


def small_spec(k: int) -> dict[str, Any]:
    """Map ``m{k}``: each payload is the title, subtitle or description of one small map."""
    return {
        "title": p(3 * k),
        "subtitle": p(3 * k + 1),
        "description": p(3 * k + 2),
        "sources": [p(3 * k + 7)],
        "basemap": "none",
        "layers": [{"layer": "pts", "title": p(3 * k + 8)}],
    }


def build_hostile(root: Path) -> Path:
    cells = [
        box(
            X0 + (i % COLS) * SIZE * 1.2,
            Y0 + (i // COLS) * SIZE * 1.2,
            X0 + (i % COLS) * SIZE * 1.2 + SIZE,
            Y0 + (i // COLS) * SIZE * 1.2 + SIZE,
        )
        for i in range(N)
    ]
    columns = {R[j]: [value(i, j) for i in range(N)] for j in range(N)}
    columns[NAME] = [name(i) for i in range(N)]
    hostile = gpd.GeoDataFrame(columns, geometry=cells, crs=4326)
    write_layer(root, "hostile", hostile, HOSTILE_META)
    # One point in the lower-left corner of each cell (away from the cell's centre, where
    # the tests hover).
    pts = gpd.GeoDataFrame(
        {p(6): [f"P{i}" for i in range(N)], p(7): [r(i + 9) for i in range(N)]},
        geometry=[Point(c.bounds[0] + SIZE * 0.1, c.bounds[1] + SIZE * 0.1) for c in cells],
        crs=4326,
    )
    write_layer(root, "pts", pts, PTS_META)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([T_KEY, T_NUM, T_TEXT])
    for i in range(N):
        writer.writerow([value(i, 0), repr(number(i)), r(i + 31)])
    write(root / "data" / "hostile_t.csv", out.getvalue())
    write(root / "data" / "hostile_t.toml", tomli_w.dumps(TABLE_META))
    write(root / "maps" / "hostile.toml", tomli_w.dumps(HOSTILE_SPEC))
    for k in range(SMALL_MAPS):
        write(root / "maps" / f"m{k:02d}.toml", tomli_w.dumps(small_spec(k)))
    return root


def render_in_subprocess(root: Path) -> tuple[int, subprocess.CompletedProcess[str]]:
    """``geomap render`` in its own process; returns that process's id and its outcome."""
    cmd = [
        sys.executable,
        "-c",
        "from geomap.cli.main import main; main()",
        "--atlas",
        str(root),
        "render",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=240)
    return proc.pid, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = build_hostile(tmp_path_factory.mktemp("hostile") / "atlas")
    assert not MARKER.exists()
    pid, done = render_in_subprocess(root)
    return {"root": root, "pid": pid, "result": done}


# ---------------------------------------------------------------------------------------
# Python side: the render itself


def data_block(page: str) -> Any:
    """The page's JSON data block, parsed (fails if it is not valid JSON)."""
    start = page.index('<script type="application/json" id="geomap-data">')
    text = page[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(text)


def without_assets(page: str) -> str:
    """The page minus the vendored scripts and styles (which hold unrelated numbers)."""
    for text in (
        assetlib.leaflet_css_inline(),
        assetlib.read("leaflet/leaflet.js"),
        assetlib.read("geomap.css"),
        assetlib.client_script(),
    ):
        page = page.replace(text, "")
    return page


def test_render_succeeds_and_evaluates_no_template(hostile: dict[str, Any]) -> None:
    done, root, pid = hostile["result"], hostile["root"], hostile["pid"]
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert not MARKER.exists(), "a Jinja payload ran os.system on the rendering machine"
    pages = sorted((root / "maps").glob("*.html"))
    assert len(pages) == SMALL_MAPS + 2  # the maps and index.html
    standalone = re.compile(rf"(?<![0-9A-Za-z.]){pid}(?![0-9A-Za-z.])")
    for page_path in pages:
        page = page_path.read_text(encoding="utf-8")
        assert not standalone.search(without_assets(page)), (page_path.name, pid)
    page = (root / "maps" / "hostile.html").read_text(encoding="utf-8")
    # Jinja text is kept literally (nothing in it needs JSON escaping).
    for payload in (p(8), p(9), p(10), p(11), p(12), p(13), p(14)):
        assert payload in page, payload
    # Nothing that could close or comment out the data block reaches the page raw.
    data = page.split('<script type="application/json" id="geomap-data">', 1)[1]
    data = data.split("</script>", 1)[0]
    for raw in ("<", ">", "\u2028", "\u2029", "\x00"):
        assert raw not in data, repr(raw)


# ---------------------------------------------------------------------------------------
# Browser side

DOM_AUDIT = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) bad.push(el.tagName + '[' + a.name + ']');
      if (/^\\s*javascript:/i.test(a.value)) bad.push(el.tagName + '[' + a.name + '=js]');
    }
  }
  const tags = 'img,svg,iframe,object,embed,math,details,base,frame,video,audio,input[autofocus]';
  for (const el of document.querySelectorAll(tags)) {
    // Leaflet's own attribution link carries a small SVG flag.
    if (el.tagName === 'svg' && el.closest('.leaflet-control-attribution a[href="https://leafletjs.com"]')) continue;
    bad.push('element ' + el.tagName);
  }
  return {
    bad: bad,
    scripts: document.querySelectorAll('script').length,
    styles: document.querySelectorAll('style').length,
    pwned: typeof window.__pwned === 'undefined' ? null : String(window.__pwned),
    parentPwned: typeof window.parent.__pwned === 'undefined' ? null : 1
  };
}"""


def audit(page: Any, html: str) -> None:
    """No script ran and no element or handler was injected."""
    found = page.evaluate(DOM_AUDIT)
    assert found["pwned"] is None, f"payload {found['pwned']} ran"
    assert found["parentPwned"] is None
    assert found["bad"] == []
    assert found["scripts"] == html.count("<script")
    assert found["styles"] == html.count("<style")


def texts(page: Any, selector: str) -> list[str]:
    return page.evaluate(
        "s => Array.from(document.querySelectorAll(s), e => e.textContent)", selector
    )


def expected_sources(spec_sources: list[str], layers: list[str]) -> str:
    metas = {"hostile": HOSTILE_META, "pts": PTS_META}
    found: list[str] = []
    for name in layers:
        found.append(metas[name]["source"])
        if name == "hostile":
            found.append(TABLE_META["source"])
    unique = list(dict.fromkeys([*found, *spec_sources]))
    return "资料来源：" + "；".join(unique)


def overlay_names(page: Any) -> list[str]:
    # Leaflet writes ' ' + name into the label's innerHTML; geomap escapes the name first.
    return [t[1:] for t in texts(page, ".leaflet-control-layers-overlays label span span")]


def test_hostile_map_shows_every_string_literally(hostile: dict[str, Any], browser) -> None:
    root = hostile["root"]
    assert hostile["result"].returncode == 0, hostile["result"].stderr
    html_path = root / "maps" / "hostile.html"
    html = html_path.read_text(encoding="utf-8")
    opened = open_map(browser, html_path)
    page = opened.page
    try:
        # Header and footer.
        assert texts(page, ".gm-header h1") == [p(10)]
        assert texts(page, ".gm-subtitle") == [p(11)]
        assert texts(page, ".gm-description") == [p(12)]
        footer = texts(page, ".gm-footer > div")
        assert expected_sources([p(13)], ["hostile", "hostile", "pts"]) in footer
        # The page title, as the HTML parser keeps RCDATA (NUL becomes U+FFFD).
        title = page.evaluate("document.querySelector('title').textContent")
        assert title == html_parsed(p(10).replace("\x00", "\ufffd"))

        # Layer control: every layer title, literally.
        assert overlay_names(page) == [html_parsed(t) for t in (p(14), p(16), p(17), p(15))]

        # Legends: the categorical one lists every payload as a category.
        legend0 = ".gm-legend-section[data-layer=layer0]"
        assert texts(page, f"{legend0} .gm-legend-title") == [f"{p(14)} · {r(4)}（{r(9)}）"]
        declared = r(30)
        assert texts(page, f"{legend0} .gm-legend-label") == [
            declared,
            *sorted(name(i) for i in range(N) if name(i) != declared),
        ]
        legend1 = ".gm-legend-section[data-layer=layer1]"
        assert texts(page, f"{legend1} .gm-legend-title") == [f"{p(16)} · {p(26)}（{p(27)}）"]
        classes = texts(page, f"{legend1} .gm-legend-label")
        assert len(classes) == 4 and all(c.endswith(" " + p(27)) for c in classes), classes
        assert texts(page, ".gm-legend-section[data-layer=layer2] .gm-legend-label") == [p(17)]
        legend3 = ".gm-legend-section[data-layer=layer3]"
        assert texts(page, f"{legend3} .gm-legend-title") == [f"{p(15)} · {label(3)}（{unit(3)}）"]
        assert texts(page, f"{legend3} .gm-legend-label") == sorted(R)

        # Tooltips: hover every feature of the first layer. One zoom level out, the cells
        # sit in the middle of the map, clear of the header, footer, legend and controls.
        page.evaluate("geomap.map.setZoom(geomap.map.getZoom() - 1, {animate: false})")
        view = page.evaluate("[geomap.map.getCenter(), geomap.map.getZoom()]")
        # Popups pan the map to fit: put the view back before pointing at a feature.
        restore = "v => geomap.map.setView(v[0], v[1], {animate: false})"
        page.wait_for_timeout(100)
        rows_js = (
            "() => { const t = document.querySelector('.leaflet-tooltip .gm-tooltip');"
            " if (!t) return null;"
            " return [t.querySelector('.gm-tooltip-title').textContent,"
            " Array.from(t.querySelectorAll('tr'), r => [r.cells[0].textContent,"
            " r.cells[1].textContent])]; }"
        )
        for i in range(N):
            x, y = page.evaluate(f"geomap.pointOf('layer0', {i})")
            page.wait_for_timeout(35)  # Leaflet's canvas handles one move per 32 ms
            page.mouse.move(x, y)
            page.wait_for_function(
                "n => { const t = document.querySelector('.leaflet-tooltip .gm-tooltip-title');"
                " return t && t.textContent === n; }",
                arg=name(i),
                timeout=5000,
            )
            heading, rows = page.evaluate(rows_js)
            assert heading == name(i)
            expected = [[label(j), f"{value(i, j)} {unit(j)}"] for j in range(N)]
            expected += [
                [p(26), f"{number(i):g} {p(27)}"],
                [p(28), f"{r(i + 31)} {p(29)}"],
                [f"{p(18)}数量", "1"],
            ]
            assert rows == expected, i
        # The same strings through the fast canvas layer (its own hit testing).
        overlays = page.locator(".leaflet-control-layers-overlays input")
        overlays.nth(0).uncheck()
        overlays.nth(3).check()
        assert page.locator(legend3).is_visible()
        for i in (0, 1, 7, 16, 17, 20, 34):
            x, y = page.evaluate(f"geomap.pointOf('layer3', {i})")
            page.wait_for_timeout(35)
            page.mouse.move(x, y)
            page.wait_for_function(
                "n => { const t = document.querySelector('.leaflet-tooltip .gm-tooltip-title');"
                " return t && t.textContent === n; }",
                arg=name(i),
                timeout=5000,
            )
            heading, rows = page.evaluate(rows_js)
            assert heading == name(i)
            assert rows == [
                [label(0), f"{value(i, 0)} {unit(0)}"],
                [label(3), f"{value(i, 3)} {unit(3)}"],
                [r(4), f"{name(i)} {r(9)}"],
            ], i
        x, y = page.evaluate("geomap.pointOf('layer3', 5)")
        page.mouse.click(x, y)
        popup = page.wait_for_selector(".leaflet-popup-content .gm-popup")
        assert popup.evaluate("e => e.querySelector('.gm-popup-layer').textContent") == p(15)
        assert popup.evaluate("e => e.querySelector('h3').textContent") == name(5)
        page.evaluate("geomap.map.closePopup()")
        overlays.nth(3).uncheck()
        overlays.nth(0).check()
        page.mouse.move(1, 1)

        # A real click opens the same popup.
        page.evaluate(restore, view)
        x, y = page.evaluate("geomap.pointOf('layer0', 3)")
        page.mouse.click(x, y)
        popup = page.wait_for_selector(".leaflet-popup-content .gm-popup")
        assert popup.evaluate("e => e.querySelector('h3').textContent") == name(3)

        page.evaluate("geomap.map.closePopup()")

        # Search, and the popup a result opens: every feature's name, every layer title.
        search_js = """(queries) => {
          const input = document.querySelector('.gm-search input');
          const out = [];
          for (const [q, want, layer] of queries) {
            input.value = q;
            input.dispatchEvent(new Event('input'));
            const items = Array.from(document.querySelectorAll('.gm-search-results li'));
            const found = items.map(li => [
              li.querySelector('.gm-search-name') ? li.querySelector('.gm-search-name').textContent : null,
              li.querySelector('.gm-search-layer') ? li.querySelector('.gm-search-layer').textContent : null]);
            const hit = items.find(li => li.querySelector('.gm-search-name') &&
                                         li.querySelector('.gm-search-name').textContent === want &&
                                         li.querySelector('.gm-search-layer').textContent === layer);
            let popup = null;
            if (hit) {
              hit.click();
              // A closed popup fades out for 200 ms: the newest one is the last.
              const boxes = document.querySelectorAll('.leaflet-popup-content .gm-popup');
              const box = boxes[boxes.length - 1];
              popup = box && [box.querySelector('.gm-popup-layer').textContent,
                              box.querySelector('h3').textContent,
                              Array.from(box.querySelectorAll('tr'),
                                         r => [r.cells[0].textContent, r.cells[1].textContent])];
              geomap.map.closePopup();
            }
            out.push({found: found, popup: popup});
          }
          return out;
        }"""

        def query(text: str) -> str:
            # A search box drops line breaks; a short, distinctive piece is enough.
            piece = max(re.split(r"[\r\n]", text), key=len)[:40]
            return piece.strip()

        names = [name(i) for i in range(N)]
        results = page.evaluate(search_js, [[query(n), n, p(14)] for n in names])
        for i, res in enumerate(results):
            assert [names[i], p(14)] in res["found"], (i, res["found"])
            assert res["popup"] is not None, i
            layer_title, heading, rows = res["popup"]
            assert (layer_title, heading) == (p(14), names[i])
            assert len(rows) == N + 4
            assert [label(5), f"{value(i, 5)} {unit(5)}"] in rows
            assert [r(4), f"{names[i]} {r(9)}"] in rows
            assert [p(28), f"{r(i + 31)} {p(29)}"] in rows
        pts_names = [r(i + 9) for i in range(N)]
        results = page.evaluate(search_js, [[query(n), n, p(17)] for n in pts_names])
        for i, res in enumerate(results):
            assert [pts_names[i], p(17)] in res["found"], (i, res["found"])
            assert res["popup"][:2] == [p(17), pts_names[i]]
            # Field r(22) holds the name: the heading shows it, no row repeats it.
            assert res["popup"][2] == [[r(20), f"P{i} {r(21)}"]]

        # The hidden choropleth layer: switching it on shows its legend, runs nothing.
        page.locator(".leaflet-control-layers-overlays input").nth(1).check()
        assert page.locator(legend1).is_visible()

        audit(page, html)
        assert opened.console_errors == []
        assert opened.failed_requests == []
    finally:
        page.close()


def test_small_maps_show_titles_and_sources_literally(hostile: dict[str, Any], browser) -> None:
    root = hostile["root"]
    assert hostile["result"].returncode == 0, hostile["result"].stderr
    # One page visits every small map (opening a fresh page each time costs more than the map).
    first = open_map(browser, root / "maps" / "m00.html")
    page, errors = first.page, first.console_errors
    try:
        for k in range(SMALL_MAPS):
            spec = small_spec(k)
            html_path = root / "maps" / f"m{k:02d}.html"
            if k:
                page.goto(html_path.as_uri())
                page.wait_for_function("window.geomap && window.geomap.ready === true")
            assert texts(page, ".gm-header h1") == [spec["title"]], k
            assert texts(page, ".gm-subtitle") == [spec["subtitle"]], k
            assert texts(page, ".gm-description") == [spec["description"]], k
            footer = texts(page, ".gm-footer > div")
            assert expected_sources(spec["sources"], ["pts"]) in footer, k
            layer_title = spec["layers"][0]["title"]
            assert overlay_names(page) == [html_parsed(layer_title)], k
            # A single-style layer names itself once in the legend, as its only item.
            legend = texts(page, ".gm-legend-title") + texts(page, ".gm-legend-label")
            assert legend == [layer_title], k
            audit(page, html_path.read_text(encoding="utf-8"))
            assert errors == [], k
        assert first.failed_requests == []
    finally:
        page.close()


def test_index_page_shows_hostile_titles_literally(hostile: dict[str, Any], browser) -> None:
    root = hostile["root"]
    index = root / "maps" / "index.html"
    html = index.read_text(encoding="utf-8")
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    try:
        page.goto(index.as_uri())
        specs = {"hostile": HOSTILE_SPEC} | {f"m{k:02d}": small_spec(k) for k in range(SMALL_MAPS)}
        names = sorted(specs)
        assert texts(page, "li h2") == [html_parsed(specs[n]["title"]) for n in names]
        assert texts(page, "li p") == [html_parsed(specs[n]["description"]) for n in names]
        assert texts(page, "li code") == names
        audit(page, html)
        assert errors == []
    finally:
        page.close()


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_renderer_placeholders_in_data_stay_data(tmp_path: Path, browser, placeholder) -> None:
    """geomap splices its head, its data and its script into folium's page by replacing
    marker strings; a title or a value equal to a marker must stay plain data."""
    root = sample_atlas.build(
        tmp_path / "atlas", village_names=[("V1", "西一村"), ("V2", placeholder), ("V3", "九村")]
    )
    spec_path = root / "maps" / "economy.toml"
    spec = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    spec.update(title=placeholder, subtitle=placeholder + "副")
    spec["layers"][0]["title"] = placeholder
    write(spec_path, tomli_w.dumps(spec))
    result = run(root, "render", "economy")
    assert result.exit_code == 0, result.output
    html_path = root / "maps" / "economy.html"
    data = data_block(html_path.read_text(encoding="utf-8"))
    assert (data["title"], data["subtitle"]) == (placeholder, placeholder + "副")
    assert [layer["title"] for layer in data["layers"]] == [placeholder, "道路"]
    assert all(isinstance(layer["geoms"], list) for layer in data["layers"])
    opened = open_map(browser, html_path)
    try:
        page = opened.page
        assert texts(page, ".gm-header h1") == [placeholder]
        assert overlay_names(page) == [placeholder, "道路"]
        page.fill(".gm-search input", placeholder)
        assert texts(page, ".gm-search-name") == [placeholder]
        assert opened.console_errors == []
    finally:
        opened.page.close()


@pytest.mark.parametrize(
    "titles",
    [
        ("__proto__", "道路"),
        ("constructor", "hasOwnProperty"),
        ("toString", "__defineGetter__"),
        ("同名", "同名"),
    ],
    ids=["__proto__", "constructor", "toString", "duplicate"],
)
def test_layer_control_lists_every_layer_whatever_its_title(
    tmp_path: Path, browser, titles: tuple[str, str]
) -> None:
    """Layer titles are keys of a JavaScript object in the client: names such as
    ``__proto__``, or two layers with one title, must not lose a layer or break the map."""
    root = sample_atlas.build(tmp_path / "atlas")
    spec = {
        "title": titles[0],
        "basemap": "none",
        "layers": [
            {"layer": "villages", "title": titles[0]},
            {"layer": "roads", "title": titles[1]},
        ],
    }
    write(root / "maps" / "titles.toml", tomli_w.dumps(spec))
    assert run(root, "render", "titles").exit_code == 0
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto((root / "maps" / "titles.html").as_uri())
        try:
            page.wait_for_function("window.geomap && window.geomap.ready === true", timeout=5000)
            ready = True
        except PlaywrightTimeout:
            ready = False
        assert errors == [] and ready, errors
        assert overlay_names(page) == list(titles)
        assert texts(page, ".gm-header h1") == [titles[0]]
    finally:
        page.close()
