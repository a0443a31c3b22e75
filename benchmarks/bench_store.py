"""Storing rate without the wire: pages of realistic records through the engine's page unit
(raw records, then the entities mapped from them), on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.bench_store [--records 20000] [--postgres URL|auto|none]

`auto` starts a throwaway PostgreSQL server from Debian's binaries when they are installed.
Per backend, prints records/s for a first load (all new), a pass with nothing changed and a
pass with every record changed, with the CPU time of this process (on PostgreSQL the rest is
waiting for the server), and the PostgreSQL/SQLite time ratio of each. Records are
those of benchmarks/bench_mapping.py; no network.
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.bench_mapping import _plain, _ref, jira_issue, snow_row
from benchmarks.harness import throwaway_postgres
from bridge.engine import PAGE
from bridge.models import RawRecord
from bridge.sourcemaps import SourceMapping
from bridge.store import Store, open_store
from bridge.store import repository as repo
from connectors.base import BasicAuth, SourceConfig
from mappings import default_mapping

TABLES = ["incident", "problem", "change_request", "sc_req_item"]


def records(count: int, seed: int, changed: bool = False) -> dict[str, list[RawRecord]]:
    rng = random.Random(seed)
    jira = [RawRecord(source="jira", stream="projects", key="PAY", payload={
        "key": "PAY", "name": "Payments", "projectCategory": {"name": "Service Transition"}})]
    snow = [RawRecord(source="snow", stream="pm_project", key=f"p{s}", payload={
        "number": _plain(f"PRJ{s:07d}"), "u_service": _ref(f"svc{s}", "Payments")})
        for s in range(1, 21)]
    for i in range(count // 2):
        payload = jira_issue(rng, i)
        if changed:
            payload["fields"]["summary"] += " (edited)"
        jira.append(RawRecord(source="jira", stream="issues", key=payload["key"], payload=payload))
        table = TABLES[i % 4]
        row = snow_row(rng, i, table)
        if changed:
            row["short_description"] = {"value": "edited", "display_value": "edited"}
        snow.append(RawRecord(source="snow", stream=table, key=f"{i:032x}", payload=row))
    return {"jira": jira, "snow": snow}


def store_all(store: Store, mappings: dict[str, SourceMapping],
              batches: dict[str, list[RawRecord]]) -> tuple[float, int, float]:
    """Each source's records in pages, each page one transaction, as the engine stores them:
    seconds, records, and seconds of this process's CPU (the rest of the time it waited: on
    PostgreSQL, for the server)."""
    started, cpu = time.perf_counter(), time.process_time()
    count = 0
    for name, recs in batches.items():
        for start in range(0, len(recs), PAGE):
            page = recs[start:start + PAGE]
            with store.engine.begin() as conn:
                written = repo.store_raw(conn, page)
                mappings[name].apply(conn, written.changed)
            count += len(page)
    return time.perf_counter() - started, count, time.process_time() - cpu


@contextmanager
def postgres(choice: str) -> Iterator[str | None]:
    if choice == "none":
        yield None
        return
    if choice != "auto":
        yield choice
        return
    with throwaway_postgres() as url:
        if url is None:
            print("PostgreSQL binaries not found: SQLite only")
        yield url


def run(url: str, data: list[dict[str, list[RawRecord]]]) -> list[float]:
    store = open_store(url)
    mappings = {name: SourceMapping(
        SourceConfig(name=name, kind=kind, url="http://127.0.0.1:9",
                     auth=BasicAuth(kind="basic", username="u", password="p")),  # type: ignore[arg-type]
        default_mapping(kind)) for name, kind in (("jira", "jira"), ("snow", "servicenow"))}
    seconds = []
    try:
        for label, batches in zip(("first load", "unchanged", "all changed"), data, strict=True):
            took, count, cpu = store_all(store, mappings, batches)
            seconds.append(took)
            print(f"  {label:<12} {count:>8,} records {took:7.2f} s {count / took:>10,.0f} records/s"
                  f"  (this process's CPU {cpu:5.2f} s)")
    finally:
        store.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", default="auto", help="a PostgreSQL URL, auto or none")
    args = parser.parse_args()
    first = records(args.records, args.seed)
    data = [first, first, records(args.records, args.seed, changed=True)]
    # a sync holds a page of records, not every pass's: the collector is kept off these
    # (its full collections walked them at random moments of one backend's passes or another's)
    gc.freeze()
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite")
        lite = run(f"sqlite:///{Path(tmp) / 'state.db'}", data)
    with postgres(args.postgres) as url:
        if url is None:
            return
        if args.postgres == "auto":
            from tests.conftest import fresh_database

            url = fresh_database(url)
        print("PostgreSQL")
        pg = run(url, data)
    print("PostgreSQL/SQLite time: " + ", ".join(
        f"{label} {p / s:.2f}x" for label, p, s in zip(("first load", "unchanged", "all changed"),
                                                       pg, lite, strict=True)))


if __name__ == "__main__":
    main()
