"""One-off bulk work: backfill, remap, republish, reconcile deletions, copy the state store."""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from bridge import impact
from bridge.backfill import Backfilled, backfill
from bridge.config import BridgeConfig
from bridge.derive.run import REPUBLISH, derive_all
from bridge.engine import DERIVE_LOCK_WAIT, CycleResult, Engine, ProgressHook, SourceOutcome
from bridge.errors import EXIT_OK, BridgeBug, ConfigError, PermissionDenied, TransientError
from bridge.impact import Impact
from bridge.outbox import deliver_due, pending_pushes
from bridge.sourcemaps import compiled_for, load_source_mapping
from bridge.store import Store, bulk, open_store
from bridge.store import repository as repo
from bridge.store.database import redacted_url
from bridge.store.locks import job_lock, waiting_lock
from bridge.store.schema import (
    knowledge_articles,
    metadata,
    outbox,
    raw_records,
    tickets,
    transitions,
)
from connectors.base import Connector, connector_for
from mappings import mapping_for_source

__all__ = ["Backfilled", "backfill"]
log = logging.getLogger("bridge.migrate")
COPY_BATCH = 2000
CENSUS_REPORT = 1000  # keys between progress reports of a census


def remap(config: BridgeConfig, store: Store, source: str | None = None,
          progress: ProgressHook | None = None, engine: Engine | None = None, *,
          dry_run: bool = False, push: bool = True) -> tuple[CycleResult, Impact]:
    """Map every stored raw record again with the current mapping files, then derive: all
    sources named and the derivation in one transaction, committed whole or not at all.

    Returns the cycle's counts and the impact: what changed, record by record. A dry run
    takes the very same steps and rolls back, so its impact is what the applied remap does.
    `progress` hears `re-mapping SOURCE` before and after each source."""
    engine = engine or Engine(config, store)
    names = [source] if source else [s.name for s in config.sources]
    result = CycleResult(dry_run=dry_run)
    with contextlib.ExitStack() as locks:
        for name in names:
            config.source(name)
            if not locks.enter_context(job_lock(store, f"pull:{name}")):
                raise TransientError(f"source {name!r} is being synced by another process; try again later")
        locks.enter_context(waiting_lock(store, "derive", DERIVE_LOCK_WAIT))
        with store.engine.connect() as conn:
            tx = conn.begin()
            try:
                comparison = impact.Comparison()
                for name in names:
                    started = time.monotonic()
                    result.sources.append(_remap_source(conn, engine, name, progress, comparison))
                    result.sources[-1].seconds = time.monotonic() - started
                comparison.before_derivation(conn)
                _derive_in(conn, config, engine, result)
                comparison.after_derivation(conn)
                report = comparison.result(_tickets_of(conn, names))
            except BaseException:
                tx.rollback()
                raise
            if dry_run:
                tx.rollback()
            else:
                tx.commit()
    for s in result.sources:
        log.info("%s: re-mapped %d record(s), %d quarantined in %.1f s%s", s.name, s.mapped,
                 s.quarantined, s.seconds, " (dry run: nothing written)" if dry_run else "",
                 extra={"source": s.name, "mapped": s.mapped, "quarantined": s.quarantined,
                        "dry_run": dry_run})
    if push and not dry_run:
        _deliver(config, store, engine, result)
    return result, report


def _remap_source(conn: Connection, engine: Engine, name: str, progress: ProgressHook | None,
                  comparison: impact.Comparison | None = None, label: str | None = None,
                  ) -> SourceOutcome:
    mapping = engine.mapping(engine.config.source(name))
    stored = int(conn.execute(select(func.count()).select_from(raw_records).where(
        raw_records.c.source == name, raw_records.c.deleted.is_(False),
        raw_records.c.stream.in_(sorted(mapping.compiled.streams)))).scalar_one())
    label = label or f"re-mapping {name}"
    if progress:
        progress(label, 0, stored)
    counts = mapping.remap_all(conn, comparison, (lambda read: progress(label, read, stored))
                               if progress else None)
    return SourceOutcome(name, pulled=0, mapped=counts.mapped, quarantined=counts.quarantined)


def _tickets_of(conn: Connection, sources: list[str]) -> int:
    return int(conn.execute(select(func.count()).select_from(tickets).where(
        tickets.c.source.in_(sources))).scalar_one())


