"""The open_page fixture: rendered maps in Chromium, closed after each test."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import open_map


@pytest.fixture
def open_page(browser: Any) -> Any:
    pages: list[Any] = []

    def _open(html: Any, **kw: Any) -> Any:
        opened = open_map(browser, html, **kw)
        pages.append(opened.page)
        return opened

    yield _open
    for p in pages:
        p.close()
