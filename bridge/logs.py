"""Logging: readable text or one JSON event per line, with secrets redacted from both."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from bridge.errors import BridgeError

REDACTED = "***"
_AUTH_PATTERNS = [
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:basic|bearer)\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"(?i)((?:password|passwd|token|secret|api_key|client_secret)['\"]?\s*[:=]\s*['\"]?)"
                r"[^\s'\",&}]+"), r"\1***"),
    (re.compile(r"(://[^/\s:@]+:)[^@/\s]+@"), r"\1***@"),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1***"),
]
#: secrets received at run time (OAuth tokens) kept for redaction: the newest ones
RECEIVED_KEPT = 64
RECEIVED_MIN_LENGTH = 12
# attributes every LogRecord has; anything else was passed through `extra=`
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class Redactor:
    """Removes known secret values and credential-looking fragments from text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._received: dict[str, None] = {}  # insertion-ordered: the oldest go first
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str]) -> None:
        self._secrets.update(s for s in secrets if s and len(s) >= 3)

    def received(self, secret: str) -> None:
        """A secret a server handed us (an access token): redacted like configured ones;
        only the newest `RECEIVED_KEPT` are kept, as tokens are replaced every few minutes."""
        if len(secret) < RECEIVED_MIN_LENGTH:  # real tokens are long; short ones are words
            return
        with self._lock:
            self._received.pop(secret, None)
            self._received[secret] = None
            while len(self._received) > RECEIVED_KEPT:
                del self._received[next(iter(self._received))]

    def values(self, text: str) -> str:
        """Only the known secret values: for messages whose wording we control."""
        with self._lock:
            known = self._secrets | set(self._received)
        for secret in sorted(known, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def __call__(self, text: str) -> str:
        text = self.values(text)
        for pattern, replacement in _AUTH_PATTERNS:
            text = pattern.sub(replacement, text)
        return text


redact = Redactor()


#: pass `extra={VALUES_ONLY: True}` for a message whose wording we control (a configuration
#: problem naming `auth.password`): only known secret values are removed, not "password: x"
VALUES_ONLY = "_redact_values_only"
_SECRET_KEY = re.compile(r"(?i)password|passwd|token|secret|api_key|authorization")
#: libraries that may echo request details (URLs, headers): never below WARNING
_QUIET = ("urllib3", "requests_oauthlib", "alembic.runtime.migration")
#: libraries chatty at INFO (apscheduler: a line per job run, every few seconds): WARNING
#: unless -vv
_CHATTY = ("apscheduler", "werkzeug")


def exception_summary(exc: BaseException) -> str:
    """One line naming an exception without its payload: our own errors are worded to be
    shown, and so are the system's ("Address already in use"); a database error shows the
    driver's first line ("database is locked"), never the statement or its detail lines;
    anything else only its type, as its message may quote a record ("invalid literal for
    int(): 'ann@example.com'")."""
    name = type(exc).__name__
    if isinstance(exc, BridgeError | OSError):
        text = str(exc)
    else:
        orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
        text = f"({type(orig).__module__}.{type(orig).__name__}) {orig}" if isinstance(
            orig, Exception) and hasattr(exc, "statement") else ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{name}: {first}" if first else name


def _redacted(record: logging.LogRecord, text: str) -> str:
    return redact.values(text) if getattr(record, VALUES_ONLY, False) else redact(text)


def _one_line(record: logging.LogRecord, tracebacks: bool) -> str:
    """The message; at default verbosity an exception adds one summary, not a traceback."""
    message = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None and not tracebacks:
        message = f"{message} ({exception_summary(record.exc_info[1])}; -v shows the traceback)"
    return message


class TextFormatter(logging.Formatter):
    """`TIME LEVEL LOGGER: message`, one line per event; the traceback follows only with -v."""

    def __init__(self, tracebacks: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        message = _one_line(record, self.tracebacks)
        # a multi-line message (a database error's statement) stays one event on one line
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: " + " | ".join(
            part for part in message.splitlines() if part.strip())
        if self.tracebacks and record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if self.tracebacks and record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return _redacted(record, line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, and any `extra=` fields as keys,
    each value redacted like the message; `exception` (the traceback) only with -v."""

    def __init__(self, tracebacks: bool = False) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": _redacted(record, _one_line(record, self.tracebacks)),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in event:
                event[key] = REDACTED if _SECRET_KEY.search(key) else _redact_value(record, value)
        if self.tracebacks and record.exc_info:
            event["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(event, default=str)


def _redact_value(record: logging.LogRecord, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): REDACTED if _SECRET_KEY.search(str(k)) else _redact_value(record, v)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(record, v) for v in value]
    return _redacted(record, value if isinstance(value, str) else str(value))


def configure(verbosity: int = 0, fmt: str = "text", stream: TextIO | None = None, *,
              report_work: bool = False) -> None:
    """Set up the root logger once per process (the CLI calls this). Default verbosity shows
    warnings and errors; `report_work` (the daemon) adds smo-bridge's own INFO lines, one per
    cycle, so a healthy daemon says what it did; -v shows INFO from everything and
    tracebacks; -vv debug, the chatty libraries included."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(stream or sys.stderr)
    tracebacks = verbosity >= 1
    handler.setFormatter(JsonFormatter(tracebacks) if fmt == "json" else TextFormatter(tracebacks))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("bridge").setLevel(logging.INFO if report_work and verbosity <= 0
                                         else logging.NOTSET)
    # Python warnings (urllib3's among them) become log events, not raw stderr lines
    logging.captureWarnings(True)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    for name in _CHATTY:
        logging.getLogger(name).setLevel(level if verbosity >= 2 else max(level, logging.WARNING))
