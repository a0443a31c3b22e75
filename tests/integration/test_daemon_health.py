"""Health that tells the truth: /readyz fails while a source is down and recovers after;
last successes survive a restart; the metrics carry gates, pushes and the build."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bridge.config import load_config
from bridge.daemon import Daemon
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from tests.integration.test_cycle import write_config

SandboxFactory = Callable[..., Sandbox]


def _daemon(config: Path) -> Daemon:
    daemon = Daemon(load_config(config), health_port=0)
    daemon.store = open_store(daemon.config.state)
    daemon.metrics.add_sources(s.name for s in daemon.config.sources)
    daemon.metrics.set_staleness(daemon.config)
    daemon._seed_last_success()
    return daemon


def test_readiness_follows_each_source_and_survives_a_restart(
        sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=19, tickets=80, jira_deployment="cloud")
    config = write_config(tmp_path, sb)
    daemon = _daemon(config)
    try:
        ready, body = daemon.readiness()
        assert not ready and body["sources"]["jira"]["last_success"] is None  # never pulled
        sb.faults("servicenow").configure(error_rate=1.0)
        daemon.pull_job("jira")
        daemon.pull_job("snow")
        ready, body = daemon.readiness()
        assert not ready and body["store"] == "ok"
        assert body["sources"]["jira"]["ready"] is True
        assert body["sources"]["snow"]["ready"] is False and body["sources"]["snow"]["last_error"]
        sb.faults("servicenow").reset()
        daemon.pull_job("snow")
        ready, body = daemon.readiness()
        assert ready, body
        daemon.push_job()
        registry = daemon.metrics.registry
        assert registry.get_sample_value("smo_bridge_failures_total", {"source": "snow"}) == 1
        assert registry.get_sample_value("smo_bridge_pushes_total", {"outcome": "delivered"}) > 0
        gates = [s for m in registry.collect() if m.name == "smo_bridge_transitions"
                 for s in m.samples]
        assert sum(s.value for s in gates) > 0
        assert registry.get_sample_value("smo_bridge_build_info", {"version": __import__(
            "bridge").__version__}) == 1
        assert registry.get_sample_value("process_resident_memory_bytes") is not None
        # what the stale-source alert compares with: three intervals of the default 900 s
        assert registry.get_sample_value("smo_bridge_source_allowed_staleness_seconds",
                                         {"source": "jira"}) == 3 * 900
        # stale once three intervals (the default 900 s) pass without a success
        late = daemon.last_success["jira"] + timedelta(seconds=3 * 900 + 1)
        assert daemon.readiness(now=late)[1]["sources"]["jira"]["ready"] is False
    finally:
        assert daemon.store is not None
        daemon.store.close()

    restarted = _daemon(config)  # a new process on the same store
    try:
        ready, body = restarted.readiness()
        assert ready, body
        assert restarted.metrics.registry.get_sample_value(
            "smo_bridge_last_success_timestamp_seconds", {"source": "jira"}) is not None
    finally:
        assert restarted.store is not None
        restarted.store.close()
