"""Daemons sharing a store: the deal of sources over the live members, and the lease."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import update

from bridge.store import open_store
from bridge.store.members import beat, deal, join, leave
from bridge.store.schema import daemon_members

SOURCES = [f"source-{i}" for i in range(7)]


def test_every_source_is_dealt_once_and_evenly() -> None:
    for members in (["a"], ["a", "b"], ["a", "b", "c"], [f"m{i}" for i in range(9)]):
        owners = deal(SOURCES, members)
        assert sorted(owners) == SOURCES
        loads = [Counter(owners.values()).get(m, 0) for m in members]
        assert max(loads) - min(loads) <= 1, (members, loads)
    assert deal(SOURCES, []) == {}


def test_every_member_deals_alike_whatever_order_it_lists_them_in() -> None:
    assert deal(SOURCES, ["a", "b", "c"]) == deal(list(reversed(SOURCES)), ["c", "a", "b"])


def test_a_member_leaving_moves_only_its_own_sources_and_some_of_the_fullest() -> None:
    sources = [f"s{i}" for i in range(12)]
    before = deal(sources, ["a", "b", "c", "d"])
    after = deal(sources, ["a", "b", "c"])
    kept = [s for s in sources if before[s] != "d" and after[s] == before[s]]
    # most sources of the members that stay stay with them: only d's are dealt anew, with
    # the few an even share moves
    assert len(kept) >= 6
    assert {after[s] for s in sources if before[s] == "d"} <= {"a", "b", "c"}


def test_a_member_whose_heartbeat_is_older_than_the_lease_is_gone(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            join(conn, "a")
            join(conn, "b")
            assert beat(conn, "a", lease_seconds=30) == ["a", "b"]
            # b stopped renewing a minute ago: a crash
            conn.execute(update(daemon_members).where(daemon_members.c.id == "b")
                         .values(heartbeat_at=daemon_members.c.heartbeat_at - 60))
            assert beat(conn, "a", lease_seconds=30) == ["a"]
            # b comes back (a long pause, not a crash): its next beat registers it again
            assert beat(conn, "b", lease_seconds=30) == ["a", "b"]
            leave(conn, "b")
            assert beat(conn, "a", lease_seconds=30) == ["a"]
            # a forgotten row (many leases old) is deleted, and re-registered when it beats
            conn.execute(update(daemon_members).values(heartbeat_at=0.0))
            assert beat(conn, "c", lease_seconds=30) == ["c"]
            assert beat(conn, "a", lease_seconds=30) == ["a", "c"]
    finally:
        store.close()
