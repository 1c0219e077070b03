"""One plan for render and check: the drift bugs of issue 12, each tried as a user would.

Each case edits the sample atlas, then runs ``geomap check`` and ``geomap render`` on it:
both must say the same thing (check: an error for the map; render: refuses, listing every
problem), with a did-you-mean where a name is mistyped.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from helpers import run, snapshot

from geomap.atlas import Atlas
from geomap.check import CODES
from geomap.plan import PLAN_CODES, plan_map


def edit_spec(root: Path, name: str, change: Any) -> None:
    path = root / "maps" / f"{name}.toml"
    spec = tomllib.loads(path.read_text(encoding="utf-8"))
    change(spec)
    path.write_text(tomli_w.dumps(spec), encoding="utf-8")


def map_findings(root: Path, name: str) -> list[dict[str, Any]]:
    result = run(root, "check", "--json")
    found = json.loads(result.stdout)
    return [f for f in found if f["layer"] == f"maps/{name}"]


def refused(root: Path, name: str) -> str:
    """Render ``name``: it must be refused (exit 1, nothing written); returns stderr."""
    before = snapshot(root)
    result = run(root, "render", name)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not (root / "maps" / f"{name}.html").exists()
    after = snapshot(root)
    assert {k: v for k, v in after.items() if k != "maps/index.html"} == {
        k: v for k, v in before.items() if k != "maps/index.html"
    }
    return result.stderr


def test_plan_codes_are_check_codes_with_the_same_severity() -> None:
    for code, severity in PLAN_CODES.items():
        assert CODES[code] == severity, code


def test_misspelled_palette_is_an_error_for_both(sample: Path) -> None:
    """Was: check "atlas is clean" (exit 0), render refused the map."""
    edit_spec(sample, "economy", lambda s: s["layers"][0]["style"].update(palette="YlGnn"))
    found = map_findings(sample, "economy")
    assert [(f["code"], f["severity"], f["feature"]) for f in found] == [
        ("unknown-palette", "error", "layers[0].style")
    ]
    assert "'YlGn'" in found[0]["message"]  # did you mean
    assert run(sample, "check").exit_code == 1
    err = refused(sample, "economy")
    assert "[unknown-palette]" in err and "YlGnn" in err and "'YlGn'" in err


def test_join_on_the_wrong_column_is_one_error_naming_the_right_one(sample: Path) -> None:
    """Was: 31 near-identical warnings from check (exit 0); render refused ("没有数值")."""
    edit_spec(sample, "economy", lambda s: s["layers"][0]["join"].update(on="name"))
    found = run(sample, "check", "--json")
    findings = json.loads(found.stdout)
    assert found.exit_code == 1
    assert [(f["code"], f["layer"], f["feature"]) for f in findings] == [
        ("join-no-match", "maps/economy", "layers[0].join")
    ]
    assert "on = 'code'" in findings[0]["message"]
    err = refused(sample, "economy")
    assert "[join-no-match]" in err and "on = 'code'" in err
    assert "choropleth-no-numbers" not in err  # the consequence is not reported twice


def test_unknown_basemap_in_a_spec_is_checked(sample: Path) -> None:
    """Was: not checked at all."""
    edit_spec(sample, "minimal", lambda s: s.update(basemap="amap-im"))
    found = map_findings(sample, "minimal")
    assert [(f["code"], f["feature"]) for f in found] == [("unknown-basemap", "basemap")]
    assert "'amap-img'" in found[0]["message"]
    err = refused(sample, "minimal")
    assert "amap-im" in err and "'amap-img'" in err


def test_unknown_basemap_option_is_one_usage_error(sample: Path) -> None:
    """Was: three identical per-map failures; now click's usage error, listing the
    choices from the provider table."""
    result = run(sample, "render", "--basemap", "baidu")
    assert result.exit_code == 2
    assert result.stderr.count("baidu") == 1
    for name in ("amap", "tianditu-vec", "none"):
        assert name in result.stderr
    assert not list((sample / "maps").glob("*.html"))


def test_basemap_help_lists_the_provider_table(sample: Path) -> None:
    from geomap.basemaps import PROVIDERS

    result = run(sample, "render", "--help")
    assert all(name in result.stdout for name in PROVIDERS)


def test_every_problem_of_a_spec_in_one_run_with_did_you_mean(sample: Path) -> None:
    """A misspelled key, a misspelled layer and a bad palette: one message lists all
    three (was: three rounds of fix-and-retry)."""

    def change(spec: dict[str, Any]) -> None:
        spec["subtitel"] = "拼错的键"
        spec["layers"][1]["layer"] = "road"
        spec["layers"][0]["style"]["palette"] = "Greenz"

    edit_spec(sample, "economy", change)
    err = refused(sample, "economy")
    for needle in (
        "subtitel",
        "'subtitle'",  # did you mean
        "[unknown-layer]",
        "'road'",
        "'roads'",  # did you mean
        "[unknown-palette]",
        "Greenz",
        "'Greens'",  # did you mean
    ):
        assert needle in err, needle
    found = map_findings(sample, "economy")
    assert sorted(f["code"] for f in found) == ["invalid-spec", "unknown-layer", "unknown-palette"]
    assert all(f["severity"] == "error" for f in found)


def test_where_on_a_missing_column_suggests_the_column(sample: Path) -> None:
    edit_spec(sample, "minimal", lambda s: s["layers"][0].update(where={"nmae": ["西一村"]}))
    found = map_findings(sample, "minimal")
    assert [(f["code"], f["feature"]) for f in found] == [("unknown-column", "layers[0].where")]
    assert "'name'" in found[0]["message"]
    assert "'name'" in refused(sample, "minimal")


def test_plan_collects_problems_of_every_layer(sample: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["layers"][0]["tooltip"] = ["name", "incme_2022"]
        spec["layers"][1]["style"]["column"] = "stauts"

    edit_spec(sample, "economy", change)
    plan = plan_map(Atlas(sample), "economy")
    assert [(p.code, p.at) for p in plan.errors] == [
        ("unknown-column", "layers[0].tooltip"),
        ("unknown-column", "layers[1].style"),
    ]
    assert "'income_2022'" in plan.errors[0].message
    assert "'status'" in plan.errors[1].message


def test_too_few_values_for_the_classes_is_a_warning_not_a_raw_userwarning(
    sample: Path,
) -> None:
    """mapclassify's UserWarning used to leak raw to stderr."""
    rows = ["code,income_2022,growth"] + [f"V{i},{v},0" for i, v in ((1, 5), (2, 5), (3, 9))]
    (sample / "data" / "economy.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    edit_spec(sample, "economy", lambda s: s["layers"][0]["style"].update(k=3))
    result = run(sample, "render", "economy")
    assert result.exit_code == 0, result.output
    assert "UserWarning" not in result.stderr
    assert result.stdout == ""
    found = map_findings(sample, "economy")
    if found:  # the same warning in check, with its code
        assert {f["code"] for f in found} == {"few-classes"}
        assert "警告 (warning)" in result.stderr


@pytest.mark.parametrize("name", ["economy", "grid", "minimal"])
def test_sample_maps_plan_without_problems(sample: Path, name: str) -> None:
    plan = plan_map(Atlas(sample), name)
    assert plan.problems == []
    assert len(plan.layers) == len(plan.spec.layers if plan.spec else ())


def test_style_the_spec_got_wrong_is_not_drawn(sample: Path) -> None:
    """Found by the agreement property: ``user_defined`` without bins crashed the plan."""
    edit_spec(sample, "economy", lambda s: s["layers"][0]["style"].update(scheme="user_defined"))
    plan = plan_map(Atlas(sample), "economy")
    assert [(p.code, p.at) for p in plan.errors] == [("invalid-spec", "layers[0].style.bins")]
    assert "[invalid-spec]" in refused(sample, "economy")
