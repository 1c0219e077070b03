"""The village atlas: `geomap export collective-economy --each villages` on the shipped
Xiping atlas (cover + index + one page per village on that map, one PDF), timed end to end
as the planner runs it (a child process: start-up, render, one Chromium session, PDF join).

    python benchmarks/export_atlas.py              # 3 runs, median; ~1–1.5 min on 2 cores
    python benchmarks/export_atlas.py --repeat 1 --format png

Prints one JSON line and saves it to ``results/<date>-export-atlas.json``. The target
(issue 15) is ≤ 60 s for a 12-page village atlas on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
TARGET_S = 60.0


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(next(li for li in info.stdout.splitlines() if li.startswith("Pages:")).split()[1])


def run_once(atlas: Path, fmt: str) -> dict[str, float | int]:
    out = atlas / "exports" / ("atlas" if fmt == "png" else "atlas.pdf")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from geomap.cli.main import main; main()", "--atlas", str(atlas), "export",
           "collective-economy", "--each", "villages", "--basemap", "none",
           "--format", fmt, "--dpi", "150", "-o", str(out)]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    pages = len(list(out.iterdir())) if fmt == "png" else _pages(out)
    return {"seconds": round(seconds, 2), "pages": pages}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", choices=["pdf", "png"], default="pdf")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="geomap-bench-export-") as tmp:
        atlas = Path(tmp)
        for sub in ("layers", "data", "maps"):
            shutil.copytree(ROOT / sub, atlas / sub, ignore=shutil.ignore_patterns("*.html"))
        for _ in range(args.repeat):
            runs.append(run_once(atlas, args.format))
    median = statistics.median(r["seconds"] for r in runs)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    result = {
        "benchmark": "export-atlas",
        "command": "geomap export collective-economy --each villages --basemap none",
        "format": args.format,
        "pages": runs[0]["pages"],
        "median_s": median,
        "per_page_s": round(median / runs[0]["pages"], 2),
        "target_s": TARGET_S,
        "met": median <= TARGET_S,
        "runs": runs,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "commit": commit,
        "date": dt.date.today().isoformat(),
    }
    print(json.dumps(result, ensure_ascii=False))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{result['date']}-export-atlas.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
