"""The bridge's PostgreSQL sessions compress stored payloads with lz4 where the server
offers it: a session setting any role may make, so a role that owns nothing but its
database gets it too; a server without lz4 keeps its default."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bridge.models import RawRecord
from bridge.store import open_store
from bridge.store import repository as repo

pytestmark = pytest.mark.postgres


def _own_role_database(base_url: str) -> str:
    """A new login role without any privilege but its own new database."""
    role, password = f"r_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB PASSWORD '{password}'"))
        conn.execute(text(f'CREATE DATABASE "{role}" OWNER {role}'))
    admin.dispose()
    return make_url(base_url).set(username=role, password=password, database=role).render_as_string(
        hide_password=False)


def test_stored_payloads_are_compressed_with_lz4_when_the_server_offers_it(postgres_url: str) -> None:
    store = open_store(_own_role_database(postgres_url))
    try:
        with store.engine.connect() as conn:
            offered = conn.execute(text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'")).scalar()
        with store.engine.begin() as conn:
            repo.store_raw(conn, [RawRecord(source="jira", stream="issues", key=f"PAY-{n}",
                                            payload={"n": n, "description": "words " * 2000})
                                  for n in range(3)], now=datetime.now(UTC))
        with store.engine.connect() as conn:
            methods = set(conn.execute(text(
                "SELECT pg_column_compression(payload) FROM raw_records")).scalars())
            back = conn.execute(text("SELECT payload FROM raw_records WHERE key = 'PAY-2'")).scalar()
    finally:
        store.close()
    assert methods == ({"lz4"} if offered else {"pglz"})
    assert back == {"n": 2, "description": "words " * 2000}
