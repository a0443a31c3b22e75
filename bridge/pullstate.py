"""Whether what the store holds of a source is a complete picture.

A pull commits page by page, so a pull that fails halfway leaves some records new and
others old: deriving from that half picture flips gate statuses that the next complete
pull flips back. The mark below says which picture the store holds for a source:

- `complete: true`: the last pull that wrote anything ran to its end (or nothing was ever
  written); `completed_at` is when. A later pull that failed before writing anything
  leaves the picture complete and records `failed_at`: derivation may use it, and a push
  says it came from the last complete pull.
- `complete: false`: a pull wrote pages and has not finished (it failed, was stopped, or
  is running now). Transitions touched by this source keep their derived state and push
  nothing until a pull of the source completes.
- `changes`: how many pulls of the source changed stored records, counted in the same
  transaction: derivation compares it with the count it last derived from to know that
  nothing it reads changed (`bridge.derive.run`).

The mark lives in `cursors` under `~pull`, written in the transaction of the first page
that changes anything, so a crash cannot lose it. No mark at all reads as complete (a
store from before the mark, or a source never pulled: it holds nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from bridge.store.schema import cursors, tickets

PULL_MARK = "~pull"


@dataclass(frozen=True)
class PullState:
    source: str
    complete: bool
    completed_at: str | None = None  # the last pull that ran to its end
    failed_at: str | None = None  # the latest pull, when it failed without writing anything
    changes: int = 0  # pulls that changed stored records, ever


def _state(source: str, value: dict[str, Any]) -> PullState:
    return PullState(source, bool(value.get("complete", True)), value.get("completed_at"),
                     value.get("failed_at"), int(value.get("changes", 0)))


def get(conn: Connection, source: str) -> PullState:
    from bridge.store import repository as repo  # here: `status` reads all_states alone

    value = repo.get_cursor(conn, source, PULL_MARK)
    return PullState(source, True) if value is None else _state(source, value)


def all_states(conn: Connection) -> dict[str, PullState]:
    rows = conn.execute(select(cursors.c.source, cursors.c.value).where(cursors.c.stream == PULL_MARK))
    return {source: _state(source, value) for source, value in rows}


def _put(conn: Connection, state: PullState) -> None:
    from bridge.store import repository as repo

    repo.set_cursor(conn, state.source, PULL_MARK, {
        "complete": state.complete, "completed_at": state.completed_at, "failed_at": state.failed_at,
        "changes": state.changes})


def mark_writing(conn: Connection, source: str) -> None:
    """A pull is about to change stored records: the picture is partial until it ends."""
    state = get(conn, source)
    _put(conn, PullState(source, False, state.completed_at, None, state.changes + 1))


def mark_complete(conn: Connection, source: str, now: datetime) -> None:
    _put(conn, PullState(source, True, now.isoformat(), None, get(conn, source).changes))


def mark_failed_unchanged(conn: Connection, source: str, now: datetime) -> None:
    """A pull failed before writing anything: the stored picture is still the last complete one."""
    state = get(conn, source)
    if state.complete:
        _put(conn, PullState(source, True, state.completed_at, now.isoformat(), state.changes))


def ticket_sources(conn: Connection, project_keys: Iterable[str]) -> set[str]:
    """The sources of the tickets that link to these project keys."""
    keys = list(project_keys)
    if not keys:
        return set()
    return set(conn.execute(select(tickets.c.source).distinct().where(
        or_(tickets.c.transition_key.in_(keys), tickets.c.project_key.in_(keys)))).scalars())
