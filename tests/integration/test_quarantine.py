"""Quarantine you can see: counted in status, listed with field and reason, retried after a
fix, and never read by a gate as "no open tickets"."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from mappings.loader import default_path
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]
EFFORT = "      effort_hours: {path: fields.timespent, transforms: [hours]}\n"


def test_quarantined_tickets_are_visible_and_retried(sandbox_factory: SandboxFactory,  # noqa: F811
                                                      tmp_path: Path) -> None:
    sb = sandbox_factory(seed=5, tickets=150, jira_deployment="cloud")
    shipped = default_path("jira").read_text()
    assert EFFORT in shipped
    # an admin's slip: the summary read as a duration rejects every Jira ticket
    (tmp_path / "jira.yaml").write_text(shipped.replace(
        EFFORT, "      effort_hours: {path: fields.summary, transforms: [hours]}\n", 1))
    config = write_config(tmp_path, sb, push=False, jira_extra="    mappings: [jira.yaml]\n")

    first = cli(config, "sync", "--once")
    assert first.returncode == 3, first.stderr
    status = json.loads(cli(config, "status", "--format", "json").stdout)
    held = {s["name"]: s["quarantined"] for s in status["sources"]}
    assert held["jira"] > 0 and held["snow"] == 0
    jira_tickets = next(s["tickets"] for s in status["sources"] if s["name"] == "jira")
    assert jira_tickets == 0

    listed = json.loads(cli(config, "quarantine", "list", "--source", "jira",
                            "--format", "json").stdout)
    assert len(listed) == held["jira"]
    assert {r["field"] for r in listed} == {"effort_hours"}
    assert all(r["stream"] == "issues" and r["reason"] and r["display_key"] for r in listed)
    table = cli(config, "quarantine", "list")
    assert table.returncode == 0 and "effort_hours" in table.stdout

    # with the tickets unreadable, no Jira gate may claim that no critical ticket is open
    from_jira = [t for t in status["transitions"] if t["source"] == "jira"]
    assert from_jira
    for transition in from_jira:
        item = next(i for i in transition["gate"]["items"] if i["key"] == "no_critical_defects")
        assert item["status"] == "unmet"
    explained = cli(config, "explain", f"jira:{from_jira[0]['project']}")
    assert explained.returncode == 0, explained.stderr
    assert "quarantined" in explained.stdout

    # the admin fixes the mapping and retries: every record is mapped, nothing is held
    (tmp_path / "jira.yaml").write_text(shipped)
    retried = cli(config, "quarantine", "retry")
    assert retried.returncode == 0, retried.stderr
    assert "still quarantined: 0" in retried.stdout
    after = json.loads(cli(config, "status", "--format", "json").stdout)
    assert {s["name"]: s["quarantined"] for s in after["sources"]} == {"jira": 0, "snow": 0}
    assert next(s["tickets"] for s in after["sources"] if s["name"] == "jira") == held["jira"]
