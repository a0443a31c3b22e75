"""Cross-source linking: the projects, in any source, that introduce one service become one
transition. They meet by key or link key (an explicit link), or by the service they name
(the service's name or one of its aliases, ignoring case)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from bridge.models import Contact, Milestone, Project, ServiceTransition


def link_projects(projects: Sequence[Project], known_ids: Collection[str] = ()) -> list[list[Project]]:
    """Group projects whose keys, link keys or services meet (case-insensitive), primary first.

    The primary project names the transition. It never depends on the order of `sources:`
    in the configuration: a project that already names a transition (`known_ids`) stays
    primary, so an id survives a partner project appearing later; otherwise the first by
    (source name, key).
    """
    parent = list(range(len(projects)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, project in enumerate(projects):
        services = [project.service, *project.service_aliases] if project.service else []
        tokens = {project.key.casefold(), *(k.casefold() for k in project.link_keys if k),
                  *(f"service:{s.strip().casefold()}" for s in services if s and s.strip())}
        for token in tokens:
            if token in owner:
                parent[find(index)] = find(owner[token])
            else:
                owner[token] = index
    groups: dict[int, list[Project]] = {}
    for index, project in enumerate(projects):
        groups.setdefault(find(index), []).append(project)
    def order(p: Project) -> tuple[bool, str, str]:
        return transition_id(p) not in known_ids, p.ref.source, p.key

    linked = [sorted(group, key=order) for group in groups.values()]
    return sorted(linked, key=lambda g: (g[0].ref.source, g[0].key))


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
    live_days = [p.live_since for p in group if p.live and p.live_since]
    return ServiceTransition(
        id=transition_id(primary),
        service=str(first("service") or primary.name),
        service_aliases=aliases,
        projects=[p.ref for p in group],
        go_live=go_live if isinstance(go_live, date) else None,
        live=any(p.live for p in group),
        live_since=min(live_days) if live_days else None,
        service_manager=first("service_manager"),
        receivers=receivers,
        resolver_group=first("resolver_group"),
        milestones=sorted(milestones.values(), key=lambda m: (m.due or date.max, m.kind)),
        contacts=list(contacts.values()),
        hypercare_end=hypercare.due if hypercare else None,
        attributes=attributes,
    )
