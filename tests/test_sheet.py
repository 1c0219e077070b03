"""The sheet's geometry: layout of the paper, the view that fills the frame, and names
placed in place or as numbered callouts that collide with nothing."""

from __future__ import annotations

import itertools
import math
import random

import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geomap.sheet import (
    CALLOUT_RADIUS,
    PX_PER_MM,
    Box,
    Feature,
    extent_aspect,
    filled_fraction,
    fit_view,
    mercator,
    place_names,
    sheet_layout,
    text_width,
)

XIPING = (119.4309, 28.4199, 119.5327, 28.4819)  # the subdistrict's extent


@pytest.mark.parametrize(
    ("paper", "landscape"), [("A4", True), ("A4", False), ("A3", True), ("A3", False)]
)
def test_layout_parts_are_on_the_paper_and_do_not_overlap(paper: str, landscape: bool) -> None:
    lay = sheet_layout(paper, landscape, extent_aspect(XIPING))
    page = box(0, 0, lay.width, lay.height)
    parts = [lay.title, lay.frame, lay.panel, lay.footer]
    for part in parts:
        assert page.contains(box(part.x, part.y, part.right, part.bottom))
        assert part.w > 0 and part.h > 0
    for a, b in itertools.combinations(parts, 2):
        overlap = box(a.x, a.y, a.right, a.bottom).intersection(box(b.x, b.y, b.right, b.bottom))
        assert overlap.area == 0
    # The frame takes a good part of the paper, in the extent's shape where it is smaller
    # than the room left by the panel.
    assert lay.frame.w * lay.frame.h > 0.3 * lay.width * lay.height
    frame_aspect = lay.frame.w / lay.frame.h
    if lay.panel_side == "bottom":
        assert frame_aspect >= extent_aspect(XIPING) - 1e-9
    else:
        assert frame_aspect <= extent_aspect(XIPING) + 1e-9


def test_panel_goes_where_the_map_is_drawn_larger() -> None:
    wide = extent_aspect(XIPING)  # about 1.44
    assert sheet_layout("A4", True, wide).panel_side == "right"
    assert sheet_layout("A4", False, wide).panel_side == "bottom"
    # A tall extent on portrait paper keeps the panel at the side.
    assert sheet_layout("A4", False, 0.4).panel_side == "right"
    a4 = sheet_layout("A4", True, wide)
    assert a4.width == pytest.approx(297 * PX_PER_MM)
    assert a4.height == pytest.approx(210 * PX_PER_MM)


def test_mercator_matches_leaflet() -> None:
    # Leaflet: map.project([0, 0], 0) = (128, 128); project([85.05112878, 180], 0) = (256, 0).
    x, y = mercator(0.0, 0.0)
    assert (float(x), float(y)) == pytest.approx((128, 128))
    x, y = mercator(180.0, 85.0511287798)
    assert (float(x), float(y)) == pytest.approx((256, 0), abs=1e-6)


@pytest.mark.parametrize(
    ("paper", "landscape"), [("A4", True), ("A4", False), ("A3", True), ("A3", False)]
)
def test_the_fitted_extent_fills_the_frame(paper: str, landscape: bool) -> None:
    lay = sheet_layout(paper, landscape, extent_aspect(XIPING))
    view = fit_view(XIPING, lay.frame.w, lay.frame.h, padding=0.03)
    fx, fy = filled_fraction(view, XIPING)
    assert max(fx, fy) == pytest.approx(0.94, abs=1e-6)  # the limiting dimension
    assert fx <= 0.94 + 1e-9 and fy <= 0.94 + 1e-9
    # Centred: the extent's corners are symmetric about the frame's centre.
    xs, ys = view.to_frame([XIPING[0], XIPING[2]], [XIPING[3], XIPING[1]])
    assert (xs[0] + xs[1]) / 2 == pytest.approx(lay.frame.w / 2)
    assert (ys[0] + ys[1]) / 2 == pytest.approx(lay.frame.h / 2)


def test_a_point_extent_stops_at_the_maximum_zoom() -> None:
    view = fit_view((119.5, 28.45, 119.5, 28.45), 800, 600, max_zoom=17)
    assert view.zoom == 17
    assert (view.lon, view.lat) == pytest.approx((119.5, 28.45))


def test_text_width_counts_cjk_as_one_em() -> None:
    assert text_width("新华村", 10) == pytest.approx(30)
    assert text_width("G235", 10) < 30


def _square(key: int, x: float, y: float, side: float, name: str) -> Feature:
    geom = box(x - side / 2, y - side / 2, x + side / 2, y + side / 2)
    return Feature(("layer1", key), name, "polygon", geom, (x, y))


