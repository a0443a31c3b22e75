"""The benchmark harness's machinery at a tiny scale: figures, verdicts, benchmarks.json,
and the wire comparison's record-and-replay. No figure's value is judged here."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from benchmarks import bench_mapping, bench_wire, bench_workloads
from benchmarks.__main__ import PARTS
from benchmarks.harness import Bench, Figure, Scale, render_table


def tiny_bench(tmp_path: Path) -> Bench:
    scale = dataclasses.replace(Scale.of("quick"), runs=2, wire_tickets=60,
                                mapping_records=200, workload_tickets=2_000)
    return Bench(scale, tmp_path / "benchmarks.json", tmp_path)


def test_verdicts_follow_the_target() -> None:
    assert Figure("p", "rate", 60_000, "records/s", ">=", 50_000).verdict == "pass"
    assert Figure("p", "rate", 47_000, "records/s", ">=", 50_000).verdict == "miss"
    assert Figure("p", "ratio", 1.3, "x", "<=", 1.2).verdict == "miss"
    assert Figure("p", "unmeasured", None, "x", "<=", 1.2).verdict == "miss"
    assert Figure("p", "seconds", 3.0, "s").verdict == "info"


def test_every_part_is_listed_once_and_the_quick_mode_leaves_the_long_ones_out() -> None:
    names = [p.name for p in PARTS]
    assert len(names) == len(set(names))
    quick = {p.name for p in PARTS if "quick" in p.modes}
    assert {"wire", "tap", "sync", "mapping", "workloads", "scaleout"} <= quick
    assert "soak" not in quick


def test_parts_write_figures_with_targets_to_json(tmp_path: Path) -> None:
    bench = tiny_bench(tmp_path)
    for bench.part, run in (("mapping", bench_mapping.part), ("workloads", bench_workloads.part)):
        run(bench)
    written = json.loads((tmp_path / "benchmarks.json").read_text())
    figures = {f["name"]: f for f in written["figures"]}
    jira = figures["mapping rate, shipped Jira default (per CPU second)"]
    assert jira["op"] == ">=" and jira["target"] == 50_000 and jira["verdict"] in ("pass", "miss")
    assert len(jira["runs"]) >= 2 and jira["value"] > 0
    assert "mapping rate, shipped ServiceNow default (per CPU second)" in figures
    recompute = next(f for n, f in figures.items() if n.startswith("workload recompute, 2,000"))
    assert recompute["target"] == pytest.approx(0.1)  # 60 s per million, pro rata
    assert "[mapping]" in render_table(bench.figures)


@pytest.mark.sandbox
def test_the_bare_loop_replays_what_the_sync_asked(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_wire, "FLAVOURS", (("Jira Server", "jira", "server"),))
    bench = tiny_bench(tmp_path)
    bench.scale.runs = 1  # a sync takes seconds: one is enough for the machinery
    bench.part = "wire"
    bench_wire.part(bench)
    ratio, sync, bare, floor = bench.figures
    assert ratio.op == "<=" and ratio.target == 1.2 and len(ratio.runs) == 1
    records, requests = (int(w.replace(",", "")) for w in ratio.note.split()[::3][:2])
    assert records >= 60 and requests >= 3  # a search page, projects, fields at least
    assert all(s > 0 for s in sync.runs) and all(b > 0 for b in bare.runs)
    # the sync's and the sandbox's CPU spread over every core: never below the bare loop
    assert floor.op is None and floor.runs[0] >= 1
