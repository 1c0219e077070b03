"""`geomap export` read back: PDFs with pdftotext/pdfinfo (names, page count, page size in
mm), PNGs by their pixels (the mapped area against the sheet's map frame)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import run, shipped_atlas
from PIL import Image

from geomap.atlas import Atlas
from geomap.sheet import extent_aspect, sheet_layout

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
XIPING_MAPS = Atlas(REPO).map_names()
PT_PER_MM = 72 / 25.4
SUBDISTRICT_RED = (0xD7, 0x30, 0x1F)  # the subdistrict outline drawn on every Xiping map


@pytest.fixture(scope="module")
def xiping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped atlas, so exports never touch the repository."""
    root = tmp_path_factory.mktemp("xiping")
    return shipped_atlas(root)


def pdf_page_size_mm(pdf: Path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    line = next(li for li in info.stdout.splitlines() if li.startswith("Page size:"))
    w_pt, h_pt = (float(v) for v in line.split(":")[1].split("pts")[0].split(" x "))
    return w_pt / PT_PER_MM, h_pt / PT_PER_MM


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(next(li for li in info.stdout.splitlines() if li.startswith("Pages:")).split()[1])


def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(
        ["pdftotext", *pages, str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def feature_names(root: Path, layer: str) -> list[str]:
    import geopandas as gpd

    return [str(n) for n in gpd.read_file(root / "layers" / f"{layer}.geojson")["name"]]


def red_extent(img: Image.Image) -> tuple[int, int, int, int]:
    """The pixel bounding box of the subdistrict's red outline."""
    import numpy as np

    rgb = np.asarray(img.convert("RGB")).astype(int)
    near = (np.abs(rgb - np.array(SUBDISTRICT_RED)).sum(axis=2) < 60).nonzero()
    ys, xs = near
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_the_atlas_has_nine_maps() -> None:
    assert len(XIPING_MAPS) == 9


@pytest.mark.parametrize("name", XIPING_MAPS)
def test_pdf_export_has_paper_size_and_chinese_title(xiping: Path, name: str) -> None:
    out = xiping / f"{name}.pdf"
    result = run(xiping, "export", name, "--basemap", "none", "-o", str(out))
    assert result.exit_code == 0, result.output
    width, height = pdf_page_size_mm(out)
    assert abs(width - 297) < 1 and abs(height - 210) < 1  # A4 landscape
    assert pdf_pages(out) == 1
    text = pdf_text(out)
    title = Atlas(xiping).map_spec(name).title
    assert title in text
    assert "示意数据" in text and "制图日期" in text and "N" in text
    # Paper cannot fold: the screen's fold marks after legend titles are not printed.
    assert "▾" not in text and "▸" not in text


def test_every_key_project_is_named_on_the_key_projects_sheet(xiping: Path) -> None:
    out = xiping / "kp.pdf"
    result = run(xiping, "export", "key-projects", "--basemap", "none", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    names = feature_names(xiping, "key_projects")
    assert len(names) == 16
    # Each name is one run of text (never wrapped in its table cell), so it can be found.
    missing = [n for n in names if n not in text]
    assert missing == []
    # The callout table lists numbers with names and the key figures' headings.
    assert "编号" in text and "名称" in text and "类别" in text
    # Names are printed once: the interactive page's own labels are not on the sheet too.
    assert text.count("钟楼村") == 1


def test_default_output_is_exports_not_maps(xiping: Path) -> None:
    result = run(xiping, "-q", "export", "water-land", "--basemap", "none")
    assert result.exit_code == 0, result.output
    assert "导出" not in result.stderr and "出图" not in result.stderr  # -q: no notes, no bar
    out = xiping / "exports" / "water-land.pdf"
    assert out.is_file() and pdf_pages(out) == 1
    assert not (xiping / "maps" / "water-land.pdf").exists()
    assert str(out) in result.stdout


@pytest.mark.parametrize(("paper", "landscape"), [("A4", True), ("A3", False)])
def test_png_map_fills_its_frame(xiping: Path, paper: str, landscape: bool) -> None:
    """The subdistrict (the extent of collective-economy) spans ≥ 70 % of the map frame in
    its limiting dimension (in fact ~94 %), measured on the PNG's pixels inside the frame."""
    dpi = 100
    out = xiping / f"fill-{paper}.png"
    orient = "--landscape" if landscape else "--portrait"
    args = ["--format", "png", "--dpi", str(dpi), "--paper", paper, orient]
    result = run(xiping, "export", "collective-economy", *args, "--basemap", "none", "-o", str(out))
    assert result.exit_code == 0, result.output
    bounds = Atlas(xiping).read_layer("subdistrict").gdf.total_bounds
    layout = sheet_layout(paper, landscape, extent_aspect(bounds))
    k = dpi / 96
    fx0, fy0 = layout.frame.x * k, layout.frame.y * k
    fw, fh = layout.frame.w * k, layout.frame.h * k
    with Image.open(out) as img:
        frame = img.crop((round(fx0), round(fy0), round(fx0 + fw), round(fy0 + fh)))
        x0, y0, x1, y1 = red_extent(frame)
        # The legend's red swatch is the only red outside the frame.
        outside = img.copy()
        outside.paste((255, 255, 255), (round(fx0), round(fy0), round(fx0 + fw), round(fy0 + fh)))
        ox0, _, ox1, _ = red_extent(outside)
        assert ox1 - ox0 < 20
    # ... and filling it.
    share = max((x1 - x0) / fw, (y1 - y0) / fh)
    assert share >= 0.9, share
    assert min((x1 - x0) / fw, (y1 - y0) / fh) >= 0.4


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


def map_layer_names(root: Path, map_name: str, layer: str) -> list[str]:
    """The names of a layer's features on a map (the map's own `where` applied)."""
    ml = next(m for m in Atlas(root).map_spec(map_name).layers if m.layer == layer)
    gdf = Atlas(root).read_layer(layer).gdf
    for column, values in (ml.where or {}).items():
        gdf = gdf[gdf[column].astype(str).isin(values)]
    return [str(n) for n in gdf["name"]]


def test_each_village_gets_a_page_with_cover_and_index(xiping: Path) -> None:
    result = run(
        xiping, "-v", "export", "collective-economy", "--each", "villages", "--basemap", "none"
    )
    assert result.exit_code == 0, result.output
    out = xiping / "exports" / "collective-economy-villages.pdf"
    names = map_layer_names(xiping, "collective-economy", "villages")
    assert len(names) >= 10  # the report's named villages (and the unnamed remainder)
    total = 1 + 1 + len(names)  # cover, index, one page per village
    assert pdf_pages(out) == total
    width, height = pdf_page_size_mm(out)
    assert abs(width - 297) < 1 and abs(height - 210) < 1
    assert "村集体经济" in pdf_text(out, 1)
    index = pdf_text(out, 2)
    for name in names:
        assert name in index
    for page, name in enumerate(names, start=3):
        text = pdf_text(out, page)
        assert f"村集体经济·{name}" in text  # the village's name in the title
        assert "2022年集体经济总收入" in text and "万元" in text  # its figures
        assert "（示意）" in text  # illustrative splits are marked as on screen
    # Progress on stderr: pages done / total.
    assert f"{total}/{total}" in result.stderr


def test_each_png_writes_one_file_per_feature_into_a_folder(xiping: Path) -> None:
    out = xiping / "pngs"
    result = run(
        xiping, "export", "housing-safety", "--each", "villages", "--where", "name=新华村",
        "--format", "png", "--dpi", "60", "--basemap", "none", "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["01-新华村.png"]
    with Image.open(out / files[0]) as img:
        assert img.size == (round(297 / 25.4 * 60), round(210 / 25.4 * 60))


def test_extent_and_layer_extent(xiping: Path) -> None:
    out = xiping / "ext.pdf"
    ok = run(xiping, "export", "key-projects", "--basemap", "none",
             "--layer-extent", "key_projects", "-o", str(out))  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "育英区块物业楼项目" in pdf_text(out)
    bad = run(xiping, "export", "key-projects", "--layer-extent", "nope", "-o", str(out))
    assert bad.exit_code == 1 and "nope" in bad.stderr and "key_projects" in bad.stderr
    wrong = run(xiping, "export", "key-projects", "--bbox", "119.5,28.5,119.4,28.4", "-o", str(out))
    assert wrong.exit_code == 1 and "--extent" in wrong.stderr


def test_offline_amap_export_says_so_and_drops_credit_and_shift_note(xiping: Path) -> None:
    """No network here: AMap tiles cannot load. The sheet says nothing of Gaode or GCJ-02."""
    out = xiping / "offline.pdf"
    result = run(xiping, "export", "overview", "--basemap", "amap", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "底图未能加载" in result.stderr
    text = pdf_text(out)
    # (高德 itself may appear: the county boundary is cited as 高德行政区划.)
    assert "Gaode" not in text and "GCJ-02" not in text
    assert "西屏街道概览" in text


def test_export_unknown_map_and_bad_dpi(xiping: Path) -> None:
    missing = run(xiping, "export", "nope")
    assert missing.exit_code == 1 and "nope" in missing.stderr
    bad = run(xiping, "export", "overview", "--dpi", "5", "-o", str(xiping / "x.png"))
    assert bad.exit_code == 1 and "dpi" in bad.stderr
    assert not (xiping / "x.png").exists()


def test_export_while_another_playwright_session_runs(xiping: Path, browser: Any) -> None:
    """The suite's own browser is open: a sync Playwright session, i.e. an asyncio loop
    running in this thread (as in a Jupyter kernel). Export still prints, because it drives
    Chromium from a thread of its own, and the other session keeps working."""
    page = browser.new_page()  # the session is alive and in use
    try:
        out = xiping / "while-browser.pdf"
        result = run(xiping, "-q", "export", "water-land", "--basemap", "none", "-o", str(out))
        assert result.exit_code == 0, result.output
        assert pdf_pages(out) == 1 and "水利与土地整治" in pdf_text(out)
        assert page.evaluate("1 + 1") == 2  # and the other session still works
    finally:
        page.close()
