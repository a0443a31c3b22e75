"""Whole cycles against the sandbox over loopback: what is stored, derived and pushed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update

from bridge.config import BridgeConfig, load_config
from bridge.derive.run import article_correlation
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import Store, open_store
from bridge.store.schema import (
    outbox,
    projects,
    quarantine,
    raw_records,
    transitions,
    workload_cells,
)
from connectors.base import connector_for
from connectors.servicenow_query import marker
from mappings.loader import default_path
from tests.helpers import clean_env

SandboxFactory = Callable[..., Sandbox]
SECRET = "wrong-Pa55word-xyz"


def write_config(tmp_path: Path, sb: Sandbox, *, snow_password: str = "sandbox", push: bool = True,
                 jira_extra: str = "") -> Path:
    retry = "retry: {max_attempts: 6, base_delay: 0.01, max_delay: 0.2}"
    text = f"""\
state: sqlite:///{tmp_path / 'state.db'}
sources:
  - name: jira
    kind: jira
    url: {sb.jira_url}
    auth: {{kind: basic, username: sandbox, password: sandbox}}
    {retry}
{jira_extra}
  - name: snow
    kind: servicenow
    url: {sb.servicenow_url}
    auth: {{kind: basic, username: sandbox, password: "{snow_password}"}}
    {retry}
"""
    if push:
        text += "push:\n  gate_status: [jira, snow]\n  knowledge: snow\n"
    path = tmp_path / "smo-bridge.yaml"
    path.write_text(text)
    return path


def stored_keys(store: Store, source: str, stream: str) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(raw_records.c.key).where(
            raw_records.c.source == source, raw_records.c.stream == stream,
            raw_records.c.deleted.is_(False))).scalars())


def census(config: BridgeConfig) -> dict[tuple[str, str], set[str]]:
    """Every key each source holds now, per stream, from a complete read."""
    keys: dict[tuple[str, str], set[str]] = {}
    for source in config.sources:
        connector = connector_for(source)
        try:
            for spec in connector.streams():
                keys[(source.name, spec.name)] = set(connector.census(spec.name))
        finally:
            connector.close()
    return keys


def assert_nothing_missing(before: dict[tuple[str, str], set[str]], store: Store) -> None:
    """Every key the sources held before the cycle is stored after it."""
    for (source, stream), present in before.items():
        missing = present - stored_keys(store, source, stream)
        assert not missing, f"{source}/{stream}: {len(missing)} missing, e.g. {sorted(missing)[:3]}"


def articles_per_transition(sb: Sandbox, store: Store, live: bool = False) -> dict[str, int]:
    """The bridge's articles per transition; `live`: those not retired or outdated."""
    with store.engine.connect() as conn:
        ids = conn.execute(select(transitions.c.id)).scalars().all()
    ended = "^workflow_stateNOT INretired,outdated,pending_retirement" if live else ""
    return {tid: len(sb.servicenow_rows(
        "kb_knowledge", f"metaLIKE{marker(article_correlation(tid))}{ended}")) for tid in ids}


