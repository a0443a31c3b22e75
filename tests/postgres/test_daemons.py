"""Shared state on PostgreSQL: two `smo-bridge run` daemons, one database, one sandbox.

Both start at the same moment against an empty database (so they also race to create the
schema), run a few scheduled cycles, and stop on SIGTERM. They deal the sources out between
them (bridge.store.members), and the job locks (PostgreSQL advisory locks) keep any of the
work from being done twice: every record is stored once, every push is delivered once, and
the sandbox holds one article per transition and one comment / work note per gate status
change.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge.config import load_config
from bridge.sandbox import Sandbox
from bridge.store import Store, open_store
from bridge.store.database import head_revision
from bridge.store.schema import outbox
from tests.conftest import fresh_database
from tests.helpers import clean_env
from tests.integration.test_crash import (
    assert_every_push_made_once,
    assert_every_record_stored_once,
    assert_state_is_consistent,
    outbox_count,
    write_config,
)

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

DAEMON_CONFIG = """\
daemon:
  schedule: {interval_seconds: 10}
  push_interval_seconds: 5
"""
RUN_FOR_SECONDS = 30.0  # three pull cycles and several push rounds
MAX_RUN_SECONDS = 150.0
COMPLETE_SNOW_PULL = re.compile(r"snow: pulled \d+ .* s, ok;")  # the engine's cycle line
COMPLETE_PULL = re.compile(r"(jira|snow): pulled \d+ .* s, ok;")
STOP_WITHIN_SECONDS = 10.0
TICKETS = 600
LATENCY_MS = 100


def _all_pushes_delivered(state: str) -> bool:
    store = open_store(state)
    try:
        with store.engine.connect() as conn:
            statuses = list(conn.execute(select(outbox.c.status)).scalars())
    finally:
        store.close()
    return bool(statuses) and all(s == "delivered" for s in statuses)


def start_daemon(config: Path, cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bridge.cli.main", "-v", "--config", str(config), "run"],
            cwd=cwd, env=clean_env(), stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=STOP_WITHIN_SECONDS + 20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    return code, time.monotonic() - started


def test_two_daemons_share_one_postgresql_store_and_do_nothing_twice(
        postgres_url: str, tmp_path: Path) -> None:
    state = fresh_database(postgres_url)
    with Sandbox(seed=23, tickets=TICKETS) as sb:
        # slow replies make each pull last seconds, so the daemons' rounds overlap for sure
        for service in ("jira", "servicenow"):
            sb.faults(service).configure(latency_ms=LATENCY_MS)
        config_path = write_config(tmp_path / "smo-bridge.yaml", state, sb, DAEMON_CONFIG)
        logs = [tmp_path / "daemon-a.log", tmp_path / "daemon-b.log"]
        daemons = [start_daemon(config_path, tmp_path, log) for log in logs]
        try:
            # run a few rounds, then on until a complete pull follows the last delivered push
            # (so what the pushes wrote comes back in): on a loaded machine that takes longer
            started = time.monotonic()
            pulls_after_push: int | None = None
            while time.monotonic() - started < MAX_RUN_SECONDS:
                assert all(d.poll() is None for d in daemons), [log.read_text() for log in logs]
                time.sleep(0.5)
                if time.monotonic() - started < RUN_FOR_SECONDS:
                    continue
                pulls = sum(len(COMPLETE_SNOW_PULL.findall(log.read_text())) for log in logs)
                if pulls_after_push is None:
                    if _all_pushes_delivered(state):
                        pulls_after_push = pulls
                elif pulls > pulls_after_push:
                    break
            stopped = [stop(d) for d in daemons]
        finally:
            for d in daemons:
                if d.poll() is None:
                    d.kill()
                    d.wait()
        texts = [log.read_text() for log in logs]
        for (code, seconds), text in zip(stopped, texts, strict=True):
            assert code == 0, text
            assert seconds < STOP_WITHIN_SECONDS, text
            assert "stopped cleanly" in text
            assert "Traceback" not in text and "ERROR" not in text, text

        for service in ("jira", "servicenow"):
            sb.faults(service).reset()
        store = open_store(state)
        try:
            config = load_config(config_path)
            assert outbox_count(store) > 0
            assert_every_record_stored_once(config, store)
            assert_every_push_made_once(sb, store)
            assert_state_is_consistent(config, store, derive=False)
        finally:
            store.close()

    # the sources were dealt out: each daemon pulled (its own share), none twice (above)
    both = "\n".join(texts)
    assert all(COMPLETE_PULL.search(text) for text in texts), both
    assert "pushed" in both


def test_processes_starting_together_on_an_empty_database_upgrade_it_once(postgres_url: str) -> None:
    """Without the schema lock, all but one of them fail on PostgreSQL's catalogue."""
    state = fresh_database(postgres_url)
    ready = threading.Barrier(4)
    opened: list[Store] = []
    failed: list[BaseException] = []

    def start() -> None:
        ready.wait(timeout=30)
        try:
            opened.append(open_store(state))
        except BaseException as exc:  # reported below, with the others
            failed.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert failed == []
        assert len(opened) == 4
        assert {store.current_revision() for store in opened} == {head_revision()}
    finally:
        for store in opened:
            store.close()
