"""Crash safety: real `smo-bridge sync --once` processes killed by SIGKILL all through a cycle.

One state database and one sandbox live through a chain of runs. Each run dies at a different
point, first at named crash points (`bridge.faults`: after a page commit, in the middle of
derivation, between a push's remote call and its bookkeeping, ...), then at wall-clock delays
that land wherever they land. Runs to completion follow until the bridge has nothing left to
do. Then, checked from the outside:

- every record each source holds is stored, once;
- what is stored is what a clean mapping of the stored records gives (no lookup change lost
  to a crash), and derivation has nothing left to change or plan;
- every push is delivered, every transition has exactly one knowledge article, and every gate
  status change left exactly one Jira comment and one ServiceNow work note.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from bridge.config import BridgeConfig, load_config
from bridge.derive.run import article_correlation, derive_all
from bridge.engine import Engine
from bridge.faults import CRASH_ENV
from bridge.sandbox import Sandbox
from bridge.store import Store, open_store
from bridge.store.schema import (
    outbox,
    projects,
    quarantine,
    raw_records,
    runs,
    tickets,
    transitions,
)
from connectors.servicenow_query import marker
from tests.helpers import clean_env
from tests.integration.test_cycle import census

pytestmark = pytest.mark.sandbox

TICKETS = 1300  # enough for a Jira issue stream of two pages, so a crash can split one
RUN_TIMEOUT = 60.0
TAG = re.compile(r"\[smo-bridge:(gate:[^\]]+)\]")

# Each entry is one run, crashing at SMO_BRIDGE_CRASH_AT, in the order a cycle reaches the
# points. Pages per run: jira fields, projects, issues (two pages on the first pull, one after),
# then one per ServiceNow table.
PULL_CRASHES = [
    "page:1",  # the Jira field catalogue only
    "page:3",  # the first of two pages of Jira issues: the cursor stops mid-stream
    "page:3",  # the rest of the issues: Jira's projects wait for a re-mapping that never runs
    "page:9",  # ServiceNow reference tables and task_sla, no tickets yet
    "page:14",  # every page stored, ServiceNow not settled, nothing derived
]
DERIVE_AND_PUSH_CRASHES = [
    "derive:4",  # half the transitions saved in an uncommitted derivation
    "derived:1",  # derived state and outbox rows committed, nothing pushed
    "push:1",  # the first push made remotely, not marked delivered
    "delivered:2",
    "push:5",
    "push:3",
]
KILL_AFTER_SECONDS = [1.3, 1.7, 2.1, 2.5, 2.9]  # past interpreter start-up, into the cycle


def write_config(path: Path, state: str, sb: Sandbox, extra: str = "") -> Path:
    path.write_text(f"""\
state: {state}
sources:
  - name: jira
    kind: jira
    url: {sb.jira_url}
    auth: {{kind: basic, username: sandbox, password: sandbox}}
  - name: snow
    kind: servicenow
    url: {sb.servicenow_url}
    auth: {{kind: basic, username: sandbox, password: sandbox}}
push:
  gate_status: [jira, snow]
  knowledge: snow
{extra}""")
    return path


def sync_once(config: Path, cwd: Path, extra_args: list[str] | None = None,
              **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli.main", "--config", str(config), "sync", "--once",
         *(extra_args or [])],
        cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=RUN_TIMEOUT)


def crash_at(config: Path, cwd: Path, point: str) -> None:
    crashed = sync_once(config, cwd, **{CRASH_ENV: point})
    # every planned point is reached: a run that ends without crashing proves nothing
    assert crashed.returncode == -signal.SIGKILL, (point, crashed.returncode, crashed.stderr)


def sync_killed_after(config: Path, cwd: Path, seconds: float) -> int:
    """A run SIGKILLed after `seconds` (or its own exit status, when it finished first)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli.main", "--config", str(config), "sync", "--once"],
        cwd=cwd, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=RUN_TIMEOUT)


def run_until_settled(config: Path, store: Store, cwd: Path, max_runs: int = 5) -> None:
    """Complete runs until one plans and delivers no push: pushed articles come back through
    the pull and can change a gate, so a quiet run is the end, not the first complete one
    (a run that only delivered what a killed run planned wrote records no pull has read)."""
    for _ in range(max_runs):
        before = outbox_state(store)
        done = sync_once(config, cwd)
        assert done.returncode == 0, done.stderr
        if outbox_state(store) == before:  # nothing planned and nothing left to deliver
            return
    pytest.fail(f"still planning pushes after {max_runs} complete runs")


def outbox_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def outbox_state(store: Store) -> tuple[tuple[str, int], ...]:
    """Outbox rows by status: a run that delivers a pending push (an article created after
    this run's pull) changes it, so the next run pulls what that push wrote."""
    with store.engine.connect() as conn:
        return tuple(sorted((str(s), int(n)) for s, n in conn.execute(
            select(outbox.c.status, func.count()).group_by(outbox.c.status))))


# --- what "once" means, checked from the outside ----------------------------------------------


def assert_every_record_stored_once(config: BridgeConfig, store: Store) -> None:
    held = census(config)
    with store.engine.connect() as conn:
        doubles = conn.execute(
            select(raw_records.c.source, raw_records.c.stream, raw_records.c.key)
            .group_by(raw_records.c.source, raw_records.c.stream, raw_records.c.key)
            .having(func.count() > 1)).all()
        assert doubles == []
        for (source, stream), keys in held.items():
            stored = set(conn.execute(select(raw_records.c.key).where(
                raw_records.c.source == source, raw_records.c.stream == stream,
                raw_records.c.deleted.is_(False))).scalars())
            rejected = set(conn.execute(select(quarantine.c.key).where(
                quarantine.c.source == source, quarantine.c.stream == stream)).scalars())
            missing = keys - stored - rejected
            assert not missing, f"{source}/{stream}: {len(missing)} record(s) never stored"
            assert stored <= keys, f"{source}/{stream}: stored records the source does not hold"


