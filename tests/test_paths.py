"""Issue 7, paths: names and links that would reach outside the atlas are refused.

Layer, table and map names are slugs; anything else (``..``, ``/``, absolute paths, ``\\``,
NUL, upper case, markup) given to ``render``, ``add --name``, ``add --map`` or written in a map
spec (``layer``, ``join.table``, ``rollup.from``) or layer metadata (``parent``) exits 1 with
a message naming it. Symlinks out of the atlas are refused, and a folder without ``layers/``
is not an atlas. A sentinel folder beside the atlas shows that nothing outside it is read
(its unique content never shows up) or written (its files, their bytes and times unchanged).
"""

from __future__ import annotations

import os
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest
import sample_atlas
import tomli_w
from click.testing import CliRunner, Result
from helpers import run, snapshot
from payloads import PAYLOADS

from geomap.cli.main import cli

SENTINEL = f"OUTSIDE-{uuid.uuid4().hex}"

BAD_NAMES = [
    "..",
    "../economy",
    "../../etc/passwd",
    "../outside/secret",
    "/etc/passwd",
    "maps/economy",
    "economy/../economy",
    "..\\economy",
    "economy\\..\\..\\x",
    "eco\x00nomy",
    "Economy",
    "ECONOMY",
    "economy.toml",
    ".economy",
    " economy",
    "economy ",
    "",
    "a" * 65,
    "C:\\Windows\\win.ini",
    "~/x",
]


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.root = sample_atlas.build(tmp_path / "atlas")
        self.outside = tmp_path / "outside"
        villages = (self.root / "layers" / "villages.geojson").read_text(encoding="utf-8")
        files = {
            "secret.geojson": villages.replace("西一村", SENTINEL),
            "secret.toml": (self.root / "layers" / "villages.toml")
            .read_text(encoding="utf-8")
            .replace("行政村", SENTINEL),
            "secret.csv": f"code,income_2022,growth\nV1,1,{SENTINEL}\n",
            "victim.html": f"<p>{SENTINEL}</p>\n",
            "spec.toml": f'title = "{SENTINEL}"\n[[layers]]\nlayer = "villages"\n',
        }
        for name, text in files.items():
            sample_atlas.write(self.outside / name, text)
        # Sources a planner adds (read from outside the atlas, as they should be).
        self.points = self.tmp / "src" / "points.csv"
        sample_atlas.write(self.points, "name,lon,lat\n新点,119.47,28.445\n")
        self.houses = self.tmp / "src" / "houses.csv"
        sample_atlas.write(self.houses, "code,name,has_hazard,lon,lat\nH0,房屋0,1,119.462,28.442\n")
        self.before = self.outside_state()

    def outside_state(self) -> dict[str, tuple[bytes, int]]:
        """Every file of the temp folder outside the atlas, with its bytes and mtime."""
        out = {}
        for path in sorted(self.tmp.rglob("*")):
            if path.is_file() and not path.is_symlink() and self.root not in path.parents:
                out[str(path.relative_to(self.tmp))] = (path.read_bytes(), path.stat().st_mtime_ns)
        return out

    def assert_untouched(self, *results: Result) -> None:
        assert self.outside_state() == self.before
        for result in results:
            assert SENTINEL not in result.output
        for path in self.root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert SENTINEL.encode() not in path.read_bytes(), path


@pytest.fixture
def world(tmp_path: Path) -> World:
    """The sample atlas and, beside it, a folder of sentinel files; each test ends with
    ``world.assert_untouched()``."""
    return World(tmp_path)


def check_refused(result: Result, *needles: str) -> None:
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "错误 (error)" in result.stderr or "✗" in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def shown(name: str) -> str:
    """How a message shows a name: its repr (without quotes), cut to 60 characters."""
    return repr(name)[1:-1][:60]


# ---------------------------------------------------------------------------------------
# Names on the command line


@pytest.mark.parametrize("name", BAD_NAMES)
def test_render_refuses_a_bad_map_name(world: World, name: str) -> None:
    before = snapshot(world.root)
    result = run(world.root, "render", name)
    check_refused(result, shown(name), "economy", "grid", "minimal")
    assert snapshot(world.root) == before
    world.assert_untouched(result)


