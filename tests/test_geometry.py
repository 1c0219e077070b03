"""The geometry family, decided in one function for render, check and `geomap layers`."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geomap.geometry import families, family_of, present_types


def geoms(*wkts: str | None) -> np.ndarray:
    return np.array([None if w is None else shapely.from_wkt(w) for w in wkts], dtype=object)


@pytest.mark.parametrize(
    ("wkts", "family"),
    [
        (["POINT (1 2)", "MULTIPOINT ((1 2), (3 4))"], "point"),
        (["LINESTRING (0 0, 1 1)", "MULTILINESTRING ((0 0, 1 1))"], "line"),
        (["POLYGON ((0 0, 1 0, 1 1, 0 0))", "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)))"], "polygon"),
        # Missing and empty geometries do not decide the family.
        (["POINT (1 2)", None, "POLYGON EMPTY"], "point"),
        # A mixture or nothing at all is drawn as paths.
        (["POINT (1 2)", "LINESTRING (0 0, 1 1)"], "polygon"),
        ([None, "POINT EMPTY"], "polygon"),
    ],
)
def test_family_of(wkts: list[str | None], family: str) -> None:
    assert family_of(geoms(*wkts)) == family


def test_present_types_and_families_name_mixtures() -> None:
    types = present_types(geoms("POINT (1 2)", "MULTILINESTRING ((0 0, 1 1))", None))
    assert types == {"Point", "MultiLineString"}
    assert families(types) == {"point", "line"}
    assert families({"GeometryCollection"}) == {"collection"}
