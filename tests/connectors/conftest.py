"""Connector configs with tiny retry delays (set through config, as users would)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from connectors.jira import JiraConfig, JiraConnector
from connectors.servicenow import ServiceNowConfig, ServiceNowConnector

FAST_RETRY = {"max_attempts": 4, "base_delay": 0.001, "max_delay": 0.05}


def jira(
    url: str = "https://jira.example", password: str = "secret-token", **extra: Any
) -> JiraConnector:
    config = JiraConfig.model_validate(
        {
            "name": "jira",
            "kind": "jira",
            "url": url,
            "auth": {"kind": "basic", "username": "bot@example.com", "password": password},
            "retry": FAST_RETRY,
            **extra,
        }
    )
    return JiraConnector(config)


def snow(
    url: str = "https://snow.example", password: str = "snow-pass", **extra: Any
) -> ServiceNowConnector:
    config = ServiceNowConfig.model_validate(
        {
            "name": "snow",
            "kind": "servicenow",
            "url": url,
            "auth": {"kind": "basic", "username": "smo.bridge", "password": password},
            "retry": FAST_RETRY,
            **extra,
        }
    )
    return ServiceNowConnector(config)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """Strict: every registered response must be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def loose() -> Iterator[responses.RequestsMock]:
    """For the fakes, which register more routes than one test uses."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
