"""Declared totals (``[[totals]]``) and field bases in layer and table metadata."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import tomli_w
from click.testing import CliRunner

from geomap.cli.main import cli
from geomap.errors import SpecError
from geomap.spec import parse_layer_meta, parse_table_meta
from geomap.totals import Total, parse_totals, verify

PATH = Path("layers/x.toml")


def test_count_sum_where_and_growth() -> None:
    df = pd.DataFrame(
        {
            "kind": ["C", "D", "C", None],
            "flag": [1, 0, 1.0, 1],
            "new": [110.0, 220.0, "bad", 0.5],
            "old": [100.0, 200.0, 0.0, 0.5],
        }
    )
    totals = (
        Total(value=4),
        Total(value=2, where={"kind": ("C",)}),
        Total(value=3, where={"flag": ("1",)}),  # 1, 1.0 and "1" agree
        Total(value=330.5, column="new"),  # a text cell adds nothing
        Total(value=9.98, column="new", growth_from="old"),  # (330.5 / 300.5 - 1) %
        Total(value=2, where={"kind": ("C",), "flag": ("1",)}),
    )
    assert verify(df, totals) == []
    wrong = (Total(value=5), Total(value=330.4, column="new"), Total(value=1, column="nope"))
    found = verify(df, wrong)
    assert [(m.index, m.found, m.missing) for m in found] == [
        (0, 4.0, None),
        (1, 330.5, None),
        (2, None, "nope"),
    ]


def test_declared_decimals_set_the_precision() -> None:
    assert Total(value=2323.12).decimals == 2
    assert Total(value=66).decimals == 0
    assert Total(value=336.7).decimals == 1
    df = pd.DataFrame({"v": [0.1, 0.2]})
    assert verify(df, (Total(value=0.3, column="v"),)) == []  # 0.30000000000000004


def test_parse_reports_every_problem() -> None:
    problems: list[str] = []
    raw = [
        {"value": 3, "column": "a", "where": {"type": "社区"}, "unit": "个", "source": "2022(四)"},
        {"value": "7"},
        {"value": 1, "colum": "a"},
        {"value": 1, "growth_from": "b"},
        {"value": 1, "where": {"t": [True]}},
        "x",
    ]
    totals = parse_totals(raw, problems)
    assert totals == (
        Total(value=3, column="a", where={"type": ("社区",)}, unit="个", source="2022(四)"),
    )
    text = "\n".join(problems)
    for where in (
        "totals[1].value",
        "totals[2].colum",
        "totals[3].growth_from",
        "totals[4].where.t",
        "totals[5]",
    ):
        assert where in text, where


def test_layer_and_table_metadata_carry_basis_section_and_totals() -> None:
    meta = parse_layer_meta(
        "x",
        {
            "title": "X",
            "key": "code",
            "fields": {
                "n": {"label": "数", "unit": "个", "basis": "report", "section": "2022(四)"},
                "m": {"label": "M"},
            },
            "totals": [{"value": 1}],
        },
        PATH,
    )
    assert meta.fields["n"].basis == "report" and meta.fields["n"].section == "2022(四)"
    assert meta.fields["m"].basis is None  # not declared: allowed
    assert meta.totals == (Total(value=1),)
    table = parse_table_meta(
        "t",
        {
            "title": "T",
            "key": "code",
            "columns": {"v": {"label": "V", "basis": "illustrative"}},
            "totals": [{"value": 2, "column": "v"}],
        },
        PATH,
    )
    assert table.columns["v"].basis == "illustrative" and table.totals[0].column == "v"


def test_bad_basis_and_unknown_keys_are_still_reported() -> None:
    with pytest.raises(SpecError) as err:
        parse_layer_meta(
            "x",
            {
                "title": "X",
                "key": "code",
                "fields": {"n": {"label": "数", "basis": "guess", "colour": "red"}},
                "totals": [{"value": 1, "nope": 2}],
                "extra": 1,
            },
            PATH,
        )
    text = "\n".join(err.value.problems)
    assert "fields.n.basis" in text and "fields.n.colour" in text
    assert "totals[0].nope" in text and "extra" in text


def _points(path: Path, n: int) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"code": f"H{i}", "rating": "C" if i < 2 else None},
            "geometry": {"type": "Point", "coordinates": [119.48 + i * 1e-3, 28.45]},
        }
        for i in range(n)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def test_replace_keeps_totals_drops_basis_and_check_compares(tmp_path: Path) -> None:
    """A new delivery replacing an illustrative layer: the report's totals stay and are
    checked against it; the old basis (illustrative) is not claimed for the new data."""
    root = tmp_path / "atlas"
    (root / "layers").mkdir(parents=True)
    runner = CliRunner()

    def cli_run(*args: str) -> Any:
        return runner.invoke(cli, ["--atlas", str(root), *args])

    first = cli_run("add", str(_points(tmp_path / "a.geojson", 3)), "--name", "houses")
    assert first.exit_code == 0, first.output
    toml_path = root / "layers" / "houses.toml"
    meta = tomllib.loads(toml_path.read_text("utf-8"))
    assert all("basis" not in f for f in meta["fields"].values())  # add cannot know it
    meta["fields"]["rating"].update(label="危房等级", basis="illustrative")
    meta["totals"] = [{"value": 2, "where": {"rating": "C"}, "unit": "幢", "source": "2022(三)"}]
    toml_path.write_text(tomli_w.dumps(meta), "utf-8")
    assert cli_run("check").exit_code == 0

    new = _points(tmp_path / "b.geojson", 1)  # one C house only
    replaced = cli_run("add", str(new), "--name", "houses", "--replace")
    assert replaced.exit_code == 0, replaced.output
    meta = tomllib.loads(toml_path.read_text("utf-8"))
    assert meta["fields"]["rating"]["label"] == "危房等级"
    assert "basis" not in meta["fields"]["rating"]
    assert meta["totals"][0]["value"] == 2
    result = cli_run("check", "--json")
    assert result.exit_code == 1
    (finding,) = [f for f in json.loads(result.stdout) if f["code"] == "total-mismatch"]
    assert finding["layer"] == "houses" and finding["feature"] == "totals[0]"
    assert "应为 2幢" in finding["message"] and "实际为 1幢" in finding["message"]
