"""Hostile feature names through `geomap export`: printed as text on the sheet, the index
and the page titles (never markup), and never a path outside the output folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import run
from sample_atlas import build

pytestmark = pytest.mark.browser

NAMES = [
    ("V1", '<img src=x onerror="window.__pwned=2">'),
    ("V2", "../../逃逸/x"),
    ("V3", "{{ 6*7 }}<b>粗</b>"),
]


def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_hostile_names_print_as_text(tmp_path: Path) -> None:
    root = build(tmp_path / "atlas", village_names=NAMES)
    out = tmp_path / "atlas.pdf"
    result = run(root, "export", "economy", "--each", "villages", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    for _, name in NAMES:
        assert f"行政村：{name}" in text  # the page's subtitle, verbatim
    assert "{{ 6*7 }}<b>粗</b>" in text and "42" not in text.split("制图日期")[0]


def test_hostile_names_stay_inside_the_png_folder(tmp_path: Path) -> None:
    root = build(tmp_path / "atlas", village_names=NAMES)
    out = tmp_path / "out" / "pngs"
    result = run(
        root, "export", "economy", "--each", "villages", "--format", "png", "--dpi", "50",
        "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 3 and all(f.endswith(".png") and "/" not in f for f in files)
    assert files[1] == "02-逃逸_x.png"
    # Nothing else was written next to the folder or above it.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pngs"]
    assert not (tmp_path / "逃逸").exists()
