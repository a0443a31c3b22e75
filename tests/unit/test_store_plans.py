"""How SQLite runs the statements a page of records costs: through the index meant for them,
never a scan that grows with the store (a first load would be quadratic in its size)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bridge.errors import ConfigError
from bridge.models import RawRecord
from bridge.store import open_store
from bridge.store.database import SQLITE_PAGE_SIZE, create_store_engine
from bridge.store.repository import store_raw


def _plans(url: str, records: list[list[RawRecord]], marker: str) -> list[str]:
    """The query plans of the statements containing `marker` that storing `records` (page
    by page, identities by `id`) issues."""
    store = open_store(url)
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        if marker in statement and not executemany:
            seen.append((statement, parameters))

    try:
        for page in records:
            event.listen(store.engine, "before_cursor_execute", capture)
            try:
                with store.engine.begin() as conn:
                    store_raw(conn, page, identity_field="id")
            finally:
                event.remove(store.engine, "before_cursor_execute", capture)
        assert seen, f"no statement with {marker!r} was issued"
        with store.engine.connect() as conn:
            return [" | ".join(str(row[-1]) for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters)) for statement, parameters in seen]
    finally:
        store.close()


def _issues(start: int, count: int) -> list[RawRecord]:
    return [RawRecord(source="jira", stream="issues", key=f"OPS-{i}", payload={"id": str(i)})
            for i in range(start, start + count)]


def test_a_moved_record_is_looked_up_by_its_identity_index(tmp_path: Path) -> None:
    """The (source, deleted) index also matches that lookup's conditions; taking it would
    read every live record of the source for each page stored."""
    plans = _plans(f"sqlite:///{tmp_path / 'state.db'}", [_issues(0, 300), _issues(300, 300)],
                   "raw_records.identity IN")
    assert plans and all("ix_raw_records_identity_source_stream" in plan for plan in plans), plans


def test_stored_digests_are_looked_up_by_the_key_index(tmp_path: Path) -> None:
    plans = _plans(f"sqlite:///{tmp_path / 'state.db'}", [_issues(0, 300), _issues(300, 300)],
                   'raw_records."key" IN')
    assert plans and all("sqlite_autoindex_raw_records_1" in plan for plan in plans), plans


def test_a_new_sqlite_store_has_large_pages(tmp_path: Path) -> None:
    """Payloads of a few KB fill 4 KB pages one to a page, or spill over."""
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == SQLITE_PAGE_SIZE
    finally:
        store.close()


@pytest.mark.parametrize("url", ["mysql://smo:secret@db/smo", "mssql+pyodbc://smo@dsn"])
def test_a_backend_other_than_sqlite_or_postgresql_is_refused_by_name(url: str) -> None:
    """The store's statements (insert-or-update, locks) exist for those two only."""
    with pytest.raises(ConfigError) as caught:
        create_store_engine(url)
    assert "SQLite or PostgreSQL" in str(caught.value)
    assert "secret" not in str(caught.value)
