"""Issue 11, class 2: a layer version is one unit (metadata and data switch together).

* A real ``geomap add --replace`` process is SIGKILLed at the exact rename of the GeoJSON (the
  metadata already renamed): no command afterwards may see the new metadata beside the old
  data, where a column the old metadata kept private has no entry and would be published.
* A reader that overlaps a writer (metadata read before, data after a whole ``--replace``)
  gets one version, not a mix.
* A failed write (disk full at any rename) leaves the atlas byte-identical: no extra
  ``.history`` copies.
* A new version whose column names differ only in case keeps the curated ``private = true``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pytest
from helpers import run, snapshot
from shapely.geometry import Point

import geomap.atlas
from geomap.atlas import Atlas
from geomap.geojson_io import read_layer

REPO = Path(__file__).resolve().parents[1]
SECRET = f"OWNER-{uuid.uuid4().hex[:12]}"
X0, Y0 = 119.46, 28.44

# Run the real command line; SIGKILL itself when os.replace is about to rename a temporary
# file onto TARGET (the temporary file is complete, the rename not yet done).
KILL_AT_RENAME = r"""
import os, signal, sys
target = os.environ["KILL_AT"]
real = os.replace
def replace(src, dst, *args, **kwargs):
    if str(dst).endswith(target):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *args, **kwargs)
