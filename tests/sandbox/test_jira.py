"""The emulated Jira through the real `jira` library and plain HTTP, in both flavours."""

from __future__ import annotations

import re
from typing import Any

import jira
import pytest
import requests

from bridge.sandbox import Sandbox
from connectors.jira import SERVER_PROJECT_EXPAND
from tests.sandbox.conftest import AUTH

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")


def client(sb: Sandbox) -> jira.JIRA:
    return jira.JIRA(server=sb.jira_url, basic_auth=AUTH, max_retries=0)


@pytest.fixture(params=["cloud", "server"])
def flavour(request: pytest.FixtureRequest, sandbox: Sandbox, sandbox_server: Sandbox) -> Sandbox:
    return sandbox if request.param == "cloud" else sandbox_server


def test_server_info_names_the_deployment(flavour: Sandbox) -> None:
    j = client(flavour)
    assert j.deploymentType == ("Cloud" if flavour.jira_deployment == "cloud" else "Server")
    assert j.myself()["timeZone"] == "America/New_York"  # stock: a zone behind UTC


def test_projects_versions_and_fields(flavour: Sandbox) -> None:
    j = client(flavour)
    projects = {p.key: p for p in j.projects()}
    assert {"OPS", "DEV", "NET", "PAYX"} <= set(projects)
    assert projects["PAYX"].projectCategory.name == "Service Transition"
    versions = [v.name for v in j.project_versions("PAYX")]
    assert versions == [
        "Start-up meeting",
        "Follow-up meeting",
        "Review meeting",
        "Go-live",
        "Hypercare end",
    ]
    fields = {f["id"]: f for f in j.fields()}
    assert fields["customfield_10042"]["name"] == "Go-live date"
    assert fields["customfield_10044"]["schema"]["type"] == "option"


def test_cloud_enhanced_search_pages_through_everything(sandbox: Sandbox) -> None:
    j = client(sandbox)
    issues = j.enhanced_search_issues(
        "project = OPS ORDER BY updated ASC, key ASC", maxResults=0, fields="updated"
    )
    project = sandbox.jira_store.data.by_key["OPS"]
    assert len(issues) == project.count
    assert len({i.key for i in issues}) == project.count
    stamps = [i.fields.updated for i in issues]
    assert all(TIMESTAMP.match(s) for s in stamps)


def test_server_search_pages_with_totals(sandbox_server: Sandbox) -> None:
    j = client(sandbox_server)
    issues = j.search_issues("project in (OPS, NET) ORDER BY updated ASC", maxResults=False)
    data = sandbox_server.jira_store.data
    assert len(issues) == data.by_key["OPS"].count + data.by_key["NET"].count
    first = j.search_issues("project = OPS", maxResults=10)
    assert first.total == data.by_key["OPS"].count and len(first) == 10


def test_comments_round_trip(flavour: Sandbox) -> None:
    j = client(flavour)
    comment = j.add_comment("DEV-3", "gate status: in_progress")
    assert comment.body == "gate status: in_progress"
    assert "gate status: in_progress" in [c.body for c in j.comments("DEV-3")]
    assert "gate status: in_progress" in flavour.jira_comments("DEV-3")


def test_v3_speaks_adf_and_v2_plain_text(sandbox: Sandbox) -> None:
    v3 = requests.get(f"{sandbox.jira_url}/rest/api/3/issue/PAYX-1", auth=AUTH, timeout=5).json()
    v2 = requests.get(f"{sandbox.jira_url}/rest/api/2/issue/PAYX-1", auth=AUTH, timeout=5).json()
    assert v3["fields"]["description"]["type"] == "doc"
    assert isinstance(v2["fields"]["description"], str)
    assert v2["fields"]["customfield_10043"] == "Payments"
    assert v2["fields"]["customfield_10042"] is not None
    assert v2["fields"]["resolution"] is None and v2["id"].isdigit()
    bad = requests.post(
        f"{sandbox.jira_url}/rest/api/3/issue/PAYX-1/comment",
        auth=AUTH,
        json={"body": "plain"},
        timeout=5,
    )
    assert bad.status_code == 400 and "comment" in bad.json()["errors"]


def test_deliverables_carry_gate_labels_and_approvals(sandbox: Sandbox) -> None:
    body = requests.post(
        f"{sandbox.jira_url}/rest/api/3/search/jql",
        auth=AUTH,
        timeout=5,
        json={
            "jql": "project = PAYX AND issuetype = Task",
            "fields": ["labels", "customfield_10046", "customfield_10047", "status"],
        },
    ).json()
    labels = {label for issue in body["issues"] for label in issue["fields"]["labels"]}
    assert "gate:kb_article" in labels and "gate:runbook" in labels
    deliverables = [i for i in body["issues"] if "gate:receivers_signoff" not in i["fields"]["labels"]]
    assert all("accountId" in i["fields"]["customfield_10046"] for i in deliverables)
    # each receiving team's sign-off: no appointed approver, the team is the receiver
    signoffs = [i for i in body["issues"] if "gate:receivers_signoff" in i["fields"]["labels"]]
    assert len(signoffs) == 2 and all(i["fields"]["customfield_10046"] is None for i in signoffs)


