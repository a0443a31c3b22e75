"""`smo-bridge check`: first contact with each source, nothing stored or written."""

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


def _findings(output: str) -> dict[str, dict[str, tuple[str, str]]]:
    return {r["name"]: {f["subject"]: (f["level"], f["detail"]) for f in r["findings"]}
            for r in json.loads(output)}


def test_check_reports_each_stream_push_and_mapping(sandbox_factory: SandboxFactory,  # noqa: F811
                                                    tmp_path: Path) -> None:
    sb = sandbox_factory(seed=7, tickets=120, jira_deployment="cloud")
    config = write_config(tmp_path, sb, push=False)
    clean = cli(config, "check", "--source", "jira", "--format", "json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    jira = _findings(clean.stdout)["jira"]
    assert jira["connection"][0] == "ok"
    assert {"stream fields", "stream projects", "stream issues"} <= set(jira)
    assert jira["mapping issues"][0] == "ok" and "mapped" in jira["mapping issues"][1]
    assert not (tmp_path / "state.db").exists()  # check stores nothing

    # a mapping that reads a field the instance does not have, and pushes configured
    shipped = default_path("jira").read_text()
    (tmp_path / "jira.yaml").write_text(shipped.replace(
        "      summary: fields.summary\n",
        "      summary: {first_of: [fields.customfield_99999, fields.customfield_99998]}\n", 1
    ).replace("    stream: issues\n    fields:\n      key: key\n",
              "    stream: issues\n    when: {path: fields.customfield_99997, exists: true}\n"
              "    fields:\n      key: key\n", 1))
    config = write_config(tmp_path, sb, jira_extra="    mappings: [jira.yaml]\n")
    warned = cli(config, "check", "--format", "json")
    assert warned.returncode == 3, warned.stdout + warned.stderr
    found = _findings(warned.stdout)
    level, detail = found["jira"]["optional fields issues"]  # a first_of left empty
    assert level == "ok" and "fields.customfield_99999" in detail
    level, detail = found["jira"]["fields issues"]  # what selects the records
    assert level == "warning" and "fields.customfield_99997" in detail
    assert found["jira"]["mapping issues"][0] == "warning"  # nothing maps without it
    assert found["snow"]["push knowledge"][0] == "ok"
    assert found["jira"]["push gate_status"][0] == "ok"  # the stock user may edit issues
    assert "push knowledge" not in found["jira"]


def test_check_names_an_unusable_source(sandbox_factory: SandboxFactory,  # noqa: F811
                                        tmp_path: Path) -> None:
    sb = sandbox_factory(seed=7, tickets=50)
    config = write_config(tmp_path, sb, snow_password="wrong", push=False)
    done = cli(config, "check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "snow (servicenow): unusable" in done.stdout
    assert "authentication failed" in done.stdout
    assert "wrong" not in done.stdout + done.stderr
