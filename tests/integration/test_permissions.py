"""Degrade, don't fail: a stream the account may not read is skipped with a warning naming
it, and the rest of the source is pulled and mapped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bridge import engine as engine_module
from bridge.config import load_config
from bridge.engine import Engine
from bridge.errors import PermissionDenied
from bridge.models import RawRecord
from bridge.sandbox import Sandbox
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from connectors.base import QuarantineHandler, SourceConfig, connector_for
from connectors.servicenow import ServiceNowConnector
from tests.integration.test_cycle import stored_keys, write_config

SandboxFactory = Callable[..., Sandbox]


class NoProblemReader(ServiceNowConnector):
    """An account without read access to the problem table, as a real instance answers it."""

    def read(self, stream: str, since: datetime | None = None,
             on_quarantine: QuarantineHandler | None = None) -> Iterator[RawRecord]:
        if stream == "problem":
            raise PermissionDenied(self.name, "permission denied (403): User Not Authorized",
                                   request="GET /api/now/table/problem")
        yield from super().read(stream, since, on_quarantine)


def test_a_denied_stream_is_skipped_and_the_source_goes_on(
        sandbox_factory: SandboxFactory, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    sb = sandbox_factory(seed=3, tickets=120)
    config = load_config(write_config(tmp_path, sb, push=False))

    def connector(source: SourceConfig) -> object:
        return NoProblemReader(source) if source.kind == "servicenow" else connector_for(source)

    monkeypatch.setattr(engine_module, "connector_for", connector)
    store = open_store(config.state)
    try:
        result = Engine(config, store).run_cycle("snow")
        outcome = result.sources[0]
        assert outcome.status == "ok", outcome.error
        assert len(outcome.warnings) == 1
        assert "stream problem skipped" in outcome.warnings[0]
        assert "grant the account read access to problem" in outcome.warnings[0]
        assert stored_keys(store, "snow", "problem") == set()
        assert stored_keys(store, "snow", "incident")  # the rest of the source was read
        assert result.exit_code == 0
    finally:
        store.close()
