"""Commands do only what they say: reading commands need no source secrets and never create
or upgrade a store; a dry run writes nothing anywhere; writing commands create a new store
(owner-only) but leave an older schema to `smo-bridge db upgrade`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from alembic import command

from bridge.store.database import Store, _alembic_config, create_store_engine, head_revision
from tests.cli.test_cli_foundation import run

CONFIG = """\
state: sqlite:///{db}
sources:
  - name: jira
    kind: jira
    url: http://127.0.0.1:9
    auth: {{kind: bearer, token: "${{NOT_SET_ANYWHERE_TOKEN}}"}}
"""


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "smo-bridge.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "state.db"))
    return path


def _old_store(url: str) -> None:
    old = Store(create_store_engine(url, create=True))
    cfg = _alembic_config()
    with old.engine.begin() as conn:  # a database made by the first release
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    old.close()


def test_reading_commands_need_no_secrets_and_create_nothing(tmp_path: Path) -> None:
    _config(tmp_path)
    for args in (["status"], ["report", "transitions"], ["outbox", "list"],
                 ["quarantine", "list"], ["explain", "Payments"]):
        done = run(*args, cwd=tmp_path)
        assert done.returncode == 1, (args, done.stderr)
        # the missing store is named, not the unset variable
        assert "no state store at sqlite:///" in done.stderr, (args, done.stderr)
        assert "NOT_SET_ANYWHERE_TOKEN" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["smo-bridge.yaml"]
    # a command that talks to the source still needs its secret
    sync = run("sync", "--once", cwd=tmp_path)
    assert sync.returncode == 2 and "NOT_SET_ANYWHERE_TOKEN is not set" in sync.stderr


def test_a_dry_run_on_a_fresh_folder_writes_no_file(tmp_path: Path) -> None:
    _config(tmp_path)
    done = run("sync", "--once", "--dry-run", cwd=tmp_path,
               env={"NOT_SET_ANYWHERE_TOKEN": "t0ken"})
    # the source is unreachable (port 9): the run fails, but it ran against a store in memory
    assert "the dry run starts from an empty one in memory" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["smo-bridge.yaml"]


def test_a_new_store_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    _config(tmp_path)
    assert run("db", "upgrade", cwd=tmp_path).returncode == 0
    for name in ("state.db",):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, oct(mode)
    assert run("status", cwd=tmp_path).returncode == 0
    for extra in tmp_path.glob("state.db-*"):  # WAL files take the database's mode
        assert stat.S_IMODE(extra.stat().st_mode) == 0o600, extra


def test_an_older_schema_waits_for_an_explicit_upgrade(tmp_path: Path) -> None:
    _config(tmp_path)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _old_store(url)
    for args in (["status"], ["sync", "--once", "--dry-run"]):
        done = run(*args, cwd=tmp_path, env={"NOT_SET_ANYWHERE_TOKEN": "t0ken"})
        assert done.returncode == 2, (args, done.stderr)
        assert "has schema 0001, this version needs" in done.stderr
        assert "`smo-bridge db upgrade`" in done.stderr
    checked = run("db", "status", "--format", "json", cwd=tmp_path)
    assert checked.returncode == 3
    assert json.loads(checked.stdout)["revision"] == "0001"
    assert run("db", "upgrade", cwd=tmp_path).returncode == 0
    checked = run("db", "status", "--format", "json", cwd=tmp_path)
    assert checked.returncode == 0 and json.loads(checked.stdout)["revision"] == head_revision()
    assert run("status", cwd=tmp_path).returncode == 0
