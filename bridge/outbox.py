"""Delivering planned pushes: idempotent calls, backoff, dead letters.

Each push is committed as delivered right after its remote call. A crash between the
two leaves it pending; the next attempt finds the earlier write through the
correlation key (the connector looks before it creates), so nothing is written twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from bridge.config import BridgeConfig
from bridge.errors import BridgeError, TransientError
from bridge.faults import crash_point
from bridge.logs import redact
from bridge.models import KnowledgeArticle
from bridge.store import Store
from bridge.store import repository as repo
from bridge.store.locks import job_lock
from bridge.store.schema import outbox
from connectors.base import Connector, PushResult, connector_for

log = logging.getLogger("bridge.outbox")

MAX_ATTEMPTS = 6
BASE_BACKOFF = 30.0
MAX_BACKOFF = 3600.0


@dataclass
class DeliveryResult:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: bool = False
    #: each delivered push: its key, operation, target, outcome (created/updated/unchanged), remote id
    outcomes: list[dict[str, Any]] = field(default_factory=list)


def pending_pushes(conn: Connection, config: BridgeConfig) -> int:
    """Pushes still waiting for delivery to a configured target (due now or backing off)."""
    if config.push is None:
        return 0
    targets = set(config.push.gate_status)
    if config.push.knowledge:
        targets.add(config.push.knowledge)
    if not targets:
        return 0
    return int(conn.execute(select(func.count()).select_from(outbox).where(
        outbox.c.status == "pending", outbox.c.target.in_(sorted(targets)))).scalar_one())


def backoff(attempts: int) -> float:
    return min(BASE_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def deliver_due(store: Store, config: BridgeConfig, limit: int = 500,
                should_stop: Callable[[], bool] | None = None,
                progress: Callable[[int, int], None] | None = None) -> DeliveryResult:
    """Deliver every due push once; failures back off, then park as failed. A stop request
    is honoured between pushes: the rest stay pending for the next round."""
    result = DeliveryResult()
    with job_lock(store, "push") as held:
        if not held:
            result.skipped = True
            return result
        with store.engine.connect() as conn:
            due = repo.due_pushes(conn, limit=limit)
        connectors: dict[str, Connector] = {}
        try:
            for done, push in enumerate(due, 1):
                if should_stop is not None and should_stop():
                    break
                with store.engine.connect() as conn:
                    if repo.older_pending(conn, push):
                        continue  # goes after the older version's retry, never before it
                _deliver_one(store, config, connectors, push, result)
                if progress is not None:
                    progress(done, len(due))
        finally:
            for connector in connectors.values():
                connector.close()
    return result


def _deliver_one(store: Store, config: BridgeConfig, connectors: dict[str, Connector],
                 push: dict[str, Any], result: DeliveryResult) -> None:
    target = push["target"]
    try:
        if target not in connectors:
            source = config.source(target)
            connectors[target] = connector_for(source)
        outcome = _call(connectors[target], push["operation"], push["payload"], push["idempotency_key"])
    except TransientError as exc:
        attempts = push["attempts"] + 1
        retry_in = backoff(attempts) if attempts < MAX_ATTEMPTS else None
        _record_failure(store, push, str(exc), retry_in, result)
        return
    except BridgeError as exc:  # configuration, permission, bad data: retrying will not help
        _record_failure(store, push, str(exc), None, result)
        return
    except Exception as exc:
        log.exception("push %s failed unexpectedly", push["idempotency_key"])
        _record_failure(store, push, f"internal error: {type(exc).__name__}: {exc}", None, result)
        return
    crash_point("push")
    with store.engine.begin() as conn:
        repo.mark_delivered(conn, push["id"], outcome.remote_id)
    crash_point("delivered")
    result.delivered += 1
    result.outcomes.append({"push": push["idempotency_key"], "operation": push["operation"], "target": target,
                            "outcome": outcome.outcome, "remote_id": outcome.remote_id})
    log.info("pushed %s to %s: %s", push["operation"], target, outcome.outcome,
             extra={"push": push["idempotency_key"], "remote_id": outcome.remote_id})


def _record_failure(store: Store, push: dict[str, Any], error: str, retry_in: float | None,
                    result: DeliveryResult) -> None:
    error = redact(error)  # a server may echo a token in its error
    with store.engine.begin() as conn:
        repo.mark_attempt_failed(conn, push["id"], error, retry_in=retry_in)
    if retry_in is None:
        result.failed += 1
        log.error("push %s to %s failed, parked: %s", push["operation"], push["target"], error)
    else:
        result.retrying += 1
        log.warning("push %s to %s failed, retry in %.0f s: %s", push["operation"], push["target"],
                    retry_in, error)


def _call(connector: Connector, operation: str, payload: dict[str, Any], key: str) -> PushResult:
    if operation == "gate_status":
        push = getattr(connector, "push_gate_status", None)
        if push is None:
            raise BridgeError(f"source {connector.name!r} ({connector.kind}) cannot receive gate status")
        result: PushResult = push(payload["remote"], payload["status"], key, payload.get("comment"))
        return result
    if operation == "article":
        push = getattr(connector, "push_article", None)
        if push is None:
            raise BridgeError(f"source {connector.name!r} ({connector.kind}) has no knowledge base")
        article = KnowledgeArticle.model_validate(payload["article"])
        result = push(article, payload["correlation"])
        return result
    raise BridgeError(f"unknown push operation {operation!r}")