def test_properties_put_get_list_delete(flavour: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flavour.jira_store, "project_admin", True)  # needs Administer Projects
    base = f"{flavour.jira_url}/rest/api/2"
    for path in ("issue/PAYX-1", "project/PAYX"):
        url = f"{base}/{path}/properties/smo.gate"
        assert (
            requests.put(url, json={"status": "at_risk"}, auth=AUTH, timeout=5).status_code == 201
        )
        assert requests.put(url, json={"status": "passed"}, auth=AUTH, timeout=5).status_code == 200
        assert requests.get(url, auth=AUTH, timeout=5).json() == {
            "key": "smo.gate",
            "value": {"status": "passed"},
        }
        keys = requests.get(f"{base}/{path}/properties", auth=AUTH, timeout=5).json()["keys"]
        assert [k["key"] for k in keys] == ["smo.gate"]
    assert flavour.jira_project_property("PAYX", "smo.gate") == {"status": "passed"}
    url = f"{base}/issue/PAYX-1/properties/smo.gate"
    assert requests.delete(url, auth=AUTH, timeout=5).status_code == 204
    assert requests.get(url, auth=AUTH, timeout=5).status_code == 404


def test_errors_look_like_jira(sandbox: Sandbox, sandbox_server: Sandbox) -> None:
    def call(sb: Sandbox, path: str, auth: Any = AUTH, **params: Any) -> requests.Response:
        return requests.get(sb.jira_url + path, auth=auth, params=params, timeout=5)

    missing = call(sandbox, "/rest/api/2/issue/OPS-999999")
    assert missing.status_code == 404
    assert missing.json() == {
        "errorMessages": ["Issue does not exist or you do not have permission to see it."],
        "errors": {},
    }
    gone = call(sandbox, "/rest/api/2/search", jql="project = OPS")
    assert gone.status_code == 410 and "search/jql" in gone.json()["errorMessages"][0]
    assert call(sandbox_server, "/rest/api/3/myself").status_code == 404
    bad = call(sandbox, "/rest/api/3/search/jql", jql="project = OPS AND ORDER")
    assert bad.status_code == 400
    assert bad.json()["errorMessages"][0].startswith("Error in the JQL Query:")
    unbounded = call(sandbox, "/rest/api/3/search/jql", jql="ORDER BY key")
    assert unbounded.status_code == 400
    field = call(sandbox_server, "/rest/api/2/search", jql="nosuch = 1")
    assert "does not exist" in field.json()["errorMessages"][0]
    cloud_401 = call(sandbox, "/rest/api/3/myself", auth=("sandbox", "wrong"))
    assert cloud_401.status_code == 401
    assert cloud_401.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    server_401 = call(sandbox_server, "/rest/api/2/myself", auth=("x", "y"))
    assert server_401.status_code == 401 and "Unauthorized (401)" in server_401.text
    token = requests.get(
        sandbox.jira_url + "/rest/api/3/myself",
        timeout=5,
        headers={"Authorization": "Bearer sandbox"},
    )
    assert token.status_code == 200


def test_project_search_pages(sandbox: Sandbox) -> None:
    url = f"{sandbox.jira_url}/rest/api/3/project/search"
    first = requests.get(url, params={"maxResults": 4}, auth=AUTH, timeout=5).json()
    assert first["isLast"] is False and first["total"] == len(sandbox.jira_store.data.projects)
    assert "startAt=4" in first["nextPage"]


def test_worklogs_and_timespent_agree(sandbox_server: Sandbox) -> None:
    data = sandbox_server.jira_store.data
    handle = next(h for h in range(len(data.cols)) if data.cols["spent"][h] > 7200)
    key = data.key_of(handle)
    body = requests.get(
        f"{sandbox_server.jira_url}/rest/api/2/issue/{key}/worklog", auth=AUTH, timeout=5
    ).json()
    assert sum(w["timeSpentSeconds"] for w in body["worklogs"]) == data.cols["spent"][handle]


