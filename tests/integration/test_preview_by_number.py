"""`mappings preview --key` takes the key people use: a ServiceNow INC number finds the
stored incident (keyed by its sys_id) and previews it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]


def test_preview_finds_an_incident_by_its_number(sandbox_factory: SandboxFactory,  # noqa: F811
                                                 tmp_path: Path) -> None:
    sb = sandbox_factory(seed=13, tickets=60, jira_deployment="cloud")
    config = write_config(tmp_path, sb, push=False)
    assert cli(config, "sync", "--once").returncode == 0
    incident = sb.servicenow_rows("incident", "active=true")[0]
    by_number = cli(config, "mappings", "preview", "--source", "snow", "--key", incident["number"])
    by_sys_id = cli(config, "mappings", "preview", "--source", "snow", "--key", incident["sys_id"])
    assert by_number.returncode == 0, by_number.stderr
    assert by_number.stdout == by_sys_id.stdout  # the same record, however it is named
    assert incident["sys_id"] in by_number.stdout
    missing = cli(config, "mappings", "preview", "--source", "snow", "--key", "INC9999999")
    assert missing.returncode != 0 and "no raw record snow/INC9999999" in missing.stderr
