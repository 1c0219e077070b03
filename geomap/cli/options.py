"""Options shared by several commands, each defined once.

Choices come from the registries in the library (the basemap table in
:mod:`geomap.basemaps`), so help texts and validation never drift from what the code offers.
"""

from __future__ import annotations

import click

from geomap.basemaps import DEFAULT, PROVIDERS

json_option = click.option("--json", "as_json", is_flag=True, help="机器可读的 JSON 输出 (stable).")

basemap_option = click.option(
    "--basemap",
    type=click.Choice(list(PROVIDERS)),
    help=f"底图 (basemap). Default: the map spec's, else atlas.toml's, else {DEFAULT}.",
)
