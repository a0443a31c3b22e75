"""Rows inserted, or inserted-or-updated, go to the driver as tuples converted by the
columns' own bind processors, on PostgreSQL as on SQLite: what they store reads back as
SQLAlchemy's own path would store it (JSON given as text or as a value, zoned timestamps,
booleans, NULLs), and a row that leaves a column to its default still goes through
SQLAlchemy, which fills it in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, select

from bridge.store import Store, bulk, open_store
from bridge.store import repository as repo
from bridge.store.schema import raw_records, tickets

pytestmark = pytest.mark.postgres

AUCKLAND = timezone(timedelta(hours=13))
OPENED = datetime(2026, 3, 5, 14, 2, 11, 123456, tzinfo=AUCKLAND)
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
PAYLOAD = {"summary": "Ren\u00e9e's \"quote\" 100%", "n": [1.5, None, True], "nested": {"k": "v"}}


def _upserts(store: Store) -> list[bool]:
    """Per insert-or-update executed from now on: whether it went to the driver as SQL text
    (`exec_driver_sql`) rather than as a statement SQLAlchemy processes row by row."""
    seen: list[bool] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        if statement.startswith("INSERT"):
            seen.append(context.compiled is None)
    return seen


def _ticket_row(key: str, **changes: Any) -> dict[str, Any]:
    text, digest = repo.serialise({**PAYLOAD, "key": key})
    return {"source": "jira", "key": key, "practice": "incident", "capability": None,
            "team": None, "status_category": "open", "priority": "P1", "project_key": "PAY",
            "transition_key": None, "opened": OPENED, "resolved": None, "effort_hours": 1.5,
            "sla_breached": True, repo.json_param("payload"): text, "content_hash": digest,
            "updated_at": NOW, **changes}


def test_rows_written_by_the_driver_read_back_equal(store_url: str) -> None:
    store = open_store(store_url)
    sent = _upserts(store)
    try:
        with store.engine.begin() as conn:
            repo.upsert(conn, tickets, ("source", "key"),
                        [_ticket_row(f"PAY-{n}", sla_breached=n % 2 == 0) for n in range(3)],
                        serialised=("payload",))
            # JSON given as a value, converted by the column's own processor
            repo.upsert(conn, raw_records, ("source", "stream", "key"), [
                {"source": "jira", "stream": "issues", "key": "PAY-1", "updated": None,
                 "payload": PAYLOAD, "content_hash": "h1", "deleted": True, "first_seen": OPENED,
                 "last_seen": OPENED, "identity": None}], keep=("first_seen",))
        with store.engine.begin() as conn:  # the same keys again: updated, `keep` kept
            repo.upsert(conn, tickets, ("source", "key"),
                        [_ticket_row("PAY-2", resolved=NOW, team="Ops", effort_hours=None,
                                     sla_breached=False)], serialised=("payload",))
            repo.upsert(conn, raw_records, ("source", "stream", "key"), [
                {"source": "jira", "stream": "issues", "key": "PAY-1", "updated": NOW,
                 "payload": {"other": None}, "content_hash": "h2", "deleted": False,
                 "first_seen": NOW, "last_seen": NOW, "identity": "10001"}], keep=("first_seen",))
        with store.engine.connect() as conn:
            found = {row.key: row for row in conn.execute(select(tickets))}
            raw = conn.execute(select(raw_records)).one()
            summary = conn.execute(select(tickets.c.payload["summary"].as_string())
                                   .where(tickets.c.key == "PAY-0")).scalar()
    finally:
        store.close()
    assert sent == [True] * 4
    assert set(found) == {"PAY-0", "PAY-1", "PAY-2"}
    first = found["PAY-0"]
    assert first.payload == {**PAYLOAD, "key": "PAY-0"}
    assert summary == PAYLOAD["summary"]  # the database's own JSON functions read it
    assert first.opened == OPENED and first.opened.utcoffset() == timedelta(0)
    assert first.opened.hour == 1 and first.opened.microsecond == 123456
    assert (first.resolved, first.team, first.capability, first.transition_key) == (None,) * 4
    assert (first.sla_breached, found["PAY-1"].sla_breached) == (True, False)
    assert first.effort_hours == 1.5
    assert first.content_hash == repo.content_hash({**PAYLOAD, "key": "PAY-0"})
    changed = found["PAY-2"]
    assert (changed.resolved, changed.team, changed.effort_hours, changed.sla_breached) == (
        NOW, "Ops", None, False)
    assert (raw.payload, raw.content_hash, raw.deleted, raw.identity) == (
        {"other": None}, "h2", False, "10001")
    assert (raw.updated, raw.first_seen, raw.last_seen) == (NOW, OPENED, NOW)


def test_a_row_leaving_a_column_to_its_default_goes_through_sqlalchemy(store_url: str) -> None:
    store = open_store(store_url)
    row = _ticket_row("PAY-9")
    del row["sla_breached"]  # its default: false
    sent = _upserts(store)
    try:
        with store.engine.begin() as conn:
            repo.upsert(conn, tickets, ("source", "key"), [row], serialised=("payload",))
        with store.engine.connect() as conn:
            found = conn.execute(select(tickets.c.sla_breached, tickets.c.payload)).one()
    finally:
        store.close()
    assert sent == [False]
    assert tuple(found) == (False, {**PAYLOAD, "key": "PAY-9"})


def test_a_naive_timestamp_is_refused_on_the_driver_path(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with pytest.raises(Exception, match="naive datetime"), store.engine.begin() as conn:
            repo.upsert(conn, tickets, ("source", "key"),
                        [_ticket_row("PAY-1", opened=datetime(2026, 3, 5, 14, 2))],
                        serialised=("payload",))
        with store.engine.connect() as conn:
            assert conn.execute(select(tickets.c.key)).all() == []
    finally:
        store.close()


def test_lookup_entries_and_quarantine_rows_written_by_the_driver_read_back_equal(
        store_url: str) -> None:
    store = open_store(store_url)
    sent = _upserts(store)
    user = {"sys_id": "u1", "name": "Ren\u00e9e", "manager": None, "active": True}
    try:
        with store.engine.begin() as conn:
            repo.replace_lookup_entries(conn, "snow", [("users", "u1", "k1", user),
                                                       ("users", "u2", "k2", {"sys_id": "u2"})])
            repo.save_lookup_changes(conn, "snow", [("users", "u2", None, None),
                                                    ("groups", "g1", "k3", {"sys_id": "g1"})])
            bulk.put_quarantine(conn, "snow", [("incident", "INC1", "opened_at", "bad date", user),
                                               ("incident", "INC2", None, "no rule", {})])
        with store.engine.connect() as conn:
            entries = sorted(repo.load_lookup_entries(conn, "snow"))
            held = {row["key"]: row for row in repo.quarantined(conn, "snow")}
    finally:
        store.close()
    assert sent == [True] * 3
    assert entries == [("groups", "g1", "k3", {"sys_id": "g1"}), ("users", "u1", "k1", user)]
    assert set(held) == {"INC1", "INC2"}
    assert (held["INC1"]["field"], held["INC1"]["reason"], held["INC1"]["payload"]) == (
        "opened_at", "bad date", user)
    assert (held["INC2"]["field"], held["INC2"]["payload"]) == (None, {})
    assert held["INC1"]["at"].utcoffset() == timedelta(0)
