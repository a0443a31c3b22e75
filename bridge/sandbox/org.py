"""The seeded organisation: services, resolver groups, people and service-transition projects.

Small and fully materialised; the tickets (see `tickets.py`) refer to it by index.
Every choice comes from one `random.Random(seed)`, so a seed always builds the same org.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

GATE_ITEMS: tuple[tuple[str, str], ...] = (
    ("runbook", "Write and hand over the operations runbook"),
    ("monitoring", "Set up monitoring and alerting"),
    ("sla", "Agree the SLA and support hours"),
    ("contacts", "Publish the escalation contacts"),
    ("kb_article", "Publish the service desk knowledge article"),
    ("service_manager_acceptance", "Service manager accepts the service into operations"),
)

#: deliverables whose appointed approver is the transition's service manager
SERVICE_MANAGER_APPROVES = ("service_manager_acceptance", "sla", "contacts")

MILESTONES: tuple[tuple[str, int], ...] = (
    ("Start-up meeting", -90),
    ("Follow-up meeting", -45),
    ("Review meeting", -10),
    ("Go-live", 0),
    ("Hypercare end", 30),
)

# name, aliases, criticality, support hours, SLA
_SERVICES: tuple[tuple[str, tuple[str, ...], str, str, str], ...] = (
    ("Payments", ("PAY", "Payment Gateway"), "1 - most critical", "24x7", "Gold"),
    ("Customer Portal", ("Portal", "MyAccount"), "1 - most critical", "24x7", "Gold"),
    ("Identity & Access", ("IAM", "SSO", "Single Sign-On"), "1 - most critical", "24x7", "Gold"),
    ("Data Warehouse", ("DWH", "Analytics Platform"), "2 - somewhat critical", "8x5", "Silver"),
    (
        "Email & Collaboration",
        ("Mail", "Exchange Online"),
        "2 - somewhat critical",
        "12x5",
        "Silver",
    ),
    ("Observability", ("Monitoring", "OBS"), "2 - somewhat critical", "24x7", "Silver"),
    ("HR Portal", ("Workday", "HR Self-Service"), "3 - less critical", "8x5", "Bronze"),
    ("Corporate Network", ("LAN", "WAN", "Network"), "1 - most critical", "24x7", "Gold"),
    ("Field Service App", ("FSA", "Mobile Field App"), "3 - less critical", "12x5", "Bronze"),
    ("Order Management", ("OMS", "Orders"), "1 - most critical", "24x7", "Gold"),
    ("Document Archive", ("DMS", "Archive"), "4 - not critical", "8x5", "Bronze"),
    ("Video Conferencing", ("Zoom", "Meetings"), "3 - less critical", "12x5", "Bronze"),
    ("Telephony", ("VoIP", "Contact Centre"), "2 - somewhat critical", "24x7", "Silver"),
    ("Print Services", ("Printing",), "4 - not critical", "8x5", "Bronze"),
    ("Backup & Restore", ("Backup", "Veeam"), "2 - somewhat critical", "24x7", "Silver"),
)

GROUPS: tuple[str, ...] = (
    "Service Desk",
    "Network",
    "Platform Operations",
    "Database",
    "Application Support",
    "Security Operations",
    "Identity",
    "Payments Engineering",
    "Data Engineering",
    "End User Computing",
)

_FIRST = (
    "Aroha",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hemi",
    "Ines",
    "Jonas",
    "Kiri",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quinn",
    "Rangi",
    "Sofia",
    "Tane",
    "Uma",
    "Victor",
    "Wiremu",
    "Xin",
    "Yusuf",
    "Zoe",
    "Amir",
    "Bianca",
    "Carlos",
    "Dana",
)
_LAST = (
    "Walker",
    "Ngata",
    "Chen",
    "Kowalski",
    "Rossi",
    "Haddad",
    "Okafor",
    "Parata",
    "Silva",
    "Berg",
    "Tipene",
    "Murphy",
    "Patel",
    "Schmidt",
    "Nguyen",
    "Kaur",
    "Fraser",
    "Horomona",
    "Lopez",
    "Moana",
    "Sato",
    "Dubois",
    "Tuhiwai",
    "Li",
    "Demir",
    "Clarke",
    "Novak",
    "Ito",
)

# key, name, service, go-live offset (days from the anchor), also in ServiceNow, only in SN
_TRANSITIONS: tuple[tuple[str, str, str, int, bool, bool], ...] = (
    ("PAYX", "Payments Platform 2.0", "Payments", -45, True, False),
    ("PORTAL", "Customer Portal Relaunch", "Customer Portal", 5, True, False),
    ("SSO", "Single Sign-On Rollout", "Identity & Access", 9, True, False),
    ("DWH", "Data Warehouse Migration", "Data Warehouse", 24, True, False),
    ("MAIL", "Email Migration to the Cloud", "Email & Collaboration", 75, False, False),
    ("OBS", "Observability Platform", "Observability", 160, False, False),
    ("", "HR Self-Service Portal", "HR Portal", 40, True, True),
    ("", "Network Refresh 2026", "Corporate Network", -20, True, True),
)


# key -> (complete, reviewed): PAYX passed its gate and went live; PORTAL delivered everything
# and awaits the review meeting before its go-live
COMPLETE: dict[str, tuple[bool, bool]] = {"PAYX": (True, True), "PORTAL": (True, False)}
# key -> the deliverable some other person than its appointed approver signed off
WRONG_APPROVER: dict[str, str] = {"SSO": "runbook"}


def stable_hex(*parts: object, length: int = 32) -> str:
    """A deterministic hex id (sys_id, accountId) from its parts."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class Person:
    index: int
    first: str
    last: str
    group: int

    @property
    def display_name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def user_name(self) -> str:
        return f"{self.first}.{self.last}".lower()

    @property
    def email(self) -> str:
        return f"{self.user_name}@example.com"


