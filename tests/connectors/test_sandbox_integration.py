"""Both connectors against the emulated Jira and ServiceNow over loopback, faults on.

The engine's part is played by `engine_read`: it keeps records by key, and when a read
fails with a TransientError it resumes from the last cursor it saw (a sorted stream may
checkpoint mid-way), as the engine does on its next cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bridge.errors import TransientError
from bridge.models import KnowledgeArticle, RawRecord
from bridge.sandbox import Sandbox
from connectors.base import Connector
from connectors.jira import JiraConfig, JiraConnector
from connectors.servicenow import ServiceNowConfig, ServiceNowConnector
from connectors.testing import ConnectorSuite

pytestmark = pytest.mark.sandbox

TICKETS = 400
RETRY = {"max_attempts": 8, "base_delay": 0.01, "max_delay": 3.0}
FAULTS: dict[str, Any] = {
    "rate_limit": 40,
    "rate_window_s": 1.0,
    "error_rate": 0.2,
    "malformed_rate": 0.05,
    "drop_rate": 0.05,
    "latency_ms": 0,
    "seed": 1,
}


@pytest.fixture(scope="module", params=["cloud", "server"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Any]:
    with Sandbox(
        seed=42, tickets=TICKETS, jira_deployment=request.param, jira_port=0, servicenow_port=0
    ) as sb:
        sb.deployment = request.param
        yield sb


@pytest.fixture(autouse=True)
def no_faults(sandbox: Any) -> Iterator[None]:
    yield
    for service in ("jira", "servicenow"):
        sandbox.faults(service).reset()


def jira_for(sb: Any, password: str = "sandbox", **extra: Any) -> JiraConnector:
    return JiraConnector(
        JiraConfig.model_validate(
            {
                "name": "jira",
                "kind": "jira",
                "url": sb.jira_url,
                "retry": RETRY,
                "auth": {"kind": "basic", "username": "sandbox", "password": password},
                **extra,
            }
        )
    )


def snow_for(sb: Any, password: str = "sandbox", **extra: Any) -> ServiceNowConnector:
    extra.setdefault("tables", ["pm_project", "incident", "kb_knowledge"])
    return ServiceNowConnector(
        ServiceNowConfig.model_validate(
            {
                "name": "snow",
                "kind": "servicenow",
                "url": sb.servicenow_url,
                "retry": RETRY,
                "auth": {"kind": "basic", "username": "sandbox", "password": password},
                **extra,
            }
        )
    )


def engine_read(connector: Connector, stream: str, max_failures: int = 200) -> dict[str, RawRecord]:
    kept: dict[str, RawRecord] = {}
    since = None
    spec = connector.stream(stream)
    failures = 0
    while True:
        try:
            for record in connector.read(stream, since, lambda item: None):
                if record.deleted:
                    kept.pop(record.key, None)
                else:
                    kept[record.key] = record
                if spec.is_sorted:
                    since = record.updated
            return kept
        except TransientError:
            failures += 1
            assert failures < max_failures, "the read never got through"
            if not spec.is_sorted:
                since = None


def clean_keys(connector: Connector, stream: str) -> list[str]:
    return [r.key for r in connector.read(stream)]


@pytest.mark.parametrize("stream", ["issues", "projects"])
def test_jira_every_record_arrives_exactly_once_under_faults(sandbox: Any, stream: str) -> None:
    connector = jira_for(sandbox, page_size=50)
    baseline = clean_keys(connector, stream)
    assert baseline and len(baseline) == len(set(baseline)), "a clean read has no duplicates"
    sandbox.faults("jira").configure(**FAULTS)
    got = set(engine_read(jira_for(sandbox, page_size=50), stream))
    injected = sandbox.faults("jira").injected
    assert sum(injected.values()) > 0, "the faults were switched on"
    sandbox.faults("jira").reset()
    # the sandbox's clock runs: records may appear between the reads, never vanish
    assert set(baseline) <= got <= set(clean_keys(connector, stream))


@pytest.mark.parametrize("stream", ["incident", "pm_project"])
def test_servicenow_every_record_arrives_exactly_once_under_faults(
    sandbox: Any, stream: str
) -> None:
    connector = snow_for(sandbox, page_size=50)
    baseline = clean_keys(connector, stream)
    assert baseline and len(baseline) == len(set(baseline))
    assert set(connector.census(stream)) == set(baseline)
    sandbox.faults("servicenow").configure(**FAULTS)
    got = set(engine_read(snow_for(sandbox, page_size=50), stream))
    injected = sandbox.faults("servicenow").injected
    assert sum(injected.values()) > 0, "the faults were switched on"
    sandbox.faults("servicenow").reset()
    assert set(baseline) <= got <= set(clean_keys(connector, stream))


def test_jira_gate_status_push_is_readable_back_and_comments_once(sandbox: Any) -> None:
    connector = jira_for(sandbox)
    projects = [r.payload for r in connector.read("projects")]
    transition = next(
        p for p in projects if (p.get("projectCategory") or {}).get("name") == "Service Transition"
    )
    key = transition["key"]
    status = {"status": "in_progress", "items": [{"key": "runbook", "status": "met"}]}
    first = connector.push_gate_status(key, status, f"{key}:gate:1", "Gate in progress")
    again = connector.push_gate_status(key, status, f"{key}:gate:1", "Gate in progress")
    assert first.outcome in ("created", "updated") and again.outcome == "unchanged"
    assert jira_for(sandbox).gate_property(key) == status
    if first.note == "added":
        epic = connector._first_epic(key)
        assert epic is not None
        assert connector.comment_once(epic, "Gate in progress", f"{key}:gate:1") == "exists"


def test_servicenow_pushes_are_readable_back(sandbox: Any) -> None:
    connector = snow_for(sandbox)
    project = next(iter(connector.read("pm_project")))
    status = {"status": "at_risk", "items": []}
    result = connector.push_gate_status(project.key, status, "tr:gate:1", "Gate at risk")
    assert (
        connector.push_gate_status(project.key, status, "tr:gate:1", "Gate at risk").outcome
        == "unchanged"
    )
    assert result.remote_id == project.key
    article = KnowledgeArticle(
        transition_id="tr",
        service="Payments",
        short_description="Payments",
        html="<p>How to run Payments</p>",
        keywords=["payments"],
        content_hash="x",
    )
    created = connector.push_article(article, "tr:article")
    assert connector.push_article(article, "tr:article").outcome == "unchanged"
    reader = snow_for(sandbox)
    stored = [
        r
        for r in reader.read("kb_knowledge")
        if getattr(reader.article_state(r), "correlation", None) == "tr:article"
    ]
    assert [r.key for r in stored] == [created.remote_id]
    # a stock instance has no gate column: the status lives in a tagged work note
    notes = [row["value"] for row in sandbox.servicenow_rows(
        "sys_journal_field", f"element_id={project.key}^element=work_notes")]
    assert sum("[smo-bridge:tr:gate:1]" in note for note in notes) == 1


class TestSandboxJiraSuite(ConnectorSuite):
    @pytest.fixture
    def connector(self, sandbox: Any) -> Connector:
        return jira_for(sandbox)

    @pytest.fixture
    def bad_connector(self, sandbox: Any) -> Connector:
        return jira_for(sandbox, password="wrong")

    @pytest.fixture
    def quarantine_case(self) -> tuple[Connector, str]:
        pytest.skip("the sandbox serves only parsable records; the fakes cover quarantine")


class TestSandboxServiceNowSuite(ConnectorSuite):
    @pytest.fixture
    def connector(self, sandbox: Any) -> Connector:
        return snow_for(sandbox, tables=["incident", "pm_project"])

    @pytest.fixture
    def bad_connector(self, sandbox: Any) -> Connector:
        return snow_for(sandbox, password="wrong")

    @pytest.fixture
    def quarantine_case(self) -> tuple[Connector, str]:
        pytest.skip("the sandbox serves only parsable records; the fakes cover quarantine")


def test_jira_projects_page_the_same_whatever_the_page_size(sandbox: Any) -> None:
    """Cloud pages /project/search (startAt, isLast); Server lists /project at once."""
    whole = [r.key for r in jira_for(sandbox, page_size=100).read("projects")]
    paged = [r.key for r in jira_for(sandbox, page_size=3).read("projects")]
    assert whole and paged == whole and len(set(whole)) == len(whole)
    first = jira_for(sandbox).read("projects")
    payload = next(iter(first)).payload
    assert payload.get("projectCategory", {}).get("name")
    if sandbox.deployment == "cloud":  # the sandbox's Server /project ignores expand=lead
        assert payload.get("lead")
    assert isinstance(payload.get("versions"), list)


def test_jira_comments_and_worklogs_streams(sandbox: Any) -> None:
    connector = jira_for(sandbox, comments=True, worklogs=True)
    issues = {r.key for r in connector.read("issues")}
    for stream, text in (("comments", "bodyText"), ("worklogs", "commentText")):
        records = list(connector.read(stream))
        assert records, f"the sandbox holds {stream}"
        assert len({r.key for r in records}) == len(records)
        for record in records:
            assert record.updated is not None and record.updated.utcoffset() is not None
            assert record.payload["issueKey"] in issues
            assert isinstance(record.payload[text], str)
