"""Jira Cloud and Server/Data Center, through the `jira` library."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field

from bridge.models import RawRecord
from connectors.base import Connector, SourceConfig


class JiraConfig(SourceConfig):
    kind: Literal["jira"] = "jira"
    deployment: Literal["auto", "cloud", "server"] = Field("auto", description="auto asks serverInfo")
    projects: list[str] = Field(default_factory=list, description="project keys; empty means every project")
    jql: str | None = Field(None, description="extra JQL ANDed to the issue query")
    page_size: int = Field(100, ge=1, le=1000)
    gate_property: str = Field("smo-bridge.gate", description="entity property that receives the gate status")


class JiraConnector(Connector):
    kind = "jira"
    config_model = JiraConfig

    def stream_names(self) -> list[str]:
        return ["projects", "fields", "issues"]

    def read(self, stream: str, cursor: Any | None = None) -> Iterator[RawRecord]:
        raise NotImplementedError("the Jira connector is being built (issue 4)")