def test_a_cycle_stores_everything_once_derives_and_pushes_once(
        sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=11, tickets=500, jira_deployment="cloud")
    config = load_config(write_config(tmp_path, sb))
    store = open_store(config.state)
    try:
        held = census(config)
        first = Engine(config, store).run_cycle()
        assert first.exit_code == 0, [(s.name, s.error) for s in first.sources]
        assert all(s.status == "ok" and s.pulled > 0 for s in first.sources)
        assert_nothing_missing(held, store)

        with store.engine.connect() as conn:
            statuses = set(conn.execute(select(transitions.c.gate_status)).scalars())
            tiers = set(conn.execute(select(workload_cells.c.capability)).scalars())
            linked = conn.execute(select(func.count()).select_from(projects)).scalar_one()
        # the seeded organisation: one transition passed, one awaits its review, one went
        # live unready, others at risk, overdue or in progress
        assert statuses >= {"passed", "ready_for_review", "live_unready", "at_risk", "overdue",
                            "in_progress"}, statuses
        assert tiers == {"strategic", "tactical", "operational"}
        assert linked > 0

        # one article per transition; none where the service already has its own
        written = articles_per_transition(sb, store)
        assert set(written.values()) == {0, 1}
        second = Engine(config, store).run_cycle()
        third = Engine(config, store).run_cycle()
        assert second.exit_code == third.exit_code == 0
        assert articles_per_transition(sb, store) == written

        with store.engine.connect() as conn:
            gate_pushes = conn.execute(select(outbox.c.target, outbox.c.idempotency_key, outbox.c.payload,
                                              outbox.c.status)
                                       .where(outbox.c.operation == "gate_status")).all()
        assert gate_pushes and all(row.status == "delivered" for row in gate_pushes)
        for target, key, payload, _ in gate_pushes:
            if target != "jira":
                continue
            tagged = [c for c in _epic_comments(sb, store, payload["project_key"]) if key in c]
            assert len(tagged) == 1, (key, tagged)
            epic = _epic(store, payload["project_key"])
            assert sb.jira_issue_property(epic, "smo-bridge.gate")["status"]
    finally:
        store.close()


def _epic(store: Store, project_key: str) -> str:
    with store.engine.connect() as conn:
        payload = conn.execute(select(projects.c.payload).where(
            projects.c.source == "jira", projects.c.key == project_key)).scalar_one()
    return str(payload["attributes"].get("epic") or f"{project_key}-1")


def _epic_comments(sb: Sandbox, store: Store, project_key: str) -> list[str]:
    return sb.jira_comments(_epic(store, project_key))


def test_a_source_that_is_down_fails_alone(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=12, tickets=200, jira_deployment="server")
    config = load_config(write_config(tmp_path, sb, snow_password=SECRET))
    store = open_store(config.state)
    try:
        result = Engine(config, store).run_cycle()
    finally:
        store.close()
    outcomes = {s.name: s for s in result.sources}
    assert result.exit_code == 3
    assert outcomes["jira"].status == "ok" and outcomes["jira"].inserted > 0
    assert outcomes["snow"].status == "failed"
    assert "snow" in (outcomes["snow"].error or "") and "authentication" in (outcomes["snow"].error or "")
    assert SECRET not in (outcomes["snow"].error or "")


def test_faults_and_rate_limits_lose_nothing(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=13, tickets=400, jira_deployment="cloud")
    config = load_config(write_config(tmp_path, sb))
    held = census(config)
    for service in ("jira", "servicenow"):
        sb.faults(service).configure(rate_limit=40, rate_window_s=1.0, error_rate=0.1,
                                     malformed_rate=0.05, drop_rate=0.05, seed=5)
    store = open_store(config.state)
    try:
        for _ in range(12):  # failed reads resume from the committed cursor next cycle
            result = Engine(config, store).run_cycle()
            if all(s.status == "ok" for s in result.sources) and result.exit_code == 0:
                break
        injected = sb.faults("jira").injected
        for service in ("jira", "servicenow"):
            sb.faults(service).reset()
        with store.engine.begin() as conn:  # let the pushes' backoff pass
            conn.execute(update(outbox).where(outbox.c.status == "pending")
                         .values(next_attempt_at=datetime.now(UTC)))
        Engine(config, store).run_cycle()  # one clean cycle after the storm
        assert_nothing_missing(held, store)
        # pushes whose answer was lost were retried: no transition has two live articles
        # (a draft written while its service's own article was not yet read is retired)
        assert set(articles_per_transition(sb, store, live=True).values()) <= {0, 1}
        with store.engine.connect() as conn:
            assert set(conn.execute(select(outbox.c.status)).scalars()) == {"delivered"}
        assert injected, "the faults never fired"
    finally:
        store.close()


