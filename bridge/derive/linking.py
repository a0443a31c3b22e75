"""Cross-source linking: the Jira project and the ServiceNow pm_project that introduce one service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bridge.models import Contact, Milestone, Project, ServiceTransition


def link_projects(projects: Sequence[Project], source_order: Sequence[str]) -> list[list[Project]]:
    """Group projects whose keys or link keys meet (case-insensitive), primary project first.

    The primary project (first source in configuration order, then key) names the
    transition, so its id stays the same when a partner project appears later.
    """
    parent = list(range(len(projects)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, project in enumerate(projects):
        for token in {project.key.casefold(), *(k.casefold() for k in project.link_keys if k)}:
            if token in owner:
                parent[find(index)] = find(owner[token])
            else:
                owner[token] = index
    groups: dict[int, list[Project]] = {}
    for index, project in enumerate(projects):
        groups.setdefault(find(index), []).append(project)
    rank = {name: i for i, name in enumerate(source_order)}

    def order(p: Project) -> tuple[int, str, str]:
        return rank.get(p.ref.source, len(rank)), p.ref.source, p.key

    linked = [sorted(group, key=order) for group in groups.values()]
    return sorted(linked, key=lambda g: order(g[0]))


def transition_id(primary: Project) -> str:
    return f"{primary.ref.source}:{primary.key}"


def merge_transition(group: Sequence[Project]) -> ServiceTransition:
    """One transition from linked projects: the first project that has a value wins."""
    primary = group[0]

    def first(attr: str) -> Any:
        for project in group:
            value = getattr(project, attr)
            if value not in (None, "", []):
                return value
        return None

    aliases: list[str] = []
    receivers: list[str] = []
    for project in group:
        aliases += [a for a in project.service_aliases if a not in aliases]
        receivers += [r for r in project.receivers if r not in receivers]
    milestones: dict[str, Milestone] = {}
    contacts: dict[tuple[str, str], Contact] = {}
    attributes: dict[str, object] = {}
    for project in reversed(group):  # the primary's values are applied last and so win
        milestones.update({m.kind: m for m in project.milestones})
        contacts.update({(c.role, c.name): c for c in project.contacts})
        attributes.update(project.attributes)
    hypercare = milestones.get("hypercare_end")
    # a go-live date set on the project wins over the go-live milestone (Jira: the version)
    go_live = first("go_live") or (milestones["go_live"].due if "go_live" in milestones else None)
    return ServiceTransition(
        id=transition_id(primary),
        service=str(first("service") or primary.name),
        service_aliases=aliases,
        projects=[p.ref for p in group],
        go_live=go_live if isinstance(go_live, date) else None,
        service_manager=first("service_manager"),
        receivers=receivers,
        resolver_group=first("resolver_group"),
        milestones=sorted(milestones.values(), key=lambda m: (m.due or date.max, m.kind)),
        contacts=list(contacts.values()),
        hypercare_end=hypercare.due if hypercare else None,
        attributes=attributes,
    )
