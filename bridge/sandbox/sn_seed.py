"""The ServiceNow side of the seeded world: reference tables, projects, articles, tickets."""

from __future__ import annotations

import random
from array import array
from datetime import UTC, date, datetime, time

from bridge.sandbox.clock import parse_sn_datetime, sn_datetime, sn_duration, to_ms
from bridge.sandbox.org import GROUPS, Org, Transition
from bridge.sandbox.sn_deliverables import seed_deliverables
from bridge.sandbox.sn_rows import (
    CATEGORIES,
    LEGACY_CLOSED,
    STATES,
    legacy_closed,
    sla_rows,
    state_list,
    ticket_rows,
)
from bridge.sandbox.sn_schema import (
    INTERNAL_TYPES,
    NUMBER_PREFIX,
    NUMERIC_CHOICES,
    TABLE_LABELS,
    TASK_FIELDS,
    TICKET_TABLES,
    label,
    schema,
)
from bridge.sandbox.sn_tables import Table
from bridge.sandbox.tickets import (
    SLA_HOURS,
    YEAR_MS,
    Columns,
    bulk_touch,
    life,
    pick_member,
    same_second_moments,
    spread_created,
    weighted,
)

SHARES = {"incident": 50, "sc_req_item": 30, "change_request": 12, "problem": 8}
TICKET_COLUMNS = {
    "priority": "b",
    "state": "b",
    "group": "b",
    "service": "b",
    "assigned": "h",
    "caller": "h",
    "opened": "q",
    "updated": "q",
    "resolved": "q",
    "closed": "q",
    "made_sla": "b",
    "worked": "l",
    "category": "b",
    "impact": "b",
}


