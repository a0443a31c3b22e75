"""Both connectors pass the shared suite (connectors/testing.py) against the fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import responses

from connectors.base import Connector
from connectors.testing import ConnectorSuite
from tests.connectors.conftest import jira, snow
from tests.connectors.fakes import (
    FakeJira,
    FakeServiceNow,
    jira_comment,
    jira_issue,
    jira_worklog,
    snow_ts,
    sys_id,
)

T0 = datetime(2024, 3, 5, 1, 2, 11, tzinfo=UTC)


def fake_jira(deployment: str) -> FakeJira:
    fake = FakeJira(deployment=deployment)
    fake.issues = [jira_issue(f"PAY-{n}", T0 + timedelta(hours=n)) for n in range(1, 9)]
    for n in range(1, 9):
        # a comment or worklog bumps its issue's `updated`: never later than the issue
        touched = T0 + timedelta(hours=n, minutes=-1)
        fake.comments[f"PAY-{n}"] = [jira_comment(str(100 + n), touched)]
        if n % 2:
            fake.worklogs[f"PAY-{n}"] = [jira_worklog(str(200 + n), touched)]
    fake.projects = [
        {
            "id": "10000",
            "key": "PAY",
            "name": "Payments",
            "projectCategory": {"name": "Service Transition"},
            "lead": {"displayName": "Ana"},
        }
    ]
    return fake


def fake_snow() -> FakeServiceNow:
    fake = FakeServiceNow()
    fake.tables["incident"] = [
        {
            "sys_id": sys_id(n),
            "number": f"INC00{n}",
            "sys_updated_on": snow_ts(T0 + timedelta(hours=n)),
            "assignment_group": {
                "link": "https://snow.example/api/now/table/sys_user_group/" + sys_id(500),
                "value": sys_id(500),
                "display_value": "Network",
            },
        }
        for n in range(1, 9)
    ]
    fake.tables["pm_project"] = [
        {
            "sys_id": sys_id(100),
            "number": "PRJ001",
            "sys_updated_on": snow_ts(T0),
            "u_smo_gate_status": "",
        }
    ]
    return fake


class JiraSuiteBase(ConnectorSuite):
    deployment = "Cloud"

    @pytest.fixture
    def backend(self, loose: responses.RequestsMock) -> FakeJira:
        fake = fake_jira(self.deployment)
        fake.register(loose)
        return fake

    @pytest.fixture
    def connector(self, backend: FakeJira) -> Connector:
        return jira(overlap_seconds=60, comments=True, worklogs=True)

    @pytest.fixture
    def bad_connector(self, backend: FakeJira) -> Connector:
        return jira(password="wrong")

    @pytest.fixture
    def quarantine_case(self, backend: FakeJira) -> tuple[Connector, str]:
        broken = jira_issue("PAY-99", T0)
        broken["fields"]["updated"] = "yesterday-ish"
        backend.issues.append(broken)
        return jira(), "issues"


class TestJiraCloudSuite(JiraSuiteBase):
    deployment = "Cloud"


class TestJiraServerSuite(JiraSuiteBase):
    deployment = "Server"


class TestServiceNowSuite(ConnectorSuite):
    @pytest.fixture
    def backend(self, loose: responses.RequestsMock) -> FakeServiceNow:
        fake = fake_snow()
        fake.register(loose)
        return fake

    @pytest.fixture
    def connector(self, backend: FakeServiceNow) -> Connector:
        return snow(tables=["incident", "pm_project"], deletions=False, overlap_seconds=60)

    @pytest.fixture
    def bad_connector(self, backend: FakeServiceNow) -> Connector:
        return snow(password="wrong", tables=["incident"])

    @pytest.fixture
    def quarantine_case(self, backend: FakeServiceNow) -> tuple[Connector, str]:
        backend.tables["incident"].append(
            {"sys_id": sys_id(77), "sys_updated_on": "31/12/2024 25:00"}
        )
        backend.tables["incident"].append({"number": "INC-NOKEY", "sys_updated_on": snow_ts(T0)})
        return snow(tables=["incident"], deletions=False), "incident"
