"""The daemon runs with the mapping set in force: a rejected edit of a mapping file leaves
every later cycle on the last good set (before, each cycle read the broken file again and
failed), and a valid edit is swapped in whole."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

from bridge.config import load_config
from bridge.daemon import Daemon
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from mappings.loader import default_path
from tests.integration.test_cycle import write_config

SandboxFactory = Callable[..., Sandbox]


def _sample(daemon: Daemon, name: str, source: str) -> float:
    return daemon.metrics.registry.get_sample_value(name, {"source": source}) or 0.0


def test_a_rejected_mapping_edit_keeps_the_last_good_set_running(
        sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=17, tickets=80, jira_deployment="cloud")
    mapping = tmp_path / "jira.yaml"
    shutil.copy(default_path("jira"), mapping)
    config_path = write_config(tmp_path, sb, push=False, jira_extra="    mappings: [jira.yaml]\n")
    daemon = Daemon(load_config(config_path), health_port=0)
    daemon.store = open_store(daemon.config.state)
    try:
        daemon.pull_job("jira")
        assert _sample(daemon, "smo_bridge_failures_total", "jira") == 0
        first = _sample(daemon, "smo_bridge_last_success_timestamp_seconds", "jira")
        assert first > 0

        good = mapping.read_text()
        mapping.write_text(good.replace("gate:\n  items:", "gate:\n  itmes:", 1))
        assert daemon.reload(reason="test") is False
        assert daemon.metrics.registry.get_sample_value("smo_bridge_config_last_reload_ok") == 0
        daemon.pull_job("jira")  # the broken file on disk is not read again
        assert _sample(daemon, "smo_bridge_failures_total", "jira") == 0
        assert _sample(daemon, "smo_bridge_last_success_timestamp_seconds", "jira") >= first

        edited = yaml.safe_load(good)
        edited["gate"]["items"] = edited["gate"]["items"][:3]
        mapping.write_text(yaml.safe_dump(edited, sort_keys=False))
        assert daemon.reload(reason="test") is True
        assert len(daemon.set.compiled["jira"].gate.items) == 3
        daemon.pull_job("jira")
        assert _sample(daemon, "smo_bridge_failures_total", "jira") == 0
    finally:
        daemon.store.close()
