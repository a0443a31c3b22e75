"""Logs an operator reads: a structured line per cycle, every error one line in the chosen
format, no traceback or record payload at default verbosity, no scheduler chatter."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import insert

from bridge.config import load_config
from bridge.daemon import Daemon
from bridge.errors import ConfigError, Issue, SourceError
from bridge.logs import VALUES_ONLY, configure, exception_summary, redact
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from bridge.store.schema import runs
from tests.helpers import clean_env
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

SandboxFactory = Callable[..., Sandbox]
PERSON = "ann.example@example.org"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure() replaces the root handler: put pytest's logging back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("bridge").setLevel(logging.NOTSET)


def events(text: str) -> list[dict[str, Any]]:
    """Every stderr line parsed as one JSON object (fails on any other line)."""
    return [json.loads(line) for line in text.splitlines()]


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge.cli.main", *args], cwd=cwd,
                          env=clean_env(), capture_output=True, text=True, timeout=120)


# -- the cycle line ------------------------------------------------------------------------


def test_json_sync_logs_one_event_per_line_with_a_cycle_line_per_source(
        sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=5, tickets=40, jira_deployment="cloud")
    config = write_config(tmp_path, sb)
    result = cli(config, "-v", "--log-format", "json", "sync", "--once")
    assert result.returncode == 0, result.stderr
    logged = events(result.stderr)
    assert all({"ts", "level", "logger", "event"} <= set(e) for e in logged)
    cycles = {e["source"]: e for e in logged if "run_id" in e}
    assert set(cycles) == {"jira", "snow"}
    store = open_store(load_config(config).state)
    try:
        with store.engine.connect() as conn:
            recorded = {row.source: row for row in conn.execute(runs.select())}
    finally:
        store.close()
    for name, cycle in cycles.items():
        assert cycle["level"] == "info" and cycle["logger"] == "bridge.engine"
        assert cycle["status"] == "ok"
        assert cycle["run_id"] == recorded[name].id  # the run it reports is the one stored
        for key, value in recorded[name].counts.items():
            assert cycle[key] == value, key
        assert cycle["pulled"] > 0
        assert cycle["derived"] is True and cycle["transitions"] >= 0
        assert 0 <= cycle["pull_seconds"] <= cycle["cycle_seconds"]
        assert "delivered" in cycle and "push_failures" in cycle
        assert cycle["event"].startswith(f"{name}: pulled {cycle['pulled']} ")
        assert f"[run {cycle['run_id']}]" in cycle["event"]


def test_text_cycle_line_reads_as_a_sentence(sandbox_factory: SandboxFactory,  # noqa: F811
                                             tmp_path: Path) -> None:
    sb = sandbox_factory(seed=6, tickets=20, jira_deployment="cloud")
    config = write_config(tmp_path, sb, push=False)
    result = cli(config, "-v", "sync", "--once", "--source", "jira")
    assert result.returncode == 0, result.stderr
    [line] = [x for x in result.stderr.splitlines() if "bridge.engine: jira: pulled" in x]
    assert re.search(r" INFO bridge\.engine: jira: pulled \d+ \(\d+ new, \d+ changed, \d+ deleted; "
                     r"\d+ mapped, \d+ quarantined\) in \d+\.\d s, ok; \d+ transition\(s\) "
                     r"\(\d+ changed\), \d+ push\(es\) planned \[run 1\]$", line), line


def test_default_verbosity_shows_the_daemons_work_but_not_a_commands(restore_logging: None) -> None:
    stream = io.StringIO()
    configure(0, "json", stream, report_work=True)
    logging.getLogger("bridge.engine").info("jira: pulled 3", extra={"run_id": 7})
    logging.getLogger("apscheduler.executors.default").info("Running job \"reload\"")
    logging.getLogger("connectors.jira").info("page 2")
    [event] = events(stream.getvalue())
    assert event["run_id"] == 7
    stream = io.StringIO()
    configure(0, "json", stream)  # any other command: warnings and errors only
    logging.getLogger("bridge.engine").info("jira: pulled 3")
    assert stream.getvalue() == ""


def test_extra_fields_are_redacted_like_the_message(restore_logging: None) -> None:
    stream = io.StringIO()
    configure(1, "json", stream)
    redact.add(['s3"cr3t\\value'])  # quotes and backslashes: escaped in JSON, still found
    logging.getLogger("bridge.test").warning(
        "got %s", 's3"cr3t\\value', extra={"detail": 'was s3"cr3t\\value', "api_token": "abc",
                                           "nested": {"url": "https://u:pw@host/x"}, "count": 3})
    [event] = events(stream.getvalue())
    assert event["event"] == "got ***" and event["detail"] == "was ***"
    assert event["api_token"] == "***" and event["nested"] == {"url": "https://u:***@host/x"}
    assert event["count"] == 3
    assert "cr3t" not in stream.getvalue()


# -- no traceback, no payload ----------------------------------------------------------------


def failing_daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    config_path = tmp_path / "smo-bridge.yaml"
    config_path.write_text(f"state: sqlite:///{tmp_path / 'state.db'}\nsources:\n"
                           "  - {name: jira, kind: jira, url: https://x.atlassian.net,"
                           " auth: {kind: basic, username: u, password: p}}\n")
    daemon = Daemon(load_config(config_path))
    daemon.store = open_store(daemon.config.state)

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise ValueError(f"invalid literal for int() with base 10: '{PERSON}'")

    monkeypatch.setattr("bridge.daemon.Engine.run_cycle", broken)
    return daemon


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_unexpected_daemon_failure_is_one_line_without_its_payload(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None, fmt: str) -> None:
    daemon = failing_daemon(tmp_path, monkeypatch)
    stream = io.StringIO()
    configure(0, fmt, stream, report_work=True)
    try:
        daemon.pull_job("jira")
    finally:
        assert daemon.store is not None
        daemon.store.close()
    out = stream.getvalue()
    assert len(out.splitlines()) == 1, out
    assert "Traceback" not in out and PERSON not in out
    assert "cycle for jira failed unexpectedly (ValueError; -v shows the traceback)" in out
    assert daemon.metrics.failures.labels("jira")._value.get() == 1
    if fmt == "json":
        assert events(out)[0]["source"] == "jira" and "exception" not in events(out)[0]


def test_with_v_the_daemon_failure_carries_its_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> None:
    daemon = failing_daemon(tmp_path, monkeypatch)
    stream = io.StringIO()
    configure(1, "json", stream)
    try:
        daemon.pull_job("jira")
    finally:
        assert daemon.store is not None
        daemon.store.close()
    [event] = events(stream.getvalue())
    assert event["exception"].startswith("Traceback") and "ValueError" in event["exception"]


def test_a_store_error_at_default_verbosity_carries_no_record_values(
        tmp_path: Path, restore_logging: None) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    stream = io.StringIO()
    configure(0, "text", stream)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(runs).values(id=1, kind="sync", source=PERSON, status="ok",
                                             started_at=None))  # NOT NULL: refused
    except Exception:
        logging.getLogger("bridge.engine").exception("jira: unexpected failure")
    finally:
        store.close()
    out = stream.getvalue()
    assert len(out.splitlines()) == 1, out
    assert "IntegrityError: (sqlite3.IntegrityError) NOT NULL constraint failed" in out
    assert PERSON not in out and "INSERT" not in out and "Traceback" not in out


@pytest.mark.parametrize(("error", "summary"), [
    (ValueError(f"invalid literal for int() with base 10: '{PERSON}'"), "ValueError"),
    (KeyError(PERSON), "KeyError"),
    (SourceError("jira", "HTTP 401: check the credentials"),
     "SourceError: source 'jira': HTTP 401: check the credentials"),
    (OSError(98, "Address already in use"), "OSError: [Errno 98] Address already in use"),
])
def test_an_exception_is_summarised_without_what_it_quotes(error: BaseException,
                                                          summary: str) -> None:
    assert exception_summary(error) == summary


# -- errors: one line, in the chosen format ------------------------------------------------


def test_a_configuration_error_in_json_mode_is_one_json_line(tmp_path: Path) -> None:
    (tmp_path / "smo-bridge.yaml").write_text("sources: []\nstat: oops\n")
    result = run_cli(tmp_path, "--log-format", "json", "run")
    assert result.returncode == 2
    [event] = events(result.stderr)
    assert event["level"] == "error"
    assert event["event"] == "smo-bridge.yaml:2:1: stat: unknown key 'stat'; did you mean 'state'?"
    assert (event["file"], event["line"], event["column"], event["field"]) == (
        "smo-bridge.yaml", 2, 1, "stat")
    assert result.stdout == ""


def test_errors_before_and_after_parsing_follow_the_json_format(tmp_path: Path) -> None:
    usage = run_cli(tmp_path, "--log-format=json", "no-such-command")
    assert usage.returncode == 2
    [event] = events(usage.stderr)
    assert event["level"] == "error" and "no-such-command" in event["event"]
    missing = run_cli(tmp_path, "--log-format", "json", "status")
    assert missing.returncode == 1
    [event] = events(missing.stderr)
    assert event["event"].startswith("no state store at sqlite:///smo-bridge.db")


def test_a_configuration_problem_naming_a_password_key_is_not_mangled(
        restore_logging: None) -> None:
    stream = io.StringIO()
    configure(0, "json", stream)
    error = ConfigError("bad", [Issue("c.yaml", 3, 5, "sources[0].auth.password",
                                      "environment variable X is not set")])
    logging.getLogger("bridge.cli").error(error.lines()[0], extra={VALUES_ONLY: True})
    [event] = events(stream.getvalue())
    assert event["event"] == ("c.yaml:3:5: sources[0].auth.password: environment variable X "
                              "is not set")  # wording ours: "password: environment" stays


# -- the scheduler keeps quiet -------------------------------------------------------------


@pytest.mark.parametrize(("verbosity", "shown"), [(1, False), (2, True)])
def test_the_schedulers_own_lines_need_vv(restore_logging: None, verbosity: int,
                                          shown: bool) -> None:
    stream = io.StringIO()
    configure(verbosity, "text", stream)
    ran = threading.Event()
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(ran.set, IntervalTrigger(seconds=5), id="reload",
                      name="reload configuration", next_run_time=datetime.now(UTC))
    scheduler.start()
    try:
        assert ran.wait(10)
        logging.getLogger("bridge.daemon").info("daemon started")
    finally:
        scheduler.shutdown(wait=True)
    text = stream.getvalue()
    assert "daemon started" in text
    assert ('Running job "reload configuration' in text) is shown, text
    assert (" apscheduler." in text) is shown