def test_project_list_honours_expand(flavour: Sandbox) -> None:
    """GET /project (all Jira Server has) shows `lead` and `description` only when expanded,
    as the connector asks for them."""
    url = f"{flavour.jira_url}/rest/api/2/project"
    plain = requests.get(url, auth=AUTH, timeout=5).json()
    assert plain and all("lead" not in p and "description" not in p for p in plain)
    expanded = requests.get(
        url, params={"expand": SERVER_PROJECT_EXPAND}, auth=AUTH, timeout=5
    ).json()
    data = flavour.jira_store.data
    assert [p["key"] for p in expanded] == [p["key"] for p in plain]
    for listed in expanded:
        project = data.by_key[listed["key"]]
        lead = data.org.people[project.lead]
        assert listed["lead"]["displayName"] == lead.display_name
        assert listed["description"] == project.description
        if flavour.jira_deployment == "server":
            assert listed["lead"]["name"] == lead.user_name and "accountId" not in listed["lead"]
        else:
            assert "accountId" in listed["lead"]
    only_lead = requests.get(url, params={"expand": "lead"}, auth=AUTH, timeout=5).json()
    assert all("lead" in p and "description" not in p for p in only_lead)


@pytest.mark.parametrize("version", ["2", "3"])
def test_cloud_search_jql_returns_only_ids_by_default(sandbox: Sandbox, version: str) -> None:
    url = f"{sandbox.jira_url}/rest/api/{version}/search/jql"
    page = requests.get(url, params={"jql": "project = OPS"}, auth=AUTH, timeout=10).json()
    assert page["issues"] and all(list(i) == ["id"] for i in page["issues"])
    asked = requests.get(
        url, params={"jql": "project = OPS", "fields": "summary"}, auth=AUTH, timeout=10
    ).json()
    assert {"id", "key", "fields"} <= set(asked["issues"][0])


def test_an_issues_project_carries_no_category(flavour: Sandbox) -> None:
    issue = client(flavour).issue("PAYX-1", fields="project").raw
    assert issue["fields"]["project"]["key"] == "PAYX"
    assert "projectCategory" not in issue["fields"]["project"]
    assert client(flavour).project("PAYX").raw["projectCategory"]["name"] == "Service Transition"


def test_field_names_as_on_a_real_instance(flavour: Sandbox) -> None:
    fields = client(flavour).fields()
    teams = sorted((f["id"], f["schema"]["type"]) for f in fields if f["name"] == "Team")
    if flavour.jira_deployment == "cloud":  # Cloud's stock team field next to the admin's
        assert teams == [("customfield_10001", "team"), ("customfield_10044", "option")]
    else:
        assert teams == [("customfield_10044", "option")]
    names = {f["name"] for f in fields}
    assert {"Story points", "Service Manager", "Time to resolution"} <= names
    assert not {"Story Points", "Service manager", "Time to resolution breached"} & names


def test_service_desk_issues_carry_jsm_sla_objects(sandbox: Sandbox) -> None:
    data = sandbox.jira_store.data
    project = data.by_key["OPS"]
    handles = range(project.first, project.first + project.count)
    resolved = next(
        h for h in handles if data.cols["breached"][h] >= 0 and data.cols["resolved"][h]
    )
    ongoing = next(
        h for h in handles if data.cols["breached"][h] >= 0 and not data.cols["resolved"][h]
    )
    j = client(sandbox)
    done = j.issue(data.key_of(resolved), fields="customfield_10050").raw["fields"]
    sla = done["customfield_10050"]
    assert sla["name"] == "Time to resolution" and "ongoingCycle" not in sla
    (cycle,) = sla["completedCycles"]
    assert cycle["breached"] is (data.cols["breached"][resolved] == 1)
    assert TIMESTAMP.match(cycle["stopTime"]["jira"])
    assert (
        cycle["elapsedTime"]["millis"]
        == data.cols["resolved"][resolved] - data.cols["created"][resolved]
    )
    open_sla = j.issue(data.key_of(ongoing), fields="customfield_10050").raw["fields"]
    current = open_sla["customfield_10050"]
    assert current["completedCycles"] == []
    assert current["ongoingCycle"]["breached"] is (data.cols["breached"][ongoing] == 1)
    assert current["ongoingCycle"]["paused"] is False


def test_a_non_admin_user_may_not_set_project_properties(flavour: Sandbox) -> None:
    assert not flavour.jira_store.project_admin  # the stock default
    base = f"{flavour.jira_url}/rest/api/2"
    denied = requests.put(f"{base}/project/PAYX/properties/smo.gate", json={"s": 1},
                          auth=AUTH, timeout=5)
    assert denied.status_code == 403 and denied.json()["errorMessages"]
    allowed = requests.put(f"{base}/issue/PAYX-1/properties/smo.other", json={"s": 1},
                           auth=AUTH, timeout=5)
    assert allowed.status_code == 201
    held = requests.get(f"{base}/mypermissions", params={
        "permissions": "EDIT_ISSUES,ADD_COMMENTS,ADMINISTER_PROJECTS"}, auth=AUTH, timeout=5).json()
    assert {k: v["havePermission"] for k, v in held["permissions"].items()} == {
        "EDIT_ISSUES": True, "ADD_COMMENTS": True, "ADMINISTER_PROJECTS": False}
