"""A remap on PostgreSQL: the dry run's report is what the applied remap does, record for
record (keyset reads and the per-batch comparison on the other database)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from bridge import migrate
from bridge.store import open_store
from tests.conftest import fresh_database
from tests.integration.test_remap_impact import changed_mapping, first_synced, use_mapping

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def test_remap_dry_run_matches_the_applied_remap_on_postgresql(
        postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with first_synced(tmp_path, monkeypatch) as (path, config, lite):
        pg_url = fresh_database(postgres_url)
        migrate.copy_state(lite, pg_url)
    (tmp_path / "jira.yaml").write_text(changed_mapping())
    store = open_store(pg_url)
    try:
        diffed = migrate.diff_mappings(config, store, "jira", None, [str(tmp_path / "jira.yaml")])
        config = use_mapping(path)
        dry, reported = migrate.remap(config, store, "jira", dry_run=True, push=False)
        s = reported.summary()
        assert s["practice_moved"] and s["team_moved"] and s["quarantined"] and s["gates_changed"]
        assert asdict(diffed) == asdict(reported)
        applied, done = migrate.remap(config, store, "jira", push=False)
        assert asdict(done) == asdict(reported)
        assert applied.sources[0].quarantined == dry.sources[0].quarantined == s["quarantined"]
        _, again = migrate.remap(config, store, "jira", dry_run=True, push=False)
        assert again.empty
    finally:
        store.close()
