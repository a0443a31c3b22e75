"""The indexed query paths answer exactly what a full scan and sort would."""

from __future__ import annotations

from bridge.sandbox import Sandbox
from bridge.sandbox.encoded_query import parse
from bridge.sandbox.sn_store import ServiceNowStore
from bridge.sandbox.sn_tables import Table


def scanned(store: ServiceNowStore, table: Table, text: str) -> list[int]:
    """The reference answer: every live row tested, then sorted (stable, last key first)."""
    query = parse(text, store.known(table), table.name, store.zone)
    live = list(table.ordered(None, None, False))
    hits = [i for i in sorted(live) if store._tester(table, query)(i)]
    return store._sorted(table, iter(hits), query.order)


def test_keyset_drain_and_census_pages_match_a_full_scan(sandbox: Sandbox) -> None:
    store = sandbox.servicenow_store
    table = store.data.tables["incident"]
    some = [table.row(i) for i in list(table.ordered(None, None, False))[::97][:12]]
    queries = ["ORDERBYsys_updated_on^ORDERBYsys_id", "ORDERBYDESCsys_updated_on^ORDERBYDESCsys_id"]
    for row in some:
        stamp, sys_id = row["sys_updated_on"], row["sys_id"]
        queries += [
            f"sys_updated_on>={stamp}^ORDERBYsys_updated_on^ORDERBYsys_id",
            f"sys_updated_on={stamp}^sys_id>{sys_id}^ORDERBYsys_id",
            f"sys_updated_on={stamp}^ORDERBYsys_id",
            f"sys_id>{sys_id}^ORDERBYsys_id",
            f"sys_id>={sys_id}^ORDERBYsys_id",
            f"sys_id<{sys_id}^ORDERBYDESCsys_id",
            f"sys_id<={sys_id[:10]}^ORDERBYDESCsys_id",
        ]
    for text in queries:
        query = parse(text, store.known(table), table.name, store.zone)
        expected = scanned(store, table, text)
        for offset, limit in ((0, 10_000), (3, 7)):
            page, total = store.select(table, query, offset, limit)
            assert page == expected[offset : offset + limit], text
            assert total == len(expected), text
            uncounted, maybe = store.select(table, query, offset, limit, count=False)
            assert uncounted == page and maybe in (None, total), text