def entity_hashes(conn: Connection) -> dict[tuple[str, str, str], str]:
    found: dict[tuple[str, str, str], str] = {}
    for table, kind in ((projects, "project"), (tickets, "ticket")):
        for source, key, digest in conn.execute(
                select(table.c.source, table.c.key, table.c.content_hash)):
            found[(kind, source, key)] = digest
    return found


def assert_state_is_consistent(config: BridgeConfig, store: Store, *, derive: bool = True) -> None:
    """Mapping every stored record again, and deriving again, change nothing (rolled back)."""
    engine = Engine(config, store)
    with store.engine.connect() as conn:
        outer = conn.begin()
        try:
            stored = entity_hashes(conn)
            for source in config.sources:
                engine.mapping(source).remap_all(conn)
            remapped = entity_hashes(conn)
            stale = sorted(k for k in stored.keys() | remapped.keys()
                           if stored.get(k) != remapped.get(k))
            assert not stale, f"{len(stale)} entities differ from their records, e.g. {stale[:5]}"
            if derive:
                derived = derive_all(conn, config, engine, now=datetime.now(UTC))
                assert derived.planned == [], "derivation still had pushes to plan"
                assert derived.articles_changed == 0
        finally:
            outer.rollback()


def assert_every_push_made_once(sb: Sandbox, store: Store) -> None:
    with store.engine.connect() as conn:
        pushes = [dict(r) for r in conn.execute(select(outbox)).mappings()]
        transition_ids = list(conn.execute(select(transitions.c.id)).scalars())
        issue_keys = list(conn.execute(select(raw_records.c.key).where(
            raw_records.c.source == "jira", raw_records.c.stream == "issues")).scalars())
    not_done = [(p["idempotency_key"], p["status"], p["last_error"]) for p in pushes
                if p["status"] != "delivered"]
    assert not not_done, f"pushes not delivered: {not_done}"
    assert transition_ids

    # at most one live knowledge article per transition (none where the service has its
    # own), and none for anything else
    live = "^workflow_stateNOT INretired,outdated,pending_retirement"
    written = 0
    for tid in transition_ids:
        found = sb.servicenow_rows("kb_knowledge", f"metaLIKE{marker(article_correlation(tid))}{live}")
        assert len(found) <= 1, f"{tid}: {len(found)} knowledge articles"
        written += len(found)
    ours = sb.servicenow_rows("kb_knowledge", f"metaLIKE[smo-bridge:{live}")
    assert written and len(ours) == written

    # one comment / work note per gate status change: every tag once, and only planned tags
    gate_keys = {p["idempotency_key"]: p["target"] for p in pushes if p["operation"] == "gate_status"}
    assert gate_keys
    tags: Counter[str] = Counter()
    for key in issue_keys:
        for body in sb.jira_comments(key):
            tags.update(TAG.findall(body))
    for row in sb.servicenow_rows("sys_journal_field", "element=work_notes^valueLIKEsmo-bridge:gate:"):
        tags.update(TAG.findall(row["value"]))
    doubled = {tag: n for tag, n in tags.items() if n > 1}
    assert not doubled, f"gate notes written more than once: {doubled}"
    assert set(tags) == set(gate_keys), (
        f"notes without a planned push: {sorted(set(tags) - set(gate_keys))}; "
        f"pushes without a note: {sorted(set(gate_keys) - set(tags))}")


# --- the test ---------------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Sandbox, Path, Store]]:
    with Sandbox(seed=11, tickets=TICKETS) as sb:
        config = write_config(tmp_path / "smo-bridge.yaml", f"sqlite:///{tmp_path / 'state.db'}", sb)
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        try:
            yield sb, config, store
        finally:
            store.close()


def test_sigkill_anywhere_in_a_cycle_loses_and_duplicates_nothing(
        world: tuple[Sandbox, Path, Store], tmp_path: Path) -> None:
    sb, config_path, store = world
    config = load_config(config_path)
    for point in PULL_CRASHES:
        crash_at(config_path, tmp_path, point)
    # checked before any push: a push touches the records it pushes to, which would heal a
    # lost re-mapping and hide it
    done = sync_once(config_path, tmp_path, extra_args=["--no-push"])
    assert done.returncode == 0, done.stderr
    assert_state_is_consistent(config, store, derive=False)

    sb.jira_store.touch(0)  # a record changes: a cycle with nothing changed derives nothing
    for point in DERIVE_AND_PUSH_CRASHES:
        crash_at(config_path, tmp_path, point)
    for seconds in KILL_AFTER_SECONDS:
        assert sync_killed_after(config_path, tmp_path, seconds) in (-signal.SIGKILL, 0)
    run_until_settled(config_path, store, tmp_path)

    assert_every_record_stored_once(config, store)
    assert_state_is_consistent(config, store)
    assert_every_push_made_once(sb, store)
    with store.engine.connect() as conn:
        statuses = Counter(conn.execute(select(runs.c.status)).scalars())
    assert statuses["running"] == 0  # a killed run is closed by the next one
    assert statuses["abandoned"] >= len(PULL_CRASHES)