class ServiceNowData:
    """Every table, keyed by name; the world's ServiceNow half for one seed.

    A stock instance by default, with the gaps of a live one (empty fields, legacy states,
    a duplicate number); `custom_columns` is the customised instance: the customer's `u_`
    columns and knowledge bases, and dense rows."""

    def __init__(self, org: Org, tickets: int, custom_columns: bool = False) -> None:
        self.org = org
        self.custom_columns = custom_columns
        self.schema = schema(custom_columns)
        self.anchor_ms = to_ms(org.anchor)
        self.tables: dict[str, Table] = {}
        self.columns: dict[str, Columns] = {}
        self._refs: dict[tuple[str, int], str] = {}
        self._reference_tables()
        seed_deliverables(self)  # project tasks and their approvals (sn_deliverables.py)
        total = sum(SHARES.values())
        for name in TICKET_TABLES:
            self._tickets(name, tickets * SHARES[name] // total)
        self._slas()
        self._deletions()
        self._duplicate_number()
        self._dictionary()

    def table(self, name: str) -> Table:
        return self.tables[name]

    def _add(self, name: str) -> Table:
        table = Table(name, self.schema[name], self.org.seed)
        self.tables[name] = table
        return table

    add_table = _add

    def ref(self, table: str, i: int | None) -> str:
        if i is None or i < 0:
            return ""
        key = (table, i)
        found = self._refs.get(key)
        if found is None:
            found = self.tables[table].sys_id(i)
            if table not in TICKET_TABLES:  # small tables: cache their few ids
                self._refs[key] = found
        return found

    def _when(self, days_ago: float) -> str:
        return sn_datetime((self.anchor_ms - int(days_ago * 86_400_000)) // 1000)

    def _reference_tables(self) -> None:
        org, rng = self.org, random.Random(f"servicenow:{self.org.seed}")
        users = self._add("sys_user")
        for p in org.people:
            users.insert(
                {
                    "user_name": p.user_name,
                    "first_name": p.first,
                    "last_name": p.last,
                    "name": p.display_name,
                    "email": p.email,
                    "active": "true",
                    "title": GROUPS[p.group] + " engineer",
                    "time_zone": "",
                    "sys_created_on": self._when(500 - p.index),
                    "sys_updated_on": self._when(rng.uniform(5, 300)),
                },
                "admin",
            )
        users.insert(
            {
                "user_name": "sandbox",
                "first_name": "Sandbox",
                "last_name": "Integration",
                "name": "Sandbox Integration",
                "email": "sandbox@example.com",
                "active": "true",
                "title": "Integration account",
                "sys_created_on": self._when(600),
                "sys_updated_on": self._when(600),
            },
            "admin",
        )
        groups = self._add("sys_user_group")
        for g, name in enumerate(GROUPS):
            members = org.members(g)
            groups.insert(
                {
                    "name": name,
                    "description": f"{name} resolver group",
                    "manager": self.ref("sys_user", members[0] if members else None),
                    "email": name.lower().replace(" ", ".") + "@example.com",
                    "active": "true",
                    "type": "itil",
                    "sys_created_on": self._when(700),
                    "sys_updated_on": self._when(30 + g),
                },
                "admin",
            )
        services = self._add("cmdb_ci_service")
        # the service owner is the service manager its transition names (Jira's Epic too)
        owners = {t.service: t.service_manager for t in org.transitions}
        for s in org.services:
            services.insert(
                {
                    "name": s.name,
                    "u_aliases": ",".join(s.aliases),
                    "support_group": self.ref("sys_user_group", s.support_group),
                    "managed_by": self.ref("sys_user", s.manager),
                    "owned_by": self.ref("sys_user", owners.get(s.index, s.manager)),
                    "busines_criticality": s.criticality,
                    "u_support_hours": s.support_hours,
                    "u_sla": s.sla,
                    "operational_status": "1",
                    "service_classification": "Business Service",
                    "sys_class_name": "cmdb_ci_service",
                    "sys_created_on": self._when(650 - s.index),
                    "sys_updated_on": self._when(rng.uniform(1, 200)),
                },
                "admin",
            )
        slas = self._add("contract_sla")
        for level, hours in enumerate(SLA_HOURS, start=1):
            slas.insert(
                {
                    "name": f"P{level} resolution ({int(hours)} hours)",
                    "duration": sn_duration(int(hours * 3600)),
                    "target": "resolution",
                    "collection": "incident",
                    "active": "true",
                    "sys_created_on": self._when(800),
                    "sys_updated_on": self._when(800),
                },
                "admin",
            )
        self._add("sys_journal_field")
        self._add("sys_audit_delete")
        self._projects(rng)
        self._knowledge(rng)

    def _projects(self, rng: random.Random) -> None:
        projects = self._add("pm_project")
        approvals = self._add("sysapproval_approver")
        anchor = self.org.anchor.date()
        rejected_once = False
        for t in (t for t in self.org.transitions if t.in_servicenow):
            days = (t.go_live - anchor).days
            phase = (
                "closing"
                if days < -20
                else "delivering"
                if days < 10
                else ("executing" if days < 60 else "planning")
            )
            steps = _approval_steps(t, anchor, rejected_once)
            rejected_once = rejected_once or any(state == "rejected" for state, *_ in steps)
            service = self.ref("cmdb_ci_service", t.service)
            go_live_s = int(datetime.combine(t.go_live, self.org.anchor.timetz()).timestamp())
            p = projects.insert(
                {
                    "number": f"PRJ{10001 + len(projects.rows):07d}",
                    "short_description": t.name,
                    "description": f"Introduces {self.org.services[t.service].name}.",
                    "u_service": service,
                    "business_service": service,
                    "u_jira_project": t.jira_key if t.linked else "",
                    "u_go_live": t.go_live.isoformat(),
                    "u_service_manager": self.ref("sys_user", t.service_manager),
                    "approval": steps[-1][0] if steps else "not requested",
                    "project_manager": self.ref("sys_user", t.project_manager),
                    "phase": phase,
                    "state": "3" if days < -30 else "2",
                    "percent_complete": str(
                        min(100, max(5, 100 + days * -1 if days < 0 else 100 - days))
                    ),
                    "start_date": sn_datetime(int(t.created.timestamp())),
                    "end_date": sn_datetime(go_live_s),  # the planned end is the go-live
                    "active": "false" if days < -30 else "true",
                    "sys_class_name": "pm_project",
                    "sys_created_on": sn_datetime(int(t.created.timestamp())),
                    "sys_updated_on": self._when(rng.uniform(0.5, 20)),
                },
                "admin",
            )
            project_id = projects.sys_id(p)
            owner = self.ref("sys_user", t.service_manager)
            for state, stamp, comment in steps:
                at = min(stamp, self.anchor_ms // 1000 - 60)
                approvals.insert(
                    {
                        "sysapproval": project_id,
                        "document_id": project_id,
                        "source_table": "pm_project",
                        "approver": owner,
                        "state": state,
                        "sys_created_on": sn_datetime(at - 86400 * 3),
                        "sys_updated_on": sn_datetime(at),
                    },
                    "system",
                )
                if comment:
                    self._note(approvals, approvals.next_index - 1, "comments", comment, at)
            self._note(
                projects,
                p,
                "work_notes",
                "Kick-off held; plan agreed.",
                int(t.created.timestamp()) + 86400 * 7,
            )
        for k, name in enumerate(("ERP Licence Review", "Office Move Floor 3")):
            projects.insert(
                {
                    "number": f"PRJ{10001 + len(projects.rows):07d}",
                    "short_description": name,
                    "description": "Internal project; no service is introduced.",
                    "phase": "executing",
                    "state": "2",
                    "approval": "not requested",
                    "percent_complete": "40",
                    # one has a planned end, the other nobody filled in
                    "start_date": self._when(90),
                    "end_date": "" if k else self._when(-60),
                    "project_manager": self.ref("sys_user", rng.randrange(len(self.org.people))),
                    "active": "true",
                    "sys_class_name": "pm_project",
                    "sys_created_on": self._when(90),
                    "sys_updated_on": self._when(rng.uniform(1, 9)),
                },
                "admin",
            )

    def _knowledge(self, rng: random.Random) -> None:
        bases = self._add("kb_knowledge_base")
        stock = ("IT", "Knowledge")  # what a new instance ships with
        titles = ("IT Service Desk", "Operations Runbooks") if self.custom_columns else stock
        for title in titles:
            bases.insert(
                {
                    "title": title,
                    "description": f"{title} knowledge base",
                    "owner": self.ref("sys_user", 0),
                    "active": "true",
                    "sys_created_on": self._when(900),
                    "sys_updated_on": self._when(100),
                },
                "admin",
            )
        categories = self._add("kb_category")
        for base in range(2):
            for caption in ("Services", "How-to", "Known errors"):
                categories.insert(
                    {
                        "label": caption,
                        "kb_knowledge_base": self.ref("kb_knowledge_base", base),
                        "active": "true",
                        "sys_created_on": self._when(900),
                        "sys_updated_on": self._when(100),
                    },
                    "admin",
                )
        articles = self._add("kb_knowledge")
        for s in self.org.services[::2]:
            articles.insert(
                {
                    "number": f"KB{10001 + len(articles.rows):07d}",
                    "short_description": f"How to get help with {s.name}",
                    "text": f"<p>Contact the service desk for {s.name} issues.</p>",
                    "meta": ",".join((s.name, *s.aliases)),
                    "kb_knowledge_base": self.ref("kb_knowledge_base", 0),
                    "kb_category": self.ref("kb_category", 0),
                    "workflow_state": "published",
                    "author": self.ref("sys_user", s.manager),
                    "cmdb_ci": self.ref("cmdb_ci_service", s.index),
                    "valid_to": "2100-01-01",
                    "active": "true",
                    "sys_view_count": str(rng.randrange(500)),
                    "sys_created_on": self._when(rng.uniform(100, 300)),
                    "sys_updated_on": self._when(rng.uniform(10, 90)),
                },
                "admin",
            )
        # articles in the other workflow states, drawn from their own generator so the
        # published ones above stay as seeded
        others = random.Random(f"servicenow:kb-states:{self.org.seed}")
        states = ("draft", "review", "retired", "outdated")
        for state, s in zip(states, self.org.services[1::2], strict=False):
            articles.insert(
                {
                    "number": f"KB{10001 + len(articles.rows):07d}",
                    "short_description": f"{s.name}: known issues",
                    "text": "" if state == "draft" else f"<p>Known issues of {s.name}.</p>",
                    "meta": "",
                    "kb_knowledge_base": self.ref("kb_knowledge_base", 0),
                    "kb_category": self.ref("kb_category", 2),
                    "workflow_state": state,
                    "author": self.ref("sys_user", s.manager),
                    "valid_to": self._when(30).split(" ")[0] if state == "outdated" else "",
                    "active": "false" if state in ("retired", "outdated") else "true",
                    "sys_view_count": "0" if state == "draft" else str(others.randrange(50)),
                    "sys_created_on": self._when(others.uniform(100, 300)),
                    "sys_updated_on": self._when(others.uniform(1, 90)),
                },
                "admin",
            )

    def _tickets(self, name: str, count: int) -> None:
        org = self.org
        rng = random.Random(f"servicenow:{name}:{org.seed}")
        cols = Columns(TICKET_COLUMNS)
        start = self.anchor_ms - YEAR_MS
        opens, resolved_state, closed, canceled = STATES[name]
        for created in spread_created(rng, count, start, self.anchor_ms - 3_600_000):
            priority = 1 + weighted(rng, (3, 12, 55, 22, 8))
            t = life(rng, created, self.anchor_ms, priority)
            group = rng.randrange(len(GROUPS))
            closed_ms = 0
            if t.resolved_ms:
                aged = self.anchor_ms - t.resolved_ms > 5 * 86_400_000 or resolved_state is None
                state = (canceled if rng.random() < 0.03 else closed) if aged else resolved_state
                legacy = name in LEGACY_CLOSED and not self.custom_columns
                if state == closed and legacy and legacy_closed(len(cols)):
                    state = LEGACY_CLOSED[name]
                if aged:
                    closed_ms = min(
                        self.anchor_ms - 60_000,
                        t.resolved_ms + (5 * 86_400_000 if resolved_state else 0),
                    )
            else:
                state = rng.choice(opens)
            cols.append(
                priority=priority,
                state=state_list(name).index(state),
                group=group,
                service=rng.randrange(len(org.services)) if rng.random() < 0.9 else -1,
                assigned=pick_member(rng, org, group) if rng.random() < 0.92 else -1,
                caller=rng.randrange(len(org.people)),
                opened=created // 1000,
                updated=max(t.updated_ms, closed_ms) // 1000,
                resolved=t.resolved_ms // 1000,
                closed=closed_ms // 1000,
                made_sla=0 if t.breached else 1,
                worked=t.effort_s,
                category=rng.randrange(len(CATEGORIES)),
                impact=min(3, 1 + priority // 2),
            )
        moments = same_second_moments(rng, start, self.anchor_ms - 60_000, max(1, count // 300))
        touched = array("q", (u * 1000 for u in cols["updated"]))
        bulk_touch(rng, [o * 1000 for o in cols["opened"]], touched, moments)
        view = cols["updated"]
        view[:] = array("q", (v // 1000 for v in touched))
        self.columns[name] = cols
        table = Table(
            name,
            self.schema[name],
            org.seed,
            generated=len(cols),
            updated=lambda i: view[i],
            display=lambda i: f"{NUMBER_PREFIX[name]}{10001 + i:07d}",
        )
        self.tables[name] = table
        table.generate = ticket_rows(self, name)

    def _slas(self) -> None:
        incidents = self.columns["incident"]
        updated = incidents["updated"]
        table = Table(
            "task_sla",
            self.schema["task_sla"],
            self.org.seed,
            generated=len(incidents),
            updated=lambda i: updated[i],
        )
        self.tables["task_sla"] = table
        table.generate = sla_rows(self)

    def _deletions(self) -> None:
        """Some incidents were deleted before the sandbox started; sys_audit_delete says so."""
        rng = random.Random(f"servicenow:deleted:{self.org.seed}")
        incidents, slas = self.tables["incident"], self.tables["task_sla"]
        audit = self.tables["sys_audit_delete"]
        count = incidents.generated // 200 + (1 if incidents.generated >= 20 else 0)
        for i in sorted(rng.sample(range(incidents.generated), count)):
            row = incidents.row(i)
            when = int(self.anchor_ms // 1000 - rng.randrange(60, 30 * 86400))
            when = max(when, int(self.columns["incident"]["updated"][i]) + 60)
            incidents.delete(i)
            slas.delete(i)
            audit.insert(audit_values(row, "incident", sn_datetime(when)), "admin")

    def _duplicate_number(self) -> None:
        """One incident number on two records, as an import that ran twice leaves it."""
        incidents = self.tables["incident"]
        if incidents.generated < 10 or self.custom_columns:  # not on the customised instance
            return
        original = next(
            i for i in incidents.in_creation_order(None, None) if i >= incidents.generated // 3
        )
        copy = dict(incidents.row(original))
        del copy["sys_id"]
        later = parse_sn_datetime(copy["sys_updated_on"]) or 0
        copy["sys_updated_on"] = sn_datetime(min(later + 3600, self.anchor_ms // 1000 - 60))
        copy["sys_created_by"] = copy["sys_updated_by"] = "import.legacy"
        incidents.insert(copy, "import.legacy")

    def _note(self, table: Table, i: int, element: str, text: str, at: int) -> None:
        """A seeded journal entry (work notes, comments) of record `i`."""
        self.tables["sys_journal_field"].insert(
            {
                "element": element,
                "element_id": table.sys_id(i),
                "name": table.name,
                "value": text,
                "sys_created_on": sn_datetime(at),
                "sys_updated_on": sn_datetime(at),
            },
            "system",
        )

    def _dictionary(self) -> None:
        """sys_dictionary: per table a collection entry (no element) and its columns, so a
        client can find which columns this instance has. As on a real instance, the
        columns the ticket tables and pm_project inherit are entries of `task`."""
        dictionary = self._add("sys_dictionary")
        when = self._when(1000)
        columns: dict[str, dict[str, str]] = {"task": {}}
        for name, table in self.tables.items():
            own = columns.setdefault(name, {})
            for element, kind in table.fields.items():
                inherited = name in (*TICKET_TABLES, "pm_project") and element in TASK_FIELDS
                (columns["task"] if inherited else own)[element] = kind
        for name in sorted(columns):
            dictionary.insert(self._entry(name, "", "collection", "", when), "system")
            for element, kind in columns[name].items():
                target = kind[2:] if kind.startswith("r:") else ""
                internal = "reference" if target else INTERNAL_TYPES.get(kind, "string")
                if kind.startswith("c:") and element in NUMERIC_CHOICES:
                    internal = "integer"
                dictionary.insert(self._entry(name, element, internal, target, when), "system")

    @staticmethod
    def _entry(name: str, element: str, internal: str, target: str, when: str) -> dict[str, str]:
        return {
            "name": name,
            "element": element,
            "internal_type": internal,
            "column_label": label(element) if element else TABLE_LABELS.get(name, label(name)),
            "reference": target,
            "max_length": "32" if internal in ("reference", "collection") else "40",
            "active": "true",
            "sys_created_on": when,
            "sys_updated_on": when,
        }


def _approval_steps(
    t: Transition, today: date, rejected_before: bool
) -> list[tuple[str, int, str]]:
    """The service owner's approvals of a project, oldest first: (state, when, comment).

    Approved where the owner accepted the service (the acceptance deliverable signed off by
    them and the review held: what makes the gate pass); requested once the go-live is
    within a month; not requested before. The first project still waiting after its
    go-live was rejected once before being resubmitted."""
    acceptance = next((d for d in t.deliverables if d.item == "service_manager_acceptance"), None)
    go_live = int(datetime.combine(t.go_live, time(9), UTC).timestamp())
    if (
        acceptance is not None
        and acceptance.done
        and acceptance.approved_by == t.service_manager
        and t.reviewed
        and acceptance.resolved is not None
    ):
        return [("approved", int(acceptance.resolved.timestamp()), "")]
    days = (t.go_live - today).days
    if days > 30:
        return [("not requested", int(t.created.timestamp()) + 86400, "")]
    asked = go_live - 30 * 86400
    if days < 0 and not rejected_before:
        return [
            ("rejected", asked, "Runbook not handed over yet."),
            ("requested", go_live - 2 * 86400, ""),
        ]
    return [("requested", asked, "")]


def audit_values(row: dict[str, str], table: str, when: str) -> dict[str, str]:
    """A sys_audit_delete record for a deleted row, its payload an XML snapshot like the real one."""
    fields = "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in row.items() if v)
    return {
        "tablename": table,
        "documentkey": row["sys_id"],
        "display_value": row.get("number", row["sys_id"]),
        "payload": f'<?xml version="1.0" encoding="UTF-8"?><record_update table="{table}">'
        f"<{table}>{fields}</{table}></record_update>",
        "sys_created_on": when,
        "sys_updated_on": when,
    }


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
