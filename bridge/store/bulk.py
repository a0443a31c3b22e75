"""Bulk reads and writes for re-mapping a whole source, inside the caller's transaction:
the stored records page by page with their payloads as JSON text and the rows they replace
(`raw_pages`: digest and the columns a report compares, quarantine), and the quarantine
rows and tickets a page changes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, and_, cast, delete, select

from bridge.store.repository import (
    FIELD_LIMIT,
    insert_rows,
    lookup_by,
    one_of,
    plain_text,
    release_quarantine,
    utcnow,
)
from bridge.store.schema import projects, quarantine, raw_records, tickets

#: records a page of `raw_pages`: only their JSON text is held, a record is parsed when used
RAW_PAGE = 1000
#: (key, updated, payload as JSON text) of a stored raw record
RawRow = tuple[str, datetime | None, str]

StoredTicket = tuple[str, str | None, str | None, str | None]


@dataclass
class Page:
    """Stored raw records of one stream, with what the rows keyed as they are hold now."""

    stream: str
    rows: list[RawRow]
    #: key -> (content hash, practice, capability, team) of the stored ticket with a record's key
    tickets: dict[str, StoredTicket]
    #: key -> (field, reason) of the records quarantined
    quarantined: dict[str, tuple[str | None, str]]


def raw_pages(conn: Connection, source: str, streams: Iterable[str], page: int = RAW_PAGE,
              ) -> Iterator[Page]:
    """The live raw records of `streams`, stream by stream in key order, keyset pages on the
    (source, stream, key) index as `repository.raw_batches` reads them, each payload as its
    JSON text: the caller parses one record at a time and lets it go before the next (a page
    of parsed payloads, several megabytes, would be built in memory no cache holds and read
    again only to be freed). The same statement reads, by index probes, the stored ticket
    keyed as each record (a ticket is keyed as the record it comes from) and the record's
    quarantine row: what a remap compares with, without a statement of its own."""
    ticket = tickets.alias("stored")
    held = quarantine.alias("held")
    columns = (raw_records.c.key, raw_records.c.updated, cast(raw_records.c.payload, Text),
               ticket.c.content_hash, ticket.c.practice, ticket.c.capability, ticket.c.team,
               held.c.id, held.c.field, held.c.reason)
    joined = raw_records.outerjoin(ticket, and_(ticket.c.source == raw_records.c.source,
                                                ticket.c.key == raw_records.c.key)).outerjoin(
        held, and_(held.c.source == raw_records.c.source, held.c.stream == raw_records.c.stream,
                   held.c.key == raw_records.c.key))
    for stream in sorted(set(streams)):
        last: str | None = None
        while True:
            query = select(*columns).select_from(joined).where(
                raw_records.c.source == source, raw_records.c.stream == stream,
                raw_records.c.deleted.is_(False))
            if last is not None:
                query = query.where(raw_records.c.key > last)
            found = conn.execute(query.order_by(raw_records.c.key).limit(page)).all()
            if not found:
                break
            yield Page(stream, [(key, updated, text) for key, updated, text, *_ in found],
                       {row[0]: (row[3], row[4], row[5], row[6]) for row in found if row[3] is not None},
                       {row[0]: (row[8], row[9]) for row in found if row[7] is not None})
            last = found[-1][0]
            if len(found) < page:
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
                                           one_of(conn, tickets.c.key, gone[start:start + 500])))
    return [found[key].get("display_key") or key for key in gone]


def remove_projects_of(conn: Connection, source: str, stream: str, keys: Sequence[str]) -> list[str]:
    """Delete the stored projects these records of `stream` produced: a project names the
    record it came from in its `ref`, whatever its own key (a ServiceNow project is keyed by
    its number, its record by its sys_id). Returns the removed projects' keys. A source
    has few projects: they are read whole, not probed."""
    wanted = set(keys)
    if not wanted:
        return []
    gone = [key for key, payload in conn.execute(
        select(projects.c.key, projects.c.payload).where(projects.c.source == source))
        if (payload.get("ref") or {}).get("stream") == stream
        and (payload.get("ref") or {}).get("key") in wanted]
    for start in range(0, len(gone), 500):
        conn.execute(delete(projects).where(projects.c.source == source,
                                            one_of(conn, projects.c.key, gone[start:start + 500])))
    return gone


def put_quarantine(conn: Connection, source: str,
                   held: Sequence[tuple[str, str, str | None, str, dict[str, Any]]]) -> None:
    """Quarantine (stream, key, field, reason, payload) rows, replacing what each had."""
    release(conn, source, [(stream, key) for stream, key, *_ in held])
    now = utcnow()
    insert_rows(conn, quarantine, [
        {"source": source, "stream": stream, "key": key, "field": plain_text(field_name, FIELD_LIMIT),
         "reason": plain_text(reason),
         "payload": payload, "at": now} for stream, key, field_name, reason, payload in held])


def release(conn: Connection, source: str, records: Iterable[tuple[str, str]]) -> None:
    by_stream: dict[str, list[str]] = {}
    for stream, key in records:
        by_stream.setdefault(stream, []).append(key)
    for stream, keys in by_stream.items():
        release_quarantine(conn, source, stream, keys)
