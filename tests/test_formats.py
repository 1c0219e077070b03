"""The one list of file formats (geomap/ingest/formats.py) is what detection, the CLI help
and the docs say: a format added to the list shows up everywhere, or a test here fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from geomap.cli.main import cli
from geomap.errors import DataError
from geomap.exchange import DRIVERS
from geomap.exchange import FORMATS as WRITTEN
from geomap.ingest.formats import FORMATS, by_name, by_suffix, detect, exported

REPO = Path(__file__).resolve().parents[1]
DOCS = (REPO / "docs" / "formats.md").read_text("utf-8")
README = (REPO / "README.md").read_text("utf-8")


def docs_table() -> list[list[str]]:
    """The rows of the format table in docs/formats.md, cells without backticks."""
    section = DOCS.split("## Files geomap reads and writes", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]  # no header
    return [[c.strip().replace("`", "") for c in row.strip("|").split("|")] for row in rows]


def test_docs_table_is_the_registry() -> None:
    expected = [
        [
            f.title,
            f.name,
            " ".join(f.suffixes),
            "—" if f.name == "zip" else ("yes" if f.zipped else "no"),
            f.export or "—",
        ]
        for f in FORMATS
    ]
    assert docs_table() == expected


def test_readme_names_every_format_and_every_export_format() -> None:
    bullet = README.split("- **Formats**", 1)[1].split("\n- **", 1)[0]
    for f in FORMATS:
        assert f.title in bullet, f.title
    commands = re.search(r"export-data LAYER \[--format ([a-z|]+)\]", README)
    assert commands and commands.group(1).split("|") == list(exported())
    table = README.split("## Handing data to QGIS and ArcGIS", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z]+)`", table, flags=re.M)
    assert rows == list(exported())


def test_cli_help_lists_the_registry() -> None:
    add = CliRunner().invoke(cli, ["add", "--help"], terminal_width=400).output
    for f in FORMATS:
        assert f.title in add and all(s in add for s in f.suffixes), f.name
    export = CliRunner().invoke(cli, ["export-data", "--help"], terminal_width=400).output
    assert "[" + "|".join(exported()) + "]" in export
    for name, f in exported().items():
        assert f"{name} = {f.title}" in export


def test_export_side_comes_from_the_registry() -> None:
    assert WRITTEN == {"gpkg": ".gpkg", "shp": ".shp", "geojson": ".geojson", "csv": ".csv"}
    assert DRIVERS == {"gpkg": "GPKG", "shp": "ESRI Shapefile", "geojson": "GeoJSON"}


def test_names_and_suffixes_are_unique() -> None:
    names = [f.name for f in FORMATS]
    suffixes = [s for f in FORMATS for s in f.suffixes]
    assert len(set(names)) == len(names) and len(set(suffixes)) == len(suffixes)
    assert all(s == s.lower() and s.startswith(".") for s in suffixes)
    assert by_name("gpkg-zip") is by_name("gpkg") and by_suffix(".SHP") is by_name("shapefile")


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"SQLite format 3\x00rest", "gpkg"),
        (b"PK\x03\x04rest", "zip"),
        (b'\xef\xbb\xbf \r\n{"type": "FeatureCollection"}', "geojson"),
        (b"  <?xml version='1.0'?><kml/>", "kml"),
    ],
)
def test_detected_by_first_bytes_without_a_suffix(tmp_path: Path, head: bytes, name: str) -> None:
    src = tmp_path / "download"
    src.write_bytes(head)
    assert detect(src).name == name


def test_unknown_content_lists_every_format(tmp_path: Path) -> None:
    src = tmp_path / "notes.bin"
    src.write_bytes(b"\x00\x01 nothing geomap reads")
    with pytest.raises(DataError, match="unrecognised format") as exc:
        detect(src)
    assert all(f.title in str(exc.value) for f in FORMATS)


@pytest.mark.parametrize(("suffix", "hint"), [(".dbf", "give the .shp"), (".xls", ".xlsx")])
def test_near_misses_say_what_to_give(tmp_path: Path, suffix: str, hint: str) -> None:
    src = tmp_path / f"村界{suffix}"
    src.write_bytes(b"x")
    with pytest.raises(DataError, match=re.escape(hint)):
        detect(src)
