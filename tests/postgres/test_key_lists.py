"""Statements over a page's keys (quarantine released, records deleted, tickets removed):
on PostgreSQL one array parameter, so the statement text is the same whatever the number of
keys; on both backends they touch exactly the rows with those keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from bridge.models import RawRecord, SourceRef, Ticket
from bridge.store import Store, bulk, open_store
from bridge.store import repository as repo
from bridge.store.schema import quarantine, raw_records, tickets

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _deletes(store: Store) -> list[str]:
    seen: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def capture(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.startswith(("DELETE", "UPDATE")):
            seen.append(statement)
    return seen


def test_released_keys_leave_the_other_quarantine_rows(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            for stream, key in [("issues", "PAY-1"), ("issues", "PAY-2"), ("issues", "PAY-3"),
                                ("projects", "PAY-1")]:
                repo.put_quarantine(conn, "jira", stream, key, "bad date", "created", {"k": key})
        sent = _deletes(store)
        with store.engine.begin() as conn:
            repo.release_quarantine(conn, "jira", "issues", ["PAY-1", "PAY-3"])
            repo.release_quarantine(conn, "jira", "issues",
                                    ["PAY-3", *(f"OTHER-{n}" for n in range(600))])
        with store.engine.connect() as conn:
            left = sorted(conn.execute(select(quarantine.c.stream, quarantine.c.key)).all())
    finally:
        store.close()
    assert left == [("issues", "PAY-2"), ("projects", "PAY-1")]
    if store.dialect == "postgresql":  # 2 keys, then 500 and 101: one statement text
        assert len(sent) == 3 and len(set(sent)) == 1 and "ANY" in sent[0]


def test_deleted_records_and_removed_tickets_are_those_keyed(store_url: str) -> None:
    store = open_store(store_url)
    records = [RawRecord(source="jira", stream="issues", key=f"PAY-{n}", payload={"id": str(n)})
               for n in range(6)]
    try:
        with store.engine.begin() as conn:
            repo.store_raw(conn, records, now=T0)
            repo.upsert_tickets(conn, [
                Ticket(ref=SourceRef(source="jira", stream="issues", key=r.key), key=r.key,
                       summary="s", opened=T0) for r in records], now=T0)
        with store.engine.begin() as conn:
            gone = repo.store_raw(conn, [records[1].model_copy(update={"deleted": True}),
                                         records[4].model_copy(update={"deleted": True})], now=T0)
            removed = bulk.remove_tickets_of(conn, "jira", "issues", ["PAY-2", "PAY-5", "NONE"])
        with store.engine.connect() as conn:
            deleted = dict(conn.execute(select(raw_records.c.key, raw_records.c.deleted)).all())
            kept = sorted(conn.execute(select(tickets.c.key)).scalars())
    finally:
        store.close()
    assert gone.deleted == 2
    assert deleted == {f"PAY-{n}": n in (1, 4) for n in range(6)}
    assert removed == ["PAY-2", "PAY-5"]
    assert kept == ["PAY-0", "PAY-1", "PAY-3", "PAY-4"]
