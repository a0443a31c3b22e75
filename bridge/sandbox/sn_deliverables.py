"""The ServiceNow side of each transition's deliverables: stock project tasks and approvals.

Each project that introduces a service gets one `pm_project_task` per deliverable of the
SMO's template (exact task names, `parent` and `top_task` the project), and the handover's
sign-off tasks, one per receiving team. Who approved comes from the stock approval tables:
`sysapproval_approver` (a person: the service owner for acceptance, SLA and contacts) and
`sysapproval_group` (a group: the resolver group for runbook and monitoring, each receiving
team for its sign-off). The mix is the org's: most approved by the right person or group,
some by the wrong one, some still awaiting approval or not done.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import TYPE_CHECKING

from bridge.sandbox.clock import sn_datetime
from bridge.sandbox.org import GROUPS, Deliverable, signoff_life
from bridge.sandbox.sn_tables import Table

if TYPE_CHECKING:
    from bridge.sandbox.sn_seed import ServiceNowData

#: deliverable -> approved by a person (the service owner) or a group (the resolver group)
PERSON_APPROVED = ("service_manager_acceptance", "sla", "contacts")
GROUP_APPROVED = ("runbook", "monitoring")
#: the handover's sign-off task of each receiving team (names as in the project template)
SIGNOFF_TASKS = (("service_desk", "Service desk signs off the handover"),
                 ("resolver_group", "Resolver group signs off the handover"))
_CLOSED, _OPEN, _WIP = "3", "1", "2"


def seed_deliverables(data: ServiceNowData) -> None:
    """Project tasks and their approvals for every transition tracked in ServiceNow."""
    org = data.org
    tasks = data.add_table("pm_project_task")
    people_approvals = data.table("sysapproval_approver")
    group_approvals = data.add_table("sysapproval_group")
    projects = data.table("pm_project")
    by_name = {row.get("short_description"): projects.sys_id(i) for i, row in projects.rows.items()}
    rng = random.Random(f"servicenow-deliverables:{org.seed}")
    anchor = org.anchor
    for t in (t for t in org.transitions if t.in_servicenow):
        project = by_name.get(t.name)
        if project is None:
            continue
        owner = t.service_manager
        support = org.services[t.service].support_group
        for d in t.deliverables:
            task = _task(data, tasks, project, d.summary, d.done, d.assignee, support,
                         d.created, d.resolved, d.updated)
            if d.item in PERSON_APPROVED:
                who = owner if d.approved_by == d.approver else (owner + 1) % len(org.people)
                _person_approval(data, people_approvals, task, who, owner, d)
            elif d.item in GROUP_APPROVED:
                group = support if d.approved_by == d.approver else (support + 1) % len(GROUPS)
                _group_approval(data, group_approvals, task, group, d.done and d.approved_by
                                is not None, d.resolved or d.updated)
        for receiver, name in SIGNOFF_TASKS:
            group = GROUPS.index("Service Desk") if receiver == "service_desk" else support
            done, created, resolved, updated = signoff_life(rng, t, anchor)
            task = _task(data, tasks, project, name, done, t.project_manager, group, created,
                         resolved, updated)
            _group_approval(data, group_approvals, task, group, done, resolved or updated)


def _task(data: ServiceNowData, tasks: Table, project: str, name: str, done: bool,
          assignee: int, group: int, created: datetime, resolved: datetime | None,
          updated: datetime) -> str:
    i = tasks.insert(
        {
            "number": f"PRJTASK{10001 + len(tasks.rows):07d}",
            "short_description": name,
            "parent": project,
            "top_task": project,
            "state": _CLOSED if done else (_WIP if resolved is None and len(tasks.rows) % 2 else _OPEN),
            "assigned_to": data.ref("sys_user", assignee),
            "assignment_group": data.ref("sys_user_group", group),
            "approval": "not requested",
            "active": "false" if done else "true",
            "closed_at": sn_datetime(int(resolved.timestamp())) if done and resolved else "",
            "sys_class_name": "pm_project_task",
            "sys_created_on": sn_datetime(int(created.timestamp())),
            "sys_updated_on": sn_datetime(int(updated.timestamp())),
        },
        "admin",
    )
    return tasks.sys_id(i)


def _person_approval(data: ServiceNowData, table: Table, task: str, who: int, owner: int,
                     d: Deliverable) -> None:
    """Approved by `who` once done and signed off; requested of the owner while it waits."""
    if not d.done:
        return
    approved = d.approved_by is not None
    at = d.resolved or d.updated
    table.insert(
        {
            "sysapproval": task,
            "document_id": task,
            "source_table": "pm_project_task",
            "approver": data.ref("sys_user", who if approved else owner),
            "state": "approved" if approved else "requested",
            "sys_created_on": sn_datetime(int(at.timestamp()) - 86400),
            "sys_updated_on": sn_datetime(int(at.timestamp())),
        },
        "system",
    )


def _group_approval(data: ServiceNowData, table: Table, task: str, group: int,
                    approved: bool, at: datetime) -> None:
    table.insert(
        {
            "parent": task,
            "assignment_group": data.ref("sys_user_group", group),
            "approval": "approved" if approved else "requested",
            "short_description": "Approval of the deliverable",
            "sys_class_name": "sysapproval_group",
            "sys_created_on": sn_datetime(int(at.timestamp()) - 86400),
            "sys_updated_on": sn_datetime(int(at.timestamp())),
        },
        "system",
    )
