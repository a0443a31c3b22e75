"""A backfill interrupted anywhere resumes to the state an uninterrupted one reaches, without
fetching again the pages it stored (requests counted at the sandbox)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import bridge.engine
from bridge.backfill import BACKFILL_MARK, backfill
from bridge.config import BridgeConfig, load_config
from bridge.engine import READ_AHEAD
from bridge.sandbox import Sandbox
from bridge.store import open_store
from bridge.store.schema import cursors, projects, quarantine, raw_records, runs, tickets
from bridge.store.status import snapshot
from connectors import http
from tests.helpers import clean_env

pytestmark = pytest.mark.sandbox
PAGE = 25


class RequestLog:
    """WSGI middleware: the path and query of every request the sandbox serves."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.seen.append(f"{environ['PATH_INFO']}?{environ.get('QUERY_STRING', '')}")
        return self.app(environ, start_response)

    def record_pages(self) -> int:
        """Requests for pages of records: Jira searches and ServiceNow table reads."""
        return sum(1 for r in self.seen if "/search" in r or "/api/now/table/" in r)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Sandbox, dict[str, RequestLog]]]:
    with Sandbox(seed=31, tickets=400, jira_deployment="cloud") as sb:
        logs = {}
        for service in ("jira", "servicenow"):
            middleware = sb._servers[service].app  # the fault layer calls `.app` per request
            logs[service] = middleware.app = RequestLog(middleware.app)  # type: ignore[attr-defined]
        yield sb, logs


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge.engine, "PAGE", PAGE)  # one engine page per HTTP page
    monkeypatch.setattr(http, "pause", lambda seconds: None)


def config_in(folder: Path, sb: Sandbox) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    common = f"overlap_seconds: 0\n    page_size: {PAGE}\n    auth: {{kind: basic, username: sandbox, password: sandbox}}"
    path = folder / "smo-bridge.yaml"
    path.write_text(f"""\
state: sqlite:///{folder / 'state.db'}
sources:
  - name: jira
    kind: jira
    url: {sb.jira_url}
    {common}
  - name: snow
    kind: servicenow
    url: {sb.servicenow_url}
    {common}
""")
    return path


def final_state(config: BridgeConfig, source: str) -> dict[str, Any]:
    store = open_store(config.state)
    try:
        with store.engine.connect() as conn:
            def rows(query: Any) -> list[tuple[Any, ...]]:
                return sorted(tuple(r) for r in conn.execute(query).all())
            return {
                "raw": rows(select(raw_records.c.stream, raw_records.c.key, raw_records.c.content_hash,
                                   raw_records.c.deleted).where(raw_records.c.source == source)),
                "tickets": rows(select(tickets.c.key, tickets.c.content_hash).where(tickets.c.source == source)),
                "projects": rows(select(projects.c.key, projects.c.content_hash)
                                 .where(projects.c.source == source)),
                "quarantine": rows(select(quarantine.c.stream, quarantine.c.key)
                                   .where(quarantine.c.source == source)),
                "cursors": rows(select(cursors.c.stream, cursors.c.value["last_value"].as_string())
                                .where(cursors.c.source == source, ~cursors.c.stream.startswith("~"))),
                "mark": conn.execute(select(cursors.c.value).where(
                    cursors.c.source == source, cursors.c.stream == BACKFILL_MARK)).first(),
                "runs": [r.status for r in conn.execute(select(runs.c.status).where(runs.c.source == source)
                                                        .order_by(runs.c.id))],
            }
    finally:
        store.close()


@pytest.mark.parametrize(("source", "service", "seed"), [("jira", "jira", 1), ("jira", "jira", 2),
                                                         ("snow", "servicenow", 3)])
