"""Long commands report progress where no terminal watches: log lines with counts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from bridge.config import load_config
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from mappings.loader import default_path
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]


def progress_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "INFO bridge.progress:" in line]


def counted(lines: list[str], label: str) -> int:
    """The count of `label`'s final line (`label: 1,234 records done, ...`)."""
    for line in lines:
        found = re.search(re.escape(label) + r": ([\d,]+) \w+ done", line)
        if found:
            return int(found.group(1).replace(",", ""))
    raise AssertionError(f"no final progress line for {label!r} in {lines}")


def test_sync_and_every_migrate_verb_log_progress_without_a_terminal(
        sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=31, tickets=120, jira_deployment="server")
    config = write_config(tmp_path, sb)

    done = cli(config, "sync", "--once")  # stderr is a pipe: no live display, log lines
    assert done.returncode == 0, done.stderr
    lines = progress_lines(done.stderr)
    assert counted(lines, "pulling jira") > 0 and counted(lines, "pulling snow") > 0
    assert counted(lines, "pushing") > 0
    derived = json.loads(cli(config, "status", "--format", "json").stdout)["transitions"]
    assert counted(lines, "deriving") == len(derived) > 0
    assert all("\x1b[" not in line for line in done.stderr.splitlines())  # no live display drawn

    done = cli(config, "migrate", "backfill", "--source", "snow")
    assert done.returncode == 0, done.stderr
    assert counted(progress_lines(done.stderr), "pulling snow") > 0

    done = cli(config, "migrate", "remap", "--source", "jira")
    assert done.returncode == 0, done.stderr
    assert counted(progress_lines(done.stderr), "re-mapping jira") > 0

    # mappings diff: both re-mappings and both derivations, the new one of each last
    done = cli(config, "mappings", "diff", str(default_path("jira")), "--source", "jira")
    assert done.returncode == 0, done.stderr
    lines = progress_lines(done.stderr)
    for stage in ("old", "new"):
        assert counted(lines, f"re-mapping jira ({stage} mapping)") > 0
        assert counted(lines, f"deriving ({stage} mapping)") == len(derived)

    done = cli(config, "migrate", "republish")
    assert done.returncode == 0, done.stderr
    assert counted(progress_lines(done.stderr), "pushing") > 0

    done = cli(config, "migrate", "reconcile", "--source", "snow")
    assert done.returncode == 0, done.stderr
    present = re.search(r"snow/incident: (\d+) present", done.stdout)
    assert present, done.stdout
    assert counted(progress_lines(done.stderr), "census snow/incident") == int(present.group(1))

    done = cli(config, "migrate", "copy-state", "--to", f"sqlite:///{tmp_path / 'copy.db'}")
    assert done.returncode == 0, done.stderr
    assert counted(progress_lines(done.stderr), "copying raw_records") > 0


def test_the_engine_reports_the_totals_the_sources_give(
        sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    """ServiceNow's X-Total-Count and Jira Server's search `total` reach the progress hook."""
    sb = sandbox_factory(seed=32, tickets=120, jira_deployment="server")
    config = load_config(write_config(tmp_path, sb, push=False))
    heard: list[tuple[str, int, int | None]] = []
    store = open_store(config.state)
    try:
        result = Engine(config, store, progress=lambda *call: heard.append(call)).run_cycle()
    finally:
        store.close()
    pulled = {s.name: s.pulled for s in result.sources}
    for source in ("jira", "snow"):
        calls = [(done, total) for name, done, total in heard if name == source]
        assert calls and calls[-1][0] == pulled[source]
        # a stream read with a count ends where the count said (the sandbox is not edited meanwhile)
        assert any(total is not None and done == total for done, total in calls), calls
