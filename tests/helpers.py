"""Helpers shared by the tests: run the CLI in-process, snapshot an atlas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from geomap.cli.main import cli


def run(root: Path, *args: str, **kwargs: Any) -> Result:
    """Run ``geomap --atlas ROOT ARGS`` in-process."""
    return CliRunner().invoke(cli, ["--atlas", str(root), *args], catch_exceptions=False, **kwargs)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under layers/, data/ and maps/ (for "nothing changed" assertions)."""
    out = {}
    for sub in ("layers", "data", "maps"):
        for path in sorted((root / sub).rglob("*")):
            if path.is_file() and path.name != ".lock":
                out[str(path.relative_to(root))] = path.read_bytes()
    return out
