"""The engine reads ahead: the same store as reading in turn, commit-then-advance kept, a
bounded lead, and a reader that stops with the pull (no thread or session left behind)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bridge import engine as engine_module
from bridge.config import BridgeConfig, load_config
from bridge.engine import Engine
from bridge.errors import TransientError
from bridge.models import RawRecord
from bridge.store import Store, open_store
from bridge.store import repository as repo
from bridge.store.schema import quarantine, raw_records, tickets
from connectors.base import Connector, QuarantineHandler, SourceConfig, StreamSpec

PAGE = 7
START = datetime(2026, 3, 1, tzinfo=UTC)


def issue(n: int) -> dict[str, Any]:
    updated = (START + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {"id": str(10_000 + n), "key": f"PAY-{n}",
            "fields": {"summary": f"issue {n}", "updated": updated, "created": updated,
                       "project": {"key": "PAY", "name": "Payments"},
                       "issuetype": {"name": "Incident"},
                       "status": {"name": "To Do", "statusCategory": {"key": "new"}}}}


class CountingJira(Connector):
    """A Jira-shaped source of `count` issues, sorted by update time; every ninth entry is
    unparsable. Counts what it yields, fails at entry `fail_at` when asked to, and keeps a
    log of its read ending and its session closing."""

    kind = "jira"

    def __init__(self, config: SourceConfig, count: int = 60, fail_at: int | None = None) -> None:
        super().__init__(config)
        self.count, self.fail_at = count, fail_at
        self.yielded = 0
        self.moved = threading.Condition()
        self.events: list[str] = []
        self.threads: set[str] = set()

    def check(self) -> None:
        pass

    def streams(self) -> list[StreamSpec]:
        return [StreamSpec("issues", primary_key="key", cursor_field="updated", is_sorted=True,
                           identity_field="id")]

    def read(self, stream: str, since: datetime | None = None,
             on_quarantine: QuarantineHandler | None = None) -> Iterator[RawRecord]:
        try:
            for n in range(self.count):
                self.threads.add(threading.current_thread().name)
                if n == self.fail_at:
                    raise TransientError("server error (503), retries exhausted", source=self.name)
                if n % 9 == 8:
                    self.quarantine(on_quarantine, stream, "not an object", [n], field="entry")
                    continue
                payload = issue(n)
                with self.moved:
                    self.yielded += 1
                    self.moved.notify_all()
                yield RawRecord(source=self.name, stream=stream, key=payload["key"],
                                updated=START + timedelta(minutes=n), payload=payload)
        finally:
            self.events.append("read ended")

    def close(self) -> None:
        self.events.append("closed")


@pytest.fixture
def config(tmp_path: Path) -> BridgeConfig:
    path = tmp_path / "smo-bridge.yaml"
    path.write_text(f"state: sqlite:///{tmp_path / 'state.db'}\nsources:\n"
                    "  - {name: jira, kind: jira, url: 'http://127.0.0.1:9', "
                    "auth: {kind: basic, username: u, password: p}}\n")
    return load_config(path)


def use(monkeypatch: pytest.MonkeyPatch, connector: CountingJira, ahead: int) -> None:
    monkeypatch.setattr(engine_module, "connector_for", lambda source: connector)
    monkeypatch.setattr(engine_module, "PAGE", PAGE)
    monkeypatch.setattr(engine_module, "READ_AHEAD", ahead)


def pull(config: BridgeConfig, url: str, **kwargs: Any) -> tuple[Store, engine_module.SourceOutcome]:
    store = open_store(url)
    return store, Engine(config, store, **kwargs).pull_source(config.sources[0])


def stored(store: Store) -> dict[str, Any]:
    with store.engine.connect() as conn:
        return {
            "raw": sorted(conn.execute(select(raw_records.c.key, raw_records.c.content_hash,
                                              raw_records.c.identity, raw_records.c.updated))),
            "tickets": sorted(conn.execute(select(tickets.c.key, tickets.c.content_hash))),
            "quarantine": sorted(conn.execute(select(quarantine.c.key, quarantine.c.reason))),
            "cursor": (repo.get_cursor(conn, "jira", "issues") or {}).get("last_value"),
        }


def reader_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("read jira/")}


def test_reading_ahead_stores_what_reading_in_turn_stores(
        config: BridgeConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = []
    for ahead in (0, 2):
        connector = CountingJira(config.sources[0])
        use(monkeypatch, connector, ahead)
        store, outcome = pull(config, f"sqlite:///{tmp_path / f'ahead{ahead}.db'}")
        try:
            assert outcome.status == "ok", outcome.error
            found.append((stored(store), outcome.counts()))
        finally:
            store.close()
        assert connector.threads == ({"MainThread"} if ahead == 0 else {"read jira/issues"})
    (in_turn, counts_in_turn), (ahead_of, counts_ahead) = found
    assert ahead_of == in_turn
    assert counts_ahead == counts_in_turn
    assert len(in_turn["raw"]) == 60 - 6 and len(in_turn["quarantine"]) == 6
    assert len(in_turn["tickets"]) == 60 - 6
    assert in_turn["cursor"] == (START + timedelta(minutes=59)).isoformat()


def test_a_failure_on_a_page_leaves_the_cursor_at_the_page_before(
        config: BridgeConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # entries 0-26 hold 24 issues (three pages of 7 and three left): the fourth page fails
    connector = CountingJira(config.sources[0], count=60, fail_at=27)
    use(monkeypatch, connector, 2)
    store, outcome = pull(config, f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert outcome.status == "failed"
        assert outcome.error == "source 'jira': server error (503), retries exhausted"
        state = stored(store)
        assert len(state["raw"]) == 3 * PAGE
        last_stored = max(updated for _, _, _, updated in state["raw"])
        assert state["cursor"] == last_stored.isoformat()
        assert last_stored == START + timedelta(minutes=22)  # issue 22 ends the third page
        assert connector.events == ["read ended", "closed"]
        assert not reader_threads()
    finally:
        store.close()


def test_the_reader_runs_at_most_two_pages_ahead_of_the_store(
        config: BridgeConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    connector = CountingJira(config.sources[0], count=400)
    use(monkeypatch, connector, 2)
    leads: list[int] = []

    def progress(_source: str, pulled: int, _total: int | None) -> None:
        # called once a page is committed, before the engine asks for the next one
        within = min(pulled + 2 * PAGE, 400 - 400 // 9)
        with connector.moved:
            assert connector.moved.wait_for(lambda: connector.yielded >= within, timeout=30)
            leads.append(connector.yielded - pulled)

    store, outcome = pull(config, f"sqlite:///{tmp_path / 'state.db'}", progress=progress)
    store.close()
    assert outcome.status == "ok", outcome.error
    assert max(leads) == 2 * PAGE  # read ahead, and never further


@pytest.mark.parametrize("how", ["store fails", "stop requested"])
def test_a_pull_that_ends_early_stops_its_reader_before_closing_the_session(
        config: BridgeConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    connector = CountingJira(config.sources[0], count=100_000)
    use(monkeypatch, connector, 2)
    pages = 0
    store_page = Engine._store_page

    def failing_store(self: Engine, *args: Any) -> None:
        nonlocal pages
        pages += 1
        if how == "store fails" and pages == 2:
            raise RuntimeError("disk full")
        store_page(self, *args)

    monkeypatch.setattr(Engine, "_store_page", failing_store)
    store, outcome = pull(config, f"sqlite:///{tmp_path / 'state.db'}",
                          should_stop=lambda: how == "stop requested" and pages >= 1)
    try:
        assert outcome.status == ("failed" if how == "store fails" else "interrupted")
        assert connector.events == ["read ended", "closed"]
        assert not reader_threads()
        assert connector.yielded <= 4 * PAGE  # the page stored, the one failing, two ahead
        with store.engine.connect() as conn:
            cursor = repo.get_cursor(conn, "jira", "issues")
        assert cursor is not None  # the first page committed, and its cursor with it
        assert cursor["last_value"] == (START + timedelta(minutes=PAGE - 1)).isoformat()
    finally:
        store.close()