def _derive_in(conn: Connection, config: BridgeConfig, engine: Engine, result: CycleResult) -> None:
    started = time.monotonic()
    derived = derive_all(conn, config, engine, now=datetime.now(UTC), progress=engine.derive_progress)
    result.transitions, result.transitions_changed = derived.transitions, derived.transitions_changed
    result.articles_changed, result.workload_cells = derived.articles_changed, derived.workload_cells
    result.planned, result.held, result.derived = derived.planned, derived.held, True
    result.derive_seconds = time.monotonic() - started


def _deliver(config: BridgeConfig, store: Store, engine: Engine, result: CycleResult) -> list[dict[str, Any]]:
    """Deliver what is due; the counts into `result`; returns what each delivered push did."""
    if config.push is None:
        return []
    delivered = deliver_due(store, config, progress=engine.push_progress)
    result.delivered, result.push_failures = delivered.delivered, delivered.failed
    result.retrying = delivered.retrying
    with store.engine.connect() as conn:
        result.pending = pending_pushes(conn, config)
    return delivered.outcomes


def diff_mappings(config: BridgeConfig, store: Store, source: str, old: list[str] | None,
                  new: list[str], progress: ProgressHook | None = None,
                  derive_progress: Callable[[str, int, int], None] | None = None) -> Impact:
    """What replacing a source's mapping files `old` (None: as configured) by `new` would do,
    from the stored records alone, in one transaction that is rolled back: the records are
    mapped with `old` and derived, then mapped with `new` (each change compared with the row
    it replaces, as a remap does) and derived again. Nothing is written, nothing is fetched.
    `progress` hears `re-mapping SOURCE (old|new mapping)`, `derive_progress` ("old" or
    "new", transitions derived, transitions in all)."""
    src = config.source(source)
    compiled = {"old": mapping_for_source(src.kind, old) if old is not None else compiled_for(src),
                "new": mapping_for_source(src.kind, new)}
    with contextlib.ExitStack() as locks:
        if not locks.enter_context(job_lock(store, f"pull:{source}")):
            raise TransientError(f"source {source!r} is being synced by another process; try again later")
        locks.enter_context(waiting_lock(store, "derive", DERIVE_LOCK_WAIT))
        with store.engine.connect() as conn, _rolled_back(conn):
            comparison = impact.Comparison()
            for stage in ("old", "new"):
                hook = (functools.partial(derive_progress, stage) if derive_progress else None)
                engine = Engine(config, store, compiled={source: compiled[stage]}, derive_progress=hook)
                _remap_source(conn, engine, source, progress, comparison if stage == "new" else None,
                              label=f"re-mapping {source} ({stage} mapping)")
                if stage == "new":
                    comparison.before_derivation(conn)
                _derive_in(conn, config, engine, CycleResult())
            comparison.after_derivation(conn)
            return comparison.result(_tickets_of(conn, [source]))


@contextlib.contextmanager
def _rolled_back(conn: Connection) -> Iterator[None]:
    tx = conn.begin()
    try:
        yield
    finally:
        tx.rollback()


def retry_quarantined(config: BridgeConfig, store: Store, source: str | None = None) -> CycleResult:
    """Map the quarantined records of each source again, then derive."""
    engine = Engine(config, store)
    for name in [source] if source else [s.name for s in config.sources]:
        with job_lock(store, f"pull:{name}") as held:
            if not held:
                raise TransientError(f"source {name!r} is being synced by another process; try again later")
            mapping = load_source_mapping(config.source(name))
            with store.engine.begin() as conn:
                counts = mapping.remap_quarantined(conn)
            log.info("%s: %d record(s) mapped, %d still quarantined", name, counts.mapped,
                     counts.quarantined)
    return _derive_only(engine)


def _derive_only(engine: Engine, push: bool = True) -> CycleResult:
    return engine.run_cycle(push=push, pull=False)


@dataclass
class Republished(CycleResult):
    """A republish's cycle, and each push it made as the target answered it."""

    actions: list[dict[str, Any]] = field(default_factory=list)


