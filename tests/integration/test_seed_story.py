"""The seeds' story, executed: a service goes live, the desk never approved an article, and a
P1 opens the next day. The gate says `live_unready` and names what was missing, in `explain`,
in the note pushed to the project, and in `report transitions`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import requests

from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]


def test_a_service_live_without_its_article_is_live_unready_everywhere(
        sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=37, tickets=150, jira_deployment="cloud")
    config = write_config(tmp_path, sb)
    assert cli(config, "sync", "--once").returncode == 0
    status = json.loads(cli(config, "status", "--format", "json").stdout)
    live = [t for t in status["transitions"] if t["gate"]["status"] == "live_unready"]
    assert live, [(t["service"], t["gate"]["status"]) for t in status["transitions"]]
    story = live[0]
    service = story["service"]
    [kb] = [i for i in story["gate"]["items"] if i["key"] == "kb_article"]
    assert kb["status"] == "unmet"  # nobody at the desk approved or published an article

    # the next day a P1 opens against the service
    [ci] = sb.servicenow_rows("cmdb_ci_service", f"name={service}")
    went_live = date.fromisoformat(story["go_live"])
    opened = requests.post(
        f"{sb.servicenow_url}/api/now/table/incident", auth=("sandbox", "sandbox"), timeout=10,
        json={"short_description": f"{service} down for every user", "priority": "1",
              "impact": "1", "urgency": "1", "state": "2", "business_service": ci["sys_id"],
              "opened_at": f"{went_live + timedelta(days=1)} 08:30:00"})
    assert opened.status_code == 201, opened.text
    number = opened.json()["result"]["number"]
    assert cli(config, "sync", "--once").returncode == 0

    explained = cli(config, "explain", service, "--format", "json")
    assert explained.returncode == 0, explained.stderr
    transition = json.loads(explained.stdout)
    gate = transition["gate"]
    assert gate["status"] == "live_unready"
    assert f"live since {went_live}" in gate["reason"] and "kb_article" in gate["reason"]
    items = {i["key"]: i for i in gate["items"]}
    assert items["kb_article"]["status"] == "unmet"
    defects = items["no_critical_defects"]
    assert defects["status"] == "unmet"
    assert number in json.dumps(defects), defects  # the P1 is named as what is missing

    # the note pushed to the project names the state and the missing article
    notes = [row["value"] for row in sb.servicenow_rows(
        "sys_journal_field", "element=work_notes^valueLIKEsmo-bridge:gate:")]
    ours = [n for n in notes if f"gate for {service} is" in n]
    assert ours, notes
    assert any("live unready" in n and "knowledge article" in n.lower() for n in ours), ours

    report = json.loads(cli(config, "report", "transitions", "--format", "json").stdout)
    month = went_live.strftime("%Y-%m")
    [row] = [r for r in report["periods"] if r["period"] == month]
    assert row["live_unready"] >= 1
    [kb_row] = [i for i in report["items"] if i["item"] == "kb_article"]
    assert kb_row["missing_at_go_live"] >= 1
