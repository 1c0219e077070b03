"""The printed sheet: where the map frame sits on the paper, the view that fills it, and
where every feature's name goes.

Everything here is plain geometry in CSS pixels (96 per inch), the unit Chromium lays the
export page out in, so it is computed once in Python, unit-tested, and handed to the page's
export mode as numbers:

- :func:`sheet_layout` splits the paper into a title band, the map frame, a side (or bottom)
  panel for the legend and the callout table, and a footer band, choosing the panel's side
  that gives the map the larger scale for the data's shape.
- :func:`fit_view` finds the (fractional) Web-Mercator zoom and centre that make the extent
  fill the frame, exactly as Leaflet will draw it (``zoomSnap = 0``).
- :func:`place_names` names features: in place when the name fits (inside a polygon, beside
  a point, along a line), else with a numbered callout placed where it collides with
  nothing, for a number → name table on the sheet.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel, substring

PX_PER_MM = 96 / 25.4
PAPERS_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
TILE_SIZE = 256
MAX_LATITUDE = 85.0511287798


# ---------------------------------------------------------------------------------------
# Boxes and the sheet's layout


@dataclass(frozen=True)
class Box:
    """A rectangle in CSS pixels: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def as_dict(self) -> dict[str, float]:
        return {
            "x": round(self.x, 2),
            "y": round(self.y, 2),
            "w": round(self.w, 2),
            "h": round(self.h, 2),
        }


@dataclass(frozen=True)
class Layout:
    """Where each part of a sheet goes (CSS pixels from the paper's top-left corner)."""

    paper: str
    landscape: bool
    width: float
    height: float
    title: Box
    frame: Box
    panel: Box
    panel_side: str  # right | bottom
    footer: Box
    font_px: float  # the sheet's base font size

    def as_dict(self) -> dict[str, object]:
        return {
            "width": round(self.width, 2),
            "height": round(self.height, 2),
            "title": self.title.as_dict(),
            "frame": self.frame.as_dict(),
            "panel": self.panel.as_dict(),
            "panelSide": self.panel_side,
            "footer": self.footer.as_dict(),
            "fontPx": self.font_px,
        }


@dataclass(frozen=True)
class _Measures:
    """Band sizes in millimetres for one paper size."""

    margin: float
    gap: float
    title: float
    footer: float
    panel_right: float  # panel width when it sits right of the frame
    panel_bottom: float  # panel height when it sits below the frame
    font_px: float


_MEASURES = {
    "A4": _Measures(
        margin=8, gap=3, title=15, footer=15, panel_right=66, panel_bottom=58, font_px=11
    ),
    "A3": _Measures(
        margin=10, gap=4, title=19, footer=17, panel_right=84, panel_bottom=74, font_px=13
    ),
}


def paper_size_mm(paper: str, landscape: bool) -> tuple[float, float]:
    """(width, height) of the paper in millimetres."""
    short, long = PAPERS_MM[paper]
    return (long, short) if landscape else (short, long)


def sheet_layout(paper: str, landscape: bool, aspect: float = 1.0) -> Layout:
    """The parts of a sheet. ``aspect`` is the extent's width / height as drawn (Web
    Mercator); the panel goes right of the frame or below it, whichever lets the extent be
    drawn at the larger scale (ties go right)."""
    m = _MEASURES[paper]
    w_mm, h_mm = paper_size_mm(paper, landscape)
    top = m.margin + m.title + m.gap
    footer_top = h_mm - m.margin - m.footer
    inner_w = w_mm - 2 * m.margin
    inner_h = footer_top - m.gap - top

    right_frame = (inner_w - m.panel_right - m.gap, inner_h)
    bottom_frame = (inner_w, inner_h - m.panel_bottom - m.gap)

    def scale(frame: tuple[float, float]) -> float:
        fw, fh = frame
        return min(fw / aspect, fh) if aspect > 0 else min(fw, fh)

    side = "right" if scale(right_frame) >= scale(bottom_frame) - 1e-9 else "bottom"
    # The frame takes the extent's shape (never longer than the map needs in the direction
    # the panel sits), and the panel gets the rest.
    if side == "right":
        fw = min(right_frame[0], right_frame[1] * aspect) if aspect > 0 else right_frame[0]
        frame = (m.margin, top, fw, inner_h)
        panel = (m.margin + fw + m.gap, top, inner_w - fw - m.gap, inner_h)
    else:
        fh = min(bottom_frame[1], inner_w / aspect) if aspect > 0 else bottom_frame[1]
        frame = (m.margin, top, inner_w, fh)
        panel = (m.margin, top + fh + m.gap, inner_w, inner_h - fh - m.gap)

    def px(mm: tuple[float, float, float, float]) -> Box:
        return Box(*(v * PX_PER_MM for v in mm))

    return Layout(
        paper=paper,
        landscape=landscape,
        width=w_mm * PX_PER_MM,
        height=h_mm * PX_PER_MM,
        title=px((m.margin, m.margin, inner_w, m.title)),
        frame=px(frame),
        panel=px(panel),
        panel_side=side,
        footer=px((m.margin, footer_top, inner_w, m.footer)),
        font_px=m.font_px,
    )


