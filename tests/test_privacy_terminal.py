"""Issue 11, class 7 (privacy): no private value in what render, check or add print, and no
map spec that uses a private field as a filter (an oracle: "which villages have owner X").
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import tomli_w
from helpers import run

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


IDS = [resident_id(f"3311251985061{i:04d}") for i in range(8)]


def set_villages(root: Path, column: str, values: list[object]) -> None:
    path = root / "layers" / "villages.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    for feature, value in zip(data["features"], values, strict=True):
        feature["properties"][column] = value
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def edit_toml(path: Path, change: object) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(tomli_w.dumps(data), encoding="utf-8")


def test_where_on_a_private_field_is_refused(sample: Path) -> None:
    set_villages(sample, "owner", ["张三", "李四", "王五"])
    edit_toml(
        sample / "layers" / "villages.toml",
        lambda d: d["fields"].update(owner={"private": True}),
    )
    (sample / "maps" / "oracle.toml").write_text(
        'title = "x"\nbasemap = "none"\n[[layers]]\nlayer = "villages"\nwhere = {owner = ["张三"]}\n',
        encoding="utf-8",
    )
    rendered = run(sample, "render", "oracle")
    assert rendered.exit_code == 1
    assert "owner" in rendered.stderr and "private" in rendered.stderr
    assert not (sample / "maps" / "oracle.html").exists()
    checked = run(sample, "check", "--json")
    codes = {(f["code"], f["layer"]) for f in json.loads(checked.stdout)}
    assert ("private-in-spec", "maps/oracle") in codes
    assert "张三" not in rendered.output and "张三" not in checked.output


def id_keyed_join(root: Path) -> None:
    """Villages keyed by the household head's resident ID (marked private), joined to a table
    keyed the same way, with rows and features that do not match."""
    set_villages(root, "head_id", IDS[:3])
    edit_toml(
        root / "layers" / "villages.toml",
        lambda d: d["fields"].update(head_id={"private": True}),
    )
    rows = [f"{IDS[0]},1.5", f"{IDS[4]},2.5", f"{IDS[5]},3", f"{IDS[5]},4"]
    (root / "data" / "heads.csv").write_text(
        "head_id,subsidy\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    (root / "data" / "heads.toml").write_text(
        'title = "补助"\nkey = "head_id"\nsource = "测试"\n[columns.head_id]\nlabel = "户主"\nprivate = true\n'
        '[columns.subsidy]\nlabel = "补助"\nunit = "万元"\ntype = "number"\n',
        encoding="utf-8",
    )
    (root / "maps" / "heads.toml").write_text(
        'title = "补助"\nbasemap = "none"\n[[layers]]\nlayer = "villages"\n'
        'tooltip = ["name", "subsidy"]\njoin = {table = "heads", on = "head_id"}\n',
        encoding="utf-8",
    )


def test_join_warnings_never_print_private_keys(sample: Path) -> None:
    id_keyed_join(sample)
    rendered = run(sample, "render", "heads")
    assert rendered.exit_code == 0, rendered.output
    assert "私密" in rendered.stderr  # the warnings are there, without the keys
    checked = run(sample, "check")
    checked_json = run(sample, "check", "--json")
    assert "table-key-unmatched" in checked_json.stdout
    assert "duplicate-table-key" in checked_json.stdout
    for output in (rendered.output, checked.output, checked_json.output):
        for rid in IDS:
            assert rid not in output
            assert rid[:14] not in output  # not even region + birth date


def test_add_key_errors_never_print_personal_values(sample: Path, tmp_path: Path) -> None:
    src = tmp_path / "heads.csv"
    src.write_text(
        "head_id,lon,lat\n"
        + "\n".join(f"{IDS[i % 2]},{119.46 + i * 0.001},28.44" for i in range(4))
        + "\n",
        encoding="utf-8",
    )
    result = run(sample, "add", str(src), "--name", "heads", "--key", "head_id")
    assert result.exit_code == 1
    assert "head_id" in result.stderr
    for rid in IDS[:2]:
        assert rid not in result.output
