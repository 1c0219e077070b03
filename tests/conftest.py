"""Shared fixtures: a sample atlas in a temp folder, a CLI runner, and headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sample_atlas
from postgis_fixtures import atlas_url, pg_url, snapshot_cache  # noqa: F401 (fixtures)

from geomap.export import CHROMIUM_ARGS

# The same browser and flags `geomap export` uses.
CHROMIUM = os.environ.get("GEOMAP_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A fresh copy of the small sample atlas."""
    return sample_atlas.build(tmp_path / "atlas")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (no browser download needed)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
