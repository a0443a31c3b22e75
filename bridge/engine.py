"""One cycle: pull → store raw → map → derive → plan pushes → deliver.

Units of work: a page of records, the entities mapped from it and the cursor that
covers it commit together; the derived state and the outbox rows it causes commit
together. A source that fails fails alone; its entities stay as they were (a failed
pull never reads as deletions).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from bridge import pullstate
from bridge.config import OWN_MAPPING, BridgeConfig
from bridge.derive.run import derive_all, refresh_if_unchanged
from bridge.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, BridgeError, PermissionDenied
from bridge.faults import crash_point
from bridge.gcpause import fewer_collections
from bridge.logs import exception_summary, redact
from bridge.outbox import deliver_due, pending_pushes
from bridge.readahead import Page, ReadAhead
from bridge.sourcemaps import SourceMapping, load_source_mapping
from bridge.store import Store
from bridge.store import repository as repo
from bridge.store.locks import job_lock, waiting_lock
from connectors.base import Connector, SourceConfig, StreamSpec, connector_for
from mappings.compile import CompiledMapping
from mappings.policy import Policy, load_policy

log = logging.getLogger("bridge.engine")

PAGE = 500
#: pages read while the one before is stored (bounded: memory stays flat); 0 reads in turn
READ_AHEAD = 2
SIGNPOST_LAG = timedelta(seconds=60)
DERIVE_LOCK_WAIT = 600.0  # derivation takes seconds; a wait this long means something is stuck
#: (source, records so far, records expected when the source said so)
ProgressHook = Callable[[str, int, int | None], None]


class Interrupted(Exception):
    """A stop was requested: the last page is committed, the rest waits for the next cycle."""


@dataclass
class SourceOutcome:
    name: str
    status: str = "ok"  # ok | failed | skipped | interrupted
    pulled: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    mapped: int = 0
    quarantined: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # streams the account may not read
    wrote: bool = False  # this pull changed stored records: its picture is partial until it ends
    run_id: int | None = None  # its row in `runs`
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("pulled", "inserted", "updated", "unchanged", "deleted",
                                              "mapped", "quarantined")}


@dataclass
class CycleResult:
    sources: list[SourceOutcome] = field(default_factory=list)
    transitions: int = 0
    transitions_changed: int = 0
    articles_changed: int = 0
    workload_cells: int = 0
    planned: list[dict[str, Any]] = field(default_factory=list)
    #: transitions kept as last derived, and why: a source they depend on is mid-pull
    held: dict[str, str] = field(default_factory=dict)
    delivered: int = 0
    retrying: int = 0  # pushes that failed this cycle and wait for their next attempt
    push_failures: int = 0  # pushes parked as failed this cycle
    pending: int = 0  # pushes still waiting after this cycle's delivery (retrying included)
    dry_run: bool = False
    derived: bool = False
    #: derivation found nothing it reads changed (its stamp): it only refreshed the workload
    #: cells of the current periods; `derived` stays False
    derive_skipped: bool = False
    derive_seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        if self.sources and all(s.status == "failed" for s in self.sources):
            return EXIT_FAILED
        if (any(s.status == "failed" for s in self.sources) or self.push_failures or self.pending
                or any(s.quarantined for s in self.sources)):
            return EXIT_PARTIAL
        return EXIT_OK


def _changed(outcome: SourceOutcome) -> bool:
    """Whether a pull changed what is stored (a failure that wrote nothing is in the stamp)."""
    return outcome.wrote or bool(outcome.inserted or outcome.updated or outcome.deleted
                                 or outcome.mapped or outcome.quarantined)


class Engine:
    """Runs cycles for one configuration against one store."""

    def __init__(self, config: BridgeConfig, store: Store, *, dry_run: bool = False,
                 progress: ProgressHook | None = None,
                 push_progress: Callable[[int, int], None] | None = None,
                 derive_progress: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 compiled: Mapping[str, CompiledMapping] | None = None,
                 policies: Mapping[str, Policy] | None = None) -> None:
        """`compiled` / `policies`: mappings (by source) and policy files (by path) a caller
        compiled already (the daemon's set in force); otherwise they are read from disk."""
        self.config = config
        self._compiled = dict(compiled or {})
        self.should_stop = should_stop or (lambda: False)
        self.store = store
        self.dry_run = dry_run
        self.progress = progress
        self.push_progress = push_progress  # (pushes done, pushes due)
        self.derive_progress = derive_progress  # (transitions derived, transitions in all)
        self._mappings: dict[str, SourceMapping] = {}
        self._policies: dict[str, Policy] = dict(policies or {})
        self._dry_conn: Connection | None = None

    # -- units of work ---------------------------------------------------------------------

    @contextlib.contextmanager
    def unit(self) -> Iterator[Connection]:
        """A transaction; in a dry run, a savepoint inside one transaction rolled back at the end."""
        if self._dry_conn is not None:
            with self._dry_conn.begin_nested():
                yield self._dry_conn
            return
        with self.store.engine.begin() as conn:
            yield conn

    def mapping(self, source: SourceConfig) -> SourceMapping:
        if source.name not in self._mappings:
            compiled = self._compiled.get(source.name)
            self._mappings[source.name] = (SourceMapping(source, compiled) if compiled is not None
                                           else load_source_mapping(source))
        return self._mappings[source.name]

    def policy(self, source: str) -> Policy | None:
        """The policy judging transitions whose primary project comes from `source`: its
        explicit override, else the configuration's policy file, else None (the source's own
        mapping). Each file is loaded once; its roles are the mappings'."""
        path = self.config.policy_overrides.get(source, self.config.policy)
        if path is None or path == OWN_MAPPING:
            return None
        if path not in self._policies:
            roles = {r for s in self.config.sources for r in self.mapping(s).compiled.roles}
            self._policies[path] = load_policy(path, roles)
        return self._policies[path]

    # -- the cycle -------------------------------------------------------------------------

    def run_cycle(self, only: str | None = None, *, push: bool = True, pull: bool = True) -> CycleResult:
        """Pull (all sources, or `only`), derive, plan and deliver pushes."""
        sources = [self.config.source(only)] if only else list(self.config.sources)
        if not pull:
            sources = []
        result = CycleResult(dry_run=self.dry_run)
        started = time.monotonic()
        with self._dry_run_scope():
            for source in sources:
                if self.should_stop():
                    break
                pull_started = time.monotonic()
                result.sources.append(self.pull_source(source))
                result.sources[-1].seconds = time.monotonic() - pull_started
            if self.should_stop():
                self._log_cycle(result, started, pushed=False)
                return result  # derivation runs next cycle; nothing half-written
            if self._should_derive(only, result):
                derive_started = time.monotonic()
                self._derive(result)
                result.derive_seconds = time.monotonic() - derive_started
        pushed = push and not self.dry_run and self.config.push is not None
        if pushed:
            delivered = deliver_due(self.store, self.config, progress=self.push_progress)
            result.delivered, result.push_failures = delivered.delivered, delivered.failed
            result.retrying = delivered.retrying
            with self.store.engine.connect() as conn:
                result.pending = pending_pushes(conn, self.config)
        self._log_cycle(result, started, pushed=pushed)
        return result

    def _log_cycle(self, result: CycleResult, started: float, *, pushed: bool) -> None:
        """The operator's line per source and cycle: readable text, and in JSON mode fields
        to query (`run_id` is the source's row in `runs`). A skipped source was logged as
        such, and the process holding it reports its pull."""
        cycle_fields: dict[str, Any] = {
            "derived": result.derived, "derive_skipped": result.derive_skipped,
            "transitions": result.transitions,
            "transitions_changed": result.transitions_changed,
            "pushes_planned": len(result.planned),
            "derive_seconds": round(result.derive_seconds, 3),
            "cycle_seconds": round(time.monotonic() - started, 3), "dry_run": result.dry_run}
        derived = (f"{result.transitions} transition(s) ({result.transitions_changed} changed), "
                   f"{len(result.planned)} push(es) planned" if result.derived
                   else "derivation skipped: nothing it reads changed" if result.derive_skipped
                   else "no derivation this cycle")
        if pushed:
            cycle_fields.update(delivered=result.delivered, retrying=result.retrying,
                                push_failures=result.push_failures, pending=result.pending)
            derived += (f"; {result.delivered} delivered, {result.retrying} retrying, "
                        f"{result.push_failures} failed")
        for s in result.sources:
            if s.status == "skipped":
                continue
            log.info("%s: pulled %d (%d new, %d changed, %d deleted; %d mapped, %d quarantined) "
                     "in %.1f s, %s; %s [run %s]", s.name, s.pulled, s.inserted, s.updated,
                     s.deleted, s.mapped, s.quarantined, s.seconds, s.status, derived, s.run_id,
                     extra={"source": s.name, "run_id": s.run_id, "status": s.status,
                            **s.counts(), "pull_seconds": round(s.seconds, 3), **cycle_fields})

    def _should_derive(self, only: str | None, result: CycleResult) -> bool:
        if only is None or not result.sources:
            return True  # a full cycle, or derivation alone (migrate)
        if any(s.status == "skipped" for s in result.sources):
            return False  # the process pulling this source derives after it
        if self._another_pull_running(only):
            # deriving now would push gates computed from a half-pulled source; that
            # source's own cycle derives when it ends
            log.info("%s: derivation left to the source still pulling", only)
            return False
        return True

    def _derive(self, result: CycleResult) -> None:
        # one derivation at a time across processes and threads: two at once would both plan
        # the same gate version and both rebuild the workload cells
        with waiting_lock(self.store, "derive", DERIVE_LOCK_WAIT, self.should_stop) as held:
            if not held:
                return  # stopping: the next cycle derives
            with self.unit() as conn:
                now = datetime.now(UTC)
                # derivation alone (migrate) and a cycle that changed records derive in full;
                # otherwise the stored stamp says whether anything derivation reads changed
                skip = bool(result.sources) and not any(_changed(s) for s in result.sources)
                derived = refresh_if_unchanged(conn, self.config, self, now) if skip else None
                if derived is None:
                    derived = derive_all(conn, self.config, self, now=now,
                                         progress=self.derive_progress)
        crash_point("derived")
        result.transitions = derived.transitions
        result.workload_cells = derived.workload_cells
        if derived.skipped:
            result.derive_skipped = True
            return
        result.transitions_changed = derived.transitions_changed
        result.articles_changed = derived.articles_changed
        result.planned = derived.planned
        result.held = derived.held
        result.derived = True

    def _another_pull_running(self, only: str) -> bool:
        # a probe by taking the lock: a pull starting in that instant skips one round
        for source in self.config.sources:
            if source.name != only:
                with job_lock(self.store, f"pull:{source.name}") as held:
                    if not held:
                        return True
        return False

    @contextlib.contextmanager
    def _dry_run_scope(self) -> Iterator[None]:
        if not self.dry_run:
            yield
            return
        with self.store.engine.connect() as conn:
            outer = conn.begin()
            self._dry_conn = conn
            try:
                yield
            finally:
                self._dry_conn = None
                outer.rollback()

    def pull_source(self, source: SourceConfig) -> SourceOutcome:
        outcome = SourceOutcome(source.name)
        with job_lock(self.store, f"pull:{source.name}") as held, fewer_collections():
            if not held:
                outcome.status = "skipped"
                outcome.error = "another smo-bridge process is syncing this source"
                log.info("%s: skipped, locked by another process", source.name)
                return outcome
            with self.unit() as conn:
                repo.abandon_runs(conn, "sync", source.name)
                run_id = repo.start_run(conn, "sync", source.name)
            outcome.run_id = run_id
            connector = connector_for(source)
            try:
                mapping = self.mapping(source)
                for spec in connector.streams():
                    if self.should_stop():
                        raise Interrupted
                    try:
                        self._pull_stream(connector, spec, mapping, outcome)
                    except PermissionDenied as exc:
                        # what the account may not read is skipped; the rest of the source goes on
                        warning = (f"stream {spec.name} skipped: {exc}; grant the account read "
                                   f"access to {spec.name} to include it")
                        outcome.warnings.append(warning)
                        log.warning("%s: %s", source.name, warning)
            except Interrupted:
                outcome.status, outcome.error = "interrupted", "stopped before the end; resumes next cycle"
            except BridgeError as exc:
                outcome.status, outcome.error = "failed", str(exc)
                log.error("%s: %s", source.name, exc)
            except Exception as exc:  # a bug in one source must not stop the others
                outcome.status = "failed"
                # stored and shown: the exception's name, never a message that may quote a record
                outcome.error = f"internal error: {exception_summary(exc)} (the log has details)"
                log.exception("%s: unexpected failure", source.name)
            finally:
                connector.close()
            self._settle(source, outcome)
            if outcome.error:
                outcome.error = redact(outcome.error)  # a server may echo a token in its error
            with self.unit() as conn:
                now = datetime.now(UTC)
                if outcome.status == "ok":
                    pullstate.mark_complete(conn, source.name, now)
                elif not outcome.wrote:
                    pullstate.mark_failed_unchanged(conn, source.name, now)
                repo.finish_run(conn, run_id, outcome.status, outcome.counts(), outcome.error)
        return outcome

    def _settle(self, source: SourceConfig, outcome: SourceOutcome) -> None:
        """Re-map what changed lookups affect, even after a failed pull: what was stored is stored."""
        mapping = self._mappings.get(source.name)
        if mapping is None:
            return
        try:
            with self.unit() as conn:
                settled = mapping.settle(conn)
        except Exception as exc:
            outcome.status = "failed"
            outcome.error = outcome.error or f"re-mapping failed: {type(exc).__name__}: {exc}"
            log.exception("%s: re-mapping failed", source.name)
            return
        outcome.mapped += settled.mapped
        outcome.quarantined += settled.quarantined

    def _pull_stream(self, connector: Connector, spec: StreamSpec, mapping: SourceMapping,
                     outcome: SourceOutcome) -> None:
        source, stream = connector.name, spec.name
        is_sorted, incremental = spec.is_sorted, spec.incremental
        signpost = datetime.now(UTC) - SIGNPOST_LAG
        with self.unit() as conn:
            cursor = repo.get_cursor(conn, source, stream) if incremental else None
        since = datetime.fromisoformat(cursor["last_value"]) if cursor else None
        newest: datetime | None = since

        def flush(page: Page) -> None:
            advance = None
            if incremental and newest is not None and (is_sorted or page.last):
                advance = min(newest, signpost)
            with self.unit() as conn:
                self._store_page(conn, page, mapping, outcome, spec.identity_field)
                if advance is not None and (cursor is None or advance.isoformat() != cursor.get("last_value")):
                    repo.set_cursor(conn, source, stream, {"last_value": advance.isoformat(),
                                                           "signpost": signpost.isoformat()})
            crash_point("page")

        connector.read_total = None
        before = outcome.pulled

        def report(page: Page) -> None:
            if self.progress:
                expected = page.read_total
                self.progress(source, outcome.pulled, None if expected is None else before + expected)

        # the next pages are fetched while this one is mapped and stored; a page's cursor
        # still commits with it, so nothing read ahead counts until it is stored
        reader = ReadAhead(lambda rejected: connector.read(stream, since, rejected), size=PAGE,
                           ahead=READ_AHEAD, total=lambda: connector.read_total,
                           name=f"read {source}/{stream}", prepare=repo.raw_serialisation)
        with reader:
            for page in reader:
                outcome.pulled += len(page.records)
                latest = max((r.updated for r in page.records if r.updated is not None), default=None)
                if latest is not None and (newest is None or latest > newest):
                    newest = latest
                flush(page)
                report(page)
                if not page.last and self.should_stop():
                    raise Interrupted

    def _store_page(self, conn: Connection, page: Page, mapping: SourceMapping,
                    outcome: SourceOutcome, identity_field: str | None) -> None:
        for bad in page.rejected:
            repo.put_quarantine(conn, bad.source, bad.stream, bad.key or "?", bad.reason, bad.field,
                                bad.payload)
            outcome.quarantined += 1
        changed = bool(page.rejected)
        if page.records:
            written = repo.store_raw(conn, page.records, identity_field=identity_field,
                                     serialised=page.prepared or None)
            changed = changed or bool(written.inserted or written.updated or written.deleted)
            outcome.inserted += written.inserted
            outcome.updated += written.updated
            outcome.unchanged += written.unchanged
            outcome.deleted += written.deleted
            mapped = mapping.apply(conn, written.changed)
            outcome.mapped += mapped.mapped
            outcome.quarantined += mapped.quarantined
        if changed and not outcome.wrote:
            pullstate.mark_writing(conn, outcome.name)  # in this page's transaction
            outcome.wrote = True
