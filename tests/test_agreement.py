"""Property: for any map spec, ``check`` reports an error for the map exactly when
``render`` refuses it, and render's refusal lists the same problems.

hypothesis mutates the sample atlas's specs the ways people get them wrong: misspelled keys,
layers, tables, columns, palettes, schemes and basemaps; bad colours and k; where-filters on
missing fields; joins on the wrong column; private fields; text columns shaded as numbers.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sample_atlas
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from geomap.atlas import Atlas
from geomap.check import map_findings
from geomap.errors import GeomapError
from geomap.plan import PlanError, plan_map
from geomap.render import RenderOptions, render_map


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    root = sample_atlas.build(tmp_path_factory.mktemp("agree") / "atlas")
    # One private field to name by mistake.
    meta_path = root / "layers" / "villages.toml"
    meta = tomllib.loads(meta_path.read_text(encoding="utf-8"))
    meta["fields"]["households"]["private"] = True
    meta_path.write_text(tomli_w.dumps(meta), encoding="utf-8")
    bases = {
        name: tomllib.loads((root / "maps" / f"{name}.toml").read_text(encoding="utf-8"))
        for name in ("economy", "grid", "minimal")
    }
    for name in bases:
        (root / "maps" / f"{name}.toml").unlink()
    saved = os.environ.pop("GEOMAP_TIANDITU_KEY", None)
    yield root, bases
    if saved is not None:
        os.environ["GEOMAP_TIANDITU_KEY"] = saved


def typo(word: str) -> st.SearchStrategy[str]:
    """``word`` with one letter dropped, doubled or swapped, or case changed."""
    n = len(word)
    edits = [word[:i] + word[i + 1 :] for i in range(n)]
    edits += [word[:i] + word[i] + word[i:] for i in range(n)]
    edits += [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(n - 1)]
    edits += [word.upper(), word.lower()]
    return st.sampled_from(sorted({e for e in edits if e and e != word}))


LAYERS = ["villages", "grids", "houses", "roads"]
COLUMNS = ["name", "code", "households", "income_2022", "growth", "status", "has_hazard"]
PALETTES = ["YlGn", "Blues", "Set2", "Paired", "viridis", "RdBu_r", "YlGnn", "greens", "Bluez"]
SCHEMES = ["quantiles", "natural_breaks", "equal_interval", "user_defined", "jenks"]
BASEMAPS = ["none", "amap", "osm", "geoq", "tianditu-vec", "baidu", "amap-im", "NONE"]
COLORS = ["#2ca25f", "#fff", "red", "#12345g", "#ABCDEF"]


def words(base: str, others: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(others), typo(base))


def mutation(layer_count: int) -> st.SearchStrategy[tuple[str, int, Any]]:
    """(what, which layer, new value)."""
    i = st.integers(0, layer_count - 1)
    return st.one_of(
        st.tuples(st.just("top-key"), st.just(0), st.sampled_from(["title", "basemap", "layers"])),
        st.tuples(st.just("layer-key"), i, st.sampled_from(["tooltip", "style", "join", "where"])),
        st.tuples(st.just("layer"), i, words("villages", LAYERS)),
        st.tuples(st.just("table"), i, words("economy", ["economy", "nosuch"])),
        st.tuples(st.just("join-on"), i, st.sampled_from(COLUMNS)),
        st.tuples(st.just("tooltip"), i, st.lists(words("name", COLUMNS), max_size=3)),
        st.tuples(st.just("style-column"), i, words("income_2022", COLUMNS)),
        st.tuples(
            st.just("style-type"), i, st.sampled_from(["single", "categorical", "choropleth"])
        ),
        st.tuples(st.just("palette"), i, st.sampled_from(PALETTES)),
        st.tuples(st.just("scheme"), i, st.sampled_from(SCHEMES)),
        st.tuples(st.just("k"), i, st.integers(-1, 12)),
        st.tuples(st.just("color"), i, st.sampled_from(COLORS)),
        st.tuples(st.just("colors"), i, st.sampled_from(COLORS)),
        st.tuples(st.just("where"), i, words("code", COLUMNS)),
        st.tuples(st.just("basemap"), st.just(0), st.sampled_from(BASEMAPS)),
        st.tuples(st.just("rollup-sum"), i, words("has_hazard", COLUMNS)),
    )


def apply(spec: dict[str, Any], what: str, i: int, value: Any) -> None:
    layers = spec.get("layers") or spec.get("layerS") or [{}]
    layer = layers[min(i, len(layers) - 1)]
    style = layer.setdefault("style", {})
    if what == "top-key":
        if value in spec:
            spec[value[:-1] + value[-1].upper()] = spec.pop(value)
    elif what == "layer-key":
        if value in layer:
            layer[value + "s"] = layer.pop(value)
    elif what == "layer":
        layer["layer"] = value
    elif what == "table":
        layer["join"] = {"table": value, "on": layer.get("join", {}).get("on", "code")}
    elif what == "join-on":
        layer["join"] = {"table": layer.get("join", {}).get("table", "economy"), "on": value}
    elif what == "tooltip":
        layer["tooltip"] = value
    elif what == "style-column":
        style["column"] = value
    elif what == "style-type":
        style["type"] = value
    elif what == "palette":
        style["palette"] = value
    elif what == "scheme":
        style["scheme"] = value
    elif what == "k":
        style["k"] = value
    elif what == "color":
        style["color"] = value
    elif what == "colors":
        style["colors"] = {"在建": value}
    elif what == "where":
        layer["where"] = {value: ["V1", "R1", "H1", "V1-1"]}
    elif what == "basemap":
        spec["basemap"] = value
    elif what == "rollup-sum":
        layer["rollup"] = {"from": "houses", "count": "n", "sum": {"total": value}}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_check_reports_an_error_exactly_when_render_refuses(
    world: tuple[Path, dict[str, Any]], data: st.DataObject
) -> None:
    root, bases = world
    base = data.draw(st.sampled_from(sorted(bases)), label="base")
    spec = tomllib.loads(tomli_w.dumps(bases[base]))
    for what, i, value in data.draw(
        st.lists(mutation(len(spec["layers"])), min_size=1, max_size=3), label="mutations"
    ):
        apply(spec, what, i, value)
    (root / "maps" / "m.toml").write_text(tomli_w.dumps(spec), encoding="utf-8")
    atlas = Atlas(root)

    errors = {
        (f.code, f.feature) for f in map_findings(plan_map(atlas, "m")) if f.severity == "error"
    }
    try:
        render_map(atlas, "m", RenderOptions(force=True))
        refusal: GeomapError | None = None
    except GeomapError as exc:
        refusal = exc
    finally:
        (root / "maps" / "m.html").unlink(missing_ok=True)

    event("refused" if refusal is not None else "rendered")
    for code, _ in sorted(errors):
        event(code)
    assert (refusal is not None) == bool(errors), (errors, refusal)
    if refusal is not None:
        # Render refuses with every problem check reports, and nothing else.
        assert isinstance(refusal, PlanError), refusal
        listed = {(p.code, p.at) for p in refusal.plan.errors}
        assert listed == errors
        for code, _ in errors:
            assert f"[{code}]" in str(refusal)
