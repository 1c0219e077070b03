"""The PostGIS atlas store against a real PostgreSQL/PostGIS: push/pull round trips, commands
on a database atlas, add and --replace as transactions, atlas resolution."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import psycopg
import pytest
import sample_atlas
import tomli_w
from click.testing import CliRunner
from helpers import run

from geomap.cli.main import cli

REPO = Path(__file__).resolve().parents[1]


def cli_ok(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def check_same_files(a: Path, b: Path, subdirs: tuple[str, ...] = ("layers", "data")) -> None:
    for sub in subdirs:
        names_a = sorted(p.name for p in (a / sub).glob("*") if p.is_file())
        names_b = sorted(p.name for p in (b / sub).glob("*") if p.is_file())
        assert names_a == names_b, sub
        for name in names_a:
            assert (a / sub / name).read_bytes() == (b / sub / name).read_bytes(), f"{sub}/{name}"


def db_rows(url: str, sql: str) -> list[tuple]:
    base, _, query = url.partition("?atlas=")
    with psycopg.connect(base) as conn:
        return conn.execute(sql.replace("{s}", query)).fetchall()


def test_xiping_round_trip_is_byte_identical(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    out = cli_ok("atlas", "push", str(REPO), atlas_url)
    assert f"{len(list((REPO / 'layers').glob('*.geojson')))} 个图层" in out
    cli_ok("atlas", "pull", atlas_url, str(tmp_path / "copy"))
    check_same_files(REPO, tmp_path / "copy")
    assert (REPO / "atlas.toml").read_bytes() == (tmp_path / "copy" / "atlas.toml").read_bytes()
    for spec in (REPO / "maps").glob("*.toml"):
        assert spec.read_bytes() == (tmp_path / "copy" / "maps" / spec.name).read_bytes()
    # The layers are real PostGIS tables: area of the subdistrict in the database.
    (area,) = db_rows(
        atlas_url,
        "SELECT sum(ST_Area(ST_Transform(geom, 4549))) / 1e6 FROM {s}.subdistrict",
    )[0]
    assert area == pytest.approx(50.0, abs=0.1)


def test_layers_and_check_identical_on_folder_database_and_pulled_copy(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    folder = sample_atlas.build(tmp_path / "atlas")
    # Seed a problem so check has findings to compare (a duplicate key in a table).
    csv = folder / "data" / "economy.csv"
    csv.write_text(csv.read_text(encoding="utf-8") + "V1,5,5\n", encoding="utf-8")
    cli_ok("atlas", "push", str(folder), atlas_url)
    cli_ok("atlas", "pull", atlas_url, str(tmp_path / "copy"))
    copy = tmp_path / "copy"

    def both(root: str, cmd: str) -> str:
        result = CliRunner().invoke(cli, ["--atlas", root, cmd, "--json"])
        assert result.exit_code in (0, 1), result.output
        return result.stdout

    for cmd in ("layers", "check"):
        on_folder = both(str(folder), cmd)
        on_db = both(atlas_url, cmd)
        on_copy = both(str(copy), cmd)
        snap = next(snapshot_cache.iterdir())
        assert on_db.replace(str(snap), str(folder)) == on_folder
        assert on_copy.replace(str(copy), str(folder)) == on_folder
    findings = json.loads(on_folder)
    assert any(f["code"] == "duplicate-table-key" for f in findings)


def test_render_on_database_atlas_goes_to_snapshot_maps(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    folder = sample_atlas.build(tmp_path / "atlas")
    cli_ok("atlas", "push", str(folder), atlas_url)
    result = CliRunner().invoke(cli, ["--atlas", atlas_url, "render", "economy"])
    assert result.exit_code == 0, result.output
    snap = next(snapshot_cache.iterdir())
    html = (snap / "maps" / "economy.html").read_text(encoding="utf-8")
    assert "村集体经济" in html
    # The snapshot is refreshed only when the database changed: a second render skips.
    again = CliRunner().invoke(cli, ["--atlas", atlas_url, "render", "economy"])
    assert again.exit_code == 0
    assert "economy 未变化，跳过" in again.stderr


def test_push_refuses_non_empty_atlas_without_replace(atlas_url: str, tmp_path: Path) -> None:
    folder = sample_atlas.build(tmp_path / "atlas")
    cli_ok("atlas", "push", str(folder), atlas_url)
    result = CliRunner().invoke(cli, ["atlas", "push", str(folder), atlas_url])
    assert result.exit_code == 1
    assert "--replace" in result.stderr
    (folder / "layers" / "roads.geojson").unlink()
    (folder / "layers" / "roads.toml").unlink()
    out = cli_ok("atlas", "push", "--replace", str(folder), atlas_url)
    assert "layers/roads" in out
    names = [
        r[0]
        for r in db_rows(
            atlas_url, "SELECT name FROM {s}.layers WHERE current IS NOT NULL ORDER BY 1"
        )
    ]
    assert names == ["grids", "houses", "villages"]
    # Unchanged layers get no new version; the dropped layer's version is kept.
    assert db_rows(
        atlas_url, "SELECT name, count(*) FROM {s}.layer_versions GROUP BY 1 ORDER BY 1"
    ) == [("grids", 1), ("houses", 1), ("roads", 1), ("villages", 1)]


def test_pull_refuses_non_empty_folder_and_unknown_atlas(atlas_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["atlas", "pull", atlas_url, str(tmp_path / "x")])
    assert result.exit_code == 1 and "geomap atlas push" in result.stderr
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["atlas", "pull", atlas_url, str(tmp_path / "y")])
    assert result.exit_code == 1 and "不为空" in result.stderr
    assert (tmp_path / "y" / "keep.txt").read_text() == "mine"


def test_bad_password_is_one_clear_error_without_the_password(pg_url: str) -> None:
    bad = pg_url.replace("geomap:geomap@", "geomap:s3cret@") + "?atlas=nope"
    result = CliRunner().invoke(cli, ["--atlas", bad, "layers"])
    assert result.exit_code == 1
    assert "无法连接数据库" in result.stderr and "s3cret" not in result.stderr
    assert "Traceback" not in result.output


def test_atlas_resolution_env_and_store_in_atlas_toml(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = sample_atlas.build(tmp_path / "atlas")
    cli_ok("atlas", "push", str(folder), atlas_url)
    expected = json.loads(run(folder, "layers", "--json").stdout)
    monkeypatch.setenv("GEOMAP_ATLAS", atlas_url)
    assert json.loads(cli_ok("layers", "--json")) == expected
    monkeypatch.delenv("GEOMAP_ATLAS")
    pointer = tmp_path / "county" / "work"
    pointer.mkdir(parents=True)
    (pointer.parent / "atlas.toml").write_text(f'store = "{atlas_url}"\n', encoding="utf-8")
    monkeypatch.chdir(pointer)
    assert json.loads(cli_ok("layers", "--json")) == expected
    (pointer.parent / "atlas.toml").write_text('store = "/some/folder"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["layers"])
    assert result.exit_code == 1 and "postgresql://" in result.stderr


def test_add_and_replace_are_versions_in_one_transaction(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    folder = sample_atlas.build(tmp_path / "atlas")
    cli_ok("atlas", "push", str(folder), atlas_url)
    src = folder / "layers" / "houses.geojson"
    out = cli_ok("--atlas", atlas_url, "add", str(src), "--name", "houses2", "--map", "economy")
    assert "maps/economy.toml" in out and "已写入数据库" in out and "houses2" in out
    spec = tomllib.loads(
        db_rows(
            atlas_url,
            "SELECT convert_from(data, 'UTF8') FROM {s}.files WHERE path = 'maps/economy.toml'",
        )[0][0]
    )
    assert [ml["layer"] for ml in spec["layers"]][-1] == "houses2"
    # Without --replace an existing layer is refused and nothing changes.
    before = db_rows(atlas_url, "SELECT id FROM {s}.layer_versions ORDER BY id")
    result = CliRunner().invoke(cli, ["--atlas", atlas_url, "add", str(src), "--name", "houses2"])
    assert result.exit_code == 1 and "--replace" in result.stderr
    assert db_rows(atlas_url, "SELECT id FROM {s}.layer_versions ORDER BY id") == before
    # --replace: a new version; the old one is kept and its table still holds its features.
    roads = folder / "layers" / "roads.geojson"
    cli_ok(
        "--atlas", atlas_url, "add", str(roads), "--name", "houses2", "--replace", "--kind", "line"
    )
    versions = db_rows(
        atlas_url, "SELECT id, features FROM {s}.layer_versions WHERE name = 'houses2' ORDER BY id"
    )
    assert [n for _, n in versions] == [len(sample_atlas.HOUSES), 1]
    old_id = versions[0][0]
    assert db_rows(atlas_url, f"SELECT count(*) FROM {{s}}.v{old_id}")[0][0] == len(
        sample_atlas.HOUSES
    )
    layers = json.loads(cli_ok("--atlas", atlas_url, "layers", "--json"))
    assert next(r for r in layers if r["name"] == "houses2")["geometry_type"] == "LineString"
    # History lists both versions; restoring the first makes it current as a third.
    listing = cli_ok("atlas", "history", atlas_url, "houses2").splitlines()
    assert len(listing) == 2 and "current" in listing[1] and "current" not in listing[0]
    cli_ok("atlas", "restore", atlas_url, "houses2", str(old_id))
    layers = json.loads(cli_ok("--atlas", atlas_url, "layers", "--json"))
    restored = next(r for r in layers if r["name"] == "houses2")
    assert restored["geometry_type"] == "Point"
    assert restored["features"] == len(sample_atlas.HOUSES)
    assert len(cli_ok("atlas", "history", atlas_url, "houses2").splitlines()) == 3
    result = CliRunner().invoke(cli, ["atlas", "restore", atlas_url, "houses2", "999999"])
    assert result.exit_code == 1 and "geomap atlas history" in result.stderr


def test_failed_add_leaves_database_unchanged(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    folder = sample_atlas.build(tmp_path / "atlas")
    cli_ok("atlas", "push", str(folder), atlas_url)
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = '{s}'"
    before = (db_rows(atlas_url, tables), db_rows(atlas_url, "SELECT * FROM {s}.layers ORDER BY 1"))
    # A map spec that cannot take the layer makes the add fail after the features are copied.
    spec = folder / "maps" / "economy.toml"
    result = CliRunner().invoke(
        cli,
        [
            "--atlas",
            atlas_url,
            "add",
            str(folder / "layers" / "roads.geojson"),
            "--name",
            "r2",
            "--map",
            "nope",
        ],
    )
    assert result.exit_code == 1
    after = (db_rows(atlas_url, tables), db_rows(atlas_url, "SELECT * FROM {s}.layers ORDER BY 1"))
    assert after == before
    assert spec.is_file()


def test_private_fields_marked_in_column_comments(atlas_url: str, tmp_path: Path) -> None:
    folder = sample_atlas.build(tmp_path / "atlas")
    meta_path = folder / "layers" / "villages.toml"
    meta = tomllib.loads(meta_path.read_text(encoding="utf-8"))
    meta["fields"]["households"]["private"] = True
    meta_path.write_text(tomli_w.dumps(meta), encoding="utf-8")
    cli_ok("atlas", "push", str(folder), atlas_url)
    comments = dict(
        db_rows(
            atlas_url,
            "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
            "WHERE a.attrelid = '{s}.villages'::regclass AND a.attnum > 0",
        )
    )
    assert comments["households"] == "户数（户）【私密 private】"
    assert comments["name"] == "村名"


def test_map_role_reads_public_labelled_views_only(
    atlas_url: str, pg_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    folder = sample_atlas.build(tmp_path / "atlas")
    meta_path = folder / "layers" / "villages.toml"
    meta = tomllib.loads(meta_path.read_text(encoding="utf-8"))
    meta["fields"]["households"]["private"] = True
    meta_path.write_text(tomli_w.dumps(meta), encoding="utf-8")
    table_path = folder / "data" / "economy.toml"
    table_meta = tomllib.loads(table_path.read_text(encoding="utf-8"))
    table_meta["columns"]["growth"]["private"] = True
    table_path.write_text(tomli_w.dumps(table_meta), encoding="utf-8")
    cli_ok("atlas", "push", str(folder), atlas_url)
    schema = atlas_url.partition("?atlas=")[2]
    role = f"reader_{schema}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
    try:
        out = cli_ok("atlas", "grant", atlas_url, role)
        assert "villages" in out
        # A later add makes a new view: the reader can read it too.
        cli_ok(
            "--atlas", atlas_url, "add", str(folder / "layers" / "roads.geojson"), "--name", "r2"
        )
        reader = pg_url.replace("geomap:geomap@", f"{role}:pw@")
        with psycopg.connect(reader, autocommit=True) as conn:
            cols = [
                d.name
                for d in conn.execute(f"SELECT * FROM {schema}_map.villages LIMIT 1").description
            ]
            assert "households" not in cols and {"name", "code", "geom"} <= set(cols)
            assert conn.execute(f"SELECT count(*) FROM {schema}_map.r2").fetchone() == (1,)
            comment = conn.execute(
                f"SELECT col_description('{schema}_map.villages'::regclass, 2)"
            ).fetchone()
            assert comment is not None and comment[0] in ("村名", "村编码")
            # The indicator table: public columns, numbers as numbers, labels as comments.
            rows = conn.execute(
                f'SELECT * FROM {schema}_map."data/economy" ORDER BY code'
            ).fetchall()
            assert rows == [("V1", 100.5), ("V2", 250.25), ("V3", 80.0)]
            label = conn.execute(
                f"SELECT col_description('{schema}_map.\"data/economy\"'::regclass, 2)"
            ).fetchone()
            assert label == ("2022年集体经济总收入（万元）",)
            for private in (
                f"SELECT households FROM {schema}.villages",
                f"SELECT * FROM {schema}.layer_versions",
                f"SELECT * FROM {schema}.files",
                f"SELECT households FROM {schema}_map.villages",
                f'SELECT growth FROM {schema}_map."data/economy"',
                f"SELECT data FROM {schema}.files",
            ):
                with pytest.raises(
                    (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedColumn)
                ):
                    conn.execute(private)
            assert conn.execute(f"SELECT count(*) FROM {schema}_map.villages").fetchone() == (3,)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {schema}_map CASCADE")
            admin.execute(f"DROP ROLE {role}")


def test_pull_edit_push_updates_only_what_changed_and_refuses_conflicts(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    folder = sample_atlas.build(tmp_path / "atlas")
    cli_ok("atlas", "push", str(folder), atlas_url)
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    cli_ok("atlas", "pull", atlas_url, str(mine))
    cli_ok("atlas", "pull", atlas_url, str(theirs))
    versions = "SELECT count(*) FROM {s}.layer_versions"
    # Edit a map spec title, push: one new file version, no new layer versions.
    spec = mine / "maps" / "economy.toml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("村集体经济", "村集体经济（修订）", 1),
        encoding="utf-8",
    )
    out = cli_ok("atlas", "push", "--replace", str(mine), atlas_url)
    assert "0 个图层" in out and "1 个文件" in out
    assert db_rows(atlas_url, versions) == [(4,)]
    # Meanwhile someone else (theirs, pulled before) changed the same spec: a conflict.
    spec2 = theirs / "maps" / "economy.toml"
    spec2.write_text(spec2.read_text(encoding="utf-8") + "\n# theirs\n", encoding="utf-8")
    layer_meta = theirs / "layers" / "roads.toml"
    layer_meta.write_text(
        layer_meta.read_text(encoding="utf-8").replace("道路", "道路（新）"), encoding="utf-8"
    )
    before = db_rows(atlas_url, "SELECT path, version FROM {s}.files ORDER BY 1")
    result = CliRunner().invoke(cli, ["atlas", "push", "--replace", str(theirs), atlas_url])
    assert result.exit_code == 1
    assert "maps/economy.toml" in result.stderr and "layers/roads" not in result.stderr
    assert db_rows(atlas_url, "SELECT path, version FROM {s}.files ORDER BY 1") == before
    assert db_rows(atlas_url, versions) == [(4,)]
    # A new layer added by a third technician is kept when mine (pulled before) is pushed.
    cli_ok(
        "--atlas", atlas_url, "add", str(folder / "layers" / "roads.geojson"), "--name", "roads2"
    )
    spec.write_text(spec.read_text(encoding="utf-8") + "\n# mine again\n", encoding="utf-8")
    cli_ok("atlas", "push", "--replace", str(mine), atlas_url)
    names = db_rows(atlas_url, "SELECT name FROM {s}.layers WHERE current IS NOT NULL ORDER BY 1")
    assert ("roads2",) in names
    stored = db_rows(
        atlas_url,
        "SELECT convert_from(data, 'UTF8') FROM {s}.files WHERE path = 'maps/economy.toml'",
    )
    assert stored[0][0].endswith("# mine again\n")


def test_names_written_into_the_database_by_hand_never_become_paths(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    folder = sample_atlas.build(tmp_path / "atlas")
    cli_ok("atlas", "push", str(folder), atlas_url)
    base, _, schema = atlas_url.partition("?atlas=")
    with psycopg.connect(base) as conn:
        conn.execute(f"UPDATE {schema}.layers SET name = '../../evil' WHERE name = 'roads'")
        conn.execute(f"INSERT INTO {schema}.files VALUES ('../evil.toml', 999, 'x'::bytea)")
    result = CliRunner().invoke(cli, ["atlas", "pull", atlas_url, str(tmp_path / "copy")])
    assert result.exit_code == 1 and "../../evil" in result.stderr
    assert not list(tmp_path.rglob("evil*"))
    with psycopg.connect(base) as conn:
        conn.execute(f"UPDATE {schema}.layers SET name = 'roads' WHERE name = '../../evil'")
    result = CliRunner().invoke(cli, ["atlas", "pull", atlas_url, str(tmp_path / "copy2")])
    assert result.exit_code == 1 and "../evil.toml" in result.stderr
    assert not list(tmp_path.rglob("evil*"))


def test_awkward_properties_round_trip_byte_for_byte(atlas_url: str, tmp_path: Path) -> None:
    """Reserved and over-long column names, mixed and nested values, gaps in integers, a
    null geometry and a file with a crs member all come back as they went in."""
    folder = sample_atlas.build(tmp_path / "atlas")
    long_name = "很长的字段名称" * 4  # 84 bytes: longer than a PostgreSQL identifier
    lines = [
        '{"type":"Feature","properties":{"code":"A","geom":"x","_ord":1,"c1":true,'
        f'"{long_name}":1,"mixed":1,"nested":[1,{{"b":2,"a":[null]}}],"gap":5,"flag":true}},'
        '"geometry":{"type":"Point","coordinates":[119.4812345,28.4512345]}}',
        '{"type":"Feature","properties":{"code":"B","geom":null,"_ord":2,"c1":false,'
        f'"{long_name}":2.5,"mixed":"二","nested":null,"gap":null,"flag":null}},'
        '"geometry":null}',
    ]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    (folder / "layers" / "odd.geojson").write_text(text, encoding="utf-8")
    (folder / "layers" / "odd.toml").write_text(
        'title = "怪"\nkind = "point"\nkey = "code"\n', encoding="utf-8"
    )
    crs = '{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:3857"}},"features":[]}'
    (folder / "layers" / "projected.geojson").write_text(crs, encoding="utf-8")
    (folder / "layers" / "projected.toml").write_text(
        'title = "投影"\nkind = "point"\nkey = "code"\n', encoding="utf-8"
    )
    cli_ok("atlas", "push", str(folder), atlas_url)
    cli_ok("atlas", "pull", atlas_url, str(tmp_path / "copy"))
    assert (tmp_path / "copy" / "layers" / "odd.geojson").read_text(encoding="utf-8") == text
    pulled = json.loads((tmp_path / "copy" / "layers" / "projected.geojson").read_text())
    assert pulled == json.loads(crs)
    # check sees the same thing in both (not-wgs84 for the crs member included).
    a = CliRunner().invoke(cli, ["--atlas", str(folder), "check", "--json"]).stdout
    b = CliRunner().invoke(cli, ["--atlas", str(tmp_path / "copy"), "check", "--json"]).stdout
    assert b.replace(str(tmp_path / "copy"), str(folder)) == a
    assert any(f["code"] == "not-wgs84" for f in json.loads(a))


def test_add_to_database_matches_add_to_folder(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    """The same source added to a folder and to a database atlas: same layer, same
    listing; a family mixing single and multi parts is stored all-Multi in both."""
    folder = sample_atlas.build(tmp_path / "atlas")
    cli_ok("atlas", "push", str(folder), atlas_url)
    src = tmp_path / "mixed.geojson"
    src.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": "M1", "name": "甲"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [
                                    [119.48, 28.45],
                                    [119.481, 28.45],
                                    [119.481, 28.451],
                                    [119.48, 28.45],
                                ]
                            ],
                        },
                    },
                    {
                        "type": "Feature",
                        "properties": {"code": "M2", "name": "乙"},
                        "geometry": {
                            "type": "MultiPolygon",
                            "coordinates": [
                                [
                                    [
                                        [119.482, 28.45],
                                        [119.483, 28.45],
                                        [119.483, 28.451],
                                        [119.482, 28.45],
                                    ]
                                ]
                            ],
                        },
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    run(folder, "add", str(src), "--name", "mixed")
    cli_ok("--atlas", atlas_url, "add", str(src), "--name", "mixed")
    on_folder = json.loads(run(folder, "layers", "--json").stdout)
    on_db = json.loads(cli_ok("--atlas", atlas_url, "layers", "--json"))
    assert on_db == on_folder
    types = db_rows(atlas_url, "SELECT DISTINCT ST_GeometryType(geom) FROM {s}.mixed")
    assert types == [("ST_MultiPolygon",)]
    snap = next(snapshot_cache.iterdir())
    assert (snap / "layers" / "mixed.geojson").read_bytes() == (
        folder / "layers" / "mixed.geojson"
    ).read_bytes()
