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
