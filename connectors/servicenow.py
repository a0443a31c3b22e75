"""ServiceNow Table API, through `pysnow`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field

from bridge.models import RawRecord
from connectors.base import Connector, SourceConfig

DEFAULT_TABLES = [
    "pm_project", "incident", "problem", "change_request", "sc_req_item", "task_sla",
    "sys_user_group", "sys_user", "cmdb_ci_service", "kb_knowledge_base", "kb_knowledge",
]


class ServiceNowConfig(SourceConfig):
    kind: Literal["servicenow"] = "servicenow"
    tables: list[str] = Field(default_factory=lambda: list(DEFAULT_TABLES))
    page_size: int = Field(1000, ge=1, le=10000)
    gate_field: str = Field("u_smo_gate_status", description="pm_project field that receives the gate status")
    knowledge_base: str | None = Field(None, description="kb_knowledge_base title or sys_id for articles")


class ServiceNowConnector(Connector):
    kind = "servicenow"
    config_model = ServiceNowConfig

    def stream_names(self) -> list[str]:
        return list(self.config.tables) if isinstance(self.config, ServiceNowConfig) else []

    def read(self, stream: str, cursor: Any | None = None) -> Iterator[RawRecord]:
        raise NotImplementedError("the ServiceNow connector is being built (issue 4)")
