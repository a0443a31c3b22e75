"""The Jira side of the seeded world: projects, versions, and issues as columns.

Issues get handles 0..N-1 in project-key order and, inside a project, in number order,
so handle order is also `key` order and `id` order (id = 10000 + handle).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bridge.sandbox.clock import DAY_MS, to_ms
from bridge.sandbox.org import GROUPS, Org, Transition, signoff_life
from bridge.sandbox.tickets import (
    YEAR_MS,
    Columns,
    bulk_touch,
    life,
    pick_member,
    same_second_moments,
    spread_created,
    weighted,
)

# name -> (id, description, subtask, hierarchy level)
ISSUE_TYPES: dict[str, tuple[str, str, bool, int]] = {
    "Epic": ("10000", "A big user story that needs to be broken down.", False, 1),
    "Story": ("10001", "Functionality or a feature expressed as a user goal.", False, 0),
    "Task": ("10002", "A small, distinct piece of work.", False, 0),
    "Sub-task": ("10003", "A small piece of work that's part of a larger task.", True, -1),
    "Bug": ("10004", "A problem or error.", False, 0),
    "Incident": ("10005", "An unplanned interruption to an IT service.", False, 0),
    "Service Request": ("10006", "A request from a user for something to be provided.", False, 0),
    "Problem": ("10007", "The underlying cause of one or more incidents.", False, 0),
    "Change": ("10008", "A change to a service or its configuration.", False, 0),
}
TYPE_NAMES = tuple(ISSUE_TYPES)

# (id, name, category key); category keys are Jira's: new, indeterminate, done
STATUSES: tuple[tuple[str, str, str], ...] = (
    ("10000", "To Do", "new"),
    ("3", "In Progress", "indeterminate"),
    ("10001", "In Review", "indeterminate"),
    ("10002", "Waiting for customer", "indeterminate"),
    ("10003", "Done", "done"),
    ("5", "Resolved", "done"),
    ("6", "Closed", "done"),
    ("10004", "Canceled", "done"),
)
STATUS_CATEGORIES = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
RESOLUTIONS = (("10000", "Done"), ("10001", "Won't Do"), ("10002", "Duplicate"))

# key, name, category, project type, (issue type, weight)..., share of Jira tickets
TICKET_PROJECTS: tuple[tuple[str, str, str, str, tuple[tuple[str, int], ...], int], ...] = (
    (
        "DEV",
        "Digital Delivery",
        "Delivery",
        "software",
        (("Bug", 35), ("Story", 40), ("Task", 25)),
        40,
    ),
    (
        "NET",
        "Network Engineering",
        "Operations",
        "business",
        (("Task", 40), ("Incident", 35), ("Change", 25)),
        15,
    ),
    (
        "OPS",
        "IT Operations",
        "Operations",
        "service_desk",
        (("Incident", 45), ("Service Request", 35), ("Problem", 8), ("Change", 12)),
        45,
    ),
)
CATEGORIES = {"Service Transition": "10100", "Operations": "10101", "Delivery": "10102"}


@dataclass
class Version:
    id: str
    name: str
    release_date: date | None
    released: bool


@dataclass
class Project:
    index: int
    id: str
    key: str
    name: str
    category: str
    type_key: str
    lead: int
    description: str
    issue_types: tuple[str, ...]
    transition: Transition | None = None
    versions: list[Version] = field(default_factory=list)
    first: int = 0  # first issue handle
    count: int = 0


@dataclass
class Extra:
    """What a handful of hand-made issues (epics, deliverables) carry beyond the columns."""

    summary: str
    labels: list[str] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    parent: int | None = None
    fix_version: str | None = None
    description: str = ""


ISSUE_COLUMNS = {
    "project": "h",
    "number": "l",
    "type": "b",
    "priority": "b",
    "status": "b",
    "resolution": "b",
    "team": "b",
    "service": "b",
    "assignee": "h",
    "reporter": "h",
    "created": "q",
    "updated": "q",
    "resolved": "q",
    "due": "l",
    "spent": "l",
    "points": "b",
    "breached": "b",
    "comments": "b",
}


class JiraData:
    """Projects and issues; built once from the org, then only the stores mutate it."""

    def __init__(self, org: Org, tickets: int) -> None:
        self.org = org
        self.anchor_ms = to_ms(org.anchor)
        self.cols = Columns(ISSUE_COLUMNS)
        self.extra: dict[int, Extra] = {}
        self.projects: list[Project] = []
        self._build(tickets)
        self.by_key = {p.key: p for p in self.projects}

    def _build(self, tickets: int) -> None:
        rng = random.Random(f"jira:{self.org.seed}")
        specs: list[tuple[str, Any]] = [(t.jira_key, t) for t in self.org.transitions if t.in_jira]
        specs += [(spec[0], spec) for spec in TICKET_PROJECTS]
        shares = sum(spec[5] for spec in TICKET_PROJECTS)
        for index, (key, spec) in enumerate(sorted(specs, key=lambda s: s[0])):
            project = self._project(rng, index, key, spec)
            project.first = len(self.cols)
            self.projects.append(project)
            if project.transition is not None:
                self._transition_issues(project, project.transition)
            else:
                self._ticket_issues(rng, project, spec, tickets * spec[5] // shares)
            project.count = len(self.cols) - project.first

    def _project(self, rng: random.Random, index: int, key: str, spec: Any) -> Project:
        pid = str(10000 + index)
        if isinstance(spec, Transition):
            service = self.org.services[spec.service].name
            project = Project(
                index,
                pid,
                key,
                spec.name,
                "Service Transition",
                "software",
                spec.project_manager,
                f"Introduces the {service} service into operations.",
                ("Epic", "Task", "Story", "Sub-task"),
                transition=spec,
            )
            for offset, (name, day) in enumerate(spec.milestones()):
                project.versions.append(
                    Version(
                        str(10000 + index * 10 + offset),
                        name,
                        day,
                        _released(spec, name, day, self.org.anchor.date(), rng),
                    )
                )
            return project
        key, name, category, type_key, types, _ = spec
        lead = rng.randrange(len(self.org.people))
        desk = self.org.members(GROUPS.index("Service Desk"))
        if type_key == "service_desk" and desk:
            lead = desk[0]  # one organisation: the desk's lead is the Service Desk group's manager
        return Project(
            index,
            pid,
            key,
            name,
            category,
            type_key,
            lead,
            f"{name}: day-to-day work.",
            tuple(t for t, _ in types),
        )

    def _transition_issues(self, project: Project, tr: Transition) -> None:
        service = self.org.services[tr.service]
        created = to_ms(tr.created)
        epic = self.cols.append(
            project=project.index,
            number=1,
            type=TYPE_NAMES.index("Epic"),
            priority=2,
            status=1,
            resolution=-1,
            team=service.support_group,
            service=tr.service,
            assignee=tr.project_manager,
            reporter=tr.project_manager,
            created=created,
            updated=created + 3 * DAY_MS,
            resolved=0,
            due=-1,
            spent=0,
            points=-1,
            breached=-1,
            comments=1,
        )
        self.extra[epic] = Extra(
            summary=f"Introduce {service.name} into operations",
            custom={
                "service": service.name,
                "aliases": list(service.aliases),
                "go_live": tr.go_live,
                "service_manager": tr.service_manager,
            },
            description=f"Transition of {service.name} from the project to operations.",
        )
        go_live = next(v for v in project.versions if v.name == "Go-live")
        for number, item in enumerate(tr.deliverables, start=2):
            resolved = to_ms(item.resolved) if item.resolved else 0
            handle = self.cols.append(
                project=project.index,
                number=number,
                type=TYPE_NAMES.index("Task"),
                priority=2,
                status=4 if item.done else (1 if resolved == 0 and number % 2 else 0),
                resolution=0 if item.done else -1,
                team=service.support_group,
                service=tr.service,
                assignee=item.assignee,
                reporter=tr.project_manager,
                created=to_ms(item.created),
                updated=to_ms(item.updated),
                resolved=resolved,
                due=(go_live.release_date - date(1970, 1, 1)).days if go_live.release_date else -1,
                spent=3600 * (2 + number),
                points=-1,
                breached=-1,
                comments=1 if item.done else 0,
            )
            self.extra[handle] = Extra(
                summary=item.summary,
                labels=[f"gate:{item.item}"],
                custom={
                    "approver": item.approver,
                    "approved_by": item.approved_by,
                    "service": service.name,
                },
                parent=epic,
                fix_version=go_live.id,
            )
        rng = random.Random(f"jira-signoff:{self.org.seed}:{tr.index}")
        receivers = (("Service desk", GROUPS.index("Service Desk")),
                     ("Resolver group", service.support_group))
        for offset, (who, team) in enumerate(receivers):
            self._signoff_issue(rng, project, tr, epic, len(tr.deliverables) + 2 + offset,
                                go_live.id, who, team)

    def _signoff_issue(self, rng: random.Random, project: Project, tr: Transition, epic: int,
                       number: int, version: str, who: str, team: int) -> None:
        """A receiving team's handover sign-off: its Team the receiver, closed by them."""
        done, created, resolved, updated = signoff_life(rng, tr, self.org.anchor)
        members = self.org.members(team)
        handle = self.cols.append(
            project=project.index,
            number=number,
            type=TYPE_NAMES.index("Task"),
            priority=2,
            status=4 if done else 0,
            resolution=0 if done else -1,
            team=team,
            service=tr.service,
            assignee=members[0] if members else tr.project_manager,
            reporter=tr.project_manager,
            created=to_ms(created),
            updated=to_ms(updated),
            resolved=to_ms(resolved) if resolved else 0,
            due=-1,
            spent=0,
            points=-1,
            breached=-1,
            comments=0,
        )
        self.extra[handle] = Extra(
            summary=f"{who} signs off the handover",
            labels=["gate:receivers_signoff"],
            custom={"service": self.org.services[tr.service].name},
            parent=epic,
            fix_version=version,
        )

    def _ticket_issues(self, rng: random.Random, project: Project, spec: Any, count: int) -> None:
        types: tuple[tuple[str, int], ...] = spec[4]
        type_weights = tuple(w for _, w in types)
        start = self.anchor_ms - YEAR_MS
        created_all = spread_created(rng, count, start, self.anchor_ms - 3_600_000)
        first = len(self.cols)
        for number, created in enumerate(created_all, start=1):
            type_name = types[weighted(rng, type_weights)][0]
            priority = 1 + weighted(rng, (3, 12, 55, 22, 8))
            t = life(rng, created, self.anchor_ms, priority)
            team = rng.randrange(len(GROUPS))
            done = t.resolved_ms != 0
            status = rng.choice((4, 4, 4, 5, 6, 7)) if done else rng.choice((0, 0, 1, 1, 2, 3))
            is_ops = type_name in ("Incident", "Service Request", "Problem")
            self.cols.append(
                project=project.index,
                number=number,
                type=TYPE_NAMES.index(type_name),
                priority=priority - 1,
                status=status,
                resolution=(1 if status == 7 else 0) if done else -1,
                team=team,
                service=rng.randrange(len(self.org.services)) if rng.random() < 0.85 else -1,
                assignee=pick_member(rng, self.org, team) if rng.random() < 0.9 else -1,
                reporter=rng.randrange(len(self.org.people)),
                created=created,
                updated=t.updated_ms,
                resolved=t.resolved_ms,
                due=(created + 14 * DAY_MS) // DAY_MS if rng.random() < 0.3 else -1,
                spent=t.effort_s if rng.random() < 0.7 else 0,
                points=rng.choice((1, 2, 3, 5, 8, 13)) if type_name == "Story" else -1,
                breached=int(t.breached) if is_ops else -1,
                comments=rng.choice((0, 0, 1, 1, 2, 3)),
            )
        moments = same_second_moments(rng, start, self.anchor_ms - 60_000, max(1, count // 300))
        updated = self.cols["updated"]
        view = updated[first:]
        bulk_touch(rng, self.cols["created"][first:], view, moments)
        updated[first:] = view

    def handle_of(self, id_or_key: str) -> int | None:
        """The handle for `PROJ-12` or `10011`, or None."""
        if id_or_key.isdigit():
            handle = int(id_or_key) - 10000
            return handle if 0 <= handle < len(self.cols) else None
        key, _, number = id_or_key.upper().rpartition("-")
        project = self.by_key.get(key)
        if project is None or not number.isdigit() or not 1 <= int(number) <= project.count:
            return None
        return project.first + int(number) - 1

    def key_of(self, handle: int) -> str:
        project = self.projects[self.cols["project"][handle]]
        return f"{project.key}-{self.cols['number'][handle]}"

    def project_of(self, handle: int) -> Project:
        return self.projects[self.cols["project"][handle]]

    def find_project(self, id_or_key: str) -> Project | None:
        project = self.by_key.get(id_or_key.upper())
        if project is None and id_or_key.isdigit():
            index = int(id_or_key) - 10000
            project = self.projects[index] if 0 <= index < len(self.projects) else None
        return project

    def status(self, handle: int) -> tuple[str, str, str]:
        return STATUSES[self.cols["status"][handle]]


def _released(transition: Transition, name: str, day: date, today: date,
              rng: random.Random) -> bool:
    """A past milestone's version is released (most of the time; always for a complete
    transition, whose review meeting is held only when it was reviewed)."""
    if day >= today:
        return False
    roll = rng.random()  # drawn for every past version, so the rest of the world stays as seeded
    if transition.complete:
        return transition.reviewed or name != "Review meeting"
    return roll < 0.9
