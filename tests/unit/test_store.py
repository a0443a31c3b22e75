from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select

from bridge.store import open_store
from bridge.store.database import head_revision
from bridge.store.schema import metadata, outbox, projects, raw_records, runs, tickets, transitions
from bridge.store.status import snapshot


def test_new_store_is_at_head_and_matches_the_tables(store_url: str) -> None:
    store = open_store(store_url)
    try:
        assert store.current_revision() == head_revision()
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        store.close()


def test_upgrade_is_idempotent_in_place(store_url: str) -> None:
    store = open_store(store_url)
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(insert(runs).values(kind="sync", source="jira", started_at=now, status="ok",
                                         finished_at=now))
    store.close()
    again = open_store(store_url)
    try:
        with again.engine.connect() as conn:
            assert conn.execute(select(runs.c.source)).scalars().all() == ["jira"]
    finally:
        again.close()


def test_timestamps_come_back_in_utc(store_url: str) -> None:
    store = open_store(store_url)
    auckland = timezone(timedelta(hours=13))
    stamp = datetime(2024, 3, 5, 14, 2, 11, tzinfo=auckland)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(raw_records).values(
                source="jira", stream="issues", key="PAY-1", updated=stamp, payload={"a": 1},
                content_hash="h", deleted=False, first_seen=stamp, last_seen=stamp))
            back = conn.execute(select(raw_records.c.updated)).scalar_one()
        assert back == stamp
        assert back.utcoffset() == timedelta(0)
        assert back.hour == 1
    finally:
        store.close()


def test_naive_timestamps_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with pytest.raises(Exception, match="naive datetime"), store.engine.begin() as conn:
            conn.execute(insert(runs).values(kind="sync", started_at=datetime(2024, 1, 1)))
    finally:
        store.close()


def test_status_of_a_new_store_has_the_four_keys(store_url: str) -> None:
    store = open_store(store_url)
    try:
        data = snapshot(store, [("jira", "jira")])
    finally:
        store.close()
    assert set(data) >= {"sources", "transitions", "workloads", "outbox"}
    assert data["sources"] == [{"name": "jira", "kind": "jira", "last_success": None,
                                "records": 0, "projects": 0, "tickets": 0, "quarantined": 0}]
    assert data["transitions"] == [] and data["workloads"] == []
    assert data["outbox"] == {"pending": 0, "failed": 0, "delivered": 0}


def test_status_counts_what_is_stored(store_url: str) -> None:
    store = open_store(store_url)
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    try:
        with store.engine.begin() as conn:
            for i in range(3):
                conn.execute(insert(raw_records).values(
                    source="snow", stream="incident", key=f"INC{i}", updated=now, payload={},
                    content_hash=str(i), deleted=False, first_seen=now, last_seen=now))
            conn.execute(insert(projects).values(source="snow", key="PRJ1", payload={},
                                                 content_hash="x", updated_at=now))
            for i, (cat, opened, resolved) in enumerate([
                ("todo", now - timedelta(days=2), None),
                ("done", now - timedelta(days=3), now - timedelta(days=1)),
                ("todo", now - timedelta(days=90), None),
            ]):
                conn.execute(insert(tickets).values(
                    source="snow", key=f"INC{i}", practice="incident_management",
                    capability="operational", team="Network", status_category=cat,
                    opened=opened, resolved=resolved, sla_breached=False, payload={},
                    content_hash="h", updated_at=now))
            conn.execute(insert(transitions).values(
                id="snow:PRJ1", service="Payments", go_live=now.date(), gate_status="at_risk",
                content_hash="h", updated_at=now,
                payload={"id": "snow:PRJ1", "service": "Payments", "go_live": "2026-11-22",
                         "projects": [{"source": "snow", "stream": "pm_project", "key": "PRJ1"}],
                         "gate": {"status": "at_risk", "items": [
                             {"key": "kb_article", "status": "met",
                              "evidence": [{"kind": "article", "ref": "KB1", "detail": "KB0010001 published"}]}]}}))
            conn.execute(insert(outbox).values(idempotency_key="k1", target="snow", operation="gate",
                                               payload={}, status="failed", created_at=now))
            conn.execute(insert(runs).values(kind="sync", source="snow", started_at=now,
                                             finished_at=now, status="ok"))
        data = snapshot(store, [("snow", "servicenow")], now=now)
    finally:
        store.close()
    assert data["sources"] == [{"name": "snow", "kind": "servicenow",
                                "last_success": "2026-11-22T08:00:00Z", "records": 3,
                                "projects": 1, "tickets": 3, "quarantined": 0}]
    assert data["workloads"] == [{"capability": "operational", "practice": "incident_management",
                                  "team": "Network", "open": 2, "opened": 2, "closed": 1,
                                  "median_age_days": 46.0, "window_days": 30}]
    assert data["transitions"][0]["gate"] == {
        "status": "at_risk", "policy": None, "items": [{"key": "kb_article", "status": "met",
                                        "evidence": "KB0010001 published", "late_days": None,
                                        "after_go_live": False}]}
    assert data["transitions"][0]["project"] == "PRJ1"
    assert data["outbox"] == {"pending": 0, "failed": 1, "delivered": 0}


