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


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(event, default=str))


def configure(verbosity: int = 0, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Set up the root logger once per process (the CLI calls this)."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Python warnings (urllib3's among them) become log events, not raw stderr lines
    logging.captureWarnings(True)
    # the libraries below are chatty at INFO and may echo request details
    for noisy in ("urllib3", "requests_oauthlib", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
