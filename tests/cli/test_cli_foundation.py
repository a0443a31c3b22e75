"""The CLI as a user runs it: a real `smo-bridge` process, its stdout, stderr and exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import clean_env

SECRET = "s3cr3t-Pa55word"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge.cli.main", *args], cwd=cwd,
                          env=clean_env(**(env or {})),
                          capture_output=True, text=True, timeout=120)


def test_config_validate_reports_all_problems_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "smo-bridge.yaml").write_text("""\
sources:
  - name: jira
    kind: jira
    url: https://example.atlassian.net
    auth: {kind: basic, username: bot, password: "${MISSING_TOKEN}"}
    verfy_tls: false
    page_size: lots
""")
    result = run("config", "validate", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "smo-bridge.yaml:5:40: sources[0].auth.password: environment variable MISSING_TOKEN is not set",
        "smo-bridge.yaml:6:5: sources[0].verfy_tls: unknown key 'verfy_tls'; did you mean 'verify_tls'?",
        "smo-bridge.yaml:7:5: sources[0].page_size: expected a whole number, got 'lots'",
    ]
    assert "Traceback" not in result.stderr


def test_config_validate_accepts_a_good_file_and_never_prints_the_secret(tmp_path: Path) -> None:
    config = tmp_path / "conf.yaml"
    config.write_text("""\
sources:
  - name: snow
    kind: servicenow
    url: https://example.service-now.com
    auth: {kind: basic, username: smo.bridge, password: "${SNOW_PASSWORD}"}
""")
    result = run("--config", str(config), "-vv", "config", "validate", cwd=tmp_path,
                 env={"SNOW_PASSWORD": SECRET})
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_config_from_environment_variable(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.yaml").write_text("sources: []\n")
    result = run("config", "validate", cwd=tmp_path,
                 env={"SMO_BRIDGE_CONFIG": str(tmp_path / "elsewhere.yaml")})
    assert result.returncode == 0, result.stderr
    missing = run("config", "validate", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip() == ("error: smo-bridge.yaml: configuration file not found "
                                      "(use --config or $SMO_BRIDGE_CONFIG)")


def test_status_json_on_a_new_store(tmp_path: Path) -> None:
    (tmp_path / "smo-bridge.yaml").write_text(
        f"state: sqlite:///{tmp_path / 'state.db'}\nsources:\n"
        "  - {name: jira, kind: jira, url: https://x.atlassian.net,"
        " auth: {kind: basic, username: u, password: p}}\n")
    assert run("db", "upgrade", cwd=tmp_path).returncode == 0
    result = run("status", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sources"] == [{"name": "jira", "kind": "jira", "last_success": None,
                                "records": 0, "projects": 0, "tickets": 0, "quarantined": 0,
                                "pull": {"complete": True, "completed_at": None,
                                         "failed_at": None}}]
    assert data["transitions"] == [] and data["workloads"] == []
    assert data["outbox"] == {"pending": 0, "failed": 0, "delivered": 0}


def test_status_without_a_store_says_so_and_creates_nothing(tmp_path: Path) -> None:
    result = run("status", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: no state store at sqlite:///smo-bridge.db: nothing "
                                     "has been synced here yet (`smo-bridge sync --once` creates it)")
    assert list(tmp_path.iterdir()) == []
    assert run("db", "upgrade", cwd=tmp_path).returncode == 0  # the default store, made on request
    result = run("status", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) >= {"sources", "transitions", "workloads", "outbox"}


def test_status_table_is_readable(tmp_path: Path) -> None:
    assert run("db", "upgrade", cwd=tmp_path).returncode == 0
    result = run("status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Sources" in result.stdout and "Outbox: 0 pending, 0 failed, 0 delivered" in result.stdout


def test_unreachable_state_store_is_one_line_without_the_password(tmp_path: Path) -> None:
    (tmp_path / "smo-bridge.yaml").write_text(
        f"state: postgresql+psycopg://bridge:{SECRET}@127.0.0.1:1/smo\n")
    result = run("status", cwd=tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: state store postgresql+psycopg://bridge:***@127.0.0.1:1/smo")
    assert SECRET not in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = run("status", "--format", "xml", cwd=tmp_path)
    assert result.returncode == 2
    assert "Invalid value for '--format'" in result.stderr


def test_json_logs_are_one_event_per_line(tmp_path: Path) -> None:
    assert run("db", "upgrade", cwd=tmp_path).returncode == 0
    result = run("-vv", "--log-format", "json", "status", cwd=tmp_path)
    assert result.returncode == 0
    events = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert all({"ts", "level", "logger", "event"} <= set(e) for e in events)
