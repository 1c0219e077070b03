"""Helpers shared by the tests: run the CLI in-process, copy the shipped atlas, snapshot an
atlas."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from geomap.cli.main import cli


def run(root: Path, *args: str, **kwargs: Any) -> Result:
    """Run ``geomap --atlas ROOT ARGS`` in-process."""
    return CliRunner().invoke(cli, ["--atlas", str(root), *args], catch_exceptions=False, **kwargs)


def invoke(root: Path, *args: str) -> Result:
    """``geomap --atlas ROOT ARGS`` in-process, with exceptions caught (not re-raised)."""
    return CliRunner().invoke(cli, ["--atlas", str(root), *args], catch_exceptions=True)


def check_clean(result: Result) -> None:
    """Exit 0, or exit 1 with a message: never a traceback or another exit code."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1)


REPO = Path(__file__).resolve().parents[1]


def shipped_atlas(root: Path, render: Sequence[str] | None = None) -> Path:
    """A copy of the repository's Xiping atlas at ``root`` (layers, tables and map specs; no
    rendered pages, no history), so tests never touch the repository. With ``render``, runs
    ``geomap render *render`` on it (``()``: every map) and checks it succeeded."""
    for sub in ("layers", "data", "maps"):
        shutil.copytree(REPO / sub, root / sub, ignore=shutil.ignore_patterns("*.html", ".*"))
    if render is not None:
        result = run(root, "render", *render)
        assert result.exit_code == 0, result.output
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under layers/, data/ and maps/ (for "nothing changed" assertions)."""
    out = {}
    for sub in ("layers", "data", "maps"):
        for path in sorted((root / sub).rglob("*")):
            if path.is_file() and path.name != ".lock":
                out[str(path.relative_to(root))] = path.read_bytes()
    return out
