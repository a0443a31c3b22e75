"""The deployment configuration: discovery, ${ENV} interpolation, validation, all errors at once."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bridge.errors import ConfigError, Issue
from bridge.yamlfile import (
    YamlDocument,
    did_you_mean,
    interpolate_env,
    load_yaml,
    salvage,
    validate,
)
from connectors.base import SourceConfig, config_models, push_capabilities
from connectors.zones import zone_problem

DEFAULT_STATE = "sqlite:///smo-bridge.db"
DEFAULT_CONFIG_NAME = "smo-bridge.yaml"
CONFIG_ENV = "SMO_BRIDGE_CONFIG"


class PushConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    gate_status: list[str] = Field(default_factory=list, description="sources that receive gate status")
    knowledge: str | None = Field(None, description="source whose knowledge base receives articles")


class ScheduleConfig(BaseModel):
    """When the daemon runs a pull job: an interval, or a cron expression (which wins)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    interval_seconds: int | None = Field(900, ge=10, le=31 * 86400)
    cron: str | None = Field(None, description="five-field crontab, in UTC, e.g. '*/15 7-19 * * 1-5'")
    misfire_grace_seconds: int = Field(300, ge=1, le=86400)

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as exc:
                why = str(exc)
                raise ValueError(f"not a crontab expression: {why[:1].lower()}{why[1:]}") from None
        return value


class DaemonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    sources: dict[str, ScheduleConfig] = Field(
        default_factory=dict, description="per-source schedules, by source name, overriding `schedule`")
    push_interval_seconds: int = Field(60, ge=5, le=86400)
    health_port: int | None = Field(None, ge=1, le=65535,
                                    description="port for /healthz, /readyz and /metrics")
    health_host: str = Field("127.0.0.1", min_length=1,
                             description="address they listen on (loopback unless set)")
    stale_after_cycles: int = Field(
        3, ge=1, le=100, description="/readyz fails for a source whose last successful pull is "
                                     "older than this many of its intervals")
    upgrade_store: bool = Field(False, description="upgrade an older state store's schema at "
                                                   "start (else `smo-bridge db upgrade` does)")
    member_lease_seconds: int = Field(
        15, ge=3, le=3600, description="daemons sharing a PostgreSQL store: one not heard from "
                                       "this long is gone and its sources are dealt to the others")


class WebAuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    username: str = Field(min_length=1)
    password: SecretStr = Field(min_length=1, description='from the environment: "${NAME}"')


class WebConfig(BaseModel):
    """The read-only board the daemon serves (docs/board.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = False
    host: str = Field("127.0.0.1", min_length=1, description="address (loopback unless set)")
    port: int = Field(8080, ge=1, le=65535)
    auth: WebAuthConfig | None = Field(None, description="basic auth; else none (loopback or "
                                                         "a reverse proxy that authenticates)")
    public_url: str | None = Field(None, pattern=r"^https?://\S+$",
                                   description="the board's address as people reach it (e.g. "
                                               "behind a reverse proxy); pushed gate lines link "
                                               "to the transition's page there")


class ReportingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    timezone: str = Field("UTC", description="time zone of workload period boundaries")
    at_risk_days: int = Field(14, ge=0, le=3650, description="an unmet gate item due within this many days is at risk")
    no_go_live_days: int = Field(
        60, ge=1, le=3650, description="a transition started this many days ago with no go-live date is at risk")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone_problem(value)
        return value


OWN_MAPPING = "mapping"  # an override naming a source's own mapping instead of a policy file


class PolicySection(BaseModel):
    """The product's policy file and the explicit exceptions to it, by source name: a
    transition is judged by the override of its primary project's source."""

    model_config = ConfigDict(extra="forbid")
    file: str | None = Field(None, description="the policy file for every other transition")
    overrides: dict[str, str] = Field(
        default_factory=dict,
        description=f"source name -> a policy file, or {OWN_MAPPING!r} for that source's own "
                    "mapping")


