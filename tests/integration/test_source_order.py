"""One service, one transition: a service tracked in Jira and in ServiceNow is one gate, and
the order of `sources:` changes no id and no status."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]


def _gates(config: Path) -> dict[str, tuple[str, str]]:
    done = cli(config, "sync", "--once", "--no-push")
    assert done.returncode == 0, done.stdout + done.stderr
    status = json.loads(cli(config, "status", "--format", "json").stdout)
    return {t["id"]: (t["service"], t["gate"]["status"]) for t in status["transitions"]}


def test_swapping_sources_changes_no_id_and_no_status(sandbox_factory: SandboxFactory,  # noqa: F811
                                                       tmp_path: Path) -> None:
    sb = sandbox_factory(seed=19, tickets=300, jira_deployment="cloud")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_config(tmp_path / "a", sb, push=False)
    swapped = write_config(tmp_path / "b", sb, push=False)
    text = swapped.read_text()
    jira_part = text[text.index("  - name: jira"):text.index("  - name: snow")]
    swapped.write_text(text.replace(jira_part, "") + jira_part)
    assert swapped.read_text().index("name: snow") < swapped.read_text().index("name: jira")

    gates = _gates(first)
    assert gates == _gates(swapped)
    services = [service for service, _ in gates.values()]
    assert len(services) == len(set(services)), "a service has two transitions"