def test_an_interrupted_backfill_resumes_to_the_same_state_fetching_no_stored_page_again(
        world: tuple[Sandbox, dict[str, RequestLog]], tmp_path: Path, source: str, service: str,
        seed: int) -> None:
    sb, logs = world
    requests = logs[service]

    whole = load_config(config_in(tmp_path / "whole", sb))
    requests.seen.clear()
    full = backfill(whole, open_store(whole.state), source)
    assert full.finished and full.outcome is not None
    full_pages = requests.record_pages()
    pages_in_all = sum(1 for _ in range(0, full.outcome.pulled, PAGE))
    assert pages_in_all >= 6  # enough pages to stop in the middle of

    config = load_config(config_in(tmp_path / "stopped", sb))
    store = open_store(config.state)
    rng = random.Random(seed)
    # two interruptions, each after a random number of stored pages
    stops = [rng.randint(1, pages_in_all // 2 - 1) for _ in range(2)]
    requests.seen.clear()
    pulled: dict[str, int] = {}

    def add(reports: list[Any]) -> None:
        for r in reports:
            pulled[r.name] = pulled.get(r.name, 0) + r.counts.get("pulled", 0)

    for stop in stops:
        pages = [0]

        def count(name: str, done: int, total: int | None, pages: list[int] = pages) -> None:
            pages[0] += 1

        def stopping(pages: list[int] = pages, stop: int = stop) -> bool:
            return pages[0] >= stop

        part = backfill(config, store, source, engine_options={"progress": count, "should_stop": stopping})
        assert part.outcome is not None and part.outcome.status == "interrupted"
        assert part.exit_code == 3 and not part.finished
        add(part.streams)
    resumed = backfill(config, store, source)
    assert resumed.resumed and resumed.finished and resumed.outcome is not None
    add(resumed.streams)
    store.close()

    assert final_state(config, source) | {"runs": None} == final_state(whole, source) | {"runs": None}
    # no stored page is fetched again: at each stop only the page at its boundary and the
    # pages read ahead of it, which were never stored
    assert requests.record_pages() <= full_pages + len(stops) * (1 + READ_AHEAD)
    # records of incremental streams read again: only those at a stop's boundary (small
    # catalogues without a cursor are read whole by any run that did not finish them)
    incremental = {"issues"} if source == "jira" else {s.name for s in full.streams}
    for s in full.streams:
        if s.name in incremental:
            assert s.counts["pulled"] <= pulled[s.name] <= s.counts["pulled"] + len(stops), s.name
    # each interrupted run is closed as such; the resumed one succeeded and `status` shows it
    state = final_state(config, source)
    assert state["runs"] == ["interrupted", "interrupted", "ok"] and state["mark"] is None
    store = open_store(config.state)
    try:
        shown = snapshot(store, [(s.name, s.kind) for s in config.sources])
    finally:
        store.close()
    assert next(s for s in shown["sources"] if s["name"] == source)["last_success"] is not None


def test_a_killed_backfill_is_resumed_by_the_same_command(world: tuple[Sandbox, dict[str, RequestLog]],
                                                          tmp_path: Path) -> None:
    sb, logs = world
    path = config_in(tmp_path, sb)
    args = [sys.executable, "-m", "bridge.cli.main", "--config", str(path), "migrate", "backfill",
            "--source", "snow", "--no-push", "--format", "json"]
    killed = subprocess.run(args, capture_output=True, text=True, timeout=180,
                            env=clean_env(SMO_BRIDGE_CRASH_AT="page:6"))
    assert killed.returncode == -9
    logs["servicenow"].seen.clear()
    again = subprocess.run(args, capture_output=True, text=True, timeout=180, env=clean_env())
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["resumed"] and report["finished"] and report["status"] == "ok"
    skipped = [s["name"] for s in report["streams"] if s["status"] == "skipped"]
    assert len(skipped) >= 4  # the streams the killed run finished are not read again
    assert not any(f"/api/now/table/{name}?" in r for name in skipped for r in logs["servicenow"].seen)
    assert "resuming the backfill" in again.stderr
    assert final_state(load_config(path), "snow")["runs"] == ["abandoned", "ok"]


def test_until_window_ends_the_read_and_keeps_later_cursors(
        world: tuple[Sandbox, dict[str, RequestLog]], tmp_path: Path) -> None:
    sb, _ = world
    config = load_config(config_in(tmp_path, sb))
    store = open_store(config.state)
    try:
        assert backfill(config, store, "jira").finished
        ahead = dict(final_state(config, "jira")["cursors"])
        with store.engine.connect() as conn:
            stamps = sorted(u for u in conn.execute(select(raw_records.c.updated).where(
                raw_records.c.stream == "issues")).scalars() if u is not None)
        since, until = stamps[len(stamps) // 4], stamps[len(stamps) // 2]
        done = backfill(config, store, "jira", since, until, push=False)
        assert done.finished
        issues = next(s for s in done.streams if s.name == "issues")
        expected = sum(1 for s in stamps if since <= s <= until)
        assert expected <= issues.counts["pulled"] < len(stamps) - len(stamps) // 4
        assert issues.counts["unchanged"] == issues.counts["pulled"]
        # the window's end does not pull the cursor back: the next sync starts where it did
        assert dict(final_state(config, "jira")["cursors"]) == ahead
    finally:
        store.close()
