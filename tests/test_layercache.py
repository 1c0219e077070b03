"""The binary copy of big layers (geomap.layercache): exact, keyed by content, never stale,
written atomically, shared by concurrent readers, used by render and check alike."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from geomap import layercache
from geomap.atlas import Atlas
from geomap.check import check_atlas
from geomap.geojson_io import dumps_layer, parse_layer
from geomap.layercache import copy_path, load_layer


@pytest.fixture(autouse=True)
def small_layers_are_big(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layercache, "CACHE_MIN_BYTES", 0)


def parcels(n: int = 300, *, shift: float = 0.0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    x = 119.48 + np.arange(n) * 0.001 + shift
    geoms = [shapely.box(a, 28.45, a + 0.0007, 28.4507) for a in x]
    if n > 5:
        geoms[5] = shapely.MultiPolygon(
            [geoms[5], shapely.box(x[5], 28.46, x[5] + 0.0003, 28.4603)]
        )
    return gpd.GeoDataFrame(
        {
            "code": [f"P{i:04d}" for i in range(n)],
            "name": [None if i % 7 == 0 else f"西屏{i}号地块" for i in range(n)],
            "value": np.where(np.arange(n) % 5 == 0, np.nan, rng.lognormal(3, 1, n).round(2)),
            "households": rng.integers(0, 400, n),
            "public": np.arange(n) % 2 == 0,
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def write(path: Path, gdf: gpd.GeoDataFrame) -> bytes:
    data = dumps_layer(gdf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def copies(cache: Path) -> list[Path]:
    return sorted(cache.glob("*")) if cache.is_dir() else []


def test_the_copy_gives_back_exactly_the_parsed_layer(tmp_path: Path) -> None:
    layer, cache = tmp_path / "layers" / "parcels.geojson", tmp_path / "layers" / ".cache"
    data = write(layer, parcels())
    parsed = parse_layer(data, layer)[0]
    first = load_layer(layer, cache).gdf  # parses, writes the copy
    assert [p.name for p in copies(cache)] == [
        f"parcels.{hashlib.sha256(data).hexdigest()}.v1.parquet"
    ]
    second = load_layer(layer, cache).gdf  # from the copy
    for got in (first, second):
        assert_geodataframe_equal(got, parsed, check_dtype=True, check_index_type=True)
        assert list(got.dtypes) == list(parsed.dtypes)
        assert dumps_layer(got) == data  # same bytes when written again
    assert second["name"].isna().iloc[0] and second["name"].iloc[1] == "西屏1号地块"


def test_the_copy_is_what_is_read_when_it_matches(tmp_path: Path) -> None:
    layer, cache = tmp_path / "parcels.geojson", tmp_path / ".cache"
    data = write(layer, parcels())
    load_layer(layer, cache)
    (copy,) = copies(cache)
    # A copy under the present digest is trusted: give it other content to see it is read.
    parcels(3).to_parquet(copy)
    assert len(load_layer(layer, cache).gdf) == 3
    assert copy.name == copy_path(cache, "parcels", hashlib.sha256(data).hexdigest()).name


def test_a_changed_layer_never_meets_its_stale_copy(tmp_path: Path) -> None:
    layer, cache = tmp_path / "parcels.geojson", tmp_path / ".cache"
    write(layer, parcels())
    load_layer(layer, cache)
    (old,) = copies(cache)
    changed = parcels()
    changed.loc[3, "name"] = "改过的名称"
    data = write(layer, changed)
    got = load_layer(layer, cache).gdf
    assert got.loc[3, "name"] == "改过的名称"
    assert_geodataframe_equal(got, parse_layer(data, layer)[0])
    (new,) = copies(cache)  # the stale copy was removed, the new one written
    assert new != old
    # Back to the old content (e.g. restored from .history): a fresh copy, never a stale one.
    write(layer, parcels())
    assert load_layer(layer, cache).gdf.loc[3, "name"] == "西屏3号地块"


def test_an_unreadable_copy_is_ignored(tmp_path: Path) -> None:
    layer, cache = tmp_path / "parcels.geojson", tmp_path / ".cache"
    data = write(layer, parcels())
    load_layer(layer, cache)
    (copy,) = copies(cache)
    copy.write_bytes(copy.read_bytes()[:100])  # truncated
    assert_geodataframe_equal(load_layer(layer, cache).gdf, parse_layer(data, layer)[0])


@pytest.mark.parametrize(
    "odd",
    [
        {"kind": [1, "一", 2.5]},  # mixed types in one column
        {"tags": [["a", "b"], ["c"], None]},  # list properties
    ],
)
def test_frames_a_copy_cannot_reproduce_are_not_copied(tmp_path: Path, odd: dict) -> None:
    layer, cache = tmp_path / "odd.geojson", tmp_path / ".cache"
    gdf = parcels(3)
    for column, values in odd.items():
        gdf[column] = values
    data = write(layer, gdf)
    got = load_layer(layer, cache).gdf
    assert copies(cache) == []
    assert_geodataframe_equal(got, parse_layer(data, layer)[0])


def test_a_failed_copy_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer, cache = tmp_path / "parcels.geojson", tmp_path / ".cache"
    data = write(layer, parcels())

    def full_disk(self: gpd.GeoDataFrame, path: str, **kwargs: object) -> None:
        Path(path).write_bytes(b"PAR1 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", full_disk)
    got = load_layer(layer, cache).gdf  # the command still succeeds
    assert_geodataframe_equal(got, parse_layer(data, layer)[0])
    assert copies(cache) == []  # no copy, no temporary file


def test_concurrent_readers_share_one_whole_copy(tmp_path: Path) -> None:
    layer, cache = tmp_path / "parcels.geojson", tmp_path / ".cache"
    data = write(layer, parcels(2000))
    expected = parse_layer(data, layer)[0]
    results: list[gpd.GeoDataFrame] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            results.append(load_layer(layer, cache).gdf)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for got in [*results, load_layer(layer, cache).gdf]:
        assert_geodataframe_equal(got, expected)
    assert len(copies(cache)) == 1  # one copy, no temporary files left


def test_render_and_check_read_through_the_copy(tmp_path: Path) -> None:
    from sample_atlas import build

    root = build(tmp_path / "atlas")
    atlas = Atlas(root)
    name = atlas.layer_names()[0]
    cache = root / "layers" / ".cache"
    atlas.read_layer(name)
    assert any(p.name.startswith(f"{name}.") for p in copies(cache))
    before = {p: p.stat().st_mtime_ns for p in copies(cache)}
    assert Atlas(root).layer_cache_dir() == cache
    findings = check_atlas(Atlas(root))
    assert not [f for f in findings if f.code == "unreadable-file"]
    assert {p: p.stat().st_mtime_ns for p in copies(cache) if p in before} == before
    assert atlas.layer_names() == Atlas(root).layer_names()  # .cache lists no layers


@pytest.mark.parametrize("size", [1, 7, 10_000])
def test_a_copy_written_in_batches_gives_back_exactly_the_parsed_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """A big layer's copy is written batch by batch (vector tiles: the layer is never held
    whole). Column types a batch alone would get otherwise (integers with a null only in a
    late row parse as floats, text null in all early rows) come out as parsing the whole
    file types them."""
    monkeypatch.setattr(layercache, "CHUNK", size)
    layer, cache = tmp_path / "parcels.geojson", tmp_path / ".cache"
    gdf = parcels()
    gdf["late_null"] = [None if i == 250 else i for i in range(len(gdf))]
    gdf["early_text"] = [None if i < 120 else f"备注{i}" for i in range(len(gdf))]
    data = write(layer, gdf)
    parsed = parse_layer(data, layer)[0]
    assert parsed["late_null"].dtype == "float64" and parsed["early_text"].dtype == "str"
    outline = layercache.load_outline(layer, cache)  # writes the copy in batches
    assert outline is not None
    assert [p.name for p in copies(cache)] == [
        f"parcels.{hashlib.sha256(data).hexdigest()}.v1.parquet"
    ]
    attrs = parsed.drop(columns="geometry")
    pd.testing.assert_frame_equal(outline.attrs, pd.DataFrame(attrs), check_index_type=True)
    assert list(outline.types) == list(shapely.get_type_id(parsed.geometry.to_numpy()))
    shapes = np.concatenate(list(outline.shapes(size=size)))
    assert shapely.equals_exact(shapes, parsed.geometry.to_numpy(), tolerance=0).all()
    rows = np.array([0, 5, 6, 299])
    picked = np.concatenate(list(outline.shapes(rows, size=size)))
    assert shapely.equals_exact(picked, parsed.geometry.to_numpy()[rows], tolerance=0).all()
    again = load_layer(layer, cache).gdf  # read from the copy written in batches
    assert_geodataframe_equal(again, parsed, check_dtype=True, check_index_type=True)
    assert dumps_layer(again) == data


def test_layers_a_batched_copy_cannot_reproduce_get_no_outline(tmp_path: Path) -> None:
    layer, cache = tmp_path / "odd.geojson", tmp_path / ".cache"
    gdf = parcels(20)
    gdf["flag"] = [None if i == 15 else True for i in range(20)]  # booleans with a null
    write(layer, gdf)
    assert layercache.load_outline(layer, cache) is None
    assert copies(cache) == []
    other = tmp_path / "other.geojson"  # not geomap's one-feature-a-line layout
    other.write_bytes(dumps_layer(parcels(20)).replace(b",\n", b","))
    assert layercache.load_outline(other, cache) is None
    assert layercache.load_outline(layer, cache, min_rows=0) is None
    write(layer, parcels(20))
    assert layercache.load_outline(layer, cache, min_rows=21) is None  # too few to tile
    assert layercache.load_outline(layer, cache, min_rows=20) is not None
