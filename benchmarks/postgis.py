"""The PostGIS atlas store, measured against a real PostgreSQL/PostGIS.

1. push / pull of the Xiping atlas, and `layers --json` on it (cold and warm snapshot);
2. five concurrent `geomap add` (each with --map onto one map): each writer's wall time and
   the time it spent waiting for others (row locks, snapshot lock), from GEOMAP_TIMING=1;
3. N synthetic parcels (default 1,000,000; benchmarks/compare.py's): `check` on the folder,
   `atlas push`, `check` on the database atlas (cold snapshot = first pull, then warm);
4. at --sql-size parcels (default 200,000) under 400 blocks: the hierarchy containment test
   (share of each parcel's area inside a block, in EPSG:4549) and a roll-up (count and sum of
   parcels per block) in SQL vs. geomap's Python (shapely STRtree / geopandas sjoin).

    python benchmarks/postgis.py                      # all, 1,000,000 parcels (~15 min)
    python benchmarks/postgis.py --size 200000        # ~4 min
    python benchmarks/postgis.py --only xiping,concurrent

The database: --url, else $GEOMAP_TEST_PG, else the one .ci/postgis-cluster creates. Results
go to benchmarks/results/<date>-postgis-<size>.json; one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import compare  # noqa: E402

GEOMAP = [sys.executable, "-c", "from geomap.cli.main import main; main()"]
DEFAULT_URL = "postgresql://geomap:geomap@localhost:5432/geomap_test"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def geomap(*args: str, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> float:
    """Run the geomap CLI in a child process; its wall time in seconds."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    started = time.perf_counter()
    run = subprocess.run([*GEOMAP, *args], env=full_env, capture_output=True, text=True)
    took = time.perf_counter() - started
    if run.returncode not in ok:
        raise RuntimeError(f"geomap {' '.join(args)} failed: {run.stderr[-2000:]}")
    return took


def drop(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}_map" CASCADE')


def bench_xiping(url: str, work: Path) -> dict[str, Any]:
    atlas = f"{url}?atlas=bench_xiping"
    drop(url, "bench_xiping")
    env = {"GEOMAP_CACHE": str(work / "cache-xiping")}
    out: dict[str, Any] = {"push_s": geomap("atlas", "push", str(REPO), atlas)}
    out["pull_s"] = geomap("atlas", "pull", atlas, str(work / "xiping-copy"))
    out["layers_cold_s"] = geomap("--atlas", atlas, "layers", "--json", env=env)
    out["layers_warm_s"] = geomap("--atlas", atlas, "layers", "--json", env=env)
    out["layers_folder_s"] = geomap("--atlas", str(REPO), "layers", "--json")
    return out


