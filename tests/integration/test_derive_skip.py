"""A cycle in which nothing derivation reads changed derives nothing again: only the workload
cells of the current periods follow the clock. A changed record, a new day or an edited
mapping file derive in full."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select

from bridge import pullstate
from bridge.config import load_config
from bridge.derive import run, workloads
from bridge.derive.run import derive_all, refresh_if_unchanged
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import Store, open_store
from bridge.store.schema import workload_cells
from bridge.store.snapshots import current_workloads
from tests.integration.test_cycle import write_config

SandboxFactory = Callable[..., Sandbox]
DEFAULTS = Path(__file__).resolve().parents[2] / "mappings" / "defaults"


def cells(conn: Connection) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in conn.execute(select(workload_cells)))


def full_derivations(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The `now` of every full derivation the engine runs from here on."""
    seen: list[datetime] = []
    real = run.derive_all

    def spy(conn: Connection, config: Any, mappings: Any, now: datetime | None = None,
            **kwargs: Any) -> Any:
        seen.append(now or datetime.now(UTC))
        return real(conn, config, mappings, now=now, **kwargs)

    monkeypatch.setattr("bridge.engine.derive_all", spy)
    return seen


@pytest.fixture
def synced(sandbox_factory: SandboxFactory, tmp_path: Path  # noqa: F811
           ) -> tuple[Sandbox, Path, Store]:
    sb = sandbox_factory(seed=41, tickets=300, jira_deployment="cloud")
    shutil.copy(DEFAULTS / "jira.yaml", tmp_path / "jira.yaml")
    config_path = write_config(tmp_path, sb, push=False,
                               jira_extra=f"    mappings: [{tmp_path / 'jira.yaml'}]")
    store = open_store(load_config(config_path).state)
    first = Engine(load_config(config_path), store).run_cycle()
    assert first.derived and first.transitions > 0
    return sb, config_path, store


def test_a_cycle_with_nothing_changed_derives_nothing_and_a_changed_record_derives(
        synced: tuple[Sandbox, Path, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    sb, config_path, store = synced
    config = load_config(config_path)
    try:
        full = full_derivations(monkeypatch)
        quiet = Engine(config, store).run_cycle()
        assert full == [] and quiet.derive_skipped and not quiet.derived
        assert quiet.transitions > 0 and quiet.workload_cells > 0

        sb.jira_store.touch(0)  # one issue changes
        changed = Engine(config, store).run_cycle()
        assert len(full) == 1 and changed.derived and not changed.derive_skipped

        # a source pulled alone (as the daemon does) with nothing changed derives nothing
        assert Engine(config, store).run_cycle("snow").derive_skipped and len(full) == 1
        # derivation alone (migrate) always derives
        assert Engine(config, store).run_cycle(pull=False).derived and len(full) == 2
    finally:
        store.close()


def test_a_new_day_derives_without_any_pull_change(
        synced: tuple[Sandbox, Path, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    _, config_path, store = synced
    config = load_config(config_path)
    tomorrow = datetime.now(UTC) + timedelta(days=1)

    class Tomorrow(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return tomorrow if tz is not None else tomorrow.replace(tzinfo=None)

    try:
        full = full_derivations(monkeypatch)
        assert Engine(config, store).run_cycle().derive_skipped and full == []
        monkeypatch.setattr("bridge.engine.datetime", Tomorrow)
        rolled = Engine(config, store).run_cycle()
        assert rolled.derived and full == [tomorrow]
        # the stamp left is tomorrow's: the next cycle of that day derives nothing again
        assert Engine(config, store).run_cycle().derive_skipped and len(full) == 1
    finally:
        store.close()


def test_an_edited_mapping_file_derives(synced: tuple[Sandbox, Path, Store], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _, config_path, store = synced
    try:
        full = full_derivations(monkeypatch)
        with (tmp_path / "jira.yaml").open("a") as mapping:
            mapping.write("\n# reviewed\n")
        # as the daemon does on a reload: the mapping compiled again from the edited file
        assert Engine(load_config(config_path), store).run_cycle().derived and len(full) == 1
    finally:
        store.close()


def test_the_cells_a_skipped_derivation_leaves_are_those_a_full_one_would(
        synced: tuple[Sandbox, Path, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the current periods' backlog ages follow the clock within a day; they are
    recomputed from the kept columns, or, in a process that kept none, from the store."""
    _, config_path, store = synced
    config = load_config(config_path)
    engine = Engine(config, store)
    morning = datetime.now(UTC).replace(hour=0, minute=30, second=0, microsecond=0)
    evening = morning + timedelta(hours=23)
    try:
        with store.engine.begin() as conn:
            derive_all(conn, config, engine, now=morning)
            at_morning = cells(conn)
        with store.engine.connect() as conn, conn.begin() as tx:
            derive_all(conn, config, engine, now=evening)
            expected = cells(conn)
            expected_current = current_workloads(conn)
            tx.rollback()
        assert expected != at_morning  # the ages moved with the clock
        for kept in (True, False):
            if not kept:  # as in a process that did not run the full derivation
                monkeypatch.setattr(workloads, "_kept", None)
            with store.engine.connect() as conn, conn.begin() as tx:
                skipped = refresh_if_unchanged(conn, config, engine, now=evening)
                assert skipped is not None and skipped.skipped
                assert cells(conn) == expected and skipped.workload_cells == len(expected)
                # what `status` reads follows the clock too, groups of long-closed tickets kept
                assert current_workloads(conn) == expected_current
                tx.rollback()
        with store.engine.connect() as conn:  # the next day is a full derivation
            assert refresh_if_unchanged(conn, config, engine, now=morning + timedelta(days=1)) is None
    finally:
        store.close()


def test_while_a_pull_is_writing_every_cycle_derives(synced: tuple[Sandbox, Path, Store]) -> None:
    """Its pages land between cycles without a new mark: the workload cells follow them."""
    _, config_path, store = synced
    config = load_config(config_path)
    engine = Engine(config, store)
    now = datetime.now(UTC)
    try:
        with store.engine.begin() as conn:
            pullstate.mark_writing(conn, "jira")  # as another process's pull does
            derive_all(conn, config, engine, now=now)
            assert refresh_if_unchanged(conn, config, engine, now=now) is None
            pullstate.mark_complete(conn, "jira", now)
            derive_all(conn, config, engine, now=now)
            assert refresh_if_unchanged(conn, config, engine, now=now) is not None
    finally:
        store.close()
