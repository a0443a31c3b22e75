"""Pytest fixtures for tests that need the sandbox over loopback.

Use from any test folder with `pytest_plugins = ["bridge.sandbox.testing"]` in its conftest,
or import the fixtures. Fixtures:
- `sandbox`: a Cloud-flavoured sandbox (seed 42, 600 tickets), shared by a module.
- `sandbox_server`: the same world with Jira Server/Data Center, shared by a module.
- `sandbox_factory`: call it with `Sandbox` keyword arguments for a custom one; every
  sandbox it made is stopped at the end of the test.
Faults are reset before each test that uses `sandbox` or `sandbox_server`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.sandbox import Sandbox

TEST_TICKETS = 600


@pytest.fixture(scope="module")
def _sandbox_cloud() -> Iterator[Sandbox]:
    with Sandbox(seed=42, tickets=TEST_TICKETS, jira_deployment="cloud") as sb:
        yield sb


@pytest.fixture(scope="module")
def _sandbox_server() -> Iterator[Sandbox]:
    with Sandbox(seed=42, tickets=TEST_TICKETS, jira_deployment="server") as sb:
        yield sb


@pytest.fixture
def sandbox(_sandbox_cloud: Sandbox) -> Sandbox:
    _sandbox_cloud.faults("jira").reset()
    _sandbox_cloud.faults("servicenow").reset()
    return _sandbox_cloud


@pytest.fixture
def sandbox_server(_sandbox_server: Sandbox) -> Sandbox:
    _sandbox_server.faults("jira").reset()
    _sandbox_server.faults("servicenow").reset()
    return _sandbox_server


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    made: list[Sandbox] = []

    def make(**kwargs: Any) -> Sandbox:
        sb = Sandbox(**kwargs).start()
        made.append(sb)
        return sb

    yield make
    for sb in made:
        sb.stop()
