"""The board's pages: one flat set of names, served over HTTP or written as files.

Every link between pages is relative (`transition-….html`, `static/board.css`), so the same
HTML works behind a reverse proxy under any path, and from a folder opened as files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import select

from bridge.boardlinks import transition_page
from bridge.derive.workloads import DIMENSIONS
from bridge.store import Store
from bridge.store.schema import transitions
from bridge.web import data

#: no remote source of anything: scripts, styles and images come from the board itself
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'none'; font-src 'self'; form-action 'self'; base-uri 'none'")
#: served pages also refuse to be framed (a <meta> policy cannot say that: pages carry PAGE_CSP)
CSP = f"{PAGE_CSP}; frame-ancestors 'none'"
#: the bundled files, with their media types (nothing else is ever served from disk)
STATIC = {"board.css": "text/css", "board.js": "text/javascript",
          "chart.umd.min.js": "text/javascript", "chart.js-LICENSE.md": "text/plain"}
PERIOD_KINDS = ("week", "month")
MARKS = {"met": "✓", "waived": "≈", "unmet": "○", "late": "!"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_TRANSITION_PAGE = re.compile(r"transition-([A-Za-z0-9._-]+)\.html")
_WORKLOADS_PAGE = re.compile(r"workloads-([a-z]+)-([a-z]+)\.html")


def workloads_page(by: str, kind: str) -> str:
    return f"workloads-{by}-{kind}.html"


def static_bytes(name: str) -> bytes:
    return (files("bridge.web") / "static" / name).read_bytes()


def _label(value: Any) -> str:
    return str(value or "").replace("_", " ")


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class Board:
    """The pages over one state store. `sources` gives each configured source's kind and
    base URL, for links to evidence in the tools; `zone` is the reporting time zone."""

    store: Store
    sources: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    zone: tzinfo = UTC
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __post_init__(self) -> None:
        env = Environment(loader=PackageLoader("bridge.web", "templates"), autoescape=True,
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        env.filters["label"] = _label
        env.filters["when"] = _when
        env.globals.update(transition_page=transition_page, workloads_page=workloads_page,
                           csp=PAGE_CSP, marks=MARKS, root="")
        self.env = env

    def today(self) -> date:
        return self.clock().astimezone(self.zone).date()

    def _render(self, template: str, **values: Any) -> str:
        generated = f"as of {_when(self.clock())}"
        return self.env.get_template(template).render(generated=generated, **values)

    def page(self, name: str, query: Mapping[str, str] | None = None) -> str | None:
        """The HTML of page `name` (e.g. `index.html`), or None when there is no such page."""
        query = query or {}
        if name in ("", "index.html"):
            return self.matrix(query.get("status", ""), query.get("window", ""),
                               query.get("team", ""))
        if name == "sync.html":
            return self.sync()
        found = _WORKLOADS_PAGE.fullmatch(name)
        if found:
            by, kind = found.groups()
            if by in DIMENSIONS and kind in PERIOD_KINDS:
                return self.workloads(by, kind)
            return None
        if _TRANSITION_PAGE.fullmatch(name):
            tid = self.transition_ids().get(name)
            return self.transition(tid) if tid is not None else None
        return None

    def transition_ids(self) -> dict[str, str]:
        with self.store.engine.connect() as conn:
            ids = conn.execute(select(transitions.c.id)).scalars().all()
        return {transition_page(t): t for t in ids}

    def page_names(self) -> list[str]:
        """Every page, for the static export."""
        return ["index.html", "sync.html",
                *(workloads_page(b, k) for b in DIMENSIONS for k in PERIOD_KINDS),
                *sorted(self.transition_ids())]

    def matrix(self, status: str = "", window: str = "", team: str = "") -> str:
        with self.store.engine.connect() as conn:
            m = data.gate_matrix(conn, self.today(), self.sources, status=status, window=window,
                                 team=team)
        statuses = [s for s in ("not_started", "in_progress", "at_risk", "overdue",
                                "ready_for_review", "passed", "live_unready")]
        return self._render("matrix.html", section="gates", m=m, status=status, window=window,
                            team=team, windows=data.WINDOWS, all_statuses=statuses)

    def transition(self, transition_id: str) -> str | None:
        with self.store.engine.connect() as conn:
            detail = data.transition_detail(conn, transition_id, self.today(), self.sources)
        if detail is None:
            return None
        return self._render("transition.html", section="gates", d=detail)

    def workloads(self, by: str, kind: str) -> str:
        with self.store.engine.connect() as conn:
            series = data.workload_series(conn, by, kind)
            totals = data.workload_totals(conn)
        return self._render("workloads.html", section="workloads", series=series, by=by,
                            kind=kind, totals=totals, dims=DIMENSIONS, kinds=PERIOD_KINDS,
                            measures=data.MEASURES)

    def sync(self) -> str:
        with self.store.engine.connect() as conn:
            view = data.sync_view(conn, self.sources)
        return self._render("sync.html", section="sync", v=view)

    def not_found(self, message: str) -> str:
        return self._render("missing.html", section="", message=message)
