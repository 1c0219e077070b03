"""GCJ-02 and BD-09 conversion of a million points: seconds per call, and the round trip.

    python benchmarks/crs_transform.py                # 1,000,000 points, best of 3
    python benchmarks/crs_transform.py --size 200000 --repeat 5

The points are uniform over the Xiping area (119.3–119.7 E, 28.3–28.6 N, seeded). Each
conversion is timed with ``time.perf_counter`` (best of ``--repeat``); the inverses are the
exact fixed-point ones ``geomap add --crs gcj02|bd09`` uses. Target: the GCJ-02 inverse of
1,000,000 points within 10 s (a scalar loop takes minutes). Prints one JSON line, with the
largest round-trip error in metres as a check that the timed code did its work.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geomap import crs

TARGET_S = {"gcj02_to_wgs84": 10.0}
METRES_PER_DEGREE = 111_320.0


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    lon = rng.uniform(119.3, 119.7, args.size)
    lat = rng.uniform(28.3, 28.6, args.size)
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    blon, blat = crs.wgs84_to_bd09(lon, lat)
    seconds = {
        name: round(best_of(args.repeat, work), 3)
        for name, work in {
            "wgs84_to_gcj02": lambda: crs.wgs84_to_gcj02(lon, lat),
            "gcj02_to_wgs84": lambda: crs.gcj02_to_wgs84(glon, glat),
            "wgs84_to_bd09": lambda: crs.wgs84_to_bd09(lon, lat),
            "bd09_to_wgs84": lambda: crs.bd09_to_wgs84(blon, blat),
        }.items()
    }
    back_lon, back_lat = crs.gcj02_to_wgs84(glon, glat)
    error_m = float(np.hypot(back_lon - lon, back_lat - lat).max() * METRES_PER_DEGREE)
    result: dict[str, object] = {
        "size": args.size,
        "repeat": args.repeat,
        "seconds": seconds,
        "targets_s": TARGET_S,
        "within_targets": all(seconds[k] <= v for k, v in TARGET_S.items()),
        "gcj02_round_trip_max_error_m": error_m,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
