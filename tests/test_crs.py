"""Tests for geomap.crs: GCJ-02 / BD-09 against published values and prcoords, CRS parsing,
CGCS2000 Gauss-Kruger identification, bounds heuristics, areas in 亩."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import prcoords
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from geomap import crs
from geomap.errors import GeomapError

GEOD = pyproj.Geod(ellps="WGS84")


def metres(lon1: object, lat1: object, lon2: object, lat2: object) -> np.ndarray:
    """Geodesic distance in metres (vectorised)."""
    _, _, d = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(d)


# ---------------------------------------------------------------------------------------------
# Published reference values
# ---------------------------------------------------------------------------------------------

# The Beijing sample used by wandergis/coordtransform (test/app.js) and copied by hutool:
# input (116.404, 39.915) for every function.
WANDERGIS_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
WANDERGIS_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)

# googollee/eviltransform's test table: (wgs lat, wgs lng, gcj lat, gcj lng).
EVILTRANSFORM_WGS_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


def test_wgs84_to_gcj02_matches_published_beijing_sample() -> None:
    lon, lat = crs.wgs84_to_gcj02(116.404, 39.915)
    assert float(lon) == pytest.approx(WANDERGIS_WGS_TO_GCJ[0], abs=1e-12)
    assert float(lat) == pytest.approx(WANDERGIS_WGS_TO_GCJ[1], abs=1e-12)


def test_gcj02_to_bd09_matches_published_beijing_sample() -> None:
    lon, lat = crs.gcj02_to_bd09(116.404, 39.915)
    assert float(lon) == pytest.approx(WANDERGIS_GCJ_TO_BD[0], abs=1e-12)
    assert float(lat) == pytest.approx(WANDERGIS_GCJ_TO_BD[1], abs=1e-12)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM_WGS_GCJ)
def test_wgs84_to_gcj02_matches_eviltransform_table(
    wlat: float, wlon: float, glat: float, glon: float
) -> None:
    lon, lat = crs.wgs84_to_gcj02(wlon, wlat)
    assert float(lon) == pytest.approx(glon, abs=1e-9)
    assert float(lat) == pytest.approx(glat, abs=1e-9)
    # ...and the exact inverse recovers the WGS84 input to well under a centimetre.
    back_lon, back_lat = crs.gcj02_to_wgs84(glon, glat)
    assert metres(back_lon, back_lat, wlon, wlat) < 0.01


def test_gcj02_offset_at_xiping_is_about_600_m() -> None:
    lon, lat = crs.wgs84_to_gcj02(119.48, 28.45)
    assert 400 < metres(119.48, 28.45, lon, lat) < 800


# ---------------------------------------------------------------------------------------------
# Round trips and the prcoords oracle
# ---------------------------------------------------------------------------------------------

china_lon = st.floats(min_value=73.0, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=18.0, max_value=53.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_gcj02_round_trip_under_1_cm(lon: float, lat: float) -> None:
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    wlon, wlat = crs.gcj02_to_wgs84(glon, glat)
    assert metres(wlon, wlat, lon, lat) < 0.01


@settings(max_examples=300, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_bd09_round_trip_under_1_cm(lon: float, lat: float) -> None:
    blon, blat = crs.wgs84_to_bd09(lon, lat)
    wlon, wlat = crs.bd09_to_wgs84(blon, blat)
    assert metres(wlon, wlat, lon, lat) < 0.01


def china_grid() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(73.5, 134.5, 41), np.linspace(18.5, 53.5, 31))
    return lon.ravel(), lat.ravel()


def test_grid_round_trip_vectorised_under_1_mm() -> None:
    lon, lat = china_grid()
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert metres(back[0], back[1], lon, lat).max() < 0.001
    back = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat))
    assert metres(back[0], back[1], lon, lat).max() < 0.001


def test_forward_agrees_with_prcoords_over_grid() -> None:
    lon, lat = china_grid()
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    blon, blat = crs.wgs84_to_bd09(lon, lat)
    for i in range(len(lon)):
        g = prcoords.wgs_gcj((lat[i], lon[i]))
        b = prcoords.wgs_bd((lat[i], lon[i]))
        assert (glon[i], glat[i]) == pytest.approx((g.lon, g.lat), abs=1e-10)
        assert (blon[i], blat[i]) == pytest.approx((b.lon, b.lat), abs=1e-10)


def test_inverse_agrees_with_prcoords_exact_inverse() -> None:
    lon, lat = china_grid()
    wlon, wlat = crs.gcj02_to_wgs84(lon, lat)
    blon, blat = crs.bd09_to_wgs84(lon, lat)
    for i in range(0, len(lon), 7):
        g = prcoords.gcj_wgs_bored((lat[i], lon[i]))
        b = prcoords.bd_wgs_bored((lat[i], lon[i]))
        assert metres(wlon[i], wlat[i], g.lon, g.lat) < 0.01
        # prcoords stops iterating once a step is below 1e-5 degree, which leaves BD-09 up
        # to ~1 cm short; ours goes on to 1e-9 degree, hence the looser bound here and the
        # residual check below.
        assert metres(blon[i], blat[i], b.lon, b.lat) < 0.02
    fx, fy = crs.wgs84_to_gcj02(wlon, wlat)
    assert np.abs(fx - lon).max() < 1e-9 and np.abs(fy - lat).max() < 1e-9
    fx, fy = crs.wgs84_to_bd09(blon, blat)
    assert np.abs(fx - lon).max() < 1e-9 and np.abs(fy - lat).max() < 1e-9


def test_one_step_inverse_would_be_metres_off() -> None:
    # Why the iteration matters: prcoords' rough inverse is the one-step formula.
    rough = prcoords.gcj_wgs((28.45, 119.48))
    exact_lon, exact_lat = crs.gcj02_to_wgs84(119.48, 28.45)
    assert metres(rough.lon, rough.lat, exact_lon, exact_lat) > 0.5


def test_outside_china_and_nan_unchanged() -> None:
    lon = np.array([-0.1276, 2.35, np.nan, 119.48])
    lat = np.array([51.5072, 48.85, 28.45, np.nan])
    for func in (crs.wgs84_to_gcj02, crs.gcj02_to_wgs84):
        out_lon, out_lat = func(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_shapes_preserved_and_inputs_untouched() -> None:
    lon = np.full((3, 4), 119.48)
    lat = np.full((3, 4), 28.45)
    out = crs.gcj02_to_wgs84(lon, lat)
    assert out[0].shape == (3, 4) and out[1].shape == (3, 4)
    assert (lon == 119.48).all()  # not modified in place
    scalar = crs.bd09_to_wgs84(119.49, 28.46)
    assert np.ndim(scalar[0]) == 0


def test_transform_geometries_keeps_none_and_types() -> None:
    geoms = np.array(
        [
            box(119.48, 28.45, 119.49, 28.46),
            Point(119.48, 28.45),
            None,
            LineString([(119, 28), (120, 29)]),
        ],
        dtype=object,
    )
    out = crs.transform_geometries(geoms, crs.wgs84_to_gcj02)
    assert out[2] is None
    assert [g.geom_type for g in out[[0, 1, 3]]] == ["Polygon", "Point", "LineString"]
    x, y = crs.wgs84_to_gcj02(119.48, 28.45)
    assert (out[1].x, out[1].y) == pytest.approx((float(x), float(y)))
    back = crs.transform_geometries(out, crs.gcj02_to_wgs84)
    assert shapely.equals_exact(back[0], geoms[0], tolerance=1e-9)
    # GeoSeries input works too.
    series = gpd.GeoSeries([Point(119.48, 28.45)], crs=4326)
    assert crs.transform_geometries(series, crs.wgs84_to_gcj02)[0].x == pytest.approx(float(x))


def test_many_points_round_trip_in_one_call() -> None:
    """100,000 points of the Xiping area in one vectorised call each way, exact to 1 mm.
    (How fast a million go is measured by benchmarks/crs_transform.py, not timed here.)"""
    rng = np.random.default_rng(0)
    lon = rng.uniform(119.3, 119.7, 100_000)
    lat = rng.uniform(28.3, 28.6, 100_000)
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    assert glon.shape == lon.shape and metres(glon, glat, lon, lat).min() > 100  # it moved
    back = crs.gcj02_to_wgs84(glon, glat)
    assert metres(back[0], back[1], lon, lat).max() < 0.001


# ---------------------------------------------------------------------------------------------
# parse_crs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EPSG:4549", "EPSG:4549"),
        ("epsg:4549", "EPSG:4549"),
        ("4549", "EPSG:4549"),
        (" EPSG:4528 ", "EPSG:4528"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("gcj_02", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("wgs84", "EPSG:4326"),
        ("WGS-84", "EPSG:4326"),
        ("cgcs2000", "EPSG:4490"),
        ("CGCS2000", "EPSG:4490"),
    ],
)
def test_parse_crs_accepts(text: str, expected: str) -> None:
    assert str(crs.parse_crs(text)) == expected


def test_parse_crs_spec_properties() -> None:
    assert crs.parse_crs("gcj02").is_offset
    assert crs.parse_crs("gcj02").to_wgs84_func() is crs.gcj02_to_wgs84
    assert crs.parse_crs("bd09").to_wgs84_func() is crs.bd09_to_wgs84
    spec = crs.parse_crs("EPSG:4549")
    assert not spec.is_offset and spec.to_wgs84_func() is None
    assert spec.to_pyproj().to_epsg() == 4549


@pytest.mark.parametrize("text", ["", "mars", "EPSG:", "EPSG:99999", "utm50", "4549a"])
def test_parse_crs_rejects_with_what_is_accepted(text: str) -> None:
    with pytest.raises(GeomapError) as err:
        crs.parse_crs(text)
    message = str(err.value)
    assert "EPSG" in message
    if text != "EPSG:99999":
        assert "gcj02" in message and "bd09" in message


# ---------------------------------------------------------------------------------------------
# Gauss-Kruger identification
# ---------------------------------------------------------------------------------------------

GK_CODES = list(range(4491, 4555))


@pytest.mark.parametrize("code", GK_CODES)
def test_identify_every_cgcs2000_gk_code_from_every_wkt_flavour(code: int) -> None:
    reference = pyproj.CRS.from_epsg(code)
    for version in ("WKT1_GDAL", "WKT1_ESRI", "WKT2_2019"):
        assert crs.identify_epsg(reference.to_wkt(version)) == code, version


def test_pyproj_alone_gets_these_wrong() -> None:
    # The reason identify_epsg exists (PITFALLS): GDAL-style WKT1 loses to_epsg(), and the
    # 6-degree CM 117E is "identified" as the 3-degree one.
    wkt_4549 = pyproj.CRS.from_epsg(4549).to_wkt("WKT1_GDAL")
    assert pyproj.CRS.from_wkt(wkt_4549).to_epsg() is None
    wkt_4509 = pyproj.CRS.from_epsg(4509).to_wkt("WKT1_GDAL")
    assert pyproj.CRS.from_wkt(wkt_4509).to_epsg() == 4548
    assert crs.identify_epsg(wkt_4549) == 4549
    assert crs.identify_epsg(wkt_4509) == 4509


def test_identify_from_parameters_without_names() -> None:
    # A custom WKT with no helpful name: central meridian + false easting decide.
    base = (
        'PROJCS["unnamed",GEOGCS["GCS_China_2000",DATUM["D_China_2000",'
        'SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
        'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
        'PARAMETER["False_Easting",{fe}],PARAMETER["False_Northing",0.0],'
        'PARAMETER["Central_Meridian",{cm}],PARAMETER["Scale_Factor",1.0],'
        'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )
    assert crs.identify_epsg(base.format(fe=500000.0, cm=120.0)) == 4549
    assert crs.identify_epsg(base.format(fe=40500000.0, cm=120.0)) == 4528
    assert crs.identify_epsg(base.format(fe=20500000.0, cm=117.0)) == 4498
    # A shared CM 117E with no name: 3-degree (the common case for cadastral data).
    assert crs.identify_epsg(base.format(fe=500000.0, cm=117.0)) == 4548
    # A zone prefix that does not match the central meridian is not a standard GK CRS.
    assert crs.identify_epsg(base.format(fe=41500000.0, cm=120.0)) is None


def test_identify_other_crs() -> None:
    assert crs.identify_epsg(None) is None
    assert crs.identify_epsg("EPSG:4326") == 4326
    assert crs.identify_epsg(pyproj.CRS("OGC:CRS84")) == 4326
    assert crs.identify_epsg(pyproj.CRS.from_epsg(4326).to_wkt("WKT1_ESRI")) == 4326
    assert crs.identify_epsg(pyproj.CRS.from_epsg(4490).to_wkt("WKT1_ESRI")) == 4490
    assert crs.identify_epsg("EPSG:32650") == 32650
    assert crs.identify_epsg("not a crs") is None
    # Xian 1980 GK is not mistaken for CGCS2000.
    assert crs.identify_epsg("EPSG:2385") == 2385


def test_describe_epsg_matches_proj_names() -> None:
    for code in GK_CODES:
        name = pyproj.CRS.from_epsg(code).name  # e.g. CGCS2000 / 3-degree Gauss-Kruger zone 40
        described = crs.describe_epsg(code)
        assert ("3-degree" in name) == ("3-degree" in described), code
        number = name.split()[-1]  # "40" or "120E"
        assert (f"zone {number}" in described) if "zone" in name else (f"CM {number}" in described)
    assert "Pseudo-Mercator" in crs.describe_epsg(3857)


# ---------------------------------------------------------------------------------------------
# Projected coordinates without a CRS
# ---------------------------------------------------------------------------------------------


def project(code: int, lon: float = 119.48, lat: float = 28.45) -> tuple[float, float]:
    x, y = pyproj.Transformer.from_crs(4326, code, always_xy=True).transform(lon, lat)
    return float(x), float(y)


def square_bounds(x: float, y: float, size: float = 500.0) -> tuple[float, float, float, float]:
    return (x, y, x + size, y + size)


def test_guess_xiping_gk_cm120_first() -> None:
    guesses = crs.guess_projected_crs(square_bounds(*project(4549)))
    assert guesses[0] == 4549
    assert len(guesses) <= 3


def test_guess_zone_prefixed_easting() -> None:
    assert crs.guess_projected_crs(square_bounds(*project(4528))) == [4528]
    assert crs.guess_projected_crs(square_bounds(*project(4498))) == [4498]


def test_guess_six_degree_and_web_mercator() -> None:
    assert crs.guess_projected_crs(square_bounds(*project(4509)))[0] == 4509
    assert crs.guess_projected_crs(square_bounds(*project(3857)))[0] == 3857


def test_guess_nothing_for_nonsense() -> None:
    assert crs.guess_projected_crs((1e9, 1e9, 2e9, 2e9)) == []
    assert crs.guess_projected_crs((0, 0, 10, 10)) == []


# ---------------------------------------------------------------------------------------------
# Bounds heuristics
# ---------------------------------------------------------------------------------------------


def test_bounds_heuristics() -> None:
    xiping = (119.4, 28.4, 119.6, 28.5)
    swapped = (28.4, 119.4, 28.5, 119.6)
    london = (-0.2, 51.4, 0.1, 51.6)
    metres_4549 = (449000.0, 3148000.0, 450000.0, 3149000.0)
    assert crs.looks_like_lonlat(xiping) and crs.in_china(xiping)
    assert not crs.looks_swapped(xiping)
    assert crs.looks_swapped(swapped) and not crs.looks_like_lonlat(swapped)
    assert crs.looks_like_lonlat(london) and not crs.in_china(london)
    assert not crs.looks_swapped(london)
    assert not crs.looks_like_lonlat(metres_4549) and not crs.looks_swapped(metres_4549)


def test_vectorised_bounds_heuristics() -> None:
    rows = np.array(
        [
            (119.4, 28.4, 119.6, 28.5),
            (28.4, 119.4, 28.5, 119.6),
            (-0.2, 51.4, 0.1, 51.6),
            (np.nan, np.nan, np.nan, np.nan),
        ]
    )
    assert crs.in_china_rows(rows).tolist() == [True, False, False, False]
    assert crs.swapped_rows(rows).tolist() == [False, True, False, False]


# ---------------------------------------------------------------------------------------------
# Areas and lengths
# ---------------------------------------------------------------------------------------------


def test_mu_constant() -> None:
    assert pytest.approx(0.0015) == crs.MU_PER_M2
    assert pytest.approx(10000 / 15) == 1 / crs.MU_PER_M2


def square_wgs84(side: float) -> gpd.GeoSeries:
    x, y = project(4549)
    return gpd.GeoSeries([box(x, y, x + side, y + side)], crs=4549).to_crs(4326)


def test_area_mu_of_known_square() -> None:
    # 100 m x 100 m = 10000 m² = 15 亩, measured in EPSG:4549 where the square was drawn.
    assert crs.area_mu(square_wgs84(100.0))[0] == pytest.approx(15.0, rel=1e-9)
    assert crs.length_m(square_wgs84(100.0))[0] == pytest.approx(400.0, rel=1e-9)


def test_area_mu_close_to_geodesic_at_xiping() -> None:
    # PITFALLS: 215.5 亩 geodesic → EPSG:4549 within 0.01 %.
    side = math.sqrt(215.5 / crs.MU_PER_M2)
    geom = square_wgs84(side)[0]
    geodesic_m2, _ = GEOD.geometry_area_perimeter(geom)
    geodesic_mu = abs(geodesic_m2) * crs.MU_PER_M2
    assert crs.area_mu([geom])[0] == pytest.approx(geodesic_mu, rel=1e-4)


def test_area_accepts_other_containers_and_crs() -> None:
    series = square_wgs84(100.0)
    as_4549 = series.to_crs(4549)
    assert crs.area_mu(as_4549)[0] == pytest.approx(15.0, rel=1e-9)
    assert crs.area_mu(series.values)[0] == pytest.approx(15.0, rel=1e-9)
    assert crs.area_mu(np.asarray(series.values, dtype=object))[0] == pytest.approx(15.0)
    out = crs.area_mu([Point(119.48, 28.45), None])
    assert out[0] == 0 and np.isnan(out[1])
    assert crs.length_m([LineString([(119.48, 28.45), (119.48, 28.46)])])[0] == pytest.approx(
        1109, rel=0.01
    )