@pytest.mark.parametrize("name", [p for p in PAYLOADS if len(p) < 200])
def test_render_refuses_a_hostile_map_name(world: World, name: str) -> None:
    """Map names are slugs: a payload as a name is refused, never used as a path."""
    before = snapshot(world.root)
    result = run(world.root, "render", name)
    check_refused(result, "economy")
    assert snapshot(world.root) == before
    world.assert_untouched(result)


def test_a_map_file_with_a_non_slug_name_is_not_rendered(world: World) -> None:
    spec = (world.root / "maps" / "minimal.toml").read_text(encoding="utf-8")
    for name in ("Upper", "{{ 6*7 }}", "<img src=x onerror=alert(1)>", "a b"):
        (world.root / "maps" / f"{name}.toml").write_text(spec, encoding="utf-8")
        result = run(world.root, "render", name)
        check_refused(result)
        assert not (world.root / "maps" / f"{name}.html").exists()
    result = run(world.root, "render")
    assert result.exit_code == 0, result.output
    index = (world.root / "maps" / "index.html").read_text(encoding="utf-8")
    assert "Upper" not in index and "6*7" not in index and "onerror" not in index
    world.assert_untouched(result)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_add_refuses_a_bad_layer_name(world: World, name: str) -> None:
    source = world.points
    before = snapshot(world.root)
    result = run(world.root, "add", str(source), "--name", name)
    check_refused(result, "名称")
    assert snapshot(world.root) == before
    world.assert_untouched(result)


@pytest.mark.parametrize("name", ["../economy", "/etc/passwd", "Economy", "x\x00y", "..\\grid"])
def test_add_refuses_a_bad_map_name(world: World, name: str) -> None:
    source = world.points
    before = snapshot(world.root)
    result = run(world.root, "add", str(source), "--name", "newpts", "--map", name)
    check_refused(result, shown(name))
    assert snapshot(world.root) == before
    world.assert_untouched(result)


# ---------------------------------------------------------------------------------------
# Names inside map specs and metadata


def spec_with(layer: dict[str, Any]) -> str:
    return tomli_w.dumps({"title": "坏地图", "basemap": "none", "layers": [layer]})


SPEC_CASES = {
    "layer-dotdot": {"layer": "../x"},
    "layer-outside": {"layer": "../../outside/secret"},
    "layer-absolute": {"layer": "/etc/passwd"},
    "layer-backslash": {"layer": "..\\villages"},
    "layer-nul": {"layer": "vill\x00ages"},
    "layer-upper": {"layer": "Villages"},
    "layer-slash": {"layer": "layers/villages"},
    "join-passwd": {"layer": "villages", "join": {"table": "../../etc/passwd", "on": "code"}},
    "join-outside": {"layer": "villages", "join": {"table": "../outside/secret", "on": "code"}},
    "join-absolute": {"layer": "villages", "join": {"table": "/etc/passwd", "on": "code"}},
    "join-upper": {"layer": "villages", "join": {"table": "Economy", "on": "code"}},
    "rollup-dotdot": {"layer": "villages", "rollup": {"from": "../houses", "count": "n"}},
    "rollup-absolute": {"layer": "villages", "rollup": {"from": "/etc/passwd", "count": "n"}},
    "rollup-list": {
        "layer": "villages",
        "rollup": [{"from": "houses", "count": "n"}, {"from": "..\\houses", "count": "m"}],
    },
}


@pytest.mark.parametrize("case", list(SPEC_CASES))
def test_map_spec_with_a_path_as_a_name_is_refused(world: World, case: str) -> None:
    (world.root / "maps" / "bad.toml").write_text(spec_with(SPEC_CASES[case]), encoding="utf-8")
    result = run(world.root, "render", "bad")
    check_refused(result, "bad.toml", "slug")
    assert not (world.root / "maps" / "bad.html").exists()
    world.assert_untouched(result)
    # `check` reports the same file without a traceback.
    checked = run(world.root, "check")
    assert checked.exit_code == 1 and "Traceback" not in checked.output
    assert "bad" in checked.output


