"""One SQLite store, many overlapping cycles: a daemon's pull jobs for two sources on two
threads and a `sync --once` started beside it, over and over. None meets "database is
locked": writers take the write lock when they begin and wait their turn."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from bridge.config import load_config
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from tests.helpers import clean_env
from tests.integration.test_cycle import write_config

SandboxFactory = Callable[..., Sandbox]
ROUNDS = 4


def test_overlapping_cycles_share_one_sqlite_store(sandbox_factory: SandboxFactory,  # noqa: F811
                                                   tmp_path: Path) -> None:
    sb = sandbox_factory(seed=41, tickets=150, jira_deployment="cloud")
    config_path = write_config(tmp_path, sb)
    config = load_config(config_path)
    store = open_store(config.state)  # one store for the "daemon"'s jobs, as the daemon has
    outcomes: list[tuple[str, str, str | None]] = []
    errors: list[str] = []

    def job(source: str) -> None:
        for _ in range(ROUNDS):
            try:
                result = Engine(config, store).run_cycle(source, push=source == "snow")
                outcomes.extend((o.name, o.status, o.error) for o in result.sources)
            except Exception as exc:  # counted: the assertion names them
                errors.append(f"{source}: {type(exc).__name__}: {exc}")

    def beside() -> None:
        for _ in range(2):
            done = subprocess.run([sys.executable, "-m", "bridge.cli.main", "--config",
                                   str(config_path), "sync", "--once"], cwd=tmp_path,
                                  env=clean_env(), capture_output=True, text=True, timeout=120)
            if done.returncode not in (0, 3) or "database is locked" in done.stderr:
                errors.append(f"sync --once: {done.returncode}: {done.stderr[-500:]}")

    threads = [threading.Thread(target=job, args=(name,)) for name in ("jira", "snow")]
    threads.append(threading.Thread(target=beside))
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    finally:
        store.close()
    assert errors == []
    # a pull finding the other process's lock is skipped, never failed
    assert not [o for o in outcomes if o[1] not in ("ok", "skipped")], outcomes
    assert sum(1 for o in outcomes if o[1] == "ok") >= ROUNDS