def bench_concurrent(url: str, work: Path, writers: int = 5) -> dict[str, Any]:
    """``writers`` adds of the Xiping houses (11,393 points) at once, each onto one map."""
    atlas = f"{url}?atlas=bench_conc"
    drop(url, "bench_conc")
    geomap("atlas", "push", str(REPO), atlas)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "GEOMAP_CACHE": str(work / "cache-conc"),
        "GEOMAP_TIMING": "1",
    }
    src = str(REPO / "layers" / "houses.geojson")
    geomap("--atlas", atlas, "layers", env={"GEOMAP_CACHE": env["GEOMAP_CACHE"]})  # warm
    solo_started = time.perf_counter()
    solo = subprocess.run(
        [*GEOMAP, "--atlas", atlas, "add", src, "--name", "solo", "--map", "overview"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    solo_s = time.perf_counter() - solo_started
    procs = []
    started = time.perf_counter()
    for i in range(writers):
        args = ["--atlas", atlas, "add", src, "--name", f"w{i}", "--map", "overview"]
        procs.append(
            (
                time.perf_counter(),
                subprocess.Popen(
                    [*GEOMAP, *args],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    rows = []
    for t0, p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(err[-2000:])
        timing = json.loads(
            next(ln for ln in err.splitlines() if ln.startswith("geomap-timing "))[14:]
        )
        rows.append({"wall_s": time.perf_counter() - t0, **timing})
    total = time.perf_counter() - started
    solo_timing = json.loads(
        next(ln for ln in solo.stderr.splitlines() if ln.startswith("geomap-timing "))[14:]
    )
    import psycopg

    with psycopg.connect(url) as conn:
        spec = conn.execute(
            "SELECT convert_from(data, 'UTF8') FROM bench_conc.files WHERE path = 'maps/overview.toml'"
        ).fetchone()
    on_map = sum(f'layer = "w{i}"' in spec[0] for i in range(writers)) if spec else 0
    return {
        "writers": writers,
        "features_each": 11393,
        "solo_wall_s": solo_s,
        "solo": solo_timing,
        "all_done_s": total,
        "per_writer": rows,
        "max_lock_wait_s": max(r.get("lock_wait_s", 0.0) for r in rows),
        "max_snapshot_s": max(r.get("snapshot_s", 0.0) for r in rows),
        "max_snapshot_wait_s": max(r.get("snapshot_wait_s", 0.0) for r in rows),
        "max_wait_s": max(r.get("snapshot_wait_s", 0.0) + r.get("lock_wait_s", 0.0) for r in rows),
        "layers_on_map": on_map,
    }


def bench_big(url: str, work: Path, size: int) -> dict[str, Any]:
    folder = work / "big"
    log(f"writing {size} parcels")
    compare.write_atlas(folder, size)
    atlas = f"{url}?atlas=bench_big"
    drop(url, "bench_big")
    env = {"GEOMAP_CACHE": str(work / "cache-big")}
    out: dict[str, Any] = {"size": size}
    log("check on the folder")
    out["check_folder_s"] = geomap("--atlas", str(folder), "check", "--json", ok=(0, 1))
    log("push")
    out["push_s"] = geomap("atlas", "push", str(folder), atlas)
    log("check on the database (cold snapshot)")
    out["check_db_cold_s"] = geomap("--atlas", atlas, "check", "--json", env=env, ok=(0, 1))
    log("check on the database (warm snapshot)")
    out["check_db_warm_s"] = geomap("--atlas", atlas, "check", "--json", env=env, ok=(0, 1))
    log("pull")
    out["pull_s"] = geomap("atlas", "pull", atlas, str(work / "big-copy"))
    drop(url, "bench_big")
    return out


def bench_sql(url: str, size: int) -> dict[str, Any]:
    """Containment share and a roll-up per block: SQL vs. geomap's Python."""
    import geopandas as gpd
    import numpy as np
    import psycopg
    import shapely

    from geomap.check import _containing, _to_metric
    from geomap.store.postgis import Location, ensure_schema, write_layer_version

    parcels = compare.synthetic(size)
    minx, miny, maxx, maxy = parcels.total_bounds
    side = 20
    xs, ys = np.linspace(minx, maxx, side + 1), np.linspace(miny, maxy, side + 1)
    blocks = gpd.GeoDataFrame(
        {"code": [f"B{i:03d}" for i in range(side * side)]},
        geometry=[
            shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1])
            for j in range(side)
            for i in range(side)
        ],
        crs="EPSG:4326",
    )
    loc = Location.parse(f"{url}?atlas=bench_sql")
    drop(url, "bench_sql")
    with psycopg.connect(loc.conninfo, autocommit=True) as conn:
        ensure_schema(conn, loc)
        meta = 'title = "t"\nkind = "parcel"\nkey = "code"\n'
        with conn.transaction():
            write_layer_version(conn, loc, "blocks", blocks, meta, replace=True)
            write_layer_version(conn, loc, "parcels", parcels, meta, replace=True)
        conn.execute("ANALYZE bench_sql.v1, bench_sql.v2")
        out: dict[str, Any] = {"size": size, "blocks": side * side}

        started = time.perf_counter()
        rows = conn.execute(
            """SELECT c._ord, max(ST_Area(ST_Intersection(ST_Transform(c.geom, 4549),
                   ST_Transform(p.geom, 4549))) / ST_Area(ST_Transform(c.geom, 4549)))
               FROM bench_sql.parcels c JOIN bench_sql.blocks p ON ST_Intersects(c.geom, p.geom)
               GROUP BY c._ord"""
        ).fetchall()
        out["containment_sql_s"] = time.perf_counter() - started
        sql_inside = sum(1 for _, share in rows if share >= 0.99)

        started = time.perf_counter()
        child = shapely.transform(np.asarray(parcels.geometry.values, dtype=object), _to_metric)
        parent = shapely.transform(np.asarray(blocks.geometry.values, dtype=object), _to_metric)
        inside, _, _ = _containing(child, parent)
        out["containment_python_s"] = time.perf_counter() - started
        py_inside = sum(1 for x in inside if x)
        out["containment_agree"] = sql_inside == py_inside
        out["parcels_inside_one_block"] = py_inside

        started = time.perf_counter()
        sql_roll = conn.execute(
            """SELECT b._ord, count(*), sum(p.value) FROM bench_sql.blocks b
               JOIN bench_sql.parcels p ON ST_Intersects(b.geom, p.geom)
                AND ST_Contains(b.geom, ST_PointOnSurface(p.geom))
               GROUP BY b._ord"""
        ).fetchall()
        out["rollup_sql_s"] = time.perf_counter() - started
        started = time.perf_counter()
        pts = parcels.set_geometry(parcels.geometry.representative_point())
        joined = gpd.sjoin(pts[["value", "geometry"]], blocks, predicate="within")
        py_roll = joined.groupby("index_right")["value"].agg(["count", "sum"])
        out["rollup_python_s"] = time.perf_counter() - started
        out["rollup_agree"] = sum(r[1] for r in sql_roll) == int(py_roll["count"].sum())
    drop(url, "bench_sql")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("GEOMAP_TEST_PG") or DEFAULT_URL)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--sql-size", type=int, default=200_000)
    parser.add_argument("--only", default="xiping,concurrent,sql,big")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    results: dict[str, Any] = {"date": dt.date.today().isoformat(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="geomap-postgis-") as tmp:
        work = Path(tmp)
        if "xiping" in parts:
            log("Xiping push/pull")
            results["xiping"] = bench_xiping(args.url, work)
        if "concurrent" in parts:
            log("5 concurrent adds")
            results["concurrent"] = bench_concurrent(args.url, work)
        if "sql" in parts:
            log(f"SQL vs Python at {args.sql_size}")
            results["sql"] = bench_sql(args.url, args.sql_size)
        if "big" in parts:
            results["big"] = bench_big(args.url, work, args.size)
    line = json.dumps(results, ensure_ascii=False)
    print(line)
    out = (
        HERE
        / "results"
        / f"{results['date']}-postgis-{args.only.replace(',', '-')}-{args.size if 'big' in parts else 0}.json"
    )
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    log(f"saved {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