@dataclass(frozen=True)
class Service:
    index: int
    name: str
    aliases: tuple[str, ...]
    criticality: str
    support_hours: str
    sla: str
    support_group: int
    manager: int


@dataclass
class Deliverable:
    item: str
    summary: str
    done: bool
    approver: int
    approved_by: int | None
    assignee: int
    created: datetime
    resolved: datetime | None
    updated: datetime


@dataclass
class Transition:
    """A project that introduces or changes a service; in Jira, ServiceNow or both."""

    index: int
    jira_key: str
    name: str
    service: int
    go_live: date
    service_manager: int
    project_manager: int
    in_jira: bool
    in_servicenow: bool
    linked: bool
    created: datetime
    # complete: every deliverable done and approved by its appointed approver; reviewed: the
    # review meeting held (its version released), where the service manager accepts
    complete: bool = False
    reviewed: bool = True
    deliverables: list[Deliverable] = field(default_factory=list)

    def milestones(self) -> list[tuple[str, date]]:
        return [(name, self.go_live + timedelta(days=days)) for name, days in MILESTONES]


@dataclass
class Org:
    seed: int
    anchor: datetime
    people: list[Person]
    services: list[Service]
    transitions: list[Transition]
    _members: dict[int, list[int]] = field(default_factory=dict, repr=False)

    def members(self, group: int) -> list[int]:
        if not self._members:
            for p in self.people:
                self._members.setdefault(p.group, []).append(p.index)
        return self._members.get(group, [])


def build_org(seed: int, anchor: datetime) -> Org:
    rng = random.Random(f"org:{seed}")
    people = _people(rng)
    services = _services(rng, people)
    by_name = {s.name: s.index for s in services}
    transitions = [
        _transition(rng, i, spec, by_name[spec[2]], people, anchor)
        for i, spec in enumerate(_TRANSITIONS)
    ]
    return Org(seed, anchor, people, services, transitions)


def _people(rng: random.Random) -> list[Person]:
    names = [(f, s) for f in _FIRST for s in _LAST]
    chosen = rng.sample(names, 48)
    # Every group gets at least three people; the rest are spread at random.
    groups = [i % len(GROUPS) for i in range(len(chosen))]
    rng.shuffle(groups[len(GROUPS) * 3 :])
    return [Person(i, f, s, groups[i]) for i, (f, s) in enumerate(chosen)]


