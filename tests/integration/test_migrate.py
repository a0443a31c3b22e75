"""The one-off commands an admin runs: backfill, remap, republish, reconcile, copy-state, outbox."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, update

from bridge.config import load_config
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from bridge.store.schema import cursors, outbox, raw_records, tickets, transitions
from mappings.loader import default_path
from tests.helpers import clean_env
from tests.integration.test_cycle import write_config

SandboxFactory = Callable[..., Sandbox]


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    return subprocess.run([sys.executable, "-m", "bridge.cli.main", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=180)


def count(config: Path, table: object, *where: object) -> int:
    store = open_store(load_config(config).state)
    try:
        with store.engine.connect() as conn:
            query = select(func.count()).select_from(table)  # type: ignore[arg-type]
            for clause in where:
                query = query.where(clause)  # type: ignore[arg-type]
            return int(conn.execute(query).scalar_one())
    finally:
        store.close()


def test_admin_commands_end_to_end(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=21, tickets=300, jira_deployment="cloud")
    config = write_config(tmp_path, sb)
    assert cli(config, "sync", "--once").returncode == 0
    records = count(config, raw_records)
    articles = sb.servicenow_count("kb_knowledge")

    # backfill: everything read again, nothing new stored, the cursors back in place
    done = cli(config, "migrate", "backfill", "--source", "jira")
    assert done.returncode == 0, done.stderr
    assert count(config, raw_records) >= records
    assert count(config, cursors, cursors.c.source == "jira") > 0

    # remap with a changed mapping: every Jira ticket now carries the new team name
    renamed = default_path("jira").read_text().replace(
        "      project_key: fields.project.key\n",
        "      project_key: fields.project.key\n      labels: {value: [remapped]}\n", 1)
    assert "remapped" in renamed
    (tmp_path / "jira.yaml").write_text(renamed.replace("      labels: 'fields.labels[*]'\n", ""))
    config.write_text(config.read_text().replace(
        "    retry: {max_attempts: 6, base_delay: 0.01, max_delay: 0.2}\n\n",
        "    retry: {max_attempts: 6, base_delay: 0.01, max_delay: 0.2}\n    mappings: [jira.yaml]\n", 1))
    assert cli(config, "config", "validate").returncode == 0
    done = cli(config, "migrate", "remap", "--source", "jira")
    assert done.returncode == 0, done.stderr
    store = open_store(load_config(config).state)
    try:
        with store.engine.connect() as conn:
            labels = [p["labels"] for p in conn.execute(
                select(tickets.c.payload).where(tickets.c.source == "jira")).scalars()]
    finally:
        store.close()
    assert labels and all(label == ["remapped"] for label in labels)

    # republish: articles and gate statuses planned again; the connectors write no duplicates
    done = cli(config, "migrate", "republish")
    assert done.returncode == 0, done.stderr
    assert sb.servicenow_count("kb_knowledge") == articles
    assert count(config, outbox, outbox.c.status != "delivered") == 0

    # outbox: a failed push is visible, retried on request
    store = open_store(load_config(config).state)
    try:
        with store.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id == 1).values(status="failed", last_error="boom"))
    finally:
        store.close()
    listed = cli(config, "outbox", "list", "--status", "failed")
    assert listed.returncode == 0 and "boom" in listed.stdout
    retried = cli(config, "outbox", "retry")
    assert retried.returncode == 0 and "1 push(es) queued again" in retried.stdout
    assert count(config, outbox, outbox.c.status == "failed") == 0

    # reconcile: a record deleted at the source (gone from its census) is marked deleted
    store = open_store(load_config(config).state)
    try:
        with store.engine.begin() as conn:
            conn.execute(raw_records.insert().values(
                source="snow", stream="incident", key="0" * 32, payload={}, content_hash="x",
                deleted=False, first_seen=func.now(), last_seen=func.now()))
    finally:
        store.close()
    done = cli(config, "migrate", "reconcile", "--source", "snow")
    assert done.returncode == 0, done.stderr
    assert "snow/incident:" in done.stdout and "1 marked deleted" in done.stdout
    assert count(config, raw_records, raw_records.c.key == "0" * 32, raw_records.c.deleted.is_(True)) == 1

    # copy-state: the whole store into a new database
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    done = cli(config, "migrate", "copy-state", "--to", target)
    assert done.returncode == 0, done.stderr
    copy = open_store(target)
    try:
        with copy.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(transitions)).scalar_one() == \
                count(config, transitions)
    finally:
        copy.close()
    again = cli(config, "migrate", "copy-state", "--to", target)
    assert again.returncode == 2 and "copy into an empty database" in again.stderr