class _ConfigShape(BaseModel):
    """The top level, with sources left raw: each is validated by its connector's model."""

    model_config = ConfigDict(extra="forbid")
    state: str = DEFAULT_STATE
    sources: list[dict[str, Any]] = Field(default_factory=list)
    push: PushConfig | None = None
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    reporting: ReportingConfig = Field(default_factory=ReportingConfig)
    policy: str | PolicySection | None = Field(
        None, description="the SMO's gate and article policy file, for every transition "
                          "(else each source's mapping); or `file` with explicit `overrides`")


class BridgeConfig(BaseModel):
    model_config = ConfigDict(frozen=True)
    state: str = DEFAULT_STATE
    sources: list[SourceConfig] = Field(default_factory=list)
    push: PushConfig | None = None
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    reporting: ReportingConfig = Field(default_factory=ReportingConfig)
    policy: str | None = None  # resolved beside the configuration file
    policy_overrides: dict[str, str] = Field(default_factory=dict)  # source -> file or "mapping"
    path: Path | None = None

    def policy_files(self) -> list[str]:
        """Every policy file the configuration names (the file and its overrides), once."""
        named = {self.policy, *self.policy_overrides.values()}
        return sorted(p for p in named if p is not None and p != OWN_MAPPING)

    def schedule_for(self, name: str) -> ScheduleConfig:
        """The source's own schedule, else the daemon's."""
        return self.daemon.sources.get(name, self.daemon.schedule)

    def source(self, name: str) -> SourceConfig:
        for src in self.sources:
            if src.name == name:
                return src
        hint = did_you_mean(name, [s.name for s in self.sources])
        extra = f"; did you mean {hint!r}?" if hint else ""
        raise ConfigError(f"no source named {name!r} in the configuration{extra}")

    def secrets(self) -> list[str]:
        """Every secret value in the configuration, for log redaction."""
        found: list[str] = []
        for src in self.sources:
            for value in src.auth.model_dump().values():
                if hasattr(value, "get_secret_value"):
                    secret = value.get_secret_value()
                    if secret:
                        found.append(secret)
        if self.web.auth is not None and self.web.auth.password.get_secret_value():
            found.append(self.web.auth.password.get_secret_value())
        return found


def find_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    return Path(DEFAULT_CONFIG_NAME)


