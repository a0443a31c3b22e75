"""Outgrowing one machine: one daemon versus two daemons on one PostgreSQL.

    .venv/bin/python -m benchmarks --only scaleout [--quick]

Four sources (two Jira, two ServiceNow, on one sandbox process with latency injected on
every request: I/O-bound, as real APIs are) into a throwaway PostgreSQL (Debian's binaries,
as the tests start it: tests/pg.py), a fresh database per run. A round is the time from
starting the daemon(s) until every source has logged a finished first cycle. One and two
daemons alternate run by run; the figure is the median of the paired ratios two / one, and
how many sources the second daemon pulled (both must do work).

The daemons deal the sources out between them (bridge.store.members). On a busy machine
the round's wall time follows what else runs; the CPU time each daemon spent in the round
does not: the busiest of two daemons' CPU seconds over one daemon's says what a second
machine (or a free core) buys when the daemon, not the wire, is the limit.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from benchmarks.harness import (
    Bench,
    bridge_cli,
    child_env,
    median,
    sandbox_process,
    throwaway_postgres,
    write_config,
)

SOURCES = ("jira-a", "jira-b", "snow-a", "snow-b")
LINE = re.compile(r"(jira-a|jira-b|snow-a|snow-b): pulled \d+ .*? s, (ok|failed|partial)")
STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) "
STARTED = re.compile(STAMP + r"INFO bridge\.daemon: daemon started", re.M)
FINISHED = re.compile(STAMP + r"INFO bridge\.engine: (jira-a|jira-b|snow-a|snow-b): pulled \d+ .*? s, ok",
                      re.M)
PULL_SECONDS = re.compile(r"(jira-a|jira-b|snow-a|snow-b): pulled \d+ \(.*?\) in ([\d.]+) s, ok")
TARGET = 0.6  # two daemons' round / one daemon's round
ROUND_TIMEOUT = 900.0


def database(server_url: str, name: str) -> str:
    import psycopg

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cycles_seconds(texts: list[str]) -> float:
    """From the first daemon's start (imported, store open, jobs scheduled) until every
    source finished its first cycle, by the daemons' own log lines."""
    def at(stamp: str) -> datetime:
        return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")

    start = min(at(s) for text in texts for s in STARTED.findall(text))
    first: dict[str, datetime] = {}
    for text in texts:
        for stamp, name in FINISHED.findall(text):
            first[name] = min(first.get(name, at(stamp)), at(stamp))
    return (max(first.values()) - start).total_seconds()


def longest_pull(texts: list[str]) -> float:
    """The seconds of the slowest source's first pull, by the daemons' own log lines: one
    daemon pulls a source, so no number of daemons makes a round shorter than that."""
    first: dict[str, float] = {}
    for text in texts:
        for name, seconds in PULL_SECONDS.findall(text):
            first.setdefault(name, float(seconds))
    return max(first.values())