os.replace = replace
from geomap.cli.main import main
sys.argv = ["geomap", *sys.argv[1:]]
main()
"""


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("GEOMAP_ATLAS", "GEOMAP_DEBUG")}
    out["PYTHONPATH"] = str(REPO) + os.pathsep + out.get("PYTHONPATH", "")
    return {**out, **extra}


def houses(owner_column: str | None, n: int = 4) -> gpd.GeoDataFrame:
    columns: dict[str, Any] = {
        "code": [f"H{i}" for i in range(n)],
        "hazard": [i % 2 for i in range(n)],
    }
    if owner_column:
        columns[owner_column] = [f"{SECRET}-{i}" for i in range(n)]
    return gpd.GeoDataFrame(
        columns, geometry=[Point(X0 + 0.001 * i, Y0 + 0.001) for i in range(n)], crs="EPSG:4326"
    )


def atlas_with_private_owners(root: Path, tmp: Path) -> Path:
    """The sample atlas plus layer ``owners`` (added by geomap) whose owner_name is marked
    private by hand, and a map showing it with tooltips of every public field."""
    import sample_atlas

    sample_atlas.build(root)
    src = tmp / "v1.geojson"
    pyogrio.write_dataframe(houses("owner_name"), src, driver="GeoJSON")
    assert run(root, "add", str(src), "--name", "owners").exit_code == 0
    meta_path = root / "layers" / "owners.toml"
    meta_path.write_text(
        meta_path.read_text(encoding="utf-8").replace(
            '[fields.owner_name]\nlabel = "owner_name"',
            '[fields.owner_name]\nlabel = "户主"\nprivate = true',
        ),
        encoding="utf-8",
    )
    assert tomllib.loads(meta_path.read_text())["fields"]["owner_name"]["private"] is True
    (root / "maps" / "owners.toml").write_text(
        'title = "农户"\nbasemap = "none"\n[[layers]]\nlayer = "owners"\n', encoding="utf-8"
    )
    assert run(root, "render", "owners").exit_code == 0
    assert SECRET not in (root / "maps" / "owners.html").read_text(encoding="utf-8")
    return root


def kill_at_rename(root: Path, target: str, *args: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT_RENAME, "--atlas", str(root), *args],
        env=env(KILL_AT=target),
        capture_output=True,
        timeout=300,
    )
    assert b"Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc.returncode


def test_sigkill_at_the_geojson_rename_publishes_nothing(tmp_path: Path) -> None:
    root = atlas_with_private_owners(tmp_path / "atlas", tmp_path)
    before = snapshot(root)
    # The new source has no owner column: its metadata has no entry for owner_name.
    src = tmp_path / "v2.geojson"
    pyogrio.write_dataframe(houses(None), src, driver="GeoJSON")
    code = kill_at_rename(
        root, "layers/owners.geojson", "add", str(src), "--name", "owners", "--replace"
    )
    assert code == -signal.SIGKILL
    # Killed between the two renames: new metadata beside the old data, and the journal.
    toml_now = (root / "layers" / "owners.toml").read_bytes()
    assert toml_now != before["layers/owners.toml"]
    assert b"owner_name" not in toml_now
    assert (root / "layers" / "owners.geojson").read_bytes() == before["layers/owners.geojson"]
    assert (root / "layers" / ".owners.journal").exists()

    # Every reader sees one version. render first: it must not publish the owners.
    result = run(root, "render", "owners", "--force")
    assert result.exit_code == 0, result.output
    html = (root / "maps" / "owners.html").read_text(encoding="utf-8")
    assert SECRET not in html
    # The write was rolled back: the atlas is as before the killed command (maps aside).
    after = snapshot(root)
    layers_now = {k: v for k, v in after.items() if k.startswith("layers/")}
    assert layers_now == {k: v for k, v in before.items() if k.startswith("layers/")}
    assert not (root / "layers" / ".owners.journal").exists()
    checked = run(root, "check")
    assert checked.exit_code == 0, checked.output
    # Running the command again completes it.
    assert run(root, "add", str(src), "--name", "owners", "--replace").exit_code == 0
    assert "owner_name" not in read_layer(root / "layers" / "owners.geojson").columns


@pytest.mark.parametrize("reader", ["check", "layers", "render", "atlas api"])
def test_every_reader_settles_a_killed_write(tmp_path: Path, reader: str) -> None:
    root = atlas_with_private_owners(tmp_path / "atlas", tmp_path)
    before = snapshot(root)
    src = tmp_path / "v2.geojson"
    pyogrio.write_dataframe(houses(None), src, driver="GeoJSON")
    assert (
        kill_at_rename(
            root, "layers/owners.geojson", "add", str(src), "--name", "owners", "--replace"
        )
        == -signal.SIGKILL
    )
    if reader == "check":
        result = run(root, "check", "--json")
        assert result.exit_code == 0, result.output
    elif reader == "layers":
        result = run(root, "layers", "--json")
        assert result.exit_code == 0, result.output
    elif reader == "render":
        assert run(root, "render").exit_code == 0
    else:
        layer = Atlas(root).read_layer("owners")  # the library, without the CLI
        assert layer.meta.is_private("owner_name")
        assert "owner_name" in layer.gdf.columns
    now = {k: v for k, v in snapshot(root).items() if k.startswith("layers/")}
    assert now == {k: v for k, v in before.items() if k.startswith("layers/")}


def test_sigkill_at_the_journal_removal_keeps_the_new_version(tmp_path: Path) -> None:
    """Killed after both renames (only the journal left): the new version stands."""
    root = atlas_with_private_owners(tmp_path / "atlas", tmp_path)
    src = tmp_path / "v2.geojson"
    pyogrio.write_dataframe(houses("OWNER_NAME"), src, driver="GeoJSON")
    # os.unlink is looked up at call time; patch it after keeping the real one.
    script = KILL_AT_RENAME.replace(
        "os.replace = replace",
        "real_unlink = os.unlink\n"
        "def unlink(path, *a, **k):\n"
        "    if str(path).endswith('.owners.journal'):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real_unlink(path, *a, **k)\n"
        "os.unlink = unlink",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "--atlas",
            str(root),
            "add",
            str(src),
            "--name",
            "owners",
            "--replace",
        ],
        env=env(KILL_AT="never"),
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert (root / "layers" / ".owners.journal").exists()
    new_geojson = (root / "layers" / "owners.geojson").read_bytes()
    assert b"OWNER_NAME" in new_geojson
    assert run(root, "check").exit_code == 0
    assert not (root / "layers" / ".owners.journal").exists()
    assert (root / "layers" / "owners.geojson").read_bytes() == new_geojson
    # The curated privacy followed the case-only rename.
    meta = tomllib.loads((root / "layers" / "owners.toml").read_text(encoding="utf-8"))
    assert meta["fields"]["OWNER_NAME"]["private"] is True


def test_a_reader_overlapping_a_replace_gets_one_version(tmp_path: Path) -> None:
    """The metadata is read before, the data after a whole --replace by another writer:
    the reader notices and reads again under the lock."""
    root = atlas_with_private_owners(tmp_path / "atlas", tmp_path)
    atlas = Atlas(root)
    writer = Atlas(root)
    new_meta = tomllib.loads((root / "layers" / "owners.toml").read_text(encoding="utf-8"))
    new_meta["title"] = "新版本"
    del new_meta["fields"]["owner_name"]
    calls = []

    def read() -> tuple[Any, Any]:
        meta = atlas.layer_meta("owners")
        if not calls:  # a whole replace happens between the two reads, once
            with writer.lock():
                writer.write_layer("owners", houses(None), new_meta, replace=True)
        calls.append(1)
        return meta, read_layer(atlas.layer_path("owners"))

    meta, gdf = atlas.consistent("owners", read)
    assert len(calls) == 2
    assert meta.title == "新版本" and "owner_name" not in gdf.columns


@pytest.mark.parametrize("failing_rename", [1, 2, 3, 4, 5])
def test_a_failed_replace_leaves_the_atlas_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_rename: int
) -> None:
    """Disk full at the k-th rename of `add --replace` (journal, 2 archives, 2 files)."""
    root = atlas_with_private_owners(tmp_path / "atlas", tmp_path)
    src = tmp_path / "v2.geojson"
    pyogrio.write_dataframe(houses(None), src, driver="GeoJSON")
    before = snapshot(root)
    real_replace = os.replace
    calls = [0]

    def flaky(a: Any, b: Any, *args: Any, **kwargs: Any) -> None:
        calls[0] += 1
        if calls[0] == failing_rename:
            raise OSError(28, "No space left on device", str(b))
        real_replace(a, b, *args, **kwargs)

    monkeypatch.setattr(geomap.atlas.os, "replace", flaky)
    result = run(root, "add", str(src), "--name", "owners", "--replace")
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    after = snapshot(root)
    assert {k for k in after if not k.rsplit("/", 1)[-1].endswith(".tmp")} == set(before)
    assert {k: v for k, v in after.items() if k in before} == before
    assert not list((root / "layers" / ".history").glob("owners.*"))


def test_case_only_rename_keeps_curated_privacy(tmp_path: Path) -> None:
    """A Shapefile writes OWNER_NAME for owner_name: the curated private mark carries over
    and the names never reach the page."""
    root = atlas_with_private_owners(tmp_path / "atlas", tmp_path)
    shp = tmp_path / "owners.shp"
    pyogrio.write_dataframe(houses("OWNER_NAME"), shp, encoding="UTF-8")
    result = run(root, "add", str(shp), "--name", "owners", "--replace")
    assert result.exit_code == 0, result.output
    meta = tomllib.loads((root / "layers" / "owners.toml").read_text(encoding="utf-8"))
    assert meta["fields"]["OWNER_NAME"]["private"] is True
    assert meta["fields"]["OWNER_NAME"]["label"] == "户主"
    assert "owner_name" not in meta["fields"]
    assert run(root, "render", "owners").exit_code == 0
    html = (root / "maps" / "owners.html").read_text(encoding="utf-8")
    assert SECRET not in html and "户主" not in html
    assert json.loads(run(root, "check", "--json").stdout) == [] or all(
        f["severity"] != "error" for f in json.loads(run(root, "check", "--json").stdout)
    )
