"""Backfill throughput against a bare loop over the same pages, and the remap rate.

    .venv/bin/python -m benchmarks.bench_migrate [--tickets 6000] [--seed 7]

One sandbox on loopback. For each source: a bare loop reads every stream through the
connector and keeps nothing (the floor: HTTP, parsing, paging); then `migrate backfill`
into a fresh SQLite store (store, map, checkpoint each page, derive); then `migrate remap`
of everything stored (one transaction, each batch compared with the rows it replaces for
its impact report). Prints records/s and the
backfill's share of the bare loop's rate. Run on a quiet machine: absolute numbers move
with load, the ratio much less.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bridge import migrate
from bridge.config import load_config
from bridge.sandbox import Sandbox
from bridge.store import open_store
from connectors.base import connector_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with Sandbox(seed=args.seed, tickets=args.tickets) as sb, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "smo-bridge.yaml"
        auth = "auth: {kind: basic, username: sandbox, password: sandbox}"
        path.write_text(f"state: sqlite:///{Path(tmp) / 'state.db'}\nsources:\n"
                        f"  - {{name: jira, kind: jira, url: '{sb.jira_url}', {auth}}}\n"
                        f"  - {{name: snow, kind: servicenow, url: '{sb.servicenow_url}', {auth}}}\n")
        config = load_config(path)
        store = open_store(config.state)
        try:
            for source in config.sources:
                connector = connector_for(source)
                started, bare = time.perf_counter(), 0
                try:
                    for spec in connector.streams():
                        for _ in connector.read(spec.name, None, lambda q: None):
                            bare += 1
                finally:
                    connector.close()
                bare_s = time.perf_counter() - started
                done = migrate.backfill(config, store, source.name, push=False)
                assert done.finished and done.outcome is not None
                pulled = done.outcome.pulled
                print(f"{source.name}: bare loop {bare} records in {bare_s:.2f} s ({bare / bare_s:,.0f}/s); "
                      f"backfill {pulled} in {done.seconds:.2f} s ({pulled / done.seconds:,.0f}/s, "
                      f"{(pulled / done.seconds) / (bare / bare_s):.0%} of the bare loop)")
            started, cpu = time.perf_counter(), time.process_time()
            result, change = migrate.remap(config, store, push=False)
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
            records = sum(s.mapped + s.quarantined for s in result.sources)
            print(f"remap: {records} records mapped and derived in {took:.2f} s ({records / took:,.0f}/s, "
                  f"{records / cpu:,.0f} per CPU second), {change.summary()['tickets_compared']} "
                  "tickets compared")
        finally:
            store.close()


if __name__ == "__main__":
    main()
