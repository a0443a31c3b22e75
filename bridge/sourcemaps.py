"""A source's mapping as the engine uses it: bound to the stored catalogue and lookups,
applied to changed raw records inside the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, String, Table

from bridge.gcpause import fewer_collections
from bridge.models import Project, RawRecord, Ticket
from bridge.store import bulk
from bridge.store import repository as repo
from bridge.store.schema import projects as projects_table
from bridge.store.schema import tickets as tickets_table
from connectors.base import SourceConfig
from mappings import mapping_for_source
from mappings.compile import BoundMapping, CompiledMapping, MapOutcome

if TYPE_CHECKING:
    from bridge.impact import Comparison

# cursors rows of the engine's own start with "~": no stream is named so, stream names
# being table and resource names
ENGINE_MARK = "~"
# the cursors row (source, REMAP_MARKS) that keeps `pending_remap` across a crash
REMAP_MARKS = "~remap"
# the cursors row whose signature says which definitions the saved lookup entries were built by
LOOKUPS_MARK = "~lookups"


log = logging.getLogger(__name__)
#: what a mapping may raise on a record it was never meant for (a value of another shape,
#: a structure too deep to walk): that record is quarantined, the page goes on
_RECORD_FAILURES = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError)


def _limits(table: Table) -> tuple[tuple[str, int], ...]:
    return tuple((c.name, c.type.length) for c in table.columns
                 if isinstance(c.type, String) and c.type.length)


#: (column, length) of the sized text columns a mapped entity fills, per entity type
_LIMITS = {Ticket: _limits(tickets_table), Project: _limits(projects_table)}


def _unstorable(entity: Project | Ticket) -> tuple[str, str] | None:
    """(column, reason) when a mapped value does not fit its column in the state store: too
    long, or holding NUL, which PostgreSQL's text refuses (a PostgreSQL store would refuse
    the whole page for either)."""
    values = entity.__dict__
    for name, limit in _LIMITS[Ticket if isinstance(entity, Ticket) else Project]:
        value = values.get(name)
        if type(value) is str:
            if len(value) > limit:
                return name, f"{len(value):,} characters, more than the {limit} stored"
            if "\x00" in value:
                return name, "holds a NUL character, which the store's text columns refuse"
    return None


@dataclass
class ApplyCounts:
    mapped: int = 0
    quarantined: int = 0


def compiled_for(source: SourceConfig) -> CompiledMapping:
    """The mapping files the source names, else its kind's shipped default."""
    return mapping_for_source(source.kind, source.mappings)


def load_source_mapping(source: SourceConfig) -> SourceMapping:
    return SourceMapping(source, compiled_for(source))


def bind_stored(conn: Connection, source: str, compiled: CompiledMapping, *,
                save: bool) -> BoundMapping:
    """A mapping bound from the store: the field catalogue, then the lookups.

    Lookups come from their saved entries while the lookup definitions, the catalogue and
    the paths the rules read from lookups are those they were built with; otherwise they are rebuilt from every stored record of
    their streams (a cost proportional to those streams), and saved again with `save`
    (without it, as for a trial run or a preview, nothing is written)."""
    stream = compiled.dialect.catalogue_stream
    catalogue = compiled.catalogue_from(repo.iter_raw(conn, source, [stream]) if stream else [])
    bound = compiled.bind(catalogue)
    if bound.lookup_streams:
        # saved entries hold only the parts of records the rules read: other reads need a rebuild
        signature = repo.content_hash({
            "lookups": {k: v.model_dump(mode="json") for k, v in compiled.lookups.items()},
            "catalogue": catalogue, "reads": bound.lookup_reads()})
        saved = repo.get_cursor(conn, source, LOOKUPS_MARK) or {}
        if saved.get("signature") == signature:
            for name, entry, record_key, payload in repo.load_lookup_entries(conn, source):
                if name in bound.lookup_tables:
                    bound.load_entries(name, [(entry, record_key, payload)])
        else:
            for raw in repo.iter_raw(conn, source, bound.lookup_streams):
                bound.feed(raw)
            if save:
                repo.replace_lookup_entries(conn, source, bound.entries())
                repo.set_cursor(conn, source, LOOKUPS_MARK, {"signature": signature})
        bound.changes.clear()
    return bound