def round_of(config: Path, daemons: int, folder: Path
             ) -> tuple[float, list[set[str]], list[float], float, float]:
    """Seconds until every source finished one cycle, which daemon finished it first, the
    CPU seconds each daemon spent until then, the seconds of cycles alone (from the first
    daemon's start, as `cycles_seconds`) and of the slowest source's pull."""
    logs = [folder / f"daemon-{daemons}-{i}.log" for i in range(daemons)]
    started = time.perf_counter()
    procs = []
    for log in logs:
        with log.open("w") as out:
            procs.append(subprocess.Popen(bridge_cli("--config", str(config), "run"),
                                          cwd=folder, env=child_env(), stdout=out,
                                          stderr=subprocess.STDOUT))
    owner: dict[str, int] = {}  # a later cycle of a source by the other daemon is not the round's
    try:
        while len(owner) < len(SOURCES):
            for i, log in enumerate(logs):
                for name, status in LINE.findall(log.read_text()):
                    if status != "ok":
                        raise RuntimeError(f"{name}: a cycle {status}: {log.read_text()[-1500:]}")
                    owner.setdefault(name, i)
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a daemon exited: {logs[0].read_text()[-1500:]}")
            if time.perf_counter() - started > ROUND_TIMEOUT:
                raise RuntimeError("the round did not finish in time")
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        cpu = [cpu_seconds(p.pid) for p in procs]
        texts = [log.read_text() for log in logs]
        return seconds, [{name for name, i in owner.items() if i == daemon}
                         for daemon in range(daemons)], cpu, cycles_seconds(texts), longest_pull(texts)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def part(bench: Bench) -> None:
    tickets, latency = bench.scale.scaleout_tickets, bench.scale.scaleout_latency_ms
    folder = bench.scratch("scaleout")
    with throwaway_postgres() as server_url:
        if server_url is None:
            bench.add("two daemons' round / one daemon's", None, "x", "<=", TARGET,
                      note="not measured: no PostgreSQL binaries (apt-get install postgresql)")
            return
        with sandbox_process(folder, tickets, latency_ms=latency) as sb:
            sources = [(name, "jira" if name.startswith("jira") else "servicenow",
                        sb.jira if name.startswith("jira") else sb.servicenow) for name in SOURCES]
            ones: list[float] = []
            twos: list[float] = []
            second: list[int] = []
            one_cpu: list[float] = []
            one_cycles: list[float] = []
            two_cycles: list[float] = []
            busiest_cpu: list[float] = []
            two_longest: list[float] = []
            chains: list[float] = []  # the slowest source's requests x the latency
            for run in range(bench.scale.heavy_runs):
                for daemons in ((1, 2) if run % 2 == 0 else (2, 1)):
                    state = database(server_url, f"round_{run}_{daemons}")
                    config = write_config(folder / f"run-{run}-{daemons}.yaml", state, sources,
                                          "daemon:\n  schedule: {interval_seconds: 10}\n")
                    sb.mark()
                    seconds, pulled, cpu, cycles, longest = round_of(config, daemons, folder)
                    if daemons == 1:
                        # each kind has two sources reading the same data: half its requests
                        # are one source's, sent one after another
                        served = [r["service"] for r in sb.since_mark()]
                        chains.append(max(served.count(kind) for kind in ("jira", "servicenow"))
                                      / 2 * latency / 1000)
                    (ones if daemons == 1 else twos).append(seconds)
                    (one_cycles if daemons == 1 else two_cycles).append(cycles)
                    (one_cpu if daemons == 1 else busiest_cpu).append(max(cpu))
                    if daemons == 2:
                        second.append(min(len(p) for p in pulled))
                        two_longest.append(longest)
    ratios = [t / o for t, o in zip(twos, ones, strict=True)]
    setting = (f"4 sources, {tickets:,} sandbox tickets each pair, {latency} ms latency per "
               "request, PostgreSQL")
    bench.add("two daemons' round / one daemon's", median(ratios), "x", "<=", TARGET,
              runs=ratios, note=setting)
    bench.add("  one daemon, round of first cycles", median(ones), "s", runs=ones)
    bench.add("  two daemons, round of first cycles", median(twos), "s", runs=twos)
    bench.add("  sources pulled by the less busy of the two daemons", median(second), "sources",
              ">=", 1, runs=second, note="both daemons must do work")
    cycle_ratios = [t / o for t, o in zip(two_cycles, one_cycles, strict=True)]
    bench.add("  the cycles alone (from the daemons' start), two / one", median(cycle_ratios), "x",
              runs=cycle_ratios, note="without the processes' imports and the schema's creation")
    cpu_ratios = [b / o for b, o in zip(busiest_cpu, one_cpu, strict=True)]
    bench.add("  busiest daemon's CPU time in the round, two / one", median(cpu_ratios), "x",
              runs=cpu_ratios, note="the round on a core per daemon, where the daemon is the limit")
    bench.add("  one daemon's CPU time in the round", median(one_cpu), "s", runs=one_cpu)
    # a source is pulled by one daemon, its requests one after another: a round of any
    # number of daemons lasts at least its slowest source's pull
    floors = [pull / one for pull, one in zip(two_longest, one_cycles, strict=True)]
    bench.add("  slowest source's pull (two daemons) / one daemon's cycles", median(floors), "x",
              runs=floors, note="the floor of any number of daemons, from their log lines")
    waits = [chain / one for chain, one in zip(chains, one_cycles, strict=True)]
    bench.add("  slowest source's requests x latency / one daemon's cycles", median(waits), "x",
              runs=waits, note=f"{median(chains):.1f} s waiting for answers, one after another "
              "(the sandbox's request log; a source's later cycles in the round counted too)")


if __name__ == "__main__":
    from benchmarks.__main__ import main

    sys.exit(main(["--only", "scaleout", *sys.argv[1:]]))