@pytest.mark.parametrize("parent", ["../outside/secret", "/etc/passwd", "Villages", "a\x00b"])
def test_layer_parent_that_is_a_path_is_refused(world: World, parent: str) -> None:
    path = world.root / "layers" / "grids.toml"
    meta = tomllib.loads(path.read_text(encoding="utf-8"))
    meta["parent"] = parent
    path.write_text(tomli_w.dumps(meta), encoding="utf-8")
    result = run(world.root, "render", "grid")
    check_refused(result, "grids.toml", "parent")
    checked = run(world.root, "check")
    assert checked.exit_code == 1 and "Traceback" not in checked.output
    world.assert_untouched(result, checked)


# ---------------------------------------------------------------------------------------
# Symlinks out of the atlas


def use_layer(world: World, layer: str, **extra: Any) -> None:
    text = spec_with({"layer": layer, **extra})
    (world.root / "maps" / "linked.toml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    "link",
    [
        "layers/villages.geojson",
        "layers/villages.toml",
        "data/economy.csv",
        "data/economy.toml",
        "maps/economy.toml",
    ],
)
def test_input_symlinked_outside_the_atlas_is_refused(world: World, link: str) -> None:
    target = {
        ".geojson": "secret.geojson",
        ".toml": "spec.toml" if link.startswith("maps") else "secret.toml",
        ".csv": "secret.csv",
    }[Path(link).suffix]
    if link == "data/economy.toml":
        sample_atlas.write(
            world.outside / "table.toml",
            (world.root / link).read_text(encoding="utf-8").replace("村集体经济", SENTINEL),
        )
        world.before = world.outside_state()
        target = "table.toml"
    path = world.root / link
    path.unlink()
    path.symlink_to(world.outside / target)
    result = run(world.root, "render", "economy")
    check_refused(result, "outside the atlas")
    world.assert_untouched(result)
    assert not (world.root / "maps" / "economy.html").exists()


def test_layer_listed_only_through_a_symlink_is_refused(world: World) -> None:
    (world.root / "layers" / "evil.geojson").symlink_to(world.outside / "secret.geojson")
    (world.root / "layers" / "evil.toml").symlink_to(world.outside / "secret.toml")
    use_layer(world, "evil")
    result = run(world.root, "render", "linked")
    check_refused(result, "outside the atlas")
    layers = run(world.root, "layers", "--json")
    assert layers.exit_code in (0, 1) and "Traceback" not in layers.output
    checked = run(world.root, "check")
    assert checked.exit_code == 1 and "Traceback" not in checked.output
    world.assert_untouched(result, layers, checked)


def test_relative_symlink_that_stays_inside_is_allowed(world: World) -> None:
    (world.root / "layers" / "alias.geojson").symlink_to("villages.geojson")
    (world.root / "layers" / "alias.toml").symlink_to("villages.toml")
    use_layer(world, "alias")
    result = run(world.root, "render", "linked")
    assert result.exit_code == 0, result.output
    world.assert_untouched(result)


@pytest.mark.parametrize("output", ["maps/economy.html", "maps/index.html"])
def test_output_symlinked_outside_is_never_written_through(world: World, output: str) -> None:
    (world.root / output).symlink_to(world.outside / "victim.html")
    result = run(world.root, "render", "economy")
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    world.assert_untouched(result)


def test_add_through_a_dangling_symlink_writes_nothing_outside(world: World) -> None:
    (world.root / "layers" / "trap.geojson").symlink_to(world.outside / "trap.geojson")
    source = world.points
    for extra in ([], ["--replace"]):
        result = run(world.root, "add", str(source), "--name", "trap", *extra)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
    assert not (world.outside / "trap.geojson").exists()
    world.assert_untouched()