def load_config(path: str | os.PathLike[str], *, secrets: bool = True) -> BridgeConfig:
    """Load and validate; raises ConfigError carrying every issue found. With `secrets`
    false (commands that only read the store), unset `${VARS}` stay as written: such a
    command never talks to a source, so it needs none of their credentials."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: configuration file not found (use --config or ${CONFIG_ENV})")
    doc = load_yaml(path)
    return config_from_document(doc, base_dir=path.parent, path=path, secrets=secrets)


class _UnsetKept(Mapping[str, str]):
    """The environment, where an unset NAME reads as its own `${NAME}`."""

    def __getitem__(self, name: str) -> str:
        return os.environ.get(name, f"${{{name}}}")

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


def config_from_document(doc: YamlDocument, base_dir: Path, path: Path | None = None, *,
                         secrets: bool = True) -> BridgeConfig:
    issues: list[Issue] = interpolate_env(doc, None if secrets else _UnsetKept())
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{doc.file}: invalid", [doc.issue((), "the configuration must be a mapping")])
    shape, _ = salvage(_ConfigShape, doc, issues)  # an invalid part hides no other check
    sources: list[SourceConfig] = []
    raw_sources = doc.data.get("sources") if isinstance(doc.data.get("sources"), list) else []
    kinds = config_models()
    seen: dict[str, int] = {}
    declared: set[str] = set()  # names of sources, valid or not: push targets may name them
    for index, raw in enumerate(raw_sources or []):
        where = ("sources", index)
        if not isinstance(raw, dict):
            continue  # already reported by the shape
        if isinstance(raw.get("name"), str):
            declared.add(raw["name"])
        kind = raw.get("kind")
        model = kinds.get(kind) if isinstance(kind, str) else None
        if model is None:
            if kind is None:
                issues.append(doc.issue(where, "missing required key 'kind'"))
            else:
                hint = did_you_mean(str(kind), kinds)
                message = f"unknown source kind {kind!r}"
                message += f"; did you mean {hint!r}?" if hint else f" (known: {', '.join(sorted(kinds))})"
                issues.append(doc.issue((*where, "kind"), message))
                if hint is not None:  # its other errors still show in this run
                    validate(kinds[hint], {**raw, "kind": hint}, doc, where, issues)
            continue
        source = validate(model, raw, doc, prefix=where, issues=issues)
        if source is None:
            continue
        if source.name in seen:
            issues.append(doc.issue((*where, "name"), f"duplicate source name {source.name!r} "
                                    f"(first used by sources[{seen[source.name]}])"))
            continue
        seen[source.name] = index
        for m_index, mapping in enumerate(source.mappings):
            if not (base_dir / mapping).exists():
                issues.append(doc.issue((*where, "mappings", m_index), f"mapping file {mapping!r} not found"))
        sources.append(source.model_copy(update={"mappings": [str(base_dir / m) for m in source.mappings]}))
    if shape is not None and shape.push is not None:
        names = sorted(declared)
        kind_of = {s.name: s.kind for s in sources}
        targets: list[tuple[tuple[str | int, ...], str, str]] = [
            (("push", "gate_status", i), t, "gate_status")
                   for i, t in enumerate(shape.push.gate_status)]
        if shape.push.knowledge is not None:
            targets.append((("push", "knowledge"), shape.push.knowledge, "knowledge"))
        for at, target, what in targets:
            if target not in declared:
                issues.append(doc.issue(at, _unknown_source(target, names)))
            elif target in kind_of and what not in push_capabilities(kind_of[target]):
                issues.append(doc.issue(at, f"source {target!r} ({kind_of[target]}) cannot "
                                               f"receive {what}"))
    policy, overrides = _policy_files(shape, doc, base_dir, sorted(declared), issues)
    daemon_raw = doc.data.get("daemon")
    scheduled = daemon_raw.get("sources") if isinstance(daemon_raw, dict) else None
    if isinstance(scheduled, dict):
        for name in scheduled:
            if name not in declared:
                issues.append(doc.issue(("daemon", "sources", name), _unknown_source(name, sorted(declared))))
    if issues:
        issues.sort(key=lambda i: (i.line or 0, i.column or 0))
        raise ConfigError(f"{doc.file}: {len(issues)} problem(s)", issues)
    assert shape is not None
    return BridgeConfig(
        state=shape.state, sources=sources, push=shape.push, daemon=shape.daemon, web=shape.web,
        reporting=shape.reporting, policy=policy, policy_overrides=overrides, path=path,
    )


def _policy_files(shape: _ConfigShape | None, doc: YamlDocument, base_dir: Path, sources: list[str],
                  issues: list[Issue]) -> tuple[str | None, dict[str, str]]:
    """The policy file and the per-source overrides, resolved beside the configuration."""
    if shape is None or shape.policy is None:
        return None, {}
    section = shape.policy if isinstance(shape.policy, PolicySection) else PolicySection(
        file=shape.policy)
    at: tuple[str, ...] = ("policy",) if isinstance(shape.policy, str) else ("policy", "file")

    def resolve(name: str, where: tuple[str, ...]) -> str:
        path = str(base_dir / name)
        if not Path(path).exists():
            issues.append(doc.issue(where, f"policy file {name!r} not found"))
        return path

    policy = resolve(section.file, at) if section.file is not None else None
    overrides: dict[str, str] = {}
    for source, target in section.overrides.items():
        where = ("policy", "overrides", source)
        if source not in sources:
            issues.append(doc.issue(where, _unknown_source(source, sources)))
        overrides[source] = target if target == OWN_MAPPING else resolve(target, where)
    return policy, overrides


def _unknown_source(name: str, known: list[str]) -> str:
    hint = did_you_mean(name, known)
    return f"no source named {name!r}" + (f"; did you mean {hint!r}?" if hint else "")
