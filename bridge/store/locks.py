"""Job locks: one process at a time per job (a source's pull, the push job).

PostgreSQL: a session-level advisory lock, so daemons on several machines sharing one
database spread the work. SQLite: an flock on a file beside the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from bridge.store.database import Store


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
