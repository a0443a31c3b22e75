"""The one HTTP policy: timeouts, one retry loop, one table from failure to action and kind.

Both vendor libraries talk through a `requests.Session`; `mount_policy` mounts a
`PolicyAdapter` on it, so every request of a source, whichever library sends it, gets
the same timeouts, the same retry loop, the same concurrency limit and the same
redacted request log. The libraries' own retry loops are switched off (see jira.py).

After the loop gives up, `failure_from_response` / `failure_from_exception` turn what is
left into `SourceError` (fix the configuration) or `TransientError` (try again later).
"""

from __future__ import annotations

import enum
import json
import logging
import random
import ssl
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning
from urllib3.util.ssl_ import create_urllib3_context

from bridge.errors import BridgeError, PermissionDenied, SourceError, TransientError
from connectors.base import SourceConfig

if TYPE_CHECKING:
    from requests.adapters import _HostParams, _PoolKwargs


class Action(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    RATE_LIMITED = "rate-limited"  # retry, after the wait the server asked for
    FAIL = "fail"


class FailureKind(enum.Enum):
    NONE = "none"
    CONFIGURATION = "configuration"  # wrong URL, password, permission, query: never retried
    TRANSIENT = "transient"  # the source is busy or down: retried, then reported as such
    BUG = "bug"  # we sent something the API does not accept


@dataclass(frozen=True)
class Verdict:
    action: Action
    kind: FailureKind


_OK = Verdict(Action.OK, FailureKind.NONE)

#: The table. Statuses not listed: 2xx/3xx are OK, other 4xx a bug, other 5xx transient.
STATUS_TABLE: Mapping[int, Verdict] = {
    400: Verdict(Action.FAIL, FailureKind.CONFIGURATION),  # bad query: the vendor says why
    401: Verdict(Action.FAIL, FailureKind.CONFIGURATION),
    403: Verdict(Action.FAIL, FailureKind.CONFIGURATION),
    404: Verdict(Action.FAIL, FailureKind.CONFIGURATION),
    429: Verdict(Action.RATE_LIMITED, FailureKind.TRANSIENT),
    # Atlassian lists 5xx (overload, downtime) among what to retry with backoff; a 500 a
    # storm causes passes on the next attempt, a deterministic one costs a few bounded waits
    500: Verdict(Action.RETRY, FailureKind.TRANSIENT),
    502: Verdict(Action.RETRY, FailureKind.TRANSIENT),
    503: Verdict(Action.RETRY, FailureKind.TRANSIENT),
    504: Verdict(Action.RETRY, FailureKind.TRANSIENT),
}
MALFORMED_BODY = Verdict(Action.RETRY, FailureKind.TRANSIENT)  # a 2xx whose JSON does not parse
CONNECT_FAILED = Verdict(Action.RETRY, FailureKind.CONFIGURATION)  # refused, DNS: host unreachable
CONNECTION_LOST = Verdict(Action.RETRY, FailureKind.TRANSIENT)  # timeouts, resets
TLS_FAILED = Verdict(Action.FAIL, FailureKind.CONFIGURATION)  # a certificate never fixes itself
REDIRECT_REFUSED = Verdict(Action.FAIL, FailureKind.CONFIGURATION)


class CrossHostRedirect(requests.RequestException):
    """The server redirected to another host: its rows are not this source's, and the
    credentials must not follow them."""

    def __init__(self, origin: str, target: str, request: requests.PreparedRequest) -> None:
        self.origin, self.target = origin, target
        super().__init__(
            f"redirected from {origin} to another host, {target}", request=request
        )

#: A retried POST/PATCH may apply twice (PATCH appends work notes): retry those only when
#: the server surely did nothing.
_UNSAFE_METHODS = {"POST", "PATCH"}
_SAFE_FOR_UNSAFE = {429, 503}

_SECRET_PARAMS = {"access_token", "token", "password", "client_secret", "api_key", "apikey", "jwt"}


def verdict_for_status(status: int) -> Verdict:
    if status in STATUS_TABLE:
        return STATUS_TABLE[status]
    if status < 400:
        return _OK
    if status < 500:
        return Verdict(Action.FAIL, FailureKind.BUG)
    return Verdict(Action.FAIL, FailureKind.TRANSIENT)


def verdict_for_exception(exc: BaseException) -> Verdict:
    if isinstance(exc, CrossHostRedirect):
        return REDIRECT_REFUSED
    if isinstance(exc, requests.exceptions.SSLError):
        return TLS_FAILED
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return CONNECTION_LOST
    if isinstance(exc, requests.ConnectionError) and _never_connected(exc):
        return CONNECT_FAILED
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return CONNECTION_LOST
    return Verdict(Action.FAIL, FailureKind.BUG)


def _never_connected(exc: BaseException) -> bool:
    """Refused or unresolvable: the request never reached the server."""
    text = repr(exc)
    return any(
        marker in text
        for marker in (
            "NewConnectionError",
            "NameResolutionError",
            "Connection refused",
            "Name or service not known",
            "nodename nor servname",
        )
    )


def _may_retry(
    verdict: Verdict, method: str, status: int | None, exc: BaseException | None
) -> bool:
    if verdict.action not in (Action.RETRY, Action.RATE_LIMITED):
        return False
    if method.upper() not in _UNSAFE_METHODS:
        return True
    if status is not None:
        return status in _SAFE_FOR_UNSAFE
    return exc is not None and (
        isinstance(exc, requests.exceptions.ConnectTimeout) or _never_connected(exc)
    )


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The wait a response asks for: `Retry-After` (seconds or HTTP date), else
    `X-RateLimit-Reset` (epoch seconds or milliseconds, or an ISO 8601 instant)."""
    now = now or datetime.now(UTC)
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds())
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        reset = reset.strip()
        try:
            number = float(reset)
        except ValueError:
            try:
                instant = datetime.fromisoformat(reset.replace("Z", "+00:00"))
            except ValueError:
                return None
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=UTC)
            return max(0.0, (instant - now).total_seconds())
        if number > 1e12:  # epoch milliseconds
            number /= 1000.0
        if number > 1e9:  # epoch seconds
            return max(0.0, number - now.timestamp())
        return max(0.0, number)
    return None


def describe(method: str | None, url: str | None) -> str:
    """`GET /rest/api/2/search`: the request as error messages name it (no query, no host)."""
    path = urlsplit(url or "").path or "/"
    return f"{(method or 'GET').upper()} {path}"


def redact_url(url: str) -> str:
    """The URL with secret-looking query parameters masked, for logs."""
    parts = urlsplit(url)
    if not parts.query:
        return parts.path or "/"
    query = [
        (k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, True)
    ]
    return f"{parts.path}?{urlencode(query)}"


def pause(seconds: float) -> None:
    """The wait between two attempts (a test that counts waits replaces it)."""
    time.sleep(seconds)


class HttpPolicy:
    """One source's timeouts, retry budget and concurrency limit."""

    def __init__(self, config: SourceConfig, kind: str) -> None:
        self.source = config.name
        self.retry = config.retry
        self.timeout = (config.connect_timeout, config.timeout)
        self.verify = config.verify_tls
        self.max_concurrency = config.max_concurrency
        self.log = logging.getLogger(f"connectors.{kind}")
        self.host = (urlsplit(config.url).hostname or "").lower()
        self._slots = threading.BoundedSemaphore(config.max_concurrency)
        if not self.verify:
            _unverified_tls(self.source, self.log)

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            yield

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        ceiling = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)

    def wait_for(self, attempt: int, response: requests.Response | None) -> float | None:
        """Seconds to wait before the next attempt, None when the server asks for longer
        than the cap allows (the caller reports it as transient with its Retry-After)."""
        hint = retry_after_seconds(response.headers) if response is not None else None
        if hint is None:
            return self.backoff(attempt)
        if hint > self.retry.max_delay:
            return None
        return hint


