"""Issue 11, class 5: no input makes geomap read without bound or match super-linearly.

Pathological inputs, each bounded by pytest-timeout (never a timing assertion): a DBF header
that lies about its size, a 80 000-space ``source`` line (citation parsing), a 20 000-digit
CSV cell (number inference), a GeoJSON ``crs`` name of 20 000 "EPSG"s (the WGS84 check).
Before the fixes these took 10 s to forever, or died with MemoryError.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from helpers import check_clean, invoke
from shapely.geometry import Point

from geomap.ingest import detect_dbf_encoding
from geomap.ingest.tables import _NUMBER
from geomap.plan import merge_sources

X0, Y0 = 119.46, 28.44


def lying_shapefile(tmp_path: Path, records: int, record_len: int) -> Path:
    gdf = gpd.GeoDataFrame(
        {"name": ["甲", "乙"]}, geometry=[Point(X0, Y0), Point(X0 + 0.01, Y0)], crs="EPSG:4326"
    )
    shp = tmp_path / "liar.shp"
    pyogrio.write_dataframe(gdf, shp, encoding="GBK")
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    assert len(data) < 2048
    data[4:8] = struct.pack("<I", records)
    data[10:12] = struct.pack("<H", record_len)
    dbf.write_bytes(bytes(data))
    return shp


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("records", "record_len"), [(0xFFFFFFFF, 0xFFFF), (200_000, 0xFFFF), (0xFFFFFFFF, 1)]
)
def test_a_dbf_header_that_lies_reads_only_the_file(
    sample: Path, tmp_path: Path, records: int, record_len: int
) -> None:
    shp = lying_shapefile(tmp_path, records, record_len)
    assert detect_dbf_encoding(shp.with_suffix(".dbf")) in ("utf-8", "gb18030")
    result = invoke(sample, "add", str(shp), "--name", "liar")
    check_clean(result)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "source",
    [
        "报告" + " " * 80_000 + "x",
        " " * 80_000,
        "报告" + " 2022(一)" * 20_000 + " x",
        "报告 " + "2022(一)、" * 20_000,
        "\t" * 40_000 + "2022(一)",
    ],
    ids=["spaces", "only-spaces", "many-sections", "trailing-separator", "tabs"],
)
def test_citation_parsing_is_linear(source: str) -> None:
    merged = merge_sources([source, "报告 2022(二)"])
    assert len(merged) in (1, 2)


def test_citations_still_merge() -> None:
    assert merge_sources(["报告 2022(二)", "报告 2022(一)、2022(二)", "其他"]) == [
        "报告 2022(一)、2022(二)",
        "其他",
    ]
    assert merge_sources(["  2022(一)"]) == ["  2022(一)"]  # no document name: left as is


@pytest.mark.timeout(120)
def test_a_huge_source_line_renders(sample: Path) -> None:
    meta = sample / "layers" / "villages.toml"
    text = meta.read_text(encoding="utf-8")
    meta.write_text(
        text.replace('source = "测试数据 2022(四)"', 'source = "测试' + " " * 80_000 + '数据"'),
        encoding="utf-8",
    )
    result = invoke(sample, "render", "minimal")
    check_clean(result)
    assert result.exit_code == 0, result.output


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "cell",
    ["1" * 20_000 + "x", "1." + "1" * 20_000 + "x", "+" + "9" * 20_000 + "e", "1" * 20_000],
    ids=["digits-x", "decimal-x", "exponent-cut", "digits"],
)
def test_number_inference_is_linear(cell: str) -> None:
    assert (_NUMBER.match(cell) is not None) == cell.isdigit()


@pytest.mark.timeout(120)
def test_a_huge_csv_cell_is_read(sample: Path, tmp_path: Path) -> None:
    src = tmp_path / "huge.csv"
    src.write_text(
        f"name,lon,lat,note\n甲,{X0},{Y0},{'1' * 20_000}x\n乙,{X0 + 0.01},{Y0},{'2' * 20_000}\n",
        encoding="utf-8",
    )
    result = invoke(sample, "add", str(src), "--name", "huge")
    check_clean(result)
    assert result.exit_code == 0, result.output
    assert (sample / "layers" / "huge.geojson").exists()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "name",
    ["EPSG" * 20_000, "EPSG" + ":" * 80_000 + "4326x", "urn:ogc:def:crs:EPSG::4326"],
    ids=["epsg-x20000", "colons-x80000", "ordinary"],
)
def test_the_wgs84_name_check_is_linear(sample: Path, name: str) -> None:
    path = sample / "layers" / "villages.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["crs"] = {"type": "name", "properties": {"name": name}}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = invoke(sample, "check", "--json")
    check_clean(result)
    flagged = "not-wgs84" in result.stdout
    assert flagged == (not name.endswith("4326")), name[:40]
    assert len(result.stdout) < 20_000  # the message quotes a bounded part of the name


@pytest.mark.parametrize(
    "crs", [{"type": "name", "properties": ["EPSG:4326"]}, {"type": "name", "properties": "x"}]
)
def test_a_crs_member_of_the_wrong_shape_is_reported(sample: Path, crs: object) -> None:
    path = sample / "layers" / "villages.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["crs"] = crs
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = invoke(sample, "check", "--json")
    check_clean(result)
    assert "not-wgs84" in result.stdout
