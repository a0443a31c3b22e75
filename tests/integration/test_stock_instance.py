"""A stock instance and a non-admin integration user (the sandbox's default): exact counts,
nothing quarantined, pushes that land where a stock instance can hold them, no record the
bridge did not create modified, a settled sync that writes nothing, and a fresh record
counted once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import requests

from bridge.config import load_config
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from tests.integration.test_cycle import census, stored_keys, write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]
SNOW_TABLES = ["pm_project", "cmdb_ci_service", "incident", "problem", "change_request",
               "sc_req_item", "kb_knowledge", "sysapproval_approver"]
# what adding a work note changes on the row it is added to
JOURNAL_BOOKKEEPING = {"sys_updated_on", "sys_updated_by", "sys_mod_count", "work_notes"}

Rows = dict[str, dict[str, dict[str, str]]]


def snow_rows(sb: Sandbox) -> Rows:
    return {t: {r["sys_id"]: r for r in sb.servicenow_rows(t)} for t in SNOW_TABLES}


def changed_fields(before: Rows, after: Rows) -> dict[str, set[str]]:
    """Per table, the fields changed on rows that existed before (bookkeeping aside)."""
    changed: dict[str, set[str]] = {}
    for table, rows in before.items():
        for sys_id, row in rows.items():
            now = after[table].get(sys_id)
            assert now is not None, f"{table} {sys_id} disappeared"
            fields = {k for k, v in row.items() if now.get(k) != v} - JOURNAL_BOOKKEEPING
            if fields:
                changed.setdefault(table, set()).update(fields)
    return changed


def test_first_contact_with_a_stock_instance(sandbox_factory: SandboxFactory,  # noqa: F811
                                            tmp_path: Path) -> None:
    sb = sandbox_factory(seed=17, tickets=300, jira_deployment="cloud")
    path = write_config(tmp_path, sb)
    config = load_config(path)
    untouched = snow_rows(sb)
    visible = census(config)

    first = cli(path, "sync", "--once")
    assert first.returncode == 0, first.stdout + first.stderr
    status = json.loads(cli(path, "status", "--format", "json").stdout)
    assert {s["name"]: s["quarantined"] for s in status["sources"]} == {"jira": 0, "snow": 0}
    store = open_store(config.state)
    try:
        for (source, stream), keys in visible.items():
            assert stored_keys(store, source, stream) == keys, f"{source}/{stream}"
    finally:
        store.close()
    assert status["outbox"]["failed"] == 0 and status["outbox"]["delivered"] > 0

    # only what the bridge created changed: its articles, and work notes on the projects
    pushed = snow_rows(sb)
    assert changed_fields(untouched, pushed) == {}
    ours = set(pushed["kb_knowledge"]) - set(untouched["kb_knowledge"])
    assert ours and all("[smo-bridge:" in pushed["kb_knowledge"][i]["meta"] for i in ours)
    snow_transitions = [t for t in status["transitions"] if t["source"] == "snow"]
    assert snow_transitions
    for transition in snow_transitions:
        project = next(r for r in pushed["pm_project"].values()
                       if r["number"] == transition["project"])
        notes = sb.servicenow_rows("sys_journal_field",
                                   f"element_id={project['sys_id']}^element=work_notes")
        assert sum("[smo-bridge:" in n["value"] for n in notes) == 1, transition["project"]

    # the pushes come back as changed records once; after that a sync writes nothing
    assert cli(path, "sync", "--once").returncode == 0
    settled = snow_rows(sb)
    third = cli(path, "sync", "--once")
    assert third.returncode == 0, third.stderr
    assert "pushes delivered: 0, failed: 0" in third.stdout and "planned" not in third.stdout
    assert snow_rows(sb) == settled

    # a fresh incident is stored exactly once
    created = requests.post(f"{sb.servicenow_url}/api/now/table/incident", auth=("sandbox", "sandbox"),
                            json={"short_description": "Badge reader offline", "priority": "3"},
                            timeout=10)
    assert created.status_code == 201, created.text
    fresh = created.json()["result"]["sys_id"]
    assert cli(path, "sync", "--once").returncode == 0
    store = open_store(config.state)
    try:
        incidents = stored_keys(store, "snow", "incident")
    finally:
        store.close()
    assert fresh in incidents
    assert incidents == visible[("snow", "incident")] | {fresh}