_warned_unverified: set[str] = set()
_warned_lock = threading.Lock()


def _unverified_tls(source: str, log: logging.Logger) -> None:
    """One log line per source and process instead of urllib3's raw warning per request
    (two lines of stderr each, which break JSON logs)."""
    warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    with _warned_lock:
        if source in _warned_unverified:
            return
        _warned_unverified.add(source)
    log.warning(
        "%s: TLS certificates are not verified (verify_tls: false); "
        "anyone on the path can read and change this source's traffic",
        source,
    )


def _redirect_target(request: requests.PreparedRequest, response: requests.Response) -> str | None:
    """The host a redirect points to, when it is one."""
    if not response.is_redirect:
        return None
    location = urljoin(request.url or "", response.headers.get("Location", ""))
    return (urlsplit(location).hostname or "").lower()


class PolicyAdapter(HTTPAdapter):
    """An HTTPAdapter that applies the source's HttpPolicy to every request it sends."""

    def __init__(self, policy: HttpPolicy) -> None:
        self.policy = policy
        size = max(10, policy.max_concurrency)
        super().__init__(pool_connections=size, pool_maxsize=size)
        self._contexts: dict[str, ssl.SSLContext] = {}  # CA bundle path -> its context
        self._contexts_lock = threading.Lock()

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str,
        cert: str | tuple[str, str] | None = None,
    ) -> tuple[_HostParams, _PoolKwargs]:
        """A CA bundle named by path (`REQUESTS_CA_BUNDLE`, a private CA) gets one TLS
        context, made once, as requests does for its default bundle: otherwise urllib3 makes a
        context and loads the bundle again for every connection, and a server that closes
        after each response makes every request a new connection."""
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        bundle = pool.get("ca_certs") or pool.get("ca_cert_dir")
        if host.get("scheme") != "https" or not isinstance(verify, str) or not bundle:
            return host, pool
        with self._contexts_lock:
            context = self._contexts.get(bundle)
            if context is None:
                context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
                if "ca_certs" in pool:
                    context.load_verify_locations(cafile=bundle)
                else:
                    context.load_verify_locations(capath=bundle)
                self._contexts[bundle] = context
        pool.pop("ca_certs", None)
        pool.pop("ca_cert_dir", None)
        pool["ssl_context"] = context
        return host, pool

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        policy = self.policy
        method = (request.method or "GET").upper()
        where = f"{method} {redact_url(request.url or '')}"
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                with policy.slot():
                    response = super().send(
                        request,
                        stream=stream,
                        timeout=policy.timeout,
                        verify=verify if policy.verify else False,
                        cert=cert,
                        proxies=proxies,
                    )
            except requests.RequestException as exc:
                verdict = verdict_for_exception(exc)
                if attempt >= policy.retry.max_attempts or not _may_retry(
                    verdict, method, None, exc
                ):
                    policy.log.warning(
                        "%s: %s (attempt %d, giving up)", where, type(exc).__name__, attempt
                    )
                    raise
                backoff = policy.backoff(attempt)
                policy.log.warning(
                    "%s: %s, retry %d in %.2fs", where, type(exc).__name__, attempt, backoff
                )
                pause(backoff)
                continue
            elapsed = time.monotonic() - started
            target = _redirect_target(request, response)
            if target is not None and target != policy.host:
                # refused before the session follows it: another host's rows are not this
                # source's, and the credentials must not travel there
                response.close()
                policy.log.warning(
                    "%s -> %d: redirect to %s refused", where, response.status_code, target
                )
                raise CrossHostRedirect(policy.host, target, request)
            verdict = verdict_for_status(response.status_code)
            if verdict.action is Action.OK and not stream and _malformed_json(response, method):
                verdict = MALFORMED_BODY
            policy.log.debug("%s -> %d (%.3fs)", where, response.status_code, elapsed)
            if attempt >= policy.retry.max_attempts or not _may_retry(
                verdict, method, response.status_code, None
            ):
                return response
            delay = policy.wait_for(attempt, response)
            if delay is None:
                return response
            label = verdict.action.value if verdict is not MALFORMED_BODY else "malformed body"
            policy.log.warning(
                "%s -> %d %s, retry %d in %.2fs", where, response.status_code, label, attempt, delay
            )
            response.close()
            pause(delay)


