"""The seeds' "start small" gate: only the service-desk article. Nothing the bridge writes is
its own evidence: its articles are drafts, and only what a person did meets the item."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from mappings.loader import default_path
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]
REVIEWED = {"ready_for_review", "passed"}


def _only_the_article(kind: str, folder: Path) -> Path:
    mapping = yaml.safe_load(default_path(kind).read_text())
    mapping["gate"]["items"] = [i for i in mapping["gate"]["items"] if i["key"] == "kb_article"]
    path = folder / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


def test_no_transition_passes_the_article_gate_on_the_bridges_own_article(
        sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=23, tickets=300, jira_deployment="cloud")
    _only_the_article("jira", tmp_path)
    _only_the_article("servicenow", tmp_path)
    config = write_config(tmp_path, sb, jira_extra="    mappings: [jira.yaml]\n")
    config.write_text(config.read_text().replace(
        "    kind: servicenow\n", "    kind: servicenow\n    mappings: [servicenow.yaml]\n", 1))
    assert cli(config, "config", "validate").returncode == 0

    for _ in range(2):  # the second cycle reads back the articles the first one wrote
        done = cli(config, "sync", "--once")
        assert done.returncode == 0, done.stdout + done.stderr
    status = json.loads(cli(config, "status", "--format", "json").stdout)
    ours = sb.servicenow_rows("kb_knowledge", "metaLIKE[smo-bridge:")
    assert ours and {row["workflow_state"] for row in ours} == {"draft"}
    assert status["transitions"]
    for transition in status["transitions"]:
        [item] = transition["gate"]["items"]
        assert item["key"] == "kb_article"
        if item["status"] == "met":  # only a person's deliverable or article can have met it
            evidence = str(item["evidence"] or "")
            assert not any(row["number"] in evidence for row in ours), transition
            assert "published" not in evidence or "existing article" in evidence, transition
        if transition["gate"]["status"] in REVIEWED:
            assert item["status"] == "met"
