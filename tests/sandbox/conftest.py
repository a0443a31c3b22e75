"""The sandbox's own tests use the shared fixtures from bridge.sandbox.testing."""

from __future__ import annotations

import pytest

from bridge.sandbox.testing import (  # noqa: F401 - fixtures
    _sandbox_cloud,
    _sandbox_server,
    sandbox,
    sandbox_factory,
    sandbox_server,
)

pytestmark = pytest.mark.sandbox
AUTH = ("sandbox", "sandbox")
