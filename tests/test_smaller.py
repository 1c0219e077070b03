"""Issue 11, class 7 (smaller items): Windows device names are not layer names; XLSX formula
cells without a saved value are reported, not dropped silently."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from helpers import run, snapshot


@pytest.mark.parametrize("name", ["con", "nul", "prn", "aux", "com1", "lpt9"])
def test_windows_device_names_are_refused(sample: Path, tmp_path: Path, name: str) -> None:
    src = tmp_path / "p.csv"
    src.write_text("name,lon,lat\n甲,119.46,28.44\n", encoding="utf-8")
    before = snapshot(sample)
    result = run(sample, "add", str(src), "--name", name)
    assert result.exit_code == 1
    assert "Windows" in result.stderr and "Traceback" not in result.output
    assert snapshot(sample) == before


def test_device_like_names_that_windows_accepts_are_fine(sample: Path, tmp_path: Path) -> None:
    src = tmp_path / "p.csv"
    src.write_text("name,lon,lat\n甲,119.46,28.44\n", encoding="utf-8")
    for name in ("con-1", "console", "nul_points", "com10"):
        assert run(sample, "add", str(src), "--name", name).exit_code == 0, name


def test_xlsx_formula_cells_without_saved_values_are_reported(sample: Path, tmp_path: Path) -> None:
    # openpyxl writes formulas without cached results, as many programs do.
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "项目"
    ws.append(["name", "lon", "lat", "投资", "合计"])
    ws.append(["甲", 119.46, 28.44, 10, "=D2*2"])
    ws.append(["乙", 119.47, 28.44, 20, "=D3*2"])
    src = tmp_path / "formulas.xlsx"
    wb.save(src)
    result = run(sample, "add", str(src), "--name", "projects")
    assert result.exit_code == 0, result.output
    assert "E2" in result.output and "E3" in result.output
    assert "formula" in result.output


def test_xlsx_with_saved_values_gives_no_formula_warning(sample: Path, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["name", "lon", "lat", "投资"])
    ws.append(["甲", 119.46, 28.44, 10])
    src = tmp_path / "plain.xlsx"
    wb.save(src)
    result = run(sample, "add", str(src), "--name", "plain")
    assert result.exit_code == 0, result.output
    assert "formula" not in result.output


def _named_sources(folder: Path, stem: str) -> list[Path]:
    """The same two points as Shapefile, GeoJSON, GeoPackage and CSV, each under ``stem``
    (written under a plain name, then renamed: GDAL cannot create such names either)."""
    import os

    import geopandas as gpd
    import pyogrio
    from shapely.geometry import Point

    gdf = gpd.GeoDataFrame(
        {"name": ["甲", "乙"]},
        geometry=[Point(119.46, 28.44), Point(119.47, 28.45)],
        crs="EPSG:4326",
    )
    out = []
    for suffix, driver in ((".shp", None), (".geojson", "GeoJSON"), (".gpkg", "GPKG")):
        plain = folder / f"plain{suffix[1:]}"
        plain.mkdir()
        if driver:
            pyogrio.write_dataframe(gdf, plain / f"x{suffix}", driver=driver)
        else:
            pyogrio.write_dataframe(gdf, plain / f"x{suffix}", encoding="UTF-8")
        for part in plain.iterdir():
            os.rename(part, folder / f"{stem}{part.suffix}")
        out.append(folder / f"{stem}{suffix}")
    csv = folder / f"{stem}.csv"
    csv.write_text("name,lon,lat\n甲,119.46,28.44\n", encoding="utf-8")
    return [*out, csv]


@pytest.mark.parametrize("stem", ["村;地块", "村\n地块", "GBK"])
def test_file_names_gdal_cannot_open_are_read(sample: Path, tmp_path: Path, stem: str) -> None:
    """Not "truncated or corrupt": a ``;`` (GDAL splits there), a line break, or a name in
    GBK bytes (a zip unpacked on Linux) — the file is read and titled by its name."""
    import os
    import tomllib

    name_bytes = "村地块".encode("gbk") if stem == "GBK" else stem.encode()
    folder = tmp_path / "src"
    folder.mkdir()
    for i, src in enumerate(_named_sources(folder, os.fsdecode(name_bytes))):
        result = run(sample, "add", str(src), "--name", f"n{i}")
        assert result.exit_code == 0, (src.suffix, result.output)
        meta = tomllib.loads((sample / "layers" / f"n{i}.toml").read_text(encoding="utf-8"))
        if src.suffix != ".gpkg":  # a GeoPackage is titled by its layer ("x")
            assert "村" in meta["title"] and "地块" in meta["title"], meta["title"]
        assert "村" in meta["source"] and "source" not in meta["title"]
