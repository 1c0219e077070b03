"""Every TOML example in the README and docs parses (a planner copies them as they are).

``docs/formats.md`` once showed ``colors = { 完工 = "#2ca25f" }``, which is not TOML: a bare
key must be ASCII, so Chinese keys need quotes.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Inline examples of spec values are checked where the spec keys are documented.
INLINE_DOCS = [REPO / "README.md", REPO / "docs" / "formats.md"]


def fenced() -> list[tuple[str, str]]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"```toml\n(.*?)```", text, re.S):
            line = text[: m.start()].count("\n") + 1
            out.append((f"{path.name}:{line}", m.group(1)))
    return out


def inline() -> list[tuple[str, str]]:
    """`{ … }` inline tables and `key = value` lines written in backticks."""
    out = []
    for path in INLINE_DOCS:
        text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
        for m in re.finditer(r"`([^`\n]+)`", text):
            snippet = m.group(1).strip()
            if snippet.startswith(("{{", "{%")):  # template syntax shown as a hazard
                continue
            if snippet.startswith("{") and snippet.endswith("}"):
                out.append((f"{path.name}: {snippet[:40]}", f"x = {snippet}"))
            elif re.match(r"^[A-Za-z_][\w.]* = ", snippet):
                out.append((f"{path.name}: {snippet[:40]}", snippet))
    return out


def test_examples_are_found() -> None:
    assert len(fenced()) >= 5 and len(inline()) >= 10


@pytest.mark.parametrize(("where", "text"), fenced() + inline(), ids=lambda v: str(v)[:50])
def test_toml_example_parses(where: str, text: str) -> None:
    try:
        assert isinstance(tomllib.loads(text), dict)
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"{where}: {exc}\n{text}")
