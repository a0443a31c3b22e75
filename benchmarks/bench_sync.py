"""Full syncs against the sandbox in its own process: the scale curve, the no-change cycle,
peak memory of a first load, and remap of what was stored.

    .venv/bin/python -m benchmarks.bench_sync [--quick | --full]   (part "sync")

Per sandbox size of the curve (both tools, one Jira and one ServiceNow source, SQLite):
- first load: `smo-bridge sync --once --no-push` in its own process, a fresh store per run;
  wall time and the process's peak RSS (its VmHWM, read while it runs);
- a cycle with nothing to do: the engine in this process, warmed by one cycle (as the
  daemon is), timed; the sandbox's request log says how many requests each stream made;
- at the largest size also `smo-bridge migrate remap` of everything stored;
- between the curve's two largest sizes, how the first load's peak RSS grows per ticket
  (memory must not grow with the source).
`--full` adds a first load of 1,000,000 tickets (memory must not grow with the source).
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

from benchmarks.bench_wire import sync_once
from benchmarks.harness import (
    Bench,
    SandboxProcess,
    bridge_cli,
    count_rows,
    median,
    run_measured,
    sandbox_process,
    write_config,
)

MEMORY_TARGET_MB = 200.0  # first load of 200,000 tickets
BIG_MEMORY_TARGET_MB = 300.0  # first load of 1,000,000 tickets
REMAP_TARGET = 20_000.0  # records/s
NO_CHANGE_TARGET_S = 1.0
LINEAR_TARGET = 1.25  # largest / smallest: cost of a further record by step; no-change CPU by size


def stream_of(request: dict[str, Any]) -> str:
    """The stream a request served: the endpoint, with a record's key left out."""
    parts = request["path"].strip("/").split("/")
    if request["service"] == "servicenow":
        return f"servicenow {'/'.join(parts[:4])}"  # api/now/table/<table>
    parts = [p for p in parts[3:] if not p[:1].isdigit() and not p.isupper() and "-" not in p]
    return f"jira {'/'.join(parts)}"


def config_for(folder: Path, sb: SandboxProcess, name: str) -> tuple[Path, str]:
    state = f"sqlite:///{folder / f'{name}.db'}"
    return write_config(folder / f"{name}.yaml", state,
                        [("jira", "jira", sb.jira), ("snow", "servicenow", sb.servicenow)]), state


def no_change_cycles(config: Path, sb: SandboxProcess, runs: int
                     ) -> tuple[list[float], list[float], Counter[str], int]:
    """Seconds and this process's CPU seconds (the bridge's, not the sandbox's) of each of
    `runs` engine cycles after a warm-up, requests per stream in one, and the records it read
    again (unchanged: those the sources' `overlap_seconds` window holds)."""
    from bridge.config import load_config
    from bridge.engine import Engine
    from bridge.store import open_store

    bridge_config = load_config(config)
    store = open_store(bridge_config.state)
    quiet = logging.getLogger("bridge")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # a warning per cycle (e.g. an unreadable table) is not news here
    try:
        warm = Engine(bridge_config, store)
        warm.run_cycle(push=False)  # warm: imports, compiled mappings
        # the daemon hands each cycle's engine the mappings it compiled once, as here
        compiled = {s.name: warm.mapping(s).compiled for s in bridge_config.sources}
        times: list[float] = []
        cpu: list[float] = []
        per_stream: Counter[str] = Counter()
        reread = 0
        for run in range(runs):
            sb.mark()
            started, cpu_started = time.perf_counter(), time.process_time()
            result = Engine(bridge_config, store, compiled=compiled).run_cycle(push=False)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            if run == 0:
                per_stream = Counter(stream_of(r) for r in sb.since_mark())
                reread = sum(s.pulled for s in result.sources)
            changed = sum(s.inserted + s.updated + s.deleted for s in result.sources)
            if changed:
                raise RuntimeError(f"a no-change cycle changed {changed} record(s)")
        return times, cpu, per_stream, reread
    finally:
        quiet.setLevel(level)
        store.close()


