"""`geomap check`: a clean atlas passes; each seeded problem is reported with its code.

Every case starts from the sample atlas (``tests/sample_atlas.py``) and seeds exactly one
problem, then asserts the code appears with its documented severity, that nothing unrelated
is reported, and the exit code (errors: 1; warnings: 0, and 1 with ``--strict``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import tomli_w
from click.testing import CliRunner, Result
from sample_atlas import STEP, X0, Y0, build, write, write_layer
from shapely import affinity
from shapely.geometry import Polygon, box

from geomap.atlas import Atlas
from geomap.check import CODES, Finding, check_atlas, format_finding
from geomap.cli.main import cli
from geomap.crs import area_mu
from geomap.geojson_io import dumps_layer, read_layer

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check(root: Path, *args: str) -> Result:
    """``geomap --atlas ROOT check ARGS`` in-process."""
    return CliRunner().invoke(cli, ["--atlas", str(root), "check", *args], catch_exceptions=False)


def findings(root: Path, *args: str) -> tuple[list[dict[str, object]], int]:
    result = check(root, "--json", *args)
    return json.loads(result.stdout), result.exit_code


def resident_id(body: str) -> str:
    """A GB 11643 resident ID: ``body`` (17 digits) and its check digit."""
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


# ---------------------------------------------------------------------------------------
# Seeding one problem each


def edit_layer(root: Path, name: str, change: Callable[[gpd.GeoDataFrame], None]) -> None:
    path = root / "layers" / f"{name}.geojson"
    gdf = read_layer(path)
    change(gdf)
    write(path, dumps_layer(gdf))


def edit_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_parcels(root: Path, geoms: list[object], **columns: list[object]) -> None:
    """A layer ``parcels`` with no parent, inside village V1 (so it disturbs nothing)."""
    meta = {"title": "地块", "kind": "parcel", "key": "code", "fields": {"code": {"label": "编号"}}}
    if "declared_mu" in columns:
        meta["declared_area_field"] = "declared_mu"
        meta["fields"]["declared_mu"] = {"label": "申报面积", "unit": "亩"}  # type: ignore[index]
    data = {"code": [f"P{i}" for i in range(len(geoms))], **columns}
    write_layer(root, "parcels", gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326"), meta)


SMALL = box(X0 + 0.001, Y0 + 0.001, X0 + 0.002, Y0 + 0.002)


def bow_tie(root: Path) -> None:
    x, y = X0 + 0.003, Y0 + 0.003
    tie = Polygon([(x, y), (x + 0.001, y + 0.001), (x + 0.001, y), (x, y + 0.001)])
    add_parcels(root, [SMALL, tie])


def null_geometry(root: Path) -> None:
    add_parcels(root, [SMALL, None])


def grid_outside_village(root: Path) -> None:
    # Half of V1-1 moved into V2: only 50 % of it lies in any one village.
    def change(gdf: gpd.GeoDataFrame) -> None:
        gdf.loc[0, "geometry"] = affinity.translate(gdf.geometry[0], xoff=STEP / 2)

    edit_layer(root, "grids", change)


def parent_key_wrong(root: Path) -> None:
    def change(gdf: gpd.GeoDataFrame) -> None:
        gdf.loc[0, "village"] = "V2"

    edit_layer(root, "grids", change)


def tiles_overlap(root: Path) -> None:
    # V1-1 grows 1/10 of a village northwards, into V1-2 (still inside V1).
    def change(gdf: gpd.GeoDataFrame) -> None:
        minx, miny, maxx, maxy = gdf.geometry[0].bounds
        gdf.loc[0, "geometry"] = box(minx, miny, maxx, maxy + STEP / 10)

    edit_layer(root, "grids", change)


def tiles_gap(root: Path) -> None:
    # V2-2 loses its northern fifth: part of V2 is covered by no grid.
    def change(gdf: gpd.GeoDataFrame) -> None:
        minx, miny, maxx, maxy = gdf.geometry[3].bounds
        gdf.loc[3, "geometry"] = box(minx, miny, maxx, maxy - STEP / 10)

    edit_layer(root, "grids", change)


def duplicate_key(root: Path) -> None:
    def change(gdf: gpd.GeoDataFrame) -> None:
        gdf.loc[5, "code"] = gdf.loc[4, "code"]

    edit_layer(root, "grids", change)


def empty_key(root: Path) -> None:
    def change(gdf: gpd.GeoDataFrame) -> None:
        gdf.loc[2, "code"] = ""

    edit_layer(root, "houses", change)


def table_unmatched(root: Path) -> None:
    with open(root / "data" / "economy.csv", "a", encoding="utf-8") as fh:
        fh.write("V9,12.5,3\n")


def table_duplicate(root: Path) -> None:
    with open(root / "data" / "economy.csv", "a", encoding="utf-8") as fh:
        fh.write("V2,12.5,3\n")


def table_non_numeric(root: Path) -> None:
    edit_text(root / "data" / "economy.csv", "250.25", "约250")


def table_unlabelled(root: Path) -> None:
    path = root / "data" / "economy.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text(
        "\n".join([lines[0] + ",note", *(f"{ln},备注" for ln in lines[1:])]) + "\n",
        encoding="utf-8",
    )


def table_no_unit(root: Path) -> None:
    edit_text(root / "data" / "economy.toml", 'unit = "%"\n', "")


def map_missing_layer(root: Path) -> None:
    write(
        root / "maps" / "broken.toml",
        tomli_w.dumps({"title": "坏地图", "layers": [{"layer": "villages"}, {"layer": "nosuch"}]}),
    )


def map_missing_column(root: Path) -> None:
    write(
        root / "maps" / "broken.toml",
        tomli_w.dumps(
            {
                "title": "坏地图",
                "layers": [{"layer": "villages", "tooltip": ["name", "nosuch_col"]}],
            }
        ),
    )


def map_missing_table(root: Path) -> None:
    write(
        root / "maps" / "broken.toml",
        tomli_w.dumps(
            {
                "title": "坏地图",
                "layers": [{"layer": "villages", "join": {"table": "nosuch", "on": "code"}}],
            }
        ),
    )


def map_private_field(root: Path) -> None:
    # The economy map shows "name" in its tooltip; mark it private.
    edit_text(root / "layers" / "villages.toml", 'label = "村名"', 'label = "村名"\nprivate = true')


def area_off(root: Path) -> None:
    declared = float(area_mu([SMALL])[0]) * 1.5
    add_parcels(root, [SMALL], declared_mu=[round(declared, 2)])


def resident_ids(root: Path) -> None:
    ids = [resident_id(f"3311251980010{i:02d}1{i % 10}") for i in range(7)]

    def change(gdf: gpd.GeoDataFrame) -> None:
        gdf["idno"] = ids

    edit_layer(root, "houses", change)


def mobile_numbers(root: Path) -> None:
    path = root / "data" / "economy.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    phones = ["13812345678", "15987654321", "18600001111"]
    rows = [f"{ln},{p}" for ln, p in zip(lines[1:], phones, strict=True)]
    path.write_text("\n".join([lines[0] + ",phone", *rows]) + "\n", encoding="utf-8")
    with open(root / "data" / "economy.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[columns.phone]\nlabel = "联系电话"\n')


def broken_json(root: Path) -> None:
    write(root / "layers" / "roads.geojson", '{"type": "FeatureCollection", "features": [')


def no_metadata(root: Path) -> None:
    # roads.geojson stays: maps naming roads are not "unknown-layer", only unusable.
    (root / "layers" / "roads.toml").unlink()


def projected_coords(root: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": ["P0", "P1"]}, geometry=[SMALL, affinity.translate(SMALL, 0.003)], crs="EPSG:4326"
    )
    gdf = gdf.to_crs(4549)
    write(root / "layers" / "parcels.geojson", dumps_layer(gdf))
    write(
        root / "layers" / "parcels.toml",
        tomli_w.dumps({"title": "地块", "kind": "parcel", "key": "code"}),
    )


def crs_member(root: Path) -> None:
    add_parcels(root, [SMALL])
    path = root / "layers" / "parcels.geojson"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            '{"type":"FeatureCollection",',
            '{"type":"FeatureCollection","crs":{"type":"name","properties":'
            '{"name":"urn:ogc:def:crs:EPSG::4549"}},',
            1,
        ),
        encoding="utf-8",
    )


def unknown_parent(root: Path) -> None:
    edit_text(root / "layers" / "grids.toml", 'parent = "villages"', 'parent = "towns"')


def choropleth_on_words(root: Path) -> None:
    # The economy map shades villages by income_2022: make every income a word.
    csv = root / "data" / "economy.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    rows = [lines[0]] + [",".join([r.split(",")[0], "很多", r.split(",")[2]]) for r in lines[1:]]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")


def orphan_metadata(root: Path) -> None:
    # What an `add` killed between its two renames leaves: metadata and no GeoJSON.
    (root / "layers" / "stray.toml").write_text('title = "x"\nkey = "code"\n', "utf-8")


CASES: list[tuple[str, Callable[[Path], None], set[str]]] = [
    # (code that must appear, seeding function, other codes the problem may also cause)
    ("invalid-geometry", bow_tie, set()),
    ("empty-geometry", null_geometry, set()),
    ("outside-parent", grid_outside_village, {"tiling-gap", "tiling-overlap"}),
    ("parent-key-mismatch", parent_key_wrong, set()),
    ("tiling-overlap", tiles_overlap, set()),
    ("tiling-gap", tiles_gap, set()),
    ("duplicate-key", duplicate_key, set()),
    ("missing-key", empty_key, set()),
    ("table-key-unmatched", table_unmatched, set()),
    ("duplicate-table-key", table_duplicate, set()),
    ("non-numeric", table_non_numeric, set()),
    ("missing-label", table_unlabelled, set()),
    ("missing-unit", table_no_unit, set()),
    ("unknown-layer", map_missing_layer, set()),
    ("unknown-column", map_missing_column, set()),
    ("unknown-table", map_missing_table, set()),
    ("private-in-spec", map_private_field, set()),
    ("area-mismatch", area_off, set()),
    ("unmarked-personal-data", resident_ids, set()),
    ("unmarked-personal-data", mobile_numbers, set()),
    # A map naming the broken layer cannot render: check says so for that map too.
    ("unreadable-file", broken_json, {"unusable-layer"}),
    ("missing-metadata", no_metadata, {"unusable-layer"}),
    ("not-wgs84", projected_coords, set()),
    ("not-wgs84", crs_member, set()),
    ("unknown-parent", unknown_parent, set()),
    ("choropleth-no-numbers", choropleth_on_words, {"non-numeric"}),
    ("orphan-metadata", orphan_metadata, set()),
]


# ---------------------------------------------------------------------------------------
# Tests


def test_sample_atlas_is_clean(tmp_path: Path) -> None:
    root = build(tmp_path / "atlas")
    result = check(root)
    assert result.exit_code == 0, result.output
    assert "未发现问题" in result.stdout and "no findings" in result.stdout
    assert findings(root) == ([], 0)
    assert findings(root, "--strict") == ([], 0)


@pytest.mark.parametrize(
    ("code", "seed", "also"), CASES, ids=[f"{c}-{s.__name__}" for c, s, _ in CASES]
)
def test_seeded_problem_is_reported(
    tmp_path: Path, code: str, seed: Callable[[Path], None], also: set[str]
) -> None:
    root = build(tmp_path / "atlas")
    seed(root)
    found, exit_code = findings(root)
    codes = {f["code"] for f in found}
    assert code in codes, found
    assert codes <= {code} | also, found  # nothing unrelated is reported
    for f in found:
        assert f["severity"] == CODES[str(f["code"])]
        assert f["message"] and "(" in str(f["message"])  # Chinese first, English in ( )
    errors = any(f["severity"] == "error" for f in found)
    assert exit_code == (1 if errors else 0)
    # With --strict every seeded problem fails the check.
    assert check(root, "--strict").exit_code == 1
    # The human report: one line per finding naming the code, then the summary.
    lines = check(root).stdout.splitlines()
    assert len(lines) == len(found) + 1
    assert any(f"[{code}]" in line for line in lines)
    assert "个问题" in lines[-1]


def test_json_has_documented_keys_and_human_line_format(tmp_path: Path) -> None:
    root = build(tmp_path / "atlas")
    tiles_gap(root)
    area_off(root)
    result = check(root, "--json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)
    assert all(set(f) == {"severity", "code", "layer", "feature", "message"} for f in found)
    gap = next(f for f in found if f["code"] == "tiling-gap")
    assert gap == {**gap, "severity": "error", "layer": "grids", "feature": "V2"}
    assert "容差" in gap["message"] and "tolerance" in gap["message"]
    area = next(f for f in found if f["code"] == "area-mismatch")
    assert (area["severity"], area["layer"], area["feature"]) == ("warning", "parcels", "P0")
    assert "+50.0%" in area["message"]
    # Sorted by layer, then code.
    assert [(f["layer"], f["code"]) for f in found] == sorted(
        (f["layer"], f["code"]) for f in found
    )
    human = check(root).stdout.splitlines()
    assert human[0].startswith("错误 error [tiling-gap] grids V2: ")
    assert human[1].startswith("警告 warning [area-mismatch] parcels P0: ")
    assert "1 个错误" in human[-1] and "1 个警告" in human[-1]


def test_strict_turns_warnings_into_failure(tmp_path: Path) -> None:
    root = build(tmp_path / "atlas")
    area_off(root)
    found, exit_code = findings(root)
    assert {f["severity"] for f in found} == {"warning"}
    assert exit_code == 0
    assert check(root).exit_code == 0
    assert check(root, "--strict").exit_code == 1
    assert check(root, "--json", "--strict").exit_code == 1


def test_findings_are_not_doubled_on_stderr(tmp_path: Path) -> None:
    root = build(tmp_path / "atlas")
    duplicate_key(root)
    result = check(root)
    assert result.exit_code == 1
    assert result.stdout.count("[duplicate-key]") == 1
    assert "duplicate-key" not in result.stderr
    assert "Traceback" not in result.output


def test_points_on_shared_borders_and_rounding_slivers_pass(tmp_path: Path) -> None:
    """A house exactly on the V1/V2 border (in the sample) is inside a parent; grids whose
    shared edges are a few millimetres off (coordinate rounding) do not overlap."""
    root = build(tmp_path / "atlas")
    edit_text(root / "layers" / "houses.toml", 'kind = "point"', 'kind = "point"\nparent = "grids"')

    def jitter(gdf: gpd.GeoDataFrame) -> None:
        minx, miny, maxx, maxy = gdf.geometry[0].bounds
        gdf.loc[0, "geometry"] = box(minx, miny, maxx, maxy + 3e-8)  # ~3 mm

    edit_layer(root, "grids", jitter)
    assert findings(root) == ([], 0)


def test_library_api_and_finding_as_dict(tmp_path: Path) -> None:
    root = build(tmp_path / "atlas")
    duplicate_key(root)
    result = check_atlas(Atlas(root))
    assert [f.code for f in result] == ["duplicate-key"]
    f = result[0]
    assert isinstance(f, Finding)
    assert f.as_dict() == {
        "severity": "error",
        "code": "duplicate-key",
        "layer": "grids",
        "feature": "V3-1",
        "message": f.message,
    }
    assert format_finding(f).startswith("错误 error [duplicate-key] grids V3-1: ")
    with pytest.raises(AttributeError):
        f.code = "x"  # type: ignore[misc]


def test_424_microgrids_check_clean(tmp_path: Path) -> None:
    """8 grids each tiled by 53 micro-grids: tiling + hierarchy find nothing (check's speed is
    measured in benchmarks/, not timed here)."""
    root = build(tmp_path / "atlas")
    parents = [box(X0 + i * STEP, Y0 + 0.02, X0 + (i + 1) * STEP, Y0 + 0.03) for i in range(8)]
    write_layer(
        root,
        "blocks",
        gpd.GeoDataFrame({"code": [f"B{i}" for i in range(8)]}, geometry=parents, crs="EPSG:4326"),
        {"title": "片区", "kind": "grid", "key": "code"},
    )
    cells, codes, owners = [], [], []
    for i, parent in enumerate(parents):
        minx, miny, maxx, maxy = parent.bounds
        h = (maxy - miny) / 53
        for j in range(53):
            cells.append(box(minx, miny + j * h, maxx, miny + (j + 1) * h))
            codes.append(f"B{i}-{j}")
            owners.append(f"B{i}")
    write_layer(
        root,
        "cells",
        gpd.GeoDataFrame({"code": codes, "block": owners}, geometry=cells, crs="EPSG:4326"),
        {
            "title": "微网格",
            "kind": "microgrid",
            "key": "code",
            "parent": "blocks",
            "parent_key": "block",
            "tiles_parent": True,
        },
    )
    assert check_atlas(Atlas(root)) == []


def test_join_check_follows_the_map_layer_where_filter(tmp_path: Path) -> None:
    """Features a map leaves out with ``where`` need no table row; a bad column is reported."""
    root = build(tmp_path / "atlas")
    edit_text(root / "data" / "economy.csv", "\nV3,80,20\n", "\n")
    found, _ = findings(root)
    assert [(f["code"], f["layer"], f["feature"]) for f in found] == [
        ("table-key-unmatched", "villages", "V3")
    ]
    edit_text(
        root / "maps" / "economy.toml",
        'layer = "villages"',
        'layer = "villages"\nwhere = { code = ["V1", "V2"] }',
    )
    assert findings(root) == ([], 0)
    edit_text(root / "maps" / "economy.toml", "where = { code =", "where = { nosuch =")
    found, exit_code = findings(root)
    assert {(f["code"], f["feature"]) for f in found} >= {("unknown-column", "layers[0].where")}
    assert exit_code == 1


def test_shipped_xiping_atlas_checks_clean() -> None:
    """The atlas in the repository reports 0 errors."""
    repo = Path(__file__).resolve().parents[1]
    result = CliRunner().invoke(cli, ["--atlas", str(repo), "check", "--json"])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)
    assert [f for f in findings if f["severity"] == "error"] == []
