"""A configuration is checked with the connectors' light configuration models: the same
models and push capabilities as the connector classes, and a plugin that declares none
still has its kind checked through its connector class."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any, ClassVar, Literal

import pytest

import connectors.base as base
from connectors.base import Connector, SourceConfig, config_models, push_capabilities, registry


class EchoConfig(SourceConfig):
    kind: Literal["echo"] = "echo"


class EchoConnector(Connector):  # a plugin with no light configuration entry point
    kind = "echo"
    config_model = EchoConfig
    push_capabilities: ClassVar[frozenset[str]] = frozenset({"knowledge"})


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    config_models.cache_clear()
    registry.cache_clear()
    yield
    config_models.cache_clear()
    registry.cache_clear()


def test_the_light_models_are_the_connectors_own(fresh_caches: None) -> None:
    models = config_models()
    classes = registry()
    assert set(models) == set(classes) >= {"jira", "servicenow"}
    for kind, connector in classes.items():
        assert models[kind] is connector.config_model
        assert push_capabilities(kind) == connector.push_capabilities


def test_a_plugin_without_a_light_model_is_checked_through_its_connector(
        fresh_caches: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def with_plugin(group: str, **kw: Any) -> list[EntryPoint]:
        found = list(entry_points(group=group, **kw))
        if group == base.ENTRY_POINT_GROUP:
            found.append(EntryPoint("echo", f"{__name__}:EchoConnector", group))
        return found

    monkeypatch.setattr(base, "entry_points", with_plugin)
    assert config_models()["echo"] is EchoConfig
    assert push_capabilities("echo") == frozenset({"knowledge"})
