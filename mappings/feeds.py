"""Which gate items a mapped record is evidence for (`mappings preview`): the admin sees
what a ticket or project will count towards before any transition is derived."""

from __future__ import annotations

from typing import Any

from bridge.models import Project, Ticket
from mappings.conditions import describe
from mappings.gate import (
    AllOfEvidence,
    AnyOfEvidence,
    DeliverableDone,
    FieldSet,
    GateDef,
    MilestonesScheduled,
    NoOpenTickets,
    ProjectMatches,
    ReceiversSignoff,
    TicketDone,
    TicketsApproved,
)


def gate_items_fed(gate: GateDef, entity: Project | Ticket | None) -> list[str]:
    """One line per enabled gate item the entity is evidence for, saying why."""
    if entity is None:
        return []
    lines = []
    for item in gate.enabled_items:
        why = _feeds(item.evidence, item.key, entity)
        if why is not None:
            lines.append(f"{item.key} ({item.title}): {why}")
    return lines


def _feeds(rule: Any, key: str, entity: Project | Ticket) -> str | None:
    if isinstance(rule, AllOfEvidence | AnyOfEvidence):
        found = [why for sub in rule.rules if (why := _feeds(sub, key, entity)) is not None]
        return "; ".join(found) if found else None
    if isinstance(entity, Ticket):
        if isinstance(rule, DeliverableDone | ReceiversSignoff):
            label = rule.label_for(key)
            if label in entity.labels:
                done = "done" if entity.status_category == "done" else \
                    f"not done yet ({entity.status_category})"
                return f"{rule.kind}: labelled {label}, {done}"
            return None
        if isinstance(rule, TicketDone | TicketsApproved | NoOpenTickets) and rule.matches(entity):
            return f"{rule.kind}: matches {describe(rule.when)} (status {entity.status_category})"
        return None
    if isinstance(rule, FieldSet):
        value = rule.value_of(entity)
        return f"field_set: {rule.field} = {value!r}" if value not in (None, "", []) else None
    if isinstance(rule, ProjectMatches) and rule.matches(entity):
        return f"project: matches {describe(rule.when)}"
    if isinstance(rule, MilestonesScheduled):
        kinds = sorted({m.kind for m in entity.milestones if m.due} & set(rule.kinds))
        return f"milestones: schedules {', '.join(kinds)}" if kinds else None
    return None
