"""copy-state verified: SQLite to PostgreSQL and back compares equal, table by table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge import migrate
from bridge.config import load_config
from bridge.engine import Engine
from bridge.errors import ConfigError
from bridge.sandbox import Sandbox
from bridge.store import Store, open_store
from bridge.store.schema import metadata
from connectors import http
from tests.conftest import fresh_database
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def digests(store: Store) -> dict[str, tuple[int, str]]:
    with store.engine.connect() as conn:
        return {t.name: migrate.table_digest(conn, t) for t in metadata.sorted_tables}


def test_sqlite_to_postgresql_and_back_compares_equal(postgres_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "pause", lambda seconds: None)
    with Sandbox(seed=5, tickets=200, jira_deployment="cloud") as sb:
        path = write_config(tmp_path, sb)
        config = load_config(path)
        source = open_store(config.state)
        try:
            assert Engine(config, source).run_cycle().exit_code == 0
            original = digests(source)
            assert original["tickets"][0] > 0 and original["outbox"][0] > 0

            pg_url = fresh_database(postgres_url)
            heard: list[str] = []
            there = migrate.copy_state(source, pg_url, progress=lambda name, done, total: heard.append(name))
            assert there.rows == {name: rows for name, (rows, _) in original.items()}
            assert there.hashes == {name: digest for name, (_, digest) in original.items()}
            assert {f"copying {t}" for t in ("raw_records", "tickets", "transitions")} <= set(heard)
            assert "verifying tables" in heard
        finally:
            source.close()

    pg = open_store(pg_url)
    try:
        assert digests(pg) == original
        back_url = f"sqlite:///{tmp_path / 'back.db'}"
        back = migrate.copy_state(pg, back_url)
        assert back.hashes == there.hashes
        # a non-empty target is refused; --overwrite replaces it, verified again
        with pytest.raises(ConfigError, match="--overwrite"):
            migrate.copy_state(pg, back_url)
        again = migrate.copy_state(pg, back_url, overwrite=True)
        assert again.overwritten and again.hashes == there.hashes
    finally:
        pg.close()
    copy = open_store(back_url)
    try:
        assert digests(copy) == original
    finally:
        copy.close()


def test_copy_state_creates_no_folder_and_reports_json(tmp_path: Path) -> None:
    config = tmp_path / "smo-bridge.yaml"
    config.write_text(f"state: sqlite:///{tmp_path / 'state.db'}\nsources: []\n")
    open_store(f"sqlite:///{tmp_path / 'state.db'}").close()
    missing = tmp_path / "not-there" / "deeper"
    refused = cli(config, "migrate", "copy-state", "--to", f"sqlite:///{missing / 'copy.db'}")
    assert refused.returncode == 2 and "does not exist" in refused.stderr
    assert not (tmp_path / "not-there").exists()

    done = cli(config, "migrate", "copy-state", "--to", f"sqlite:///{tmp_path / 'copy.db'}",
               "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verified"] and set(report["hashes"]) == {t.name for t in metadata.sorted_tables}
