"""The mapping layer knows vendors only through the dialects connectors register: a plugin
kind's mapping loads, is checked by its own stream names and maps its own records."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import ConfigError
from bridge.models import RawRecord
from connectors.base import MappingDialect, dialects
from mappings import load_mapping
from mappings import loader as loader_module

TRACKER = MappingDialect(kind="tracker", label="Tracker", streams=("tasks", "people"),
                         closed_streams=True)

MAPPING = """\
meta: {{kind: tracker, version: 1}}
tickets:
  - stream: {stream}
    fields:
      key: id
      opened: {{path: created, required: true}}
      summary: title
      status_category: {{path: done, transforms: [to_bool, {{map: {{"true": done}}, default: todo}}]}}
classification:
  default: service_desk
"""


@pytest.fixture
def with_tracker(monkeypatch: pytest.MonkeyPatch) -> None:
    registered = {**dialects(), "tracker": TRACKER}
    monkeypatch.setattr(loader_module, "dialects", lambda: registered)


def test_shipped_kinds_come_from_the_registered_dialects() -> None:
    assert {"jira", "servicenow"} <= set(dialects())
    assert dialects()["servicenow"].unwrap_value and not dialects()["jira"].unwrap_value


def test_a_plugin_kind_maps_its_own_records(with_tracker: None, tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    path.write_text(MAPPING.format(stream="tasks"))
    compiled = load_mapping([path], "tracker")
    assert compiled.dialect is TRACKER
    outcome = compiled.bind().map(RawRecord(source="t", stream="tasks", key="7", payload={
        "id": "7", "created": "2026-03-05T14:02:11Z", "title": "Printer", "done": ""}))
    assert outcome.kind == "ticket", outcome.reason
    assert outcome.ticket is not None
    assert (outcome.ticket.key, outcome.ticket.summary, outcome.ticket.status_category) == (
        "7", "Printer", "todo")


def test_a_plugin_kind_checks_its_own_stream_names(with_tracker: None, tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    path.write_text(MAPPING.format(stream="taks"))
    with pytest.raises(ConfigError) as caught:
        load_mapping([path], "tracker")
    assert any("unknown Tracker stream 'taks'; did you mean 'tasks'?" in line
               for line in caught.value.lines()), caught.value.lines()


def test_an_unregistered_kind_is_named_with_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    path.write_text(MAPPING.format(stream="tasks"))
    with pytest.raises(ConfigError) as caught:
        load_mapping([path])
    assert any("unknown kind 'tracker'" in line and "jira" in line
               for line in caught.value.lines()), caught.value.lines()