def test_an_existing_database_is_upgraded_in_place(store_url: str) -> None:
    from alembic import command

    from bridge.store.database import Store, _alembic_config, create_store_engine

    old = Store(create_store_engine(store_url))
    cfg = _alembic_config()
    with old.engine.begin() as conn:  # a database made by the first release
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO raw_records (source, stream, key, payload, content_hash, deleted, first_seen, "
            "last_seen) VALUES ('jira', 'issues', 'PAY-1', '{\"id\": \"10001\"}', 'h', false, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    assert old.current_revision() == "0001"
    old.close()
    store = open_store(store_url)
    try:
        assert store.current_revision() == head_revision()
        with store.engine.connect() as conn:
            row = conn.execute(select(raw_records.c.key, raw_records.c.payload, raw_records.c.identity)).one()
        assert tuple(row) == ("PAY-1", {"id": "10001"}, None)
    finally:
        store.close()


def test_a_record_under_a_new_key_retires_the_old_one(store_url: str) -> None:
    from bridge.models import RawRecord
    from bridge.store.repository import store_raw

    store = open_store(store_url)
    moved = {"id": "10001", "fields": {"summary": "VPN drops"}}
    try:
        with store.engine.begin() as conn:
            store_raw(conn, [RawRecord(source="jira", stream="issues", key="PAY-1", payload=moved)],
                      identity_field="id")
        with store.engine.begin() as conn:
            result = store_raw(conn, [RawRecord(source="jira", stream="issues", key="OPS-7", payload=moved)],
                               identity_field="id")
            live = conn.execute(select(raw_records.c.key).where(raw_records.c.deleted.is_(False))).scalars().all()
        assert live == ["OPS-7"]
        assert result.inserted == 1 and result.deleted == 1
        assert [(r.key, r.deleted) for r in result.changed] == [("OPS-7", False), ("PAY-1", True)]
    finally:
        store.close()


def test_a_record_moved_within_one_page_leaves_only_its_new_key(store_url: str) -> None:
    """A read that meets an issue before and after its move hands both over in one page."""
    from bridge.models import RawRecord
    from bridge.store.repository import store_raw

    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            result = store_raw(conn, [
                RawRecord(source="jira", stream="issues", key="OPS-7", payload={"id": "4242", "v": 1}),
                RawRecord(source="jira", stream="issues", key="OPS-8", payload={"id": "4243"}),
                RawRecord(source="jira", stream="issues", key="PAY-31", payload={"id": "4242", "v": 2}),
            ], identity_field="id")
            live = conn.execute(select(raw_records.c.key).where(raw_records.c.deleted.is_(False))
                                .order_by(raw_records.c.key)).scalars().all()
        assert live == ["OPS-8", "PAY-31"]
        assert result.deleted == 1
    finally:
        store.close()


def _live_after(store_url: str, *pages: list[tuple[str, str]]) -> tuple[list[str], int]:
    """The live keys after storing each page of (key, id) as Jira issues, and how many
    records the last page retired."""
    from bridge.models import RawRecord
    from bridge.store.repository import store_raw

    store = open_store(store_url)
    try:
        for records in pages:
            with store.engine.begin() as conn:
                result = store_raw(conn, [
                    RawRecord(source="jira", stream="issues", key=key, payload={"id": issue_id})
                    for key, issue_id in records], identity_field="id")
        with store.engine.connect() as conn:
            live = conn.execute(select(raw_records.c.key).where(raw_records.c.deleted.is_(False))
                                .order_by(raw_records.c.key)).scalars().all()
    finally:
        store.close()
    return list(live), result.deleted


def test_a_stored_record_the_page_gives_another_identity_is_no_move(store_url: str) -> None:
    """Moves are looked up before the page is written: a stored record that the page itself
    rewrites counts with its new identity, as it would once written."""
    assert _live_after(store_url, [("PAY-1", "1")], [("PAY-1", "5"), ("OPS-3", "1")]) == (
        ["OPS-3", "PAY-1"], 0)


def test_a_stored_record_the_page_gives_a_new_records_identity_is_retired(store_url: str) -> None:
    assert _live_after(store_url, [("PAY-1", "1")], [("PAY-1", "2"), ("OPS-9", "2")]) == (
        ["OPS-9"], 1)


def test_writers_on_several_threads_never_meet_a_locked_database(store_url: str) -> None:
    """Two pull jobs of one daemon write from two threads: each transaction reads, then
    writes. On SQLite a deferred transaction would fail at once with "database is locked"."""
    import threading

    from sqlalchemy import func as sql_func

    from bridge.store.schema import cursors

    store = open_store(store_url)
    failures: list[str] = []

    def job(n: int) -> None:
        for i in range(40):
            try:
                with store.engine.begin() as conn:
                    conn.execute(select(sql_func.count()).select_from(cursors)).scalar_one()
                    conn.execute(cursors.insert().values(source=f"s{n}", stream=f"t{i}", value={},
                                                         updated_at=datetime.now(UTC)))
            except Exception as exc:  # counted: the assertion names them
                failures.append(str(exc).splitlines()[0])

    try:
        threads = [threading.Thread(target=job, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        with store.engine.connect() as conn:
            assert conn.execute(select(sql_func.count()).select_from(cursors)).scalar_one() == 160
    finally:
        store.close()


def test_a_failed_statement_never_shows_the_record_it_carried(store_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    from bridge.store.schema import cursors

    store = open_store(store_url)
    try:
        row = {"source": "jira", "stream": "issues", "value": {"who": "ana.ruiz@example.com"},
               "updated_at": datetime.now(UTC)}
        with store.engine.begin() as conn:
            conn.execute(cursors.insert().values(**row))
        with pytest.raises(IntegrityError) as raised, store.engine.begin() as conn:
            conn.execute(cursors.insert().values(**row))
        assert "ana.ruiz@example.com" not in str(raised.value)
    finally:
        store.close()