def test_a_record_the_mapping_rejects_is_quarantined_and_the_rest_go_on(
        sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=14, tickets=200, jira_deployment="cloud")
    # open issues have no resolution date: with it required, they cannot be mapped
    strict = default_path("jira").read_text().replace(
        "      resolved: fields.resolutiondate\n",
        "      resolved: {path: fields.resolutiondate, required: true}\n")
    assert "resolutiondate, required: true}" in strict
    (tmp_path / "strict-jira.yaml").write_text(strict)
    config = load_config(write_config(tmp_path, sb, push=False,
                                      jira_extra="    mappings: [strict-jira.yaml]"))
    store = open_store(config.state)
    try:
        result = Engine(config, store).run_cycle()
        with store.engine.connect() as conn:
            rows = conn.execute(select(quarantine.c.key, quarantine.c.field, quarantine.c.reason)
                                .where(quarantine.c.source == "jira")).all()
    finally:
        store.close()
    jira = next(s for s in result.sources if s.name == "jira")
    assert result.exit_code == 3
    assert rows and jira.quarantined == len(rows)
    assert all(row.field == "resolved" for row in rows)
    assert jira.mapped > 0  # the others were mapped


def test_dry_run_writes_nothing_anywhere(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=15, tickets=200, jira_deployment="cloud")
    config_path = write_config(tmp_path, sb)
    store = open_store(load_config(config_path).state)
    store.close()
    articles_before = sb.servicenow_count("kb_knowledge")
    env = clean_env()
    done = subprocess.run([sys.executable, "-m", "bridge.cli.main", "--config", str(config_path), "sync",
                           "--once", "--dry-run"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Dry run: nothing was written" in done.stdout
    assert "would push article" in done.stdout
    store = open_store(load_config(config_path).state)
    try:
        with store.engine.connect() as conn:
            for table in (raw_records, projects, transitions, outbox):
                assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
    finally:
        store.close()
    assert sb.servicenow_count("kb_knowledge") == articles_before


def test_sync_once_through_the_cli_and_status_json(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    import json

    sb = sandbox_factory(seed=16, tickets=200, jira_deployment="server")
    config_path = write_config(tmp_path, sb)
    env = clean_env()
    base = [sys.executable, "-m", "bridge.cli.main", "--config", str(config_path)]
    done = subprocess.run([*base, "sync", "--once"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    status = subprocess.run([*base, "status", "--format", "json"], capture_output=True, text=True,
                            env=env, timeout=60)
    data = json.loads(status.stdout)
    assert {s["name"] for s in data["sources"]} == {"jira", "snow"}
    assert all(s["records"] > 0 and s["last_success"].endswith("Z") for s in data["sources"])
    assert data["transitions"] and all(t["gate"]["status"] in {
        "not_started", "in_progress", "at_risk", "overdue", "ready_for_review", "passed",
        "live_unready"}
        for t in data["transitions"])
    assert {w["capability"] for w in data["workloads"]} <= {"strategic", "tactical", "operational"}
    assert data["outbox"]["delivered"] > 0 and data["outbox"]["failed"] == 0
    first = data["transitions"][0]["id"]
    explained = subprocess.run([*base, "explain", first], capture_output=True, text=True, env=env,
                               timeout=60)
    assert explained.returncode == 0, explained.stderr
    assert "Gate:" in explained.stdout
    report = subprocess.run([*base, "report", "workloads", "--by", "practice", "--format", "csv"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert report.returncode == 0 and report.stdout.startswith("practice,period,opened")
    store = open_store(load_config(config_path).state)
    try:
        with store.engine.connect() as conn:
            key = conn.execute(select(raw_records.c.key).where(
                raw_records.c.source == "snow", raw_records.c.stream == "incident").limit(1)).scalar_one()
    finally:
        store.close()
    preview = subprocess.run([*base, "mappings", "preview", "--source", "snow", "--key", key],
                             capture_output=True, text=True, env=env, timeout=60)
    assert preview.returncode == 0, preview.stderr
    assert "classified by" in preview.stdout and "incident_management" in preview.stdout
