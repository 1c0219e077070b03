"""`geomap export-data`: GeoPackage, Shapefile, GeoJSON and CSV read back with pyogrio."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import sample_atlas
from helpers import run, snapshot
from shapely.geometry import MultiPolygon, box

from geomap.atlas import Atlas

PHONES = ["13812345678", "13987654321", "15011112222"]


@pytest.fixture
def atlas(sample: Path) -> Path:
    """The sample atlas plus `parcels`: a mixed Polygon/MultiPolygon layer with a private
    phone column, a long field name, a unit and a character outside GBK in one value."""
    X0, Y0 = sample_atlas.X0, sample_atlas.Y0
    gdf = gpd.GeoDataFrame(
        {
            "code": ["P1", "P2", "P3"],
            "name": ["西屏地块一", "地块二", "地块三"],
            "declared_area_mu": [12.5, 3.0, 7.25],
            "contact_phone": PHONES,
            "note": ["面积 120 m²", "普通", None],
        },
        geometry=[
            box(X0, Y0, X0 + 0.002, Y0 + 0.002),
            MultiPolygon([box(X0 + 0.003, Y0, X0 + 0.004, Y0 + 0.001)]),
            box(X0 + 0.005, Y0, X0 + 0.006, Y0 + 0.001),
        ],
        crs="EPSG:4326",
    )
    meta = {
        "title": "土地整治地块",
        "kind": "parcel",
        "key": "code",
        "description": "2022 年土地整治项目地块",
        "source": "测试数据",
        "illustrative": True,
        "fields": {
            "name": {"label": "地块名称"},
            "declared_area_mu": {"label": "申报面积", "unit": "亩"},
            "contact_phone": {"label": "联系电话", "private": True},
        },
    }
    Atlas(sample).write_layer("parcels", gdf, meta)
    return sample


def export(atlas: Path, tmp_path: Path, *args: str) -> tuple[Path, object]:
    result = run(atlas, "export-data", "parcels", *args)
    assert result.exit_code == 0, result.output
    first = Path(result.stdout.splitlines()[0])
    return first, result


def test_geopackage_carries_title_aliases_crs_and_no_private_field(
    atlas: Path, tmp_path: Path
) -> None:
    out = tmp_path / "西屏 导出" / "地块.gpkg"
    out.parent.mkdir()
    before = snapshot(atlas)
    path, result = export(atlas, tmp_path, "--format", "gpkg", "--crs", "EPSG:4549", "-o", str(out))
    assert path == out
    assert snapshot(atlas) == before  # export never touches the atlas
    info = pyogrio.read_info(out, layer="parcels")
    assert info["crs"] == "EPSG:4549"
    assert info["geometry_type"] == "MultiPolygon"  # mixed parts promoted
    assert info["features"] == 3
    assert "contact_phone" not in info["fields"]
    assert {"code", "name", "declared_area_mu", "note"} <= set(info["fields"])
    assert info["layer_metadata"]["title"] == "土地整治地块"
    assert "示意" in info["layer_metadata"]["illustrative"]
    gdf = pyogrio.read_dataframe(out, layer="parcels")
    assert gdf["name"].tolist() == ["西屏地块一", "地块二", "地块三"]
    # Projected metres around 500 km east of CM 120E: really EPSG:4549.
    assert 300_000 < gdf.total_bounds[0] < 500_000
    with sqlite3.connect(out) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200  # GeoPackage 1.2
        contents = db.execute(
            "SELECT identifier, description FROM gpkg_contents WHERE table_name='parcels'"
        ).fetchone()
        aliases = dict(
            db.execute(
                "SELECT column_name, title FROM gpkg_data_columns WHERE table_name='parcels'"
            ).fetchall()
        )
        qml, default = db.execute(
            "SELECT styleQML, useAsDefault FROM layer_styles WHERE f_table_name='parcels'"
        ).fetchone()
    assert contents[0] == "土地整治地块"
    assert "2022 年土地整治项目地块" in contents[1] and "示意" in contents[1]
    assert aliases["declared_area_mu"] == "申报面积 (亩)"
    assert aliases["name"] == "地块名称"
    assert "contact_phone" not in aliases
    assert default == 1 and 'name="申报面积 (亩)"' in qml and 'fieldName="name"' in qml
    assert "未导出私密字段" in result.stderr and "contact_phone" in result.stderr


def test_shapefile_gbk_has_cpg_short_names_and_qml(atlas: Path, tmp_path: Path) -> None:
    out = tmp_path / "给 国土局" / "地块.shp"
    out.parent.mkdir()
    # The m² of one value is not in GBK: refused, naming feature and field, nothing written.
    result = run(
        atlas, "export-data", "parcels", "--format", "shp", "--encoding", "gbk", "-o", str(out)
    )
    assert result.exit_code == 1
    assert "第 1 个要素" in result.stderr and "note" in result.stderr
    assert "--encoding utf-8" in result.stderr
    assert list(out.parent.iterdir()) == []
    # Without that value, GBK works and the .cpg says so.
    layer = Atlas(atlas).read_layer("parcels")
    gdf = layer.gdf.copy()
    gdf.loc[0, "note"] = "面积 120 平方米"
    raw = (atlas / "layers" / "parcels.toml").read_text("utf-8")
    import tomllib

    Atlas(atlas).write_layer("parcels", gdf, tomllib.loads(raw), replace=True)
    path, result = export(atlas, tmp_path, "--format", "shp", "--encoding", "gbk", "-o", str(out))
    assert path.suffix == ".shp"
    assert out.with_suffix(".cpg").read_text() == "GBK"
    dbf = out.with_suffix(".dbf").read_bytes()
    assert "西屏地块一".encode("gbk") in dbf and "西屏地块一".encode() not in dbf
    back = pyogrio.read_dataframe(out)  # GDAL decodes through the .cpg
    assert back["name"].tolist() == ["西屏地块一", "地块二", "地块三"]
    assert set(back.columns) == {"code", "name", "declared_a", "note", "geometry"}
    assert back["declared_a"].tolist() == [12.5, 3.0, 7.25]
    # Shapefile has one polygon type (GDAL reports it as Polygon, parts and all).
    assert pyogrio.read_info(out)["geometry_type"] == "Polygon"
    assert pyogrio.read_info(out)["crs"] == "EPSG:4326"
    qml = out.with_suffix(".qml").read_text("utf-8")
    assert '<alias field="declared_a" index="2" name="申报面积 (亩)"/>' in qml
    assert "declared_area_mu → declared_a" in result.stderr
    assert "contact_phone" not in qml


def test_shapefile_utf8_default_and_replace(atlas: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.shp"
    export(atlas, tmp_path, "--format", "shp", "-o", str(out))
    assert out.with_suffix(".cpg").read_text() == "UTF-8"
    assert pyogrio.read_dataframe(out)["note"][0] == "面积 120 m²"
    before = out.with_suffix(".dbf").read_bytes()
    again = run(atlas, "export-data", "parcels", "--format", "shp", "-o", str(out))
    assert again.exit_code == 1 and "--replace" in again.stderr
    assert out.with_suffix(".dbf").read_bytes() == before
    export(atlas, tmp_path, "--format", "shp", "-o", str(out), "--replace")


def test_include_private_writes_it_and_warns(atlas: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.geojson"
    _, result = export(atlas, tmp_path, "--format", "geojson", "-o", str(out), "--include-private")
    back = pyogrio.read_dataframe(out)
    assert back["contact_phone"].tolist() == PHONES
    assert "私密字段" in result.stderr and "contact_phone" in result.stderr
    assert "warning" in result.stderr


def test_quiet_export_keeps_the_private_warning(atlas: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.geojson"
    result = run(
        atlas,
        "-q",
        "export-data",
        "parcels",
        "--format",
        "geojson",
        "-o",
        str(out),
        "--include-private",
    )
    assert result.exit_code == 0, result.output
    assert "contact_phone" in result.stderr  # a warning survives -q
    assert "要素 (features)" not in result.stderr  # the summary note does not


@pytest.mark.parametrize("encoding, bom", [("utf-8", b"\xef\xbb\xbf"), ("gbk", b"")])
def test_csv_with_wkt_in_either_encoding(
    atlas: Path, tmp_path: Path, encoding: str, bom: bytes
) -> None:
    layer = Atlas(atlas).read_layer("parcels")
    if encoding == "gbk":  # drop the m² value GBK cannot hold
        import tomllib

        gdf = layer.gdf.copy()
        gdf.loc[0, "note"] = "普通"
        meta = tomllib.loads((atlas / "layers" / "parcels.toml").read_text("utf-8"))
        Atlas(atlas).write_layer("parcels", gdf, meta, replace=True)
    out = tmp_path / f"p-{encoding}.csv"
    export(atlas, tmp_path, "--format", "csv", "--encoding", encoding, "-o", str(out))
    data = out.read_bytes()
    assert data.startswith(bom + b"code,name,declared_area_mu,note,wkt")
    text = data.decode("utf-8-sig" if encoding == "utf-8" else "gbk")
    assert "西屏地块一" in text and "MULTIPOLYGON" in text and "13812345678" not in text


def test_export_refuses_unmarked_personal_data_and_paths_into_the_atlas(
    atlas: Path, tmp_path: Path
) -> None:
    toml = atlas / "layers" / "parcels.toml"
    toml.write_text(toml.read_text("utf-8").replace("private = true\n", ""), "utf-8")
    result = run(atlas, "export-data", "parcels", "-o", str(tmp_path / "x.gpkg"))
    assert result.exit_code == 1 and "contact_phone" in result.stderr
    assert "private = true" in result.stderr
    assert not (tmp_path / "x.gpkg").exists()
    before = snapshot(atlas)
    inside = run(
        atlas,
        "export-data",
        "villages",
        "--format",
        "geojson",
        "--replace",
        "-o",
        str(atlas / "layers" / "villages.geojson"),
    )
    assert inside.exit_code == 1 and "layers/" in inside.stderr
    assert snapshot(atlas) == before


def test_unknown_layer_and_crs_are_one_clear_error(atlas: Path, tmp_path: Path) -> None:
    result = run(atlas, "export-data", "nope", "-o", str(tmp_path / "x.gpkg"))
    assert result.exit_code == 1 and "nope" in result.stderr and "villages" in result.stderr
    result = run(atlas, "export-data", "villages", "--crs", "gcj02", "-o", str(tmp_path / "x"))
    assert result.exit_code == 1 and "EPSG" in result.stderr
    assert "Traceback" not in result.output


def test_shipped_layers_have_one_geometry_type_each() -> None:
    """GDAL sees one geometry type per layer: the writer promotes mixed single/multi parts."""
    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "layers").glob("*.geojson")):
        geometry_type = pyogrio.read_info(path)["geometry_type"]
        assert geometry_type != "Unknown", path.name


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_chunked_writes_keep_every_feature_and_report_progress(
    atlas: Path, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geomap import exchange

    monkeypatch.setattr(exchange, "CHUNK", 2)
    done: list[int] = []
    result = exchange.export_layer(
        Atlas(atlas), "parcels", fmt, tmp_path / f"p.{fmt}", on_progress=done.append
    )
    assert done == [2, 1]
    back = pyogrio.read_dataframe(result.path, layer="parcels" if fmt == "gpkg" else None)
    assert back["code"].tolist() == ["P1", "P2", "P3"]
    assert back["name"].tolist() == ["西屏地块一", "地块二", "地块三"]


def test_qgis_style_carries_the_maps_classes(atlas: Path, tmp_path: Path) -> None:
    """A map colours `parcels` by area (2 equal intervals): the GeoPackage's default style
    and the Shapefile's .qml carry those classes, colours and legend labels."""
    import xml.etree.ElementTree as ET

    (atlas / "maps" / "parcels.toml").write_text(
        'title = "地块"\n[[layers]]\nlayer = "parcels"\n'
        'style = { type = "choropleth", column = "declared_area_mu", '
        'scheme = "equal_interval", k = 2, palette = "Blues" }\n',
        "utf-8",
    )
    gpkg, _ = export(atlas, tmp_path, "-o", str(tmp_path / "p.gpkg"))
    with sqlite3.connect(gpkg) as db:
        (qml,) = db.execute("SELECT styleQML FROM layer_styles").fetchone()
    shp, _ = export(atlas, tmp_path, "--format", "shp", "-o", str(tmp_path / "p.shp"))
    for text, attr in (
        (qml, "declared_area_mu"),
        (shp.with_suffix(".qml").read_text("utf-8"), "declared_a"),
    ):
        root = ET.fromstring(text)
        renderer = root.find("renderer-v2")
        assert renderer is not None and renderer.get("type") == "graduatedSymbol"
        assert renderer.get("attr") == attr
        ranges = renderer.findall("ranges/range")
        # Values 3.0, 7.25, 12.5 in two equal intervals of 3–7.75 and 7.75–12.5.
        assert [(float(r.get("lower")), float(r.get("upper"))) for r in ranges] == [
            (3.0, 7.25),
            (7.25, 12.5),
        ]
        assert all("亩" in r.get("label", "") for r in ranges)
        colors = [o.get("value") for o in renderer.iter("Option") if o.get("name") == "color"]
        assert len(colors) == 2 and colors[0] != colors[1]
        aliases = {a.get("field"): a.get("name") for a in root.iter("alias")}
        assert aliases[attr] == "申报面积 (亩)"
