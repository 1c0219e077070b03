"""Issue 11, class 1: one personal-data detector on normalised values, in add, check, render.

Every case is a real file written by a real driver (pyogrio/GDAL, openpyxl, json): numeric
phone columns with an empty cell (float ``13812345678.0``), 18-digit IDs as JSON numbers,
XLSX numeric cells, integer table columns joined onto features without a row, phones among
``无``/``—``, phones after 1000 blanks. ``add`` marks such a column private, ``check`` reports
it when unmarked, ``render`` refuses it exactly then, and no digit of it reaches a map.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import fixtures_build as fb
import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from helpers import run, snapshot
from shapely.geometry import Point, box

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


IDS = [resident_id(f"3311251985061{i:04d}") for i in range(6)]
PHONES = [13812345670 + i for i in range(6)]
X0, Y0 = 119.46, 28.44


def points(n: int) -> list[Point]:
    return [Point(X0 + 0.001 * i, Y0 + 0.001 * i) for i in range(n)]


def private_fields(root: Path, name: str) -> set[str]:
    meta = tomllib.loads((root / "layers" / f"{name}.toml").read_text(encoding="utf-8"))
    return {col for col, entry in meta["fields"].items() if entry.get("private") is True}


def layer_columns(n: int, **columns: list[Any]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [f"P{i}" for i in range(n)], **columns}, geometry=points(n), crs="EPSG:4326"
    )


# --- add: the column is marked private, whatever the driver made of it -------------------


def test_add_shapefile_numeric_phones_with_an_empty_cell(sample: Path, tmp_path: Path) -> None:
    gdf = layer_columns(4, tel=[float(PHONES[0]), np.nan, float(PHONES[1]), float(PHONES[2])])
    shp = tmp_path / "contacts.shp"
    pyogrio.write_dataframe(gdf, shp, encoding="UTF-8")
    assert str(pyogrio.read_dataframe(shp)["tel"].dtype) == "float64"  # 13812345670.0
    result = run(sample, "add", str(shp), "--name", "contacts")
    assert result.exit_code == 0, result.output
    assert "tel" in private_fields(sample, "contacts")
    assert "tel" in result.output and "private" in result.output
    assert str(PHONES[0]) not in result.output  # the warning names the column, not its values


def test_add_geojson_ids_as_json_numbers(sample: Path, tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {"code": f"P{i}", "holder": int(rid)},
            "geometry": {"type": "Point", "coordinates": [X0 + 0.001 * i, Y0]},
        }
        for i, rid in enumerate(IDS[:3])
    ]
    src = tmp_path / "holders.geojson"
    # 3.311251985061e+17 as GDAL reads it (Real or Integer64): the region and birth date show.
    src.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    text = src.read_text()
    assert str(int(IDS[0])) in text
    result = run(sample, "add", str(src), "--name", "holders")
    assert result.exit_code == 0, result.output
    assert "holder" in private_fields(sample, "holders")


def test_add_geojson_ids_as_floats(sample: Path, tmp_path: Path) -> None:
    gdf = layer_columns(3, holder=[float(r) for r in IDS[:3]])
    src = fb.write_geojson(tmp_path / "holders.geojson", gdf)
    assert "e+17" in src.read_text() or "E+17" in src.read_text() or "3311251985" in src.read_text()
    result = run(sample, "add", str(src), "--name", "holders")
    assert result.exit_code == 0, result.output
    assert "holder" in private_fields(sample, "holders")


def test_add_xlsx_numeric_phone_cells(sample: Path, tmp_path: Path) -> None:
    rows: list[list[Any]] = [["name", "lon", "lat", "电话", "备注"]]
    for i in range(5):
        phone: Any = PHONES[i] if i % 2 == 0 else "无"
        rows.append([f"户{i}", X0 + 0.001 * i, Y0, phone, "—"])
    src = fb.write_xlsx(tmp_path / "households.xlsx", {"户": rows})
    result = run(sample, "add", str(src), "--name", "households")
    assert result.exit_code == 0, result.output
    assert "电话" in private_fields(sample, "households")
    assert "备注" not in private_fields(sample, "households")


@pytest.mark.parametrize(
    "values",
    [
        ["138-1234-5670", "无", "—", "无", "—"],  # 20 % phones among placeholders
        ["0578-1234567", "(0578)7654321", "", "", ""],
        ["+86 138 1234 5670", "王 13812345671", "无", "无", "—"],
    ],
)
def test_add_text_phone_forms(sample: Path, tmp_path: Path, values: list[str]) -> None:
    src = fb.write_geojson(tmp_path / "forms.geojson", layer_columns(5, contact=values))
    result = run(sample, "add", str(src), "--name", "forms")
    assert result.exit_code == 0, result.output
    assert "contact" in private_fields(sample, "forms")


def test_add_phones_after_a_thousand_blanks(sample: Path, tmp_path: Path) -> None:
    n = 1003
    values: list[Any] = [None] * 1000 + [str(p) for p in PHONES[:3]]
    src = fb.write_geojson(tmp_path / "late.geojson", layer_columns(n, contact=values))
    result = run(sample, "add", str(src), "--name", "late")
    assert result.exit_code == 0, result.output
    assert "contact" in private_fields(sample, "late")


# --- check reports, render refuses: the same columns ------------------------------------


def put_layer(root: Path, name: str, gdf: gpd.GeoDataFrame) -> None:
    """A layer written by GDAL, metadata without any privacy mark, and a map showing it."""
    pyogrio.write_dataframe(gdf, root / "layers" / f"{name}.geojson", driver="GeoJSON")
    (root / "layers" / f"{name}.toml").write_text(
        'title = "测试"\nkind = "point"\nkey = "code"\nsource = "测试"\nillustrative = true\n',
        encoding="utf-8",
    )
    (root / "maps" / f"{name}.toml").write_text(
        f'title = "测试地图"\nbasemap = "none"\n[[layers]]\nlayer = "{name}"\n', encoding="utf-8"
    )


def assert_check_and_render_agree(root: Path, map_name: str, column: str, digits: str) -> None:
    checked = run(root, "check", "--json")
    findings = json.loads(checked.stdout)
    codes = [f for f in findings if f["code"] == "unmarked-personal-data"]
    assert any(column in f["message"] for f in codes), checked.stdout
    before = snapshot(root)
    rendered = run(root, "render", map_name)
    assert rendered.exit_code == 1, rendered.output
    assert column in rendered.stderr and "private" in rendered.stderr
    assert "Traceback" not in rendered.output
    assert digits not in rendered.output
    assert not (root / "maps" / f"{map_name}.html").exists()
    after = snapshot(root)
    assert {k: v for k, v in after.items() if k != "maps/index.html"} == {
        k: v for k, v in before.items() if k != "maps/index.html"
    }
    for data in after.values():
        assert digits.encode() not in data or data in before.values()


def test_numeric_phone_layer_with_nan(sample: Path) -> None:
    gdf = layer_columns(3, tel=[float(PHONES[0]), np.nan, float(PHONES[1])])
    put_layer(sample, "contacts", gdf)
    assert '"tel": 13812345670' in (sample / "layers" / "contacts.geojson").read_text()
    assert_check_and_render_agree(sample, "contacts", "tel", str(PHONES[0]))


def test_float_id_layer(sample: Path) -> None:
    put_layer(sample, "holders", layer_columns(2, holder=[float(IDS[0]), float(IDS[1])]))
    assert_check_and_render_agree(sample, "holders", "holder", IDS[0][:10])


def test_placeholder_phone_layer(sample: Path) -> None:
    put_layer(sample, "late", layer_columns(4, contact=["无", "—", "138-1234-5670", "无"]))
    assert_check_and_render_agree(sample, "late", "contact", "1234-5670")


def test_joined_integer_table_column_with_a_missing_row(sample: Path) -> None:
    """An integer phone column joined onto features, one feature without a row: float NaN."""
    csv = sample / "data" / "economy.csv"
    text = csv.read_text(encoding="utf-8").splitlines()
    rows = [text[0] + ",contact"] + [
        f"{line},{PHONES[i]}" for i, line in enumerate(text[1:]) if not line.startswith("V3")
    ]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    toml = sample / "data" / "economy.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8") + '\n[columns.contact]\nlabel = "联系"\ntype = "number"\n',
        encoding="utf-8",
    )
    checked = run(sample, "check", "--json")
    assert "contact" in checked.stdout and "unmarked-personal-data" in checked.stdout
    rendered = run(sample, "render", "economy")
    assert rendered.exit_code == 1, rendered.output
    assert "contact" in rendered.stderr
    assert not (sample / "maps" / "economy.html").exists()


def test_marked_private_numeric_phones_never_reach_the_page(sample: Path) -> None:
    gdf = layer_columns(
        3, tel=[float(PHONES[0]), np.nan, float(PHONES[1])], name=["甲", "乙", "丙"]
    )
    put_layer(sample, "contacts", gdf)
    meta = sample / "layers" / "contacts.toml"
    meta.write_text(meta.read_text() + "\n[fields.tel]\nprivate = true\n", encoding="utf-8")
    assert (
        run(sample, "check").exit_code == 0
        or "unmarked-personal" not in run(sample, "check").stdout
    )
    result = run(sample, "render", "contacts")
    assert result.exit_code == 0, result.output
    html = (sample / "maps" / "contacts.html").read_bytes()
    assert b"\xe4\xb9\x99" in html  # 乙: public values are there
    for phone in PHONES[:2]:
        assert str(phone).encode() not in html
        assert str(phone)[:7].encode() not in html


def test_polygon_layer_without_personal_data_still_renders(sample: Path) -> None:
    """No false alarm on the sample atlas's ordinary columns (codes, names, counts)."""
    gdf = gpd.GeoDataFrame(
        {
            "code": ["3311251010010010001", "3311251010010010002"],
            "amount": [13.8, 2323.12],
            "year": [2022, 2023],
            "date": ["2024-01-15", "2023-12-31"],
        },
        geometry=[box(X0, Y0, X0 + 0.01, Y0 + 0.01), box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01)],
        crs="EPSG:4326",
    )
    put_layer(sample, "plain", gdf)
    meta = sample / "layers" / "plain.toml"
    meta.write_text(meta.read_text().replace('"point"', '"parcel"'), encoding="utf-8")
    result = run(sample, "render", "plain")
    assert result.exit_code == 0, result.output
    assert "unmarked-personal-data" not in run(sample, "check", "--json").stdout
