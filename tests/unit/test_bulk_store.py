"""Pages stored in bulk, alike on SQLite and PostgreSQL: one insert-or-update statement for
what is new or changed, unchanged records recognised by digest, first sightings kept; and
lookups by key that probe the unique index even on a PostgreSQL table never analysed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text

from bridge.models import Project, RawRecord, SourceRef, Ticket
from bridge.store import Store, open_store, pipelining
from bridge.store import repository as repo
from bridge.store.schema import projects, raw_records, tickets

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def ticket(key: str, summary: str) -> Ticket:
    return Ticket(ref=SourceRef(source="jira", stream="issues", key=key), key=key,
                  summary=summary, opened=T0)


def project(key: str, service: str = "Payments") -> Project:
    return Project(ref=SourceRef(source="jira", stream="projects", key=key), key=key,
                   name=f"{key} project", service=service)


def raw(key: str, summary: str, deleted: bool = False) -> RawRecord:
    return RawRecord(source="jira", stream="issues", key=key, updated=T0,
                     payload={"id": key.split("-")[1], "fields": {"summary": summary}},
                     deleted=deleted)


def statements(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first word of each statement the store runs, also of a write sent without
    waiting (PostgreSQL), which bypasses SQLAlchemy's events."""
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: seen.append(statement.split()[0].upper()))
    send = pipelining.send_many

    def sent(conn: Any, sql: str, params: Any) -> bool:
        done = send(conn, sql, params)
        if done:
            seen.append(sql.split()[0].upper())
        return done
    monkeypatch.setattr(pipelining, "send_many", sent)
    return seen


