"""A backfill holds a bounded number of records whatever the source's size: the page being
stored and the pages read ahead, never the stream (counted as live objects, not timed)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import bridge.engine
from bridge.backfill import backfill
from bridge.config import load_config
from bridge.engine import READ_AHEAD
from bridge.models import RawRecord
from bridge.sandbox import Sandbox
from bridge.store import open_store
from connectors import http

pytestmark = pytest.mark.sandbox
PAGE = 10


def live_records() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is RawRecord)


def test_a_backfill_keeps_only_its_pages_in_memory(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge.engine, "PAGE", PAGE)
    monkeypatch.setattr(http, "pause", lambda seconds: None)
    seen: list[int] = []
    real = bridge.engine.crash_point

    def after_page(name: str) -> None:
        if name == "page":
            seen.append(live_records())
        real(name)

    monkeypatch.setattr(bridge.engine, "crash_point", after_page)
    with Sandbox(seed=33, tickets=300, jira_deployment="cloud") as sb:
        path = tmp_path / "smo-bridge.yaml"
        path.write_text(f"""\
state: sqlite:///{tmp_path / 'state.db'}
sources:
  - name: jira
    kind: jira
    url: {sb.jira_url}
    page_size: {PAGE}
    auth: {{kind: basic, username: sandbox, password: sandbox}}
""")
        config = load_config(path)
        before = live_records()
        done = backfill(config, open_store(config.state), "jira", push=False)
    assert done.finished and done.outcome is not None
    # the page just stored, the pages read ahead and the one being read: never the stream
    bound = (READ_AHEAD + 2) * PAGE
    assert done.outcome.pulled > 4 * bound
    assert len(seen) >= 10
    assert max(seen) - before <= bound, (max(seen), before, bound)
