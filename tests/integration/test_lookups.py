"""Saved lookups: a cycle reads them back instead of re-reading their streams."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bridge.config import load_config
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.sourcemaps import load_source_mapping
from bridge.store import open_store
from bridge.store import repository as repo
from bridge.store.schema import lookup_entries
from tests.integration.test_cycle import write_config

SandboxFactory = Callable[..., Sandbox]


def test_saved_lookups_are_read_back_and_rebuilt_when_definitions_change(
        sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    sb = sandbox_factory(seed=31, tickets=300, jira_deployment="cloud")
    config = load_config(write_config(tmp_path, sb, push=False))
    store = open_store(config.state)
    try:
        assert Engine(config, store).run_cycle().exit_code == 0
        with store.engine.connect() as conn:
            saved = conn.execute(select(lookup_entries.c.source, lookup_entries.c.lookup)).all()
        assert ("jira", "transition_epics") in saved and ("snow", "groups") in saved

        read: list[set[str] | None] = []
        real = repo.iter_raw

        def spy(conn: Any, source: str, streams: Iterable[str] | None = None, **kw: Any) -> Any:
            read.append(set(streams) if streams is not None else None)
            return real(conn, source, streams, **kw)

        monkeypatch.setattr(repo, "iter_raw", spy)
        jira = config.source("jira")
        mapping = load_source_mapping(jira)
        with store.engine.begin() as conn:
            bound = mapping.bound(conn)
        assert read == [{"fields"}]  # the catalogue only: no issue was read for the lookups
        assert len(bound.lookup_tables["transition_epics"]) == sum(
            1 for s, name in saved if (s, name) == ("jira", "transition_epics"))

        # a changed catalogue (or lookup definition) rebuilds them from the records
        with store.engine.begin() as conn:
            repo.set_cursor(conn, "jira", "~lookups", {"signature": "stale"})
        read.clear()
        with store.engine.begin() as conn:
            rebuilt = load_source_mapping(jira).bound(conn)
        assert {"issues", "projects"} <= set().union(*(s for s in read if s))
        assert rebuilt.lookup_tables["transition_epics"] == bound.lookup_tables["transition_epics"]
    finally:
        store.close()


def test_saved_lookups_hold_only_what_rules_read_and_other_reads_rebuild_them(
        sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from mappings.compile import BoundMapping

    sb = sandbox_factory(seed=32, tickets=200, jira_deployment="cloud")
    config = load_config(write_config(tmp_path, sb, push=False))
    store = open_store(config.state)
    try:
        assert Engine(config, store).run_cycle().exit_code == 0
        with store.engine.connect() as conn:
            users = [p for name, _, _, p in repo.load_lookup_entries(conn, "snow") if name == "users"]
        assert users and all(set(payload) <= {"name", "email", "phone"} for payload in users)

        # rules reading another path of a lookup find no saved entry built for them: rebuilt
        real = BoundMapping.lookup_reads
        monkeypatch.setattr(BoundMapping, "lookup_reads",
                            lambda self: {**real(self), "users": ["name", "title"]})
        read: list[str] = []
        iter_raw = repo.iter_raw
        monkeypatch.setattr(repo, "iter_raw", lambda conn, source, streams=None, **kw: (
            read.extend(streams or []), iter_raw(conn, source, streams, **kw))[1])
        with store.engine.begin() as conn:
            load_source_mapping(config.source("snow")).bound(conn)
        assert "sys_user" in read
    finally:
        store.close()
