"""What every benchmark part shares: figures with targets, scales, child processes.

A part is a function `part(bench: Bench) -> None` that measures and calls `bench.add(...)`
once per figure; `benchmarks/__main__.py` lists the parts in the order they run.
"""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
Mode = Literal["quick", "default", "full"]
Op = Literal["<=", ">=", "<", ">", "=="]
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": lambda v, t: v <= t, ">=": lambda v, t: v >= t, "<": lambda v, t: v < t,
    ">": lambda v, t: v > t, "==": lambda v, t: v == t,
}
JIRA_SHARE = 0.4  # of the sandbox's tickets (bridge.sandbox.JIRA_SHARE); the rest are ServiceNow


@dataclass
class Figure:
    part: str
    name: str
    value: float | None
    unit: str
    op: Op | None = None
    target: float | None = None
    runs: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.op is None or self.target is None:
            return "info"
        if self.value is None:
            return "miss"
        return "pass" if _OPS[self.op](self.value, self.target) else "miss"


@dataclass
class Scale:
    """How big and how often, per mode. Parts read what they need."""

    mode: Mode
    runs: int  # repetitions a median is taken of
    heavy_runs: int  # the same, for the longest measurements (tap, the largest loads, daemons)
    wire_tickets: int  # tickets of one tool, for the wire comparisons
    mapping_records: int
    curve: tuple[int, ...]  # sandbox tickets (both tools) for the scale curve; the last is "big"
    workload_tickets: int
    big_load_tickets: int | None  # the memory-must-not-grow load (None: not in this mode)
    scaleout_tickets: int
    scaleout_latency_ms: int
    soak_cycles: int | None

    @staticmethod
    def of(mode: Mode) -> Scale:
        if mode == "quick":
            return Scale(mode, runs=2, heavy_runs=1, wire_tickets=5_000, mapping_records=20_000,
                         curve=(1_000, 2_000, 5_000), workload_tickets=100_000,
                         big_load_tickets=None, scaleout_tickets=2_000, scaleout_latency_ms=20,
                         soak_cycles=None)
        return Scale(mode, runs=3, heavy_runs=2, wire_tickets=50_000, mapping_records=100_000,
                     curve=(10_000, 50_000, 200_000), workload_tickets=1_000_000,
                     big_load_tickets=1_000_000 if mode == "full" else None,
                     scaleout_tickets=20_000, scaleout_latency_ms=50,
                     soak_cycles=30 if mode == "full" else None)


class Bench:
    def __init__(self, scale: Scale, out: Path, work: Path) -> None:
        self.scale = scale
        self.out = out
        self.work = work  # a scratch folder, removed at the end
        self.figures: list[Figure] = []
        self.part = ""
        self.started = time.time()

    def add(self, name: str, value: float | None, unit: str, op: Op | None = None,
            target: float | None = None, runs: Sequence[float] = (), note: str = "") -> Figure:
        figure = Figure(self.part, name, value, unit, op, target, [round(r, 6) for r in runs], note)
        self.figures.append(figure)
        print(f"  {render_row(figure)}", flush=True)
        self.save()
        return figure

    def save(self) -> None:
        """Written after every figure: a part that fails later loses nothing measured."""
        body = {
            "mode": self.scale.mode, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                              time.gmtime(self.started)),
            "seconds": round(time.time() - self.started, 1), "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "figures": [{**asdict(f), "verdict": f.verdict} for f in self.figures],
        }
        self.out.write_text(json.dumps(body, indent=2) + "\n")

    def scratch(self, name: str) -> Path:
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work))
        return folder


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if unit == "x" or abs(value) < 10 else f"{value:,.0f}"


def render_row(f: Figure) -> str:
    target = f"{f.op} {fmt(f.target, f.unit)}" if f.op is not None else ""
    note = f.note if len(f.note) <= 80 else f.note[:77] + "..."
    return (f"{f.name:<66} {fmt(f.value, f.unit):>10} {f.unit:<10} {target:<11} "
            f"{f.verdict:<5} {note}")


def render_table(figures: Sequence[Figure]) -> str:
    lines = [f"{'figure':<66} {'median':>10} {'unit':<10} {'target':<11} {'':<5} note"]
    part = None
    for f in figures:
        if f.part != part:
            part = f.part
            lines.append(f"[{part}]")
        lines.append(render_row(f))
    return "\n".join(lines)


# -- child processes -------------------------------------------------------------------------

