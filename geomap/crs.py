"""Coordinate reference systems for Xiping data: parsing, identification, GCJ-02 / BD-09, areas.

Chinese data arrives in four kinds of coordinates:

* WGS84 / CGCS2000 longitude and latitude (the same to a few centimetres);
* CGCS2000 Gauss-Kruger metres (EPSG:4491-4554), often without a usable ``.prj``;
* GCJ-02, the legally mandated obfuscation used by AMap / Tencent / Google China, about 600 m
  off at Xiping;
* BD-09, Baidu's further obfuscation of GCJ-02.

pyproj handles the first two; GCJ-02 and BD-09 are not CRSs PROJ knows, so the published
transforms are implemented here, vectorised with numpy, with exact (iterative) inverses:
every packaged one-step inverse is off by about 2.5 m (see ``/work/shared/PITFALLS.md``).

Areas and lengths are measured in EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E), the
local survey projection for Songyang: at Xiping it agrees with the geodesic area to 0.006 %.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from geomap.errors import GeomapError

__all__ = [
    "AREA_EPSG",
    "MU_PER_M2",
    "XIPING_LONLAT",
    "CrsSpec",
    "area_mu",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "describe_epsg",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "guess_projected_crs",
    "identify_epsg",
    "in_china",
    "in_china_rows",
    "length_m",
    "looks_like_lonlat",
    "looks_swapped",
    "parse_crs",
    "swapped_rows",
    "transform_geometries",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = NDArray[np.float64]
Bounds = tuple[float, float, float, float]
CoordFunc = Callable[[ArrayLike, ArrayLike], tuple[FloatArray, FloatArray]]

#: 1 亩 = 10000/15 m², so one square metre is 0.0015 亩.
MU_PER_M2 = 15.0 / 10000.0
#: The projection used for every area and length: CGCS2000 3-degree GK CM 120E.
AREA_EPSG = 4549
#: Centre of Xiping Subdistrict, used to rank guesses of an unknown projection.
XIPING_LONLAT = (119.48, 28.45)

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 algorithm.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
# The rough bounding box of China used by every GCJ-02 implementation: outside it the
# obfuscation is not applied, so the same test must be used to stay compatible with them.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)
# BD-09 constants (Baidu's extra rotation/scale and fixed shift).
_BD_X_PI = math.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.0060
# Fixed-point inverses: stop when a step is below 1e-9 degree (~0.1 mm); GCJ-02 converges in
# about 4 steps because the forward transform is close to a translation.
_INV_TOL = 1e-9
_INV_MAX_ITER = 12


# --------------------------------------------------------------------------------------------
# GCJ-02 and BD-09
# --------------------------------------------------------------------------------------------


def _as_float_pair(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    x, y = np.broadcast_arrays(x, y)
    return x.copy(), y.copy()


def _in_china_mask(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    # NaN compares False, so NaN coordinates are "outside" and pass through unchanged.
    return (
        (lon >= _CHINA_LON[0])
        & (lon <= _CHINA_LON[1])
        & (lat >= _CHINA_LAT[0])
        & (lat <= _CHINA_LAT[1])
    )


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offset (degrees) at WGS84 ``lon``/``lat``, ignoring the China test."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = 20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + common * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + common * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    # Metres to degrees on the Krasovsky ellipsoid (meridian and parallel arc lengths).
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Obfuscate WGS84 longitude/latitude to GCJ-02 (the published Krasovsky algorithm).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees; broadcast against each other.

    Returns
    -------
    (lon, lat) : tuple of ndarray
        GCJ-02 degrees, same shape. Points outside the rough China box
        (72.004–137.8347 E, 0.8293–55.8271 N) and NaNs are returned unchanged.
    """
    x, y = _as_float_pair(lon, lat)
    inside = _in_china_mask(x, y)
    if inside.any():
        d_lon, d_lat = _gcj_delta(x[inside], y[inside])
        x[inside] += d_lon
        y[inside] += d_lat
    return x, y