def first_loads(folder: Path, sb: SandboxProcess, runs: int) -> tuple[list[float], list[float],
                                                                          int, Path]:
    """Seconds and peak RSS (MB) of `runs` first loads; the records and config of the last."""
    seconds: list[float] = []
    peaks: list[float] = []
    records = 0
    config = folder
    for run in range(runs):
        if run:
            (folder / f"load-{run - 1}.db").unlink()
        config, state = config_for(folder, sb, f"load-{run}")
        done = sync_once(config)
        seconds.append(done.seconds)
        peaks.append(done.peak_rss_mb)
        records = count_rows(state)
    return seconds, peaks, records, config


def part(bench: Bench) -> None:
    runs = bench.scale.runs
    load_seconds: dict[int, tuple[int, float]] = {}  # tickets -> (records, median seconds)
    no_change: dict[int, float] = {}
    no_change_cpu: dict[int, float] = {}
    rereads: dict[int, int] = {}  # unchanged records a no-change cycle read again
    peak_rss: dict[int, float] = {}
    for tickets in bench.scale.curve:
        folder = bench.scratch(f"sync-{tickets}")
        largest = tickets == bench.scale.curve[-1]
        with sandbox_process(folder, tickets) as sb:
            loads = bench.scale.heavy_runs if tickets >= 100_000 else runs
            seconds, peaks, records, config = first_loads(folder, sb, loads)
            load_seconds[tickets] = records, median(seconds)
            peak_rss[tickets] = median(peaks)
            bench.add(f"first load, {tickets:,} tickets (sync --once, own process)",
                      median(seconds), "s", runs=seconds,
                      note=f"{records:,} records, {records / median(seconds):,.0f} records/s")
            if largest:
                target = MEMORY_TARGET_MB if tickets >= 200_000 else None
                bench.add(f"peak RSS of that first load, {tickets:,} tickets", median(peaks), "MB",
                          "<" if target else None, target, runs=peaks,
                          note="" if target else "target is for 200,000 tickets")
            times, cpu, per_stream, reread = no_change_cycles(config, sb, max(runs, 3))
            rereads[tickets] = reread
            no_change[tickets] = median(times)
            no_change_cpu[tickets] = median(cpu)
            bench.add(f"no-change cycle, {records:,} stored records", median(times), "s",
                      "<" if largest else None, NO_CHANGE_TARGET_S if largest else None,
                      runs=times, note="engine in-process, warm")
            if largest:
                busiest = per_stream.most_common(1)[0] if per_stream else ("-", 0)
                bench.add("  requests per stream in it (the most of any stream)", busiest[1],
                          "requests", "<=", 1,
                          note=", ".join(f"{s}: {n}" for s, n in sorted(per_stream.items())))
                remap(bench, config, records, bench.scale.heavy_runs)
    if len(load_seconds) > 1:
        scale_curve(bench, load_seconds, no_change, no_change_cpu, rereads)
        memory_growth(bench, peak_rss)
    if bench.scale.big_load_tickets:
        big_load(bench, bench.scale.big_load_tickets)


def scale_curve(bench: Bench, loads: dict[int, tuple[int, float]], no_change: dict[int, float],
                no_change_cpu: dict[int, float], rereads: dict[int, int]) -> None:
    """Linear: each further record of a first load costs the same at every size, i.e. the
    slopes between neighbouring sizes agree (seconds per record over the curve's steps; a
    fixed start-up of imports and schema is no part of a slope). Per record of the whole run
    is printed too: its largest/smallest says how much of a small load the start-up is.
    Flat: the bridge's CPU in a no-change cycle does not grow with what is stored (its wall
    time, printed too, includes the sandbox's answers, whose indexes are the emulator's). The
    records such a cycle reads again (the sources' overlap window, unchanged) are printed: a
    larger sandbox has more edits in its last minutes, as a busier instance has."""
    sizes = sorted(loads)
    label = ", ".join(f"{s // 1000}k" for s in sizes)
    steps = [(small, large, (loads[large][1] - loads[small][1]) / (loads[large][0] - loads[small][0]))
             for small, large in pairwise(sizes)]
    slopes = [slope for _, _, slope in steps]
    bench.add(f"scale curve, full pull, each further record, largest/smallest step ({label})",
              max(slopes) / min(slopes) if min(slopes) > 0 else float("inf"), "x", "<=", LINEAR_TARGET,
              note=", ".join(f"{a // 1000}k-{b // 1000}k: {slope * 1e6:,.0f} us"
                             for a, b, slope in steps))
    whole = {s: seconds / records for s, (records, seconds) in loads.items()}
    bench.add("  per record of the whole run, largest/smallest", max(whole.values()) / min(whole.values()),
              "x", note=", ".join(f"{s // 1000}k: {whole[s] * 1e6:,.0f} us" for s in sizes)
              + " (the smallest carries the start-up)")
    bench.add("scale curve, no-change cycle, bridge CPU, largest/smallest",
              max(no_change_cpu.values()) / min(no_change_cpu.values()), "x", "<=", LINEAR_TARGET,
              note=", ".join(f"{s // 1000}k: {no_change_cpu[s]:.3f} s ({rereads[s]:,} records "
                             "read again)" for s in sizes))
    bench.add("  its wall time, largest/smallest", max(no_change.values()) / min(no_change.values()),
              "x", note=", ".join(f"{s // 1000}k: {no_change[s]:.3f} s" for s in sizes))


