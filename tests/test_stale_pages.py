"""Issue 11, class 3: a map that can no longer be rendered safely does not stay published.

The old ``maps/<map>.html`` holds the values of the last successful render. When a field it
shows is marked private afterwards (the render now refuses the spec), when a personal column
appears unmarked, or when the map spec is deleted, the old page must go: render says so on
stderr, the index marks the map and links nothing, and no old value stays under maps/.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from helpers import run

SECRET = f"CONTACT-{uuid.uuid4().hex[:10]}"


def add_column(root: Path, name: str, values: list[object]) -> None:
    path = root / "layers" / "villages.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    for feature, value in zip(data["features"], values, strict=True):
        feature["properties"][name] = value
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def show_in_tooltip(root: Path, column: str) -> None:
    (root / "maps" / "minimal.toml").write_text(
        'title = "最简地图"\nbasemap = "none"\n[[layers]]\nlayer = "villages"\n'
        f'tooltip = ["name", "{column}"]\n',
        encoding="utf-8",
    )


def published(root: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in (root / "maps").glob("*.html"))


def test_marking_a_shown_field_private_withdraws_the_page(sample: Path) -> None:
    add_column(sample, "contact", [f"{SECRET}-{i}" for i in range(3)])
    show_in_tooltip(sample, "contact")
    assert run(sample, "render").exit_code == 0
    assert SECRET in (sample / "maps" / "minimal.html").read_text(encoding="utf-8")
    index = (sample / "maps" / "index.html").read_text(encoding="utf-8")
    assert 'href="minimal.html"' in index

    meta = sample / "layers" / "villages.toml"
    meta.write_text(
        meta.read_text(encoding="utf-8") + "\n[fields.contact]\nprivate = true\n",
        encoding="utf-8",
    )
    result = run(sample, "render")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "contact" in result.stderr and "maps/minimal.html" in result.stderr
    assert not (sample / "maps" / "minimal.html").exists()
    assert SECRET not in published(sample)
    index = (sample / "maps" / "index.html").read_text(encoding="utf-8")
    assert 'href="minimal.html"' not in index
    assert "旧页面已撤下" in index
    # The other maps are still published.
    assert (sample / "maps" / "economy.html").is_file() and 'href="economy.html"' in index


def test_an_unmarked_personal_column_withdraws_the_page(sample: Path) -> None:
    assert run(sample, "render", "minimal").exit_code == 0
    show_in_tooltip(sample, "households")
    assert run(sample, "render", "minimal").exit_code == 0
    # The layer is replaced by data that now holds phone numbers in a shown column.
    add_column(sample, "households", [13812345670.0, None, 13912345671.0])
    result = run(sample, "render", "minimal")
    assert result.exit_code == 1
    assert "households" in result.stderr
    assert not (sample / "maps" / "minimal.html").exists()
    assert "13812345670" not in published(sample)
    assert "13812345670" not in result.output


def test_a_deleted_map_spec_withdraws_its_page(sample: Path) -> None:
    assert run(sample, "render").exit_code == 0
    hand_made = sample / "maps" / "notes.html"
    hand_made.write_text("<p>a page a person put here</p>", encoding="utf-8")
    (sample / "maps" / "grid.toml").unlink()
    result = run(sample, "render")
    assert result.exit_code == 0, result.output
    assert not (sample / "maps" / "grid.html").exists()
    assert "maps/grid.html" in result.stderr
    assert hand_made.is_file()  # not geomap's: left alone
    assert 'href="grid.html"' not in (sample / "maps" / "index.html").read_text(encoding="utf-8")


def test_a_broken_spec_withdraws_only_its_own_page(sample: Path) -> None:
    assert run(sample, "render").exit_code == 0
    economy = (sample / "maps" / "economy.html").read_bytes()
    (sample / "maps" / "minimal.toml").write_text('title = "x"\nlayers = [{layer = "nope"}]\n')
    result = run(sample, "render")
    assert result.exit_code == 1
    assert not (sample / "maps" / "minimal.html").exists()
    assert (sample / "maps" / "economy.html").read_bytes() == economy