def republish(config: BridgeConfig, store: Store, transition: str | None = None,
              engine: Engine | None = None, *, dry_run: bool = False, push: bool = True) -> Republished:
    """Plan every article and gate status again and deliver them: each connector reads its
    target back first, re-creates what is missing, restores what the bridge wrote and a
    person did not change, and leaves a person's edit alone (a revision draft instead)."""
    engine = engine or Engine(config, store)
    result = Republished(dry_run=dry_run)
    if transition is not None:
        with store.engine.connect() as conn:
            _known_transition(conn, transition)
    with store.engine.connect() as conn:
        tx = conn.begin()
        try:
            _forget_published(conn, config, transition)
            if dry_run:
                with waiting_lock(store, "derive", DERIVE_LOCK_WAIT):
                    _derive_in(conn, config, engine, result)
        finally:
            if dry_run:
                tx.rollback()
            else:
                tx.commit()
    if dry_run:
        return result
    derived = _derive_only(engine, False)
    for name in ("transitions", "transitions_changed", "articles_changed", "workload_cells", "planned",
                 "held", "derived", "derive_seconds"):
        setattr(result, name, getattr(derived, name))
    if push:
        result.actions = _deliver(config, store, engine, result)
    return result


def _known_transition(conn: Connection, transition: str) -> None:
    ids = list(conn.execute(select(transitions.c.id)).scalars())
    if transition in ids:
        return
    near = difflib.get_close_matches(transition, ids, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else (
        f" (stored: {', '.join(sorted(ids)[:5])}{', ...' if len(ids) > 5 else ''})" if ids else
        " (the store holds no transition yet: run `smo-bridge sync --once`)")
    raise ConfigError(f"--transition {transition!r}: no such transition{hint}")


def _forget_published(conn: Connection, config: BridgeConfig, transition: str | None) -> None:
    forget_articles = delete(knowledge_articles)
    if transition:
        forget_articles = forget_articles.where(knowledge_articles.c.transition_id == transition)
    conn.execute(forget_articles)
    # an unchanged article's push key is its content hash: the delivered push keeps its row
    # (history) under a superseded key, so the same article is planned and checked again
    target = config.push.knowledge if config.push else None
    if target:
        prefix = f"article:{target}:{transition}:" if transition else f"article:{target}:"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        for push_id, key in conn.execute(select(outbox.c.id, outbox.c.idempotency_key).where(
                outbox.c.idempotency_key.startswith(prefix, autoescape=True),
                outbox.c.status == "delivered")).all():
            conn.execute(update(outbox).where(outbox.c.id == push_id).values(
                idempotency_key=f"{key}~republished-{stamp}"[:255]))
    # a mark beside the payload (never in it: an interrupted republish must leave only
    # contract values) makes the next derivation bump each gate version, hence new push
    # keys; the mark survives a crash, so the next cycle finishes the republish
    forget = update(transitions).values(content_hash="", inputs_hash=REPUBLISH)
    if transition:
        forget = forget.where(transitions.c.id == transition)
    conn.execute(forget)


@dataclass
class ReconcileResult:
    stream: str
    present: int
    stored: int
    deleted: int
    examples: list[str] = field(default_factory=list)
    reported: int | None = None  # the count the tool gave for its census, when it gave one

    @property
    def share(self) -> float:
        return self.deleted / self.stored if self.stored else 0.0


@dataclass
class Reconciled:
    source: str
    streams: list[ReconcileResult]
    dry_run: bool = False
    derived: CycleResult | None = None
    cause: str | None = None  # what probably removed so many records

    @property
    def deleted(self) -> int:
        return sum(r.deleted for r in self.streams)

    @property
    def exit_code(self) -> int:
        return self.derived.exit_code if self.derived is not None else EXIT_OK


MAX_SHARE = 0.05


def reconcile(config: BridgeConfig, store: Store, source: str,
              progress: ProgressHook | None = None, *, dry_run: bool = False,
              max_share: float = MAX_SHARE, force: bool = False, push: bool = True,
              engine: Engine | None = None) -> Reconciled:
    """Mark records the source no longer has as deleted, from a complete key census per
    stream, then derive. Refuses (ConfigError) when a stream would lose more than `max_share`
    of its records, unless `force`: that is a narrowed scope or a lost permission far more
    often than a real mass deletion.

    A census that fails changes nothing: a failed or partial read never reads as deletions.
    `progress` hears `census SOURCE/STREAM` every CENSUS_REPORT keys, with the total when
    the source gave one.
    """
    src = config.source(source)
    connector = connector_for(src)
    gone: dict[str, list[str]] = {}
    results: list[ReconcileResult] = []
    try:
        for spec in connector.streams():
            with store.engine.connect() as conn:
                stored = set(conn.execute(select(raw_records.c.key).where(
                    raw_records.c.source == source, raw_records.c.stream == spec.name,
                    raw_records.c.deleted.is_(False))).scalars())
            try:
                present, reported = _census(connector, spec.name, progress)  # raises before anything is written
            except PermissionDenied as exc:
                if not stored:
                    log.warning("%s: no census of %s (%s): nothing stored there to reconcile",
                                source, spec.name, exc)
                    continue
                cause = connector.census_cause(spec.name, present=0, stored=len(stored),
                                               reported=None, denied=exc) or f"{exc}: missing read permission"
                raise ConfigError(f"reconcile {source}: no census of {spec.name}, where {len(stored)} "
                                  f"record(s) are stored: {cause}. Nothing was marked deleted") from exc
            gone[spec.name] = sorted(stored - present)
            results.append(ReconcileResult(spec.name, len(present), len(stored), len(gone[spec.name]),
                                           gone[spec.name][:10], reported))
        outcome = Reconciled(source, results, dry_run=dry_run)
        over = [r for r in results if r.deleted and r.share > max_share]
        if over:
            with store.engine.connect() as conn:
                outcome.cause = _likely_cause(conn, connector, source, over, gone)
    finally:
        connector.close()
    if over and not force and not dry_run:
        shares = ", ".join(f"{r.deleted} of {r.stored} {r.stream} record(s) ({r.share:.0%})" for r in over)
        raise ConfigError(
            f"reconcile {source}: {shares} would be marked deleted, more than --max-share "
            f"{max_share:.0%}; {outcome.cause}. Check with --dry-run, then use --force if "
            "the records really are gone")
    if dry_run:
        return outcome
    with store.engine.begin() as conn:
        now = datetime.now(UTC)
        for stream, keys in gone.items():
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                conn.execute(update(raw_records).where(
                    raw_records.c.source == source, raw_records.c.stream == stream,
                    raw_records.c.key.in_(chunk)).values(deleted=True, last_seen=now))
                for key in chunk:
                    repo.delete_entity(conn, source, key)
            bulk.remove_projects_of(conn, source, stream, keys)  # keyed otherwise than their records
    if outcome.deleted:
        outcome.derived = _derive_only(engine or Engine(config, store), push=push)
    return outcome


def _likely_cause(conn: Connection, connector: Connector, source: str, over: list[ReconcileResult],
                  gone: dict[str, list[str]]) -> str:
    """Name what most likely hid the records: what the tool's census says (its connector
    knows: ServiceNow's count against the rows returned), else a whole stream unreadable,
    else whole projects gone (a narrowed scope or a permission lost on them)."""
    said = [note for r in over if (note := connector.census_cause(
        r.stream, present=r.present, stored=r.stored, reported=r.reported))]
    if said:
        return "; ".join(said)
    empty = [r.stream for r in over if r.present == 0]
    if empty:
        return (f"the census found no record at all in {', '.join(empty)}: the account has probably "
                "lost read permission there, or the configuration no longer selects it")
    keys = [k for r in over for k in gone[r.stream]]
    missing: Counter[str] = Counter()
    for start in range(0, len(keys), 500):
        missing.update(p for p in conn.execute(select(tickets.c.project_key).where(
            tickets.c.source == source, tickets.c.key.in_(keys[start:start + 500]))).scalars() if p)
    held: dict[str, int] = dict(conn.execute(select(tickets.c.project_key, func.count()).where(
        tickets.c.source == source, tickets.c.project_key.in_(list(missing))).group_by(
        tickets.c.project_key)).all()) if missing else {}
    whole = sorted(p for p in missing if held.get(p, 0) <= missing[p])
    if whole:
        shown = ", ".join(whole[:5]) + (", ..." if len(whole) > 5 else "")
        return (f"every record of {len(whole)} project(s) ({shown}) is missing: the source's scope "
                "was probably narrowed in the configuration (projects, query, tables) or the account "
                "lost read permission on them")
    return ("the source's scope was probably narrowed in the configuration, or the account lost "
            "read permission on part of it")


def _census(connector: Connector, stream: str, progress: ProgressHook | None,
            ) -> tuple[set[str], int | None]:
    """The keys present, and the count the tool gave on the census's first page."""
    label = f"census {connector.name}/{stream}"
    connector.read_total = None
    present: set[str] = set()
    for key in connector.census(stream):
        present.add(key)
        if progress and len(present) % CENSUS_REPORT == 0:
            progress(label, len(present), connector.read_total)
    if progress:
        progress(label, len(present), connector.read_total)
    return present, connector.read_total


@dataclass
class Copied:
    """What copy-state copied, per table, and the verification: row counts and content
    hashes read back from both stores."""

    target: str
    rows: dict[str, int] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    overwritten: bool = False
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def copy_state(store: Store, target_url: str, progress: ProgressHook | None = None, *,
               overwrite: bool = False) -> Copied:
    """Copy every table into the store at `target_url` (e.g. SQLite to PostgreSQL) in one
    transaction, then compare each table's row count and content hash on both sides.

    A target holding data is refused unless `overwrite` (its rows are then replaced, in the
    same transaction). A SQLite target's folder must exist: none is created. `progress`
    hears `copying TABLE` after each batch, with the table's row count."""
    started = time.monotonic()
    target = open_store(target_url, make_folder=False)
    copied = Copied(redacted_url(target_url), overwritten=False)
    try:
        with target.engine.connect() as probe:
            held = [t.name for t in metadata.sorted_tables
                    if probe.execute(select(t).limit(1)).first() is not None]
        if held and not overwrite:
            raise ConfigError(f"target store already holds data in {', '.join(held)}; copy into an "
                              "empty database, or pass --overwrite to replace it")
        with store.engine.connect() as source_conn, target.engine.begin() as target_conn:
            if held:
                for table in reversed(metadata.sorted_tables):
                    target_conn.execute(delete(table))
                copied.overwritten = True
            for table in metadata.sorted_tables:
                count = 0
                rows_in = int(source_conn.execute(select(func.count()).select_from(table)).scalar_one())
                if progress:
                    progress(f"copying {table.name}", 0, rows_in)
                result = source_conn.execution_options(yield_per=COPY_BATCH).execute(select(table))
                for rows in result.mappings().partitions(COPY_BATCH):
                    target_conn.execute(insert(table), [dict(r) for r in rows])
                    count += len(rows)
                    if progress:
                        progress(f"copying {table.name}", count, rows_in)
                copied.rows[table.name] = count
        _fix_sequences(target)
        _verify_copy(store, target, copied, progress)
    finally:
        target.close()
    copied.seconds = time.monotonic() - started
    return copied


def table_digest(conn: Connection, table: Any) -> tuple[int, str]:
    """(rows, digest) of a table's content, independent of row order and of the database:
    each row's normalised values hashed, the hashes summed (so no sort, bounded memory)."""
    total, rows = 0, 0
    for row in conn.execution_options(yield_per=COPY_BATCH).execute(select(table)).mappings():
        normal = json.dumps({k: _normal(v) for k, v in row.items()}, sort_keys=True, default=str)
        total = (total + int.from_bytes(hashlib.sha256(normal.encode()).digest(), "big")) % (1 << 256)
        rows += 1
    return rows, f"{total:064x}"


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, float):
        return repr(value)
    return value


def _verify_copy(store: Store, target: Store, copied: Copied, progress: ProgressHook | None) -> None:
    tables = metadata.sorted_tables
    with store.engine.connect() as source_conn, target.engine.connect() as target_conn:
        for done, table in enumerate(tables, 1):
            here, there = table_digest(source_conn, table), table_digest(target_conn, table)
            if here != there:
                raise BridgeBug(f"copy-state: table {table.name} differs after the copy "
                                f"({here[0]} row(s) here, {there[0]} there): the target is not usable")
            copied.hashes[table.name] = here[1]
            if progress:
                progress("verifying tables", done, len(tables))


def _fix_sequences(store: Store) -> None:
    """PostgreSQL serial columns continue after the copied ids."""
    if store.dialect != "postgresql":
        return
    from sqlalchemy import text

    with store.engine.begin() as conn:
        for table in metadata.sorted_tables:
            if "id" in table.c and table.c.id.autoincrement is True:
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
