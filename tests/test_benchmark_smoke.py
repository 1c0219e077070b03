"""benchmarks/compare.py at a tiny size: it runs end to end and prints every JSON key."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "compare.py"
RATIOS = ["html_ratio", "browser_ratio", "redraw_ratio", "python_ratio", "rss_ratio", "heap_ratio"]
RAW = ["python_s", "rss_mib", "html_bytes", "browser_s", "redraw_ms", "heap_mb", "count"]


def _compare() -> object:
    spec = importlib.util.spec_from_file_location("compare", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chromium_flags_match_the_browser_tests() -> None:
    from geomap.export import CHROMIUM_ARGS

    assert _compare().CHROMIUM_ARGS == CHROMIUM_ARGS  # type: ignore[attr-defined]


def test_synthetic_data_is_deterministic() -> None:
    compare = _compare()
    a, b = compare.synthetic(50), compare.synthetic(50)  # type: ignore[attr-defined]
    assert len(a) == 50 and a.geometry.is_valid.all()
    assert a.equals(b)
    assert list(a.columns[:-1]) == compare.ATTRS  # type: ignore[attr-defined]


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_compare_prints_ratios_and_raw_numbers(tmp_path: Path) -> None:
    # explore() needs matplotlib: the test extra installs it, so this always runs.
    args = ["--sizes", "200", "--repeat", "1", "--results-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1
    line = lines[0]
    assert line["size"] == 200
    for key in RATIOS:
        assert isinstance(line[key], float) and line[key] > 0, key
    for tool in ("explore", "geomap"):
        for key in RAW:
            assert key in line[tool], (tool, key)
        assert line[tool]["count"] == 200
    assert "| 200 | geomap/explore |" in done.stdout
    saved = json.loads(next(tmp_path.glob("*-200.json")).read_text(encoding="utf-8"))
    assert saved["results"][0]["size"] == 200


def test_crs_transform_benchmark_runs_and_checks_its_result() -> None:
    spec = importlib.util.spec_from_file_location(
        "crs_transform", ROOT / "benchmarks" / "crs_transform.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--size", "2000", "--repeat", "1"])
    assert set(result["seconds"]) == {
        "wgs84_to_gcj02",
        "gcj02_to_wgs84",
        "wgs84_to_bd09",
        "bd09_to_wgs84",
    }
    assert result["gcj02_round_trip_max_error_m"] < 0.001


@pytest.mark.timeout(120)
def test_render_rss_benchmark_measures_both_renders_and_explore() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "render_rss.py"), "--size", "200"],
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    for name in ("first", "second", "explore"):
        assert line[f"{name}_rss_mib"] > 100, name  # an interpreter with geopandas at least
    assert 0 < line["first_rss_ratio"] < 2 and 0 < line["second_rss_ratio"] < 2


def test_county_render_worker_logs_its_stages_and_rerenders_without_tiling(
    tmp_path: Path,
) -> None:
    """benchmarks/county.py's render child on a tiny tiled atlas: it wraps the functions it
    names for its progress log (a renamed one broke a 10 M run), logs, and its re-render
    after a title edit takes the archive again."""
    script = ROOT / "benchmarks" / "county.py"
    spec = importlib.util.spec_from_file_location("county", script)
    assert spec and spec.loader
    county = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(script.parent))
    try:
        spec.loader.exec_module(county)
        county.write_tiled_atlas(tmp_path / "atlas", 300)
    finally:
        sys.path.remove(str(script.parent))
    progress = tmp_path / "progress.log"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--worker",
            str(tmp_path / "atlas"),
            "--progress",
            str(progress),
        ],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["tiler"] == "tippecanoe" and line["tiles_s"] > 0
    assert line["rerender_archive_reused"] is True
    assert "rss" in progress.read_text(encoding="utf-8")
