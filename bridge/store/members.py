"""Daemons sharing one store: who is running, and which of them pulls each source.

Each `smo-bridge run` on a shared store keeps a row in `daemon_members` and renews it (a
heartbeat). A member whose heartbeat is older than the lease is gone: a crashed daemon's
row simply expires, a stopping one deletes its own. The sources are dealt out over the live
members by rendezvous hashing, evened out so no member holds more than one source more than
another: every member computes the same deal from the same view, a member joining or
leaving moves only a few sources. The deal spreads the work; the job locks
(bridge.store.locks) stay what keeps one source to one pull at a time, so two members whose
views differ for a moment never pull a source together.

Times are the database's own clock, so the machines' clocks need not agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    cast,
    delete,
    extract,
    func,
    insert,
    literal,
    select,
    update,
)

from bridge.store.schema import daemon_members

#: a member gone longer than this many leases is deleted by whichever member sees it
FORGET_AFTER_LEASES = 20


def db_now(conn: Connection) -> ColumnElement[float]:
    """Now on the database's clock, in seconds since the epoch."""
    if conn.dialect.name == "postgresql":
        return cast(extract("epoch", func.clock_timestamp()), Float)
    return (func.julianday("now") - literal(2440587.5)) * literal(86400.0)


def join(conn: Connection, member: str) -> None:
    """Register `member` (in the caller's transaction)."""
    now = db_now(conn)
    conn.execute(delete(daemon_members).where(daemon_members.c.id == member))
    conn.execute(insert(daemon_members).values(id=member, started_at=now, heartbeat_at=now))


def beat(conn: Connection, member: str, lease_seconds: float) -> list[str]:
    """Renew `member`'s row (registering it again if it was forgotten) and return the live
    members, `member` included, in a stable order."""
    now = db_now(conn)
    renewed = conn.execute(update(daemon_members).where(daemon_members.c.id == member)
                           .values(heartbeat_at=now)).rowcount
    if not renewed:
        conn.execute(insert(daemon_members).values(id=member, started_at=now, heartbeat_at=now))
    conn.execute(delete(daemon_members).where(
        daemon_members.c.heartbeat_at < now - FORGET_AFTER_LEASES * lease_seconds))
    live = conn.execute(select(daemon_members.c.id)
                        .where(daemon_members.c.heartbeat_at >= now - lease_seconds)).scalars()
    return sorted({*live, member})


def leave(conn: Connection, member: str) -> None:
    conn.execute(delete(daemon_members).where(daemon_members.c.id == member))


def _score(member: str, source: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{member}\0{source}".encode()).digest()[:8], "big")


def deal(sources: Iterable[str], members: Sequence[str]) -> dict[str, str]:
    """Each source -> the member that pulls it: its highest-scoring member that still has
    room, room being an even share (some members take one more when it does not divide)."""
    names = sorted(set(sources))
    if not members:
        return {}
    base, extra = divmod(len(names), len(members))
    load = dict.fromkeys(members, 0)
    full = 0  # members already holding base + 1
    owners: dict[str, str] = {}
    for source in names:
        for member in sorted(members, key=lambda m: _score(m, source), reverse=True):
            if load[member] < base or (load[member] == base and full < extra):
                if load[member] == base:
                    full += 1
                load[member] += 1
                owners[source] = member
                break
    return owners
