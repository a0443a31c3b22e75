"""Evidence links find each key's stream by probing (source, stream, key), on SQLite and
PostgreSQL alike: a deleted record gives no link, a key in two streams links the first
stored, and SQLite no longer walks every record of the source for it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from bridge.models import RawRecord
from bridge.store import open_store
from bridge.store import repository as repo
from bridge.web.data import links_for

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
BASES = {"jira": ("jira", "https://jira.example"), "snow": ("servicenow", "https://sn.example")}


def raw(source: str, stream: str, key: str, deleted: bool = False) -> RawRecord:
    return RawRecord(source=source, stream=stream, key=key, payload={"k": key}, deleted=deleted)


def test_links_name_each_live_keys_stream(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            repo.store_raw(conn, [raw("jira", "projects", "PAY")], now=T0)
            repo.store_raw(conn, [raw("jira", "issues", f"PAY-{n}") for n in range(1, 1200)], now=T0)
            repo.store_raw(conn, [raw("jira", "issues", "PAY"), raw("jira", "issues", "GONE-1")], now=T0)
            repo.store_raw(conn, [raw("jira", "issues", "GONE-1", deleted=True)], now=T0)
            repo.store_raw(conn, [raw("snow", "pm_project_task", "PRJTASK1")], now=T0)
        plans: list[str] = []
        if store.dialect == "sqlite":
            @event.listens_for(store.engine, "before_cursor_execute")
            def explain(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
                if "IN (__[POSTCOMPILE" in statement or (" IN (?" in statement and "raw_records" in statement):
                    plans.extend(str(row) for row in cursor.connection.execute(
                        "EXPLAIN QUERY PLAN " + statement, parameters))
        refs = ["jira:PAY", "jira:PAY-7", "jira:PAY-1199", "jira:GONE-1", "jira:NOPE-1",
                "snow:PRJTASK1", "other:X-1", *(f"jira:PAY-{n}" for n in range(100, 700))]
        with store.engine.connect() as conn:
            links = links_for(conn, BASES, refs)
    finally:
        store.close()
    assert links.streams[("jira", "PAY")] == "projects"  # stored first
    assert links.streams[("jira", "PAY-7")] == links.streams[("jira", "PAY-1199")] == "issues"
    assert ("jira", "GONE-1") not in links.streams and ("jira", "NOPE-1") not in links.streams
    assert links.streams[("snow", "PRJTASK1")] == "pm_project_task"
    assert len(links.streams) == 4 + 600  # PAY, PAY-7, PAY-1199, PRJTASK1 and PAY-100..699
    if store.dialect == "sqlite":
        assert plans and all("raw_records_source_deleted" not in p for p in plans), plans
        assert all("stream=? AND key=?" in p for p in plans if "SEARCH raw_records" in p), plans
