"""What a person sees in the tools: the gate's one line on the ServiceNow project form (the
gate column, when the instance has it) and in the Jira epic's property, with a link to the
transition's page on the board when `web.public_url` is set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import requests

from bridge.boardlinks import transition_page
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]
BOARD = "https://smo.example/board"


def test_the_gate_line_is_readable_and_links_the_board(sandbox_factory: SandboxFactory,  # noqa: F811
                                                       tmp_path: Path) -> None:
    sb = sandbox_factory(seed=31, tickets=100, jira_deployment="cloud", custom_columns=True)
    config = write_config(tmp_path, sb)
    config.write_text(config.read_text().replace(
        "sources:\n", f"web: {{public_url: {BOARD}/}}\nsources:\n", 1))
    assert cli(config, "sync", "--once").returncode == 0
    status = json.loads(cli(config, "status", "--format", "json").stdout)
    by_source = {t["source"]: t for t in status["transitions"]}

    snow = by_source["snow"]
    [row] = sb.servicenow_rows("pm_project", f"number={snow['project']}")
    line = row["u_smo_gate_status"]
    met = sum(i["status"] in ("met", "waived") for i in snow["gate"]["items"])
    assert line.startswith(f"Operations gate {snow['gate']['status'].replace('_', ' ')}: "
                           f"{met}/{len(snow['gate']['items'])} met")
    assert line.endswith(f"{BOARD}/{transition_page(snow['id'])}")
    assert "{" not in line  # no JSON on the form
    # the work note a stock instance shows carries the board's page too
    notes = sb.servicenow_rows("sys_journal_field",
                               f"element=work_notes^element_id={row['sys_id']}^valueLIKEsmo-bridge:gate:")
    assert notes and f"On the SMO board: {BOARD}/{transition_page(snow['id'])}" in notes[-1]["value"]

    jira = by_source["jira"]
    epics = requests.post(f"{sb.jira_url}/rest/api/3/search/jql", auth=("sandbox", "sandbox"),
                          timeout=10, json={"jql": f"project = {jira['project']} AND issuetype = Epic",
                                            "fields": ["summary"]}).json()["issues"]
    prop = requests.get(f"{sb.jira_url}/rest/api/3/issue/{epics[0]['key']}/properties/smo-bridge.gate",
                        auth=("sandbox", "sandbox"), timeout=10).json()["value"]
    assert prop["summary"].endswith(f"{BOARD}/{transition_page(jira['id'])}")
