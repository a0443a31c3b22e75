"""`status` reads the store through its DB-API driver (bridge.store.reader): the same answer
as through SQLAlchemy, on SQLite and on PostgreSQL, with every figure checked against the
rows written; and a store the driver path cannot vouch for is opened the usual way."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, update

from bridge import pullstate
from bridge.derive.workloads import refresh_cells
from bridge.errors import BridgeError, ConfigError
from bridge.store import open_store, revision
from bridge.store.reader import open_reader
from bridge.store.schema import (
    cursors,
    outbox,
    projects,
    quarantine,
    raw_records,
    runs,
    tickets,
    transitions,
)
from bridge.store.snapshots import current_workloads
from bridge.store.status import read_status, snapshot
from tests.derive.test_workload_definition import ROWS

NOW = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)
CONFIGURED = [("jira", "jira"), ("snow", "servicenow")]


def status_config(folder: Path, store_url: str) -> Path:
    """A configuration naming the CONFIGURED sources (unreachable, their secret unset: status
    needs neither) over `store_url`."""
    config = folder / "smo-bridge.yaml"
    config.write_text(f"state: {store_url}\nsources:\n" + "".join(
        f"  - {{name: {name}, kind: {kind}, url: 'http://127.0.0.1:9', "
        "auth: {kind: basic, username: u, password: '${UNSET_SECRET}'}}\n"
        for name, kind in CONFIGURED))
    return config


def _raw(source: str, key: str, deleted: bool = False) -> dict[str, Any]:
    return {"source": source, "stream": "issues", "key": key, "updated": NOW,
            "payload": {"key": key, "name": "Zoë"}, "content_hash": key, "deleted": deleted,
            "first_seen": NOW, "last_seen": NOW}


def _transition(tid: str, service: str, go_live: str | None, status: str) -> dict[str, Any]:
    payload = {"id": tid, "service": service, "go_live": go_live,
               "gate": {"status": status, "policy": "standard", "items": [
                   {"key": "kb_article", "status": "met",
                    "evidence": [{"detail": "KB0010001"}, {"detail": "published"}]},
                   {"key": "runbook", "status": "unmet", "late_days": 3},
                   {"key": "dr_test", "status": "waived", "after_go_live": True}]}}
    return {"id": tid, "service": service,
            "go_live": None if go_live is None else datetime.fromisoformat(go_live).date(),
            "gate_status": status, "payload": payload, "content_hash": tid, "updated_at": NOW}


def _fill(url: str) -> None:
    """A store with something in every table status reads, dead rows among them."""
    store = open_store(url)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(raw_records), [_raw("jira", "A-1"), _raw("jira", "A-2"),
                                               _raw("jira", "A-3", deleted=True),
                                               _raw("snow", "INC1"), _raw("legacy", "X-1")])
            conn.execute(insert(projects), [
                {"source": "jira", "key": "PAY", "service": "Payments", "payload": {},
                 "content_hash": "p", "updated_at": NOW}])
            conn.execute(insert(tickets), ROWS)
            conn.execute(insert(quarantine), [
                {"source": "snow", "stream": "incident", "key": k, "field": "practice",
                 "reason": "no practice", "payload": None, "at": NOW} for k in ("INC7", "INC8")])
            conn.execute(insert(runs), [
                {"kind": "sync", "source": "jira", "started_at": NOW - timedelta(hours=2),
                 "finished_at": NOW - timedelta(hours=1), "status": "ok"},
                {"kind": "sync", "source": "jira", "started_at": NOW - timedelta(hours=1),
                 "finished_at": NOW, "status": "ok"},
                {"kind": "sync", "source": "jira", "started_at": NOW,
                 "finished_at": NOW + timedelta(hours=1), "status": "failed"},
                {"kind": "sync", "source": "snow", "started_at": NOW, "finished_at": None,
                 "status": "running"},
                {"kind": "derive", "source": None, "started_at": NOW,
                 "finished_at": NOW + timedelta(days=1), "status": "ok"}])
            conn.execute(insert(transitions), [
                _transition("jira:PAY", "Payments", "2026-12-01", "at_risk"),
                _transition("snow:PRJ0010001", "HR Portal", "2026-11-02", "live_unready")])
            conn.execute(insert(outbox), [
                {"idempotency_key": f"k{i}", "target": "jira", "operation": "gate_status",
                 "payload": {}, "status": status, "created_at": NOW}
                for i, status in enumerate(["pending", "delivered", "delivered", "failed"])])
            conn.execute(insert(cursors), [
                {"source": "jira", "stream": pullstate.PULL_MARK, "updated_at": NOW,
                 "value": {"complete": False, "completed_at": "2026-11-19T08:00:00+00:00",
                           "failed_at": None, "changes": 4}},
                {"source": "snow", "stream": pullstate.PULL_MARK, "updated_at": NOW,
                 "value": {"complete": True, "completed_at": "2026-11-18T08:00:00+00:00",
                           "failed_at": "2026-11-20T08:00:00+00:00", "changes": 2}},
                {"source": "snow", "stream": "incident", "updated_at": NOW,
                 "value": {"since": "2026-11-01"}}])
            refresh_cells(conn, ZoneInfo("UTC"), NOW)
    finally:
        store.close()


def _through_sqlalchemy(url: str) -> tuple[dict[str, Any], dict[str, pullstate.PullState]]:
    store = open_store(url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            states = pullstate.all_states(conn)
            stored = current_workloads(conn)
        assert stored is not None
        return snapshot(store, CONFIGURED, pulls=True), states
    finally:
        store.close()


def test_the_driver_reads_what_sqlalchemy_reads(store_url: str) -> None:
    _fill(store_url)
    reader = open_reader(store_url)
    assert reader is not None  # the driver path, not the fallback
    reader.close()
    driven = read_status(store_url, CONFIGURED)
    through, states = _through_sqlalchemy(store_url)
    assert driven == through
    # and each figure is what the rows say, not merely the same on both paths
    by_name = {s["name"]: s for s in driven["sources"]}
    assert [s["name"] for s in driven["sources"]] == ["jira", "snow", "legacy"]
    assert by_name["jira"] == {
        "name": "jira", "kind": "jira", "last_success": "2026-11-20T09:30:15Z", "records": 2,
        "projects": 1, "tickets": len(ROWS), "quarantined": 0,
        "pull": {"complete": False, "completed_at": "2026-11-19T08:00:00+00:00",
                 "failed_at": None}}
    assert by_name["snow"]["last_success"] is None
    assert (by_name["snow"]["records"], by_name["snow"]["quarantined"]) == (1, 2)
    assert by_name["legacy"]["kind"] == "unknown"
    for name, state in states.items():
        assert by_name[name]["pull"] == {"complete": state.complete,
                                         "completed_at": state.completed_at,
                                         "failed_at": state.failed_at}
    assert by_name["legacy"]["pull"] == {"complete": True, "completed_at": None, "failed_at": None}
    assert [t["id"] for t in driven["transitions"]] == ["snow:PRJ0010001", "jira:PAY"]
    assert driven["transitions"][1] == {
        "id": "jira:PAY", "source": "jira", "project": "PAY", "service": "Payments",
        "go_live": "2026-12-01",
        "gate": {"status": "at_risk", "policy": "standard", "items": [
            {"key": "kb_article", "status": "met", "evidence": "KB0010001; published",
             "late_days": None, "after_go_live": False},
            {"key": "runbook", "status": "unmet", "evidence": "", "late_days": 3,
             "after_go_live": False},
            {"key": "dr_test", "status": "waived", "evidence": "", "late_days": None,
             "after_go_live": True}]}}
    assert driven["workloads"] and driven["workloads_as_of"] == "2026-11-20T09:30:15Z"
    assert driven["outbox"] == {"pending": 1, "failed": 1, "delivered": 2}


def test_workloads_no_derivation_stored_are_computed_on_the_driver_path(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(tickets), ROWS)
        expected = snapshot(store, CONFIGURED, NOW, pulls=True)
    finally:
        store.close()
    assert expected["workloads"]
    assert read_status(store_url, CONFIGURED, NOW) == expected


def test_an_empty_store_reads_as_empty(store_url: str) -> None:
    open_store(store_url).close()
    data = read_status(store_url, [("jira", "jira")])
    assert data["sources"] == [{"name": "jira", "kind": "jira", "last_success": None,
                                "records": 0, "projects": 0, "tickets": 0, "quarantined": 0,
                                "pull": {"complete": True, "completed_at": None,
                                         "failed_at": None}}]
    assert (data["transitions"], data["workloads"]) == ([], [])
    assert data["outbox"] == {"pending": 0, "failed": 0, "delivered": 0}


def test_a_store_the_driver_cannot_vouch_for_is_opened_the_usual_way(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert open_reader(missing) is None
    with pytest.raises(BridgeError, match="no state store at"):
        read_status(missing)
    assert list(tmp_path.iterdir()) == []  # nothing created
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert open_reader(f"sqlite:///{empty}") is None
    with pytest.raises(BridgeError, match="holds no smo-bridge tables"):
        read_status(f"sqlite:///{empty}")
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_store(url).close()
    assert open_reader(url) is not None and open_reader(f"sqlite+pysqlite:///{tmp_path / 'state.db'}")
    store = open_store(url, upgrade=False)
    with store.engine.begin() as conn:  # a schema this version does not know
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    store.close()
    assert open_reader(url) is None
    with pytest.raises(ConfigError, match="written by a newer smo-bridge"):
        read_status(url)
    for other in ("sqlite://", "sqlite:///:memory:", f"sqlite:///{tmp_path / 'state.db'}?mode=ro",
                  "postgresql://u@127.0.0.1:1/x", "mysql+pymysql://u@127.0.0.1:1/x"):
        assert open_reader(other) is None, other


def test_the_stored_revision_reads_the_same_both_ways(store_url: str) -> None:
    open_store(store_url).close()
    reader = open_reader(store_url)
    assert reader is not None
    try:
        assert revision.stored_by(reader) == revision.head()
    finally:
        reader.close()
    store = open_store(store_url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            assert revision.stored(conn) == revision.head()
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE alembic_version")
        with store.engine.connect() as conn:
            assert revision.stored(conn) is None
    finally:
        store.close()


def test_the_driver_path_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _fill(url)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name == "state.db"}
    read_status(url, CONFIGURED)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name == "state.db"} == before
    store = open_store(url, upgrade=False)
    try:  # a write after the read is not blocked by anything the read left behind
        with store.engine.begin() as conn:
            conn.execute(update(outbox).values(status="delivered"))
    finally:
        store.close()
    assert read_status(url, CONFIGURED)["outbox"] == {"pending": 0, "failed": 0, "delivered": 4}


def test_the_status_command_on_each_backend_prints_what_sqlalchemy_reads(
        store_url: str, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from bridge.cli.main import cli

    _fill(store_url)
    config = status_config(tmp_path, store_url)
    done = CliRunner().invoke(cli, ["--config", str(config), "status", "--format", "json"],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    shown = json.loads(done.output)
    through, _ = _through_sqlalchemy(store_url)
    assert shown == through


def test_an_unreachable_server_is_said_once_as_sqlalchemy_says_it() -> None:
    from bridge.errors import TransientError
    from bridge.store.database import open_existing_store

    url = "postgresql+psycopg://bridge:pw-not-shown@127.0.0.1:1/smo"
    with pytest.raises(TransientError) as driven:
        open_reader(url)
    with pytest.raises(TransientError) as through:
        open_existing_store(url)
    assert str(driven.value) == str(through.value)
    assert str(driven.value).startswith("state store postgresql+psycopg://bridge:***@127.0.0.1:1/smo "
                                        "unavailable: ")
