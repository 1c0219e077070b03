"""End-to-end tests of ``geomap --atlas ROOT add ...``: every supported source, every refusal,
--replace / --dry-run / --map, atomic writes under failure and SIGKILL, concurrent writers,
and personal data (resident IDs) kept out of rendered HTML.

Library-level reading is covered by ``test_ingest.py`` / ``test_crs.py``; here the command is
run as a planner runs it (CliRunner in-process, or a real subprocess for kills and races) and
the atlas is read back from disk afterwards.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fixtures_build as fb
import geopandas as gpd
import numpy as np
import prcoords
import pyproj
import pytest
import sample_atlas
import shapely
import tomli_w
from click.testing import Result
from helpers import run, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

import geomap.atlas
from geomap.atlas import Atlas

REPO = Path(__file__).resolve().parents[1]
GEOD = pyproj.Geod(ellps="WGS84")
KNOWN_MU = fb.expected_parcel_mu()
ERROR_PREFIX = "错误 (error)"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def atlas(tmp_path: Path) -> Path:
    return sample_atlas.build(tmp_path / "atlas")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    return folder


@pytest.fixture
def gbk_shp(src: Path) -> Path:
    """The planner's classic file: GBK .dbf, no .cpg, EPSG:4549 .prj."""
    shp = fb.write_shapefile(src / "shp", fb.parcels_4549(), name="地块", encoding="GBK")
    assert not shp.with_suffix(".cpg").exists()
    assert "4549" in str(pyproj.CRS.from_wkt(shp.with_suffix(".prj").read_text()).to_epsg())
    return shp


def ok(root: Path, *args: str) -> Result:
    """Run ``geomap add ...`` (or another command) and require exit 0."""
    result = run(root, *args)
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.output
    return result


def check_refused(root: Path, *args: str, names: list[str]) -> str:
    """Run a command that must fail cleanly: exit 1, one message naming ``names``, no
    traceback, nothing on stdout, and the atlas byte-identical before and after."""
    before = snapshot(root)
    result = run(root, *args)
    after = snapshot(root)
    assert result.exit_code == 1, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, result.stderr
    assert result.stdout == "", "a refused add must not print a summary"
    for name in names:
        assert name in errors[0], f"{name!r} not in {errors[0]!r}"
    assert after == before, "a refused add changed the atlas"
    assert not list((root / "layers").glob(".*.tmp"))
    return errors[0]


def read_fc(root: Path, name: str) -> dict[str, Any]:
    return json.loads((root / "layers" / f"{name}.geojson").read_bytes())


def read_meta(root: Path, name: str) -> dict[str, Any]:
    return tomllib.loads((root / "layers" / f"{name}.toml").read_text(encoding="utf-8"))


def read_gdf(root: Path, name: str) -> gpd.GeoDataFrame:
    return Atlas(root).read_layer(name).gdf


def coords_of(geometry: dict[str, Any]) -> Iterator[float]:
    def walk(node: Any) -> Iterator[float]:
        if isinstance(node, int | float):
            yield float(node)
        else:
            for item in node:
                yield from walk(item)

    yield from walk(geometry["coordinates"])


def assert_written_layer_is_sound(root: Path, name: str) -> dict[str, Any]:
    """The atlas contract for a written layer: RFC 7946 GeoJSON, ≤ 7 decimals, a .toml
    that the atlas accepts, and ``geomap layers --json`` listing it."""
    fc = read_fc(root, name)
    assert fc["type"] == "FeatureCollection"
    assert "crs" not in fc  # RFC 7946: WGS84 only, no crs member
    for feature in fc["features"]:
        for c in coords_of(feature["geometry"]):
            assert math.isfinite(c) and round(c, 7) == c
    meta = read_meta(root, name)
    layer = Atlas(root).read_layer(name)  # parses metadata, checks the key column
    assert layer.meta.key in layer.gdf.columns
    assert layer.gdf[layer.meta.key].is_unique
    listed = json.loads(ok(root, "layers", "--json").stdout)
    assert name in [row["name"] for row in listed]
    return meta


def layer_row(root: Path, name: str) -> dict[str, Any]:
    rows = json.loads(ok(root, "layers", "--json").stdout)
    return next(r for r in rows if r["name"] == name)


def distances_m(lonlat_a: list[tuple[float, float]], lonlat_b: list[tuple[float, float]]) -> Any:
    _, _, d = GEOD.inv(
        [a[0] for a in lonlat_a],
        [a[1] for a in lonlat_a],
        [b[0] for b in lonlat_b],
        [b[1] for b in lonlat_b],
    )
    return np.asarray(d)


def points_by_name(root: Path, name: str, field: str) -> dict[str, tuple[float, float]]:
    fc = read_fc(root, name)
    out = {}
    for feature in fc["features"]:
        assert feature["geometry"]["type"] == "Point"
        x, y = feature["geometry"]["coordinates"]
        out[feature["properties"][field]] = (x, y)
    return out


