"""The atlas: root discovery, safe names and paths, atomic writes, tables, the write lock."""

from __future__ import annotations

import multiprocessing
import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sample_atlas

from geomap.atlas import ENV_VAR, Atlas, atomic_write, check_name, find_root
from geomap.errors import AtlasNotFound, DataError, NotFound, SpecError, UnsafePath

VILLAGES_META = {
    "title": "行政村",
    "kind": "village",
    "key": "code",
    "fields": {"name": {"label": "村名"}},
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return sample_atlas.build(tmp_path / "atlas")


@pytest.fixture
def atlas(root: Path) -> Atlas:
    return Atlas(root)


@pytest.fixture
def umask022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def make_atlas(path: Path) -> Path:
    (path / "layers").mkdir(parents=True)
    return path.resolve()


# -- root discovery ---------------------------------------------------------------------


def test_explicit_root_wins_over_env_and_cwd(tmp_path: Path, monkeypatch) -> None:
    a, b, c = (make_atlas(tmp_path / n) for n in "abc")
    monkeypatch.setenv(ENV_VAR, str(b))
    assert find_root(a, cwd=c) == a
    assert find_root(str(a), cwd=c) == a


def test_env_wins_over_cwd(tmp_path: Path, monkeypatch) -> None:
    b, c = make_atlas(tmp_path / "b"), make_atlas(tmp_path / "c")
    monkeypatch.setenv(ENV_VAR, str(b))
    assert find_root(cwd=c) == b


def test_nearest_ancestor_with_layers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    outer = make_atlas(tmp_path / "outer")
    inner = make_atlas(outer / "projects" / "inner")
    deep = inner / "maps" / "drafts"
    deep.mkdir(parents=True)
    assert find_root(cwd=deep) == inner
    assert find_root(cwd=inner) == inner
    assert find_root(cwd=outer / "projects") == outer


def test_empty_env_falls_back_to_cwd(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(ENV_VAR, "")
    a = make_atlas(tmp_path / "a")
    assert find_root(cwd=a) == a


def test_cwd_defaults_to_process_cwd(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    a = make_atlas(tmp_path / "a")
    (a / "data").mkdir()
    monkeypatch.chdir(a / "data")
    assert find_root() == a
    assert Atlas.find().root == a


def test_no_atlas_anywhere_raises(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    here = tmp_path / "empty" / "sub"
    here.mkdir(parents=True)
    # Premise: no ancestor of the temp folder is itself an atlas.
    assert not any((p / "layers").is_dir() for p in (here, *here.parents))
    with pytest.raises(AtlasNotFound, match="GEOMAP_ATLAS"):
        find_root(cwd=here)


def test_explicit_or_env_without_layers_raises(tmp_path: Path, monkeypatch) -> None:
    good = make_atlas(tmp_path / "good")
    bad = tmp_path / "bad"
    bad.mkdir()
    monkeypatch.setenv(ENV_VAR, str(bad))
    with pytest.raises(AtlasNotFound, match="layers/"):
        find_root(cwd=good)  # a bad $GEOMAP_ATLAS is an error, not silently skipped
    monkeypatch.setenv(ENV_VAR, str(good))
    with pytest.raises(AtlasNotFound):
        find_root(bad, cwd=good)


# -- names and paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "/etc/passwd",
        "A",
        "Villages",
        "a/b",
        "",
        ".",
        "..",
        "-x",
        "_x",
        "a b",
        "a.b",
        "村",
        "a" * 65,
        "villages\n",
    ],
)
def test_non_slug_names_raise_unsafe_path(atlas: Atlas, name: str) -> None:
    with pytest.raises(UnsafePath):
        check_name(name, "图层 layer ")
    with pytest.raises(UnsafePath):
        atlas.layer_path(name)
    with pytest.raises(UnsafePath):
        atlas.table_path(name)
    with pytest.raises(UnsafePath):
        atlas.map_path(name)


@pytest.mark.parametrize("name", ["villages", "a", "0", "x-1_y", "a" * 64])
def test_slugs_are_accepted(atlas: Atlas, name: str) -> None:
    assert check_name(name, "layer") == name
    assert atlas.layer_path(name) == atlas.root / "layers" / f"{name}.geojson"
    assert atlas.table_path(name, ".toml") == atlas.root / "data" / f"{name}.toml"


def test_read_layer_rejects_traversal(atlas: Atlas) -> None:
    with pytest.raises(UnsafePath):
        atlas.read_layer("../data/economy")


def test_symlinked_layer_outside_atlas_is_refused(atlas: Atlas, tmp_path: Path) -> None:
    outside = tmp_path / "secret.geojson"
    outside.write_bytes((atlas.root / "layers" / "villages.geojson").read_bytes())
    (atlas.root / "layers" / "evil.geojson").symlink_to(outside)
    (atlas.root / "layers" / "evil.toml").write_bytes(
        (atlas.root / "layers" / "villages.toml").read_bytes()
    )
    with pytest.raises(UnsafePath, match="outside"):
        atlas.layer_path("evil")
    with pytest.raises(UnsafePath):
        atlas.read_layer("evil")


def test_symlinked_metadata_outside_atlas_is_refused(atlas: Atlas, tmp_path: Path) -> None:
    outside = tmp_path / "meta.toml"
    outside.write_text('title = "x"\nkey = "code"\n', "utf-8")
    target = atlas.root / "layers" / "villages.toml"
    target.unlink()
    target.symlink_to(outside)
    with pytest.raises(UnsafePath):
        atlas.layer_meta("villages")


def test_symlink_inside_atlas_is_allowed(atlas: Atlas) -> None:
    layers = atlas.root / "layers"
    (layers / "alias.geojson").symlink_to(layers / "villages.geojson")
    (layers / "alias.toml").symlink_to(layers / "villages.toml")
    assert atlas.layer_path("alias") == layers / "alias.geojson"
    assert list(atlas.read_layer("alias").gdf["code"]) == ["V1", "V2", "V3"]


def test_symlinked_atlas_root_is_fine(root: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(root)
    atlas = Atlas(link)
    assert len(atlas.read_layer("villages").gdf) == 3


# -- writing layers ---------------------------------------------------------------------


def test_write_layer_refuses_existing_name_without_replace(atlas: Atlas) -> None:
    before = files_under(atlas.root)
    new = sample_atlas.villages_gdf([("N1", "新村")])
    with pytest.raises(DataError, match="replace"):
        atlas.write_layer("villages", new, VILLAGES_META)
    assert files_under(atlas.root) == before
    assert not (atlas.root / "layers" / ".history").exists()


def test_write_layer_over_orphan_metadata_archives_it(atlas: Atlas) -> None:
    """Metadata without GeoJSON is what an interrupted write leaves: no layer exists, so a
    new write proceeds, and the stray file is kept in .history rather than lost."""
    orphan = 'title = "x"\nkey = "code"\n'
    (atlas.root / "layers" / "orphan.toml").write_text(orphan, "utf-8")
    atlas.write_layer("orphan", sample_atlas.villages_gdf(), VILLAGES_META)
    assert (atlas.root / "layers" / "orphan.geojson").exists()
    assert atlas.layer_meta("orphan").title == VILLAGES_META["title"]
    kept = list((atlas.root / "layers" / ".history").glob("orphan.*.toml"))
    assert [k.read_text("utf-8") for k in kept] == [orphan]


def test_write_layer_with_replace_keeps_old_version(atlas: Atlas) -> None:
    layers = atlas.root / "layers"
    old_geo = (layers / "villages.geojson").read_bytes()
    old_toml = (layers / "villages.toml").read_bytes()
    atlas.read_layer("villages")  # fill the cache: the write must invalidate it
    new = sample_atlas.villages_gdf([("N1", "新村")])
    path = atlas.write_layer("villages", new, VILLAGES_META, replace=True)
    assert path == layers / "villages.geojson"
    assert list(atlas.read_layer("villages").gdf["code"]) == ["N1"]
    assert atlas.layer_meta("villages").title == "行政村"
    history = layers / ".history"
    geo_hist = list(history.glob("villages.*.geojson"))
    toml_hist = list(history.glob("villages.*.toml"))
    assert len(geo_hist) == 1 and len(toml_hist) == 1
    assert geo_hist[0].read_bytes() == old_geo
    assert toml_hist[0].read_bytes() == old_toml
    # The history folder is not listed as a layer.
    assert atlas.layer_names() == ["grids", "houses", "roads", "villages"]

    atlas.write_layer("villages", sample_atlas.villages_gdf(), VILLAGES_META, replace=True)
    assert len(list(history.glob("villages.*.geojson"))) == 2


def test_write_layer_with_bad_metadata_changes_nothing(atlas: Atlas) -> None:
    before = files_under(atlas.root)
    with pytest.raises(SpecError):
        atlas.write_layer("villages", sample_atlas.villages_gdf(), {"kind": "x"}, replace=True)
    assert files_under(atlas.root) == before


def test_write_layer_reprojects_to_wgs84(atlas: Atlas) -> None:
    gdf = sample_atlas.villages_gdf().to_crs(3857)
    atlas.write_layer("moved", gdf, VILLAGES_META)
    back = atlas.read_layer("moved").gdf
    x0, y0, _, _ = back.total_bounds
    assert x0 == pytest.approx(sample_atlas.X0, abs=1e-6)
    assert y0 == pytest.approx(sample_atlas.Y0, abs=1e-6)


# -- atomic writes ----------------------------------------------------------------------


def test_atomic_write_failure_at_rename_leaves_old_content(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "f.txt"
    target.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(target, b"new content")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_atomic_write_failure_during_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "new.txt"

    def boom(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="fsync failed"):
        atomic_write(target, b"data")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_creates_folders_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "f.bin"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]


def test_atomic_write_in_pieces_writes_them_in_order(tmp_path: Path) -> None:
    """A large page is written piece by piece from an iterable (consumed once), never
    joined: the file holds exactly the pieces, in order."""
    target = tmp_path / "page.html"
    target.write_bytes(b"old page")
    pieces = [b"<head>", b"", "西屏".encode() * 3, bytes(range(256)) * 20_000, b"</html>\n"]
    consumed: list[int] = []

    def stream() -> Iterator[bytes]:
        for i, piece in enumerate(pieces):
            consumed.append(i)
            yield piece

    atomic_write(target, stream())
    assert target.read_bytes() == b"".join(pieces)
    assert consumed == list(range(len(pieces)))
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_atomic_write_failure_mid_stream_leaves_old_content(tmp_path: Path) -> None:
    """The iterable failing after some pieces were written (a render error while the page
    is being written) leaves the old file byte for byte, and no temporary file."""
    target = tmp_path / "page.html"
    target.write_bytes(b"old page")
    written: list[bytes] = []

    def stream() -> Iterator[bytes]:
        for piece in (b"x" * 1_000_000, b"y" * 10):
            written.append(piece)
            yield piece
        raise ValueError("encoder failed")

    with pytest.raises(ValueError, match="encoder failed"):
        atomic_write(target, stream())
    assert len(written) == 2  # it did fail mid-write
    assert target.read_bytes() == b"old page"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_written_files_get_umask_mode_not_0600(tmp_path: Path, umask022) -> None:
    target = tmp_path / "f.txt"
    atomic_write(target, b"x")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_written_files_follow_other_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "g.txt", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "g.txt").stat().st_mode) == 0o640


def test_write_layer_files_are_0644(atlas: Atlas, umask022) -> None:
    atlas.write_layer("fresh", sample_atlas.villages_gdf(), VILLAGES_META)
    for suffix in (".geojson", ".toml"):
        mode = stat.S_IMODE((atlas.root / "layers" / f"fresh{suffix}").stat().st_mode)
        assert mode == 0o644, (suffix, oct(mode))


# -- tables -----------------------------------------------------------------------------


def write_csv(atlas: Atlas, text: str) -> None:
    (atlas.root / "data" / "economy.csv").write_text(text, encoding="utf-8")


def test_read_table_converts_numbers(atlas: Atlas) -> None:
    table = atlas.read_table("economy")
    assert table.issues == ()
    assert table.df["income_2022"].tolist() == [100.5, 250.25, 80.0]
    assert table.df["growth"].tolist() == [0, 10, 20]
    assert table.df["code"].tolist() == ["V1", "V2", "V3"]
    assert table.meta.columns["income_2022"].unit == "万元"


def test_read_table_lists_non_numeric_cells_with_line_numbers(atlas: Atlas) -> None:
    write_csv(atlas, "code,income_2022,growth\nV1, 100.5 ,0\nV2,abc,10\nV3,80,\nV4,,n/a\n")
    table = atlas.read_table("economy")
    assert len(table.issues) == 2
    income, growth = sorted(table.issues, key=lambda s: "growth" in s)
    assert "第 3 行" in income and "income_2022" in income and "'abc'" in income
    assert "第 5 行" in growth and "growth" in growth and "'n/a'" in growth
    df = table.df
    assert df["income_2022"].iloc[0] == 100.5  # surrounding spaces are fine
    assert df["income_2022"].isna().tolist() == [False, True, False, True]
    assert df["growth"].isna().tolist() == [False, False, True, True]
    assert df["code"].tolist() == ["V1", "V2", "V3", "V4"]  # text stays text


def test_read_table_summarises_many_bad_cells(atlas: Atlas) -> None:
    rows = "\n".join(f"V{i},bad{i},0" for i in range(8))
    write_csv(atlas, "code,income_2022,growth\n" + rows + "\n")
    issues = atlas.read_table("economy").issues
    assert len(issues) == 6
    assert "第 2 行" in issues[0]
    assert "另有 3 个" in issues[-1]


def test_read_table_line_numbers_count_blank_lines(atlas: Atlas) -> None:
    # 'abc' is on line 4 of the file: the blank line 3 still counts as a line.
    write_csv(atlas, "code,income_2022,growth\nV1,100.5,0\n\nV2,abc,10\n")
    issues = atlas.read_table("economy").issues
    assert len(issues) == 1
    assert "第 4 行" in issues[0], issues[0]


def test_read_table_tolerates_bom(atlas: Atlas) -> None:
    (atlas.root / "data" / "economy.csv").write_bytes(
        b"\xef\xbb\xbf" + b"code,income_2022,growth\nV1,1,2\n"
    )
    table = atlas.read_table("economy")
    assert list(table.df.columns) == ["code", "income_2022", "growth"]


@pytest.mark.parametrize(
    "header",
    ["code,income_2022,income_2022", "code,code,income_2022", "code,growth,growth,growth"],
)
def test_duplicate_csv_column_names_are_rejected(atlas: Atlas, header: str) -> None:
    n = header.count(",") + 1
    write_csv(atlas, header + "\n" + ",".join(["V1"] + ["1"] * (n - 1)) + "\n")
    with pytest.raises(DataError, match="duplicate column names"):
        atlas.read_table("economy")


def test_distinct_column_names_with_dots_are_not_duplicates(atlas: Atlas) -> None:
    # 'growth' and 'growth.2022' are different names: nothing is duplicated.
    write_csv(atlas, "code,income_2022,growth,growth.2022\nV1,1,2,3\n")
    table = atlas.read_table("economy")
    assert list(table.df.columns) == ["code", "income_2022", "growth", "growth.2022"]


def test_read_table_missing_key_column(atlas: Atlas) -> None:
    write_csv(atlas, "id,income_2022\nV1,1\n")
    with pytest.raises(SpecError, match="key"):
        atlas.read_table("economy")


def test_read_table_not_utf8(atlas: Atlas) -> None:
    (atlas.root / "data" / "economy.csv").write_bytes("code,名称\nV1,西一村\n".encode("gbk"))
    with pytest.raises(DataError, match="UTF-8"):
        atlas.read_table("economy")


# -- missing files ----------------------------------------------------------------------


def test_missing_layer_metadata_names_the_file(atlas: Atlas) -> None:
    (atlas.root / "layers" / "villages.toml").unlink()
    with pytest.raises(NotFound) as info:
        atlas.layer_meta("villages")
    assert str(atlas.root / "layers" / "villages.toml") in str(info.value)
    with pytest.raises(NotFound, match=r"villages\.toml"):
        atlas.read_layer("villages")


def test_missing_table_definition_names_the_file(atlas: Atlas) -> None:
    (atlas.root / "data" / "economy.toml").unlink()
    with pytest.raises(NotFound) as info:
        atlas.read_table("economy")
    assert str(atlas.root / "data" / "economy.toml") in str(info.value)


def test_missing_layer_lists_available(atlas: Atlas) -> None:
    with pytest.raises(NotFound) as info:
        atlas.read_layer("nosuch")
    message = str(info.value)
    assert "nosuch" in message
    for name in ("grids", "houses", "roads", "villages"):
        assert name in message
    with pytest.raises(NotFound, match="economy"):
        atlas.read_table("nosuch")
    with pytest.raises(NotFound, match="minimal"):
        atlas.map_spec("nosuch")


def test_listing(atlas: Atlas) -> None:
    (atlas.root / "layers" / "Not A Slug.geojson").write_text("{}", "utf-8")
    assert atlas.layer_names() == ["grids", "houses", "roads", "villages"]
    assert atlas.table_names() == ["economy"]
    assert atlas.map_names() == ["economy", "grid", "minimal"]


def test_layer_key_not_in_layer_is_a_spec_error(atlas: Atlas) -> None:
    path = atlas.root / "layers" / "villages.toml"
    path.write_text(path.read_text("utf-8").replace('key = "code"', 'key = "id"'), "utf-8")
    with pytest.raises(SpecError, match="'id'"):
        atlas.read_layer("villages")


# -- lock -------------------------------------------------------------------------------


def _try_lock(root: str, timeout: float) -> None:
    start = time.monotonic()
    try:
        with Atlas(Path(root)).lock(timeout=timeout):
            pass
    except DataError as exc:
        waited = time.monotonic() - start
        ok = "another geomap command" in str(exc) and waited >= timeout * 0.9
        sys.exit(3 if ok else 4)
    sys.exit(0)


def _run_other_process(root: Path, timeout: float) -> int | None:
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=_try_lock, args=(str(root), timeout))
    proc.start()
    proc.join(20)
    assert not proc.is_alive()
    return proc.exitcode


def test_second_process_cannot_take_the_lock(atlas: Atlas) -> None:
    with atlas.lock(timeout=1):
        # 3: DataError after waiting about `timeout` seconds
        assert _run_other_process(atlas.root, 0.5) == 3
    # Released: the other process now gets it at once.
    assert _run_other_process(atlas.root, 0.5) == 0


def test_lock_is_released_after_an_exception(atlas: Atlas) -> None:
    with pytest.raises(RuntimeError), atlas.lock(timeout=1):
        raise RuntimeError("failed write")
    assert _run_other_process(atlas.root, 0.2) == 0


def test_lock_sweeps_old_temp_files_of_killed_writes(atlas: Atlas) -> None:
    layers = atlas.root / "layers"
    old = layers / ".villages.geojson.abc123.tmp"
    fresh = layers / ".roads.geojson.def456.tmp"
    old.write_text("half a layer", "utf-8")
    fresh.write_text("being written", "utf-8")
    stale = time.time() - 2 * 3600
    os.utime(old, (stale, stale))
    with atlas.lock():
        pass
    assert not old.exists()
    assert fresh.exists()  # maybe another command's write in progress: left alone
    assert (layers / "villages.geojson").exists()