def _malformed_json(response: requests.Response, method: str) -> bool:
    """A GET that promised JSON and sent something else (truncated, an HTML error page).
    A body that parses is kept parsed: the library reading the response gets that value
    instead of parsing megabytes a second time."""
    if method != "GET" or not response.content:
        return False
    if "json" not in response.headers.get("Content-Type", "").lower():
        return False
    try:
        parsed = orjson.loads(response.content)  # several times faster than json: pages are megabytes
    except orjson.JSONDecodeError:
        # orjson refuses some valid JSON: half a surrogate pair escaped, a number past a double
        try:
            parsed = json.loads(response.content)
        except ValueError:
            return True
    if (response.encoding or "utf-8").lower().replace("-", "") == "utf8":  # what orjson read it as
        response.__class__ = ParsedResponse
        response.__dict__[_PARSED] = parsed
    return False


_PARSED = "_smo_parsed_json"


class ParsedResponse(requests.Response):
    """A response whose JSON body was parsed when the policy checked it: `json()` returns
    that value the first time (its caller owns it), then parses afresh as requests does."""

    def json(self, **kwargs: Any) -> Any:
        parsed = self.__dict__.pop(_PARSED, _PARSED)
        if parsed is _PARSED or kwargs:
            return super().json(**kwargs)
        return parsed


