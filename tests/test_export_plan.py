"""The export's planning, without a browser: output locations, file names from feature
names, the extent options, the --each features and --where, the sheets' names and tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from geomap.atlas import Atlas
from geomap.errors import GeomapError
from geomap.export import (
    ExportOptions,
    SheetPlanner,
    _column_labels,
    default_output,
    page_data,
    safe_file_name,
)
from geomap.freshness import RenderOptions
from geomap.render import render_html

REPO = Path(__file__).resolve().parents[1]


def planner(name: str, basemap: str = "none", **kw: object) -> SheetPlanner:
    atlas = Atlas(REPO)
    spec = atlas.map_spec(name)
    options = ExportOptions(basemap=basemap, **kw)  # type: ignore[arg-type]
    html = render_html(atlas, spec, RenderOptions(basemap=basemap), lambda _: None)
    datum = "gcj02" if basemap == "amap" else "wgs84"
    p = SheetPlanner(spec, page_data(html), options, datum)
    p.column_labels = _column_labels(atlas, spec)
    return p


def test_default_outputs_go_to_exports_not_maps(tmp_path: Path) -> None:
    atlas = Atlas(tmp_path)
    assert default_output(atlas, "overview", ExportOptions()) == tmp_path / "exports/overview.pdf"
    png = ExportOptions(format="png")
    assert default_output(atlas, "overview", png) == tmp_path / "exports/overview.png"
    each = ExportOptions(each="villages")
    assert default_output(atlas, "ce", each) == tmp_path / "exports/ce-villages.pdf"
    each_png = ExportOptions(each="villages", format="png")
    assert default_output(atlas, "ce", each_png) == tmp_path / "exports/ce-villages"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("新华村", "新华村"),
        ("../../etc/passwd", "etc_passwd"),
        ("a/b\\c", "a_b_c"),
        (".hidden", "hidden"),
        ("龙湖公园一期（金山路）", "龙湖公园一期_金山路"),
        ("", "feature"),
        ("///", "feature"),
    ],
)
def test_feature_names_become_safe_file_names(name: str, expected: str) -> None:
    assert safe_file_name(name) == expected


def test_every_key_project_is_named_in_place_or_by_a_callout() -> None:
    p = planner("key-projects")
    sheet, fill, overlaps = p.map_sheet(p.extent())
    assert overlaps == 0
    assert max(fill) >= 0.7
    kp = p.layer("key_projects")
    named = {(lb["layer"], lb["i"]) for lb in sheet["labels"]}
    named |= {(c["layer"], c["i"]) for c in sheet["callouts"]}
    assert {(kp.id, i) for i in range(16)} <= named
    # The table maps each callout number to its feature, with the layer's key figures.
    rows = {row[0]: (g["layer"], row[1]) for g in sheet["table"] for row in g["rows"]}
    assert rows == {c["n"]: (c["layer"], c["i"]) for c in sheet["callouts"]}
    groups = {g["layer"]: g for g in sheet["table"]}
    labels = [kp.data["fields"][f]["label"] for f in groups[kp.id]["fields"]]
    assert labels[0] == "类别" and labels[1].startswith("状态")


def test_lines_are_labelled_along_themselves() -> None:
    p = planner("key-projects")
    sheet, _, _ = p.map_sheet(p.extent())
    lines = p.layer("lines")
    along = [lb for lb in sheet["labels"] if lb["layer"] == lines.id]
    assert {lb["text"] for lb in along} >= {"衢丽铁路", "G235国道"}
    assert any(abs(lb["angle"]) > 5 for lb in along)  # at least one is turned with its line


def test_extent_options() -> None:
    whole = planner("key-projects")
    assert whole.extent() == pytest.approx((119.4309, 28.4199, 119.5327, 28.4819), abs=1e-3)
    layer = planner("key-projects", layer_extent="key_projects")
    assert layer.extent() == pytest.approx((119.447, 28.4235, 119.516, 28.4715), abs=1e-3)
    box = (119.45, 28.43, 119.50, 28.47)
    assert planner("key-projects", extent=box).extent() == box
    # On a GCJ-02 basemap the extent moves with the data (about 600 m here).
    shifted = planner("key-projects", basemap="amap", extent=box).extent()
    dx = (shifted[0] - box[0]) * 111_320 * 0.879  # metres east (cos 28.45°)
    dy = (shifted[1] - box[1]) * 110_570  # metres north
    assert 400 < (dx * dx + dy * dy) ** 0.5 < 800
    with pytest.raises(GeomapError, match="houses_nope"):
        planner("key-projects", layer_extent="houses_nope").extent()


def test_each_pages_and_where() -> None:
    p = planner("collective-economy", each="villages")
    pages = p.each_sheets()
    kinds = [k for k, _, _ in pages]
    villages = p.layer("villages")
    n = len([g for g in villages.geoms if g is not None])  # the map's villages (its `where`)
    assert n >= 10
    assert kinds == ["cover", "index", *["map"] * n]
    index = pages[1][1]["index"]
    assert [row[0] for row in index["rows"]] == list(range(3, 3 + n))
    # By column or by label.
    one = planner("collective-economy", each="villages", where=(("name", "新华村"),))
    lv = one.layer("villages")
    assert [lv.name(i) for i in one.each_features()] == ["新华村"]
    same = planner("collective-economy", each="villages", where=(("名称", "新华村"),))
    assert same.each_features() == one.each_features()
    with pytest.raises(GeomapError, match="no feature matches"):
        planner("collective-economy", each="villages", where=(("name", "无此村"),)).each_features()
    with pytest.raises(GeomapError, match="no such field"):
        planner("collective-economy", each="villages", where=(("nope", "x"),)).each_features()


def test_a_feature_page_is_framed_on_it_with_its_name_and_figures() -> None:
    p = planner("key-projects", each="villages", where=(("name", "城东社区"),))
    ((_, spec, i),) = [pg for pg in p.each_sheets() if pg[0] == "map"]
    lv = p.layer("villages")
    sheet, fill, _ = p.map_sheet(spec["extent"], (lv, i))
    assert sheet["title"] == "重点项目·城东社区"
    assert sheet["focus"] == {"layer": lv.id, "i": i}
    assert sheet["facts"]["fields"]  # its figures
    assert max(fill) == pytest.approx(0.94, abs=0.01)
    # The projects inside the village are named; the village itself is the title.
    kp = p.layer("key_projects")
    named = {(x["layer"], x["i"]) for x in [*sheet["labels"], *sheet["callouts"]]}
    assert named and all(layer != lv.id for layer, _ in named)
    assert any(layer == kp.id for layer, _ in named)
