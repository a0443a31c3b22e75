"""Fault injection, per service: rate limiting, 5xx, latency, truncated bodies, dropped sockets.

Wraps a service's WSGI app. Every decision is drawn from one seeded RNG in arrival order,
so a client that sends requests one after another sees the same faults for the same seed.

`edit_rate` stands for other users: before a request, one record is edited (Jira: an
issue's `updated` becomes now), as happens between the pages of a long read.

Faults apply to authenticated requests only, as the vendors count rate limits per user: a
request without valid credentials gets its 401 (or Jira's anonymous serverInfo) at once,
spends no rate budget and draws nothing from the RNG. Latency applies to every request.
"""

from __future__ import annotations

import errno
import math
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ERROR_STATUSES = (500, 502, 503, 504)
#: how a storm's faulted requests split: 5xx answers, dropped connections, truncated bodies
STORM_MIX = {"error_rate": 0.5, "drop_rate": 0.25, "malformed_rate": 0.25}


@dataclass(frozen=True)
class FaultSettings:
    rate_limit: int | None = None  # requests allowed per window; None = unlimited
    rate_window_s: float = 60.0
    error_rate: float = 0.0
    latency_ms: int = 0
    malformed_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0
    # share of requests before which another user edits one record (Jira: an issue's
    # `updated` becomes now, so it moves to the end of an `ORDER BY updated` read)
    edit_rate: float = 0.0


@dataclass(frozen=True)
class RateLimit:
    limit: int
    remaining: int
    retry_after_s: int
    reset_epoch_s: float


class VendorFaults:
    """What a vendor sends when it is overloaded or failing; one per emulated API."""

    def rate_limited(self, limit: RateLimit) -> Response:
        raise NotImplementedError

    def server_error(self, status: int) -> Response:
        raise NotImplementedError

    def budget_headers(self, limit: RateLimit) -> dict[str, str]:
        return {}

    def authenticated(self, environ: WSGIEnvironment) -> bool:
        """Whether the request carries credentials the service accepts."""
        raise NotImplementedError

    def edit(self, pick: int) -> bool:
        """Let another user edit the record chosen by `pick` (any non-negative int);
        False when the service has nothing to edit."""
        return False


class Faults:
    """The fault switches of one service. Thread-safe; `configure` starts a fresh sequence."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.settings = FaultSettings()
        self._rng = random.Random(0)
        self._window_start = 0.0
        self._window_count = 0
        self.injected: Counter[str] = Counter()

    def configure(
        self,
        rate_limit: int | None = None,
        error_rate: float = 0.0,
        latency_ms: int = 0,
        malformed_rate: float = 0.0,
        drop_rate: float = 0.0,
        seed: int = 0,
        rate_window_s: float = 60.0,
        edit_rate: float = 0.0,
    ) -> None:
        for name, rate in (
            ("error_rate", error_rate),
            ("malformed_rate", malformed_rate),
            ("drop_rate", drop_rate),
            ("edit_rate", edit_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        if rate_limit is not None and rate_limit < 0:
            raise ValueError("rate_limit must be >= 0")
        with self._lock:
            self.settings = FaultSettings(
                rate_limit,
                rate_window_s,
                error_rate,
                latency_ms,
                malformed_rate,
                drop_rate,
                seed,
                edit_rate,
            )
            self._restart()

    def storm(self, share: float = 0.3, seed: int = 0, **settings: Any) -> None:
        """A fault storm: about `share` of authenticated requests fail, half with a 5xx,
        a quarter with a dropped connection, a quarter with a truncated 200 body; other
        settings (rate_limit, latency_ms, edit_rate, ...) as `configure` takes them."""
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"storm share must be between 0 and 1, not {share}")
        rates = {name: share * part for name, part in STORM_MIX.items()}
        self.configure(seed=seed, **{**rates, **settings})

    def reset(self) -> None:
        """No faults any more; counters cleared."""
        with self._lock:
            self.settings = FaultSettings()
            self._restart()

    def _restart(self) -> None:
        self._rng = random.Random(self.settings.seed)
        self._window_start = 0.0
        self._window_count = 0
        self.injected = Counter()

    def draw_edit(self) -> int | None:
        """A pick for `VendorFaults.edit` when this request comes after someone's edit.
        Draws from the RNG only when `edit_rate` is set, so other sequences stay as they were."""
        with self._lock:
            if self.settings.edit_rate <= 0 or self._rng.random() >= self.settings.edit_rate:
                return None
            return self._rng.getrandbits(31)

    def decide(self) -> tuple[str, RateLimit | None, int]:
        """(action, budget, status): action is ok, rate_limited, error, drop or malformed."""
        with self._lock:
            s = self.settings
            budget = None
            if s.rate_limit is not None:
                now = time.time()
                if now - self._window_start >= s.rate_window_s:
                    self._window_start, self._window_count = now, 0
                self._window_count += 1
                reset = self._window_start + s.rate_window_s
                remaining = max(0, s.rate_limit - self._window_count)
                budget = RateLimit(s.rate_limit, remaining, max(1, math.ceil(reset - now)), reset)
                if self._window_count > s.rate_limit:
                    self.injected["rate_limited"] += 1
                    return "rate_limited", budget, 429
            roll = self._rng.random()
            if roll < s.drop_rate:
                action, status = "drop", 0
            elif roll < s.drop_rate + s.error_rate:
                action, status = "error", self._rng.choice(ERROR_STATUSES)
            elif roll < s.drop_rate + s.error_rate + s.malformed_rate:
                action, status = "malformed", 200
            else:
                return "ok", budget, 200
            self.injected[action] += 1
            return action, budget, status


class FaultMiddleware:
    """The WSGI wrapper that applies a service's `Faults` before its app sees a request."""

    def __init__(self, app: WSGIApplication, faults: Faults, vendor: VendorFaults) -> None:
        self.app = app
        self.faults = faults
        self.vendor = vendor

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        latency = self.faults.settings.latency_ms
        if latency:
            time.sleep(latency / 1000)
        if not self.vendor.authenticated(environ):  # the app answers 401; no fault, no budget
            return self.app(environ, start_response)
        pick = self.faults.draw_edit()
        if pick is not None and self.vendor.edit(pick):
            self.faults.injected["edit"] += 1
        action, budget, status = self.faults.decide()
        if action == "rate_limited" and budget is not None:
            return self.vendor.rate_limited(budget)(environ, start_response)
        if action == "drop":
            sock: Any = environ.get("sandbox.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError(errno.ECONNABORTED, "sandbox dropped the connection")
        if action == "error":
            return self.vendor.server_error(status)(environ, start_response)
        extra = self.vendor.budget_headers(budget) if budget else {}
        if action == "malformed":
            return self._truncated(environ, start_response, extra)
        if not extra:
            return self.app(environ, start_response)

        def with_budget(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            return start_response(status, headers + list(extra.items()), exc)

        return self.app(environ, with_budget)

    def _truncated(
        self, environ: WSGIEnvironment, start_response: StartResponse, extra: dict[str, str]
    ) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(
            status: str, headers: list[tuple[str, str]], exc: Any = None
        ) -> Callable[[bytes], object]:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        cut = body[: max(1, len(body) // 2)] if body else b"{"
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response("200 OK", [*headers, ("Content-Length", str(len(cut))), *extra.items()])
        return [cut]