def stored(store: Store) -> dict[str, tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return {r.key: (r.payload["fields"]["summary"], r.deleted, r.first_seen, r.last_seen)
                for r in conn.execute(select(raw_records))}


def test_a_page_is_one_lookup_and_one_insert_or_update(store_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            first = repo.store_raw(conn, [raw(f"PAY-{n}", "new") for n in range(1200)], now=T0)
        assert (first.inserted, first.updated, first.unchanged) == (1200, 0, 0)
        page = ([raw(f"PAY-{n}", "new") for n in range(0, 600)]  # unchanged
                + [raw(f"PAY-{n}", "edited") for n in range(600, 1000)]  # changed
                + [raw(f"PAY-{n}", "new", deleted=True) for n in range(1000, 1100)]
                + [raw(f"PAY-{n}", "new") for n in range(1200, 1300)])  # new
        seen = statements(store, monkeypatch)
        with store.engine.begin() as conn:
            second = repo.store_raw(conn, page, now=T1)
        assert (second.inserted, second.updated, second.unchanged, second.deleted) == (100, 400, 600, 100)
        assert sorted(r.key for r in second.changed) == sorted(
            [f"PAY-{n}" for n in range(600, 1100)] + [f"PAY-{n}" for n in range(1200, 1300)])
        # the lookup of 1,200 keys in chunks of 500, one statement for the deletions, one for
        # 500 inserts and updates
        assert [s for s in seen if s not in ("BEGIN", "COMMIT")] == ["SELECT"] * 3 + ["UPDATE", "INSERT"]
        rows = stored(store)
        assert rows["PAY-1"] == ("new", False, T0, T0)  # unchanged: not even touched
        assert rows["PAY-700"] == ("edited", False, T0, T1)  # first seen kept
        assert rows["PAY-1050"] == ("new", True, T0, T1)
        assert rows["PAY-1250"] == ("new", False, T1, T1)
        with store.engine.begin() as conn:
            back = repo.store_raw(conn, [raw("PAY-1050", "new")], now=T1 + timedelta(hours=1))
        assert (back.updated, stored(store)["PAY-1050"][1]) == (1, False)  # deleted, then back
    finally:
        store.close()


def test_entities_are_written_when_they_changed_only(store_url: str) -> None:
    store = open_store(store_url)
    try:
        batch = [ticket(f"PAY-{n}", summary="first") for n in range(700)]
        with store.engine.begin() as conn:
            assert repo.upsert_tickets(conn, batch, now=T0) == 700
            assert repo.upsert_projects(conn, [project("PAY"), project("OPS")], now=T0) == 2
        with store.engine.begin() as conn:
            again = [ticket(f"PAY-{n}", summary="first" if n % 2 else "second") for n in range(700)]
            assert repo.upsert_tickets(conn, again, now=T1) == 350
            assert repo.upsert_projects(conn, [project("PAY"), project("OPS", service="Ops")],
                                        now=T1) == 1
            assert not repo.upsert_project(conn, project("PAY"), now=T1)
        with store.engine.connect() as conn:
            found = dict(conn.execute(select(tickets.c.key, tickets.c.updated_at)).all())
            services = dict(conn.execute(select(projects.c.key, projects.c.service)).all())
        assert found["PAY-0"] == T1 and found["PAY-1"] == T0
        assert services == {"PAY": "Payments", "OPS": "Ops"}
    finally:
        store.close()


def test_a_lookup_by_key_probes_the_unique_index_on_a_table_never_analysed(postgres_url: str) -> None:
    from tests.conftest import fresh_database

    store = open_store(fresh_database(postgres_url))
    try:
        with store.engine.begin() as conn:
            repo.store_raw(conn, [raw(f"PAY-{n}", "new") for n in range(3000)], now=T0)
            repo.store_raw(conn, [RawRecord(source="jira", stream="other", key=f"X-{n}",
                                            payload={"n": n}) for n in range(3000)], now=T0)
        plans: list[str] = []

        @event.listens_for(store.engine, "before_cursor_execute", retval=True)
        def explain(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> Any:
            if statement.startswith("SELECT found"):
                cursor.execute("EXPLAIN (FORMAT JSON) " + statement, params)
                plans.append(json.dumps(cursor.fetchone()[0]))
            return statement, params

        with store.engine.begin() as conn:
            found = repo.lookup_by(conn, (raw_records.c.key,), raw_records,
                                   {"source": "jira", "stream": "issues"}, "key",
                                   [f"PAY-{n}" for n in range(0, 3000, 7)])
            analysed = conn.execute(text(
                "SELECT coalesce(last_analyze, last_autoanalyze) FROM pg_stat_user_tables "
                "WHERE relname = 'raw_records'")).scalar()
        assert len(found) == len(range(0, 3000, 7))
        assert analysed is None
        assert plans and all("uq_raw_records_source_stream_key" in p for p in plans)
        # the key is a condition of the index probe, never a filter over the whole stream
        assert all('"Filter"' not in p for p in plans)
    finally:
        store.close()



def test_payloads_are_stored_as_json_every_reader_reads(store_url: str) -> None:
    payload = {"z": 1, "id": "7", "fields": {"summary": "Ren\u00e9e's \"quote\"", "n": [1.5, None, True]}}
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            repo.store_raw(conn, [RawRecord(source="jira", stream="issues", key="PAY-7", updated=T0,
                                            payload=payload)], now=T0)
            repo.upsert_tickets(conn, [ticket("PAY-7", summary="Ren\u00e9e")], now=T0)
        with store.engine.connect() as conn:
            back = conn.execute(select(raw_records.c.payload, raw_records.c.content_hash)).one()
            summary = conn.execute(select(
                raw_records.c.payload["fields"]["summary"].as_string())).scalar()
            ticket_summary = conn.execute(select(tickets.c.payload["summary"].as_string())).scalar()
            stored_ticket = Ticket.model_validate(conn.execute(select(tickets.c.payload)).scalar())
        assert back == (payload, repo.content_hash(payload))
        assert summary == "Ren\u00e9e's \"quote\""  # the database's own JSON functions read it
        assert ticket_summary == "Ren\u00e9e"
        assert stored_ticket == ticket("PAY-7", summary="Ren\u00e9e")
    finally:
        store.close()


def test_a_column_left_to_its_default_is_filled_in(store_url: str) -> None:
    store = open_store(store_url)
    row = {"source": "jira", "key": "PAY-1", "status_category": "new", "opened": T0,
           "payload": {"key": "PAY-1"}, "content_hash": "h", "updated_at": T0}
    try:
        with store.engine.begin() as conn:
            repo.upsert(conn, tickets, ("source", "key"), [row])  # no sla_breached: its default
            repo.upsert(conn, tickets, ("source", "key"), [{**row, "opened": T1}])
        with store.engine.connect() as conn:
            found = conn.execute(select(tickets.c.sla_breached, tickets.c.opened,
                                        tickets.c.payload)).one()
        assert tuple(found) == (False, T1, {"key": "PAY-1"})
    finally:
        store.close()


def test_serialisations_given_with_a_page_are_what_it_would_work_out(store_url: str) -> None:
    """The reader serialises each record ahead (`raw_serialisation`); a page that repeats a
    key keeps the last copy's serialisation, and a deletion has none."""
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            repo.store_raw(conn, [raw(f"PAY-{n}", "new") for n in range(10)], now=T0)
        page = ([raw("PAY-1", "new"), raw("PAY-2", "first copy"), raw("PAY-2", "second copy"),
                 raw("PAY-3", "new", deleted=True), raw("PAY-20", "new")])
        given = [repo.raw_serialisation(r) for r in page]
        assert given[3] is None
        with store.engine.begin() as conn:
            written = repo.store_raw(conn, page, now=T1, serialised=given)
        assert (written.inserted, written.updated, written.unchanged, written.deleted) == (1, 1, 1, 1)
        rows = stored(store)
        assert rows["PAY-2"] == ("second copy", False, T0, T1)
        with store.engine.connect() as conn:
            digest = conn.execute(select(raw_records.c.content_hash).where(
                raw_records.c.key == "PAY-2")).scalar()
        assert digest == repo.content_hash(page[2].payload) == given[2][1]  # type: ignore[index]
    finally:
        store.close()
