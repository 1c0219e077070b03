"""Where an atlas is stored: a folder (the default) or a PostgreSQL/PostGIS database.

A database atlas is named by a ``postgresql://`` URL given as ``--atlas``, in
``$GEOMAP_ATLAS``, or as ``store = "postgresql://…"`` in the ``atlas.toml`` of a folder.
:func:`database_url` finds that URL without importing any database code;
:mod:`geomap.store.postgis` does the rest (``pip install 'geomap[postgis]'``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from geomap.errors import SpecError

URL_PREFIXES = ("postgresql://", "postgres://")
ENV_VAR = "GEOMAP_ATLAS"
CONFIG_FILE = "atlas.toml"


def is_database_url(location: str | Path | None) -> bool:
    return isinstance(location, str) and location.startswith(URL_PREFIXES)


def _store_of(folder: Path) -> str | None:
    """The ``store`` URL in ``folder/atlas.toml``, if it names a database."""
    config = folder / CONFIG_FILE
    if not config.is_file():
        return None
    try:
        data = tomllib.loads(config.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # reported by `geomap check` like any broken atlas.toml
    store = data.get("store")
    if store is None:
        return None
    if not is_database_url(store):
        raise SpecError(
            config,
            [f"store: {str(store)!r:.60} 不是数据库地址 (expected postgresql://…)"],
        )
    return str(store)


def database_url(explicit: str | Path | None = None, cwd: Path | None = None) -> str | None:
    """The database URL of the atlas the user means, or None for a folder atlas.

    ``explicit`` (``--atlas``), else ``$GEOMAP_ATLAS``: a URL, or a folder whose atlas.toml
    says ``store = "postgresql://…"``. Without either, the nearest folder at or above
    ``cwd`` holding ``layers/`` or an ``atlas.toml`` decides.
    """
    chosen = explicit if explicit is not None else os.environ.get(ENV_VAR) or None
    if chosen is not None:
        if is_database_url(str(chosen)):
            return str(chosen)
        return _store_of(Path(chosen).expanduser())
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "layers").is_dir():
            return _store_of(folder)
        if (folder / CONFIG_FILE).is_file():
            url = _store_of(folder)
            if url:
                return url
    return None
