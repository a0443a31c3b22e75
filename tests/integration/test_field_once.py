"""A Jira cycle asks /field once: the fields stream and the issue field ids share it."""

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