@pytest.mark.parametrize("folder", ["layers/.history", "maps", "data", "layers"])
def test_folder_linked_outside_gets_nothing_written_through_it(world: World, folder: str) -> None:
    """A folder of the atlas that is a link out of it: ``render`` and ``add --replace``
    (which archives the old layer in layers/.history) must write nothing through it."""
    target = world.outside / "linked"
    inside = world.root / folder
    if inside.exists():
        inside.rename(target)
    else:
        target.mkdir()
    inside.symlink_to(target)
    world.before = world.outside_state()
    results = [
        run(world.root, "render"),
        run(world.root, "add", str(world.houses), "--name", "houses", "--replace"),
    ]
    for result in results:
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output
    world.assert_untouched(*results)


# ---------------------------------------------------------------------------------------
# Where the atlas is


@pytest.mark.parametrize("kind", ["empty", "missing", "maps-only", "layers-file"])
def test_atlas_without_layers_folder_is_refused(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "notatlas"
    if kind != "missing":
        folder.mkdir()
    if kind == "maps-only":
        sample_atlas.write(folder / "maps" / "m.toml", 'title = "x"\n[[layers]]\nlayer = "v"\n')
    if kind == "layers-file":
        (folder / "layers").write_text("not a folder", encoding="utf-8")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for args in (["render"], ["check"], ["layers", "--json"]):
        result = CliRunner().invoke(cli, ["--atlas", str(folder), *args])
        check_refused(result, "layers/", str(folder.resolve()))
    # The same through the environment variable.
    result = CliRunner().invoke(cli, ["render"], env={"GEOMAP_ATLAS": str(folder)})
    check_refused(result, "layers/")
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_no_atlas_above_the_working_directory(tmp_path: Path) -> None:
    here = tmp_path / "a" / "b"
    here.mkdir(parents=True)
    cwd = os.getcwd()
    os.chdir(here)
    try:
        result = CliRunner().invoke(cli, ["render"], env={"GEOMAP_ATLAS": ""})
    finally:
        os.chdir(cwd)
    check_refused(result, "--atlas")


# ---------------------------------------------------------------------------------------
# Issue 11: the lock, the temp-file sweep and the write journal never act through a link


def test_symlinked_lock_file_is_never_created_or_written_outside(world: World) -> None:
    target = world.outside / "lock-target"
    (world.root / "layers" / ".lock").unlink(missing_ok=True)
    (world.root / "layers" / ".lock").symlink_to(target)
    result = run(world.root, "add", str(world.points), "--name", "pts")
    check_refused(result, ".lock")
    assert not target.exists()
    world.assert_untouched(result)


@pytest.mark.parametrize("folder", ["data", "maps", "layers/.history"])
def test_sweep_never_deletes_old_temp_files_through_a_linked_folder(
    world: World, folder: str
) -> None:
    """The lock sweeps hour-old ``.*.tmp`` files: never those of a folder linked outside."""
    target = world.outside / "linked"
    inside = world.root / folder
    if inside.exists():
        inside.rename(target)
    else:
        target.mkdir()
    inside.symlink_to(target)
    victim = target / ".precious.1234.tmp"
    victim.write_text("not geomap's", encoding="utf-8")
    os.utime(victim, (1_000_000_000, 1_000_000_000))  # 2001: far older than an hour
    world.before = world.outside_state()
    result = run(world.root, "add", str(world.points), "--name", "pts")
    assert "Traceback" not in result.output
    assert victim.exists()
    world.assert_untouched(result)


def test_a_journal_naming_a_path_is_ignored(world: World) -> None:
    """A hand-made journal whose archive name is a path cannot make geomap copy or delete
    files outside .history (it is treated as broken and removed)."""
    import json

    journal = world.root / "layers" / ".villages.journal"
    files = {
        ".toml": {"new": "0" * 64, "archive": "../../outside/secret.toml"},
        ".geojson": {"new": "0" * 64, "archive": "../../outside/secret.geojson"},
    }
    journal.write_text(json.dumps({"layer": "villages", "files": files}), encoding="utf-8")
    before = snapshot(world.root)
    result = run(world.root, "check")
    assert "Traceback" not in result.output
    assert not journal.exists()
    after = snapshot(world.root)
    assert after["layers/villages.geojson"] == before["layers/villages.geojson"]
    assert after["layers/villages.toml"] == before["layers/villages.toml"]
    world.assert_untouched(result)
