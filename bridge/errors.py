"""The three kinds of failure and the exit codes the CLI maps them to.

Configuration errors are never retried, transient ones are retried with backoff,
and anything else is a bug. Messages are one readable line and never carry secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_PARTIAL = 3


class BridgeError(Exception):
    """Base of every error smo-bridge raises on purpose."""

    exit_code = EXIT_FAILED
    retryable = False


@dataclass(frozen=True)
class Issue:
    """One problem found in an admin-edited file, located as FILE:LINE:COL."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where = f"{where}:{self.line}:{self.column or 1}"
        path = self.path or "(root)"
        return f"{where}: {path}: {self.message}"


class ConfigError(BridgeError):
    """Bad configuration or mapping: fix the file, retrying will not help."""

    exit_code = EXIT_INVALID

    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        self.issues: list[Issue] = list(issues or [])
        super().__init__(message)

    def lines(self) -> list[str]:
        return [str(i) for i in self.issues] or [str(self)]


class SourceError(BridgeError):
    """A source failed in a way retrying will not fix (wrong password, no permission, bad query)."""

    def __init__(self, source: str, message: str, *, request: str | None = None) -> None:
        self.source = source
        self.request = request
        where = f" ({request})" if request else ""
        super().__init__(f"source {source!r}: {message}{where}")


class PermissionDenied(SourceError):
    """The account may not read or write this table or endpoint (HTTP 403).

    A read that meets it skips that one stream (or side stream) with a warning naming
    what to grant; the rest of the source goes on."""


class TransientError(BridgeError):
    """Rate limit, 5xx, timeout, lost connection: retried with backoff."""

    retryable = True

    def __init__(self, message: str, *, source: str | None = None, retry_after: float | None = None) -> None:
        self.source = source
        self.retry_after = retry_after
        prefix = f"source {source!r}: " if source else ""
        super().__init__(f"{prefix}{message}")


class BridgeBug(BridgeError):
    """An invariant broke: report it, do not retry."""
