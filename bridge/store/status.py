"""Read-only queries behind `smo-bridge status`: what the store holds now.

The queries are SQL text that SQLite and PostgreSQL both accept, run either on a SQLAlchemy
connection or straight through the driver (bridge.store.reader): `status` then imports no
SQLAlchemy, and both ways read with the very same statements."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bridge.store.reader import AlchemyReader, Reader, json_value, open_reader, timestamp
from bridge.store.snapshots import current_workloads

if TYPE_CHECKING:
    from bridge.store.database import Store

#: per source: figure -> (table, extra condition); `records` counts live raw records from
#: the (source, deleted) index alone
SOURCE_COUNTS = {
    "records": ("raw_records", "deleted = FALSE"),
    "projects": ("projects", None),
    "tickets": ("tickets", None),
    "quarantined": ("quarantine", None),
}
LAST_SUCCESS = ("SELECT source, max(finished_at) FROM runs "
                "WHERE status = 'ok' AND source IS NOT NULL GROUP BY source")
TRANSITIONS = "SELECT payload FROM transitions ORDER BY go_live, id"
ANY_TICKET = "SELECT key FROM tickets LIMIT 1"
OUTBOX = "SELECT status, count(*) FROM outbox GROUP BY status"
#: each source's pull mark (bridge.pullstate: the cursor `~pull`; no mark reads as complete)
PULL_MARKS = "SELECT source, value FROM cursors WHERE stream = '~pull'"


def iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_status(url: str, configured_sources: Iterable[tuple[str, str]] = (),
                now: datetime | None = None) -> dict[str, Any]:
    """`status` of the store at `url`, with each source's pull state: through the driver
    when it can open the store, else through SQLAlchemy (which names any problem)."""
    reader = open_reader(url)
    if reader is not None:
        with reader:
            return snapshot(reader, configured_sources, now, pulls=True)
    from bridge.store.database import open_existing_store

    store = open_existing_store(url)
    try:
        return snapshot(store, configured_sources, now, pulls=True)
    finally:
        store.close()


def snapshot(store: Store | Reader, configured_sources: Iterable[tuple[str, str]] = (),
             now: datetime | None = None, *, pulls: bool = False) -> dict[str, Any]:
    """The contract's status object: sources, transitions, workloads (as defined in
    bridge.derive.workloads, per capability, practice and team), outbox; with `pulls`,
    each source's pull state too. The workloads are those the last derivation stored
    (`workloads_as_of` says when); a store no derivation has written them to yet has them
    computed from its tickets as of `now`."""
    if not isinstance(store, AlchemyReader) and hasattr(store, "engine"):
        with store.engine.connect() as conn:
            return snapshot(AlchemyReader(conn), configured_sources, now, pulls=pulls)
    reader = store
    now = now or datetime.now(UTC)
    counts = {figure: _count_by(reader, "source", table, where)
              for figure, (table, where) in SOURCE_COUNTS.items()}
    last_success = {str(source): timestamp(when) for source, when in reader.rows(LAST_SUCCESS)}
    kinds = dict(configured_sources)
    for name in (*(n for c in counts.values() for n in c), *last_success):
        kinds.setdefault(name, "unknown")
    sources: list[dict[str, Any]] = [
        {"name": name, "kind": kind, "last_success": iso_utc(last_success.get(name)),
         **{figure: counts[figure].get(name, 0) for figure in SOURCE_COUNTS}}
        for name, kind in kinds.items()
    ]
    if pulls:
        add_pull_states(sources, reader)
    transitions = [_transition(json_value(payload)) for (payload,) in reader.rows(TRANSITIONS)]
    workloads_as_of, workload_rows = _current_workloads(reader, now)
    outbox_counts = {str(status): int(n) for status, n in reader.rows(OUTBOX)}
    return {
        "sources": sources,
        "transitions": transitions,
        "workloads": workload_rows,
        "workloads_as_of": iso_utc(workloads_as_of),
        "outbox": {status: outbox_counts.get(status, 0)
                   for status in ("pending", "failed", "delivered")},
    }


def add_pull_states(sources: list[dict[str, Any]], reader: Reader) -> None:
    """Each source's `pull` as `status` shows it (bridge.pullstate.PullState): whether its
    last pull completed, when, and whether a later one failed; no mark reads as complete."""
    marks = {str(source): json_value(value) for source, value in reader.rows(PULL_MARKS)}
    for source in sources:
        mark = marks.get(source["name"], {})
        source["pull"] = {"complete": bool(mark.get("complete", True)),
                          "completed_at": mark.get("completed_at"),
                          "failed_at": mark.get("failed_at")}


def _current_workloads(reader: Reader, now: datetime) -> tuple[datetime, list[dict[str, Any]]]:
    stored = current_workloads(reader)
    if stored is not None:
        return stored
    if not reader.rows(ANY_TICKET):
        return now, []
    # numpy and every ticket row: only for a store no derivation wrote the snapshot to
    from bridge.derive.workloads import DIMENSIONS, current, load_ticket_columns

    with reader.sqlalchemy() as conn:
        return now, current(load_ticket_columns(conn), DIMENSIONS, now)


def _count_by(reader: Reader, column: str, table: str, where: str | None = None) -> dict[str, int]:
    condition = f" WHERE {where}" if where else ""
    rows = reader.rows(f"SELECT {column}, count(*) FROM {table}{condition} GROUP BY {column}")
    return {str(value): int(count) for value, count in rows}


def _transition(payload: dict[str, Any]) -> dict[str, Any]:
    """The contract's transition shape from a stored ServiceTransition payload."""
    # the id is "<source>:<project key>" of the primary project (bridge.derive.linking)
    source, _, project = str(payload["id"]).partition(":")
    gate = payload.get("gate") or {}
    return {
        "id": payload["id"],
        "source": source,
        "project": project,
        "service": payload.get("service"),
        "go_live": payload.get("go_live"),
        "gate": {
            "status": gate.get("status", "not_started"),
            "policy": gate.get("policy"),
            "items": [
                {"key": item["key"], "status": item.get("status", "unmet"),
                 "evidence": "; ".join(e.get("detail", "") for e in item.get("evidence") or []),
                 "late_days": item.get("late_days"),
                 "after_go_live": bool(item.get("after_go_live"))}
                for item in gate.get("items") or []
            ],
        },
    }
