"""Bulk reads and writes for re-mapping a whole source, inside the caller's transaction:
the stored rows a batch of re-mapped records replaces (digest and the columns a report
compares), and the quarantine rows it changes. The batches come from
`repository.raw_batches`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, insert

from bridge.store.repository import lookup_by, release_quarantine, utcnow
from bridge.store.schema import quarantine, tickets

StoredTicket = tuple[str, str | None, str | None, str | None]


def stored_tickets(conn: Connection, source: str, keys: Sequence[str]) -> dict[str, StoredTicket]:
    """key -> (content hash, practice, capability, team) of the stored tickets (columns only:
    no stored payload is parsed)."""
    columns = (tickets.c.key, tickets.c.content_hash, tickets.c.practice, tickets.c.capability,
               tickets.c.team)
    return {row[0]: tuple(row[1:]) for row in lookup_by(
        conn, columns, tickets, {"source": source}, "key", keys)}


def stored_quarantine(conn: Connection, source: str, wanted: Iterable[tuple[str, str]],
                      ) -> dict[tuple[str, str], tuple[str | None, str]]:
    """(stream, key) -> (field, reason) of the quarantined among `wanted`."""
    by_stream: dict[str, list[str]] = {}
    for stream, key in wanted:
        by_stream.setdefault(stream, []).append(key)
    found: dict[tuple[str, str], tuple[str | None, str]] = {}
    for stream, keys in by_stream.items():
        for key, field_name, reason in lookup_by(
                conn, (quarantine.c.key, quarantine.c.field, quarantine.c.reason), quarantine,
                {"source": source, "stream": stream}, "key", keys):
            found[(stream, key)] = (field_name, reason)
    return found


def put_quarantine(conn: Connection, source: str,
                   held: Sequence[tuple[str, str, str | None, str, dict[str, Any]]]) -> None:
    """Quarantine (stream, key, field, reason, payload) rows, replacing what each had."""
    release(conn, source, [(stream, key) for stream, key, *_ in held])
    now = utcnow()
    rows = [{"source": source, "stream": stream, "key": key, "field": field_name, "reason": reason,
             "payload": payload, "at": now} for stream, key, field_name, reason, payload in held]
    for start in range(0, len(rows), 1000):
        conn.execute(insert(quarantine), rows[start:start + 1000])


def release(conn: Connection, source: str, records: Iterable[tuple[str, str]]) -> None:
    by_stream: dict[str, list[str]] = {}
    for stream, key in records:
        by_stream.setdefault(stream, []).append(key)
    for stream, keys in by_stream.items():
        release_quarantine(conn, source, stream, keys)