def child_env(**extra: str) -> dict[str, str]:
    """This environment without SMO_BRIDGE_* variables: a child finds only the config given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMO_BRIDGE")}
    env.update(extra)
    return env


@dataclass
class Finished:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float  # user + system: what the process itself spent, whatever else ran
    returncode: int
    stdout: str
    stderr: str


def run_measured(args: Sequence[str], *, env: dict[str, str] | None = None,
                 cwd: Path | None = None, timeout: float = 3600,
                 stdout_to: Path | None = None) -> Finished:
    """Run a process to its end: wall seconds, its own peak RSS and CPU seconds.
    `stdout_to`: write its output there instead of returning it.

    The peak is the process's VmHWM, read while it runs: rusage's ru_maxrss would carry
    this (harness) process's size at the fork across the exec."""
    with tempfile.TemporaryFile("w+") as err, \
            (stdout_to.open("w+") if stdout_to else tempfile.TemporaryFile("w+")) as out:
        started = time.perf_counter()
        proc = subprocess.Popen(list(args), env=env or child_env(), cwd=cwd or ROOT, stdout=out,
                                stderr=err, text=True)
        deadline = started + timeout
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _high_water_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise subprocess.TimeoutExpired(list(args), timeout)
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        out.seek(0)
        return Finished(seconds, peak_kb / 1024, usage.ru_utime + usage.ru_stime,
                        proc.returncode,
                        "" if stdout_to else out.read(), err.read())


def _high_water_kb(pid: int) -> int:
    """A running process's peak resident set so far (Linux /proc), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def bridge_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bridge.cli.main", *args]


def self_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the sandbox in its own process ------------------------------------------------------------

@dataclass
class SandboxProcess:
    proc: subprocess.Popen[str]
    jira: str
    servicenow: str
    ca_bundle: Path | None
    request_log: Path
    _offset: int = 0

    def mark(self) -> None:
        """Requests logged from now on are what `since_mark` returns."""
        self._offset = self.request_log.stat().st_size if self.request_log.exists() else 0

    def cpu_seconds(self) -> float:
        """CPU the sandbox's process has used so far (user + system)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def since_mark(self) -> list[dict[str, Any]]:
        with self.request_log.open("rb") as log:
            log.seek(self._offset)
            data = log.read()
        return [json.loads(line) for line in data.splitlines() if line.strip()]


def tickets_for(tool_tickets: int, tool: str) -> int:
    """The sandbox's --tickets (both tools) that gives `tool_tickets` to `tool`."""
    share = JIRA_SHARE if tool == "jira" else 1 - JIRA_SHARE
    return int(-(-tool_tickets // share))  # ceiling


@contextmanager
def sandbox_process(folder: Path, tickets: int, *, deployment: str = "cloud", tls: bool = False,
                    latency_ms: int = 0, seed: int = 42) -> Iterator[SandboxProcess]:
    """`smo-bridge sandbox` in its own process (its own core), logging every request."""
    log = folder / "requests.jsonl"
    args = bridge_cli("sandbox", "--jira-port", "0", "--servicenow-port", "0", "--seed", str(seed),
                      "--tickets", str(tickets), "--jira-deployment", deployment,
                      "--request-log", str(log))
    if tls:
        args += ["--tls", "--ca-bundle", str(folder / "sandbox-ca.pem")]
    if latency_ms:
        args += ["--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(args, env=child_env(), cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        urls: dict[str, str] = {}
        assert proc.stdout is not None
        wanted = 3 if tls else 2
        while len(urls) < wanted:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the sandbox did not start ({' '.join(args)})")
            match = re.match(r"(jira|servicenow|ca-bundle)\s+(\S+)", line)
            if match:
                urls[match.group(1)] = match.group(2)
        sandbox = SandboxProcess(proc, urls["jira"], urls["servicenow"],
                                 Path(urls["ca-bundle"]) if tls else None, log)
        yield sandbox
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def throwaway_postgres() -> Iterator[str | None]:
    """A PostgreSQL server from Debian's binaries, as the tests start one (tests/pg.py), its
    URL while the block runs; None when the binaries are not installed."""
    from tests.pg import find_pg_bin, running_server

    bindir = find_pg_bin()
    if bindir is None:
        yield None
        return
    with running_server(bindir, "smo-bridge-bench-pg-") as url:
        yield url


def write_config(path: Path, state: str, sources: Sequence[tuple[str, str, str]],
                 extra: str = "") -> Path:
    """A configuration with `sources` as (name, kind, url), basic auth sandbox/sandbox."""
    lines = [f"state: {state}", "sources:"]
    for name, kind, url in sources:
        lines.append(f"  - {{name: {name}, kind: {kind}, url: {url}, "
                     "auth: {kind: basic, username: sandbox, password: sandbox}}")
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def count_rows(state: str, table: str = "raw_records") -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(state)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def replay_body(request: dict[str, Any]) -> bytes:
    return base64.b64decode(request["body"]) if request["body"] else b""
