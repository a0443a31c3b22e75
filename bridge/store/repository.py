"""Writes and reads of the state store, each inside the caller's transaction.

The engine decides what belongs in one unit of work (a page of records and the
cursor that covers it; derived state and the outbox rows it causes); these functions
only never commit on their own.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Insert,
    Select,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import Dialect

from bridge.models import Project, RawRecord, ServiceTransition, Ticket
from bridge.store import pipelining
from bridge.store.schema import (
    cursors,
    knowledge_articles,
    lookup_entries,
    outbox,
    projects,
    quarantine,
    raw_records,
    runs,
    tickets,
    transitions,
)
from bridge.text import plain

_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def canonical_json(payload: Any) -> bytes:
    """The payload's canonical JSON (keys sorted): what its content hash is taken of, and
    what a JSON column stores, so a payload is serialised once."""
    try:  # keys are text in anything parsed from JSON: without OPT_NON_STR_KEYS, 40 % faster
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
    except orjson.JSONEncodeError:  # a key that is no text (built in Python), or too deep
        return orjson.dumps(payload, option=_CANONICAL, default=str)


def content_hash(payload: Any) -> str:
    """SHA-256 of the payload's canonical JSON (keys sorted): equal content, equal hash."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def serialise(payload: Any) -> tuple[str, str]:
    """(canonical JSON text, its content hash): one serialisation for both."""
    text = canonical_json(payload)
    return text.decode(), hashlib.sha256(text).hexdigest()


#: a quarantine row's field (a payload's own key names it) and a push's remote id (the
#: server's): a hostile one may be longer than its column
FIELD_LIMIT = 255


def plain_text(value: str | None, limit: int | None = None) -> str | None:
    """Text from outside (a server's error message, a reason quoting a value) as a store's
    text column holds it (`bridge.text.plain`), cut to the column's `limit` when it has one."""
    return None if value is None else plain(value)[:limit]


def json_param(column: str) -> str:
    """The row key that carries `column`'s value as JSON text already serialised (see
    `upsert`'s `serialised`): a column's own name is reserved for values to serialise."""
    return f"{column}__json"


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- raw records and cursors -------------------------------------------------------------


@dataclass
class RawWriteResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    changed: list[RawRecord] = field(default_factory=list)


def raw_serialisation(record: RawRecord) -> tuple[str, str] | None:
    """What `store_raw` stores of a record: its payload's `serialise`, None for a deletion."""
    return None if record.deleted else serialise(record.payload)


def store_raw(conn: Connection, records: Sequence[RawRecord], now: datetime | None = None,
              identity_field: str | None = None,
              serialised: Sequence[tuple[str, str] | None] | None = None) -> RawWriteResult:
    """Upsert records by (source, stream, key); unchanged content is skipped by hash.

    Per page: one SELECT of the stored digests, one insert-or-update statement for what is
    new or changed, one UPDATE for what the source deleted.

    With `identity_field` (a payload field that survives a key change, e.g. a Jira issue's
    id), a record arriving under a new key retires the stored record it used to be.
    `serialised`: `raw_serialisation` of each record, worked out already (by the reader).
    """
    now = now or utcnow()
    result = RawWriteResult()
    if not records:
        return result
    # last one wins when a page repeats a key (boundary overlap)
    latest: dict[tuple[str, str, str], int] = {}
    for index, record in enumerate(records):
        latest[(record.source, record.stream, record.key)] = index
    existing = _stored_digests(conn, latest)
    rows: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    gone: list[int] = []
    for ident, index in latest.items():
        record = records[index]
        known = existing.get(ident)
        if record.deleted:
            if known is not None and not known[2]:
                gone.append(known[0])
                result.deleted += 1
                result.changed.append(record)
            continue
        given = serialised[index] if serialised is not None else None
        text, digest = given if given is not None else serialise(record.payload)
        if known is not None and known[1] == digest and not known[2]:
            result.unchanged += 1
            continue
        row = {"source": record.source, "stream": record.stream, "key": record.key,
               "updated": record.updated, json_param("payload"): text, "content_hash": digest,
               "deleted": False, "first_seen": now, "last_seen": now,
               "identity": _identity(record, identity_field)}
        rows.append(row)
        if known is None:
            new_rows.append(row)
            result.inserted += 1
        else:
            result.updated += 1
        result.changed.append(record)
    for start in range(0, len(gone), 500):
        conn.execute(update(raw_records).where(one_of(conn, raw_records.c.id, gone[start:start + 500]))
                     .values(deleted=True, last_seen=now))
    # looked up before the write, so that on PostgreSQL the server writes the page while
    # the caller maps it (`send`): nothing waits for the write until the next statement
    moved = _moved_away(conn, rows, new_rows) if new_rows and identity_field else []
    if rows:
        # first_seen stays as it was on a record seen before
        upsert(conn, raw_records, ("source", "stream", "key"), rows, keep=("first_seen",),
               serialised=("payload",), send=True)
    if moved is None:  # the page itself holds an old and a new key: compare them stored
        moved = _moved_away(conn, [], new_rows)
    if moved:
        retired = _retire(conn, moved, now)
        result.changed += retired
        result.deleted += len(retired)
    return result


