"""`smo-bridge run`: scheduled cycles until SIGTERM/SIGINT, with reload, health and metrics.

APScheduler 3 runs a pull job per source and a push job, one instance each, coalescing
missed runs. Daemons sharing one PostgreSQL store register there and deal the sources out
between the live ones (bridge.store.members): a source dealt to another daemon is skipped,
one dealt to this daemon while another still pulls it is handed over at a page boundary,
and a daemon that stops or dies has its sources taken over once its lease expires. A stop request lets the current page commit, then exits. The configuration,
its mapping files and policy files are compiled once into a `MappingSet`; every job uses
the set in force. On SIGHUP, or when a watched file changed and has stayed unchanged for a
poll, the whole set is loaded and checked again and swapped in only when all of it is
valid; otherwise it is refused with a log line per problem (FILE:LINE:COL) and the last
good set stays in force.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from bridge import __version__
from bridge.config import BridgeConfig, load_config
from bridge.derive.workloads import WINDOW_DAYS
from bridge.engine import Engine
from bridge.errors import BridgeError, ConfigError
from bridge.logs import redact
from bridge.notify import Notifier
from bridge.outbox import deliver_due
from bridge.sourcemaps import compiled_for
from bridge.store import Store, members, open_store
from bridge.store.schema import outbox, runs, transitions
from bridge.store.snapshots import current_workloads
from mappings.compile import CompiledMapping
from mappings.policy import Policy, load_policy

if TYPE_CHECKING:
    from bridge.web.board import Board

log = logging.getLogger("bridge.daemon")
RELOAD_POLL_SECONDS = 5
#: a member renews its row this often (at most; a quarter of the lease,
#: `daemon.member_lease_seconds`, when that is shorter), so a few missed heartbeats (a busy
#: database, a long pause) are tolerated before the others deal its sources out
HEARTBEAT_SECONDS = 2.0
#: daemons started together (a deployment, a restart) find each other at once: the first
#: seconds after joining, a member looks this often, so a source it started alone is handed
#: over to a newcomer after a page or two instead of a whole pull
JOINING_HEARTBEAT_SECONDS = 0.25
JOINING_SECONDS = 15.0
#: a source dealt to this daemon that another still pulls: tried again this often while the
#: other hands it over at its next page
HANDOVER_RETRY_SECONDS = 0.5
HANDOVER_RETRIES = 60
#: a source no daemon started pulling for this many intervals is pulled by whoever sees it
#: (members whose views of the membership or the sources disagree must not starve one)
OVERDUE_INTERVALS = 3


#: a cycle may take seconds or, on a first pull of a large instance, most of an hour
CYCLE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, float("inf"))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        Info("smo_bridge_build", "The running smo-bridge", registry=self.registry).info(
            {"version": __version__})
        self.records = Counter("smo_bridge_records_pulled_total", "Records pulled", ["source"],
                               registry=self.registry)
        self.quarantined = Counter("smo_bridge_records_quarantined_total",
                                   "Records a pull quarantined", ["source"], registry=self.registry)
        self.cycle = Histogram("smo_bridge_cycle_seconds", "Duration of a source's cycle", ["source"],
                               buckets=CYCLE_BUCKETS, registry=self.registry)
        self.failures = Counter("smo_bridge_failures_total", "Failed pull cycles", ["source"],
                                registry=self.registry)
        self.pushes = Counter("smo_bridge_pushes_total", "Push attempts, by outcome",
                              ["outcome"], registry=self.registry)
        for outcome in ("delivered", "retrying", "failed"):
            self.pushes.labels(outcome)
        self.push_seconds = Histogram("smo_bridge_push_round_seconds",
                                      "Duration of a push round", buckets=CYCLE_BUCKETS,
                                      registry=self.registry)
        self.gates = Gauge("smo_bridge_transitions", "Service transitions by gate status",
                           ["status"], registry=self.registry)
        self.allowed_staleness = Gauge(
            "smo_bridge_source_allowed_staleness_seconds",
            "How old a source's last successful pull may be before /readyz fails",
            ["source"], registry=self.registry)
        self.last_success = Gauge("smo_bridge_last_success_timestamp_seconds",
                                  "Unix time of the last successful cycle", ["source"],
                                  registry=self.registry)
        self.outbox = Gauge("smo_bridge_outbox_pushes", "Pushes in the outbox", ["status"],
                            registry=self.registry)
        self.reloads = Counter("smo_bridge_config_reloads_total",
                               "Configuration reloads, by outcome (applied or refused)",
                               ["outcome"], registry=self.registry)
        for outcome in ("applied", "refused"):
            self.reloads.labels(outcome)
        self.config_ok = Gauge("smo_bridge_config_last_reload_ok",
                               "1 when the last configuration change was applied, 0 when refused",
                               registry=self.registry)
        self.config_ok.set(1)

        # one workload definition (bridge.derive.workloads), as `status` shows it
        cell = ["capability", "practice", "team"]
        self.workload_open = Gauge("smo_bridge_workload_open_tickets", "Open tickets now",
                                   cell, registry=self.registry)
        self.workload_opened = Gauge("smo_bridge_workload_opened_tickets",
                                     f"Tickets opened in the last {WINDOW_DAYS} days", cell,
                                     registry=self.registry)
        self.workload_closed = Gauge("smo_bridge_workload_closed_tickets",
                                     f"Tickets closed in the last {WINDOW_DAYS} days", cell,
                                     registry=self.registry)
        self.workload_age = Gauge("smo_bridge_workload_open_median_age_days",
                                  "Median age of the open tickets, in days", cell,
                                  registry=self.registry)
        self.members = Gauge("smo_bridge_daemons", "Daemons sharing the store, as this one sees them",
                             registry=self.registry)
        self.dealt = Gauge("smo_bridge_sources_dealt", "Sources dealt to this daemon",
                           registry=self.registry)

    def add_sources(self, names: Iterable[str]) -> None:
        """Counters start at 0 for every configured source, so rates work from the start."""
        for name in names:
            for metric in (self.records, self.quarantined, self.failures):
                metric.labels(name)

    def set_staleness(self, config: BridgeConfig) -> None:
        """Each source's allowed staleness, as /readyz judges it (alerts compare with it)."""
        self.allowed_staleness.clear()
        for source in config.sources:
            self.allowed_staleness.labels(source.name).set(
                config.daemon.stale_after_cycles * _interval_seconds(config, source.name))

    def set_workloads(self, rows: list[dict[str, Any]]) -> None:
        """Replace the workload gauges with these `current` rows (a vanished cell drops out)."""
        gauges = (self.workload_open, self.workload_opened, self.workload_closed, self.workload_age)
        for gauge in gauges:
            gauge.clear()
        for row in rows:
            labels = (row["capability"], row["practice"], row["team"])
            self.workload_open.labels(*labels).set(row["open"])
            self.workload_opened.labels(*labels).set(row["opened"])
            self.workload_closed.labels(*labels).set(row["closed"])
            if row["median_age_days"] is not None:
                self.workload_age.labels(*labels).set(row["median_age_days"])