def _fixed_point_inverse(
    forward: CoordFunc, lon: ArrayLike, lat: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Invert ``forward`` (close to a translation) by fixed-point iteration, vectorised.

    Starting from the target itself, each step subtracts the residual ``forward(w) - target``.
    Points stop moving once their step is below ``_INV_TOL``; points whose forward transform
    is the identity (outside China) converge in the first step.
    """
    tx, ty = _as_float_pair(lon, lat)
    shape = tx.shape
    # Work on flat copies: boolean masks cannot assign into 0-d arrays (scalar input).
    tx, ty = tx.ravel(), ty.ravel()
    wx, wy = tx.copy(), ty.copy()
    active = np.isfinite(wx) & np.isfinite(wy)
    for _ in range(_INV_MAX_ITER):
        if not active.any():
            break
        fx, fy = forward(wx[active], wy[active])
        dx = fx - tx[active]
        dy = fy - ty[active]
        wx[active] -= dx
        wy[active] -= dy
        still = (np.abs(dx) > _INV_TOL) | (np.abs(dy) > _INV_TOL)
        idx = np.flatnonzero(active)
        active[idx[~still]] = False
    return wx.reshape(shape), wy.reshape(shape)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Exact inverse of :func:`wgs84_to_gcj02` (round trip well under 1 mm).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees.

    Returns
    -------
    (lon, lat) : tuple of ndarray
        WGS84 degrees; points outside the China box and NaNs are returned unchanged.
    """
    return _fixed_point_inverse(wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 to Baidu BD-09 degrees (applied everywhere, as Baidu does)."""
    x, y = _as_float_pair(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return (
        np.asarray(z * np.cos(theta) + _BD_DLON, dtype=np.float64),
        np.asarray(z * np.sin(theta) + _BD_DLAT, dtype=np.float64),
    )


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Exact inverse of :func:`gcj02_to_bd09` (fixed-point iteration)."""
    return _fixed_point_inverse(gcj02_to_bd09, lon, lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 to BD-09: GCJ-02 obfuscation, then Baidu's transform."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Exact inverse of the whole :func:`wgs84_to_bd09` chain.

    Iterating on the composed chain (rather than chaining two inverses) makes the round trip
    ``wgs84_to_bd09(bd09_to_wgs84(p)) == p`` hold to the iteration tolerance.
    """
    return _fixed_point_inverse(wgs84_to_bd09, lon, lat)


def transform_geometries(geoms: Any, func: CoordFunc) -> NDArray[np.object_]:
    """Apply a coordinate function such as :func:`gcj02_to_wgs84` to shapely geometries.

    Parameters
    ----------
    geoms : array_like of shapely geometries (ndarray, list, GeoSeries or GeometryArray)
        ``None`` entries stay ``None``. Z values are dropped.
    func : callable
        ``func(lon_array, lat_array) -> (lon_array, lat_array)``, vectorised.

    Returns
    -------
    ndarray of object
        New geometries (shapely calls ``func`` once for all coordinates).
    """
    arr = np.asarray(geoms, dtype=object)

    def _xy(coords: FloatArray) -> FloatArray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    result: NDArray[np.object_] = shapely.transform(arr, _xy)
    return result


# --------------------------------------------------------------------------------------------
# Parsing user CRS text
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrsSpec:
    """A coordinate system as a user names it.

    Attributes
    ----------
    kind : {"epsg", "gcj02", "bd09"}
        GCJ-02 and BD-09 are longitude/latitude with an obfuscating offset; they have no EPSG
        code.
    epsg : int or None
        The EPSG code when ``kind == "epsg"``.
    """

    kind: Literal["epsg", "gcj02", "bd09"]
    epsg: int | None = None

    def __str__(self) -> str:
        return f"EPSG:{self.epsg}" if self.kind == "epsg" else self.kind

    @property
    def is_offset(self) -> bool:
        """True for GCJ-02 and BD-09 (lon/lat needing a de-obfuscation to WGS84)."""
        return self.kind != "epsg"

    def to_pyproj(self) -> pyproj.CRS:
        """The pyproj CRS; GCJ-02 / BD-09 map to EPSG:4326 (their nominal datum)."""
        return pyproj.CRS.from_epsg(self.epsg if self.epsg is not None else 4326)

    def to_wgs84_func(self) -> CoordFunc | None:
        """The de-obfuscation for GCJ-02 / BD-09, or None for an EPSG CRS."""
        if self.kind == "gcj02":
            return gcj02_to_wgs84
        if self.kind == "bd09":
            return bd09_to_wgs84
        return None


_ALIASES: dict[str, CrsSpec] = {
    "gcj02": CrsSpec("gcj02"),
    "gcj": CrsSpec("gcj02"),
    "bd09": CrsSpec("bd09"),
    "bd09ll": CrsSpec("bd09"),
    "wgs84": CrsSpec("epsg", 4326),
    "cgcs2000": CrsSpec("epsg", 4490),
}

ACCEPTED_CRS_TEXT = (
    "EPSG:n (e.g. EPSG:4549), a bare EPSG number (4549), wgs84, cgcs2000, gcj02, bd09"
)


def parse_crs(text: str | CrsSpec) -> CrsSpec:
    """Parse a user's CRS text.

    Parameters
    ----------
    text : str
        ``"EPSG:4549"``, ``"epsg:4549"``, ``"4549"``, ``"wgs84"`` (EPSG:4326),
        ``"cgcs2000"`` (EPSG:4490, geographic), ``"gcj02"`` / ``"GCJ-02"``,
        ``"bd09"`` / ``"BD-09"``; case, spaces, ``-`` and ``_`` are ignored in the names.

    Returns
    -------
    CrsSpec

    Raises
    ------
    GeomapError
        Unrecognised text, or an EPSG code PROJ does not know; the message lists what is
        accepted.
    """
    if isinstance(text, CrsSpec):
        return text
    raw = str(text).strip()
    squashed = re.sub(r"[\s_\-]", "", raw).lower()
    if squashed in _ALIASES:
        return _ALIASES[squashed]
    match = re.fullmatch(r"(?:epsg:)?(\d{4,6})", squashed)
    if match:
        code = int(match.group(1))
        try:
            crs = pyproj.CRS.from_epsg(code)
        except pyproj.exceptions.CRSError:
            raise GeomapError(
                f"未知的 EPSG 代码 {code} (unknown EPSG code {code}); "
                "西屏常用 EPSG:4549 (CGCS2000 3度带 CM 120E) 或 EPSG:4326 (WGS84)"
            ) from None
        if not (crs.is_geographic or crs.is_projected):
            raise GeomapError(
                f"EPSG:{code} ({crs.name}) 不是平面或经纬度坐标系 "
                "(not a 2D geographic or projected CRS)"
            )
        return CrsSpec("epsg", code)
    raise GeomapError(
        f"无法识别的坐标系 {raw!r} (unrecognised CRS {raw!r}); 可用 (accepted): {ACCEPTED_CRS_TEXT}"
    )


# --------------------------------------------------------------------------------------------
# Identifying Chinese Gauss-Kruger CRSs
# --------------------------------------------------------------------------------------------

# CGCS2000 Gauss-Kruger families in the EPSG registry (verified against PROJ in the tests):
#   4491-4501  6-degree zones 13-23, zone number prefixed to the easting, CM = 6*zone - 3
#   4502-4512  6-degree CM 75E-135E, false easting 500000
#   4513-4533  3-degree zones 25-45, zone prefix, CM = 3*zone
#   4534-4554  3-degree CM 75E-135E, false easting 500000
_GK6_ZONE_FIRST, _GK6_CM_FIRST, _GK3_ZONE_FIRST, _GK3_CM_FIRST = 4491, 4502, 4513, 4534


def _gk3_cm_code(cm: float) -> int | None:
    if cm % 3 == 0 and 75 <= cm <= 135:
        return _GK3_CM_FIRST + int(cm - 75) // 3
    return None


def _gk6_cm_code(cm: float) -> int | None:
    if (cm + 3) % 6 == 0 and 75 <= cm <= 135:
        return _GK6_CM_FIRST + int(cm - 75) // 6
    return None


def _gk_zone_code(zone: int, cm: float) -> int | None:
    if 25 <= zone <= 45 and cm == 3 * zone:
        return _GK3_ZONE_FIRST + zone - 25
    if 13 <= zone <= 23 and cm == 6 * zone - 3:
        return _GK6_ZONE_FIRST + zone - 13
    return None


def describe_epsg(code: int) -> str:
    """A short English name for a CGCS2000 GK code (4491–4554), else PROJ's name.

    Computed arithmetically for the GK range so error messages cost no database lookups.
    """
    if _GK6_ZONE_FIRST <= code < _GK6_CM_FIRST:
        zone = 13 + code - _GK6_ZONE_FIRST
        return f"CGCS2000 6-degree GK zone {zone} (CM {6 * zone - 3}E, easting prefixed {zone})"
    if _GK6_CM_FIRST <= code < _GK3_ZONE_FIRST:
        return f"CGCS2000 6-degree GK CM {75 + 6 * (code - _GK6_CM_FIRST)}E"
    if _GK3_ZONE_FIRST <= code < _GK3_CM_FIRST:
        zone = 25 + code - _GK3_ZONE_FIRST
        return f"CGCS2000 3-degree GK zone {zone} (CM {3 * zone}E, easting prefixed {zone})"
    if _GK3_CM_FIRST <= code <= 4554:
        return f"CGCS2000 3-degree GK CM {75 + 3 * (code - _GK3_CM_FIRST)}E"
    try:
        return str(pyproj.CRS.from_epsg(code).name)
    except pyproj.exceptions.CRSError:
        return f"EPSG:{code}"


def _is_cgcs2000(crs: pyproj.CRS) -> bool:
    datum = (crs.datum.name if crs.datum else "").lower().replace("_", " ")
    ellipsoid = (crs.ellipsoid.name if crs.ellipsoid else "").lower()
    return ("china" in datum and "2000" in datum) or "cgcs2000" in ellipsoid


def _tm_params(crs: pyproj.CRS) -> dict[str, float] | None:
    """Transverse Mercator parameters by EPSG parameter code, or None for other methods."""
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in op.method_name.lower():
        return None
    params = {p.code: float(p.value) for p in op.params}
    # 8802 longitude of origin, 8801 latitude of origin, 8805 scale, 8806 FE, 8807 FN.
    if not {"8801", "8802", "8805", "8806", "8807"} <= params.keys():
        return None
    return params


def _gk_code_from_params(crs: pyproj.CRS) -> int | None:
    """Pick the CGCS2000 GK EPSG code from central meridian and false easting."""
    if not crs.is_projected or not _is_cgcs2000(crs):
        return None
    p = _tm_params(crs)
    if p is None or p["8801"] != 0 or p["8805"] != 1 or p["8807"] != 0:
        return None
    unit = crs.axis_info[0].unit_name.lower() if crs.axis_info else "metre"
    if unit not in ("metre", "meter", "m"):
        return None
    cm, fe = p["8802"], p["8806"]
    if fe != 500000:
        zone, rest = divmod(fe, 1_000_000)
        return _gk_zone_code(int(zone), cm) if rest == 500000 else None
    gk3, gk6 = _gk3_cm_code(cm), _gk6_cm_code(cm)
    if gk3 is None or gk6 is None:
        return gk3 or gk6
    # Every 6-degree central meridian is also a 3-degree one, with identical parameters:
    # only the name or an explicit authority can tell EPSG:4509 from EPSG:4548.
    declared = crs.to_json_dict().get("id") or {}
    if declared.get("authority") == "EPSG" and declared.get("code") in (gk3, gk6):
        return int(declared["code"])
    name = crs.name.lower().replace("_", "-")
    if re.search(r"3-?degree|3度", name):
        return gk3
    if re.search(r"6-?degree|6度|gauss-kruger|\bgk\b", name):
        return gk6
    # Nothing to go on: local cadastral surveys use 3-degree zones far more often.
    return gk3


def identify_epsg(crs: pyproj.CRS | str | None) -> int | None:
    """The EPSG code of a CRS read from a file, with Chinese GK projections done right.

    PROJ's ``to_epsg()`` returns None for GDAL-style WKT1 of CGCS2000 GK (axis order lost) and
    confuses the 3- and 6-degree families that share a central meridian; for CGCS2000
    Transverse Mercator this reads the central meridian and false easting instead.

    Parameters
    ----------
    crs : pyproj.CRS, str (WKT, "EPSG:n", PROJ string) or None

    Returns
    -------
    int or None
        None when the CRS is None or cannot be identified with confidence.
    """
    if crs is None:
        return None
    if not isinstance(crs, pyproj.CRS):
        try:
            crs = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError:
            return None
    code = _gk_code_from_params(crs)
    if code is not None:
        return code
    epsg = crs.to_epsg()
    if epsg is None and crs.is_geographic and crs.datum is not None:
        # CRS84 and ESRI geographic WKT: pick the common datums by name.
        datum = crs.datum.name.lower().replace("_", " ")
        if ("wgs" in datum and "84" in datum) or "world geodetic system 1984" in datum:
            epsg = 4326
        elif _is_cgcs2000(crs):
            epsg = 4490
    return int(epsg) if epsg is not None else None


# --------------------------------------------------------------------------------------------
# Bounds heuristics
# --------------------------------------------------------------------------------------------


def in_china_rows(bounds: ArrayLike) -> NDArray[np.bool_]:
    """Vectorised :func:`in_china` for an ``(n, 4)`` array of per-feature bounds."""
    b = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
    # NaN compares False, so missing or broken bounds are never "in China".
    result: NDArray[np.bool_] = (
        (b[:, 0] >= _CHINA_LON[0])
        & (b[:, 2] <= _CHINA_LON[1])
        & (b[:, 0] <= b[:, 2])
        & (b[:, 1] >= _CHINA_LAT[0])
        & (b[:, 3] <= _CHINA_LAT[1])
        & (b[:, 1] <= b[:, 3])
    )
    return result


def swapped_rows(bounds: ArrayLike) -> NDArray[np.bool_]:
    """Vectorised :func:`looks_swapped` for an ``(n, 4)`` array of per-feature bounds."""
    b = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
    result: NDArray[np.bool_] = ~in_china_rows(b) & in_china_rows(b[:, [1, 0, 3, 2]])
    return result


def looks_like_lonlat(bounds: Bounds) -> bool:
    """True if ``(minx, miny, maxx, maxy)`` fit in longitude/latitude ranges."""
    minx, miny, maxx, maxy = bounds
    return bool(-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90)


def in_china(bounds: Bounds) -> bool:
    """True if the lon/lat bounds lie inside the rough China box used by GCJ-02."""
    return bool(in_china_rows(bounds)[0])


def looks_swapped(bounds: Bounds) -> bool:
    """True if the bounds are outside China but would be inside with x and y exchanged.

    e.g. x ≈ 28, y ≈ 119: latitude was given as x.
    """
    return bool(swapped_rows(bounds)[0])


def guess_projected_crs(bounds: Bounds, limit: int = 3) -> list[int]:
    """Candidate EPSG codes for projected coordinates given without a CRS.

    Parameters
    ----------
    bounds : (minx, miny, maxx, maxy)
        In the unknown projection's units (assumed metres).
    limit : int
        At most this many codes are returned.

    Returns
    -------
    list of int
        Most likely first: codes whose interpretation puts the data closest to Xiping.
        A zone-prefixed easting (e.g. 40xxxxxx) gives exactly one GK code (zone 40 →
        EPSG:4528); a plain easting (100000–900000) with a northing inside China gives the
        3- and 6-degree CM codes ranked by distance to Xiping (EPSG:4549 first for Xiping).
        Web Mercator (EPSG:3857) is included when it fits. Empty when nothing fits.
    """
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    # A GK northing is close to metres along the meridian from the equator.
    lat_est = cy / 110_950.0
    ranked: list[tuple[float, int]] = []

    def _rank(lon: float, lat: float, code: int) -> None:
        if in_china((lon, lat, lon, lat)):
            ranked.append((math.hypot(lon - XIPING_LONLAT[0], lat - XIPING_LONLAT[1]), code))

    def _gk_lon(cm: float, easting: float) -> float:
        return cm + (easting - 500_000.0) / (111_320.0 * math.cos(math.radians(lat_est)))

    zone_min, zone_max = int(minx // 1_000_000), int(maxx // 1_000_000)
    if 0 <= lat_est <= 56 and zone_min == zone_max and 13 <= zone_min <= 45:
        zone = zone_min
        cm = 3.0 * zone if zone >= 25 else 6.0 * zone - 3
        code = _gk_zone_code(zone, cm)
        rest = cx - zone * 1_000_000
        if code is not None and 100_000 <= rest <= 900_000:
            _rank(_gk_lon(cm, rest), lat_est, code)
    if 0 <= lat_est <= 56 and 100_000 <= minx <= maxx <= 900_000:
        for cm in range(75, 136, 3):
            lon = _gk_lon(cm, cx)
            if abs(lon - cm) <= 1.6:
                _rank(lon, lat_est, _GK3_CM_FIRST + (cm - 75) // 3)
            if (cm + 3) % 6 == 0 and abs(lon - cm) <= 3.1:
                _rank(lon, lat_est, _GK6_CM_FIRST + (cm - 75) // 6)
    if abs(cx) <= 20_037_508 and abs(cy) <= 20_037_508:
        lon = math.degrees(cx / 6_378_137.0)
        lat = math.degrees(2 * math.atan(math.exp(cy / 6_378_137.0)) - math.pi / 2)
        _rank(lon, lat, 3857)
    ranked.sort()
    return [code for _, code in ranked[:limit]]


# --------------------------------------------------------------------------------------------
# Areas and lengths
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _transformer(src: int, dst: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _to_area_crs(geoms: Any) -> NDArray[np.object_]:
    crs = getattr(geoms, "crs", None)
    if crs is not None and identify_epsg(crs) not in (4326, None):
        # A GeoSeries in some other CRS: bring it to WGS84 first so the rule is uniform.
        geoms = geoms.to_crs(4326)
    arr = np.asarray(geoms, dtype=object)
    transformer = _transformer(4326, AREA_EPSG)

    def _project(coords: FloatArray) -> FloatArray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    result: NDArray[np.object_] = shapely.transform(arr, _project)
    return result


def area_mu(geoms: Any) -> FloatArray:
    """Area of each geometry in 亩, measured in EPSG:4549.

    Parameters
    ----------
    geoms : GeoSeries, GeometryArray, ndarray or list of shapely geometries
        WGS84 lon/lat (a GeoSeries with another CRS is converted first).

    Returns
    -------
    ndarray of float
        0 for points and lines, NaN for missing geometries.
    """
    projected = _to_area_crs(geoms)
    result: FloatArray = shapely.area(projected) * MU_PER_M2
    return result


def length_m(geoms: Any) -> FloatArray:
    """Length of each geometry in metres (perimeter for polygons), measured in EPSG:4549.

    Parameters
    ----------
    geoms : GeoSeries, GeometryArray, ndarray or list of shapely geometries
        WGS84 lon/lat.

    Returns
    -------
    ndarray of float
        0 for points, NaN for missing geometries.
    """
    result: FloatArray = shapely.length(_to_area_crs(geoms))
    return result
