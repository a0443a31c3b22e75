"""The benchmark harness: every figure with its target, as a table and in benchmarks.json.

    .venv/bin/python -m benchmarks [--quick | --full] [--only PART ...] [--out FILE]
    make bench-quick | make bench | make bench-full

Each part measures one thing (see README, "Benchmarks") and adds figures: the median of
several runs, a target and pass/miss; a ratio is measured within one run, both sides
alternating. A part that fails is reported as such and the others still run. Exit 0 when the
harness ran, whatever the verdicts (a benchmark is not a test).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import (
    bench_backends,
    bench_board,
    bench_cli,
    bench_mapping,
    bench_sandbox,
    bench_scaleout,
    bench_sync,
    bench_tap,
    bench_wire,
    bench_workloads,
    soak,
)
from benchmarks.harness import ROOT, Bench, Mode, Scale, render_table


@dataclass(frozen=True)
class Part:
    name: str
    run: Callable[[Bench], None]
    modes: frozenset[Mode] = frozenset({"quick", "default", "full"})
    what: str = ""


ALL: frozenset[Mode] = frozenset({"quick", "default", "full"})
#: the parts, in the order they run. To plug a part in: a module benchmarks/bench_NAME.py with
#: `def part(bench: Bench) -> None` (see benchmarks/harness.py) and one line here.
PARTS: tuple[Part, ...] = (
    Part("mapping", bench_mapping.part, ALL, "records mapped per second per core"),
    Part("sandbox", bench_sandbox.part, ALL, "the emulated APIs' page times"),
    Part("wire", bench_wire.part, ALL, "sync vs a bare requests loop, same pages"),
    Part("tap", bench_tap.part, ALL, "sync vs the Singer tap-jira over HTTPS"),
    Part("sync", bench_sync.part, ALL, "scale curve, no-change cycle, memory, remap"),
    Part("backends", bench_backends.part, ALL, "the same sync into PostgreSQL and SQLite"),
    Part("workloads", bench_workloads.part, ALL, "workload recompute"),
    Part("scaleout", bench_scaleout.part, ALL, "one daemon vs two on one PostgreSQL"),
    Part("board", bench_board.part, ALL, "the board's pages, 200 transitions"),
    Part("cli", bench_cli.part, ALL, "quick commands, whole process: --help, status, validate"),
    Part("soak", soak.part, frozenset({"full"}), "the daemon for 30+ cycles with faults"),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="mode",
                      help="small scale, under 2 minutes")
    size.add_argument("--full", action="store_const", const="full", dest="mode",
                      help="the default scale plus the 1,000,000-ticket load and the soak")
    parser.add_argument("--only", nargs="+", metavar="PART", choices=[p.name for p in PARTS],
                        help="run these parts only (any mode)")
    parser.add_argument("--runs", type=int, default=None, help="repetitions per median")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks.json")
    args = parser.parse_args(argv)
    mode: Mode = args.mode or "default"
    scale = Scale.of(mode)
    if args.runs:
        scale.runs = scale.heavy_runs = args.runs
    parts = [p for p in PARTS if (p.name in args.only if args.only else mode in p.modes)]
    work = Path(tempfile.mkdtemp(prefix="smo-bridge-bench-"))
    bench = Bench(scale, args.out, work)
    load = os.getloadavg()[0]
    print(f"smo-bridge benchmarks, {mode} scale, {os.cpu_count()} CPUs, load average {load:.1f} "
          f"at start; parts: {', '.join(p.name for p in parts)}", flush=True)
    failed: list[str] = []
    started = time.perf_counter()
    try:
        for part in parts:
            bench.part = part.name
            t0 = time.perf_counter()
            print(f"[{part.name}] {part.what}", flush=True)
            try:
                part.run(bench)
            except Exception as error:  # one part's failure must not lose the others' figures
                failed.append(part.name)
                traceback.print_exc()
                bench.add(f"{part.name}: did not finish", None, "", note=f"{type(error).__name__}: "
                          f"{str(error).splitlines()[0][:120] if str(error) else ''}")
            print(f"[{part.name}] {time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - started
    print()
    print(render_table(bench.figures))
    verdicts = [f.verdict for f in bench.figures]
    print(f"\n{verdicts.count('pass')} pass, {verdicts.count('miss')} miss, "
          f"{verdicts.count('info')} for information; {total:.0f} s; load average now "
          f"{os.getloadavg()[0]:.1f}; written to {args.out}")
    if failed:
        print(f"parts that did not finish: {', '.join(failed)}")
    bench.save()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
