from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import find_config_path, load_config
from bridge.errors import ConfigError

GOOD = """\
state: sqlite:///state.db
sources:
  - name: jira
    kind: jira
    url: https://example.atlassian.net/
    auth: {kind: basic, username: bot@example.com, password: "${JIRA_TOKEN}"}
  - name: snow
    kind: servicenow
    url: https://example.service-now.com
    auth: {kind: basic, username: smo.bridge, password: "${SNOW_PASSWORD}"}
    verify_tls: false
push:
  gate_status: [jira, snow]
  knowledge: snow
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smo-bridge.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.lines()


def test_contract_example_loads_with_secrets_from_the_environment(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JIRA_TOKEN", "tok-123")
    monkeypatch.setenv("SNOW_PASSWORD", "pw-456")
    config = load_config(write(tmp_path, GOOD))
    jira, snow = config.sources
    assert jira.url == "https://example.atlassian.net"
    assert jira.auth.kind == "basic" and jira.verify_tls is True
    assert snow.verify_tls is False
    assert config.push is not None and config.push.gate_status == ["jira", "snow"]
    assert sorted(config.secrets()) == ["pw-456", "tok-123"]
    assert "tok-123" not in repr(config) and "pw-456" not in str(config.model_dump())


def test_misspelt_key_wrong_type_and_missing_variable_all_reported(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    path = write(tmp_path, """\
sources:
  - name: jira
    kind: jira
    url: https://example.atlassian.net
    auth: {kind: basic, username: bot, password: "${NOPE_TOKEN}"}
    verfy_tls: false
    page_size: lots
""")
    assert problems(path) == [
        f"{path}:5:40: sources[0].auth.password: environment variable NOPE_TOKEN is not set",
        f"{path}:6:5: sources[0].verfy_tls: unknown key 'verfy_tls'; did you mean 'verify_tls'?",
        f"{path}:7:5: sources[0].page_size: expected a whole number, got 'lots'",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("stat: sqlite:///x.db\n", "1:1: stat: unknown key 'stat'; did you mean 'state'?"),
    ("sources:\n  - {name: a, kind: jirra, url: https://x, auth: {kind: basic, username: u, password: p}}\n",
     "2:15: sources[0].kind: unknown source kind 'jirra'; did you mean 'jira'?"),
    ("sources:\n  - {name: Bad_Name, kind: jira, url: https://x, auth: {kind: basic, username: u, password: p}}\n",
     "2:6: sources[0].name: 'Bad_Name' is not a valid name: lowercase letters, digits and '-'"),
    ("sources:\n  - {name: a, kind: jira, url: ftp://x, auth: {kind: basic, username: u, password: p}}\n",
     "2:27: sources[0].url: must start with http:// or https://"),
    ("sources:\n  - {name: a, kind: jira, url: https://x, auth: {kind: basic, username: u}}\n",
     "2:43: sources[0].auth: missing required key 'password'"),
    ("sources:\n  - {name: a, kind: jira, url: https://x, auth: {kind: digest, username: u}}\n",
     "2:43: sources[0].auth: unknown kind 'digest' (one of basic, bearer, oauth2)"),
    ("push:\n  knowledge: snow\n", "2:3: push.knowledge: no source named 'snow'"),
    ("sources: {}\n", "1:1: sources: expected a list, got dict"),
    ("a: [1\n", "invalid YAML"),
    ("state: x\nstate: y\n", "2:1: state: duplicate key"),
    ("reporting: {timezone: Mars/Olympus}\n", "1:13: reporting.timezone: unknown time zone 'Mars/Olympus'"),
])
def test_invalid_configurations(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    lines = problems(path)
    assert len(lines) == 1, lines
    assert expected in lines[0]
    assert lines[0].startswith(str(path))


def test_duplicate_source_names(tmp_path: Path) -> None:
    src = "{name: a, kind: jira, url: https://x, auth: {kind: basic, username: u, password: p}}"
    path = write(tmp_path, f"sources:\n  - {src}\n  - {src}\n")
    assert problems(path) == [f"{path}:3:6: sources[1].name: duplicate source name 'a' (first used by sources[0])"]


def test_mapping_files_are_resolved_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "jira.yaml").write_text("{}\n")
    src = "{name: a, kind: jira, url: https://x, auth: {kind: basic, username: u, password: p}"
    path = write(tmp_path, f"sources:\n  - {src}, mappings: [maps/jira.yaml, maps/none.yaml]}}\n")
    assert problems(path) == [f"{path}:2:117: sources[0].mappings[1]: mapping file 'maps/none.yaml' not found"]


def test_config_discovery_order(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SMO_BRIDGE_CONFIG", str(tmp_path / "env.yaml"))
    assert find_config_path(tmp_path / "flag.yaml") == tmp_path / "flag.yaml"
    assert find_config_path(None) == tmp_path / "env.yaml"
    monkeypatch.delenv("SMO_BRIDGE_CONFIG")
    assert find_config_path(None) == Path("smo-bridge.yaml")


def test_every_problem_of_a_source_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  - {name: a, kind: jira, url: https://x, "
                           "auth: {kind: basic, username: u, pasword: p}}\n")
    assert problems(path) == [  # the misspelling, once: not also the key it misspells as missing
        f"{path}:2:76: sources[0].auth.pasword: unknown key 'pasword'; did you mean 'password'?",
    ]


def test_per_source_schedules_and_cron_are_checked(tmp_path: Path) -> None:
    src = "{name: jira, kind: jira, url: https://x, auth: {kind: basic, username: u, password: p}}"
    good = write(tmp_path, f"sources:\n  - {src}\ndaemon:\n  sources:\n    jira: {{cron: '*/5 * * * *'}}\n")
    config = load_config(good)
    assert config.schedule_for("jira").cron == "*/5 * * * *"
    assert config.schedule_for("other").interval_seconds == 900
    bad = write(tmp_path, f"sources:\n  - {src}\ndaemon:\n  sources:\n    jria: {{cron: 'every day'}}\n")
    lines = problems(bad)
    assert len(lines) == 2
    assert any("daemon.sources.jria.cron: not a crontab expression" in line for line in lines)
    assert any("no source named 'jria'; did you mean 'jira'?" in line for line in lines)


def test_a_push_target_must_be_able_to_receive_it(tmp_path: Path) -> None:
    src = "{name: a, kind: jira, url: https://x, auth: {kind: basic, username: u, password: p}}"
    path = write(tmp_path, f"sources:\n  - {src}\npush: {{gate_status: [a], knowledge: a}}\n")
    assert problems(path) == [f"{path}:3:26: push.knowledge: source 'a' (jira) cannot receive knowledge"]
