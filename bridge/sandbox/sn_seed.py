"""The ServiceNow side of the seeded world: reference tables, projects, articles, tickets."""

from __future__ import annotations

import random
from array import array

from bridge.sandbox.clock import sn_datetime, sn_duration, to_ms
from bridge.sandbox.org import GROUPS, Org
from bridge.sandbox.sn_rows import CATEGORIES, STATES, sla_rows, state_list, ticket_rows
from bridge.sandbox.sn_schema import NUMBER_PREFIX, TABLES, TICKET_TABLES
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
    """Every table, keyed by name; the world's ServiceNow half for one seed."""

    def __init__(self, org: Org, tickets: int) -> None:
        self.org = org
        self.anchor_ms = to_ms(org.anchor)
        self.tables: dict[str, Table] = {}
        self.columns: dict[str, Columns] = {}
        self._refs: dict[tuple[str, int], str] = {}
        self._reference_tables()
        total = sum(SHARES.values())
        for name in TICKET_TABLES:
            self._tickets(name, tickets * SHARES[name] // total)
        self._slas()
        self._deletions()

    def table(self, name: str) -> Table:
        return self.tables[name]

    def _add(self, name: str) -> Table:
        table = Table(name, TABLES[name], self.org.seed)
        self.tables[name] = table
        return table

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
        for s in org.services:
            services.insert(
                {
                    "name": s.name,
                    "u_aliases": ",".join(s.aliases),
                    "support_group": self.ref("sys_user_group", s.support_group),
                    "managed_by": self.ref("sys_user", s.manager),
                    "owned_by": self.ref("sys_user", s.manager),
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
        self._projects(rng)
        self._knowledge(rng)
        self._add("sys_journal_field")
        self._add("sys_audit_delete")

    def _projects(self, rng: random.Random) -> None:
        projects = self._add("pm_project")
        anchor = self.org.anchor.date()
        for t in (t for t in self.org.transitions if t.in_servicenow):
            days = (t.go_live - anchor).days
            phase = (
                "closing"
                if days < -20
                else "delivering"
                if days < 10
                else ("executing" if days < 60 else "planning")
            )
            projects.insert(
                {
                    "number": f"PRJ{10001 + len(projects.rows):07d}",
                    "short_description": t.name,
                    "description": f"Introduces {self.org.services[t.service].name}.",
                    "u_service": self.ref("cmdb_ci_service", t.service),
                    "u_jira_project": t.jira_key if t.linked else "",
                    "u_go_live": t.go_live.isoformat(),
                    "u_service_manager": self.ref("sys_user", t.service_manager),
                    "project_manager": self.ref("sys_user", t.project_manager),
                    "phase": phase,
                    "state": "3" if days < -30 else "2",
                    "percent_complete": str(
                        min(100, max(5, 100 + days * -1 if days < 0 else 100 - days))
                    ),
                    "start_date": sn_datetime(int(t.created.timestamp())),
                    "end_date": sn_datetime(int(t.created.timestamp()) + 86400 * 200),
                    "active": "false" if days < -30 else "true",
                    "sys_class_name": "pm_project",
                    "sys_created_on": sn_datetime(int(t.created.timestamp())),
                    "sys_updated_on": self._when(rng.uniform(0.5, 20)),
                },
                "admin",
            )
        for name in ("ERP Licence Review", "Office Move Floor 3"):
            projects.insert(
                {
                    "number": f"PRJ{10001 + len(projects.rows):07d}",
                    "short_description": name,
                    "description": "Internal project; no service is introduced.",
                    "phase": "executing",
                    "state": "2",
                    "percent_complete": "40",
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
        for title in ("IT Service Desk", "Operations Runbooks"):
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
            for label in ("Services", "How-to", "Known errors"):
                categories.insert(
                    {
                        "label": label,
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
                    "workflow_state": "published",
                    "author": self.ref("sys_user", s.manager),
                    "valid_to": "2100-01-01",
                    "active": "true",
                    "sys_view_count": str(rng.randrange(500)),
                    "sys_created_on": self._when(rng.uniform(100, 300)),
                    "sys_updated_on": self._when(rng.uniform(10, 90)),
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
            TABLES[name],
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
            TABLES["task_sla"],
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
