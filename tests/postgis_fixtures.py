"""A real PostgreSQL/PostGIS database for the tests (no mocks).

The URL comes from ``$GEOMAP_TEST_PG`` (``.ci/run`` sets it), else the one
``.ci/postgis-cluster`` creates. When nothing answers there, the fixture runs
``.ci/postgis-cluster`` itself (it starts the local cluster and creates the role and the
database; needs root and postgresql-15-postgis-3). When that is impossible the tests fail
and say why (never skipped: the README's test command installs everything they need).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://geomap:geomap@localhost:5432/geomap_test"
ENV = "GEOMAP_TEST_PG"


def _reachable(url: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT postgis_version()")
        return None
    except psycopg.Error as exc:
        return " ".join(str(exc).split())[:200]


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test database's URL (a database with PostGIS, owned by a role with CREATEROLE)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed: pip install -e '.[test]' (PostGIS tests)")
    url = os.environ.get(ENV) or DEFAULT_URL
    problem = _reachable(url)
    if problem and not os.environ.get(ENV):
        script = REPO / ".ci" / "postgis-cluster"
        run = subprocess.run([str(script)], capture_output=True, text=True, timeout=120)
        if run.returncode == 0:
            url = run.stdout.strip().splitlines()[-1]
            problem = _reachable(url)
        else:
            problem = f"{problem}; .ci/postgis-cluster failed: {run.stderr.strip()[-300:]}"
    if problem:
        _unavailable(f"no PostgreSQL/PostGIS database for the PostGIS tests ({problem})")
    return url


@pytest.fixture
def atlas_url(pg_url: str) -> Iterator[str]:
    """A URL naming a fresh, empty atlas (its own schema) in the test database."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:10]}"
    yield f"{pg_url}?atlas={schema}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}_map" CASCADE')


@pytest.fixture
def snapshot_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Snapshot folders of database atlases go under the test's temp folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GEOMAP_CACHE", str(cache))
    return cache


def _unavailable(reason: str) -> None:
    """Fail, never skip: the README's test command installs psycopg (test extra) and PostGIS
    (Debian package), and the cluster is started above, so a missing part is an error to fix,
    not a reason to pass without the PostGIS tests."""
    pytest.fail(reason)