def test_a_big_polygon_gets_its_name_inside() -> None:
    naming = place_names([_square(0, 200, 150, 200, "西屏街道新华村")], 400, 300)
    assert [lb.text for lb in naming.labels] == ["西屏街道新华村"] and not naming.callouts
    label = naming.labels[0]
    assert box(100, 50, 300, 250).contains(Point(label.x, label.y))


def test_small_polygons_get_numbered_callouts_that_collide_with_nothing() -> None:
    rng = random.Random(7)
    feats = [
        _square(i, rng.uniform(150, 450), rng.uniform(120, 280), 6, f"项目{i}号地块")
        for i in range(40)
    ]
    obstacles = [Box(540, 8, 50, 60), Box(8, 360, 120, 30)]
    naming = place_names(feats, 600, 400, obstacles=obstacles)
    assert not naming.labels
    assert sorted(c.number for c in naming.callouts) == list(range(1, 41))
    assert {c.key for c in naming.callouts} == {f.key for f in feats}
    assert naming.overlaps == 0
    discs = [Point(c.x, c.y).buffer(CALLOUT_RADIUS) for c in naming.callouts]
    for a, b in itertools.combinations(discs, 2):
        assert not a.intersects(b)
    for disc in discs:
        assert box(0, 0, 600, 400).contains(disc)
        for ob in obstacles:
            assert not disc.intersects(box(ob.x, ob.y, ob.right, ob.bottom))
    # No disc hides another feature's spot.
    for c, disc in zip(naming.callouts, discs, strict=True):
        for f in feats:
            if f.key != c.key:
                assert not disc.intersects(Point(f.anchor).buffer(2))
    # Each disc stays near its feature.
    for c in naming.callouts:
        assert math.hypot(c.x - c.ax, c.y - c.ay) < 150


def test_callouts_are_numbered_in_reading_order_by_layer() -> None:
    feats = [
        _square(0, 500, 50, 4, "东北"),
        _square(1, 100, 350, 4, "西南"),
        _square(2, 100, 50, 4, "西北"),
        Feature(("layer0", 0), "另一层", "polygon", box(299, 199, 301, 201), (300, 200)),
    ]
    naming = place_names(feats, 600, 400, groups=["layer0", "layer1"])
    by_name = {c.name: c.number for c in naming.callouts}
    # layer0 first; then top row left to right, then the bottom row.
    assert by_name["西北"] < by_name["东北"] < by_name["西南"]
    assert by_name["另一层"] == 1


def test_labels_and_callouts_never_overlap_each_other() -> None:
    rng = random.Random(3)
    feats = [
        _square(i, rng.uniform(40, 560), rng.uniform(30, 370), rng.choice([8, 90]), f"村{i}")
        for i in range(30)
    ]
    naming = place_names(feats, 600, 400)
    assert len(naming.labels) + len(naming.callouts) == 30
    for a, b in itertools.combinations(naming.shapes, 2):
        assert not a.intersects(b)


def test_a_line_is_named_along_itself_upright() -> None:
    line = LineString([(50, 300), (550, 100)])  # rising to the right
    f = Feature(("lines", 0), "衢丽铁路", "line", line, (300, 200))
    naming = place_names([f], 600, 400)
    assert len(naming.labels) == 1 and not naming.callouts
    label = naming.labels[0]
    assert label.angle == pytest.approx(math.degrees(math.atan2(-200, 500)))
    assert -90 < label.angle <= 90
    assert line.distance(Point(label.x, label.y)) < 1
    # Drawn right to left, the label still reads left to right.
    back = Feature(("lines", 1), "G235", "line", LineString(line.coords[::-1]), (300, 200))
    assert place_names([back], 600, 400).labels[0].angle == pytest.approx(label.angle)


def test_a_short_line_gets_a_callout() -> None:
    f = Feature(
        ("lines", 0), "很长的道路名称示例", "line", LineString([(100, 100), (120, 100)]), (110, 100)
    )
    naming = place_names([f], 600, 400)
    assert not naming.labels and [c.name for c in naming.callouts] == ["很长的道路名称示例"]


def test_points_are_labelled_beside_themselves() -> None:
    f = Feature(("pts", 0), "水厂", "point", Point(300, 200), (300, 200))
    label = place_names([f], 600, 400).labels[0]
    assert label.x > 300 and label.y == 200
    assert not shapely.box(label.x - 12, label.y - 6, label.x + 12, label.y + 6).contains(
        Point(300, 200)
    )
