"""`geomap export` of every Xiping map: a PDF of the right paper size whose text holds the
Chinese title, and a PNG of exactly the requested pixel size."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import run
from PIL import Image

from geomap.atlas import Atlas

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
XIPING_MAPS = Atlas(REPO).map_names()
PT_PER_MM = 72 / 25.4


@pytest.fixture(scope="module")
def xiping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped atlas, so exports never touch the repository."""
    root = tmp_path_factory.mktemp("xiping")
    for sub in ("layers", "data", "maps"):
        shutil.copytree(REPO / sub, root / sub, ignore=shutil.ignore_patterns("*.html", ".*"))
    return root


def pdf_page_size_mm(pdf: Path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    line = next(li for li in info.stdout.splitlines() if li.startswith("Page size:"))
    w_pt, h_pt = (float(v) for v in line.split(":")[1].split("pts")[0].split(" x "))
    return w_pt / PT_PER_MM, h_pt / PT_PER_MM


def test_the_atlas_has_nine_maps() -> None:
    assert len(XIPING_MAPS) == 9


@pytest.mark.parametrize("name", XIPING_MAPS)
def test_pdf_export_has_paper_size_and_chinese_title(xiping: Path, name: str) -> None:
    out = xiping / f"{name}.pdf"
    result = run(xiping, "export", name, "--basemap", "none", "-o", str(out))
    assert result.exit_code == 0, result.output
    width, height = pdf_page_size_mm(out)
    assert abs(width - 297) < 1 and abs(height - 210) < 1  # A4 landscape
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    title = Atlas(xiping).map_spec(name).title
    assert title in text
    assert "示意数据" in text and "制图日期" in text and "N" in text


def test_png_export_has_requested_pixel_size(xiping: Path) -> None:
    out = xiping / "grid.png"
    result = run(
        xiping,
        "export",
        "grid-governance",
        "--format",
        "png",
        "--dpi",
        "120",
        "--paper",
        "A3",
        "--portrait",
        "--basemap",
        "none",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    with Image.open(out) as img:
        assert img.size == (round(297 / 25.4 * 120), round(420 / 25.4 * 120))
        # Not blank: the map drew something in colour.
        assert len(img.convert("RGB").getcolors(maxcolors=1_000_000) or []) > 50


def test_export_unknown_map_and_bad_dpi(xiping: Path) -> None:
    missing = run(xiping, "export", "nope")
    assert missing.exit_code == 1 and "nope" in missing.stderr
    bad = run(xiping, "export", "overview", "--dpi", "5", "-o", str(xiping / "x.png"))
    assert bad.exit_code == 1 and "dpi" in bad.stderr
    assert not (xiping / "x.png").exists()