class SourceMapping:
    def __init__(self, source: SourceConfig, compiled: CompiledMapping) -> None:
        self.source = source
        self.compiled = compiled
        self._bound: BoundMapping | None = None
        self._ticket_streams = {s for rule in compiled.tickets for s in rule.item.streams}
        self._project_streams = {s for rule in compiled.projects for s in rule.item.streams}
        # stream -> highest raw id stored when a lookup it reads changed: records stored later
        # were mapped with the new lookup already. Saved with the page that changed the lookup
        # (REMAP_MARKS), so a process killed before `settle` leaves it to the next one.
        self.pending_remap: dict[str, int] = {}

    def bound(self, conn: Connection) -> BoundMapping:
        """Bind once per cycle from the store (`bind_stored`), saving rebuilt lookups."""
        if self._bound is None:
            self._bound = bind_stored(conn, self.source.name, self.compiled, save=True)
        return self._bound

    def _save_lookup_changes(self, conn: Connection, bound: BoundMapping) -> None:
        if bound.changes:
            repo.save_lookup_changes(conn, self.source.name, bound.changes)
            bound.changes.clear()

    def apply(self, conn: Connection, records: Sequence[RawRecord]) -> ApplyCounts:
        """Map changed records into projects and tickets.

        Streams that read a lookup which changed are noted in `pending_remap`; `settle`
        maps them again once, after the source's pull, rather than once per page.
        """
        counts = ApplyCounts()
        if not records:
            return counts
        if any(r.stream == self.compiled.dialect.catalogue_stream for r in records):
            self._bound = None  # display names may point elsewhere now
            self._note_remap(conn, self.compiled.streams)
        bound = self.bound(conn)
        affected: set[str] = set()
        for record in records:
            try:
                fed = bound.feed(record)
            except _RECORD_FAILURES as exc:  # the record is mapped (and judged) below
                log.warning("%s/%s %s: not read into lookups: %s: %s", record.source,
                            record.stream, record.key, type(exc).__name__, exc)
                continue
            if fed:
                affected |= bound.dependent_streams(record.stream)
        self._save_lookup_changes(conn, bound)  # in the page's transaction, like the records
        if affected:
            self._note_remap(conn, affected)
        self._map(conn, bound, records, counts)
        return counts

    def _note_remap(self, conn: Connection, streams: Iterable[str]) -> None:
        mark = repo.max_raw_id(conn, self.source.name)
        pending = self._saved_marks(conn)
        for stream in streams:
            pending[stream] = max(pending.get(stream, 0), self.pending_remap.get(stream, 0), mark)
        self.pending_remap.update(pending)
        repo.set_cursor(conn, self.source.name, REMAP_MARKS, {"pending": pending})

    def _saved_marks(self, conn: Connection) -> dict[str, int]:
        saved = repo.get_cursor(conn, self.source.name, REMAP_MARKS) or {}
        pending = saved.get("pending")
        if not isinstance(pending, dict):
            return {}
        return {str(k): int(v) for k, v in pending.items() if isinstance(v, int)}

    def settle(self, conn: Connection) -> ApplyCounts:
        """Map again the stored records whose lookups or catalogue changed during the pull, or
        during an earlier pull that died before it settled."""
        counts = ApplyCounts()
        pending = self._saved_marks(conn)
        for stream, mark in self.pending_remap.items():
            pending[stream] = max(pending.get(stream, 0), mark)
        self.pending_remap = {}
        for stream, mark in sorted(pending.items()):
            self._map(conn, self.bound(conn), repo.iter_raw(conn, self.source.name, [stream], max_id=mark),
                      counts)
        if pending:
            repo.delete_cursor(conn, self.source.name, REMAP_MARKS)
        return counts

    def remap_all(self, conn: Connection, comparison: Comparison | None = None,
                  progress: Callable[[int], None] | None = None) -> ApplyCounts:
        """Map every stored record again (after a mapping change); nothing is left pending.

        Page by page: each mapped entity's digest is compared with the stored one and only
        what changed is written; a record the mapping now skips takes the ticket it produced
        with it. `comparison` hears each change with the row it replaces, `progress` the
        records read so far."""
        self._bound = None
        bound = self.bound(conn)
        counts = ApplyCounts()
        read = 0
        with fewer_collections():
            for page in bulk.raw_pages(conn, self.source.name, self.compiled.streams):
                self._remap_page(conn, bound, page, counts, comparison)
                read += len(page.rows)
                if progress is not None:
                    progress(read)
        self.pending_remap = {}
        repo.delete_cursor(conn, self.source.name, REMAP_MARKS)
        return counts

    def _remap_page(self, conn: Connection, bound: BoundMapping, page: bulk.Page,
                    counts: ApplyCounts, comparison: Comparison | None) -> None:
        source, stream = self.source.name, page.stream
        tickets: dict[str, Ticket] = {}
        projects: list[Project] = []
        held: dict[str, tuple[str | None, str, dict[str, Any]]] = {}
        mapped: list[str] = []
        skipped: list[str] = []
        for key, updated, text in page.rows:
            # parsed here, one at a time: only a quarantined record's payload outlives its turn
            record = _stored_record(source, stream, key, updated, orjson.loads(text))
            outcome = _judge(bound, record)
            if outcome.kind == "quarantine":
                held[key] = (outcome.field, outcome.reason or "mapping failed", record.payload)
                counts.quarantined += 1
                continue
            if outcome.kind == "skip":
                skipped.append(key)
                continue
            mapped.append(key)
            if isinstance(outcome.entity, Ticket):
                tickets[outcome.entity.key] = outcome.entity
                counts.mapped += 1
            elif isinstance(outcome.entity, Project):
                projects.append(outcome.entity)
                counts.mapped += 1
        # quarantine: write what is new or different, release what maps now
        was = page.quarantined
        changed = [(stream, key, fld, reason, payload) for key, (fld, reason, payload) in held.items()
                   if was.get(key) != (fld, reason)]
        bulk.put_quarantine(conn, source, changed)
        freed = [key for key in (*mapped, *skipped) if key in was]  # a skipped record is no longer held
        bulk.release(conn, source, [(stream, key) for key in freed])
        # a record skipped now: the ticket it produced goes (unless a record of the page
        # produces that key now)
        removed = bulk.remove_tickets_of(conn, source, stream, [
            key for key in skipped if key in page.tickets and key not in tickets])
        if stream in self._project_streams:
            bulk.remove_projects_of(conn, source, stream, skipped)
        # tickets: only those whose digest differs from the stored one are written, with the
        # serialisation the comparison made; the page read the stored tickets keyed as its records
        stored = page.tickets
        read = {key for key, _, _ in page.rows}
        others = [key for key in tickets if key not in read]  # keyed otherwise than their records
        if others:
            stored = {**stored, **bulk.stored_tickets(conn, source, others)}
        writes: list[Ticket] = []
        serialised: list[tuple[str, str]] = []
        for key, ticket in tickets.items():
            old = stored.get(key)
            payload = ticket.model_dump(mode="json")
            text, digest = repo.serialise(payload)
            if old is not None and old[0] == digest:
                continue
            writes.append(ticket)
            serialised.append((text, digest))
            if comparison is not None:
                comparison.ticket(f"{source}:{payload.get('display_key') or key}", old[1:] if old else None,
                                  (payload["practice"], payload["capability"], payload["team"]))
        repo.upsert_tickets(conn, writes, serialised=serialised)
        repo.upsert_projects(conn, projects)
        if comparison is not None:
            for label in removed:
                comparison.removed(f"{source}:{label}")
            for _, key, fld, reason, _ in changed:
                comparison.quarantined(source, stream, key, fld, reason)
            for key in freed:
                fld, reason = was[key]
                comparison.released(source, stream, key, fld, reason)

    def remap_quarantined(self, conn: Connection) -> ApplyCounts:
        """Map again the stored records a mapping rejected (after a mapping or data fix).
        Records the connector could not parse have no stored record: their next pull retries them."""
        counts = ApplyCounts()
        records = []
        for row in repo.quarantined(conn, self.source.name):
            record = repo.get_raw(conn, self.source.name, row["key"], row["stream"])
            if record is not None:
                records.append(record)
        self._map(conn, self.bound(conn), records, counts)
        return counts

    def _map(self, conn: Connection, bound: BoundMapping, records: Iterable[RawRecord],
             counts: ApplyCounts) -> None:
        tickets: list[Ticket] = []
        projects: list[Project] = []
        released: dict[str, list[str]] = {}
        skipped: dict[str, list[str]] = {}
        unprojected: dict[str, list[str]] = {}  # records that produce no project (any more)
        produced: set[str] = set()
        for record in records:
            if record.deleted:
                repo.delete_entity(conn, record.source, record.key)
                if record.stream in self._project_streams:
                    unprojected.setdefault(record.stream, []).append(record.key)
                continue
            outcome = _judge(bound, record)
            if outcome.kind == "quarantine":
                repo.put_quarantine(conn, record.source, record.stream, record.key,
                                    outcome.reason or "mapping failed", outcome.field, record.payload)
                counts.quarantined += 1
                continue
            released.setdefault(record.stream, []).append(record.key)
            if outcome.kind == "skip" and record.stream in self._ticket_streams:
                skipped.setdefault(record.stream, []).append(record.key)
            if outcome.kind == "skip" and record.stream in self._project_streams:
                unprojected.setdefault(record.stream, []).append(record.key)
            if isinstance(outcome.entity, Ticket):
                tickets.append(outcome.entity)
                produced.add(outcome.entity.key)
                counts.mapped += 1
            elif isinstance(outcome.entity, Project):
                projects.append(outcome.entity)
                counts.mapped += 1
            if len(tickets) >= 1000:
                repo.upsert_tickets(conn, tickets)
                tickets = []
        if tickets:
            repo.upsert_tickets(conn, tickets)
        # a record changed so that no rule maps it any more: the ticket it produced goes
        for stream, keys in skipped.items():
            bulk.remove_tickets_of(conn, self.source.name, stream,
                                   [key for key in keys if key not in produced])
        repo.upsert_projects(conn, projects)
        # a record deleted, or changed so that no rule maps it any more (a Jira project moved
        # out of its category): the project it produced goes, and its transition with it
        for stream, keys in unprojected.items():
            bulk.remove_projects_of(conn, self.source.name, stream, keys)
        for stream, keys in released.items():
            repo.release_quarantine(conn, self.source.name, stream, keys)


