"""On PostgreSQL a page's raw records are sent without waiting for the server, which writes
them while the engine maps the page: the write is answered before the transaction's next
statement, its commit or its rollback, and a write the server refuses fails its page like
any other statement, leaving nothing of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from psycopg import pq
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError

from bridge.models import RawRecord
from bridge.store import Store, open_store
from bridge.store import repository as repo
from bridge.store.schema import raw_records
from tests.conftest import fresh_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    store = open_store(fresh_database(postgres_url))
    try:
        yield store
    finally:
        store.close()


def page(*keys: str) -> list[RawRecord]:
    return [RawRecord(source="jira", stream="issues", key=key, payload={"id": key, "n": 1})
            for key in keys]


def refused(records: list[RawRecord]) -> list[tuple[str, str] | None]:
    """Serialisations the server's JSON type refuses (the client does not look)."""
    return [("{not json", "0" * 64) for _ in records]


def in_pipeline(conn: Connection) -> bool:
    return conn.connection.dbapi_connection.pgconn.pipeline_status != pq.PipelineStatus.OFF  # type: ignore[union-attr]


def count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(raw_records)).scalar_one())


def test_a_page_is_in_flight_until_the_next_statement_which_sees_it(store: Store) -> None:
    with store.engine.begin() as conn:
        written = repo.store_raw(conn, page("PAY-1", "PAY-2"))
        assert written.inserted == 2
        assert in_pipeline(conn)  # returned without waiting for the server
        keys = conn.execute(select(raw_records.c.key).order_by(raw_records.c.key)).scalars().all()
        assert not in_pipeline(conn)
    assert keys == ["PAY-1", "PAY-2"]
    assert count(store) == 2


def test_a_refused_write_fails_the_next_statement_naming_its_own(store: Store) -> None:
    records = page("PAY-1", "PAY-2")
    with pytest.raises(DBAPIError) as failed, store.engine.begin() as conn:
        repo.store_raw(conn, records, serialised=refused(records))
        conn.execute(select(raw_records.c.key)).all()
    assert failed.value.statement.startswith("INSERT INTO raw_records")
    assert "json" in str(failed.value.orig)
    assert "not json" not in str(failed.value)  # parameters are records: never shown
    assert count(store) == 0
    with store.engine.begin() as conn:  # the connection went back to the pool usable
        repo.store_raw(conn, page("PAY-3"))
    assert count(store) == 1


def test_a_refused_write_fails_the_commit_when_nothing_follows_it(store: Store) -> None:
    records = page("PAY-1")
    with pytest.raises(DBAPIError, match="json"), store.engine.begin() as conn:
        repo.store_raw(conn, records, serialised=refused(records))
    assert count(store) == 0


def test_a_failure_before_the_answer_rolls_the_write_back_with_its_own_error(store: Store) -> None:
    records = page("PAY-1")
    with pytest.raises(RuntimeError, match="mapping failed"), store.engine.begin() as conn:
        repo.store_raw(conn, records, serialised=refused(records))
        raise RuntimeError("mapping failed")
    assert count(store) == 0
