"""Job locks: one process at a time per job (a source's pull, the push job, derivation).

PostgreSQL: a session-level advisory lock, so daemons on several machines sharing one
database spread the work. SQLite: an flock on a file beside the database. Both also exclude
the threads of one process (each attempt uses its own session or open file).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import text

from bridge.errors import TransientError
from bridge.store.database import Store

SCHEMA_LOCK_WAIT = 600.0


def _lock_id(name: str) -> int:
    # advisory locks take a signed 64-bit key
    return int.from_bytes(hashlib.sha256(f"smo-bridge:{name}".encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def job_lock(store: Store, name: str) -> Iterator[bool]:
    """Yield True when this process holds the lock for `name`, False when another does."""
    if store.dialect == "postgresql":
        with store.engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_id(name)}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_id(name)})
                    conn.commit()
        return
    database = store.engine.url.database
    if not database or database == ":memory:":
        yield True
        return
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    path = Path(f"{database}.{safe}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def waiting_lock(store: Store, name: str, timeout: float,
                 should_stop: Callable[[], bool] | None = None) -> Iterator[bool]:
    """Hold the lock for `name`, waiting while another process holds it: for short jobs that
    every process must run in turn, not skip. Yields False when a stop was requested while
    waiting; raises TransientError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = 0.05
    while True:
        with job_lock(store, name) as held:
            if held:
                yield True
                return
        if should_stop is not None and should_stop():
            yield False
            return
        if time.monotonic() >= deadline:
            raise TransientError(f"another smo-bridge process held the {name!r} lock for more "
                                 f"than {timeout:.0f} s")
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
