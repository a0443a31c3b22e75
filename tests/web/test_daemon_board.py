"""The daemon serves the board when `web:` enables it: off by default, loopback unless a host
is given, basic auth from the environment, unknown keys refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from bridge.config import load_config
from bridge.daemon import Daemon
from bridge.errors import ConfigError
from bridge.store import open_store
from tests.cli.test_daemon import free_port
from tests.web.conftest import Synced


def _with_web(synced: Synced, tmp_path: Path, web: str) -> Path:
    path = tmp_path / "smo-bridge.yaml"
    path.write_text(synced.config_path.read_text() + web)
    return path


def test_the_board_is_off_by_default_and_on_loopback(synced: Synced) -> None:
    web = synced.config.web
    assert web.enabled is False and web.host == "127.0.0.1" and web.auth is None


def test_the_daemon_serves_the_board_with_auth_from_the_environment(
        synced: Synced, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("BOARD_PASSWORD", "daemon-Pa55-board")
    path = _with_web(synced, tmp_path, f"""web:
  enabled: true
  port: {port}
  auth: {{username: smo, password: "${{BOARD_PASSWORD}}"}}
""")
    config = load_config(path)
    assert "daemon-Pa55-board" in config.secrets()  # redacted from every log line
    daemon = Daemon(config, health_port=0)
    daemon.store = open_store(config.state)
    try:
        daemon._start_board()
        url = f"http://127.0.0.1:{port}/"
        assert requests.get(url, timeout=10).status_code == 401
        page = requests.get(url, auth=("smo", "daemon-Pa55-board"), timeout=10)
        assert page.status_code == 200 and "Operations gates" in page.text
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        # a reload that moves a source: the board's links follow it
        moved = "http://127.0.0.1:9/moved-jira"
        path.write_text(path.read_text().replace(synced.jira_url, moved))
        assert daemon.reload("test")
        assert daemon._board_pages is not None
        assert daemon._board_pages.sources["jira"][1] == moved
    finally:
        assert daemon._board is not None
        daemon._board.shutdown()
        daemon._board.server_close()
        daemon.store.close()


def test_an_unknown_web_key_names_its_place(synced: Synced, tmp_path: Path) -> None:
    path = _with_web(synced, tmp_path, "web:\n  enabled: true\n  prot: 8080\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert any(issue.path == "web.prot" for issue in raised.value.issues), raised.value.issues
