"""Every text field the board shows, hostile at once: each page still has only its own markup."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy import insert

from bridge.models import (
    Evidence,
    Gate,
    GateItem,
    GateStatus,
    ItemStatus,
    ServiceTransition,
    SourceRef,
    Waiver,
)
from bridge.store import open_store
from bridge.store.schema import (
    outbox,
    quarantine,
    raw_records,
    runs,
    transitions,
    workload_cells,
)
from bridge.web.board import Board
from tests.web.conftest import IMG, SCRIPT

EVIL = f"x{SCRIPT}{IMG}y"


def _injected(html: str) -> list[str]:
    """Elements or handlers the board's templates never write: what an injection would add."""
    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("img", "iframe", "object") or (tag == "script" and not dict(attrs).get("src")):
                found.append(tag)
            found.extend(f"{tag}[{k}]" for k, _ in attrs if k.startswith("on"))

    Parser().feed(html)
    return found


def test_hostile_text_in_every_shown_field_stays_text(tmp_path: Path) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    t = ServiceTransition(
        id=f"jira:{EVIL}", service=EVIL, service_aliases=[EVIL], go_live=date(2026, 12, 1),
        projects=[SourceRef(source="jira", stream="projects", key=EVIL)], service_manager=EVIL,
        resolver_group=EVIL,
        gate=Gate(status=GateStatus.AT_RISK, reason=EVIL, policy=EVIL, items=[
            GateItem(key="kb_article", title=EVIL, responsible_role=EVIL, approver=EVIL,
                     due=date(2026, 11, 1), status=ItemStatus.WAIVED, missing=EVIL,
                     waiver=Waiver(by=EVIL, reason=EVIL),
                     evidence=[Evidence(kind="ticket", ref=f"jira:{EVIL}", detail=EVIL)])]))
    with store.engine.begin() as conn:
        conn.execute(insert(transitions).values(
            id=t.id, service=t.service, go_live=t.go_live, gate_status="at_risk",
            payload=t.model_dump(mode="json"), content_hash="", updated_at=now))
        conn.execute(insert(raw_records).values(source="jira", stream="issues", key=EVIL, payload={},
                                                 content_hash="", first_seen=now, last_seen=now))
        conn.execute(insert(workload_cells).values(
            capability="operational", practice=EVIL, team=EVIL, period_kind="week",
            period="2026-W48", period_start=date(2026, 11, 23), opened=1, closed=0,
            open_backlog=1, median_age_days=2.0))
        conn.execute(insert(quarantine).values(source="snow", stream="incident", key=EVIL,
                                               field=EVIL, reason=EVIL, at=now))
        conn.execute(insert(runs).values(kind="sync", source="snow", started_at=now,
                                         finished_at=now, status="failed", error=EVIL))
        conn.execute(insert(outbox).values(idempotency_key="k", target="snow", operation="gate_status",
                                           payload={}, status="failed", attempts=3,
                                           last_error=EVIL, created_at=now))
    board = Board(store, {"jira": ("jira", "https://jira.example")}, clock=lambda: now)
    shown = 0
    for name in board.page_names():
        html = board.page(name)
        assert html is not None, name
        assert "<script>window" not in html and "<img" not in html, name
        assert _injected(html) == [], name
        shown += html.count("x&lt;script&gt;window.__pwned=1&lt;/script&gt;&#34;&gt;&lt;img")
    assert shown >= 15  # service, reason, items, team, quarantine, run and push errors...
    # a link built from a hostile key is the tool's address with the key quoted
    matrix = board.page("index.html") or ""
    link = re.search(r'class="evidence" href="([^"]+)"', matrix)
    assert link and link.group(1).startswith("https://jira.example/browse/x%3Cscript%3E")
    store.close()
