"""A mapping change seen before it is applied: the dry run's report is what the remap then
does, record for record; `mappings diff` reports the same from the two files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge import impact, migrate
from bridge.config import BridgeConfig, load_config
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.store import Store, open_store
from bridge.store.schema import metadata, quarantine, tickets
from connectors import http
from mappings.loader import default_path
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

pytestmark = pytest.mark.sandbox


def changed_mapping() -> str:
    """Problems counted as incidents, the Database team renamed, unresolved tickets
    refused (resolution date required)."""
    text = default_path("jira").read_text()
    for old, new in (
        ("practice: problem_management}", "practice: incident_management}"),
        ("      Database: Database\n", "      Database: Data Platform\n"),
        ("      resolved: fields.resolutiondate\n",
         "      resolved: {path: fields.resolutiondate, required: true}\n"),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    return text


@contextmanager
def first_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 ) -> Iterator[tuple[Path, BridgeConfig, Store]]:
    """The remap tests' world: a sandbox (seed 21, 300 tickets, Jira Cloud) and the SQLite
    store of one cycle of it, with the config's path; store and sandbox end on exit."""
    monkeypatch.setattr(http, "pause", lambda seconds: None)
    with Sandbox(seed=21, tickets=300, jira_deployment="cloud") as sb:
        path = write_config(tmp_path, sb)
        config = load_config(path)
        store = open_store(config.state)
        try:
            assert Engine(config, store).run_cycle().exit_code == 0
            yield path, config, store
        finally:
            store.close()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, BridgeConfig, Store]]:
    with first_synced(tmp_path, monkeypatch) as (path, config, store):
        (tmp_path / "jira.yaml").write_text(changed_mapping())
        yield path, config, store


def digests(store: Store) -> dict[str, tuple[int, str]]:
    with store.engine.connect() as conn:
        return {t.name: migrate.table_digest(conn, t) for t in metadata.sorted_tables}


def use_mapping(path: Path) -> BridgeConfig:
    path.write_text(path.read_text().replace(
        "    retry: {max_attempts: 6, base_delay: 0.01, max_delay: 0.2}\n\n",
        "    retry: {max_attempts: 6, base_delay: 0.01, max_delay: 0.2}\n    mappings: [jira.yaml]\n", 1))
    return load_config(path)


def test_the_dry_run_reports_what_the_remap_then_applies(world: tuple[Path, BridgeConfig, Store]) -> None:
    path, config, store = world
    # before the change: what the new file would do, from the two mappings
    diffed = migrate.diff_mappings(config, store, "jira", None, [str(path.parent / "jira.yaml")])
    untouched = digests(store)

    config = use_mapping(path)
    dry, reported = migrate.remap(config, store, "jira", dry_run=True)
    assert digests(store) == untouched  # nothing written
    assert dry.dry_run and dry.exit_code == 3  # records would be quarantined, as sync says
    s = reported.summary()
    assert s["practice_moved"] and s["team_moved"] and s["quarantined"] and s["gates_changed"]
    assert asdict(diffed) == asdict(reported)

    applied, done = migrate.remap(config, store, "jira")
    assert asdict(done) == asdict(reported)  # record for record
    assert applied.exit_code == 3 and applied.sources[0].quarantined == s["quarantined"]
    with store.engine.connect() as conn:
        stored = {(r.key): r for r in conn.execute(select(tickets).where(tickets.c.source == "jira"))}
        held = {(q.stream, q.key): q for q in conn.execute(select(quarantine).where(
            quarantine.c.source == "jira"))}
    for move in done.moves:
        assert move.tickets and len(move.tickets) <= min(move.count, impact.KEEP)
        for ref in move.tickets:
            assert getattr(stored[ref.split(":", 1)[1]], move.column) == move.new
    moved = sum(1 for r in stored.values() if r.team == "Data Platform")
    assert done.moved("team") == moved  # counted: every ticket, not only the examples
    for group in done.quarantined:
        assert group.examples and len(group.examples) <= min(group.count, impact.KEEP)
        for example in group.examples:
            assert held[(group.stream, example["key"])].reason == example["reason"]
    assert {g.field for g in done.quarantined} == {"resolved"}
    assert sum(g.count for g in done.quarantined) == len(held)

    # the same remap again changes nothing, and writes no row (each row's time stays)
    _, again = migrate.remap(config, store, "jira", dry_run=True)
    assert again.empty
    before = digests(store)
    migrate.remap(config, store, "jira", push=False)
    after = digests(store)
    assert after["tickets"] == before["tickets"] and after["quarantine"] == before["quarantine"]
    assert after["projects"] == before["projects"]


def test_remap_cli_reports_quarantine_without_verbose_and_exits_3(world: tuple[Path, BridgeConfig, Store]) -> None:
    path, _, store = world
    diff = cli(path, "mappings", "diff", str(path.parent / "jira.yaml"), "--format", "markdown")
    assert diff.returncode == 0, diff.stderr
    assert "## Tickets moving to another practice" in diff.stdout
    assert "| problem_management | incident_management |" in diff.stdout
    assert "## Records quarantined" in diff.stdout

    use_mapping(path)
    dry = cli(path, "migrate", "remap", "--dry-run", "--format", "json")
    assert dry.returncode == 3, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] and report["summary"]["quarantined"] > 0
    assert report["sources"][0]["quarantined"] > 0

    done = cli(path, "migrate", "remap", "--no-push")
    assert done.returncode == 3, done.stderr
    assert f"{report['summary']['quarantined']} record(s) quarantined" in done.stdout
    assert "Records quarantined" in done.stdout and "resolved" in done.stdout
    # the applied remap wrote what the dry run reported: nothing left to change
    _, again = migrate.remap(load_config(path), store, dry_run=True)
    assert again.empty