#: below this many tickets a load's peak still grows as its pages in flight fill up: growth
#: measured there is not the source's
GROWTH_FROM_TICKETS = 20_000


def memory_growth(bench: Bench, peaks: dict[int, float]) -> None:
    """How a first load's peak RSS grows with the source between the curve's two largest
    sizes, and the peak of a 1,000,000-ticket load that growth implies (a straight line: a
    hint where that load is not run, not a measurement)."""
    sizes = sorted(peaks)
    note = ", ".join(f"{s // 1000}k: {peaks[s]:,.0f} MB" for s in sizes)
    small, large = sizes[-2], sizes[-1]
    if small < GROWTH_FROM_TICKETS:
        bench.add("scale curve, first load peak RSS", peaks[large], "MB",
                  note=f"{note} (growth is read from {GROWTH_FROM_TICKETS:,} tickets up)")
        return
    slope = (peaks[large] - peaks[small]) / (large - small)  # MB per ticket
    bench.add(f"scale curve, first load peak RSS growth per 100,000 tickets "
              f"({small // 1000}k to {large // 1000}k)", slope * 100_000, "MB", note=note)
    bench.add("  a 1,000,000-ticket first load's peak RSS at that growth (projected)",
              peaks[large] + slope * (1_000_000 - large), "MB",
              note=f"target {BIG_MEMORY_TARGET_MB:.0f} MB for the measured load (--full)")


def remap(bench: Bench, config: Path, records: int, runs: int) -> None:
    """`migrate remap` of everything stored, in its own process: the rate over wall time
    (the target), and over the process's own CPU time (steadier on a busy machine)."""
    times: list[float] = []
    cpu: list[float] = []
    peaks: list[float] = []
    for _ in range(runs):
        done = run_measured(bridge_cli("--config", str(config), "migrate", "remap"),
                            cwd=config.parent)
        if done.returncode != 0:
            raise RuntimeError(f"migrate remap exited {done.returncode}: {done.stderr[-2000:]}")
        times.append(done.seconds)
        cpu.append(done.cpu_seconds)
        peaks.append(done.peak_rss_mb)
    rates = [records / t for t in times]
    bench.add(f"remap of {records:,} stored records (migrate remap, own process)", median(rates),
              "records/s", ">=", REMAP_TARGET, runs=rates,
              note=f"{median(times):.1f} s including start-up; {records / median(cpu):,.0f} records "
                   f"per CPU second; peak RSS {median(peaks):,.0f} MB")


def big_load(bench: Bench, tickets: int) -> None:
    folder = bench.scratch(f"sync-{tickets}")
    with sandbox_process(folder, tickets) as sb:
        seconds, peaks, records, _ = first_loads(folder, sb, 1)
    bench.add(f"peak RSS of a first load, {tickets:,} tickets", peaks[0], "MB", "<",
              BIG_MEMORY_TARGET_MB, runs=peaks,
              note=f"one run: {records:,} records in {seconds[0]:.0f} s")


if __name__ == "__main__":
    from benchmarks.__main__ import main

    sys.exit(main(["--only", "sync", *sys.argv[1:]]))