def _insert_or_update(dialect: str, table: Table, keys: Sequence[str], changing: Sequence[str],
                      serialised: Sequence[str] = ()) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET changing = the new values; the
    `serialised` JSON columns take their rows' JSON text as it is."""
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        # SQLite keeps JSON as text: the text is the value
        lite = sqlite.insert(table).values(
            {c: bindparam(json_param(c), type_=Text()) for c in serialised})
        return lite.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={c: lite.excluded[c] for c in changing}) if changing else lite.on_conflict_do_nothing()
    from sqlalchemy.dialects import postgresql

    pg = postgresql.insert(table).values(
        {c: cast(bindparam(json_param(c), type_=Text()), table.c[c].type) for c in serialised})
    return pg.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={c: pg.excluded[c] for c in changing}) if changing else pg.on_conflict_do_nothing()


def one_of(conn: Connection, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `column = ANY(array)`: one parameter, so one
    statement whatever the number of values, which SQLAlchemy and psycopg need not render
    and parse again, nor the server plan again, per page (an IN list is one parameter each)."""
    if conn.dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def lookup_by(conn: Connection, columns: Sequence[ColumnElement[Any]], table: Table,
              equal: dict[str, Any], column: str, values: Sequence[str]) -> list[Any]:
    """`columns` of the rows of `table` whose `column` is one of `values` and whose `equal`
    columns have those values, 500 values a statement.

    On PostgreSQL, one index probe per value (a lateral subquery the planner cannot
    flatten): a table not yet analysed (a first load) otherwise has `column IN (...)`
    planned as a filter on a scan of every row sharing the `equal` values, per page."""
    statement = _lookup_statement(conn.dialect.name, tuple(columns), table, tuple(equal), column)
    given = {f"equal_{k}": v for k, v in equal.items()}
    found: list[Any] = []
    for start in range(0, len(values), 500):
        found += conn.execute(statement, {**given, "values": list(values[start:start + 500])})
    return found


#: (dialect, columns, table, `equal` columns, column) -> the statement `lookup_by` runs
_lookups: dict[tuple[Any, ...], Select[Any]] = {}


def _lookup_statement(dialect: str, columns: tuple[ColumnElement[Any], ...], table: Table,
                      equal: tuple[str, ...], column: str) -> Select[Any]:
    """`lookup_by`'s statement, built once per shape (its values are parameters): building
    the lateral subquery again for every page was a sizeable part of a lookup's cost."""
    key = (dialect, columns, table, equal, column)
    if key not in _lookups:
        conditions = [table.c[k] == bindparam(f"equal_{k}") for k in equal]
        if dialect != "postgresql":
            _lookups[key] = select(*columns).where(
                *conditions, table.c[column].in_(bindparam("values", expanding=True)))
        else:
            wanted = func.unnest(bindparam("values", type_=ARRAY(String()))).table_valued(
                "value").render_derived(name="wanted")
            probe = (select(*columns).where(*conditions, table.c[column] == wanted.c.value)
                     .offset(0).lateral("found"))  # OFFSET keeps it a subquery: one probe per value
            _lookups[key] = select(*probe.c).select_from(wanted).join(probe, true())
    return _lookups[key]


def _stored_digests(conn: Connection, wanted: Iterable[tuple[str, str, str]],
                    ) -> dict[tuple[str, str, str], tuple[int, str, bool]]:
    """(source, stream, key) -> (id, content hash, deleted) of the stored ones among `wanted`."""
    by_stream: dict[tuple[str, str], list[str]] = {}
    for src, stream, key in wanted:
        by_stream.setdefault((src, stream), []).append(key)
    found: dict[tuple[str, str, str], tuple[int, str, bool]] = {}
    columns = (raw_records.c.key, raw_records.c.id, raw_records.c.content_hash, raw_records.c.deleted)
    for (src, stream), stream_keys in by_stream.items():
        for key, row_id, digest, deleted in lookup_by(
                conn, columns, raw_records, {"source": src, "stream": stream}, "key", stream_keys):
            found[(src, stream, key)] = (row_id, digest, deleted)
    return found


def upsert(conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]],
           keep: Sequence[str] = (), serialised: Sequence[str] = (), send: bool = False) -> None:
    """Insert `rows`, or update the row with the same `keys` values (every column given but
    `keep`): one statement for all of them (a store is SQLite or PostgreSQL: database.py
    refuses any other backend).

    `serialised`: JSON columns whose value each row carries as JSON text already, under
    `json_param(column)`, so it is not serialised again per row. `send`: see `write_rows`."""
    if not rows:
        return
    params = {json_param(c): c for c in serialised}
    columns = [params.get(c, c) for c in rows[0]]
    changing = [c for c in columns if c not in keys and c not in keep]
    write_rows(conn, (table, tuple(keys), tuple(changing), tuple(serialised)), rows,
               lambda dialect: _insert_or_update(dialect, table, keys, changing, serialised), send)


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (each with the same keys), 1,000 a statement."""
    if rows:
        write_rows(conn, (table,), rows, lambda _dialect: insert(table))


def write_rows(conn: Connection, shape: tuple[Any, ...], rows: Sequence[dict[str, Any]],
               statement: Callable[[str], Insert], send: bool = False) -> None:
    """Run the insert `statement(dialect name)` for `rows` (each with the same keys), 1,000
    at a time: straight to the driver when it has a plan (see `_driver_plan`; `shape`
    names the statement), otherwise through SQLAlchemy. `send`: on PostgreSQL, return
    without waiting for the server (`pipelining.send_many`)."""
    plan = _driver_plan(conn, shape, statement, list(rows[0]))
    if plan is None:
        built = statement(conn.dialect.name)
        for start in range(0, len(rows), 1000):
            conn.execute(built, list(rows[start:start + 1000]))
        return
    sql, order = plan

    def parameters(chunk: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [tuple([row[name] if convert is None else convert(row[name]) for name, convert in order])
                for row in chunk]
    if send and pipelining.send_many(conn, sql, parameters(rows)):
        return
    for start in range(0, len(rows), 1000):
        conn.exec_driver_sql(sql, parameters(rows[start:start + 1000]))


_Plan = tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]
#: (dialect, statement shape, row keys) -> SQL and, per parameter, row key and converter
_driver_plans: dict[tuple[Any, ...], _Plan | None] = {}


def _driver_plan(conn: Connection, shape: tuple[Any, ...], statement: Callable[[str], Insert],
                 names: list[str]) -> _Plan | None:
    """The statement compiled once with positional parameters, and how to turn a row into
    them with the columns' own converters: rows go to the driver's executemany as they are,
    without SQLAlchemy's per-row parameter processing (a sync's hot spot). None when a
    parameter is not one of the rows' keys (a column default to fill in): SQLAlchemy does it."""
    dialect = conn.dialect
    key = (dialect.name, shape, tuple(names))
    if key not in _driver_plans:
        compiled = statement(dialect.name).compile(
            dialect=_positional(dialect), column_keys=names, for_executemany=True)
        order = list(compiled.positiontup or ())
        _driver_plans[key] = None
        if compiled.positional and order and all(name in names for name in order):
            _driver_plans[key] = (compiled.string, [
                (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                for name in order])
    return _driver_plans[key]


def _positional(dialect: Dialect) -> Dialect:
    """`dialect`, or a copy of it that renders positional parameters (psycopg's `%s`): rows
    given as tuples, which psycopg binds as they are instead of looking each name up."""
    if dialect.positional:
        return dialect
    positional = copy.copy(dialect)
    positional.paramstyle, positional.positional = "format", True
    return positional


def _identity(record: RawRecord, field_name: str | None) -> str | None:
    if not field_name:
        return None
    value = record.payload.get(field_name)
    return str(value) if value not in (None, "") else None


def _moved_away(conn: Connection, rows: list[dict[str, Any]], new_rows: list[dict[str, Any]],
                ) -> list[tuple[str, str, int]] | None:
    """(source, stream, id) of each stored live record whose identity one of `new_rows` now
    has under another key (a move). `rows`, the page about to be written: the stored records
    it rewrites are left to its own identities, and when one of those meets a new row's
    identity under another key the answer is None (only the stored page can tell)."""
    by_stream: dict[tuple[str, str], dict[str, str]] = {}  # identity -> the key it has now
    for row in new_rows:
        if row["identity"] is not None:
            by_stream.setdefault((row["source"], row["stream"]), {})[row["identity"]] = row["key"]
    rewritten: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        current = by_stream.get((row["source"], row["stream"]))
        if current is None:
            continue
        if current.get(row["identity"], row["key"]) != row["key"]:
            return None
        rewritten.setdefault((row["source"], row["stream"]), set()).add(row["key"])
    moved: list[tuple[str, str, int]] = []
    for (source, stream), current in by_stream.items():
        page_keys = rewritten.get((source, stream), set())
        # live rows are picked here, not in SQL: a `deleted` condition lets SQLite probe the
        # (source, deleted) index instead of the identity one, a scan of the whole source
        # per page (a first load quadratic in its size)
        found = lookup_by(conn, (raw_records.c.id, raw_records.c.key, raw_records.c.identity,
                                 raw_records.c.deleted),
                          raw_records, {"source": source, "stream": stream}, "identity",
                          list(current))
        moved += [(source, stream, row_id) for row_id, key, identity, deleted in found
                  if not deleted and key != current[identity] and key not in page_keys]
    return moved


def _retire(conn: Connection, moved: list[tuple[str, str, int]], now: datetime) -> list[RawRecord]:
    """Mark the moved records deleted: each as a deletion of its old key, for the caller to
    remove what was mapped from it."""
    retired: list[RawRecord] = []
    by_stream: dict[tuple[str, str], list[int]] = {}
    for source, stream, row_id in moved:
        by_stream.setdefault((source, stream), []).append(row_id)
    for (source, stream), ids in by_stream.items():
        old = conn.execute(select(raw_records.c.key, raw_records.c.payload)
                           .where(one_of(conn, raw_records.c.id, ids))).all()
        conn.execute(update(raw_records).where(one_of(conn, raw_records.c.id, ids))
                     .values(deleted=True, last_seen=now))
        retired += [RawRecord(source=source, stream=stream, key=key, payload=payload, deleted=True)
                    for key, payload in old]
    return retired


def get_cursor(conn: Connection, source: str, stream: str) -> dict[str, Any] | None:
    value = conn.execute(select(cursors.c.value).where(
        cursors.c.source == source, cursors.c.stream == stream)).scalar_one_or_none()
    return dict(value) if value is not None else None


def _put(conn: Connection, table: Table, keys: dict[str, Any], values: dict[str, Any],
         on_insert: dict[str, Any] | None = None) -> None:
    """Update the row with these key values, or insert it (with `on_insert` too)."""
    done = conn.execute(update(table).where(*(table.c[k] == v for k, v in keys.items())).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(table).values(**keys, **values, **(on_insert or {})))


def set_cursor(conn: Connection, source: str, stream: str, value: dict[str, Any]) -> None:
    _put(conn, cursors, {"source": source, "stream": stream}, {"value": value, "updated_at": utcnow()})


def delete_cursor(conn: Connection, source: str, stream: str) -> None:
    conn.execute(delete(cursors).where(cursors.c.source == source, cursors.c.stream == stream))


def get_raw(conn: Connection, source: str, key: str, stream: str | None = None) -> RawRecord | None:
    query = select(raw_records).where(raw_records.c.source == source, raw_records.c.key == key)
    if stream:
        query = query.where(raw_records.c.stream == stream)
    row = conn.execute(query.limit(1)).mappings().first()
    if row is None:
        return None
    return RawRecord(source=row["source"], stream=row["stream"], key=row["key"], updated=row["updated"],
                     payload=row["payload"], deleted=row["deleted"])


def key_for_display_key(conn: Connection, source: str, display_key: str) -> str | None:
    """The stable key of the ticket people call `display_key` (a ServiceNow number); None
    when no stored ticket has it. Numbers are not unique: the newest ticket wins."""
    found = conn.execute(
        select(tickets.c.key).where(tickets.c.source == source,
                                    tickets.c.payload["display_key"].as_string() == display_key)
        .order_by(tickets.c.opened.desc()).limit(1)).scalar()
    return str(found) if found is not None else None


def max_raw_id(conn: Connection, source: str) -> int:
    found = conn.execute(select(func.max(raw_records.c.id)).where(raw_records.c.source == source)).scalar()
    return int(found or 0)


#: records a batch of `raw_batches`: their parsed payloads are most of a remap's memory
RAW_BATCH = 1000


def iter_raw(conn: Connection, source: str, streams: Iterable[str] | None = None,
             batch: int = RAW_BATCH, max_id: int | None = None) -> Iterator[RawRecord]:
    """Every live raw record of a source's `streams` (all when None; only those stored up
    to `max_id`), stream by stream in key order."""
    for records in raw_batches(conn, source, streams, batch, max_id=max_id):
        yield from records


def raw_batches(conn: Connection, source: str, streams: Iterable[str] | None = None,
                batch: int = RAW_BATCH, *, max_id: int | None = None) -> Iterator[list[RawRecord]]:
    """The live raw records of `streams` (None: every stream of the source), stream by
    stream in key order, `batch` at a time. Keyset pages on the (source, stream, key) index:
    each costs its own size (paging in id order had every page sort the whole source). The
    stored rows were validated when stored: they are not validated again."""
    if streams is None:
        streams = conn.execute(select(raw_records.c.stream).where(
            raw_records.c.source == source).distinct()).scalars()
    columns = (raw_records.c.key, raw_records.c.updated, raw_records.c.payload)
    for stream in sorted(set(streams)):
        last: str | None = None
        while True:
            query = select(*columns).where(raw_records.c.source == source,
                                           raw_records.c.stream == stream,
                                           raw_records.c.deleted.is_(False))
            if last is not None:
                query = query.where(raw_records.c.key > last)
            if max_id is not None:
                query = query.where(raw_records.c.id <= max_id)
            rows = conn.execute(query.order_by(raw_records.c.key).limit(batch)).all()
            if not rows:
                break
            yield [RawRecord.model_construct(source=source, stream=stream, key=key, updated=updated,
                                             payload=payload, deleted=False)
                   for key, updated, payload in rows]
            last = rows[-1][0]
            if len(rows) < batch:
                break


# --- saved lookups ------------------------------------------------------------------------


def load_lookup_entries(conn: Connection, source: str) -> Iterable[tuple[str, str, str, Any]]:
    """(lookup, entry, record key, record) of every saved entry, read as they are used."""
    rows = conn.execute(select(lookup_entries.c.lookup, lookup_entries.c.entry, lookup_entries.c.record_key,
                               lookup_entries.c.payload).where(lookup_entries.c.source == source)
                        .execution_options(yield_per=1000))
    return (tuple(row) for row in rows)


def save_lookup_changes(conn: Connection, source: str,
                        changes: Iterable[tuple[str, str, str | None, Any]]) -> None:
    """Apply (lookup, entry, record key, record) changes; no record key removes the entry."""
    latest: dict[tuple[str, str], tuple[str | None, Any]] = {}
    for lookup, entry, record_key, payload in changes:
        latest[(lookup, entry)] = (record_key, payload)
    by_lookup: dict[str, list[str]] = {}
    for lookup, entry in latest:
        by_lookup.setdefault(lookup, []).append(entry)
    for lookup, entries in by_lookup.items():
        for start in range(0, len(entries), 500):
            conn.execute(delete(lookup_entries).where(
                lookup_entries.c.source == source, lookup_entries.c.lookup == lookup,
                one_of(conn, lookup_entries.c.entry, entries[start:start + 500])))
    insert_rows(conn, lookup_entries, [
        {"source": source, "lookup": lookup, "entry": entry, "record_key": key, "payload": payload}
        for (lookup, entry), (key, payload) in latest.items() if key is not None])


def replace_lookup_entries(conn: Connection, source: str, rows: Iterable[tuple[str, str, str, Any]]) -> None:
    conn.execute(delete(lookup_entries).where(lookup_entries.c.source == source))
    insert_rows(conn, lookup_entries, [
        {"source": source, "lookup": lookup, "entry": entry, "record_key": key, "payload": payload}
        for lookup, entry, key, payload in rows])


# --- canonical entities -----------------------------------------------------------------


def upsert_project(conn: Connection, project: Project, now: datetime | None = None) -> bool:
    """Store a canonical project; False when nothing changed."""
    return upsert_projects(conn, [project], now) == 1


_E = TypeVar("_E", Project, Ticket)


def upsert_projects(conn: Connection, batch: Sequence[Project], now: datetime | None = None) -> int:
    """Store canonical projects; returns how many were new or changed."""
    return _upsert_entities(conn, projects, batch, lambda p: {"service": p.service}, now)


def upsert_tickets(conn: Connection, batch: Sequence[Ticket], now: datetime | None = None, *,
                   serialised: Sequence[tuple[str, str]] | None = None) -> int:
    """Store canonical tickets; returns how many were new or changed. `serialised`: per
    ticket, its canonical JSON and content hash, already found to differ from the stored
    ones (a remap compared them): written without looking them up or hashing them again."""
    def columns(ticket: Ticket) -> dict[str, Any]:
        return {
            "practice": ticket.practice, "capability": ticket.capability.value if ticket.capability else None,
            "team": ticket.team, "status_category": ticket.status_category, "priority": ticket.priority,
            "project_key": ticket.project_key, "transition_key": ticket.transition_key,
            "opened": ticket.opened, "resolved": ticket.resolved, "effort_hours": ticket.effort_hours,
            "sla_breached": ticket.sla_breached,
        }
    return _upsert_entities(conn, tickets, batch, columns, now, serialised)


def _upsert_entities(conn: Connection, table: Table, batch: Sequence[_E],
                     columns: Callable[[_E], dict[str, Any]], now: datetime | None,
                     serialised: Sequence[tuple[str, str]] | None = None) -> int:
    """One SELECT of the stored digests, one insert-or-update statement for what changed;
    a key repeated in the batch: the last one wins."""
    now = now or utcnow()
    latest = {(e.ref.source, e.key): e for e in batch}
    # compared by the caller already: each is written as it was serialised for the comparison
    given = ({(e.ref.source, e.key): pair for e, pair in zip(batch, serialised, strict=True)}
             if serialised is not None else {})
    known = {} if serialised is not None else _entity_digests(conn, table, latest)
    changed: list[dict[str, Any]] = []
    for (source, key), entity in latest.items():
        text, digest = given.get((source, key)) or serialise(entity.model_dump(mode="json"))
        if known.get((source, key)) != digest:
            changed.append({"source": source, "key": key, **columns(entity),
                            json_param("payload"): text, "content_hash": digest, "updated_at": now})
    upsert(conn, table, ("source", "key"), changed, serialised=("payload",))
    return len(changed)


def _entity_digests(conn: Connection, table: Table, wanted: Iterable[tuple[str, str]],
                    ) -> dict[tuple[str, str], str]:
    """(source, key) -> content hash of the stored projects or tickets among `wanted`."""
    by_source: dict[str, list[str]] = {}
    for src, key in wanted:
        by_source.setdefault(src, []).append(key)
    known: dict[tuple[str, str], str] = {}
    for src, source_keys in by_source.items():
        for key, digest in lookup_by(conn, (table.c.key, table.c.content_hash), table,
                                     {"source": src}, "key", source_keys):
            known[(src, key)] = digest
    return known


def delete_entity(conn: Connection, source: str, key: str) -> None:
    """A record deleted at the source takes its canonical project or ticket with it."""
    conn.execute(delete(projects).where(projects.c.source == source, projects.c.key == key))
    conn.execute(delete(tickets).where(tickets.c.source == source, tickets.c.key == key))


def all_projects(conn: Connection) -> list[Project]:
    return [Project.model_validate(p) for p in conn.execute(select(projects.c.payload)).scalars()]


def tickets_for(conn: Connection, project_keys: Iterable[str]) -> Iterable[Ticket]:
    """The tickets of these projects, read as they are used (a busy service has many)."""
    keys = list(project_keys)
    if not keys:
        return iter(())
    rows = conn.execute(select(tickets.c.payload).where(
        or_(tickets.c.transition_key.in_(keys), tickets.c.project_key.in_(keys)))
        .execution_options(yield_per=500)).scalars()
    return (Ticket.model_validate(p) for p in rows)


def stored_transitions(conn: Connection) -> dict[str, tuple[str, dict[str, Any]]]:
    """Transition id -> (content hash, payload)."""
    rows = conn.execute(select(transitions.c.id, transitions.c.content_hash, transitions.c.payload))
    return {tid: (digest, payload) for tid, digest, payload in rows}


def ticket_activity(conn: Connection, project_keys: Iterable[str]) -> tuple[int, str | None]:
    """How many tickets a transition has, and when the last of them changed: a cheap digest."""
    keys = list(project_keys)
    if not keys:
        return 0, None
    count, latest = conn.execute(select(func.count(), func.max(tickets.c.updated_at)).where(
        or_(tickets.c.transition_key.in_(keys), tickets.c.project_key.in_(keys)))).one()
    return int(count), str(latest) if latest is not None else None


def transition_inputs(conn: Connection) -> dict[str, str | None]:
    """Transition id -> the digest of the inputs it was last derived from."""
    return {tid: digest for tid, digest in conn.execute(select(transitions.c.id, transitions.c.inputs_hash))}


def save_transition(conn: Connection, transition: ServiceTransition, now: datetime | None = None,
                    inputs_hash: str | None = None) -> bool:
    payload = transition.model_dump(mode="json")
    digest = content_hash(payload)
    old = conn.execute(select(transitions.c.content_hash).where(
        transitions.c.id == transition.id)).scalar_one_or_none()
    if old == digest:  # the same result: remember the inputs it came from
        conn.execute(update(transitions).where(transitions.c.id == transition.id)
                     .values(inputs_hash=inputs_hash))
        return False
    _put(conn, transitions, {"id": transition.id},
         {"service": transition.service, "go_live": transition.go_live,
          "gate_status": transition.gate.status.value, "payload": payload, "content_hash": digest,
          "updated_at": now or utcnow(), "inputs_hash": inputs_hash})
    return True


def remove_transitions(conn: Connection, keep: Iterable[str]) -> int:
    keep_ids = list(keep)
    query = delete(transitions)
    if keep_ids:
        query = query.where(transitions.c.id.not_in(keep_ids))
    return conn.execute(query).rowcount or 0


def article_hash_of(conn: Connection, transition_id: str) -> str | None:
    return conn.execute(select(knowledge_articles.c.content_hash).where(
        knowledge_articles.c.transition_id == transition_id)).scalar_one_or_none()


def article_payload_of(conn: Connection, transition_id: str) -> dict[str, Any] | None:
    """The article last planned for a transition: what the bridge wrote, or is writing."""
    found = conn.execute(select(knowledge_articles.c.payload).where(
        knowledge_articles.c.transition_id == transition_id)).scalar_one_or_none()
    return dict(found) if found else None


def save_article(conn: Connection, transition_id: str, digest: str, payload: dict[str, Any]) -> None:
    _put(conn, knowledge_articles, {"transition_id": transition_id},
         {"content_hash": digest, "payload": payload, "updated_at": utcnow()})


# --- quarantine -------------------------------------------------------------------------


def put_quarantine(conn: Connection, source: str, stream: str, key: str, reason: str,
                   field_name: str | None = None, payload: dict[str, Any] | None = None) -> None:
    where = and_(quarantine.c.source == source, quarantine.c.stream == stream, quarantine.c.key == key)
    conn.execute(delete(quarantine).where(where))
    conn.execute(insert(quarantine).values(source=source, stream=stream, key=key,
                                           field=plain_text(field_name, FIELD_LIMIT),
                                           reason=plain_text(reason), payload=payload, at=utcnow()))


def release_quarantine(conn: Connection, source: str, stream: str, keys: Iterable[str]) -> None:
    key_list = list(keys)
    for start in range(0, len(key_list), 500):
        conn.execute(delete(quarantine).where(quarantine.c.source == source, quarantine.c.stream == stream,
                                              one_of(conn, quarantine.c.key, key_list[start:start + 500])))


def count_quarantined(conn: Connection, source: str, streams: Iterable[str]) -> int:
    stream_list = list(streams)
    if not stream_list:
        return 0
    query = select(func.count()).select_from(quarantine).where(
        quarantine.c.source == source, quarantine.c.stream.in_(stream_list))
    return int(conn.execute(query).scalar() or 0)


def quarantined(conn: Connection, source: str | None = None) -> list[dict[str, Any]]:
    query = select(quarantine).order_by(quarantine.c.at)
    if source:
        query = query.where(quarantine.c.source == source)
    return [dict(row) for row in conn.execute(query).mappings()]


# --- runs -------------------------------------------------------------------------------


def start_run(conn: Connection, kind: str, source: str | None) -> int:
    result = conn.execute(insert(runs).values(kind=kind, source=source, started_at=utcnow(),
                                              status="running"))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def abandon_runs(conn: Connection, kind: str, source: str) -> int:
    """Close the runs a killed process left `running`; the caller holds the source's job lock,
    so no live process owns them."""
    done = conn.execute(update(runs).where(runs.c.kind == kind, runs.c.source == source,
                                           runs.c.status == "running").values(
        status="abandoned", error="the process stopped before the run finished"))
    return done.rowcount or 0


def finish_run(conn: Connection, run_id: int, status: str, counts: dict[str, Any],
               error: str | None = None) -> None:
    conn.execute(update(runs).where(runs.c.id == run_id).values(
        finished_at=utcnow(), status=status, counts=counts, error=plain_text(error)))


# --- outbox -----------------------------------------------------------------------------


def enqueue(conn: Connection, idempotency_key: str, target: str, operation: str,
            payload: dict[str, Any]) -> bool:
    """Plan a push; a key already planned (or delivered) is not planned again."""
    exists = conn.execute(select(outbox.c.id).where(outbox.c.idempotency_key == idempotency_key)).first()
    if exists:
        return False
    conn.execute(insert(outbox).values(idempotency_key=idempotency_key, target=target,
                                       operation=operation, payload=payload, status="pending",
                                       attempts=0, next_attempt_at=utcnow(), created_at=utcnow()))
    return True


def due_pushes(conn: Connection, now: datetime | None = None, targets: Iterable[str] | None = None,
               limit: int = 500) -> list[dict[str, Any]]:
    now = now or utcnow()
    query = (select(outbox).where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
             .order_by(outbox.c.id).limit(limit))
    if targets is not None:
        query = query.where(outbox.c.target.in_(list(targets)))
    return [dict(row) for row in conn.execute(query).mappings()]


def older_pending(conn: Connection, push: dict[str, Any]) -> bool:
    """Whether a push planned earlier for the same target and subject waits for a retry: gate
    status versions must arrive in order, or a retried old status would overwrite a newer one."""
    prefix, _, _version = str(push["idempotency_key"]).rpartition(":v")
    if push["operation"] != "gate_status" or not prefix:
        return False
    found = conn.execute(select(outbox.c.id).where(
        outbox.c.status == "pending", outbox.c.target == push["target"],
        outbox.c.operation == push["operation"], outbox.c.id < push["id"],
        outbox.c.idempotency_key.startswith(f"{prefix}:v", autoescape=True)).limit(1)).first()
    return found is not None


def mark_delivered(conn: Connection, push_id: int, remote_id: str | None) -> None:
    conn.execute(update(outbox).where(outbox.c.id == push_id).values(
        status="delivered", delivered_at=utcnow(), remote_id=plain_text(remote_id, FIELD_LIMIT),
        last_error=None,
        attempts=outbox.c.attempts + 1))


def mark_attempt_failed(conn: Connection, push_id: int, error: str, *, retry_in: float | None,
                        ) -> None:
    """Back off for `retry_in` seconds, or park the push as failed when it is None."""
    values: dict[str, Any] = {"last_error": plain_text(error[:2000]), "attempts": outbox.c.attempts + 1}
    if retry_in is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = utcnow() + timedelta(seconds=retry_in)
    conn.execute(update(outbox).where(outbox.c.id == push_id).values(**values))


def retry_failed(conn: Connection, ids: Iterable[int] | None = None) -> int:
    query = update(outbox).where(outbox.c.status == "failed")
    id_list = list(ids) if ids is not None else None
    if id_list is not None:
        query = query.where(outbox.c.id.in_(id_list))
    done = conn.execute(query.values(status="pending", attempts=0, next_attempt_at=utcnow()))
    return done.rowcount or 0


def list_outbox(conn: Connection, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        query = query.where(outbox.c.status == status)
    return [dict(row) for row in conn.execute(query).mappings()]
