"""docs/architecture.md stays true: every module is on the page, imports point one way, the
library never imports click, and render and check never import each other."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "geomap"
PAGE = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """The modules ``path`` imports (``from geomap import x`` counts as ``geomap.x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            if node.module == "geomap":
                out.update(f"geomap.{a.name}" for a in node.names)
    return out


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_every_module_is_on_the_architecture_page() -> None:
    listed = set(re.findall(r"`((?:cli/|store/|ingest/)?[a-z_]+\.py)`", PAGE))
    for path in MODULES.values():
        rel = str(path.relative_to(PACKAGE))
        if path.name.startswith("__") or (rel.startswith("cli/") and rel.endswith("_cmd.py")):
            continue  # __init__/__main__, and the commands (one line covers them)
        assert rel in listed, f"{rel} is missing from docs/architecture.md"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith("geomap.cli")))
def test_the_library_never_imports_click(name: str) -> None:
    assert not {m for m in imports(MODULES[name]) if m.split(".")[0] == "click"}


def test_render_and_check_never_import_each_other() -> None:
    assert "geomap.check" not in imports(MODULES["geomap.render"])
    assert "geomap.render" not in imports(MODULES["geomap.check"])


def test_module_level_imports_have_no_cycles() -> None:
    graph = {
        name: {m for m in imports(path, top_level_only=True) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path, node, dep]))
            if dep not in state:
                visit(dep, [*path, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert state and all(v == 2 for v in state.values())  # every module visited, no cycle
