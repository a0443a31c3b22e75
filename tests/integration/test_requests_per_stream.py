"""Requests per stream in a cycle: Jira asks /field once; a ServiceNow table whose rows fit
one page takes one request."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bridge.config import load_config
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.store import open_store
from tests.integration.test_cycle import write_config


def test_one_cycle_reads_the_field_list_once(tmp_path: Path) -> None:
    log = io.StringIO()
    sb = Sandbox(seed=5, tickets=60, jira_deployment="cloud")
    sb.log_requests("jira", log)
    with sb:
        config = load_config(write_config(tmp_path, sb))
        store = open_store(config.state)
        try:
            result = Engine(config, store).run_cycle("jira", push=False)
        finally:
            store.close()
    assert result.exit_code == 0
    paths = [json.loads(line)["path"] for line in log.getvalue().splitlines()]
    assert sum(p.endswith("/field") for p in paths) == 1, paths
    assert any("/search" in p for p in paths)  # the issues were read with the resolved ids


def test_a_servicenow_table_that_fits_one_page_takes_one_request(tmp_path: Path) -> None:
    """The count (X-Total-Count) says the first page held every row: no drain of its last
    second and no continuation query follow."""
    log = io.StringIO()
    sb = Sandbox(seed=5, tickets=60)
    sb.log_requests("servicenow", log)
    with sb:
        config = load_config(write_config(tmp_path, sb))
        store = open_store(config.state)
        try:
            result = Engine(config, store).run_cycle("snow", push=False)
            assert result.exit_code == 0
            first = [json.loads(line)["path"] for line in log.getvalue().splitlines()]
            log.seek(0)
            log.truncate()
            assert Engine(config, store).run_cycle("snow", push=False).exit_code == 0
            again = [json.loads(line)["path"] for line in log.getvalue().splitlines()]
        finally:
            store.close()
    for paths in (first, again):
        assert sum(p == "/api/now/table/incident" for p in paths) == 1, paths
        assert sum(p == "/api/now/table/pm_project" for p in paths) == 1, paths
