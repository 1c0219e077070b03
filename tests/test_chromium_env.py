"""``GEOMAP_CHROMIUM`` naming no file is an error (it was ignored silently)."""

from __future__ import annotations

from pathlib import Path

import pytest

from geomap.errors import GeomapError
from geomap.export import find_chromium


def test_chromium_env_naming_no_file_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOMAP_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(GeomapError, match="GEOMAP_CHROMIUM=/nonexistent/chromium"):
        find_chromium()


def test_chromium_env_naming_a_file_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setenv("GEOMAP_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)
