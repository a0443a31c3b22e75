"""Bulk reads and writes for re-mapping a whole source, inside the caller's transaction:
the stored records page by page with their payloads as JSON text (`raw_pages`), the stored
rows a page of re-mapped records replaces (digest and the columns a report compares), and
the quarantine rows it changes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, cast, delete, insert, select

from bridge.store.repository import lookup_by, release_quarantine, utcnow
from bridge.store.schema import quarantine, raw_records, tickets

#: records a page of `raw_pages`: only their JSON text is held, a record is parsed when used
RAW_PAGE = 1000
#: (key, updated, payload as JSON text) of a stored raw record
RawRow = tuple[str, datetime | None, str]

StoredTicket = tuple[str, str | None, str | None, str | None]


def raw_pages(conn: Connection, source: str, streams: Iterable[str], page: int = RAW_PAGE,
              ) -> Iterator[tuple[str, Sequence[RawRow]]]:
    """(stream, rows) of the live raw records of `streams`, stream by stream in key order,
    keyset pages on the (source, stream, key) index as `repository.raw_batches` reads them,
    with each payload as its JSON text: the caller parses one record at a time and lets it
    go before the next (a page of parsed payloads, several megabytes, would be built in
    memory no cache holds and read again only to be freed)."""
    columns = (raw_records.c.key, raw_records.c.updated, cast(raw_records.c.payload, Text))
    for stream in sorted(set(streams)):
        last: str | None = None
        while True:
            query = select(*columns).where(raw_records.c.source == source,
                                           raw_records.c.stream == stream,
                                           raw_records.c.deleted.is_(False))
            if last is not None:
                query = query.where(raw_records.c.key > last)
            rows: Sequence[RawRow] = conn.execute(
                query.order_by(raw_records.c.key).limit(page)).all()
            if not rows:
                break
            yield stream, rows
            last = rows[-1][0]
            if len(rows) < page:
                break


def stored_tickets(conn: Connection, source: str, keys: Sequence[str]) -> dict[str, StoredTicket]:
    """key -> (content hash, practice, capability, team) of the stored tickets (columns only:
    no stored payload is parsed)."""
    columns = (tickets.c.key, tickets.c.content_hash, tickets.c.practice, tickets.c.capability,
               tickets.c.team)
    return {row[0]: tuple(row[1:]) for row in lookup_by(
        conn, columns, tickets, {"source": source}, "key", keys)}


def remove_tickets_of(conn: Connection, source: str, stream: str, keys: Sequence[str]) -> list[str]:
    """Delete the stored tickets these records of `stream` produced (a ticket is keyed as
    the record that produced it, and names that record in its `ref`); returns each removed
    ticket's display key (its key when it has none), in the order of `keys`."""
    found = {key: payload for key, payload in lookup_by(
        conn, (tickets.c.key, tickets.c.payload), tickets, {"source": source}, "key", keys)}
    gone = [key for key in keys if key in found
            and (found[key].get("ref") or {}).get("stream") == stream
            and (found[key].get("ref") or {}).get("key") == key]
    for start in range(0, len(gone), 500):
        conn.execute(delete(tickets).where(tickets.c.source == source,
                                           tickets.c.key.in_(gone[start:start + 500])))
    return [found[key].get("display_key") or key for key in gone]


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
