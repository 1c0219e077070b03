"""Writers to a database atlas are transactions: five at once lose nothing and mix nothing,
and a writer killed mid-write leaves nothing behind. Real processes, a real PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import psycopg
import sample_atlas
from click.testing import CliRunner

from geomap.cli.main import cli

REPO = Path(__file__).resolve().parents[1]
GEOMAP = [sys.executable, "-c", "from geomap.cli.main import main; main()"]


def points(path: Path, n: int, seed: int) -> Path:
    """A GeoJSON of ``n`` points with codes P<seed>-<i>."""
    feats = [
        {
            "type": "Feature",
            "properties": {"code": f"P{seed}-{i}", "name": f"点{seed}-{i}", "seed": seed},
            "geometry": {
                "type": "Point",
                "coordinates": [119.45 + (i % 500) * 1e-4, 28.44 + (i // 500) * 1e-4],
            },
        }
        for i in range(n)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def start(args: list[str], cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "GEOMAP_CACHE": str(cache)}
    return subprocess.Popen(
        [*GEOMAP, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def query(url: str, sql: str) -> list[tuple]:
    base, _, schema = url.partition("?atlas=")
    with psycopg.connect(base) as conn:
        return conn.execute(sql.replace("{s}", schema)).fetchall()


def pushed(url: str, tmp_path: Path) -> Path:
    folder = sample_atlas.build(tmp_path / "atlas")
    result = CliRunner().invoke(cli, ["atlas", "push", str(folder), url])
    assert result.exit_code == 0, result.output
    return folder


def test_five_concurrent_writers_lose_and_mix_nothing(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    """Three add new layers to one map, two replace the same layer, all at once."""
    pushed(atlas_url, tmp_path)
    sources = [points(tmp_path / f"p{i}.geojson", 500 + 100 * i, i) for i in range(5)]
    args = [
        *(["add", str(sources[i]), "--name", f"pts{i}", "--map", "economy"] for i in range(3)),
        *(["add", str(sources[i]), "--name", "houses", "--replace"] for i in (3, 4)),
    ]
    procs = [start(["--atlas", atlas_url, *a], snapshot_cache) for a in args]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    spec = tomllib.loads(
        query(
            atlas_url,
            "SELECT convert_from(data, 'UTF8') FROM {s}.files WHERE path = 'maps/economy.toml'",
        )[0][0]
    )
    # No lost update of the map: every add's layer is on it; every edit is a version.
    assert sorted(ml["layer"] for ml in spec["layers"] if ml["layer"].startswith("pts")) == [
        "pts0",
        "pts1",
        "pts2",
    ]
    n = query(atlas_url, "SELECT count(*) FROM {s}.file_versions WHERE path = 'maps/economy.toml'")
    assert n == [(4,)]
    for i in range(3):  # each new layer holds exactly its own source's features
        rows = query(atlas_url, f"SELECT count(*), min(seed), max(seed) FROM {{s}}.pts{i}")
        assert rows == [(500 + 100 * i, i, i)]
    # The two replacements are two whole versions, each from one source; one is current.
    versions = query(
        atlas_url, "SELECT id, features FROM {s}.layer_versions WHERE name = 'houses' ORDER BY id"
    )
    assert sorted(n for _, n in versions[1:]) == [800, 900]
    for vid, n in versions[1:]:
        seed = (n - 500) // 100
        assert query(atlas_url, f"SELECT count(*), min(seed), max(seed) FROM {{s}}.v{vid}") == [
            (n, seed, seed)
        ]
    (current,) = query(atlas_url, "SELECT current FROM {s}.layers WHERE name = 'houses'")[0]
    n_current = dict(versions)[current]
    assert n_current in (800, 900)
    assert query(atlas_url, "SELECT count(*) FROM {s}_map.houses") == [(n_current,)]
    # And the commands see exactly the current versions.
    layers = json.loads(CliRunner().invoke(cli, ["--atlas", atlas_url, "layers", "--json"]).stdout)
    counts = {r["name"]: r["features"] for r in layers}
    assert counts["houses"] == n_current and counts["pts2"] == 700


def test_add_killed_mid_write_leaves_nothing(
    atlas_url: str, tmp_path: Path, snapshot_cache: Path
) -> None:
    pushed(atlas_url, tmp_path)
    src = points(tmp_path / "big.geojson", 40_000, 7)
    before = (
        query(atlas_url, "SELECT * FROM {s}.layers ORDER BY 1"),
        query(atlas_url, "SELECT tablename FROM pg_tables WHERE schemaname = '{s}' ORDER BY 1"),
        query(atlas_url, "SELECT max(id) FROM {s}.layer_versions"),
    )
    proc = start(["--atlas", atlas_url, "add", str(src), "--name", "big"], snapshot_cache)
    app = f"geomap[{proc.pid}]"
    deadline = time.monotonic() + 120
    writing: list[tuple] = []
    while not writing and proc.poll() is None and time.monotonic() < deadline:
        # The writer's transaction has written (has a transaction id) but not committed.
        writing = query(
            atlas_url,
            f"SELECT pid FROM pg_stat_activity WHERE application_name = '{app}' "
            "AND backend_xid IS NOT NULL",
        )
        time.sleep(0.01)
    assert writing, "the add never started writing"
    proc.send_signal(signal.SIGKILL)
    proc.communicate()  # reaps it and closes its pipes
    backend = writing[0][0]
    while query(atlas_url, f"SELECT 1 FROM pg_stat_activity WHERE pid = {backend}"):
        time.sleep(0.05)  # the server notices the dead client and rolls back
    after = (
        query(atlas_url, "SELECT * FROM {s}.layers ORDER BY 1"),
        query(atlas_url, "SELECT tablename FROM pg_tables WHERE schemaname = '{s}' ORDER BY 1"),
        query(atlas_url, "SELECT max(id) FROM {s}.layer_versions"),
    )
    assert after == before
    assert query(atlas_url, "SELECT to_regclass('{s}_map.big')") == [(None,)]
    # The atlas works as before: an add under the same name, run to the end, succeeds.
    small = points(tmp_path / "small.geojson", 10, 8)
    result = CliRunner().invoke(cli, ["--atlas", atlas_url, "add", str(small), "--name", "big"])
    assert result.exit_code == 0, result.output
    assert query(atlas_url, "SELECT count(*) FROM {s}.big") == [(10,)]
