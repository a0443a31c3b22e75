"""Republish repairs the knowledge base: a deleted article is re-created, what the bridge's
account changed is restored, a person's edit is left alone; each action is reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bridge import migrate
from bridge.config import load_config
from bridge.engine import Engine
from bridge.errors import ConfigError
from bridge.sandbox import Sandbox
from bridge.sandbox.knowledge_desk import edit_article
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from bridge.store import repository as repo
from connectors import http
from tests.integration.test_articles import ours
from tests.integration.test_cycle import write_config
from tests.integration.test_migrate import cli

pytestmark = pytest.mark.sandbox
SandboxFactory = Callable[..., Sandbox]


def test_republish_restores_a_deleted_article_and_what_the_bridge_wrote_never_a_persons_edit(
        sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(http, "pause", lambda seconds: None)
    sb = sandbox_factory(seed=21, tickets=300, jira_deployment="cloud")
    path = write_config(tmp_path, sb)
    config = load_config(path)
    store = open_store(config.state)
    try:
        assert Engine(config, store).run_cycle().exit_code == 0
        with store.engine.connect() as conn:
            tids = sorted(repo.stored_transitions(conn))
        written = {tid: rows[0] for tid in tids if len(rows := ours(sb, tid)) == 1}
        assert len(written) >= 3
        deleted, tampered, edited = sorted(written)[:3]

        table = sb.servicenow_store.table("kb_knowledge")
        assert table is not None
        index = table.locate(written[deleted]["sys_id"])
        assert index is not None
        sb.servicenow_store.delete(table, index)  # someone deleted the bridge's article
        assert ours(sb, deleted) == []
        edit_article(sb, written[tampered]["number"], user="sandbox", text="<p>overwritten</p>")
        edit_article(sb, written[edited]["number"], text="<p>the desk's own words</p>")

        # an ordinary cycle plans nothing for unchanged articles: the deletion stays
        Engine(config, store).run_cycle()
        assert ours(sb, deleted) == []

        result = migrate.republish(config, store)
        assert result.exit_code == 0

        restored = ours(sb, deleted)
        assert len(restored) == 1 and restored[0]["sys_id"] != written[deleted]["sys_id"]
        assert restored[0]["short_description"] == written[deleted]["short_description"]
        assert restored[0]["text"] == written[deleted]["text"]
        assert ours(sb, tampered)[0]["text"] == written[tampered]["text"]
        kept = [r for r in ours(sb, edited) if r["sys_id"] == written[edited]["sys_id"]]
        assert kept[0]["text"] == "<p>the desk's own words</p>"  # a person's edit is never undone

        outcomes = {(a["remote_id"], a["outcome"]) for a in result.actions if a["operation"] == "article"}
        assert (restored[0]["sys_id"], "created") in outcomes
        assert (written[tampered]["sys_id"], "updated") in outcomes
        assert (written[edited]["sys_id"], "updated") not in outcomes
        assert any(a["operation"] == "gate_status" for a in result.actions)

        # the command line reports each action, and refuses an unknown transition by name
        done = cli(path, "migrate", "republish", "--transition", deleted)
        assert done.returncode == 0, done.stderr
        assert "article → snow: unchanged" in done.stdout
        typo = deleted[:-1]
        with pytest.raises(ConfigError, match=f"did you mean {deleted}"):
            migrate.republish(config, store, typo)
        wrong = cli(path, "migrate", "republish", "--transition", "jira:NOPE")
        assert wrong.returncode == 2 and "no such transition" in wrong.stderr
    finally:
        store.close()
