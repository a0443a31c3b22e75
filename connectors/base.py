"""What every connector shares: its config model, the Connector contract, the registry.

Connectors join through the `smo_bridge.connectors` entry-point group (name = the
`kind` used in configuration), so a third-party package adds one without touching
this code.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from functools import cache
from importlib.metadata import entry_points
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bridge.models import RawRecord

ENTRY_POINT_GROUP = "smo_bridge.connectors"


class BasicAuth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["basic"]
    username: str
    password: SecretStr


class BearerAuth(BaseModel):
    """A personal access token (Jira Server/DC) or any bearer token."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["bearer"]
    token: SecretStr


class OAuth2Auth(BaseModel):
    """OAuth 2 password grant, as ServiceNow's OAuth endpoint offers it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["oauth2"]
    client_id: str
    client_secret: SecretStr
    username: str
    password: SecretStr


Auth = Annotated[BasicAuth | BearerAuth | OAuth2Auth, Field(discriminator="kind")]


class SourceConfig(BaseModel):
    """The keys every source has; a connector subclasses this with its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9-]+$", description="unique source name")
    kind: str = Field(description="connector kind, e.g. jira or servicenow")
    url: str = Field(description="base URL of the instance")
    auth: Auth
    verify_tls: bool = True
    mappings: list[str] = Field(
        default_factory=list,
        description="mapping files for this source; empty means the shipped default",
    )
    max_concurrency: int = Field(4, ge=1, le=64, description="parallel requests to this source")
    timeout: float = Field(30.0, gt=0, description="read timeout in seconds")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class Connector(abc.ABC):
    """One external tool: its streams (pull) and its push operations.

    Knows the wire format and nothing else: no state, no retries beyond the shared
    HTTP policy, no scheduling. Constructors never touch the network.
    """

    kind: ClassVar[str]
    config_model: ClassVar[type[SourceConfig]] = SourceConfig

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    @abc.abstractmethod
    def stream_names(self) -> list[str]:
        """The streams this connector can read."""

    @abc.abstractmethod
    def read(self, stream: str, cursor: Any | None = None) -> Iterator[RawRecord]:
        """Yield the stream's records changed since `cursor` (all of them without one)."""


@cache
def registry() -> dict[str, type[Connector]]:
    """Connector classes by kind, from the entry-point group."""
    found: dict[str, type[Connector]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.load()
    return found


def config_model_for(kind: str) -> type[SourceConfig] | None:
    cls = registry().get(kind)
    return cls.config_model if cls is not None else None
