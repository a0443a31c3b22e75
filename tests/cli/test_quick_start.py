"""Quick commands import only what they use: `status` and `config validate` start without
Alembic, the vendor clients, the HTTP library (connectors declare their configuration in
light modules), numpy or rich (each costs a tenth of a second or so), and read the schema
revision without Alembic; `status` reads the store without SQLAlchemy. Checked by the modules a fresh process holds,
never by timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from bridge.derive.workloads import refresh_cells
from bridge.store import open_store, revision
from bridge.store.schema import tickets
from tests.derive.test_workload_definition import ROWS
from tests.helpers import clean_env

HEAVY = ("alembic", "jira", "pysnow", "numpy", "rich", "requests")


def loaded_after(code: str, cwd: Path, heavy: tuple[str, ...] = HEAVY) -> set[str]:
    """The heavy top-level packages a fresh interpreter holds after running `code`."""
    probe = (f"import sys\n{code}\nimport json\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy)!r})))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    config = tmp_path / "smo-bridge.yaml"
    config.write_text(
        f"state: sqlite:///{tmp_path / 'state.db'}\nsources:\n"
        "  - {name: jira, kind: jira, url: 'http://127.0.0.1:9', "
        "auth: {kind: basic, username: u, password: '${JIRA_TOKEN}'}}\n"
        "  - {name: snow, kind: servicenow, url: 'http://127.0.0.1:9', "
        "auth: {kind: basic, username: u, password: p}}\n"
        "push: {gate_status: [jira, snow], knowledge: snow}\n")
    open_store(f"sqlite:///{tmp_path / 'state.db'}").close()
    return config


def test_what_status_and_config_validate_import_holds_nothing_heavy(deployment: Path) -> None:
    code = ("import bridge.cli.main, bridge.cli.context, bridge.cli.status, bridge.cli.config_cmd\n"
            "from bridge.config import load_config\n"
            f"config = load_config({str(deployment)!r}, secrets=False)\n"
            "from bridge.cli.context import open_cli_store\n"
            "open_cli_store(config, read_only=True).close()\n")
    assert loaded_after(code, deployment.parent) == set()


def test_status_reads_the_stored_workloads_without_numpy_and_config_validate_nothing_heavy(
        deployment: Path) -> None:
    run = "from bridge.cli.main import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
    status = run.format(args=["--config", str(deployment), "status", "--format", "json"])
    assert loaded_after(status, deployment.parent) == set()
    # tickets and the workloads a derivation stored from them: status reads those
    store = open_store(f"sqlite:///{deployment.parent / 'state.db'}")
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(tickets), ROWS)
            refresh_cells(conn, ZoneInfo("UTC"))
    finally:
        store.close()
    # status reads through the driver (bridge.store.reader) and prints plain text tables
    assert loaded_after(status, deployment.parent, (*HEAVY, "sqlalchemy")) == set()
    table = run.format(args=["--config", str(deployment), "status"])
    assert loaded_after(table, deployment.parent, (*HEAVY, "sqlalchemy")) == set()
    validate = run.format(args=["--config", str(deployment), "config", "validate"])
    assert loaded_after(validate, deployment.parent) == set()


def test_the_revisions_read_without_alembic_are_alembics(store_url: str) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from bridge.store.database import _alembic_config

    assert revision.head() == ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert set(revision.revisions()) == {
        s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}
    store = open_store(store_url)
    try:
        with store.engine.connect() as conn:
            assert revision.stored(conn) == MigrationContext.configure(conn).get_current_revision()
            assert revision.stored(conn) == revision.head()
    finally:
        store.close()


def test_config_validate_loads_the_mapping_layer_only_for_files_it_names(tmp_path: Path) -> None:
    config = tmp_path / "smo-bridge.yaml"
    source = ("  - {name: jira, kind: jira, url: 'http://127.0.0.1:9', "
              "auth: {kind: basic, username: u, password: p}")
    config.write_text(f"sources:\n{source}}}\n")
    run = (f"from bridge.cli.main import main\nimport sys\n"
           f"code = main(['--config', {str(config)!r}, 'config', 'validate'])\n"
           "print(code, file=sys.stderr)\n")
    assert loaded_after(run, tmp_path, (*HEAVY, "mappings", "jinja2")) == set()
    done = subprocess.run([sys.executable, "-m", "bridge.cli.main", "--config", str(config),
                           "config", "validate"], cwd=tmp_path, env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, f"{config}: valid: jira (jira)\n")
    # a named mapping file is checked, every problem of it reported
    (tmp_path / "jira.yaml").write_text("meta: {kind: jira}\ntickets: [{practise: x}]\n")
    config.write_text(f"sources:\n{source}, mappings: [jira.yaml]}}\n")
    assert loaded_after(run, tmp_path, ("mappings",)) == {"mappings"}
    done = subprocess.run([sys.executable, "-m", "bridge.cli.main", "--config", str(config),
                           "config", "validate"], cwd=tmp_path, env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith(f"{tmp_path / 'jira.yaml'}:2:"), done.stderr