def _services(rng: random.Random, people: list[Person]) -> list[Service]:
    needed = {spec[2] for spec in _TRANSITIONS}
    optional = [s for s in _SERVICES if s[0] not in needed]
    count = rng.randint(max(8, len(needed)), len(_SERVICES)) - len(needed)
    keep = needed | {s[0] for s in rng.sample(optional, count)}
    services: list[Service] = []
    for spec in _SERVICES:
        if spec[0] not in keep:
            continue
        group = rng.randrange(len(GROUPS))
        manager = rng.randrange(len(people))
        services.append(Service(len(services), *spec, support_group=group, manager=manager))
    return services


def _transition(
    rng: random.Random,
    index: int,
    spec: tuple[str, str, str, int, bool, bool],
    service: int,
    people: list[Person],
    anchor: datetime,
) -> Transition:
    key, name, _, offset, in_sn, sn_only = spec
    # the gate's later states need whole transitions: one that passed, one awaiting its review
    complete, reviewed = COMPLETE.get(key, (False, True))
    go_live = (anchor + timedelta(days=offset + rng.randint(-2, 2))).date()
    created = anchor - timedelta(days=max(120, 120 - offset) + rng.randint(0, 30))
    transition = Transition(
        index=index,
        jira_key=key,
        name=name,
        service=service,
        go_live=go_live,
        service_manager=rng.randrange(len(people)),
        project_manager=rng.randrange(len(people)),
        in_jira=not sn_only,
        in_servicenow=in_sn,
        linked=in_sn and not sn_only and index % 4 != 1,
        created=created,
        complete=complete,
        reviewed=reviewed,
    )
    days_left = (go_live - anchor.date()).days
    done_share = (
        0.95
        if days_left < -30
        else 0.8
        if days_left < 0
        else 0.6
        if days_left < 15
        else (0.35 if days_left < 60 else 0.1)
    )
    for item, summary in GATE_ITEMS:
        acceptance = item == "service_manager_acceptance"
        done = (days_left < 0 and rng.random() < 0.7) if acceptance else rng.random() < done_share
        drawn = None if acceptance else rng.randrange(len(people))
        # the service manager approves what the gate appoints them to; the team's deliverables
        # name a person of their own
        approver = transition.service_manager if item in SERVICE_MANAGER_APPROVES else drawn
        assert approver is not None
        roll = rng.random()
        approved_by = None
        if done:
            approved_by = (
                approver if roll < 0.75 else rng.randrange(len(people)) if roll < 0.9 else None
            )
        if complete and acceptance and not reviewed:
            done, approved_by = False, None  # everything delivered; acceptance at the review
        elif complete:
            done, approved_by = True, approver
        elif WRONG_APPROVER.get(key) == item:  # done, but approved by the wrong person
            done, approved_by = True, (approver + 1) % len(people)
        item_created = created + timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 600))
        resolved = None
        if done:
            latest = min(anchor, datetime.combine(go_live, anchor.timetz()) + timedelta(days=5))
            span = max(60, int((latest - item_created).total_seconds()))
            resolved = item_created + timedelta(seconds=rng.randint(span // 3, span))
        updated = resolved or item_created + timedelta(days=rng.randint(0, 30))
        transition.deliverables.append(
            Deliverable(
                item,
                summary,
                done,
                approver,
                approved_by,
                rng.randrange(len(people)),
                item_created,
                resolved,
                min(updated, anchor - timedelta(minutes=5)),
            )
        )
    return transition


def signoff_life(rng: random.Random, t: Transition, anchor: datetime
                 ) -> tuple[bool, datetime, datetime | None, datetime]:
    """A sign-off task: done for whole transitions, else more likely the nearer the go-live."""
    days_left = (t.go_live - anchor.date()).days
    done = t.complete or rng.random() < (0.8 if days_left < 0 else 0.5 if days_left < 15 else 0.1)
    created = t.created + timedelta(days=rng.randint(5, 30))
    resolved = None
    if done:
        span = max(3600, int((anchor - created).total_seconds()) - 3600)
        resolved = created + timedelta(seconds=rng.randint(span // 2, span))
    updated = resolved or created + timedelta(days=rng.randint(0, 20))
    return done, created, resolved, min(updated, anchor - timedelta(minutes=5))