def mount_policy(session: requests.Session, policy: HttpPolicy) -> requests.Session:
    adapter = PolicyAdapter(policy)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = policy.verify
    return session


# -- what is left after the loop gave up ------------------------------------------------------


def failure_from_response(
    source: str,
    response: requests.Response,
    vendor_message: str | None = None,
    request: str | None = None,
) -> BridgeError:
    """The typed error for a failed response; `vendor_message` is the API's own words."""
    status = response.status_code
    request = request or describe(
        response.request.method if response.request else None, response.url
    )
    detail = f": {vendor_message}" if vendor_message else ""
    verdict = verdict_for_status(status)
    if status == 401:
        return SourceError(
            source, "authentication failed: check the username and password/token", request=request
        )
    if status == 403:
        return PermissionDenied(source, f"permission denied (403){detail}", request=request)
    if status == 404:
        return SourceError(
            source, f"not found (404): check the URL and names{detail}", request=request
        )
    if status == 400:
        return SourceError(source, f"request refused (400){detail}", request=request)
    if verdict.kind is FailureKind.TRANSIENT or status >= 500 or status == 429:
        wait = retry_after_seconds(response.headers)
        what = "rate limited (429)" if status == 429 else f"server error ({status})"
        return TransientError(
            f"{what}, retries exhausted{detail} ({request})", source=source, retry_after=wait
        )
    if verdict.action is Action.OK:
        return TransientError(f"malformed response body ({request})", source=source)
    return SourceError(source, f"unexpected response ({status}){detail}", request=request)


def _tls_reason(exc: BaseException) -> str:
    """The certificate problem in OpenSSL's words, e.g. `self-signed certificate`."""
    text = str(exc)
    marker = "certificate verify failed:"
    if marker in text:
        return text.split(marker, 1)[1].split("(_ssl", 1)[0].strip(" )'\"") or "not trusted"
    if "hostname" in text.lower() and "match" in text.lower():
        return "the certificate does not name this host"
    return "the server's certificate is not trusted"


def failure_from_exception(
    source: str, exc: BaseException, request: str | None = None
) -> BridgeError:
    req = getattr(exc, "request", None)
    if request is None and req is not None:
        request = describe(getattr(req, "method", None), getattr(req, "url", None))
    where = f" ({request})" if request else ""
    verdict = verdict_for_exception(exc)
    if isinstance(exc, CrossHostRedirect):
        return SourceError(
            source,
            f"the server at {exc.origin} redirected to another host, {exc.target}: not followed; "
            "check the source's url",
            request=request,
        )
    if verdict is TLS_FAILED:
        return SourceError(
            source,
            f"TLS certificate verification failed: {_tls_reason(exc)}; install the CA that "
            "signed the server's certificate (verify_tls: false only for a test instance)",
            request=request,
        )
    if verdict is CONNECT_FAILED:
        return SourceError(
            source, "cannot reach the host: check the URL and the network", request=request
        )
    if isinstance(exc, requests.Timeout):
        return TransientError(f"timed out, retries exhausted{where}", source=source)
    if isinstance(exc, requests.ConnectionError):
        return TransientError(f"connection lost, retries exhausted{where}", source=source)
    if isinstance(exc, ValueError):
        return TransientError(f"malformed response body{where}", source=source)
    return TransientError(f"{type(exc).__name__}{where}", source=source)
