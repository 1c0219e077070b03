"""Tests for geomap.ingest: every source format built for real in tmp_path (fixtures_build),
encodings, CRS handling, validation messages, zip safety, attribute checks."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import fixtures_build as fb
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box

from geomap.crs import area_mu
from geomap.errors import DataError, GeomapError
from geomap.ingest import (
    IngestResult,
    declared_area_warnings,
    detect_dbf_encoding,
    duplicate_keys,
    read_source,
)
from geomap.ingest import archives as ingest_archives

GEOD = pyproj.Geod(ellps="WGS84")
NAMES = list(fb.PARCEL_NAMES)


def distances_m(gdf: gpd.GeoDataFrame, points: list[tuple[str, float, float]]) -> np.ndarray:
    _, _, d = GEOD.inv(
        gdf.geometry.x.to_numpy(),
        gdf.geometry.y.to_numpy(),
        [p[1] for p in points],
        [p[2] for p in points],
    )
    return np.asarray(d)


def assert_clean(result: IngestResult) -> None:
    """What every successful read promises."""
    gdf = result.gdf
    assert isinstance(gdf.index, pd.RangeIndex) and gdf.index.start == 0
    assert gdf.crs is not None and gdf.crs.to_epsg() == 4326
    assert gdf.geometry.name == "geometry"
    assert not gdf.geometry.has_z.any()
    assert gdf.geometry.is_valid.all()


def read_error(path: Path, **kwargs: object) -> str:
    with pytest.raises(DataError) as err:
        read_source(path, **kwargs)  # type: ignore[arg-type]
    message = str(err.value)
    assert str(path) in message or path.name in message  # always names the file
    assert "Traceback" not in message
    return message


@pytest.fixture
def gbk_shp(tmp_path: Path) -> Path:
    return fb.write_shapefile(tmp_path / "gbk", fb.parcels_4549(), encoding="GBK")


# ---------------------------------------------------------------------------------------------
# Shapefiles and encodings
# ---------------------------------------------------------------------------------------------


def test_fixture_reproduces_the_gdal_mojibake(gbk_shp: Path) -> None:
    # The pitfall we guard against: GDAL alone reads the GBK .dbf as Latin-1, silently.
    assert not gbk_shp.with_suffix(".cpg").exists()
    naive = pyogrio.read_dataframe(gbk_shp)
    assert "名称" not in naive.columns
    assert "西屏街道" not in naive.astype(str).to_numpy().ravel().tolist()


def test_gbk_shapefile_without_cpg(gbk_shp: Path) -> None:
    result = read_source(gbk_shp)
    assert_clean(result)
    gdf = result.gdf
    assert gdf["名称"].tolist() == NAMES  # 張 is not in GB2312: this proves GB18030
    assert gdf["code"].tolist() == ["001", "002", "003"]
    assert result.encoding == "GB18030"
    assert result.crs_in == "EPSG:4549"
    assert result.source_format == "shapefile"
    assert result.layer_used == "parcels"
    assert result.repaired == 0
    np.testing.assert_allclose(area_mu(gdf.geometry), fb.expected_parcel_mu(), rtol=1e-3)


def test_detect_dbf_encoding_direct(gbk_shp: Path, tmp_path: Path) -> None:
    assert detect_dbf_encoding(gbk_shp.with_suffix(".dbf")) == "gb18030"
    utf = fb.write_shapefile(tmp_path / "utf", fb.parcels_4549(), encoding="UTF-8")
    assert detect_dbf_encoding(utf.with_suffix(".dbf")) == "utf-8"


def test_utf8_shapefile_without_cpg_is_not_read_as_gb18030(tmp_path: Path) -> None:
    # Order matters: UTF-8 bytes would decode "successfully" as GB18030 into nonsense.
    shp = fb.write_shapefile(tmp_path / "utf", fb.parcels_4549(), encoding="UTF-8")
    result = read_source(shp)
    assert result.encoding == "UTF-8"
    assert result.gdf["名称"].tolist() == NAMES


@pytest.mark.parametrize(
    ("encoding", "cpg_text", "expected"),
    [("UTF-8", None, "UTF-8"), ("GBK", "936", "GB18030"), ("GBK", "GB2312", "GB18030")],
)
def test_shapefile_with_cpg(
    tmp_path: Path, encoding: str, cpg_text: str | None, expected: str
) -> None:
    shp = fb.write_shapefile(
        tmp_path / "cpg", fb.parcels_4549(), encoding=encoding, keep_cpg=True, cpg_text=cpg_text
    )
    result = read_source(shp)
    assert result.encoding == expected
    assert result.gdf["名称"].tolist() == NAMES


def test_cpg_wins_over_detection(tmp_path: Path) -> None:
    # A .cpg is the writer's statement: honour it even when the bytes would say otherwise.
    shp = fb.write_shapefile(tmp_path / "c", fb.parcels_4549(), encoding="GBK", cpg_text="UTF-8")
    # GBK bytes read as UTF-8 fail loudly rather than garble, and the message says the fix.
    message = read_error(shp)
    assert "parcels.cpg" in message and "--encoding GB18030" in message
    assert read_source(shp, encoding="GB18030").gdf["名称"].tolist() == NAMES


def test_encoding_argument_overrides(gbk_shp: Path) -> None:
    result = read_source(gbk_shp, encoding="gbk")
    assert result.encoding == "GB18030" or result.encoding == "GBK"
    assert result.gdf["名称"].tolist() == NAMES
    with pytest.raises(GeomapError, match="unknown encoding"):
        read_source(gbk_shp, encoding="klingon")


def test_shapefile_without_prj_asks_for_crs(gbk_shp: Path) -> None:
    # Typical of CAD/CASS exports: metres, no .prj.
    gbk_shp.with_suffix(".prj").unlink()
    message = read_error(gbk_shp)
    assert "--crs EPSG:4549" in message
    assert read_source(gbk_shp, crs="EPSG:4549").crs_in == "EPSG:4549"


@pytest.mark.parametrize(("code", "flavour"), [(4549, "WKT1_GDAL"), (4509, "WKT1_GDAL")])
def test_prj_identified_where_pyproj_alone_fails(tmp_path: Path, code: int, flavour: str) -> None:
    parcels = fb.parcels_4549().to_crs(code)
    shp = fb.write_shapefile(tmp_path / "p", parcels)
    shp.with_suffix(".prj").write_text(pyproj.CRS.from_epsg(code).to_wkt(flavour))
    result = read_source(shp)
    assert result.crs_in == f"EPSG:{code}"
    np.testing.assert_allclose(area_mu(result.gdf.geometry), fb.expected_parcel_mu(), rtol=2e-3)


def test_zipped_shapefile(gbk_shp: Path, tmp_path: Path) -> None:
    zipped = fb.zip_files(tmp_path / "parcels.zip", fb.shapefile_parts(gbk_shp), prefix="数据/")
    result = read_source(zipped)
    assert_clean(result)
    assert result.source_format == "shapefile-zip"
    assert result.layer_used == "数据/parcels.shp"
    assert result.encoding == "GB18030"
    assert result.gdf["名称"].tolist() == NAMES
    np.testing.assert_allclose(area_mu(result.gdf.geometry), fb.expected_parcel_mu(), rtol=1e-3)


def test_zip_with_gbk_member_names(gbk_shp: Path, tmp_path: Path) -> None:
    # Windows' own zip on a Chinese system stores names in GBK without the UTF-8 flag.
    zipped = fb.zip_files_gbk_names(tmp_path / "c.zip", fb.shapefile_parts(gbk_shp), "村界")
    result = read_source(zipped)
    assert result.layer_used == "村界.shp"
    assert result.gdf["名称"].tolist() == NAMES


def test_zip_with_two_shapefiles_needs_layer(gbk_shp: Path, tmp_path: Path) -> None:
    other = fb.write_shapefile(tmp_path / "o", fb.parcels_4549(), name="roads")
    zipped = fb.zip_files(
        tmp_path / "two.zip", fb.shapefile_parts(gbk_shp) + fb.shapefile_parts(other)
    )
    message = read_error(zipped)
    assert "parcels.shp" in message and "roads.shp" in message and "--layer" in message
    assert read_source(zipped, layer="roads").layer_used == "roads.shp"


def test_shapefile_missing_parts_and_truncation(gbk_shp: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for part in fb.shapefile_parts(gbk_shp):
        shutil.copy(part, broken / part.name)
    shp = broken / "parcels.shp"
    fb.write_truncated(shp, gbk_shp, keep=0.8)
    assert "truncated" in read_error(shp)
    (broken / "parcels.shx").unlink()
    assert ".shx" in read_error(shp)
    assert ".shp" in read_error(broken / "parcels.dbf")


def test_shapefile_truncated_dbf(gbk_shp: Path, tmp_path: Path) -> None:
    broken = tmp_path / "b"
    broken.mkdir()
    for part in fb.shapefile_parts(gbk_shp):
        shutil.copy(part, broken / part.name)
    fb.write_truncated(broken / "parcels.dbf", gbk_shp.with_suffix(".dbf"), keep=0.9)
    assert "corrupt" in read_error(broken / "parcels.shp")


# ---------------------------------------------------------------------------------------------
# GeoPackage, KML, KMZ, GeoJSON
# ---------------------------------------------------------------------------------------------


def test_geopackage_with_two_layers(tmp_path: Path) -> None:
    gpkg = fb.write_gpkg_two_layers(tmp_path / "two.gpkg")
    message = read_error(gpkg)
    assert "villages" in message and "wells" in message and "--layer" in message
    wells = read_source(gpkg, layer="wells")
    assert_clean(wells)
    assert wells.layer_used == "wells" and wells.source_format == "gpkg"
    assert len(wells.gdf) == 4 and wells.crs_in == "EPSG:4326"
    villages = read_source(gpkg, layer="villages")
    assert villages.gdf["名称"].tolist() == NAMES
    assert "villages, wells" in read_error(gpkg, layer="roads")


def check_kml_parcels(result: IngestResult) -> None:
    assert_clean(result)
    gdf = result.gdf
    assert gdf["name"].tolist() == NAMES
    assert gdf["编码"].tolist() == ["001", "002", "003"]  # Chinese <Data name> kept
    declared = pd.to_numeric(gdf["面积"])
    np.testing.assert_allclose(area_mu(gdf.geometry), fb.expected_parcel_mu(), rtol=1e-3)
    assert declared.iloc[0] == pytest.approx(15.0)
    assert not {"tessellate", "extrude", "visibility", "altitudeMode"} & set(gdf.columns)


def test_kml_google_earth_style(tmp_path: Path) -> None:
    kml = tmp_path / "parcels.kml"
    kml.write_text(fb.kml_google_earth(fb.parcel_placemarks()), encoding="utf-8")
    result = read_source(kml)
    check_kml_parcels(result)
    assert result.source_format == "kml" and result.crs_in == "EPSG:4326"


def test_kmz(tmp_path: Path) -> None:
    kmz = fb.write_kmz(tmp_path / "parcels.kmz", fb.kml_google_earth(fb.parcel_placemarks()))
    result = read_source(kmz)
    check_kml_parcels(result)
    assert result.source_format == "kmz"


def test_kml_written_by_gdal_libkml_schema_data(tmp_path: Path) -> None:
    kml = tmp_path / "gdal.kml"
    pyogrio.write_dataframe(fb.parcels_4549().to_crs(4326), kml, driver="LIBKML")
    result = read_source(kml)
    assert result.gdf["名称"].tolist() == NAMES
    assert result.gdf["面积"].iloc[1] == pytest.approx(fb.expected_parcel_mu()[1])


def test_kml_laundering_switch_is_restored(tmp_path: Path) -> None:
    kml = tmp_path / "parcels.kml"
    kml.write_text(fb.kml_google_earth(fb.parcel_placemarks()), encoding="utf-8")
    before = pyogrio.get_gdal_config_option("LIBKML_LAUNDER_FIELD_NAMES")
    read_source(kml)
    assert pyogrio.get_gdal_config_option("LIBKML_LAUNDER_FIELD_NAMES") == before


def test_kml_with_folders_needs_layer(tmp_path: Path) -> None:
    kml = tmp_path / "folders.kml"
    kml.write_text(fb.kml_two_folders(), encoding="utf-8")
    message = read_error(kml)
    assert "村庄" in message and "水库" in message and "--layer" in message
    result = read_source(kml, layer="村庄")
    assert result.layer_used == "村庄"
    assert result.gdf["村名"].tolist() == ["張村"]
    assert result.gdf["户数"].tolist() == [12]


def test_kml_with_doctype_refused(tmp_path: Path) -> None:
    kml = tmp_path / "evil.kml"
    doctype = '<!DOCTYPE kml [<!ENTITY lol "lol"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    kml.write_text(fb.kml_google_earth(fb.parcel_placemarks(), doctype=doctype))
    assert "DOCTYPE" in read_error(kml)


def test_truncated_kml(tmp_path: Path) -> None:
    kml = tmp_path / "parcels.kml"
    kml.write_text(fb.kml_google_earth(fb.parcel_placemarks()), encoding="utf-8")
    assert "corrupt" in read_error(fb.write_truncated(tmp_path / "cut.kml", kml, keep=0.5))


def test_geojson_gcj02_converted(tmp_path: Path) -> None:
    points = fb.gcj_points()
    gdf = gpd.GeoDataFrame(
        {"name": [p[0] for p in points]},
        geometry=[Point(x, y) for _, x, y in points],
        crs=4326,
    )
    path = fb.write_geojson(tmp_path / "amap.geojson", gdf)
    result = read_source(path, crs="gcj02")
    assert result.crs_in == "gcj02"
    assert distances_m(result.gdf, fb.XIPING_POINTS_WGS84).max() < 0.01
    # Without --crs the same file is taken as WGS84: ~600 m off, which is why --crs exists.
    plain = read_source(path)
    assert distances_m(plain.gdf, fb.XIPING_POINTS_WGS84).min() > 300


def test_geojson_bowtie_repaired_and_strict_refuses(tmp_path: Path) -> None:
    path = fb.write_geojson(tmp_path / "bowtie.geojson", fb.bowtie_layer())
    result = read_source(path)
    assert_clean(result)
    assert result.repaired == 1
    assert result.gdf.geom_type.tolist() == ["Polygon", "MultiPolygon", "MultiPolygon"]
    assert any("蝴蝶结" in w for w in result.warnings)
    # The bow-tie's two triangles keep their area (0.002° square halves).
    assert result.gdf.geometry.iloc[1].area == pytest.approx(0.002 * 0.002 / 2)
    message = read_error(path, strict=True)
    assert "strict" in message and "蝴蝶结" in message and "Self-intersection" in message


def test_truncated_geojson_one_clear_error(tmp_path: Path) -> None:
    path = fb.write_geojson(tmp_path / "ok.geojson", fb.bowtie_layer())
    cut = fb.write_truncated(tmp_path / "cut.geojson", path)
    message = read_error(cut)
    assert "truncated" in message and "GeoJSON" in message


def test_geojson_in_metres_without_crs(tmp_path: Path) -> None:
    # GDAL reports EPSG:4326 for every GeoJSON, even one holding GK metres.
    parcels = fb.parcels_4549().set_crs(None, allow_override=True)
    path = tmp_path / "metres.geojson"
    with pytest.warns(UserWarning):
        pyogrio.write_dataframe(parcels, path, driver="GeoJSON")
    message = read_error(path)
    assert "EPSG:4549" in message and "--crs" in message
    result = read_source(path, crs="EPSG:4549")
    assert result.crs_in == "EPSG:4549"
    np.testing.assert_allclose(area_mu(result.gdf.geometry), fb.expected_parcel_mu(), rtol=1e-6)


def test_declared_crs_that_does_not_fit_the_coordinates(tmp_path: Path) -> None:
    # .prj says CM 120E (false easting 500000) but eastings carry the zone prefix 40.
    parcels = fb.parcels_4549()
    parcels["geometry"] = parcels.geometry.translate(40_000_000, 0)
    shp = fb.write_shapefile(tmp_path / "z", parcels)
    message = read_error(shp)
    assert "EPSG:4528" in message
    assert read_source(shp, crs="EPSG:4528").crs_in == "EPSG:4528"


def test_projected_crs_declared_but_lonlat_values(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(119.48, 28.45, 119.49, 28.46)])
    gdf = gdf.set_crs(4549)
    path = tmp_path / "wrong.gpkg"
    pyogrio.write_dataframe(gdf, path)
    assert "--crs wgs84" in read_error(path)
    assert read_source(path, crs="wgs84").crs_in == "EPSG:4326"


def test_crs_override(gbk_shp: Path, tmp_path: Path) -> None:
    assert read_source(gbk_shp, crs="EPSG:4549").warnings == []
    # A wrong override is caught by where the data lands, and the right code is suggested.
    message = read_error(gbk_shp, crs="EPSG:4528")
    assert "EPSG:4528" in message and "EPSG:4549" in message
    # Overriding a different declared CRS is allowed, and said.
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(119.48, 28.45)], crs=4490)
    path = tmp_path / "cgcs.gpkg"
    pyogrio.write_dataframe(gdf, path)
    assert read_source(path).crs_in == "EPSG:4490"
    result = read_source(path, crs="wgs84")
    assert result.crs_in == "EPSG:4326"
    assert any("EPSG:4490" in w for w in result.warnings)


# ---------------------------------------------------------------------------------------------
# CSV and XLSX
# ---------------------------------------------------------------------------------------------


def test_csv_gcj02_points_within_1_cm(tmp_path: Path) -> None:
    rows = [(n, x, y, f"00{i}") for i, (n, x, y) in enumerate(fb.gcj_points())]
    path = fb.write_csv(tmp_path / "amap.csv", ["名称", "经度", "纬度", "code"], rows)
    result = read_source(path, crs="GCJ-02")
    assert_clean(result)
    assert result.crs_in == "gcj02" and result.encoding == "UTF-8"
    assert result.source_format == "csv"
    assert distances_m(result.gdf, fb.XIPING_POINTS_WGS84).max() < 0.01
    assert result.gdf["code"].tolist() == ["000", "001", "002", "003"]  # leading zeros kept
    assert result.gdf["名称"].tolist() == [p[0] for p in fb.XIPING_POINTS_WGS84]


def test_csv_bd09_points_gbk_encoded(tmp_path: Path) -> None:
    path = fb.write_csv(tmp_path / "baidu.csv", ["name", "lng", "lat"], fb.bd_points(), "gb18030")
    result = read_source(path, crs="bd09")
    assert result.encoding == "GB18030" and result.crs_in == "bd09"
    assert distances_m(result.gdf, fb.XIPING_POINTS_WGS84).max() < 0.01
    assert result.gdf["name"].iloc[1] == "張村"


def test_csv_with_bom_and_explicit_columns(tmp_path: Path) -> None:
    rows = [(n, y, x) for n, x, y in fb.XIPING_POINTS_WGS84]
    path = fb.write_csv(tmp_path / "bom.csv", ["名称", "北", "东"], rows, "utf-8-sig")
    assert "--lon" in read_error(path)  # no recognisable names
    result = read_source(path, lon="东", lat="北")
    assert distances_m(result.gdf, fb.XIPING_POINTS_WGS84).max() < 0.01
    assert result.gdf.columns[0] == "名称"  # BOM not glued to the first header
    assert "东" in read_error(path, lon="东")  # --lat missing
    assert "columns" in read_error(path, lon="东", lat="nope")


def test_csv_swapped_lon_lat(tmp_path: Path) -> None:
    rows = [(n, y, x) for n, x, y in fb.XIPING_POINTS_WGS84]
    path = fb.write_csv(tmp_path / "swapped.csv", ["name", "lon", "lat"], rows)
    message = read_error(path)
    assert "--lon lat --lat lon" in message
    result = read_source(path, lon="lat", lat="lon")
    assert distances_m(result.gdf, fb.XIPING_POINTS_WGS84).max() < 0.01


def test_csv_one_swapped_row_named(tmp_path: Path) -> None:
    rows = [(n, x, y) for n, x, y in fb.XIPING_POINTS_WGS84]
    rows[2] = (rows[2][0], rows[2][2], rows[2][1])
    path = fb.write_csv(tmp_path / "one.csv", ["name", "lon", "lat"], rows)
    message = read_error(path)
    assert "第 4 行" in message and "山下阳村" in message and "swapped" in message


def test_csv_projected_without_crs_names_candidates(tmp_path: Path) -> None:
    x0, y0 = fb.xiping_origin_4549()
    path = fb.write_csv(tmp_path / "gk.csv", ["name", "x", "y"], [("a", x0, y0), ("b", x0 + 9, y0)])
    message = read_error(path)
    assert "EPSG:4549" in message and "--crs" in message
    result = read_source(path, crs="4549")
    assert result.gdf.geometry.iloc[0].x == pytest.approx(119.48, abs=1e-9)
    assert "EPSG:4528" in read_error(
        fb.write_csv(tmp_path / "z.csv", ["name", "x", "y"], [("a", x0 + 40e6, y0)])
    )


def test_csv_nan_and_bad_coordinates(tmp_path: Path) -> None:
    rows = [("a", 119.48, 28.45), ("b", "nan", 28.45), ("c", "", 28.4), ("d", "inf", 28.4)]
    message = read_error(fb.write_csv(tmp_path / "nan.csv", ["name", "lon", "lat"], rows))
    assert "第 3 行" in message and "第 4 行" in message and "第 5 行" in message
    rows = [("a", 119.48, 28.45), ("b", "119°28′", 28.45)]
    assert "第 3 行" in read_error(fb.write_csv(tmp_path / "dms.csv", ["n", "lon", "lat"], rows))


def test_blank_rows_keep_row_numbers(tmp_path: Path) -> None:
    # Messages point at the row a planner sees in Excel, blank rows included.
    path = tmp_path / "gaps.csv"
    path.write_text("name,lon,lat\na,119.48,28.45\n\n,,\nb,oops,28.45\n", encoding="utf-8")
    assert "第 5 行" in read_error(path)
    rows = [["name", "lon", "lat"], ["a", 119.48, 28.45], [], [], ["b", "oops", 28.45]]
    xlsx = fb.write_xlsx(tmp_path / "gaps.xlsx", {"Sheet1": rows})
    assert "第 5 行" in read_error(xlsx)
    path.write_text("name,lon,lat\na,119.48,28.45\n\nb,119.49,28.46\n", encoding="utf-8")
    assert len(read_source(path).gdf) == 2


def test_header_only_csv(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("name,lon,lat\n", encoding="utf-8")
    assert "no features" in read_error(path)
    (tmp_path / "blank.csv").write_bytes(b"")
    assert "empty" in read_error(tmp_path / "blank.csv")


def test_csv_outside_china(tmp_path: Path) -> None:
    path = fb.write_csv(tmp_path / "uk.csv", ["name", "lon", "lat"], [("London", -0.12, 51.5)])
    assert "outside China" in read_error(path)


def test_csv_gcj02_needs_lonlat(tmp_path: Path) -> None:
    x0, y0 = fb.xiping_origin_4549()
    path = fb.write_csv(tmp_path / "gk.csv", ["name", "x", "y"], [("a", x0, y0)])
    assert "lon/lat" in read_error(path, crs="gcj02")


def test_wkt_csv(tmp_path: Path) -> None:
    parcels = fb.parcels_4549().to_crs(4326)
    rows = [(n, g.wkt, d) for n, g, d in zip(NAMES, parcels.geometry, parcels["面积"], strict=True)]
    path = fb.write_csv(tmp_path / "wkt.csv", ["name", "WKT", "declared_mu"], rows)
    result = read_source(path)
    assert_clean(result)
    assert "WKT" not in result.gdf.columns
    assert result.gdf["declared_mu"].dtype.kind == "f"
    np.testing.assert_allclose(area_mu(result.gdf.geometry), fb.expected_parcel_mu(), rtol=1e-6)
    rows[1] = (rows[1][0], "POLYGON ((119.48 28.45, 119.49", 1.0)
    message = read_error(fb.write_csv(tmp_path / "bad.csv", ["name", "wkt", "d"], rows))
    assert "WKT" in message and "第 3 行" in message


def test_xlsx_table(tmp_path: Path) -> None:
    header = ["名称", "经度", "纬度", "code", "户数"]
    rows = [[n, x, y, f"00{i}", 10 * i] for i, (n, x, y) in enumerate(fb.XIPING_POINTS_WGS84)]
    path = fb.write_xlsx(tmp_path / "v.xlsx", {"村庄": [header, *rows], "Sheet2": []})
    result = read_source(path)
    assert_clean(result)
    assert result.source_format == "xlsx" and result.layer_used == "村庄"
    assert result.encoding is None
    assert result.gdf["code"].tolist() == ["000", "001", "002", "003"]
    assert result.gdf["户数"].tolist() == [0, 10, 20, 30]
    assert distances_m(result.gdf, fb.XIPING_POINTS_WGS84).max() < 0.01


def test_xlsx_several_sheets_need_layer(tmp_path: Path) -> None:
    header = ["name", "lon", "lat"]
    rows = [[n, x, y] for n, x, y in fb.XIPING_POINTS_WGS84]
    path = fb.write_xlsx(tmp_path / "two.xlsx", {"甲": [header, *rows], "乙": [header, rows[0]]})
    message = read_error(path)
    assert "甲" in message and "乙" in message and "--layer" in message
    assert len(read_source(path, layer="乙").gdf) == 1


def test_corrupt_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a workbook")
    assert "corrupt" in read_error(path)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def write_layer(tmp_path: Path, geoms: list[object], name: str = "layer.gpkg") -> Path:
    gdf = gpd.GeoDataFrame(
        {"name": [f"地块{i}" for i in range(len(geoms))]}, geometry=geoms, crs=4326
    )
    path = tmp_path / name
    pyogrio.write_dataframe(gdf, path)
    return path


def test_empty_layer(tmp_path: Path) -> None:
    empty = gpd.GeoDataFrame({"name": pd.Series([], dtype=str)}, geometry=[], crs=4326)
    path = tmp_path / "empty.geojson"
    pyogrio.write_dataframe(empty, path, driver="GeoJSON")
    assert "no features" in read_error(path)


def test_null_and_empty_geometries(tmp_path: Path) -> None:
    path = write_layer(tmp_path, [Point(119.48, 28.45), None, Point()])
    message = read_error(path)
    assert "地块1" in message and "地块2" in message and "FID 1" in message


def test_mixed_geometry_types(tmp_path: Path) -> None:
    square = box(119.48, 28.45, 119.49, 28.46)
    path = write_layer(tmp_path, [square, square, LineString([(119.48, 28.45), (119.5, 28.5)])])
    message = read_error(path)
    assert "mixed" in message and "地块2" in message


@pytest.mark.parametrize(
    "geoms",
    [
        [
            box(119.48, 28.45, 119.49, 28.46),
            shapely.multipolygons([box(119.5, 28.4, 119.51, 28.41)]),
        ],
        [
            LineString([(119.48, 28.45), (119.5, 28.5)]),
            shapely.multilinestrings([[(119.4, 28.4), (119.41, 28.41)]]),
        ],
        [Point(119.48, 28.45), MultiPoint([(119.48, 28.45), (119.49, 28.46)])],
    ],
)
def test_single_and_multi_mix_is_fine(tmp_path: Path, geoms: list[object]) -> None:
    assert len(read_source(write_layer(tmp_path, geoms)).gdf) == 2


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_coordinates_in_geometry(tmp_path: Path) -> None:
    bad = LineString([(119.48, 28.45), (np.nan, 28.46)])
    path = write_layer(tmp_path, [LineString([(119.48, 28.45), (119.49, 28.46)]), bad])
    message = read_error(path)
    assert "NaN" in message and "地块1" in message


def test_z_dropped(tmp_path: Path) -> None:
    path = write_layer(tmp_path, [Point(119.48, 28.45, 12.0)])
    assert not read_source(path).gdf.has_z.any()


def test_invalid_polygon_collapsing_to_nothing(tmp_path: Path) -> None:
    flat = Polygon([(119.48, 28.45), (119.49, 28.45), (119.5, 28.45), (119.48, 28.45)])
    path = write_layer(tmp_path, [box(119.48, 28.45, 119.49, 28.46), flat])
    assert "地块1" in read_error(path)


def test_polygon_invalid_only_after_rounding_is_snapped(tmp_path: Path) -> None:
    # Valid at full precision; once rounded to 7 decimals the hole touches the shell along
    # its bottom edge. The layer is written rounded, so ingest snaps it now.
    shell = [(119.48, 28.45), (119.49, 28.45), (119.49, 28.46), (119.48, 28.46)]
    hole = [(119.481, 28.45000002), (119.482, 28.45000002), (119.482, 28.451), (119.481, 28.451)]
    polygon = Polygon(shell, [hole])
    assert polygon.is_valid
    path = write_layer(tmp_path, [polygon])
    result = read_source(path)
    assert result.repaired == 0
    assert any("snapped" in w for w in result.warnings)
    rounded = shapely.transform(result.gdf.geometry.values, lambda xy: np.round(xy, 7))
    assert shapely.is_valid(rounded).all()
    assert result.gdf.geometry.iloc[0].area == pytest.approx(polygon.area, rel=1e-3)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    odd = tmp_path / "data.bin"
    odd.write_bytes(b"\x00\x01garbage")
    assert "supported" in read_error(odd)
    assert "not found" in read_error(tmp_path / "nope.shp")
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    assert ".xlsx" in read_error(xls)


# ---------------------------------------------------------------------------------------------
# Zip safety
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["../evil.txt", "a/../../evil.txt", "/etc/evil", "C:/evil"])
def test_zip_with_unsafe_paths_refused(tmp_path: Path, member: str) -> None:
    path = fb.write_zip_slip(tmp_path / "slip.zip", member)
    assert "unsafe" in read_error(path)
    assert not (tmp_path / "evil.txt").exists()


def test_zip_bomb_refused_by_ratio(tmp_path: Path) -> None:
    path = fb.write_zip_bomb(tmp_path / "bomb.zip", megabytes=20)
    assert "zip bomb" in read_error(path)


def test_zip_bomb_refused_by_total_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Same check as the 500 MB limit, with a small limit so the test stays fast.
    monkeypatch.setattr(ingest_archives, "MAX_UNZIPPED_BYTES", 1024)
    path = tmp_path / "big.zip"
    rng = np.random.default_rng(1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("parcels.dbf", rng.bytes(4096))  # incompressible: ratio check silent
    assert "limit" in read_error(path)


def test_kmz_and_xlsx_bombs_refused(tmp_path: Path) -> None:
    bomb = fb.write_zip_bomb(tmp_path / "b.zip", megabytes=8)
    for suffix in (".kmz", ".xlsx"):
        target = tmp_path / f"bomb{suffix}"
        shutil.copy(bomb, target)
        assert "zip bomb" in read_error(target)


def test_corrupt_zip(tmp_path: Path) -> None:
    path = tmp_path / "cut.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 20)
    assert "corrupt" in read_error(path)


# ---------------------------------------------------------------------------------------------
# Attribute checks
# ---------------------------------------------------------------------------------------------


def test_declared_area_warnings(gbk_shp: Path) -> None:
    gdf = read_source(gbk_shp).gdf
    warnings = declared_area_warnings(gdf)  # finds 面积 by itself
    assert len(warnings) == 1
    assert "山下阳村" in warnings[0]
    assert "-9.1%" in warnings[0]
    assert declared_area_warnings(gdf, tolerance=0.2) == []
    assert declared_area_warnings(gdf.drop(columns=["面积"])) == []
    with pytest.raises(DataError, match="declared_mu"):
        declared_area_warnings(gdf, field="declared_mu")


def test_declared_area_in_square_metres_detected(gbk_shp: Path) -> None:
    gdf = read_source(gbk_shp).gdf
    gdf["MJ"] = area_mu(gdf.geometry) / 0.0015
    warnings = declared_area_warnings(gdf.drop(columns=["面积"]))
    assert len(warnings) == 1 and "m²" in warnings[0]


def test_declared_area_not_a_number(gbk_shp: Path) -> None:
    gdf = read_source(gbk_shp).gdf
    gdf["declared_mu"] = ["15", "约200", None]
    warnings = declared_area_warnings(gdf, field="declared_mu")
    assert any("约200" in w for w in warnings)


def test_duplicate_keys() -> None:
    frame = pd.DataFrame({"code": ["001", "002", "001 ", None, None, "003", "002"]})
    assert duplicate_keys(frame, "code") == {"001": [0, 2], "002": [1, 6]}
    assert duplicate_keys(pd.DataFrame({"code": [1, 2, 3]}), "code") == {}
    with pytest.raises(DataError, match="code"):
        duplicate_keys(frame, "id")
