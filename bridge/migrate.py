"""One-off bulk work: backfill, remap, republish, reconcile deletions, copy the state store."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, delete, func, insert, select, update

from bridge.config import BridgeConfig
from bridge.derive.run import REPUBLISH
from bridge.engine import CycleResult, Engine, ProgressHook
from bridge.errors import ConfigError, TransientError
from bridge.sourcemaps import ENGINE_MARK, load_source_mapping
from bridge.store import Store, open_store
from bridge.store import repository as repo
from bridge.store.locks import job_lock
from bridge.store.schema import cursors, knowledge_articles, metadata, raw_records, transitions
from connectors.base import Connector, connector_for

log = logging.getLogger("bridge.migrate")
COPY_BATCH = 2000
CENSUS_REPORT = 1000  # keys between progress reports of a census


def backfill(config: BridgeConfig, store: Store, source: str, since: datetime | None,
             engine: Engine | None = None) -> CycleResult:
    """Pull a source again from `since` (from the beginning without it); unchanged records are skipped."""
    config.source(source)
    # the engine's marks (re-mapping, saved lookups: "~...") share the cursors table and
    # must survive a backfill
    stream_cursors = and_(cursors.c.source == source, ~cursors.c.stream.startswith(ENGINE_MARK))
    with store.engine.begin() as conn:
        if since is None:
            conn.execute(delete(cursors).where(stream_cursors))
        else:
            stamp = since.astimezone(UTC).isoformat()
            conn.execute(update(cursors).where(stream_cursors)
                         .values(value={"last_value": stamp, "signpost": stamp}, updated_at=datetime.now(UTC)))
    return (engine or Engine(config, store)).run_cycle(source)


def remap(config: BridgeConfig, store: Store, source: str | None = None,
          progress: ProgressHook | None = None, engine: Engine | None = None) -> CycleResult:
    """Map every stored raw record again with the current mapping files, then derive.

    `progress` hears `re-mapping SOURCE` before and after each source (one transaction)."""
    engine = engine or Engine(config, store)
    names = [source] if source else [s.name for s in config.sources]
    for name in names:
        src = config.source(name)
        with job_lock(store, f"pull:{name}") as held:
            if not held:
                raise TransientError(f"source {name!r} is being synced by another process; try again later")
            mapping = load_source_mapping(src)
            with store.engine.connect() as conn:
                stored = int(conn.execute(select(func.count()).select_from(raw_records).where(
                    raw_records.c.source == name, raw_records.c.deleted.is_(False))).scalar_one())
            if progress:
                progress(f"re-mapping {name}", 0, stored)
            with store.engine.begin() as conn:
                counts = mapping.remap_all(conn)
            log.info("%s: re-mapped %d record(s), %d quarantined", name, counts.mapped, counts.quarantined)
            if progress:
                progress(f"re-mapping {name}", counts.mapped + counts.quarantined, stored)
    return _derive_only(engine)


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


def _derive_only(engine: Engine) -> CycleResult:
    return engine.run_cycle(push=True, pull=False)


def republish(config: BridgeConfig, store: Store, transition: str | None = None,
              engine: Engine | None = None) -> CycleResult:
    """Plan every article and gate status again (connectors write only what differs)."""
    with store.engine.begin() as conn:
        forget_articles = delete(knowledge_articles)
        if transition:
            forget_articles = forget_articles.where(knowledge_articles.c.transition_id == transition)
        conn.execute(forget_articles)
        # a mark beside the payload (never in it: an interrupted republish must leave only
        # contract values) makes the next derivation bump each gate version, hence new push
        # keys; the mark survives a crash, so the next cycle finishes the republish
        forget = update(transitions).values(content_hash="", inputs_hash=REPUBLISH)
        if transition:
            forget = forget.where(transitions.c.id == transition)
        conn.execute(forget)
    return _derive_only(engine or Engine(config, store))


@dataclass
class ReconcileResult:
    stream: str
    present: int
    deleted: int


def reconcile(config: BridgeConfig, store: Store, source: str,
              progress: ProgressHook | None = None) -> list[ReconcileResult]:
    """Mark records the source no longer has as deleted, from a complete key census per stream.

    A census that fails changes nothing: a failed or partial read never reads as deletions.
    `progress` hears `census SOURCE/STREAM` every CENSUS_REPORT keys, with the total when
    the source gave one.
    """
    src = config.source(source)
    connector = connector_for(src)
    results: list[ReconcileResult] = []
    try:
        for spec in connector.streams():
            present = _census(connector, spec.name, progress)  # raises before anything is written
            with store.engine.begin() as conn:
                stored = set(conn.execute(select(raw_records.c.key).where(
                    raw_records.c.source == source, raw_records.c.stream == spec.name,
                    raw_records.c.deleted.is_(False))).scalars())
                gone = sorted(stored - present)
                now = datetime.now(UTC)
                for start in range(0, len(gone), 500):
                    chunk = gone[start:start + 500]
                    conn.execute(update(raw_records).where(
                        raw_records.c.source == source, raw_records.c.stream == spec.name,
                        raw_records.c.key.in_(chunk)).values(deleted=True, last_seen=now))
                    for key in chunk:
                        repo.delete_entity(conn, source, key)
            results.append(ReconcileResult(spec.name, len(present), len(gone)))
    finally:
        connector.close()
    return results


def _census(connector: Connector, stream: str, progress: ProgressHook | None) -> set[str]:
    label = f"census {connector.name}/{stream}"
    connector.read_total = None
    present: set[str] = set()
    for key in connector.census(stream):
        present.add(key)
        if progress and len(present) % CENSUS_REPORT == 0:
            progress(label, len(present), connector.read_total)
    if progress:
        progress(label, len(present), connector.read_total)
    return present


def copy_state(store: Store, target_url: str, progress: ProgressHook | None = None) -> dict[str, int]:
    """Copy every table into a new (empty) store at `target_url`, e.g. SQLite to PostgreSQL.

    `progress` hears `copying TABLE` after each batch, with the table's row count."""
    target = open_store(target_url)
    copied: dict[str, int] = {}
    try:
        with target.engine.connect() as probe:
            for table in metadata.sorted_tables:
                if probe.execute(select(table).limit(1)).first() is not None:
                    raise ConfigError(f"target store already holds data in {table.name!r}; "
                                      "copy into an empty database")
        with store.engine.connect() as source_conn, target.engine.begin() as target_conn:
            for table in metadata.sorted_tables:
                count = 0
                rows_in = int(source_conn.execute(select(func.count()).select_from(table)).scalar_one())
                if progress and rows_in:
                    progress(f"copying {table.name}", 0, rows_in)
                result = source_conn.execution_options(yield_per=COPY_BATCH).execute(select(table))
                for rows in result.mappings().partitions(COPY_BATCH):
                    target_conn.execute(insert(table), [dict(r) for r in rows])
                    count += len(rows)
                    if progress:
                        progress(f"copying {table.name}", count, rows_in)
                copied[table.name] = count
        _fix_sequences(target)
    finally:
        target.close()
    return copied


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
