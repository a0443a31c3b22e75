"""Articles with an owner, through the sandbox and the real pysnow client: the service's own
article is adopted, a person's edit survives, what the bridge publishes itself is no
evidence, and what it wrote for a transition that ended is retired."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update

from bridge.config import BridgeConfig, load_config
from bridge.derive.run import article_correlation
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.sandbox.knowledge_desk import KNOWLEDGE_MANAGER, approve_article, edit_article
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import Store, open_store
from bridge.store import repository as repo
from bridge.store.schema import projects
from connectors.servicenow_query import marker
from mappings.loader import default_path
from tests.integration.test_cycle import write_config

SandboxFactory = Callable[..., Sandbox]
#: the seeded services that have a transition and a person's published article on their CI
ADOPTED = {"Payments", "Identity & Access", "Email & Collaboration", "HR Portal"}


def ours(sb: Sandbox, tid: str) -> list[dict[str, str]]:
    rows = sb.servicenow_rows("kb_knowledge", f"metaLIKE{marker(article_correlation(tid))}")
    return sorted(rows, key=lambda r: r["number"])


def theirs(sb: Sandbox) -> dict[str, dict[str, str]]:
    """The people's published articles on a service's CI, by number."""
    return {r["number"]: r for r in sb.servicenow_rows("kb_knowledge", "workflow_state=published")
            if r["cmdb_ci"] and "[smo-bridge:" not in r["meta"]}


def kb_items(store: Store) -> dict[str, tuple[str, dict[str, Any]]]:
    """service -> (transition id, its kb_article gate item)."""
    with store.engine.connect() as conn:
        stored = repo.stored_transitions(conn)
    found = {}
    for tid, (_, payload) in stored.items():
        item = next(i for i in payload["gate"]["items"] if i["key"] == "kb_article")
        found[payload["service"]] = (tid, item)
    return found


def evidence(item: dict[str, Any]) -> str:
    return " ".join(e["detail"] for e in item.get("evidence") or [])


def cycle(config: BridgeConfig, store: Store, **kwargs: bool) -> None:
    result = Engine(config, store).run_cycle(**kwargs)
    assert result.exit_code == 0, [(s.name, s.error) for s in result.sources]


def test_adopted_edited_and_retired_articles(sandbox_factory: SandboxFactory,  # noqa: F811
                                             tmp_path: Path) -> None:
    sb = sandbox_factory(seed=31, tickets=200, jira_deployment="cloud")
    config = load_config(write_config(tmp_path, sb))
    store = open_store(config.state)
    try:
        people = theirs(sb)
        assert len(people) >= len(ADOPTED)
        cycle(config, store)
        items = kb_items(store)
        assert set(items) >= ADOPTED

        # adopted: no second article for those services, and theirs untouched
        for service in ADOPTED:
            tid, item = items[service]
            assert ours(sb, tid) == [], service
            assert item["status"] == "met" and "existing article" in evidence(item), item
        assert theirs(sb) == people  # 0 rows modified

        # a knowledge manager edits the bridge's draft of another service
        tid, _ = items["Observability"]
        [draft] = ours(sb, tid)
        assert draft["workflow_state"] == "draft" and draft["valid_to"]
        assert draft["cmdb_ci"]  # the service's CI, looked up by name for a Jira-only service
        edit_article(sb, draft["number"], text="<p>Observability: ask the desk first.</p>")
        cycle(config, store)
        edited, revision = ours(sb, tid)
        assert edited["number"] == draft["number"]
        assert edited["text"] == "<p>Observability: ask the desk first.</p>"
        assert edited["sys_updated_by"] == KNOWLEDGE_MANAGER  # the bridge wrote nothing to it
        assert revision["workflow_state"] == "draft"
        assert revision["short_description"].endswith(f"(revision of {draft['number']})")
        cycle(config, store)
        assert len(ours(sb, tid)) == 2  # proposed once, not once a cycle

        # a knowledge manager publishes the bridge's draft of a third service: the item
        # waits for the desk lead (the Service Desk group's manager); their approval meets it
        dwh, _ = items["Data Warehouse"]
        [dwh_draft] = ours(sb, dwh)
        edit_article(sb, dwh_draft["number"], workflow_state="published")
        cycle(config, store)
        _, item = kb_items(store)["Data Warehouse"]
        [desk] = sb.servicenow_rows("sys_user_group", "name=Service Desk")
        [lead] = sb.servicenow_rows("sys_user", f"sys_id={desk['manager']}")
        assert item["status"] == "unmet" and lead["name"] in item["missing"], item
        approve_article(sb, dwh_draft["number"], lead["sys_id"])
        cycle(config, store)
        _, item = kb_items(store)["Data Warehouse"]
        assert item["status"] == "met" and item["approved_by"] == lead["name"], item

        # Observability is merged into Data Warehouse: the bridge's drafts for it retire;
        # the article a person published stays (the bridge only proposes its retirement)
        with store.engine.begin() as conn:
            row = conn.execute(select(projects.c.payload).where(
                projects.c.source == "jira", projects.c.key == "OBS")).scalar_one()
            conn.execute(update(projects).where(projects.c.source == "jira", projects.c.key == "OBS")
                         .values(payload={**row, "link_keys": ["DWH"]}))
        cycle(config, store, pull=False)
        merged = {s: t for s, (t, _) in kb_items(store).items()}
        gone = tid if tid not in merged.values() else dwh
        states = {r["number"]: r["workflow_state"] for r in ours(sb, gone)}
        if gone == tid:
            assert states == {edited["number"]: "retired", revision["number"]: "retired"}
        else:
            assert states == {dwh_draft["number"]: "pending_retirement"}
        assert theirs(sb) == people  # never anyone else's

        # the Corporate Network project is cancelled: the bridge's draft for it retires
        net, _ = items["Corporate Network"]
        [net_draft] = ours(sb, net)
        source, key = net.split(":", 1)
        with store.engine.begin() as conn:
            row = conn.execute(select(projects.c.payload).where(
                projects.c.source == source, projects.c.key == key)).scalar_one()
            conn.execute(update(projects).where(projects.c.source == source, projects.c.key == key)
                         .values(payload={**row, "phase": "Cancelled"}))
        cycle(config, store, pull=False)
        assert [r["workflow_state"] for r in ours(sb, net)] == ["retired"]
        assert ours(sb, net)[0]["number"] == net_draft["number"]
        assert theirs(sb) == people
    finally:
        store.close()


def _publishing(kind: str, folder: Path) -> None:
    mapping = yaml.safe_load(default_path(kind).read_text())
    mapping["gate"]["items"] = [i for i in mapping["gate"]["items"] if i["key"] == "kb_article"]
    for item in mapping["gate"]["items"]:  # only the article can meet it
        item["evidence"] = {"kind": "article_published"}
    mapping["knowledge"] = {"template": str(default_path(kind).parent / "knowledge.html.j2"),
                            "workflow_state": "published"}
    (folder / f"{kind}.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))


def test_an_article_the_bridge_published_itself_is_no_evidence(
        sandbox_factory: SandboxFactory, tmp_path: Path) -> None:  # noqa: F811
    sb = sandbox_factory(seed=32, tickets=200, jira_deployment="cloud")
    _publishing("jira", tmp_path)
    _publishing("servicenow", tmp_path)
    path = write_config(tmp_path, sb, jira_extra="    mappings: [jira.yaml]\n")
    path.write_text(path.read_text().replace(
        "    kind: servicenow\n", "    kind: servicenow\n    mappings: [servicenow.yaml]\n", 1))
    config = load_config(path)
    store = open_store(config.state)
    try:
        for _ in range(2):
            cycle(config, store)
        items = kb_items(store)
        published = 0
        for service, (tid, item) in items.items():
            if service in ADOPTED:
                continue
            [article] = ours(sb, tid)
            assert article["workflow_state"] == "published"  # as configured, by the bridge
            published += 1
            assert item["status"] == "unmet", item
            assert "published by smo-bridge itself" in item["missing"]
        assert published >= 3

        # the service desk lead approves one: now a person stands behind it
        tid, _ = items["Observability"]
        [article] = ours(sb, tid)
        [desk] = sb.servicenow_rows("sys_user_group", "name=Service Desk")
        [lead] = sb.servicenow_rows("sys_user", f"sys_id={desk['manager']}")
        approve_article(sb, article["number"], lead["sys_id"])
        cycle(config, store)
        _, item = kb_items(store)["Observability"]
        assert item["status"] == "met" and "approved by" in evidence(item), item
        assert item["approved_by"] == lead["name"]
    finally:
        store.close()
