"""One run, every error: the configuration file and every file it names (each source's
mapping files, the policy files), each problem as FILE:LINE:COL: path: message.

An invalid configuration does not stop the files it names from being checked: their
names are then read from the file as written, wherever they can be.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.config import OWN_MAPPING, load_config
from bridge.errors import ConfigError, Issue
from bridge.yamlfile import did_you_mean, load_yaml
from mappings.loader import check_mapping, default_mapping, known_kinds
from mappings.policy import load_policy


@dataclass(frozen=True)
class NamedFiles:
    """What a configuration names: (source, kind, mapping files) and policy files."""

    sources: list[tuple[str, str, list[str]]]
    policies: list[str]


def validate_configuration(path: str | Path) -> list[Issue]:
    """Every issue of the configuration at `path` and of every file it names (empty: valid).
    The configuration's own come first, then each file's, in the order it names them."""
    path = Path(path)
    issues: list[Issue] = []
    try:
        config = load_config(path)
        named = NamedFiles([(s.name, s.kind, list(s.mappings)) for s in config.sources],
                           config.policy_files())
    except ConfigError as exc:
        if not exc.issues:
            raise  # not found, unreadable: one error
        issues.extend(exc.issues)
        if any(i.line is None for i in exc.issues):
            return issues  # too large, not UTF-8: nothing names anything
        named = named_files(path)
    roles: set[str] = set()
    for _, kind, paths in named.sources:
        if paths:
            checked = check_mapping(paths, kind)
            issues.extend(checked.issues)
            roles |= checked.roles
        elif named.policies and kind in known_kinds():  # roles a policy may name
            roles |= default_mapping(kind).roles
    for policy in named.policies:
        try:
            load_policy(policy, roles)
        except ConfigError as exc:
            issues.extend(exc.issues or [Issue(policy, None, None, "", str(exc))])
    return _ordered(issues, [str(path), *(p for _, _, ps in named.sources for p in ps),
                             *named.policies])


def named_files(path: Path) -> NamedFiles:
    """The mapping and policy files an invalid configuration names, read as written (only
    files that exist: a missing one is already reported)."""
    try:
        data = load_yaml(path).data
    except ConfigError:
        return NamedFiles([], [])
    base = path.parent
    if not isinstance(data, dict):
        return NamedFiles([], [])

    def existing(names: Iterable[Any]) -> list[str]:
        return [str(base / n) for n in names if isinstance(n, str) and (base / n).is_file()]

    sources = []
    listed = data.get("sources")
    for raw in listed if isinstance(listed, list) else []:
        kind = raw.get("kind") if isinstance(raw, dict) else None
        if not isinstance(raw, dict) or not isinstance(kind, str):
            continue
        kind = kind if kind in known_kinds() else did_you_mean(kind, known_kinds())
        if kind is None:
            continue
        mappings = raw.get("mappings")
        sources.append((str(raw.get("name")), kind,
                        existing(mappings if isinstance(mappings, list) else [])))
    policy = data.get("policy")
    names: list[Any] = []
    if isinstance(policy, str):
        names = [policy]
    elif isinstance(policy, dict):
        overrides = policy.get("overrides")
        names = [policy.get("file"), *(overrides.values() if isinstance(overrides, dict) else [])]
    policies = sorted(set(existing(n for n in names if n != OWN_MAPPING)))
    return NamedFiles(sources, policies)


def _ordered(issues: list[Issue], files: list[str]) -> list[Issue]:
    """Files in the order named, each file's issues by position; each issue once."""
    order: dict[str, int] = {}
    for name in files:
        order.setdefault(name, len(order))
    unique = list(dict.fromkeys(issues))
    return sorted(unique, key=lambda i: (order.get(i.file, len(order)), i.file, i.line or 0,
                                         i.column or 0))
