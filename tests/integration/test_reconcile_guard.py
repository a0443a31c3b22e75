"""Reconcile never destroys by accident: a narrowed scope is refused with its likely cause."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bridge import migrate
from bridge.config import load_config
from bridge.engine import Engine
from bridge.errors import ConfigError
from bridge.sandbox import Sandbox
from bridge.store import Store, open_store
from bridge.store.schema import raw_records, tickets
from connectors import http
from connectors.servicenow import ServiceNowConnector
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

pytestmark = pytest.mark.sandbox


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, Path, Store]]:
    monkeypatch.setattr(http, "pause", lambda seconds: None)
    with Sandbox(seed=21, tickets=300, jira_deployment="cloud") as sb:
        path = write_config(tmp_path, sb, push=False)
        store = open_store(load_config(path).state)
        try:
            assert Engine(load_config(path), store).run_cycle().exit_code == 0
            yield sb, path, store
        finally:
            store.close()


def deleted(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(raw_records).where(
            raw_records.c.deleted.is_(True))).scalar_one())


def test_a_narrowed_scope_is_refused_listed_by_dry_run_and_applied_only_with_force(
        world: tuple[Sandbox, Path, Store], tmp_path: Path) -> None:
    sb, _, store = world
    with store.engine.connect() as conn:
        per_project = dict(conn.execute(select(tickets.c.project_key, func.count()).where(
            tickets.c.source == "jira").group_by(tickets.c.project_key)).all())
    kept = max(per_project, key=lambda k: per_project[k])
    narrowed = write_config(tmp_path, sb, push=False, jira_extra=f"    projects: [{kept}]")
    config = load_config(narrowed)

    with pytest.raises(ConfigError) as refused:
        migrate.reconcile(config, store, "jira")
    message = str(refused.value)
    assert "issues record(s)" in message and "projects record(s)" in message and "more than --max-share 5%" in message
    assert "narrowed" in message and "--force" in message
    gone_projects = sorted(k for k in per_project if k != kept)
    assert all(p in message for p in gone_projects[:5])
    assert deleted(store) == 0

    dry = migrate.reconcile(config, store, "jira", dry_run=True)
    issues = next(r for r in dry.streams if r.stream == "issues")
    assert issues.deleted == sum(n for k, n in per_project.items() if k != kept)
    assert dry.derived is None and deleted(store) == 0

    # the command line says the same, exit 2, and JSON lists it
    shown = cli(narrowed, "migrate", "reconcile", "--source", "jira")
    assert shown.returncode == 2 and "narrowed" in shown.stderr
    listed = cli(narrowed, "migrate", "reconcile", "--source", "jira", "--dry-run", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    report = json.loads(listed.stdout)
    assert report["deleted"] == dry.deleted and report["cause"] == dry.cause

    forced = migrate.reconcile(config, store, "jira", force=True)
    assert forced.deleted == dry.deleted == deleted(store)
    assert forced.derived is not None and forced.derived.derived  # derivation followed
    with store.engine.connect() as conn:
        left = set(conn.execute(select(tickets.c.project_key).where(tickets.c.source == "jira")).scalars())
    assert left == {kept}


def test_an_unreadable_stream_is_named_as_a_permission_problem(
        world: tuple[Sandbox, Path, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    _, path, store = world
    config = load_config(path)
    real = ServiceNowConnector.census

    def nothing_in_problem(self: ServiceNowConnector, stream: str) -> Iterator[str]:
        # what an account that lost its read role on one table sees: an empty table
        return iter(()) if stream == "problem" else real(self, stream)

    monkeypatch.setattr(ServiceNowConnector, "census", nothing_in_problem)
    with pytest.raises(ConfigError) as refused:
        migrate.reconcile(config, store, "snow", max_share=0.5)
    assert "no record at all in problem" in str(refused.value)
    assert "read permission" in str(refused.value)


def test_servicenow_rows_hidden_by_acls_are_named_as_missing_read_permission(
        world: tuple[Sandbox, Path, Store]) -> None:
    sb, path, store = world
    sb.servicenow_store.acl_hidden = 0.6  # the account's read ACLs now hide most ticket rows
    with pytest.raises(ConfigError) as refused:
        migrate.reconcile(load_config(path), store, "snow")
    message = str(refused.value)
    assert "ServiceNow counted" in message and "row-level read ACLs" in message
    assert "missing read permission" in message
    assert deleted(store) == 0
    dry = migrate.reconcile(load_config(path), store, "snow", dry_run=True)
    hidden = [r for r in dry.streams if r.deleted]
    assert hidden and all(r.reported is not None and r.reported > r.present for r in hidden)


def test_a_servicenow_table_refused_with_403_is_named_and_changes_nothing(
        world: tuple[Sandbox, Path, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    sb, path, store = world
    real = sb.servicenow_store.may_read_table
    monkeypatch.setattr(sb.servicenow_store, "may_read_table",
                        lambda table: table.name != "problem" and real(table))
    with pytest.raises(ConfigError) as refused:
        migrate.reconcile(load_config(path), store, "snow", force=True)
    message = str(refused.value)
    assert "no census of problem" in message and "may not read table problem" in message
    assert "missing read permission" in message and "Nothing was marked deleted" in message
    assert deleted(store) == 0


def test_a_servicenow_table_showing_fewer_rows_it_counts_all_of_is_a_narrowed_scope(
        world: tuple[Sandbox, Path, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    sb, path, store = world
    real = sb.servicenow_store.select

    def narrowed(table: Any, query: Any, offset: int, limit: int, count: bool = True,
                 ) -> tuple[list[int], int | None]:
        # a query business rule (or a changed role) narrows what the account's queries match:
        # the instance counts only what it returns
        if table.name != "incident":
            return real(table, query, offset, limit, count)
        rows, _ = real(table, query, 0, 1_000_000, count)
        kept = [i for i in rows if i % 3 == 0]
        return kept[offset:offset + limit], len(kept)

    monkeypatch.setattr(sb.servicenow_store, "select", narrowed)
    with pytest.raises(ConfigError) as refused:
        migrate.reconcile(load_config(path), store, "snow")
    message = str(refused.value)
    assert "incident counts" in message and "scope was narrowed" in message
    assert "row-level" not in message
    assert deleted(store) == 0