def area_4549_mu(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Independent area check: project with geopandas/pyproj and take planar area."""
    return np.asarray(gdf.to_crs(4549).geometry.area) * 15 / 10000


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check digit, written out here independently of geomap.privacy."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


def resident_ids() -> list[str]:
    bases = ["33112219800101002", "33112219751231113", "33112220010229224", "33112219900615005"]
    ids = [b + id_check_digit(b) for b in bases]
    # Make sure one of them ends in X (the case naive numeric parsing breaks).
    base = next(
        f"3311221985030{n:04d}"
        for n in range(10_000)
        if id_check_digit(f"3311221985030{n:04d}") == "X"
    )
    return [*ids, base + "X"]


# ---------------------------------------------------------------------------------------------
# Every supported input reads back right
# ---------------------------------------------------------------------------------------------


def test_gbk_shapefile_without_cpg_in_4549(atlas: Path, gbk_shp: Path) -> None:
    result = ok(atlas, "add", str(gbk_shp), "--name", "parcels")
    out = result.stdout
    assert "编码 (encoding): GB18030" in out
    assert "EPSG:4549" in out
    assert "要素 (features): 3, Polygon" in out

    meta = assert_written_layer_is_sound(atlas, "parcels")
    gdf = read_gdf(atlas, "parcels")
    # Names decode as the planner typed them (no Latin-1 mojibake), 張 included.
    assert list(gdf["名称"]) == list(fb.PARCEL_NAMES)
    assert "張村" in (atlas / "layers" / "parcels.geojson").read_text(encoding="utf-8")
    assert list(gdf["code"]) == ["001", "002", "003"]  # leading zeros kept
    assert meta["key"] == "code"
    assert meta["name_field"] == "名称"
    assert meta["kind"] == "parcel"
    assert "名称" in meta["fields"]

    # Areas right to 0.1 %: computed independently from the written geometries, as written
    # by geomap (calc_mu), in the summary and in `geomap layers --json`.
    np.testing.assert_allclose(area_4549_mu(gdf), KNOWN_MU, rtol=1e-3)
    np.testing.assert_allclose(gdf["calc_mu"].astype(float), KNOWN_MU, rtol=1e-3)
    total = sum(KNOWN_MU)
    line = next(x for x in out.splitlines() if x.startswith("面积 (area"))
    shown = float(line.split("):", 1)[1].split("亩")[0].replace(",", ""))
    assert shown == pytest.approx(total, rel=1e-3)
    assert layer_row(atlas, "parcels")["area_mu"] == pytest.approx(total, rel=1e-3)
    # The 10 %-too-large declared area of the third parcel is reported.
    # ... as a warning, on stderr (data on stdout; warnings on stderr).
    assert "山下阳村" in result.stderr and "警告 (warning)" in result.stderr
    assert "警告" not in out


def test_zipped_gbk_shapefile(atlas: Path, gbk_shp: Path, src: Path) -> None:
    archive = fb.zip_files(src / "地块.zip", fb.shapefile_parts(gbk_shp), prefix="导出/")
    result = ok(atlas, "add", str(archive), "--name", "parcels-zip")
    assert "编码 (encoding): GB18030" in result.stdout
    assert_written_layer_is_sound(atlas, "parcels-zip")
    gdf = read_gdf(atlas, "parcels-zip")
    assert list(gdf["名称"]) == list(fb.PARCEL_NAMES)
    np.testing.assert_allclose(area_4549_mu(gdf), KNOWN_MU, rtol=1e-3)


def test_geopackage_with_two_layers(atlas: Path, src: Path) -> None:
    gpkg = fb.write_gpkg_two_layers(src / "西屏.gpkg")
    message = check_refused(atlas, "add", str(gpkg), "--name", "wells", names=[gpkg.name])
    assert "villages" in message and "wells" in message
    assert "--layer" in message

    ok(atlas, "add", str(gpkg), "--name", "wells", "--layer", "wells")
    assert_written_layer_is_sound(atlas, "wells")
    got = points_by_name(atlas, "wells", "name")
    assert set(got) == {n for n, _, _ in fb.XIPING_POINTS_WGS84}
    for n, lon, lat in fb.XIPING_POINTS_WGS84:
        assert distances_m([got[n]], [(lon, lat)])[0] < 0.01

    ok(atlas, "add", str(gpkg), "--name", "gpkg-villages", "--layer", "villages")
    gdf = read_gdf(atlas, "gpkg-villages")
    assert list(gdf["名称"]) == list(fb.PARCEL_NAMES)
    np.testing.assert_allclose(area_4549_mu(gdf), KNOWN_MU, rtol=1e-3)


@pytest.mark.parametrize("container", ["kml", "kmz"])
def test_kml_and_kmz_with_extended_data(atlas: Path, src: Path, container: str) -> None:
    text = fb.kml_google_earth(fb.parcel_placemarks())
    if container == "kml":
        path = src / "地块.kml"
        path.write_text(text, encoding="utf-8")
    else:
        path = fb.write_kmz(src / "地块.kmz", text)
    ok(atlas, "add", str(path), "--name", f"parcels-{container}")
    assert_written_layer_is_sound(atlas, f"parcels-{container}")
    fc = read_fc(atlas, f"parcels-{container}")
    props = [f["properties"] for f in fc["features"]]
    assert len(props) == 3
    # ExtendedData <Data name="编码"> / <Data name="面积"> are attributes, Chinese names kept.
    assert [p["编码"] for p in props] == ["001", "002", "003"]
    assert [float(p["面积"]) for p in props] == pytest.approx(
        [round(v, 4) for v in fb.parcels_4549()["面积"]], abs=1e-4
    )
    assert [p["name"] for p in props] == list(fb.PARCEL_NAMES)
    np.testing.assert_allclose(
        area_4549_mu(read_gdf(atlas, f"parcels-{container}")), KNOWN_MU, rtol=1e-3
    )


def test_gcj02_csv_within_1_cm(atlas: Path, src: Path) -> None:
    gcj = fb.gcj_points()
    csv = fb.write_csv(src / "高德.csv", ["名称", "lng", "lat"], [list(p) for p in gcj])
    result = ok(atlas, "add", str(csv), "--name", "pois", "--crs", "gcj02")
    assert "gcj02" in result.stdout.lower()
    assert_written_layer_is_sound(atlas, "pois")
    got = points_by_name(atlas, "pois", "名称")
    names = [n for n, _, _ in gcj]
    written = [got[n] for n in names]
    # 1. The known WGS84 positions the GCJ-02 values were made from.
    known = [(lon, lat) for _, lon, lat in fb.XIPING_POINTS_WGS84]
    assert distances_m(written, known).max() < 0.01
    # 2. prcoords' exact (iterative) inverse as an independent oracle.
    oracle = []
    for _, lon, lat in gcj:
        w = prcoords.gcj_wgs_bored((lat, lon))
        oracle.append((w.lon, w.lat))
    assert distances_m(written, oracle).max() < 0.01
    # The shift undone is real (~hundreds of metres): the test is not vacuous.
    assert distances_m([(lon, lat) for _, lon, lat in gcj], known).min() > 100


def test_bd09_csv(atlas: Path, src: Path) -> None:
    bd = fb.bd_points()
    csv = fb.write_csv(src / "百度.csv", ["name", "经度", "纬度"], [list(p) for p in bd])
    ok(atlas, "add", str(csv), "--name", "bd-pois", "--crs", "bd09")
    assert_written_layer_is_sound(atlas, "bd-pois")
    got = points_by_name(atlas, "bd-pois", "name")
    written = [got[n] for n, _, _ in bd]
    known = [(lon, lat) for _, lon, lat in fb.XIPING_POINTS_WGS84]
    oracle = []
    for _, lon, lat in bd:
        w = prcoords.bd_wgs_bored((lat, lon))
        oracle.append((w.lon, w.lat))
    assert distances_m(written, known).max() < 0.01
    assert distances_m(written, oracle).max() < 0.01


def test_xlsx_table(atlas: Path, src: Path) -> None:
    rows: list[list[Any]] = [["名称", "编号", "经度", "纬度", "户数"]]
    for i, (n, lon, lat) in enumerate(fb.XIPING_POINTS_WGS84):
        rows.append([n, f"00{i + 1}", lon, lat, 10 * (i + 1)])
    xlsx = fb.write_xlsx(src / "村庄.xlsx", {"村庄": rows})
    result = ok(atlas, "add", str(xlsx), "--name", "xlsx-villages", "--kind", "village")
    assert "要素 (features): 4, Point" in result.stdout
    meta = assert_written_layer_is_sound(atlas, "xlsx-villages")
    assert meta["kind"] == "village"
    assert meta["key"] == "编号"
    fc = read_fc(atlas, "xlsx-villages")
    props = [f["properties"] for f in fc["features"]]
    assert [p["编号"] for p in props] == ["001", "002", "003", "004"]
    assert [p["户数"] for p in props] == [10, 20, 30, 40]
    got = points_by_name(atlas, "xlsx-villages", "名称")
    for n, lon, lat in fb.XIPING_POINTS_WGS84:
        assert distances_m([got[n]], [(lon, lat)])[0] < 0.01


def test_wkt_csv(atlas: Path, src: Path) -> None:
    parcels = fb.parcels_4549().to_crs(4326)
    rows = [
        [n, c, shapely.to_wkt(g, rounding_precision=10)]
        for n, c, g in zip(parcels["名称"], parcels["code"], parcels.geometry, strict=True)
    ]
    csv = fb.write_csv(src / "wkt.csv", ["名称", "code", "wkt"], rows)
    result = ok(atlas, "add", str(csv), "--name", "wkt-parcels")
    assert "要素 (features): 3, Polygon" in result.stdout
    assert_written_layer_is_sound(atlas, "wkt-parcels")
    gdf = read_gdf(atlas, "wkt-parcels")
    assert list(gdf["code"]) == ["001", "002", "003"]
    np.testing.assert_allclose(area_4549_mu(gdf), KNOWN_MU, rtol=1e-3)
    np.testing.assert_allclose(gdf["calc_mu"].astype(float), KNOWN_MU, rtol=1e-3)


# ---------------------------------------------------------------------------------------------
# Every bad input: exit 1, one clear message naming the file, atlas untouched
# ---------------------------------------------------------------------------------------------


def test_bowtie_strict_refused_and_repaired_without_strict(atlas: Path, src: Path) -> None:
    path = fb.write_geojson(src / "蝴蝶结.geojson", fb.bowtie_layer())
    message = check_refused(
        atlas, "add", str(path), "--name", "bowtie", "--strict", names=[path.name]
    )
    assert "蝴蝶结" in message and "Self-intersection" in message  # names the feature, why
    assert "--strict" in message

    result = ok(atlas, "add", str(path), "--name", "bowtie")
    # A warning: on stderr, apart from the summary on stdout.
    assert "修复 (repaired): 1 " in result.stderr
    assert "修复" not in result.stdout and "警告" not in result.stdout
    assert_written_layer_is_sound(atlas, "bowtie")
    gdf = read_gdf(atlas, "bowtie")
    assert len(gdf) == 3 and gdf.geometry.is_valid.all()
    assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}


def test_truncated_geojson(atlas: Path, src: Path) -> None:
    whole = fb.write_geojson(src / "whole.geojson", fb.bowtie_layer())
    cut = fb.write_truncated(src / "cut.geojson", whole)
    check_refused(atlas, "add", str(cut), "--name", "cut", names=[cut.name])


def test_swapped_lat_lon(atlas: Path, src: Path) -> None:
    rows = [[n, lat, lon] for n, lon, lat in fb.XIPING_POINTS_WGS84]  # lat in the lon column
    csv = fb.write_csv(src / "swapped.csv", ["name", "lon", "lat"], rows)
    message = check_refused(atlas, "add", str(csv), "--name", "swapped", names=[csv.name])
    assert "swap" in message.lower()


def test_projected_coordinates_without_crs(atlas: Path, src: Path) -> None:
    parcels = fb.parcels_4549()
    # A table of x/y metres in EPSG:4549 ...
    cx, cy = parcels.geometry.centroid.x, parcels.geometry.centroid.y
    rows = [[n, f"{x:.3f}", f"{y:.3f}"] for n, x, y in zip(parcels["名称"], cx, cy, strict=True)]
    csv = fb.write_csv(src / "xy.csv", ["name", "x", "y"], rows)
    message = check_refused(atlas, "add", str(csv), "--name", "xy", names=[csv.name])
    assert "EPSG:4549" in message and "--crs" in message
    # ... and a Shapefile whose .prj got lost on the way.
    shp = fb.write_shapefile(src / "noprj", parcels, encoding="GBK")
    shp.with_suffix(".prj").unlink()
    message = check_refused(atlas, "add", str(shp), "--name", "noprj", names=[shp.name])
    assert "EPSG:4549" in message and "--crs" in message
    # Naming the CRS makes both work, with the right areas.
    ok(atlas, "add", str(shp), "--name", "noprj", "--crs", "EPSG:4549")
    np.testing.assert_allclose(area_4549_mu(read_gdf(atlas, "noprj")), KNOWN_MU, rtol=1e-3)


def test_existing_name_without_replace(atlas: Path, gbk_shp: Path) -> None:
    check_refused(atlas, "add", str(gbk_shp), "--name", "villages", names=["villages"])
    assert "--replace" in run(atlas, "add", str(gbk_shp), "--name", "villages").stderr


@pytest.mark.parametrize("bad", ["../evil", "A B", "Parcels", "evil/..", "", ".hidden", "中文"])
def test_bad_names(atlas: Path, gbk_shp: Path, bad: str) -> None:
    message = check_refused(atlas, "add", str(gbk_shp), f"--name={bad}", names=[])
    assert repr(bad) in message or bad in message
    assert not list(atlas.parent.glob("evil*"))


def is_slug(s: str) -> bool:
    return re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", s) is not None


@settings(
    max_examples=40,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=st.text(max_size=20).filter(lambda s: not is_slug(s)))
def test_any_non_slug_name_is_refused(atlas: Path, gbk_shp: Path, name: str) -> None:
    before = snapshot(atlas)
    result = run(atlas, "add", str(gbk_shp), f"--name={name}")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert [ln.startswith(ERROR_PREFIX) for ln in result.stderr.splitlines()].count(True) == 1
    assert snapshot(atlas) == before


def test_missing_file(atlas: Path, tmp_path: Path) -> None:
    missing = tmp_path / "不存在.shp"
    check_refused(atlas, "add", str(missing), "--name", "missing", names=[str(missing)])


def test_empty_layer(atlas: Path, src: Path) -> None:
    path = src / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    check_refused(atlas, "add", str(path), "--name", "empty", names=[path.name])


def test_empty_shapefile(atlas: Path, src: Path) -> None:
    empty = fb.parcels_4549().iloc[:0]
    shp = fb.write_shapefile(src / "empty", empty, encoding="GBK")
    check_refused(atlas, "add", str(shp), "--name", "empty", names=[shp.name])


def test_mixed_geometry_types(atlas: Path, src: Path) -> None:
    mixed = gpd.GeoDataFrame(
        {"name": ["点", "线", "面"]},
        geometry=[
            Point(119.48, 28.45),
            LineString([(119.48, 28.45), (119.49, 28.46)]),
            box(119.47, 28.44, 119.471, 28.441),
        ],
        crs="EPSG:4326",
    )
    path = fb.write_geojson(src / "mixed.geojson", mixed)
    check_refused(atlas, "add", str(path), "--name", "mixed", names=[path.name])


@pytest.mark.parametrize("member", ["../evil.txt", "a/../../evil.txt"])
def test_zip_with_dotdot_member(atlas: Path, src: Path, member: str) -> None:
    archive = fb.write_zip_slip(src / "slip.zip", member)
    message = check_refused(atlas, "add", str(archive), "--name", "slip", names=[archive.name])
    assert ".." in message
    assert not (src.parent / "evil.txt").exists()


def test_map_that_does_not_exist(atlas: Path, gbk_shp: Path) -> None:
    message = check_refused(
        atlas, "add", str(gbk_shp), "--name", "parcels", "--map", "nomap", names=["nomap"]
    )
    assert "economy" in message  # lists the maps that do exist


def test_key_with_duplicates(atlas: Path, src: Path) -> None:
    rows = [["A01", n, lon, lat] for n, lon, lat in fb.XIPING_POINTS_WGS84]
    rows[1][0] = "A02"
    csv = fb.write_csv(src / "dupes.csv", ["bh", "name", "lon", "lat"], rows)
    message = check_refused(
        atlas, "add", str(csv), "--name", "dupes", "--key", "bh", names=["bh", "A01", csv.name]
    )
    assert "A02" not in message


def test_failed_replace_keeps_the_old_layer_and_no_history(atlas: Path, src: Path) -> None:
    whole = fb.write_geojson(src / "whole.geojson", fb.bowtie_layer())
    cut = fb.write_truncated(src / "cut.geojson", whole)
    check_refused(atlas, "add", str(cut), "--name", "villages", "--replace", names=[cut.name])
    assert not (atlas / "layers" / ".history").exists()


# ---------------------------------------------------------------------------------------------
# --replace, --dry-run, --map
# ---------------------------------------------------------------------------------------------


def test_replace_keeps_history_and_curated_labels(atlas: Path, gbk_shp: Path, src: Path) -> None:
    ok(atlas, "add", str(gbk_shp), "--name", "parcels", "--title", "地块")
    toml_path = atlas / "layers" / "parcels.toml"
    meta = read_meta(atlas, "parcels")
    meta["fields"]["名称"]["label"] = "地块名称"
    meta["fields"]["code"]["label"] = "地块编码"
    meta["fields"]["面积"]["label"] = "申报面积"
    meta["title"] = "松古平原地块"
    toml_path.write_text(tomli_w.dumps(meta), encoding="utf-8")
    old_geo = (atlas / "layers" / "parcels.geojson").read_bytes()
    old_toml = toml_path.read_bytes()

    # A new delivery: two of the three parcels.
    newer = fb.write_shapefile(src / "v2", fb.parcels_4549().iloc[:2], encoding="GBK")
    check_refused(atlas, "add", str(newer), "--name", "parcels", names=["parcels"])
    result = ok(atlas, "add", str(newer), "--name", "parcels", "--replace")
    assert ".history" in result.stdout

    history = sorted((atlas / "layers" / ".history").iterdir())
    assert [p.suffix for p in history] == [".geojson", ".toml"]
    assert all(p.name.startswith("parcels.") for p in history)
    assert history[0].read_bytes() == old_geo
    assert history[1].read_bytes() == old_toml

    new = assert_written_layer_is_sound(atlas, "parcels")
    assert new["fields"]["名称"]["label"] == "地块名称"
    assert new["fields"]["code"]["label"] == "地块编码"
    assert new["fields"]["面积"]["label"] == "申报面积"
    assert new["fields"]["面积"]["unit"] == "亩"
    assert new["title"] == "松古平原地块"
    assert list(read_gdf(atlas, "parcels")["名称"]) == list(fb.PARCEL_NAMES[:2])
    # History is not a layer.
    assert Atlas(atlas).layer_names().count("parcels") == 1
    assert not any(n.startswith(".") for n in Atlas(atlas).layer_names())


MAP_WITH_COMMENTS = """\
# 规划图：手写的注释必须保留
title = "规划"   # 标题
basemap = "none"

# 村界放在最下面
[[layers]]
layer = "villages"
style = { type = "single", color = "#333333", fill = false }  # 只画边界
"""


def test_dry_run_writes_nothing(atlas: Path, gbk_shp: Path) -> None:
    before = snapshot(atlas)
    spec = atlas / "maps" / "plan.toml"
    spec.write_text(MAP_WITH_COMMENTS, encoding="utf-8")
    before = snapshot(atlas)
    result = ok(atlas, "add", str(gbk_shp), "--name", "parcels", "--dry-run", "--map", "plan")
    assert snapshot(atlas) == before
    assert [p.name for p in (atlas / "layers").glob(".*")] in ([], [".lock"])
    assert "要素 (features): 3, Polygon" in result.stdout
    assert "编码 (encoding): GB18030" in result.stdout
    assert "dry run" in result.stdout
    assert "已写入" not in result.stdout
    # The same on a replace: no history, the old layer untouched.
    result = ok(atlas, "add", str(gbk_shp), "--name", "villages", "--replace", "--dry-run")
    assert snapshot(atlas) == before
    assert not (atlas / "layers" / ".history").exists()


def test_map_option_appends_layer_keeps_comments_and_renders(atlas: Path, gbk_shp: Path) -> None:
    spec = atlas / "maps" / "plan.toml"
    spec.write_text(MAP_WITH_COMMENTS, encoding="utf-8")
    result = ok(atlas, "add", str(gbk_shp), "--name", "parcels", "--map", "plan")
    assert "maps/plan.toml" in result.stdout
    text = spec.read_text(encoding="utf-8")
    assert text.startswith(MAP_WITH_COMMENTS.rstrip("\n"))
    for line in MAP_WITH_COMMENTS.splitlines():
        assert line in text
    parsed = tomllib.loads(text)
    assert [entry["layer"] for entry in parsed["layers"]] == ["villages", "parcels"]
    assert parsed["title"] == "规划"

    ok(atlas, "render", "plan")
    html = (atlas / "maps" / "plan.html").read_text(encoding="utf-8")
    assert "規劃" in html or "规划" in html
    assert "張村" in html and "山下阳村" in html  # the new parcels are on the map
    # Adding a second layer to the same map appends again; the first entry stays.
    ok(atlas, "add", str(gbk_shp), "--name", "parcels2", "--map", "plan")
    parsed = tomllib.loads(spec.read_text(encoding="utf-8"))
    assert [entry["layer"] for entry in parsed["layers"]] == ["villages", "parcels", "parcels2"]


def test_map_option_with_inline_layers_array(atlas: Path, gbk_shp: Path) -> None:
    """``layers = [{ layer = "villages" }]`` is the same spec as a ``[[layers]]`` table (it is
    what tomli_w and the sample atlas write); --map must extend it too."""
    spec = atlas / "maps" / "minimal.toml"
    assert tomllib.loads(spec.read_text(encoding="utf-8"))["layers"] == [{"layer": "villages"}]
    ok(atlas, "add", str(gbk_shp), "--name", "parcels", "--map", "minimal")
    parsed = tomllib.loads(spec.read_text(encoding="utf-8"))
    assert [entry["layer"] for entry in parsed["layers"]] == ["villages", "parcels"]
    ok(atlas, "render", "minimal")


def test_interleaved_adds_to_the_same_map_keep_both_entries(
    atlas: Path, gbk_shp: Path, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two planners add layers to one map at the same moment: the second add's read of
    maps/MAP.toml happens while the first is still ingesting. Both entries must survive
    (no lost update). The interleaving is forced deterministically in-process."""
    import geomap.add

    spec = atlas / "maps" / "plan.toml"
    spec.write_text(MAP_WITH_COMMENTS, encoding="utf-8")
    other = fb.write_csv(
        src / "pois.csv", ["name", "lon", "lat"], [list(p) for p in fb.XIPING_POINTS_WGS84]
    )
    real_read = geomap.add.read_source
    calls = {"n": 0}

    def read_then_let_the_other_add_finish(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            # The first add has read the map spec; the second runs to completion now.
            ok(atlas, "add", str(other), "--name", "pois", "--map", "plan")
        return real_read(*args, **kwargs)

    monkeypatch.setattr(geomap.add, "read_source", read_then_let_the_other_add_finish)
    ok(atlas, "add", str(gbk_shp), "--name", "parcels", "--map", "plan")
    layers = [e["layer"] for e in tomllib.loads(spec.read_text(encoding="utf-8"))["layers"]]
    assert sorted(layers) == ["parcels", "pois", "villages"], layers


# ---------------------------------------------------------------------------------------------
# Atomicity: a failure in the middle of writing, and SIGKILL
# ---------------------------------------------------------------------------------------------


def _fail_on_call(monkeypatch: pytest.MonkeyPatch, fail_when: Any) -> list[str]:
    real_replace = os.replace
    seen: list[str] = []

    def flaky_replace(a: Any, b: Any, *args: Any, **kwargs: Any) -> None:
        seen.append(str(b))
        if fail_when(len(seen), Path(b)):
            raise OSError(28, "No space left on device", str(b))
        real_replace(a, b, *args, **kwargs)

    monkeypatch.setattr(geomap.atlas.os, "replace", flaky_replace)
    return seen


def assert_no_partial_layers(root: Path) -> None:
    layers = root / "layers"
    for path in layers.iterdir():
        if path.is_dir():
            assert path.name == ".history"
            continue
        if path.name.startswith("."):
            assert path.name == ".lock" or path.name.endswith((".tmp", ".journal")), path
            continue
        assert path.suffix in (".geojson", ".toml"), path
    for name in Atlas(root).layer_names():
        json.loads((layers / f"{name}.geojson").read_bytes())  # complete and valid JSON


def test_failure_between_geojson_and_toml_leaves_atlas_as_it_was(
    atlas: Path, gbk_shp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The .geojson rename succeeds, the .toml rename fails (disk full). The command promised
    "a failed command leaves the atlas exactly as it was": no temp files, and no half layer
    (a .geojson without its .toml breaks `geomap layers`)."""
    before = snapshot(atlas)
    pair = {"parcels.geojson", "parcels.toml"}
    renamed: list[str] = []

    def second_of_pair(_n: int, path: Path) -> bool:
        renamed.extend([path.name] if path.name in pair else [])
        return len(renamed) == 2 and path.name in pair

    seen = _fail_on_call(monkeypatch, second_of_pair)
    result = run(atlas, "add", str(gbk_shp), "--name", "parcels")
    monkeypatch.undo()
    # The second rename of the pair fails (whichever order geomap chooses).
    assert set(renamed) == pair
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert renamed[1] in result.stderr  # the message names the file
    assert Path(seen[-1]).name == renamed[1]
    assert not list((atlas / "layers").glob(".*.tmp"))
    geo = atlas / "layers" / "parcels.geojson"
    if geo.exists():  # if kept at all it must be complete
        json.loads(geo.read_bytes())
    assert_no_partial_layers(atlas)
    assert snapshot(atlas) == before
    ok(atlas, "layers", "--json")


def test_failure_during_replace_keeps_the_old_pair(
    atlas: Path, gbk_shp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_geo = (atlas / "layers" / "villages.geojson").read_bytes()
    old_toml = (atlas / "layers" / "villages.toml").read_bytes()
    _fail_on_call(monkeypatch, lambda _n, path: path == atlas / "layers" / "villages.toml")
    result = run(atlas, "add", str(gbk_shp), "--name", "villages", "--replace")
    monkeypatch.undo()
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not list((atlas / "layers").glob(".*.tmp"))
    # The old layer is whole: the new GeoJSON must not sit beside the old metadata.
    assert (atlas / "layers" / "villages.geojson").read_bytes() == old_geo
    assert (atlas / "layers" / "villages.toml").read_bytes() == old_toml
    ok(atlas, "layers", "--json")


def _geomap_cmd(root: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from geomap.cli.main import main; main()",
        "--atlas",
        str(root),
        *args,
    ]


def _env(tmp: Path) -> dict[str, str]:
    """The children's environment; a killed child's geomap-ingest-* folder stays in
    ``tmp/tmp`` (the test's own tmp_path), not in the machine's /tmp."""
    env = {k: v for k, v in os.environ.items() if k not in ("GEOMAP_ATLAS", "GEOMAP_DEBUG")}
    (tmp / "tmp").mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp / "tmp")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wait_for(proc: subprocess.Popen[bytes], marker: bytes, timeout: float = 120.0) -> None:
    """Read the child's stderr until ``marker`` appears (the child flushes each line)."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if marker in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"child exited {proc.returncode} before {marker!r}")
    raise AssertionError(f"no {marker!r} within {timeout} s")


def assert_atlas_usable(root: Path) -> None:
    assert_no_partial_layers(root)
    result = run(root, "layers", "--json")
    assert result.exit_code == 0, result.stderr
    listed = [row["name"] for row in json.loads(result.stdout)]
    assert listed == Atlas(root).layer_names()


def _kill_after(proc: subprocess.Popen[bytes], delay: float) -> int:
    """SIGKILL ``proc`` ``delay`` seconds after it reports that it is reading the source."""
    try:
        _wait_for(proc, "读取".encode())
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def test_sigkill_at_different_moments(tmp_path: Path, gbk_shp: Path) -> None:
    """Kill `geomap --replace add` at several moments after it starts reading (in ingest, in
    the writes, or after them); every atlas stays usable. The children run side by side
    (one atlas each) to keep the test short; the load only spreads the kill moments more."""
    delays = [0.0, 0.25, 0.5, 0.8]
    roots = [sample_atlas.build(tmp_path / f"kill{i}") for i in range(len(delays))]
    procs = [
        subprocess.Popen(
            _geomap_cmd(root, "add", str(gbk_shp), "--name", "villages", "--replace"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_env(tmp_path),
            cwd=tmp_path,
        )
        for root in roots
    ]
    with ThreadPoolExecutor(len(procs)) as pool:
        outcomes = list(pool.map(_kill_after, procs, delays))
    assert any(rc == -signal.SIGKILL for rc in outcomes), outcomes
    for root in roots:
        assert_atlas_usable(root)
        # The layer is either the old one or the new one, whole, with matching metadata.
        gdf = read_gdf(root, "villages")
        names = list(gdf["名称" if "名称" in gdf.columns else "name"])
        assert names in (list(fb.PARCEL_NAMES), [n for _, n in sample_atlas.VILLAGES]), names


KILL_BETWEEN_RENAMES = """
import os, sys, time
import geomap.atlas as atlas_mod
real = atlas_mod._replace  # every write's final rename
def pausing_replace(tmp, path):
    real(tmp, path)
    if path.suffix == ".geojson" and path.parent.name == "layers":
        sys.stderr.write("GEOJSON-IN-PLACE\\n"); sys.stderr.flush()
        time.sleep(60)
atlas_mod._replace = pausing_replace
from geomap.cli.main import main
main()
"""


def test_sigkill_between_geojson_and_toml(tmp_path: Path, gbk_shp: Path) -> None:
    """The worst moment: the new .geojson is in place, its .toml not yet. The atlas must
    still list only complete layers and `geomap layers --json` must still work."""
    root = sample_atlas.build(tmp_path / "atlas")
    cmd = [
        sys.executable,
        "-c",
        KILL_BETWEEN_RENAMES,
        "--atlas",
        str(root),
        "add",
        str(gbk_shp),
        "--name",
        "parcels",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(tmp_path), cwd=tmp_path
    )
    try:
        _wait_for(proc, b"GEOJSON-IN-PLACE")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert_atlas_usable(root)


def test_two_adds_at_once(tmp_path: Path, gbk_shp: Path, src: Path) -> None:
    root = sample_atlas.build(tmp_path / "atlas")
    csv = fb.write_csv(
        src / "pois.csv", ["name", "lon", "lat"], [list(p) for p in fb.XIPING_POINTS_WGS84]
    )
    procs = [
        subprocess.Popen(
            _geomap_cmd(root, "add", str(source), "--name", name),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(tmp_path),
            cwd=tmp_path,
        )
        for source, name in ((gbk_shp, "parcels"), (csv, "pois"))
    ]
    results = [(p.returncode, out, err) for p in procs for out, err in [p.communicate(timeout=120)]]
    for rc, _out, err in results:
        text = err.decode("utf-8")
        assert "Traceback" not in text
        assert rc in (0, 1)
        if rc == 1:
            assert sum(line.startswith(ERROR_PREFIX) for line in text.splitlines()) == 1
    assert any(rc == 0 for rc, _, _ in results)
    assert_atlas_usable(root)
    # Commands that were not killed leave nothing in their temp folder.
    assert list((tmp_path / "tmp").iterdir()) == []
    names = Atlas(root).layer_names()
    for (rc, _, _), name in zip(results, ("parcels", "pois"), strict=True):
        assert (name in names) == (rc == 0)
    if "parcels" in names:
        assert list(read_gdf(root, "parcels")["名称"]) == list(fb.PARCEL_NAMES)
    if "pois" in names:
        assert len(read_gdf(root, "pois")) == len(fb.XIPING_POINTS_WGS84)


# ---------------------------------------------------------------------------------------------
# Personal data
# ---------------------------------------------------------------------------------------------


def test_resident_ids_marked_private_and_never_rendered(atlas: Path, src: Path) -> None:
    ids = resident_ids()
    assert [id_check_digit(i[:17]) == i[17] for i in ids] == [True] * len(ids)
    rows = [
        [f"H{i:02d}", f"户主{i}", ids[i], 119.47 + 0.002 * i, 28.445 + 0.001 * i]
        for i in range(len(ids))
    ]
    csv = fb.write_csv(src / "农户.csv", ["code", "name", "sfzh", "lon", "lat"], rows)
    result = ok(atlas, "add", str(csv), "--name", "households")
    assert "私密字段 (private): sfzh" in result.stdout
    meta = assert_written_layer_is_sound(atlas, "households")
    assert meta["fields"]["sfzh"]["private"] is True
    assert all("private" not in meta["fields"][c] for c in ("code", "name"))
    # The layer keeps the IDs exactly (the atlas is private; only HTML is published).
    assert [f["properties"]["sfzh"] for f in read_fc(atlas, "households")["features"]] == ids

    (atlas / "maps" / "households.toml").write_text(
        'title = "农户"\nbasemap = "none"\n\n[[layers]]\nlayer = "households"\n',
        encoding="utf-8",
    )
    ok(atlas, "render", "households")
    html = (atlas / "maps" / "households.html").read_bytes()
    assert len(html) > 10_000
    # The layer itself is on the map (names / codes present), but no ID, nor its 17-digit body.
    assert b"H00" in html and b"H04" in html
    for value in ids:
        assert value.encode() not in html
        assert value[:17].encode() not in html
    # A spec that asks for the private column in a tooltip is refused, not leaked.
    (atlas / "maps" / "leak.toml").write_text(
        'title = "泄露"\nbasemap = "none"\n\n[[layers]]\nlayer = "households"\n'
        'tooltip = ["name", "sfzh"]\n',
        encoding="utf-8",
    )
    leak = run(atlas, "render", "leak")
    html_path = atlas / "maps" / "leak.html"
    if leak.exit_code == 0:
        data = html_path.read_bytes()
        assert not any(v.encode() in data for v in ids)
    else:
        assert leak.exit_code == 1 and "Traceback" not in leak.output
        assert "sfzh" in leak.stderr
        assert not html_path.exists() or not any(v.encode() in html_path.read_bytes() for v in ids)
