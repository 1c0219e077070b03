"""Shared fixtures: a sample atlas in a temp folder, a CLI runner, and headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import sample_atlas
from geomap.cli.main import cli

CHROMIUM = os.environ.get("GEOMAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A fresh copy of the small sample atlas."""
    return sample_atlas.build(tmp_path / "atlas")


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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (no browser download needed)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