def _stored_record(source: str, stream: str, key: str, updated: datetime | None,
                   payload: dict[str, Any]) -> RawRecord:
    """A stored raw record as it was validated when stored, without validating it again
    (`model_construct`'s default handling is a tenth of reading a record)."""
    record = RawRecord.__new__(RawRecord)
    _setattr(record, "__dict__", {"source": source, "stream": stream, "key": key, "updated": updated,
                                  "payload": payload, "deleted": False})
    _setattr(record, "__pydantic_fields_set__", set(_RAW_FIELDS))
    _setattr(record, "__pydantic_extra__", None)
    _setattr(record, "__pydantic_private__", None)
    return record


_setattr = object.__setattr__
_RAW_FIELDS = frozenset(RawRecord.model_fields)


def _judge(bound: BoundMapping, record: RawRecord) -> MapOutcome:
    """The record's outcome as stored: a mapping failure or a value that does not fit its
    column quarantines the record, never the page."""
    try:
        outcome = bound.map(record)
    except _RECORD_FAILURES as exc:
        log.warning("%s/%s %s: mapping failed: %s: %s", record.source, record.stream,
                    record.key, type(exc).__name__, exc)
        return MapOutcome("quarantine", reason=f"mapping failed: {type(exc).__name__}: {str(exc)[:300]}")
    if outcome.kind != "quarantine" and isinstance(outcome.entity, Project | Ticket):
        unfit = _unstorable(outcome.entity)
        if unfit is not None:
            return MapOutcome("quarantine", field=unfit[0], reason=unfit[1])
    return outcome
