"""Fixtures of the API tests: databases (SQLite, and a real PostgreSQL 15 for the store
tests), and an app under a FakeClock with one signed-in user per role.

PostgreSQL: Debian's server, started once per session on a free loopback port. Missing, it
skips the PostgreSQL half of the store tests locally and fails the run in CI (CI=true).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.db import Database
from api.sites import Sites
from estatewatch.config import SiteConfig
from tests.api.helpers import Api, make_api
from tests.api.postgres import PostgreSQL, find_bin_dir

TEMPLATE = "ew_template"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgreSQL]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL is not installed (apt-get install -y postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run the PostgreSQL store tests")
        pytest.skip(message)
    server = PostgreSQL(bin_dir)
    server.start()
    try:
        # Migrate once into a template; each test copies it (a copy takes ~70 ms).
        server.execute(f"CREATE DATABASE {TEMPLATE}")
        template = Database(server.url(TEMPLATE))
        template.migrate()
        template.dispose()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        database = Database(str(tmp_path / "store.db"))
        database.migrate()
    else:
        server: PostgreSQL = request.getfixturevalue("postgres")
        name = f"test_{next(_numbers)}"
        server.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        database = Database(server.url(name))
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def sites(example_site: SiteConfig) -> Sites:
    return Sites([example_site])


@pytest.fixture
def api(tmp_path: Path, sites: Sites) -> Iterator[Api]:
    """The app on a fresh SQLite file under a FakeClock, with a user per role."""
    with make_api(tmp_path / "api.db", sites) as running:
        yield running
