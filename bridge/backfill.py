"""`migrate backfill`: pull a source again, resumable after any interruption.

A backfill leaves a mark in `cursors` (`~backfill`: its window, the streams it finished,
the cursors it replaced) in the transaction that resets the cursors. Each page commits with
its cursor (the engine's unit of work), so the page is the checkpoint: run the same
command again after Ctrl-C or a kill and it skips the streams it finished and continues
each unfinished sorted stream from its cursor, fetching again only the overlap at that
boundary (an unsorted stream starts over: its cursor moves only once it completed). The
mark goes when the source's pull completes; the replaced cursors come back where they
were ahead, so a windowed backfill never makes the next sync read the window's end again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select

from bridge.config import BridgeConfig
from bridge.engine import CycleResult, Engine, SourceOutcome
from bridge.errors import EXIT_PARTIAL, ConfigError
from bridge.models import RawRecord
from bridge.sourcemaps import ENGINE_MARK
from bridge.store import Store
from bridge.store import repository as repo
from bridge.store.schema import cursors, quarantine
from connectors.base import Connector, QuarantineHandler, StreamSpec, connector_for

log = logging.getLogger("bridge.migrate")
BACKFILL_MARK = "~backfill"
COUNTED = ("pulled", "inserted", "updated", "unchanged", "deleted", "mapped", "quarantined")


@dataclass
class StreamReport:
    name: str
    status: str = "done"  # done | skipped (finished by an earlier run) | unfinished
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    resumed_from: str | None = None  # the cursor an interrupted stream continued from


@dataclass
class Backfilled:
    source: str
    since: datetime | None
    until: datetime | None
    result: CycleResult
    resumed: bool = False
    started_at: str | None = None  # when the backfill (perhaps an earlier run) began
    streams: list[StreamReport] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # reasons held now
    seconds: float = 0.0

    @property
    def outcome(self) -> SourceOutcome | None:
        return next((s for s in self.result.sources if s.name == self.source), None)

    @property
    def finished(self) -> bool:
        return self.outcome is not None and self.outcome.status == "ok"

    @property
    def rate(self) -> float:
        pulled = self.outcome.pulled if self.outcome else 0
        return pulled / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        code = self.result.exit_code
        if code == 0 and self.outcome is not None and self.outcome.status == "interrupted":
            return EXIT_PARTIAL  # stopped early: run it again to finish
        return code


def _window(since: datetime | None, until: datetime | None) -> dict[str, str | None]:
    return {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}


def backfill(config: BridgeConfig, store: Store, source: str, since: datetime | None = None,
             until: datetime | None = None, *, push: bool = True,
             engine_options: dict[str, Any] | None = None,
             notice: Callable[[str], None] | None = None) -> Backfilled:
    """Pull `source` again over [since, until] (everything without them); records already
    stored unchanged are recognised and skipped. Resumes an unfinished backfill of the same
    window; `push=False` plans pushes without delivering them."""
    config.source(source)
    if since and until and until <= since:
        raise ConfigError(f"--until {until.isoformat()} is not after --since {since.isoformat()}")
    started = time.monotonic()
    window = _window(since, until)
    spec_names = [s.name for s in connector_for(config.source(source)).streams() if s.incremental]
    plan = _begin(store, source, window, since, spec_names)
    if plan.resumed and notice is not None:
        notice(f"resuming the backfill of {source} started {plan.started_at}: "
               f"{', '.join(plan.done) or 'no stream'} finished and not fetched again; the rest "
               "continues from its last stored page")
    engine = _BackfillEngine(config, store, plan=plan, until=until, **(engine_options or {}))
    result = engine.run_cycle(source, push=push)
    done = Backfilled(source, since, until, result, resumed=plan.resumed, started_at=plan.started_at,
                      streams=engine.reports)
    if done.finished:
        _finish(store, source, plan)
    done.quarantined = _quarantine_reasons(store, source)
    done.seconds = time.monotonic() - started
    outcome = done.outcome
    if outcome is not None:
        log.info("%s: backfill %s: %d record(s) in %.1f s (%.0f/s)%s", source, outcome.status,
                 outcome.pulled, done.seconds, done.rate, ", resumed" if plan.resumed else "",
                 extra={"source": source, "status": outcome.status, "resumed": plan.resumed,
                        "pulled": outcome.pulled, "seconds": round(done.seconds, 3)})
    return done


@dataclass
class _Plan:
    window: dict[str, str | None]
    started_at: str
    done: list[str]
    saved: dict[str, dict[str, Any]]  # cursors the backfill replaced, by stream
    resumed: bool = False
    cursors_at_start: dict[str, str] = field(default_factory=dict)


def _begin(store: Store, source: str, window: dict[str, str | None], since: datetime | None,
           incremental: list[str]) -> _Plan:
    stream_cursors = and_(cursors.c.source == source, ~cursors.c.stream.startswith(ENGINE_MARK))
    with store.engine.begin() as conn:
        mark = repo.get_cursor(conn, source, BACKFILL_MARK)
        current = {row.stream: dict(row.value) for row in conn.execute(
            select(cursors.c.stream, cursors.c.value).where(stream_cursors))}
        if mark is not None and mark.get("window") == window:
            plan = _Plan(window, str(mark.get("started_at")), list(mark.get("done", [])),
                         dict(mark.get("saved", {})), resumed=True)
            plan.cursors_at_start = {s: str(v.get("last_value")) for s, v in current.items()
                                     if v.get("last_value")}
            log.info("%s: resuming the backfill started %s: %s finished, the rest continues from "
                     "its last stored page", source, plan.started_at,
                     ", ".join(plan.done) or "no stream", extra={"source": source, "resumed": True})
            return plan
        if mark is not None:
            log.warning("%s: an unfinished backfill (%s) is replaced by this one (%s)", source,
                        mark.get("window"), window)
            saved = dict(mark.get("saved", {}))  # the cursors from before the first backfill
        else:
            saved = current
        plan = _Plan(window, datetime.now(UTC).isoformat(), [], saved)
        # the engine's marks (re-mapping, saved lookups: "~...") share the table and stay
        conn.execute(delete(cursors).where(stream_cursors))
        if since is not None:
            stamp = since.astimezone(UTC).isoformat()
            for stream in sorted(set(current) | set(incremental)):
                repo.set_cursor(conn, source, stream, {"last_value": stamp, "signpost": stamp})
        _save_mark(conn, source, plan)
    return plan


def _save_mark(conn: Any, source: str, plan: _Plan) -> None:
    repo.set_cursor(conn, source, BACKFILL_MARK, {"window": plan.window, "started_at": plan.started_at,
                                                  "done": plan.done, "saved": plan.saved})


def _finish(store: Store, source: str, plan: _Plan) -> None:
    """The pull completed: cursors that were ahead before the backfill come back, the mark goes."""
    with store.engine.begin() as conn:
        for stream, value in plan.saved.items():
            now = repo.get_cursor(conn, source, stream)
            before, after = value.get("last_value"), (now or {}).get("last_value")
            if before and (after is None or _at(before) > _at(after)):
                repo.set_cursor(conn, source, stream, value)
        repo.delete_cursor(conn, source, BACKFILL_MARK)


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _quarantine_reasons(store: Store, source: str, limit: int = 10) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(quarantine.c.stream, quarantine.c.field, quarantine.c.reason, func.count())
            .where(quarantine.c.source == source)
            .group_by(quarantine.c.stream, quarantine.c.field, quarantine.c.reason)
            .order_by(func.count().desc()).limit(limit)).all()
    return [{"stream": r[0], "field": r[1], "reason": r[2], "records": int(r[3])} for r in rows]


class _UntilWindow:
    """A connector whose reads end at `until`: a sorted stream stops at the first record past
    it (no page beyond is fetched), an unsorted one drops what is later."""

    def __init__(self, inner: Connector, until: datetime, sorted_streams: set[str]) -> None:
        self._inner = inner
        self._until = until
        self._sorted = sorted_streams

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def read_total(self) -> int | None:
        return self._inner.read_total

    @read_total.setter
    def read_total(self, value: int | None) -> None:
        self._inner.read_total = value

    def read(self, stream: str, since: datetime | None = None,
             on_quarantine: QuarantineHandler | None = None) -> Iterator[RawRecord]:
        records = self._inner.read(stream, since, on_quarantine)
        try:
            for record in records:
                if record.updated is not None and record.updated > self._until:
                    if stream in self._sorted:
                        return
                    continue
                yield record
        finally:
            close: Callable[[], None] | None = getattr(records, "close", None)
            if close is not None:
                close()


class _BackfillEngine(Engine):
    """The engine, skipping the streams an earlier run of this backfill finished and noting
    each stream it finishes in the backfill's mark."""

    def __init__(self, config: BridgeConfig, store: Store, *, plan: _Plan, until: datetime | None,
                 **options: Any) -> None:
        super().__init__(config, store, **options)
        self.plan = plan
        self.until = until
        self.reports: list[StreamReport] = []

    def _pull_stream(self, connector: Connector, spec: StreamSpec, *args: Any, **kwargs: Any) -> None:
        source = connector.name
        if spec.name in self.plan.done:
            self.reports.append(StreamReport(spec.name, "skipped"))
            log.info("%s/%s: finished by an earlier run of this backfill, not fetched again",
                     source, spec.name, extra={"source": source, "stream": spec.name})
            return
        outcome = next(a for a in (*args, *kwargs.values()) if isinstance(a, SourceOutcome))
        before = outcome.counts()
        report = StreamReport(spec.name, "unfinished",
                              resumed_from=self.plan.cursors_at_start.get(spec.name) if self.plan.resumed
                              else None)
        if report.resumed_from:
            log.info("%s/%s: continues from %s", source, spec.name, report.resumed_from,
                     extra={"source": source, "stream": spec.name})
        self.reports.append(report)
        started = time.monotonic()
        reader: Any = connector
        if self.until is not None:
            reader = _UntilWindow(connector, self.until,
                                  {s.name for s in connector.streams() if s.is_sorted})
        try:
            super()._pull_stream(reader, spec, *args, **kwargs)
        finally:
            after = outcome.counts()
            report.counts = {k: after[k] - before[k] for k in COUNTED}
            report.seconds = time.monotonic() - started
        report.status = "done"
        self.plan.done.append(spec.name)
        with self.unit() as conn:
            _save_mark(conn, source, self.plan)
