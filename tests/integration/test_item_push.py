"""The pushed gate detail follows every item: a person's change that meets one item pushes
a new note though the status stays the same, and the note lists what is still missing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import requests

from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]

POLICY = """\
gate:
  acceptance: null
  items:
    - key: handover_phase
      title: Project in its handover phase
      responsible: project_manager
      due: -7d
      evidence: {kind: project, when: {path: phase, equals: handover}}
    - key: never_delivered
      title: A deliverable nobody delivered
      responsible: project_manager
      due: -7d
      evidence: {kind: project, when: {path: phase, equals: no such phase}}
"""


def _notes(sb: Sandbox, sys_id: str) -> list[str]:
    rows = sb.servicenow_rows("sys_journal_field",
                              f"element=work_notes^element_id={sys_id}^valueLIKEsmo-bridge:gate:")
    return [row["value"] for row in rows]


def test_an_item_change_with_an_unchanged_status_is_pushed(sandbox_factory: SandboxFactory,  # noqa: F811
                                                           tmp_path: Path) -> None:
    sb = sandbox_factory(seed=31, tickets=100, jira_deployment="cloud")
    config = write_config(tmp_path, sb)
    (tmp_path / "smo-policy.yaml").write_text(POLICY)
    config.write_text(config.read_text().replace("sources:\n", "policy: smo-policy.yaml\nsources:\n", 1))
    assert cli(config, "sync", "--once").returncode == 0

    # a ServiceNow project already live: its status stays live_unready whatever is met
    status = json.loads(cli(config, "status", "--format", "json").stdout)
    live = [t for t in status["transitions"]
            if t["source"] == "snow" and t["gate"]["status"] == "live_unready"]
    assert live, [(t["id"], t["gate"]["status"]) for t in status["transitions"]]
    target = live[0]
    [project] = sb.servicenow_rows("pm_project", f"number={target['project']}")
    before = _notes(sb, project["sys_id"])
    assert len(before) == 1 and "handover_phase" in before[0] and "never_delivered" in before[0]

    # a person moves the project on in ServiceNow
    moved = requests.patch(f"{sb.servicenow_url}/api/now/table/pm_project/{project['sys_id']}",
                           json={"phase": "handover"}, auth=("sandbox", "sandbox"), timeout=10)
    assert moved.status_code == 200
    assert cli(config, "sync", "--once").returncode == 0

    after = json.loads(cli(config, "status", "--format", "json").stdout)
    [now] = [t for t in after["transitions"] if t["id"] == target["id"]]
    assert now["gate"]["status"] == "live_unready"
    assert {i["key"]: i["status"] for i in now["gate"]["items"]} == {
        "handover_phase": "met", "never_delivered": "unmet"}
    notes = _notes(sb, project["sys_id"])
    assert len(notes) == 2, notes
    latest = next(n for n in notes if n not in before)
    assert "is live unready" in latest and "never_delivered" in latest
    assert "handover_phase" not in latest.split("missing", 1)[-1]
    # and nothing else was pushed again: a third cycle plans nothing
    assert cli(config, "sync", "--once").returncode == 0
    assert len(_notes(sb, project["sys_id"])) == 2
