"""`geomap add` works chunk by chunk (geomap.chunks) so a million parcels fit in 2 GiB: the
result is byte for byte the same whatever the chunk size (a layer of one chunk is what
`add` did before it read in batches), problems are reported once for the whole layer, and
a failed add leaves the atlas byte-identical. Sources are real files written by pyogrio."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from helpers import snapshot

from geomap import chunks, geojson_io
from geomap.add import add_layer
from geomap.atlas import Atlas
from geomap.errors import DataError

N = 40


def parcels(n: int = N) -> gpd.GeoDataFrame:
    """Parcels near Xiping in EPSG:4549 with the awkward cases a chunk boundary could split:
    Polygon and MultiPolygon mixed (written all-Multi), a self-intersecting polygon
    (repaired), integers with a null only in a late row, text null in early rows only,
    GBK-only characters, a declared area off by more than 5 % in one row."""
    rng = np.random.default_rng(3)
    x0, y0 = 449_200.0, 3_148_000.0  # Xiping in EPSG:4549 (CM 120E, no zone prefix)
    geoms = []
    for i in range(n):
        x, y = x0 + (i % 8) * 120.0, y0 + (i // 8) * 120.0
        geoms.append(shapely.box(x, y, x + 100 + rng.uniform(0, 10), y + 100))
    geoms[9] = shapely.MultiPolygon([geoms[9], shapely.box(x0 - 300, y0, x0 - 250, y0 + 50)])
    x, y = x0 + 5000, y0 + 5000
    geoms[22] = shapely.Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])  # bowtie
    area_mu = np.round(shapely.area(np.array(geoms, dtype=object)) * 15 / 10000, 2)
    area_mu[30] *= 1.5
    households = [float(i) for i in range(n)]
    households[33] = None  # type: ignore[call-overload]
    return gpd.GeoDataFrame(
        {
            "dkbh": [f"DK{i:03d}" for i in range(n)],
            "dkmc": [f"西屏{'喆堃' if i % 5 == 0 else ''}{i}号地块" for i in range(n)],
            "owner_note": [None if i < 12 else f"备注{i}" for i in range(n)],
            "households": households,
            "mj": area_mu,
            "zt": [("计划", "在建", "完工")[i % 3] for i in range(n)],
        },
        geometry=geoms,
        crs="EPSG:4549",
    )


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    gdf = parcels()
    gpkg = tmp_path / "src" / "parcels.gpkg"
    gpkg.parent.mkdir()
    pyogrio.write_dataframe(gdf, gpkg, layer="parcels", driver="GPKG")
    shp = tmp_path / "src" / "地块.shp"
    pyogrio.write_dataframe(gdf, shp, driver="ESRI Shapefile", encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)  # GBK detected from the DBF bytes
    return {"gpkg": gpkg, "shp": shp}


def new_atlas(root: Path) -> Atlas:
    for sub in ("layers", "data", "maps"):
        (root / sub).mkdir(parents=True)
    return Atlas(root)


def added(
    root: Path, source: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> dict[str, bytes]:
    monkeypatch.setattr(chunks, "CHUNK", chunk)
    report = add_layer(new_atlas(root), source, name="parcels")
    assert report.features == N
    return snapshot(root)


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_the_same_bytes_for_every_chunk_size(
    tmp_path: Path, sources: dict[str, Path], fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = added(tmp_path / "whole", sources[fmt], 1_000_000, monkeypatch)  # one chunk
    for chunk in (7, 1):
        assert added(tmp_path / f"c{chunk}", sources[fmt], chunk, monkeypatch) == whole
    layer = geojson_io.read_layer(tmp_path / "whole" / "layers" / "parcels.geojson")
    # The cases the data set up really happened: CRS transform, repair, all-Multi, GBK.
    assert set(layer.geometry.geom_type) == {"MultiPolygon"}
    assert layer.geometry.is_valid.all()
    assert 119.4 < layer.total_bounds[0] < layer.total_bounds[2] < 119.6
    assert layer.loc[0, "dkmc"] == "西屏喆堃0号地块"
    assert layer["owner_note"].isna().sum() == 12


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_warnings_are_the_same_whatever_the_chunks(
    tmp_path: Path, sources: dict[str, Path], fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = []
    for chunk in (1_000_000, 6):
        monkeypatch.setattr(chunks, "CHUNK", chunk)
        reports.append(add_layer(new_atlas(tmp_path / f"a{chunk}"), sources[fmt], name="p"))
    whole, chunked = reports
    assert chunked.warnings == whole.warnings
    assert any("已自动修复 1 个无效面" in w for w in whole.warnings)
    assert any("30号地块" in w and "相差" in w for w in whole.warnings)  # declared area
    assert chunked.ingest.repaired == whole.ingest.repaired == 1
    assert (chunked.area_mu, chunked.key, chunked.features) == (whole.area_mu, whole.key, N)


def test_problems_in_several_chunks_are_reported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gdf = parcels()
    gdf.loc[[3, 31], "geometry"] = None  # in the first and the fifth chunk of 7
    gpkg = tmp_path / "holes.gpkg"
    pyogrio.write_dataframe(gdf, gpkg, layer="parcels", driver="GPKG")
    messages = []
    for chunk in (1_000_000, 7):
        monkeypatch.setattr(chunks, "CHUNK", chunk)
        with pytest.raises(DataError) as err:
            add_layer(new_atlas(tmp_path / f"a{chunk}"), gpkg, name="p")
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "2 个要素没有几何" in messages[0]
    assert "西屏3号地块" in messages[0] and "西屏31号地块" in messages[0]


def test_a_failure_while_writing_leaves_the_atlas_byte_identical(
    tmp_path: Path, sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "atlas"
    atlas = new_atlas(root)
    add_layer(atlas, sources["gpkg"], name="parcels")
    before = snapshot(root)
    monkeypatch.setattr(chunks, "CHUNK", 5)
    real = geojson_io.geometries_json
    calls = {"n": 0}

    def fail_on_third_chunk(geoms: object, precision: int = 7) -> list[str | None]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(geoms, precision)

    monkeypatch.setattr(geojson_io, "geometries_json", fail_on_third_chunk)
    with pytest.raises(OSError):
        add_layer(Atlas(root), sources["shp"], name="parcels", replace=True)
    assert calls["n"] == 3  # it failed half-way through the GeoJSON
    assert snapshot(root) == before
    assert not list((root / "layers").glob(".*.tmp"))
