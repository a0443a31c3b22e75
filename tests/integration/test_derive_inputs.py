"""Derivation skips transitions whose inputs did not change, and redoes those whose did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bridge.config import load_config
from bridge.derive.run import derive_all
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from bridge.store import repository as repo
from bridge.store.schema import tickets
from tests.integration.test_cycle import write_config

SandboxFactory = Callable[..., Sandbox]


def test_unchanged_transitions_are_not_derived_again(
        sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    sb = sandbox_factory(seed=41, tickets=300, jira_deployment="cloud")
    config = load_config(write_config(tmp_path, sb, push=False))
    store = open_store(config.state)
    try:
        engine = Engine(config, store)
        engine.run_cycle()
        looked_up: list[set[str]] = []
        real = repo.tickets_for

        def spy(conn: Any, keys: Any) -> Any:
            looked_up.append(set(keys))
            return real(conn, keys)

        monkeypatch.setattr(repo, "tickets_for", spy)
        now = datetime.now(UTC)
        with store.engine.begin() as conn:
            quiet = derive_all(conn, config, engine, now=now)
        assert quiet.transitions > 0 and looked_up == [] and quiet.planned == []

        with store.engine.begin() as conn:  # one ticket of PAYX changes
            conn.execute(update(tickets).where(tickets.c.project_key == "PAYX")
                         .values(updated_at=now + timedelta(seconds=1)))
            touched = derive_all(conn, config, engine, now=now)
        assert len(looked_up) == 1 and "PAYX" in looked_up[0]
        assert touched.transitions == quiet.transitions

        looked_up.clear()
        with store.engine.begin() as conn:  # a new day can make any item due: all again
            derive_all(conn, config, engine, now=now + timedelta(days=1))
        assert len(looked_up) == quiet.transitions
    finally:
        store.close()
