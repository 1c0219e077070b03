"""Peak RSS of geomap's render against explore() at one size: the Python side of
``compare.py`` alone (no browser), with the same synthetic atlas and child processes.

geomap renders twice: first with no binary copy of the layer (it parses the GeoJSON and
writes the GeoParquet copy to ``layers/.cache/``, as the first render after ``geomap add``
does), then again (it reads the copy). explore() runs once. Each figure is the child's own
``VmHWM``; the ratios are geomap / explore. Prints one JSON line (with the load average).

    python benchmarks/render_rss.py                # 100,000 parcels, ~2 min
    python benchmarks/render_rss.py --size 10000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # this checkout's geomap

import compare


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="geomap-rss-") as tmp:
        atlas = Path(tmp) / "atlas"
        compare.write_atlas(atlas, args.size)
        shutil.rmtree(atlas / "layers" / ".cache", ignore_errors=True)
        runs = {
            name: compare.measure_python(tool, atlas, Path(tmp) / f"{name}.html", args.timeout)
            for name, tool in (("first", "geomap"), ("second", "geomap"), ("explore", "explore"))
        }
    result: dict[str, Any] = {"size": args.size, "loadavg_at_start": load}
    for name, run in runs.items():
        result[f"{name}_rss_mib"] = round(run["rss_mib"], 1)
        result[f"{name}_python_s"] = round(run["python_s"], 2)
    for name in ("first", "second"):
        result[f"{name}_rss_ratio"] = round(runs[name]["rss_mib"] / runs["explore"]["rss_mib"], 3)
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
