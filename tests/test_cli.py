"""CliRunner tests of `geomap render` and `geomap layers`: success and each bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner
from helpers import run, snapshot

from geomap.cli.main import cli


def test_render_all_maps_writes_html_and_index(sample: Path) -> None:
    result = run(sample, "render")
    assert result.exit_code == 0, result.output
    for name in ("economy", "grid", "minimal"):
        page = (sample / "maps" / f"{name}.html").read_text(encoding="utf-8")
        assert 'id="geomap-data"' in page
        assert "<title>" in page
    index = (sample / "maps" / "index.html").read_text(encoding="utf-8")
    assert 'href="economy.html"' in index and "村集体经济" in index
    # Progress goes to stderr, never to stdout.
    assert result.stdout == ""
    assert "economy" in result.stderr


def test_render_named_map_only(sample: Path) -> None:
    result = run(sample, "render", "minimal")
    assert result.exit_code == 0, result.output
    assert (sample / "maps" / "minimal.html").is_file()
    assert not (sample / "maps" / "economy.html").exists()


def test_render_unknown_map_names_it_and_lists_existing(sample: Path) -> None:
    before = snapshot(sample)
    result = run(sample, "render", "NOPE")
    assert result.exit_code == 1
    assert "NOPE" in result.stderr
    for name in ("economy", "grid", "minimal"):
        assert name in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(sample) == before


def test_render_skips_unchanged_and_force_rerenders(sample: Path) -> None:
    assert run(sample, "render", "minimal").exit_code == 0
    second = run(sample, "render", "minimal")
    assert "unchanged" in second.stderr
    forced = run(sample, "render", "minimal", "--force")
    assert "unchanged" not in forced.stderr
    # Changing an input re-renders.
    toml = sample / "layers" / "villages.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("行政村", "行政村（新）"), encoding="utf-8"
    )
    third = run(sample, "render", "minimal")
    assert "unchanged" not in third.stderr
    assert "行政村（新）" in (sample / "maps" / "minimal.html").read_text(encoding="utf-8")


def test_render_output_is_deterministic(sample: Path) -> None:
    run(sample, "render", "economy")
    first = (sample / "maps" / "economy.html").read_bytes()
    run(sample, "render", "economy", "--force")
    assert (sample / "maps" / "economy.html").read_bytes() == first


def test_render_with_malformed_spec_lists_every_problem(sample: Path) -> None:
    (sample / "maps" / "bad.toml").write_text(
        'title = "坏"\nfrobnicate = 1\n[[layers]]\nlayer = "villages"\n'
        'style = { type = "choropleth", scheme = "magic", k = 40 }\n',
        encoding="utf-8",
    )
    result = run(sample, "render", "bad")
    assert result.exit_code == 1
    err = result.stderr
    assert "bad.toml" in err
    for needle in ("frobnicate", "scheme", "k must be", "column"):
        assert needle in err, needle
    assert "Traceback" not in result.output


def test_render_toml_syntax_error_names_line(sample: Path) -> None:
    (sample / "maps" / "broken.toml").write_text('title = "x"\n[[layers]\n', encoding="utf-8")
    result = run(sample, "render", "broken")
    assert result.exit_code == 1
    assert "broken.toml" in result.stderr and "line 2" in result.stderr


def test_render_unknown_layer_in_spec(sample: Path) -> None:
    (sample / "maps" / "ghost.toml").write_text(
        'title = "幽灵"\n[[layers]]\nlayer = "ghosts"\n', encoding="utf-8"
    )
    result = run(sample, "render", "ghost")
    assert result.exit_code == 1
    assert "ghosts" in result.stderr and "villages" in result.stderr


def test_render_unknown_basemap_is_clear(sample: Path) -> None:
    result = run(sample, "render", "minimal", "--basemap", "googlemaps")
    assert result.exit_code == 2  # a usage error: the choices come from the provider table
    assert "googlemaps" in result.stderr and "amap" in result.stderr


def test_tianditu_without_key_is_clear(sample: Path, monkeypatch) -> None:
    monkeypatch.delenv("GEOMAP_TIANDITU_KEY", raising=False)
    result = run(sample, "render", "minimal", "--basemap", "tianditu-vec")
    assert result.exit_code == 1
    assert "GEOMAP_TIANDITU_KEY" in result.stderr


def test_debug_shows_traceback(sample: Path) -> None:
    result = CliRunner().invoke(cli, ["--atlas", str(sample), "--debug", "render", "NOPE"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_bad_usage_exits_2(sample: Path) -> None:
    assert run(sample, "render", "--no-such-flag").exit_code == 2
    assert run(sample, "frobnicate").exit_code == 2


def test_no_atlas_found(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("GEOMAP_ATLAS", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["layers"])
    assert result.exit_code == 1
    assert "layers/" in result.stderr and "--atlas" in result.stderr


def test_atlas_found_from_subfolder_and_env(sample: Path, monkeypatch) -> None:
    monkeypatch.delenv("GEOMAP_ATLAS", raising=False)
    monkeypatch.chdir(sample / "maps")
    assert CliRunner().invoke(cli, ["layers", "--json"]).exit_code == 0
    monkeypatch.chdir(sample.parent)
    monkeypatch.setenv("GEOMAP_ATLAS", str(sample))
    result = CliRunner().invoke(cli, ["layers", "--json"])
    assert result.exit_code == 0
    assert {r["name"] for r in json.loads(result.stdout)} == {
        "villages",
        "grids",
        "houses",
        "roads",
    }


def test_layers_json_fields(sample: Path) -> None:
    result = run(sample, "layers", "--json")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    for row in rows.values():
        for key in (
            "name",
            "title",
            "kind",
            "geometry_type",
            "features",
            "bbox",
            "area_mu",
            "length_m",
        ):
            assert key in row
    v = rows["villages"]
    assert v["title"] == "行政村" and v["features"] == 3 and v["geometry_type"] == "Polygon"
    assert v["bbox"] == [119.46, 28.44, 119.49, 28.45]
    # Three 0.01° cells at 28.445° N: ~ 3 × 977 m × 1109 m, in 亩 (1 亩 = 10000/15 m²).
    assert 4800 < v["area_mu"] < 4950
    assert v["length_m"] is None
    assert rows["roads"]["area_mu"] is None and 2900 < rows["roads"]["length_m"] < 3000
    assert rows["houses"]["area_mu"] is None and rows["houses"]["length_m"] is None


def test_layers_table_is_readable(sample: Path) -> None:
    result = run(sample, "layers")
    assert result.exit_code == 0
    assert "行政村" in result.stdout and "villages" in result.stdout


def test_layers_with_broken_layer_file(sample: Path) -> None:
    (sample / "layers" / "roads.geojson").write_text('{"type": "FeatureColl', encoding="utf-8")
    result = run(sample, "layers")
    assert result.exit_code == 1
    assert "roads.geojson" in result.stderr and "Traceback" not in result.output


def test_written_files_are_world_readable(sample: Path) -> None:
    run(sample, "render", "minimal")
    mode = os.stat(sample / "maps" / "minimal.html").st_mode & 0o777
    assert mode & 0o044 == 0o044