# ---------------------------------------------------------------------------------------
# Web Mercator and the view


def mercator(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Leaflet's EPSG:3857 pixel coordinates at zoom 0 (a 256-pixel world)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.clip(np.asarray(lat, dtype=float), -MAX_LATITUDE, MAX_LATITUDE)
    x = (lon + 180.0) / 360.0 * TILE_SIZE
    y = (0.5 - np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) / (2 * np.pi)) * TILE_SIZE
    return x, y


def inverse_mercator(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of zoom-0 pixel coordinates."""
    lon = x / TILE_SIZE * 360.0 - 180.0
    lat = math.degrees(2 * math.atan(math.exp((0.5 - y / TILE_SIZE) * 2 * math.pi)) - math.pi / 2)
    return lon, lat


def extent_aspect(bounds: Sequence[float]) -> float:
    """Width / height of a lon/lat extent (minx, miny, maxx, maxy) as drawn in Web Mercator."""
    x0, y0 = mercator(bounds[0], bounds[3])
    x1, y1 = mercator(bounds[2], bounds[1])
    w, h = float(x1 - x0), float(y1 - y0)
    if h <= 0:
        return 1.0 if w <= 0 else 1e6
    return max(w, 1e-9) / h


@dataclass(frozen=True)
class View:
    """A Leaflet view of a frame: centre, fractional zoom, and the frame's size."""

    lon: float
    lat: float
    zoom: float
    width: float
    height: float

    def to_frame(
        self, lon: np.ndarray | float, lat: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Frame pixel coordinates (origin top-left) of lon/lat, as Leaflet draws them."""
        k = 2.0**self.zoom
        cx, cy = mercator(self.lon, self.lat)
        x, y = mercator(lon, lat)
        return (x - cx) * k + self.width / 2, (y - cy) * k + self.height / 2

    def project(self, geom: BaseGeometry) -> BaseGeometry:
        """A lon/lat geometry in frame pixels."""

        def move(xy: np.ndarray) -> np.ndarray:
            x, y = self.to_frame(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geom, move)

    def as_dict(self) -> dict[str, float]:
        return {"lon": self.lon, "lat": self.lat, "zoom": self.zoom}


def fit_view(
    bounds: Sequence[float],
    width: float,
    height: float,
    padding: float = 0.03,
    max_zoom: float = 18.0,
) -> View:
    """The view that draws the extent ``bounds`` (minx, miny, maxx, maxy in lon/lat) as large
    as the frame allows, keeping ``padding`` (a fraction of each side) free at the edges.
    Fractional zoom: Leaflet must be told ``zoomSnap = 0``."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    x0, y0 = mercator(minx, maxy)
    x1, y1 = mercator(maxx, miny)
    w0, h0 = float(x1 - x0), float(y1 - y0)
    room_w, room_h = width * (1 - 2 * padding), height * (1 - 2 * padding)
    candidates = [math.log2(room_w / w0)] if w0 > 0 else []
    if h0 > 0:
        candidates.append(math.log2(room_h / h0))
    zoom = min([*candidates, max_zoom])
    lon, lat = inverse_mercator((float(x0) + float(x1)) / 2, (float(y0) + float(y1)) / 2)
    return View(lon, lat, zoom, width, height)


def filled_fraction(view: View, bounds: Sequence[float]) -> tuple[float, float]:
    """The share of the frame's width and height that ``bounds`` spans in ``view``."""
    xs, ys = view.to_frame(
        np.array([bounds[0], bounds[2]], dtype=float), np.array([bounds[3], bounds[1]], dtype=float)
    )
    return float(abs(xs[1] - xs[0]) / view.width), float(abs(ys[1] - ys[0]) / view.height)


# ---------------------------------------------------------------------------------------
# Names: in place, along lines, or numbered callouts


LABEL_FONT_EM = 1.0  # label font size relative to the sheet's font
LABEL_PAD = 2.0  # px of halo around a label's text
CALLOUT_RADIUS = 8.5  # px, a numbered disc
ANCHOR_RADIUS = 3.0  # px kept free around a callout's feature
_RADII = (0.0, 15.0, 22.0, 30.0, 40.0, 52.0, 66.0, 82.0, 100.0, 125.0, 155.0, 190.0, 240.0)
_ANGLES = tuple(
    math.radians(a)
    for a in (
        -45,
        -135,
        45,
        135,
        -90,
        90,
        0,
        180,
        -67.5,
        -112.5,
        67.5,
        112.5,
        -22.5,
        -157.5,
        22.5,
        157.5,
    )
)


def text_width(text: str, font_px: float) -> float:
    """The drawn width of ``text``: CJK and full-width characters one em, others ~0.6 em
    (a slight overestimate for the sans-serif fonts the sheet uses)."""
    em = 0.0
    for ch in text:
        em += 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.62
    return em * font_px


@dataclass(frozen=True)
class Feature:
    """One feature to name, in frame pixels. ``geom`` is the feature's shape projected to
    the frame; ``anchor`` a point on it (for a polygon, a point inside)."""

    key: tuple[str, int]  # (layer id, feature index)
    name: str
    family: str  # polygon | line | point
    geom: BaseGeometry
    anchor: tuple[float, float]
    callout: bool = True  # False: named in place if it fits, else not at all


@dataclass(frozen=True)
class Label:
    """A name drawn in place, centred at (x, y), rotated by ``angle`` degrees."""

    key: tuple[str, int]
    text: str
    x: float
    y: float
    angle: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "layer": self.key[0],
            "i": self.key[1],
            "text": self.text,
            "x": round(self.x, 1),
            "y": round(self.y, 1),
            "angle": round(self.angle, 1),
        }


@dataclass(frozen=True)
class Callout:
    """A numbered disc at (x, y) for the feature at (ax, ay); a leader line joins them."""

    key: tuple[str, int]
    number: int
    name: str
    x: float
    y: float
    ax: float
    ay: float

    def as_dict(self) -> dict[str, object]:
        return {
            "layer": self.key[0],
            "i": self.key[1],
            "n": self.number,
            "x": round(self.x, 1),
            "y": round(self.y, 1),
            "ax": round(self.ax, 1),
            "ay": round(self.ay, 1),
        }


@dataclass
class Naming:
    """Every feature's name on a sheet: labels in place and numbered callouts. ``overlaps``
    counts discs that found no free place (drawn anyway, at the least crowded one)."""

    labels: list[Label] = field(default_factory=list)
    callouts: list[Callout] = field(default_factory=list)
    overlaps: int = 0
    shapes: list[BaseGeometry] = field(default_factory=list)  # what each placed item covers


class _Occupied:
    """The shapes already on the frame (labels, discs, obstacles), for collision tests."""

    def __init__(self, obstacles: Iterable[BaseGeometry]) -> None:
        self.shapes: list[BaseGeometry] = list(obstacles)
        self._array: np.ndarray | None = None

    def add(self, shape: BaseGeometry) -> None:
        self.shapes.append(shape)
        self._array = None

    def hits(self, shape: BaseGeometry, own: BaseGeometry | None = None) -> int:
        """How many placed shapes ``shape`` touches, not counting ``own``."""
        if not self.shapes:
            return 0
        if self._array is None:
            self._array = np.empty(len(self.shapes), dtype=object)
            self._array[:] = self.shapes
        mask = shapely.intersects(self._array, shape)
        if own is not None:
            mask &= np.fromiter((s is not own for s in self.shapes), bool, len(self.shapes))
        return int(mask.sum())


def _text_box(x: float, y: float, text: str, font_px: float, angle: float = 0.0) -> Polygon:
    w = text_width(text, font_px) + 2 * LABEL_PAD
    h = font_px * 1.25 + 2 * LABEL_PAD
    rect = box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
    if angle:
        from shapely import affinity

        rect = affinity.rotate(rect, angle, origin=(x, y))
    return rect


def _polygon_label(
    f: Feature, font_px: float, inside: Polygon, occ: _Occupied, own: BaseGeometry | None
) -> Label | None:
    """The name inside its polygon, at the pole of inaccessibility or the anchor."""
    poly = f.geom
    if poly.is_empty or poly.area <= 0:
        return None
    parts = list(getattr(poly, "geoms", [poly]))
    biggest = max(parts, key=lambda p: p.area)
    tries: list[tuple[float, float]] = []
    try:
        pole = polylabel(biggest.buffer(0), tolerance=1.0)
        tries.append((pole.x, pole.y))
    except Exception:  # pragma: no cover - degenerate rings
        pass
    tries.append(f.anchor)
    shrunk = poly.buffer(1.0)  # a label may touch its own outline
    for x, y in tries:
        rect = _text_box(x, y, f.name, font_px)
        if shrunk.contains(rect) and inside.contains(rect) and not occ.hits(rect, own):
            return Label(f.key, f.name, x, y)
    return None


def _point_label(
    f: Feature, font_px: float, inside: Polygon, occ: _Occupied, own: BaseGeometry | None
) -> Label | None:
    """The name beside its point: right, left, above, below."""
    x, y = f.anchor
    w = text_width(f.name, font_px) + 2 * LABEL_PAD
    h = font_px * 1.25 + 2 * LABEL_PAD
    gap = 6.0
    for cx, cy in (
        (x + gap + w / 2, y),
        (x - gap - w / 2, y),
        (x, y - gap - h / 2),
        (x, y + gap + h / 2),
    ):
        rect = _text_box(cx, cy, f.name, font_px)
        if inside.contains(rect) and not occ.hits(rect, own):
            return Label(f.key, f.name, cx, cy)
    return None


def _line_label(
    f: Feature, font_px: float, inside: Polygon, occ: _Occupied, own: BaseGeometry | None
) -> Label | None:
    """The name along its line, on a nearly straight stretch, upright."""
    geom = f.geom
    parts = [p for p in getattr(geom, "geoms", [geom]) if isinstance(p, LineString)]
    if not parts:
        return None
    line = max(parts, key=lambda p: p.length)
    w = text_width(f.name, font_px) + 2 * LABEL_PAD
    if line.length < w * 1.15:
        return None
    for t in (0.5, 0.35, 0.65, 0.2, 0.8, 0.1, 0.9):
        mid = t * line.length
        start, end = mid - w / 2, mid + w / 2
        if start < 0 or end > line.length:
            continue
        stretch = substring(line, start, end)
        (x0, y0), (x1, y1) = stretch.coords[0], stretch.coords[-1]
        chord = math.hypot(x1 - x0, y1 - y0)
        if chord < 0.9 * w:  # too curved here
            continue
        angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
        if angle > 90:
            angle -= 180
        elif angle <= -90:
            angle += 180
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rect = _text_box(cx, cy, f.name, font_px, angle)
        if inside.contains(rect) and not occ.hits(rect, own):
            return Label(f.key, f.name, cx, cy, angle)
    return None


_IN_PLACE = {"polygon": _polygon_label, "point": _point_label, "line": _line_label}


def _reading_order(features: list[Feature], height: float) -> list[Feature]:
    band = max(height / 8, 1.0)
    return sorted(features, key=lambda f: (int(f.anchor[1] // band), f.anchor[0]))


def _callout_anchor(f: Feature, inside: Polygon) -> tuple[float, float]:
    """Where a callout's leader line starts: the anchor, pulled into the frame."""
    x, y = f.anchor
    if inside.contains(Point(x, y)):
        return x, y
    clipped = f.geom.intersection(inside)
    if not clipped.is_empty:
        p = clipped.representative_point()
        return p.x, p.y
    return (
        min(max(x, inside.bounds[0]), inside.bounds[2]),
        min(max(y, inside.bounds[1]), inside.bounds[3]),
    )


def place_names(
    features: Sequence[Feature],
    width: float,
    height: float,
    font_px: float = 11.0,
    obstacles: Iterable[Box] = (),
    first_number: int = 1,
    groups: Sequence[str] | None = None,
) -> Naming:
    """Name every feature on a ``width`` × ``height`` frame.

    Features are tried in the order given (put the subject of the map first): each gets its
    name in place when it fits without touching anything already placed, else a numbered
    callout. Callouts are numbered in reading order (by layer when ``groups``, a list of
    layer ids, is given) and each disc goes to the nearest free spot around its feature,
    never over another label, disc, feature anchor or obstacle (the north arrow, the scale
    bar), with a leader line when it had to move.
    """
    inside = box(1, 1, width - 1, height - 1)
    occ = _Occupied(box(b.x, b.y, b.right, b.bottom) for b in obstacles)
    naming = Naming()
    # The spots of features too small to hold their name (and of points) stay visible:
    # no label or disc may cover them.
    spots: dict[tuple[str, int], BaseGeometry] = {}
    for f in features:
        if not f.callout:
            continue
        if f.family == "point" or (f.family == "polygon" and not _could_hold(f, font_px)):
            spots[f.key] = Point(f.anchor).buffer(ANCHOR_RADIUS, 8)
            occ.add(spots[f.key])
    pending: list[Feature] = []
    for f in features:
        own = spots.get(f.key)
        label = _IN_PLACE[f.family](f, font_px, inside, occ, own) if f.name else None
        if label is None:
            if f.callout:
                pending.append(f)
            continue
        shape = _text_box(label.x, label.y, label.text, font_px, label.angle)
        occ.add(shape)
        naming.labels.append(label)
        naming.shapes.append(shape)

    order = list(groups or sorted({f.key[0] for f in pending}))
    numbered: list[Feature] = []
    for layer in order:
        numbered += _reading_order([f for f in pending if f.key[0] == layer], height)
    numbered += [f for f in pending if f.key[0] not in order]
    anchors = {f.key: _callout_anchor(f, inside) for f in numbered}
    for f in numbered:
        if f.key not in spots or anchors[f.key] != f.anchor:
            spots[f.key] = Point(anchors[f.key]).buffer(ANCHOR_RADIUS, 8)
            occ.add(spots[f.key])

    number = first_number
    for f in numbered:
        ax, ay = anchors[f.key]
        own = spots[f.key]
        # Score: a disc touching anything is a collision; a leader line crossing something
        # is only worse than one that does not.
        best: tuple[int, int, float, float] | None = None
        big_enough = f.family == "polygon" and f.geom.buffer(-CALLOUT_RADIUS).contains(
            Point(ax, ay)
        )
        for radius in _RADII:
            if radius == 0 and not big_enough:
                continue
            for angle in _ANGLES if radius else (0.0,):
                x, y = ax + radius * math.cos(angle), ay + radius * math.sin(angle)
                disc = Point(x, y).buffer(CALLOUT_RADIUS, 12)
                if not inside.contains(disc):
                    continue
                hits = occ.hits(disc, own)
                crossings = occ.hits(_leader(ax, ay, x, y), own) if radius > CALLOUT_RADIUS else 0
                if best is None or (hits, crossings) < best[:2]:
                    best = (hits, crossings, x, y)
                if hits == 0 and crossings == 0:
                    break
            if best is not None and best[:2] == (0, 0):
                break
        if best is None:  # nothing fits inside the frame at all: sit on the anchor
            best = (1, 0, ax, ay)
        hits, _, x, y = best
        naming.overlaps += hits > 0
        disc = Point(x, y).buffer(CALLOUT_RADIUS, 12)
        occ.add(disc)
        if math.hypot(x - ax, y - ay) > CALLOUT_RADIUS:
            occ.add(_leader(ax, ay, x, y))
        naming.shapes.append(disc)
        naming.callouts.append(Callout(f.key, number, f.name, x, y, ax, ay))
        number += 1
    return naming


def _leader(ax: float, ay: float, x: float, y: float) -> BaseGeometry:
    """The leader line from a feature to its disc (up to the disc's edge)."""
    d = math.hypot(x - ax, y - ay)
    k = max(d - CALLOUT_RADIUS, 0.0) / d if d else 0.0
    return LineString([(ax, ay), (ax + (x - ax) * k, ay + (y - ay) * k)]).buffer(0.75)


def _could_hold(f: Feature, font_px: float) -> bool:
    """Whether a polygon's bounding box is large enough for its name at all."""
    minx, miny, maxx, maxy = f.geom.bounds
    return bool((maxx - minx) >= text_width(f.name, font_px) and (maxy - miny) >= font_px * 1.25)