def _trigger(config: BridgeConfig, source: str) -> BaseTrigger:
    schedule = config.schedule_for(source)
    if schedule.cron:
        return CronTrigger.from_crontab(schedule.cron, timezone=UTC)
    interval = schedule.interval_seconds or 900
    # a little jitter: daemons sharing one database then take turns instead of the first
    # one started winning every round
    return IntervalTrigger(seconds=interval, timezone=UTC, jitter=max(1, interval // 10))


class MappingSet:
    """A configuration with every mapping and policy file it names, compiled and checked
    together: the unit the daemon runs with and replaces as a whole."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self.compiled: dict[str, CompiledMapping] = {s.name: compiled_for(s) for s in config.sources}
        roles = {r for c in self.compiled.values() for r in c.roles}
        self.policies: dict[str, Policy] = {p: load_policy(p, roles) for p in config.policy_files()}


def load_mapping_set(path: Path) -> MappingSet:
    """Load the configuration at `path` and everything it names; ConfigError with every
    problem found otherwise."""
    return MappingSet(load_config(path))


def _interval_seconds(config: BridgeConfig, source: str) -> int:
    """A source's pull interval; for a cron schedule, the gap between its next two runs."""
    schedule = config.schedule_for(source)
    if not schedule.cron:
        return schedule.interval_seconds or 900
    trigger = CronTrigger.from_crontab(schedule.cron, timezone=UTC)
    now = datetime.now(UTC)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first) if first else None
    if first is None or second is None:
        return 86400
    return max(60, int((second - first).total_seconds()))


class _QuietHandler(WSGIRequestHandler):
    """No access log line per scrape: a healthy daemon logs its own work only."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _watched_files(config: BridgeConfig) -> dict[Path, float]:
    paths = [config.path] if config.path else []
    paths += [Path(m) for s in config.sources for m in s.mappings]
    paths += [Path(p) for p in config.policy_files()]
    return {p: _mtime(p) for p in paths if p is not None}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


class Daemon:

    def __init__(self, config: BridgeConfig, health_port: int | None = None,
                 mapping_set: MappingSet | None = None, share: bool | None = None) -> None:
        self.set = mapping_set or MappingSet(config)
        self.config = config
        self.health_port = health_port if health_port is not None else config.daemon.health_port
        self.stopping = threading.Event()
        self.metrics = Metrics()
        self.notifier = Notifier()
        self.store: Store | None = None
        self.scheduler: BackgroundScheduler | None = None
        self._watched = _watched_files(config)
        self._pending: dict[Path, float] | None = None  # changed files, waiting to settle
        self._reload_requested = threading.Event()
        self._http: BaseWSGIServer | None = None
        self._board: BaseWSGIServer | None = None
        self._board_pages: Board | None = None  # its sources follow a reload
        # per source: the last successful pull (seeded from the store) and the last error
        self.last_success: dict[str, datetime] = {}
        self.last_error: dict[str, str] = {}
        # sharing the sources with other daemons: by default on PostgreSQL, the store
        # daemons on several machines share (SQLite is one machine's file)
        self.share = share
        self.lease_seconds = float(config.daemon.member_lease_seconds)
        self.heartbeat_seconds = min(HEARTBEAT_SECONDS, self.lease_seconds / 4)
        self.member_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.members: list[str] = [self.member_id]
        self.started_at = datetime.now(UTC)
        self._handover_tries: dict[str, int] = {}
        self._heartbeat_stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def run(self) -> int:
        # daemons sharing one database may start together: one creates or upgrades it, the
        # others wait; an older schema is upgraded only when the operator allowed it
        self.store = open_store(self.config.state,
                                create_only=not self.config.daemon.upgrade_store)
        if self.share is None:
            self.share = self.store.dialect == "postgresql"
        if self.share:
            self._join()
        self.metrics.add_sources(s.name for s in self.config.sources)
        self.metrics.set_staleness(self.config)
        self._seed_last_success()
        grace = self.config.daemon.schedule.misfire_grace_seconds
        self.scheduler = BackgroundScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": grace})
        self._schedule_jobs()
        self.scheduler.add_job(self.reload_if_changed, IntervalTrigger(seconds=RELOAD_POLL_SECONDS),
                               id="reload", name="reload configuration")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_reload_signal)
        if self.health_port:
            self._start_http(self.config.daemon.health_host, self.health_port)
        if self.config.web.enabled:
            self._start_board()
        self.scheduler.start()
        log.info("daemon started: %d source(s)", len(self.config.sources))
        self.notifier.ready(f"running {len(self.config.sources)} source(s)")
        tick = min(0.5, self.notifier.watchdog_interval or 0.5)
        while not self.stopping.is_set():
            # the watchdog hears from this loop only while the scheduler runs
            if self.scheduler.running:
                self.notifier.ping_watchdog()
            self.stopping.wait(tick)
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                self.reload(reason="SIGHUP")
        self.notifier.stopping()
        log.info("stopping: finishing the current unit of work")
        self.scheduler.shutdown(wait=True)
        self._leave()
        for server in (self._http, self._board):
            if server is not None:
                server.shutdown()
        self.store.close()
        log.info("stopped cleanly")
        return 0

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.stopping.set()

    def _on_reload_signal(self, signum: int, _frame: Any) -> None:
        self._reload_requested.set()  # the main loop reloads: a handler does no real work

    def _schedule_jobs(self) -> None:
        assert self.scheduler is not None
        for job in self.scheduler.get_jobs():
            if job.id != "reload":
                job.remove()
        now = datetime.now(UTC)
        for source in self.config.sources:
            self.scheduler.add_job(self.pull_job, _trigger(self.config, source.name), args=[source.name],
                                   misfire_grace_time=self.config.schedule_for(source.name).misfire_grace_seconds,
                                   id=f"pull:{source.name}", name=f"pull {source.name}",
                                   next_run_time=now)
        if self.config.push is not None:
            self.scheduler.add_job(self.push_job, IntervalTrigger(
                seconds=self.config.daemon.push_interval_seconds, timezone=UTC),
                id="push", name="deliver pushes")

    # -- jobs ------------------------------------------------------------------------------

    def pull_job(self, source_name: str) -> None:
        if self.stopping.is_set() or self.store is None:
            return
        config = self.config
        try:
            config.source(source_name)
        except ConfigError:
            return  # removed by a reload
        dealt_here = self.owns(source_name)
        if not dealt_here and not self._overdue(source_name):
            log.debug("%s: dealt to another daemon", source_name, extra={"source": source_name})
            return
        started = time.monotonic()

        def should_stop() -> bool:
            # a source dealt away mid-pull is handed over at the next page boundary
            return self.stopping.is_set() or (dealt_here and not self.owns(source_name))

        engine = Engine(config, self.store, should_stop=should_stop,
                        compiled=self.set.compiled, policies=self.set.policies)
        try:
            result = engine.run_cycle(source_name, push=False)
        except BridgeError as exc:
            self.metrics.failures.labels(source_name).inc()
            self.last_error[source_name] = str(exc)
            log.error("cycle for %s failed: %s", source_name, exc, extra={"source": source_name})
            return
        except Exception as exc:
            self.metrics.failures.labels(source_name).inc()
            self.last_error[source_name] = f"unexpected {type(exc).__name__}"
            # one line at default verbosity (the exception's type), the traceback with -v
            log.exception("cycle for %s failed unexpectedly", source_name,
                          extra={"source": source_name})
            return
        self._after_pull(source_name, result.sources)
        for outcome in result.sources:  # the engine logged the cycle's line
            self.metrics.records.labels(outcome.name).inc(outcome.pulled)
            self.metrics.quarantined.labels(outcome.name).inc(outcome.quarantined)
            if outcome.status == "ok":
                self.last_success[outcome.name] = datetime.now(UTC)
                self.last_error.pop(outcome.name, None)
                self.metrics.last_success.labels(outcome.name).set(time.time())
            elif outcome.status == "failed":
                self.last_error[outcome.name] = outcome.error or "failed"
                self.metrics.failures.labels(outcome.name).inc()
        self.metrics.cycle.labels(source_name).observe(time.monotonic() - started)
        self._refresh_gauges()

    def _after_pull(self, source_name: str, outcomes: Iterable[Any]) -> None:
        """A source dealt here that another daemon still pulls: try again shortly, while
        that one hands it over (a bounded number of times, then the schedule resumes)."""
        skipped = any(o.status == "skipped" for o in outcomes)
        if not (skipped and self.share and self.owns(source_name)):
            self._handover_tries.pop(source_name, None)
            return
        tries = self._handover_tries.get(source_name, 0) + 1
        self._handover_tries[source_name] = tries
        if tries <= HANDOVER_RETRIES:
            self._run_soon(source_name, HANDOVER_RETRY_SECONDS)
        else:
            self._handover_tries.pop(source_name, None)

    # -- sharing the sources ---------------------------------------------------------------

    def owns(self, source_name: str) -> bool:
        """Whether the deal over the live members gives `source_name` to this daemon."""
        if not self.share:
            return True
        dealt = members.deal((s.name for s in self.config.sources), self.members)
        return dealt.get(source_name) == self.member_id

    def dealt_sources(self) -> list[str]:
        return [s.name for s in self.config.sources if self.owns(s.name)]

    def _join(self) -> None:
        assert self.store is not None
        with self.store.engine.begin() as conn:
            members.join(conn, self.member_id)
        self._beat()
        self._heartbeat = threading.Thread(target=self._heartbeat_loop, name="heartbeat",
                                           daemon=True)
        self._heartbeat.start()

    def _leave(self) -> None:
        if self._heartbeat is None or self.store is None:
            return
        self._heartbeat_stop.set()
        self._heartbeat.join(timeout=self.heartbeat_seconds + 10)
        try:
            with self.store.engine.begin() as conn:
                members.leave(conn, self.member_id)
        except Exception as exc:  # its row expires with the lease anyway
            log.warning("could not leave the daemons sharing the store: %s", type(exc).__name__)

    def _heartbeat_loop(self) -> None:
        # its own thread: pulls filling the scheduler's workers must not delay a heartbeat
        joined = time.monotonic()
        while not self._heartbeat_stop.wait(
                min(JOINING_HEARTBEAT_SECONDS, self.heartbeat_seconds)
                if time.monotonic() - joined < JOINING_SECONDS else self.heartbeat_seconds):
            self._beat()

    def _beat(self) -> None:
        assert self.store is not None
        try:
            with self.store.engine.begin() as conn:
                live = members.beat(conn, self.member_id, self.lease_seconds)
        except Exception as exc:
            # the last view stays; the others deal this daemon out once its lease expires,
            # and the locks keep a source to one pull meanwhile
            log.warning("daemon heartbeat failed: %s", type(exc).__name__)
            return
        if live == self.members and self._heartbeat is not None:
            return
        before = set(self.dealt_sources())
        self.members = live
        dealt = self.dealt_sources()
        self.metrics.members.set(len(live))
        self.metrics.dealt.set(len(dealt))
        log.info("%d daemon(s) share the store; this one pulls %s", len(live),
                 ", ".join(dealt) or "no source", extra={"daemons": len(live), "dealt": dealt})
        for name in dealt:
            if name not in before:
                self._run_soon(name)  # a dead or departed daemon's source: now, not next round

    def _run_soon(self, source_name: str, delay: float = 0.0) -> None:
        scheduler = self.scheduler
        if scheduler is None or not scheduler.running or self.stopping.is_set():
            return
        job = scheduler.get_job(f"pull:{source_name}")
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC) + timedelta(seconds=delay))

    def _overdue(self, source_name: str) -> bool:
        """No daemon started pulling `source_name` for OVERDUE_INTERVALS of its intervals
        (counted from this daemon's start at the earliest)."""
        assert self.store is not None
        with self.store.engine.connect() as conn:
            last = conn.execute(select(func.max(runs.c.started_at))
                                .where(runs.c.source == source_name)).scalar()
        since = self.started_at if last is None else max(_as_utc(last), self.started_at)
        allowed = OVERDUE_INTERVALS * _interval_seconds(self.config, source_name) + self.lease_seconds
        overdue = (datetime.now(UTC) - since).total_seconds() > allowed
        if overdue:
            log.warning("%s: no daemon pulled it for %d s; pulling it here", source_name,
                        int(allowed), extra={"source": source_name})
        return overdue

    def push_job(self) -> None:
        if self.stopping.is_set() or self.store is None:
            return
        started = time.monotonic()
        result = deliver_due(self.store, self.config, should_stop=self.stopping.is_set)
        if result.skipped:
            log.info("push: skipped, another smo-bridge process is delivering")
            return
        seconds = time.monotonic() - started
        self.metrics.push_seconds.observe(seconds)
        if result.delivered or result.retrying or result.failed:  # an idle round says nothing
            log.info("push: %d delivered, %d retrying, %d failed in %.1f s", result.delivered,
                     result.retrying, result.failed, seconds,
                     extra={"delivered": result.delivered, "retrying": result.retrying,
                            "failed": result.failed, "push_seconds": round(seconds, 3)})
        self.metrics.pushes.labels("delivered").inc(result.delivered)
        self.metrics.pushes.labels("retrying").inc(result.retrying)
        self.metrics.pushes.labels("failed").inc(result.failed)
        self._refresh_gauges(workloads=False)  # a push changes no ticket

    def _refresh_gauges(self, workloads: bool = True) -> None:
        if self.store is None:
            return
        with self.store.engine.connect() as conn:
            for status in ("pending", "failed", "delivered"):
                count = conn.execute(select(func.count()).select_from(outbox)
                                     .where(outbox.c.status == status)).scalar_one()
                self.metrics.outbox.labels(status).set(count)
            self.metrics.gates.clear()
            for status, count in conn.execute(select(transitions.c.gate_status, func.count())
                                              .group_by(transitions.c.gate_status)):
                self.metrics.gates.labels(status).set(count)
            stored = current_workloads(conn) if workloads else None
            if workloads and stored is None:  # no derivation stored them yet
                from bridge.derive.workloads import DIMENSIONS, current, load_ticket_columns

                stored = (datetime.now(UTC),
                          current(load_ticket_columns(conn), DIMENSIONS, datetime.now(UTC)))
        if stored is not None:
            self.metrics.set_workloads(stored[1])

    def _seed_last_success(self) -> None:
        """Last successes survive a restart: read from the runs the store recorded."""
        assert self.store is not None
        with self.store.engine.connect() as conn:
            for source, finished in conn.execute(
                    select(runs.c.source, func.max(runs.c.finished_at))
                    .where(runs.c.status == "ok", runs.c.source.is_not(None))
                    .group_by(runs.c.source)):
                if finished is None:
                    continue
                at = _as_utc(finished)
                if source in self.last_success and self.last_success[source] >= at:
                    continue
                self.last_success[source] = at
                self.metrics.last_success.labels(source).set(at.timestamp())

    def readiness(self, now: datetime | None = None) -> tuple[bool, dict[str, Any]]:
        """Ready when the store answers and every source pulled successfully within its
        allowed staleness (`daemon.stale_after_cycles` of its intervals)."""
        now = now or datetime.now(UTC)
        body: dict[str, Any] = {"store": "ok", "sources": {}}
        ready = True
        try:
            assert self.store is not None
            with self.store.engine.connect() as conn:
                conn.execute(select(1))
            if self.share:
                self._seed_last_success()  # the other daemons' pulls count too
        except Exception as exc:
            body["store"] = f"unavailable: {type(exc).__name__}"
            ready = False
        for source in self.config.sources:
            allowed = self.config.daemon.stale_after_cycles * _interval_seconds(self.config,
                                                                               source.name)
            last = self.last_success.get(source.name)
            age = (now - last).total_seconds() if last else None
            fresh = age is not None and age <= allowed
            ready = ready and fresh
            body["sources"][source.name] = {
                "ready": fresh, "last_success": last.isoformat() if last else None,
                "age_seconds": round(age) if age is not None else None,
                "allowed_seconds": allowed, "last_error": self.last_error.get(source.name)}
        body["ready"] = ready
        return ready, body

    # -- reload ----------------------------------------------------------------------------

    def reload_if_changed(self) -> bool:
        """The file watch: reload once changed files have stayed unchanged for a poll, so a
        file still being written is not read half-saved."""
        current = {p: _mtime(p) for p in self._watched}
        if current == self._watched:
            self._pending = None
            return False
        if self._pending != current:
            self._pending = current  # changed since the last poll: wait for it to settle
            return False
        self._pending = None
        self._watched = current
        return self.reload(reason="files changed")

    def reload(self, reason: str) -> bool:
        """Load and check the whole set again; swap it in only when all of it is valid."""
        self.notifier.reloading()
        try:
            return self._reload(reason)
        finally:
            self.notifier.ready(f"running {len(self.config.sources)} source(s)")

    def _reload(self, reason: str) -> bool:
        path = self.config.path
        if path is None:
            return False
        try:
            new = load_mapping_set(path)
        except ConfigError as exc:
            self.metrics.reloads.labels("refused").inc()
            self.metrics.config_ok.set(0)
            log.error("refused the changed configuration (%s), keeping the last good one: %s",
                      reason, "; ".join(exc.lines()))
            return False
        if new.config.state != self.config.state:
            self.metrics.reloads.labels("refused").inc()
            self.metrics.config_ok.set(0)
            log.error("refused the changed configuration: `state` cannot change while running")
            return False
        redact.add(new.config.secrets())
        self.set = new
        self.config = new.config
        self._watched = _watched_files(new.config)
        if self.scheduler is not None:
            self._schedule_jobs()
        self.metrics.add_sources(s.name for s in new.config.sources)
        self.metrics.set_staleness(new.config)
        if self._board_pages is not None:  # evidence links follow the sources' addresses
            self._board_pages.sources = _source_urls(new.config)
        self.metrics.reloads.labels("applied").inc()
        self.metrics.config_ok.set(1)
        log.info("configuration reloaded (%s): %d source(s)", reason, len(new.config.sources))
        return True

    # -- health and metrics ----------------------------------------------------------------

    def _start_http(self, host: str, port: int) -> None:
        def app(environ: Any, start_response: Any) -> Any:
            request = Request(environ)
            if request.path == "/healthz":
                healthy = self.scheduler is not None and self.scheduler.running
                response = Response("ok\n" if healthy else "stopping\n", status=200 if healthy else 503,
                                    mimetype="text/plain")
            elif request.path == "/readyz":
                ready, body = self.readiness()
                response = Response(json.dumps(body, indent=2) + "\n", status=200 if ready else 503,
                                    mimetype="application/json")
            elif request.path == "/metrics":
                response = Response(generate_latest(self.metrics.registry), mimetype=CONTENT_TYPE_LATEST)
            else:
                response = Response("not found\n", status=404, mimetype="text/plain")
            return response(environ, start_response)

        # loopback unless configured: metrics are not for the network at large
        self._http = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        threading.Thread(target=self._http.serve_forever, name="health", daemon=True).start()
        log.info("health and metrics on http://%s:%d/healthz, /readyz and /metrics", host, port)

    def _start_board(self) -> None:
        """The read-only board (bridge.web) on its own port, over the daemon's store."""
        from zoneinfo import ZoneInfo

        from bridge.web.app import BasicAuth, board_app, make_board_server
        from bridge.web.board import Board

        web, config = self.config.web, self.config
        assert self.store is not None
        auth = (BasicAuth(web.auth.username, web.auth.password.get_secret_value())
                if web.auth else None)
        board = Board(self.store, _source_urls(config), ZoneInfo(config.reporting.timezone))
        self._board_pages = board
        self._board = make_board_server(board_app(board, auth), web.host, web.port)
        threading.Thread(target=self._board.serve_forever, name="board", daemon=True).start()
        log.info("board on http://%s:%d/%s", web.host, self._board.port,
                 " (basic auth)" if auth else "")


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite aggregates


def _source_urls(config: BridgeConfig) -> dict[str, tuple[str, str]]:
    """Each source's kind and base URL: the board's links into the tools."""
    return {s.name: (s.kind, s.url) for s in config.sources}
