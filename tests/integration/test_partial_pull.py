"""Publishing only from complete pictures; the exit status and the summary tell the truth.

A pull made to fail halfway (the sandbox starts failing every request once a page is
stored) leaves its source partial: the transitions it touches are neither created nor
changed and nothing is pushed for them until a pull of it completes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bridge import migrate, pullstate
from bridge.cli.status import with_pull_states
from bridge.config import BridgeConfig, load_config
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.store import Store, open_store
from bridge.store.schema import outbox, raw_records, runs, tickets, transitions
from bridge.store.status import snapshot
from connectors import http
from tests.integration.test_cycle import write_config

pytestmark = pytest.mark.sandbox

CONTRACT_STATUSES = {"not_started", "in_progress", "at_risk", "overdue", "ready_for_review", "passed",
                     "live_unready"}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, BridgeConfig, Store]]:
    monkeypatch.setattr(http, "pause", lambda seconds: None)
    with Sandbox(seed=12, tickets=500, jira_deployment="cloud") as sb:
        config = load_config(write_config(tmp_path, sb))
        store = open_store(config.state)
        try:
            yield sb, config, store
        finally:
            store.close()


def fail_once_tickets_stored(sb: Sandbox, store: Store) -> Callable[[str, int, int | None], None]:
    """A progress hook: once a page of ServiceNow tickets is stored, the instance fails
    every request (projects and some tickets stored, the rest of the pull failed)."""
    def hook(name: str, pulled: int, total: int | None) -> None:
        if name != "snow":
            return
        with store.engine.connect() as conn:
            stored = conn.execute(select(tickets.c.key).where(tickets.c.source == "snow").limit(1)).first()
        if stored is not None:
            sb.faults("servicenow").configure(error_rate=1.0)
    return hook


def fast_forward_pushes(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.status == "pending")
                     .values(next_attempt_at=outbox.c.created_at))


def gate_pushes(store: Store) -> list[dict[str, object]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(outbox.c.idempotency_key, outbox.c.payload)
                                              .where(outbox.c.operation == "gate_status")).mappings()]


def test_a_pull_failed_halfway_publishes_nothing_it_touches(
        world: tuple[Sandbox, BridgeConfig, Store]) -> None:
    sb, config, store = world
    first = Engine(config, store, progress=fail_once_tickets_stored(sb, store)).run_cycle()
    outcomes = {s.name: s for s in first.sources}
    assert outcomes["jira"].status == "ok"
    assert outcomes["snow"].status == "failed" and outcomes["snow"].wrote
    assert first.exit_code == 3
    with store.engine.connect() as conn:
        assert not pullstate.get(conn, "snow").complete
        assert pullstate.get(conn, "jira").complete
        derived = set(conn.execute(select(transitions.c.id)).scalars())
    shown = {s["name"]: s["pull"]["complete"] for s in with_pull_states(
        snapshot(store, [("jira", "jira"), ("snow", "servicenow")]), store)["sources"]}
    assert shown == {"jira": True, "snow": False}  # `status` says which picture is partial
    # held back: not derived, nothing planned for them; what only jira touches goes on
    assert first.held and all("snow" in why for why in first.held.values())
    assert not set(first.held) & derived
    assert not {p["transition"] for p in first.planned} & set(first.held)
    held_first = set(first.held)

    sb.faults("servicenow").reset()
    fast_forward_pushes(store)  # the article pushes that failed with snow back off for minutes
    second = Engine(config, store).run_cycle()
    assert all(s.status == "ok" for s in second.sources) and not second.held
    # resumed from the last committed page, not read again from the start
    snow_first = outcomes["snow"]
    snow_second = next(s for s in second.sources if s.name == "snow")
    with store.engine.connect() as conn:
        snow_records = len(conn.execute(select(raw_records.c.key).where(
            raw_records.c.source == "snow")).all())
    assert snow_first.inserted + snow_second.inserted == snow_records
    assert snow_second.pulled < snow_records - snow_first.inserted // 2
    assert second.exit_code == 0, (second.pending, [(s.name, s.error) for s in second.sources])
    with store.engine.connect() as conn:
        assert pullstate.get(conn, "snow").complete
        final = dict(conn.execute(select(transitions.c.id, transitions.c.gate_status)).all())
    assert held_first <= set(final)
    # one gate version per transition and target: no status was published and then taken back
    keys = [str(p["idempotency_key"]) for p in gate_pushes(store)]
    assert keys and all(key.endswith(":v1") for key in keys), keys
    for push in gate_pushes(store):
        status = push["payload"]["status"]  # type: ignore[index]
        assert status["status"] == final[status["transition"]]
        assert "as_of" not in status


def test_a_pull_that_failed_before_writing_counts_with_its_last_complete_pull(
        world: tuple[Sandbox, BridgeConfig, Store]) -> None:
    sb, config, store = world
    assert Engine(config, store).run_cycle().exit_code == 0
    sb.faults("servicenow").configure(error_rate=1.0)
    failed = Engine(config, store).run_cycle()
    snow = next(s for s in failed.sources if s.name == "snow")
    assert snow.status == "failed" and not snow.wrote and not failed.held
    with store.engine.connect() as conn:
        state = pullstate.get(conn, "snow")
    assert state.complete and state.failed_at and state.completed_at
    # a republish plans every gate again: those touched by snow say which pull they used
    result = migrate.republish(config, store)
    snow_pushes = [p for p in gate_pushes(store) if str(p["idempotency_key"]).endswith(":v2")]
    assert result.planned and snow_pushes
    touched = [p for p in snow_pushes if "as_of" in p["payload"]["status"]]  # type: ignore[operator]
    assert touched
    for push in touched:
        assert push["payload"]["status"]["as_of"] == {"snow": state.completed_at}  # type: ignore[index]
        assert "snow: as of its last complete pull" in push["payload"]["comment"]  # type: ignore[index]


def test_an_interrupted_republish_leaves_only_contract_values_and_finishes_next_cycle(
        world: tuple[Sandbox, BridgeConfig, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    _, config, store = world
    assert Engine(config, store).run_cycle().exit_code == 0
    before = len(gate_pushes(store))

    def killed(engine: Engine, *args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(migrate, "_derive_only", killed)
    with pytest.raises(KeyboardInterrupt):
        migrate.republish(config, store)
    with store.engine.connect() as conn:
        rows = conn.execute(select(transitions.c.gate_status, transitions.c.payload)).all()
    assert rows
    for column, payload in rows:
        assert column in CONTRACT_STATUSES and payload["gate"]["status"] in CONTRACT_STATUSES

    monkeypatch.undo()
    monkeypatch.setattr(http, "pause", lambda seconds: None)
    again = Engine(config, store).run_cycle()
    assert again.exit_code == 0
    assert len(gate_pushes(store)) > before  # the republish was finished by the next cycle
    assert all(str(p["idempotency_key"]).endswith((":v1", ":v2")) for p in gate_pushes(store))


def test_pending_pushes_exit_3_and_are_counted(world: tuple[Sandbox, BridgeConfig, Store]) -> None:
    sb, config, store = world
    Engine(config, store).run_cycle(push=False)
    sb.faults("jira").configure(error_rate=1.0)  # every push to Jira fails, and retries later
    result = Engine(config, store, should_stop=None).run_cycle(pull=False)
    with store.engine.connect() as conn:
        pending = conn.execute(select(outbox.c.id).where(outbox.c.status == "pending")).all()
    assert pending and result.pending == len(pending)
    assert result.retrying > 0 and result.push_failures == 0
    assert result.exit_code == 3

    sb.faults("jira").reset()
    fast_forward_pushes(store)
    done = Engine(config, store).run_cycle(pull=False)
    assert done.pending == 0 and done.exit_code == 0


def test_a_token_echoed_in_an_error_is_not_stored_in_the_runs_table(
        world: tuple[Sandbox, BridgeConfig, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.logs import redact

    _, config, store = world
    token = "tok-3chO-0f-a-s3rver-12345"
    redact.received(token)
    from connectors import jira

    def echo(self: object, *args: object, **kwargs: object) -> object:
        raise jira.SourceError("jira", f"refused: invalid access_token {token}")

    monkeypatch.setattr(jira.JiraConnector, "streams", echo)
    result = Engine(config, store).run_cycle()
    outcome = next(s for s in result.sources if s.name == "jira")
    assert outcome.status == "failed" and token not in (outcome.error or "")
    with store.engine.connect() as conn:
        errors = [e for e in conn.execute(select(runs.c.error)).scalars() if e]
    assert errors and not any(token in e for e in errors)


def test_an_unexpected_failure_is_stored_without_the_record_it_quotes(
        world: tuple[Sandbox, BridgeConfig, Store]) -> None:
    """A bug's message may quote a record: the runs table, the summary and /readyz get the
    exception's name only."""
    _, config, store = world

    def bug(name: str, pulled: int, total: int | None = None) -> None:
        if name == "snow":
            raise ValueError("invalid literal for int(): 'ann.smith@example.com'")

    result = Engine(config, store, progress=bug).run_cycle("snow", push=False)
    [outcome] = result.sources
    assert outcome.status == "failed"
    assert outcome.error == "internal error: ValueError (the log has details)"
    with store.engine.connect() as conn:
        stored = [str(e) for e in conn.execute(select(runs.c.error)).scalars()]
    assert stored and not any("example.com" in e for e in stored)
