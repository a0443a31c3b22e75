"""One policy for the product: a configured policy file judges every transition, whichever
source its projects come from; its mistakes are configuration errors with positions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]

POLICY = """\
gate:
  acceptance: null
  items:
    - key: kb_article
      title: Service-desk knowledge article published
      responsible: {responsible}
      approver: {{role: service_desk}}
      due: -7d
      evidence: {{kind: article_published}}
knowledge:
  workflow_state: draft
"""


def _with_policy(config: Path, responsible: str) -> None:
    (config.parent / "smo-policy.yaml").write_text(POLICY.format(responsible=responsible))
    config.write_text(config.read_text().replace("sources:\n", "policy: smo-policy.yaml\nsources:\n", 1))


def test_one_policy_judges_every_transition(sandbox_factory: SandboxFactory,  # noqa: F811
                                            tmp_path: Path) -> None:
    sb = sandbox_factory(seed=29, tickets=200, jira_deployment="cloud")
    config = write_config(tmp_path, sb, push=False)
    _with_policy(config, "project_manager")
    assert cli(config, "config", "validate").returncode == 0
    done = cli(config, "sync", "--once")
    assert done.returncode == 0, done.stdout + done.stderr
    status = json.loads(cli(config, "status", "--format", "json").stdout)
    assert {t["source"] for t in status["transitions"]} == {"jira", "snow"}
    for transition in status["transitions"]:
        assert [i["key"] for i in transition["gate"]["items"]] == ["kb_article"]


def test_a_policy_mistake_is_a_configuration_error(sandbox_factory: SandboxFactory,  # noqa: F811
                                                   tmp_path: Path) -> None:
    sb = sandbox_factory(seed=29, tickets=50)
    config = write_config(tmp_path, sb, push=False)
    _with_policy(config, "project_manger")
    done = cli(config, "config", "validate")
    assert done.returncode == 2
    assert ("smo-policy.yaml:6:7: gate.items[0].responsible: role 'project_manger' resolves to "
            "nobody") in done.stderr
    config.write_text(config.read_text().replace("policy: smo-policy.yaml", "policy: nope.yaml"))
    missing = cli(config, "config", "validate")
    assert missing.returncode == 2 and "policy file 'nope.yaml' not found" in missing.stderr


def test_a_source_override_is_explicit_and_named(sandbox_factory: SandboxFactory,  # noqa: F811
                                                 tmp_path: Path) -> None:
    sb = sandbox_factory(seed=29, tickets=200, jira_deployment="cloud")
    config = write_config(tmp_path, sb, push=False)
    (config.parent / "smo-policy.yaml").write_text(POLICY.format(responsible="project_manager"))
    section = "policy:\n  file: smo-policy.yaml\n  overrides: {snow: mapping}\nsources:\n"
    config.write_text(config.read_text().replace("sources:\n", section, 1))
    assert cli(config, "config", "validate").returncode == 0
    done = cli(config, "sync", "--once")
    assert done.returncode == 0, done.stdout + done.stderr
    status = json.loads(cli(config, "status", "--format", "json").stdout)
    by_source = {t["source"]: t for t in status["transitions"]}
    # the ServiceNow-primary transitions follow their source's own mapping (eleven items),
    # every other one the product's policy
    for transition in status["transitions"]:
        keys = [i["key"] for i in transition["gate"]["items"]]
        if transition["source"] == "snow":
            assert len(keys) > 1 and transition["gate"]["policy"] == "the mapping of source snow"
        else:
            assert keys == ["kb_article"]
            assert transition["gate"]["policy"].startswith("policy ")
    assert set(by_source) == {"jira", "snow"}
    explained = cli(config, "explain", by_source["snow"]["id"])
    assert "Judged by the mapping of source snow" in explained.stdout
    # an override for a source that does not exist is a positioned error with a hint
    config.write_text(config.read_text().replace("overrides: {snow: mapping}",
                                                 "overrides: {snwo: mapping}"))
    wrong = cli(config, "config", "validate")
    assert wrong.returncode == 2
    assert "policy.overrides.snwo: no source named 'snwo'; did you mean 'snow'?" in wrong.stderr
