"""Fixtures shared by every test folder: state stores on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.pg import find_pg_bin, running_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on loopback (or $SMO_BRIDGE_TEST_POSTGRES_URL)."""
    given = os.environ.get("SMO_BRIDGE_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = find_pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run installs Debian's postgresql package")
        pytest.skip("PostgreSQL binaries not found (apt-get install postgresql)")
    with running_server(bindir, "smo-bridge-pg-") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Each store test runs on SQLite and on PostgreSQL, in a fresh database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('state') / 'state.db'}"
    base: str = request.getfixturevalue("postgres_url")
    return fresh_database(base)


def fresh_database(base_url: str) -> str:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)
