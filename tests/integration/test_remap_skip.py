"""A record the new mapping skips (or a pulled record no rule maps any more) no longer has a ticket: the remap removes the ticket it
produced, in its transaction, and the impact report counts it (the dry run's report is the
applied remap's, on SQLite and PostgreSQL). Records a mapping quarantined are released when
the next one maps them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge import impact, migrate
from bridge.config import BridgeConfig
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.sandbox.jira_data import TYPE_NAMES
from bridge.store import Store, open_store
from bridge.store.schema import quarantine, tickets
from connectors import http
from mappings.loader import default_path
from tests.conftest import fresh_database
from tests.integration.test_cycle import write_config
from tests.integration.test_remap_impact import changed_mapping, digests, first_synced, use_mapping

pytestmark = pytest.mark.sandbox

RULE = "  - name: every issue\n    stream: issues\n"


def skipping_changes() -> str:
    """The shipped Jira mapping, with change issues no longer mapped to tickets."""
    text = default_path("jira").read_text()
    assert RULE in text
    return text.replace(RULE, RULE + "    when: {not: {path: fields.issuetype.name, equals: Change}}\n", 1)


def jira_tickets(store: Store) -> dict[str, str | None]:
    """key -> type of the stored Jira tickets."""
    with store.engine.connect() as conn:
        return {key: payload.get("type") for key, payload in conn.execute(
            select(tickets.c.key, tickets.c.payload).where(tickets.c.source == "jira"))}


def stored_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BridgeConfig:
    """A SQLite store after a first sync; the skipping mapping written beside the config."""
    with first_synced(tmp_path, monkeypatch) as (path, _, _):
        pass
    (tmp_path / "jira.yaml").write_text(skipping_changes())
    return use_mapping(path)


def check_remap_removes_skipped(config: BridgeConfig, store: Store) -> None:
    before = jira_tickets(store)
    changes = sorted(k for k, kind in before.items() if kind == "Change")
    assert changes and len(changes) < len(before)
    untouched = digests(store)

    _, reported = migrate.remap(config, store, "jira", dry_run=True, push=False)
    assert digests(store) == untouched  # a dry run removes nothing
    assert reported.tickets_removed.count == len(changes)
    examples = reported.tickets_removed.examples  # the first in stored (the database's key) order
    assert len(examples) == min(len(changes), impact.KEEP)
    assert set(examples) <= {f"jira:{k}" for k in changes}
    assert reported.summary()["tickets_removed"] == len(changes)
    assert "no longer mapped" in impact.render_markdown(reported, "remap")

    _, done = migrate.remap(config, store, "jira", push=False)
    assert asdict(done) == asdict(reported)  # record for record
    after = jira_tickets(store)
    assert sorted(before.keys() - after.keys()) == changes
    assert all(kind != "Change" for kind in after.values())
    assert done.tickets_compared == len(after)

    _, again = migrate.remap(config, store, "jira", dry_run=True, push=False)
    assert again.empty  # removed once: nothing left to remove


def test_a_record_the_new_mapping_skips_loses_its_ticket(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config = stored_world(tmp_path, monkeypatch)
    store = open_store(config.state)
    try:
        check_remap_removes_skipped(config, store)
    finally:
        store.close()


@pytest.mark.postgres
def test_the_same_on_postgresql(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = stored_world(tmp_path, monkeypatch)
    lite = open_store(config.state)
    try:
        pg_url = fresh_database(postgres_url)
        migrate.copy_state(lite, pg_url)
    finally:
        lite.close()
    store = open_store(pg_url)
    try:
        check_remap_removes_skipped(config, store)
    finally:
        store.close()


def maps_every_issue() -> str:
    return default_path("jira").read_text()


def skips_unresolved_issues() -> str:
    return default_path("jira").read_text().replace(
        RULE, RULE + "    when: {path: fields.resolutiondate, exists: true}\n", 1)


@pytest.mark.parametrize("next_mapping", [maps_every_issue, skips_unresolved_issues])
def test_records_quarantined_by_one_mapping_are_released_by_the_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, next_mapping: Callable[[], str]) -> None:
    """Whether the next mapping maps the held records or no longer selects them."""
    config = stored_world(tmp_path, monkeypatch)
    (tmp_path / "jira.yaml").write_text(changed_mapping())  # unresolved tickets refused
    store = open_store(config.state)
    try:
        _, refused = migrate.remap(config, store, "jira", push=False)
        held = refused.summary()["quarantined"]
        assert held and refused.summary()["released"] == 0

        (tmp_path / "jira.yaml").write_text(next_mapping())
        _, reported = migrate.remap(config, store, "jira", dry_run=True, push=False)
        assert reported.summary()["released"] == held and reported.summary()["quarantined"] == 0
        assert {g.field for g in reported.released} == {"resolved"}
        _, done = migrate.remap(config, store, "jira", push=False)
        assert asdict(done) == asdict(reported)
        with store.engine.connect() as conn:
            assert conn.execute(select(quarantine.c.key).where(quarantine.c.source == "jira")).all() == []
        _, again = migrate.remap(config, store, "jira", dry_run=True, push=False)
        assert again.empty
    finally:
        store.close()


def test_a_pulled_record_now_skipped_loses_its_ticket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sync: an issue edited so that no rule maps it any more takes its ticket with it."""
    monkeypatch.setattr(http, "pause", lambda seconds: None)
    with Sandbox(seed=21, tickets=300, jira_deployment="cloud") as sb:
        path = write_config(tmp_path, sb)
        (tmp_path / "jira.yaml").write_text(skipping_changes())
        config = use_mapping(path)
        store = open_store(config.state)
        try:
            assert Engine(config, store).run_cycle().exit_code == 0
            before = jira_tickets(store)
            data = sb.jira_store.data
            kept = [h for h in range(len(data.cols["type"]))
                    if data.key_of(h) in before and before[data.key_of(h)] != "Change"]
            edited, untouched = kept[0], kept[1]
            data.cols["type"][edited] = TYPE_NAMES.index("Change")
            sb.jira_store.touch(edited)
            sb.jira_store.touch(untouched)  # changed too, still mapped: keeps its ticket
            assert Engine(config, store).run_cycle().exit_code == 0
            after = jira_tickets(store)
        finally:
            store.close()
    assert before.keys() - after.keys() == {data.key_of(edited)}
    assert data.key_of(untouched) in after
