"""Emulated Jira Cloud responses against Atlassian's OpenAPI description, when it is at hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.sandbox import Sandbox
from tests.sandbox.conftest import AUTH
from tests.sandbox.openapi_check import SchemaChecker

SPEC = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "realapi"
    / "jira"
    / "openapi"
    / "jira-cloud-platform-swagger-v3.v3.json"
)


@pytest.fixture(scope="module")
def checker() -> SchemaChecker:
    if not SPEC.exists():
        pytest.fail(f"Atlassian's OpenAPI description is not beside the repository ({SPEC}): "
                    "the recorded reference material in ../shared is part of the test set-up")
    return SchemaChecker(json.loads(SPEC.read_text()))


def get(sb: Sandbox, path: str, **params: Any) -> Any:
    response = requests.get(sb.jira_url + path, params=params, auth=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("path", "spec_path", "params"),
    [
        (
            "/rest/api/3/search/jql",
            "/rest/api/3/search/jql",
            {
                "jql": "project = OPS ORDER BY updated",
                "fields": "*all",
                "maxResults": 5,
                "expand": "names",
            },
        ),
        ("/rest/api/3/project/search", "/rest/api/3/project/search", {"maxResults": 3}),
        ("/rest/api/3/issue/PAYX-2", "/rest/api/3/issue/{issueIdOrKey}", {"expand": "changelog"}),
        ("/rest/api/3/issue/OPS-3", "/rest/api/3/issue/{issueIdOrKey}", {}),
        ("/rest/api/3/field", "/rest/api/3/field", {}),
        ("/rest/api/3/issue/OPS-3/comment", "/rest/api/3/issue/{issueIdOrKey}/comment", {}),
        ("/rest/api/3/myself", "/rest/api/3/myself", {}),
        ("/rest/api/3/serverInfo", "/rest/api/3/serverInfo", {}),
        ("/rest/api/3/project/PAYX", "/rest/api/3/project/{projectIdOrKey}", {}),
        ("/rest/api/3/project/PAYX/versions", "/rest/api/3/project/{projectIdOrKey}/versions", {}),
    ],
)
def test_cloud_responses_match_the_openapi_schema(
    sandbox: Sandbox, checker: SchemaChecker, path: str, spec_path: str, params: dict[str, Any]
) -> None:
    body = get(sandbox, path, **params)
    assert checker.errors(body, checker.response_schema(spec_path, "get")) == []


def test_nested_issue_fields_match_their_schemas(sandbox: Sandbox, checker: SchemaChecker) -> None:
    fields = get(sandbox, "/rest/api/3/issue/PAYX-2")["fields"]
    schemas = {
        "project": "ProjectDetails",
        "status": "StatusDetails",
        "priority": "Priority",
        "issuetype": "IssueTypeDetails",
        "assignee": "UserDetails",
        "resolution": "Resolution",
    }
    for name, schema in schemas.items():
        ref = {"$ref": f"#/components/schemas/{schema}"}
        assert checker.errors(fields[name], ref, name) == []
