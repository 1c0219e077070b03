"""Issue 11, classes 4 and 6: type-confused input gives one clear message, and no input
makes geomap reach outside (a network request).

Each case: `geomap render` exits 0 or 1 with one message and no traceback, the atlas is
unchanged apart from maps/, and `geomap check` reports an error exactly when render refuses.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pytest
from helpers import check_clean, invoke, snapshot
from shapely.geometry import Point

X0, Y0 = 119.46, 28.44


def spec(root: Path, text: str) -> None:
    (root / "maps" / "t.toml").write_text(
        'title = "t"\nbasemap = "none"\n[[layers]]\nlayer = "villages"\n' + text,
        encoding="utf-8",
    )


def edit_villages(root: Path, change: Callable[[dict[str, Any], int], None]) -> None:
    path = root / "layers" / "villages.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    for i, feature in enumerate(data["features"]):
        change(feature, i)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def table_geometry_column(root: Path) -> None:
    (root / "data" / "economy.csv").write_text(
        "code,income_2022,growth,geometry\nV1,1,2,x\nV2,2,3,y\nV3,3,4,z\n", encoding="utf-8"
    )


def list_column(root: Path) -> None:
    edit_villages(root, lambda f, i: f["properties"].update(tags=[i, "x"]))
    spec(root, 'style = {type = "categorical", column = "tags"}\n')


def list_choropleth(root: Path) -> None:
    edit_villages(root, lambda f, i: f["properties"].update(households=[i, 2]))
    spec(root, 'style = {type = "choropleth", column = "households"}\n')


def list_join_key(root: Path) -> None:
    edit_villages(root, lambda f, i: f["properties"].update(code=[f["properties"]["code"]]))


CASES: dict[str, Callable[[Path], None]] = {
    "table column named geometry": table_geometry_column,
    "tooltip = [geometry]": lambda r: spec(r, 'tooltip = ["geometry"]\n'),
    "label field geometry": lambda r: spec(r, 'label = "geometry"\n'),
    "where on geometry": lambda r: spec(r, 'where = {geometry = ["x"]}\n'),
    "rollup sums geometry": lambda r: spec(
        r, '[layers.rollup]\nfrom = "houses"\ncount = "n"\nsum = {g = "geometry"}\n'
    ),
    "rollup counts into geometry": lambda r: spec(
        r, '[layers.rollup]\nfrom = "houses"\ncount = "geometry"\n'
    ),
    "rollup means into geometry": lambda r: spec(
        r, '[layers.rollup]\nfrom = "houses"\nmean = {geometry = "has_hazard"}\n'
    ),
    "categorical style on a list column": list_column,
    "choropleth on a list column": list_choropleth,
    "join on a list-valued key": list_join_key,
    "choropleth on text": lambda r: spec(
        r, '[layers.style]\ntype = "choropleth"\ncolumn = "name"\n'
    ),
    "basemap as a list": lambda r: (r / "atlas.toml").write_text('basemap = ["amap"]\n'),
    "numeric tianditu key": lambda r: (r / "atlas.toml").write_text(
        'tianditu_key = 12345\nbasemap = "tianditu-vec"\n'
    ),
    "basemap as a table in a map": lambda r: (r / "maps" / "t.toml").write_text(
        'title = "t"\nbasemap = {a = 1}\n[[layers]]\nlayer = "villages"\n', encoding="utf-8"
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_type_confused_input_is_one_clear_message(sample: Path, case: str) -> None:
    CASES[case](sample)
    before = {k: v for k, v in snapshot(sample).items() if not k.startswith("maps/")}
    rendered = invoke(sample, "render")
    check_clean(rendered)
    checked = invoke(sample, "check", "--json")
    check_clean(checked)
    after = {k: v for k, v in snapshot(sample).items() if not k.startswith("maps/")}
    assert after == before  # nothing outside maps/ changed
    errors = [f for f in json.loads(checked.stdout) if f["severity"] == "error"]
    if rendered.exit_code == 1:
        # One message per failing map, and check names a problem for it (or for the data
        # it reads).
        assert "✗" in rendered.stderr and len(rendered.stderr) < 20_000
        assert errors, (case, rendered.stderr[-800:])
    else:
        assert not errors, (case, errors)


def test_mixed_points_and_polygons_on_the_fast_path(sample: Path) -> None:
    def to_point(feature: dict[str, Any], i: int) -> None:
        if i == 0:
            feature["geometry"] = {"type": "Point", "coordinates": [X0 + 0.005, Y0 + 0.005]}

    edit_villages(sample, to_point)
    spec(sample, "fast = true\n")
    result = invoke(sample, "render", "t")
    check_clean(result)
    assert result.exit_code == 0, result.output
    checked = invoke(sample, "check", "--json")
    assert "mixed-geometry" in checked.stdout


@pytest.mark.parametrize(
    "encoding", ["hex", "base64", "rot13", "punycode", "utf-16", "zlib", "bz2", "uu", "quopri"]
)
def test_add_refuses_codecs_that_are_not_text_encodings(
    sample: Path, tmp_path: Path, encoding: str
) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["甲", "乙"]}, geometry=[Point(X0, Y0), Point(X0 + 0.01, Y0)], crs="EPSG:4326"
    )
    shp = tmp_path / "p.shp"
    pyogrio.write_dataframe(gdf, shp, encoding="GBK")
    before = snapshot(sample)
    result = invoke(sample, "add", str(shp), "--name", "p", "--encoding", encoding)
    check_clean(result)
    assert result.exit_code == 1
    assert "not a text encoding" in result.stderr
    assert snapshot(sample) == before


@pytest.mark.parametrize("encoding", ["utf-8-sig", "GB18030", "gbk", "cp936"])
def test_add_accepts_real_text_encodings(sample: Path, tmp_path: Path, encoding: str) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["甲", "乙"]}, geometry=[Point(X0, Y0), Point(X0 + 0.01, Y0)], crs="EPSG:4326"
    )
    shp = tmp_path / "p.shp"
    pyogrio.write_dataframe(gdf, shp, encoding="GBK" if "utf" not in encoding else "UTF-8")
    result = invoke(sample, "add", str(shp), "--name", "p", "--encoding", encoding)
    check_clean(result)
    assert "not a text encoding" not in result.output


@pytest.mark.parametrize(
    "crs",
    [
        {"type": "name", "properties": ["EPSG:4326"]},
        {"type": "name", "properties": "EPSG:4326"},
        {"type": "name", "properties": {"name": 4326}},
        {"type": "name", "properties": {"name": ["EPSG:4326"]}},
        [1, 2],
        "EPSG:4326",
        None,
    ],
)
def test_geojson_crs_of_the_wrong_type(sample: Path, tmp_path: Path, crs: Any) -> None:
    src = tmp_path / "c.geojson"
    src.write_text(json.dumps(feature_collection(crs)), encoding="utf-8")
    result = invoke(sample, "add", str(src), "--name", "c")
    check_clean(result)
    written = (sample / "layers" / "c.geojson").exists()
    assert written == (result.exit_code == 0), result.output  # refused leaves nothing behind
    if result.exit_code == 1:
        assert "c.geojson" in result.output, result.output  # the message names the file


def feature_collection(crs: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "crs": crs,
        "features": [
            {
                "type": "Feature",
                "properties": {"a": 1},
                "geometry": {"type": "Point", "coordinates": [X0, Y0]},
            }
        ],
    }


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request (it must receive none)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(
                b'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257]]]'
            )

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "crs",
    [
        {"type": "link", "properties": {"href": "{url}/a.wkt", "type": "ogcwkt"}},
        {"type": "link", "properties": {"href": "{url}/b.proj4", "type": "proj4"}},
        {"type": "link", "properties": {"href": "{url}/c.esriwkt", "type": "esriwkt"}},
        {"type": "name", "properties": {"name": "{url}/d"}},
        {"type": "EPSG", "properties": {"code": 4326, "href": "{url}/e"}},
    ],
)
def test_a_crs_link_is_never_fetched(
    sample: Path, tmp_path: Path, listener: tuple[str, list[str]], crs: dict[str, Any]
) -> None:
    url, hits = listener
    src = tmp_path / "linked.geojson"
    text = json.dumps(feature_collection(crs)).replace("{url}", url)
    src.write_text(text, encoding="utf-8")
    # Straight, and inside a zip.
    import zipfile

    zipped = tmp_path / "linked.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(src, "linked.geojson")
    for i, source in enumerate((src, zipped)):
        result = invoke(sample, "add", str(source), "--name", f"linked{i}")
        check_clean(result)
        assert result.exit_code == 0, result.output
    assert hits == []
    assert invoke(sample, "check").exit_code in (0, 1)
    assert invoke(sample, "render").exit_code in (0, 1)
    assert hits == []
