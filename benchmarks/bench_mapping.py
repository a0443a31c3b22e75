"""Mapping throughput with the shipped defaults on realistic Jira and ServiceNow records.

    .venv/bin/python -m benchmarks.bench_mapping [--records 200000] [--seed 7]
    (part "mapping" of `python -m benchmarks`)

Records are generated here, shaped like the vendors' own payloads (Jira issue v2 with
the usual system fields, avatars and custom fields; ServiceNow rows with
sysparm_display_value=all). No network. Prints records/s per source kind.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from benchmarks.harness import Bench, median
from bridge.models import RawRecord
from mappings import BoundMapping, default_mapping

JIRA_TYPES = ["Bug", "Story", "Task", "Incident", "Service Request", "Problem", "Change"]
PRIORITIES = ["Highest", "High", "Medium", "Low", "Lowest"]
STATUSES = [("To Do", "new"), ("In Progress", "indeterminate"), ("Done", "done")]
TEAMS = ["Network", "Database", "Platform", "Applications", "Security", "Service Desk"]
BASE = "https://example.atlassian.net"
SNOW = "https://example.service-now.com/api/now/table"


def _user(rng: random.Random) -> dict[str, Any]:
    name = rng.choice(["Ana Ruiz", "Tom Lee", "Mia Krystof", "Raj Patel", "Eva Novak"])
    account = f"5b10a2844c20165700ede{rng.randrange(100, 999)}"
    return {
        "self": f"{BASE}/rest/api/2/user?accountId={account}", "accountId": account,
        "emailAddress": name.lower().replace(" ", ".") + "@example.com",
        "avatarUrls": {s: f"{BASE}/avatar/{account}?s={s}" for s in ("48x48", "24x24", "16x16", "32x32")},
        "displayName": name, "active": True, "timeZone": "Pacific/Auckland", "accountType": "atlassian",
    }


def jira_issue(rng: random.Random, n: int) -> dict[str, Any]:
    project = rng.choice(["PAY", "OPS", "WEB", "HR", "CRM"])
    status, category = rng.choice(STATUSES)
    itype = rng.choice(JIRA_TYPES)
    created = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:02:11.000+1300"
    done = category == "done"
    labels = rng.sample(["vpn", "customer", "gate:runbook", "gate:sla", "backend", "urgent"], rng.randint(0, 3))
    return {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": str(10000 + n), "self": f"{BASE}/rest/api/2/issue/{10000 + n}", "key": f"{project}-{n}",
        "fields": {
            "summary": f"Issue number {n} about {rng.choice(['login', 'vpn', 'payments', 'reports'])}",
            "issuetype": {"self": f"{BASE}/rest/api/2/issuetype/1", "id": "1", "description": "",
                          "iconUrl": f"{BASE}/icon.svg", "name": itype, "subtask": False},
            "project": {"self": f"{BASE}/rest/api/2/project/{project}", "id": "10001", "key": project,
                        "name": f"{project} project", "projectTypeKey": "software",
                        "avatarUrls": {"48x48": f"{BASE}/pa.png"}},
            "status": {"self": f"{BASE}/rest/api/2/status/3", "description": "", "iconUrl": f"{BASE}/s.png",
                       "name": status, "id": "3",
                       "statusCategory": {"self": f"{BASE}/rest/api/2/statuscategory/3", "id": 3,
                                          "key": category, "colorName": "green", "name": status}},
            "priority": {"self": f"{BASE}/rest/api/2/priority/3", "iconUrl": f"{BASE}/p.svg",
                         "name": rng.choice(PRIORITIES), "id": "3"},
            "created": created, "updated": created,
            "resolutiondate": created.replace("T", "T") if done else None,
            "timespent": rng.choice([None, 3600, 9000, 27000]),
            "labels": labels,
            "components": [{"self": f"{BASE}/rest/api/2/component/1", "id": "1", "name": rng.choice(TEAMS)}],
            "assignee": _user(rng), "reporter": _user(rng), "creator": _user(rng),
            "description": "Steps to reproduce: ...", "resolution": None, "fixVersions": [],
            "versions": [], "issuelinks": [], "subtasks": [], "duedate": None, "environment": None,
            "watches": {"self": f"{BASE}/w", "watchCount": 1, "isWatching": False},
            "votes": {"self": f"{BASE}/v", "votes": 0, "hasVoted": False},
            "customfield_10044": {"self": f"{BASE}/co/1", "value": rng.choice(TEAMS), "id": "10301"}
            if rng.random() < 0.7 else None,
            "customfield_10049": {"value": rng.choice(["Yes", "No"]), "id": "1"} if rng.random() < 0.5 else None,
            "customfield_10016": rng.choice([None, 1.0, 3.0, 5.0]),
            "customfield_10046": _user(rng) if "gate:runbook" in labels else None,
            "customfield_10047": None, "customfield_10043": None, "customfield_10048": None,
            "customfield_10019": "0|i00020:", "customfield_10000": "{}",
        },
    }


def _ref(value: str, display: str, table: str | None = None) -> dict[str, str]:
    out = {"value": value, "display_value": display}
    if table:
        out["link"] = f"{SNOW}/{table}/{value}"
    return out


def _plain(value: str) -> dict[str, str]:
    return {"value": value, "display_value": value}


def snow_row(rng: random.Random, n: int, table: str) -> dict[str, Any]:
    state = rng.choice([("1", "New"), ("2", "In Progress"), ("6", "Resolved"), ("7", "Closed")])
    prio = rng.randint(1, 5)
    group = rng.choice(TEAMS)
    opened = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:15:00"
    prefix = {"incident": "INC", "problem": "PRB", "change_request": "CHG", "sc_req_item": "RITM"}[table]
    return {
        "sys_id": _plain(f"{n:032x}"), "number": _plain(f"{prefix}{n:07d}"),
        "short_description": _plain(f"Ticket {n}: {rng.choice(['email down', 'vpn', 'new laptop'])}"),
        "description": _plain("Long description text " * 5),
        "state": _ref(state[0], state[1]), "active": _plain("false" if state[0] in "67" else "true"),
        "priority": _ref(str(prio), f"{prio} - {['Critical', 'High', 'Moderate', 'Low', 'Planning'][prio - 1]}"),
        "impact": _ref("2", "2 - Medium"), "urgency": _ref("2", "2 - Medium"),
        "assignment_group": _ref(f"g{group}", group, "sys_user_group"),
        "assigned_to": _ref("u1", "Ana Ruiz", "sys_user"), "caller_id": _ref("u2", "Tom Lee", "sys_user"),
        "business_service": _ref(f"svc{rng.randint(1, 20)}", "Payments", "cmdb_ci_service"),
        "cmdb_ci": _ref("", ""), "company": _ref("c1", "ACME", "core_company"),
        "opened_at": _ref(opened, opened), "sys_created_on": _ref(opened, opened),
        "sys_updated_on": _ref(opened, opened),
        "resolved_at": _ref(opened, opened) if state[0] in "67" else _ref("", ""),
        "closed_at": _ref("", ""), "made_sla": _plain(rng.choice(["true", "false"])),
        "time_worked": _ref("1970-01-01 02:30:00", "2 Hours 30 Minutes"),
        "category": _ref("network", "Network"), "subcategory": _ref("vpn", "VPN"),
        "contact_type": _ref("email", "Email"), "sys_class_name": _ref(table, table),
        "sys_mod_count": _plain("4"), "sys_tags": _plain(""), "work_notes": _plain(""),
        "escalation": _ref("0", "Normal"), "upon_approval": _ref("proceed", "Proceed to Next Task"),
    }


def bench(bound: BoundMapping, records: list[RawRecord], repeat: int = 3,
          clock: Callable[[], float] = time.perf_counter) -> tuple[list[float], Counter[str]]:
    """Records per second of each of `repeat` passes, on one core, by `clock`."""
    # the input records are long-lived: keep the cyclic GC from re-scanning them every pass
    gc.collect()
    gc.freeze()
    rates: list[float] = []
    kinds: Counter[str] = Counter()
    for _ in range(repeat):
        kinds = Counter()
        mapped = bound.map
        start = clock()
        for raw in records:
            kinds[mapped(raw).kind] += 1
        rates.append(len(records) / (clock() - start))
    gc.unfreeze()
    return rates, kinds


def jira_case(rng: random.Random, count: int) -> tuple[BoundMapping, list[RawRecord]]:
    jira = default_mapping("jira").bind()
    jira.feed(RawRecord(source="jira", stream="projects", key="PAY", payload={
        "key": "PAY", "name": "Payments", "projectCategory": {"name": "Service Transition"}}))
    issues = [RawRecord(source="jira", stream="issues", key=f"K-{i}", payload=jira_issue(rng, i))
              for i in range(count)]
    return jira, issues


def servicenow_case(rng: random.Random, count: int) -> tuple[BoundMapping, list[RawRecord]]:
    snow = default_mapping("servicenow").bind()
    for s in range(1, 21):
        snow.feed(RawRecord(source="snow", stream="pm_project", key=f"p{s}", payload={
            "number": _plain(f"PRJ{s:07d}"), "u_service": _ref(f"svc{s}", "Payments")}))
    tables = ["incident", "problem", "change_request", "sc_req_item"]
    rows = [RawRecord(source="snow", stream=(t := tables[i % 4]), key=f"{i:032x}", payload=snow_row(rng, i, t))
            for i in range(count)]
    return snow, rows


TARGET = 50_000  # records/s on one core, for each shipped default


def part(bench_: Bench) -> None:
    count = bench_.scale.mapping_records
    for label, case in (("Jira", jira_case), ("ServiceNow", servicenow_case)):
        bound, records = case(random.Random(7), count)
        # CPU time: a core's rate whatever else runs on the machine (wall time in the note)
        rates, _ = bench(bound, records, repeat=max(bench_.scale.runs, 5), clock=time.process_time)
        walls, _ = bench(bound, records, repeat=1)
        del records
        bench_.add(f"mapping rate, shipped {label} default (per CPU second)", median(rates),
                   "records/s", ">=", TARGET, runs=rates,
                   note=f"{count:,} records; by wall clock {walls[0]:,.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for label, case in (("jira", jira_case), ("servicenow", servicenow_case)):
        bound, records = case(rng, args.records)
        rates, kinds = bench(bound, records)
        print(f"{label + ':':<11} {median(rates):>10,.0f} records/s median of {len(rates)} "
              f"({len(records):,} records: {dict(kinds)})")


if __name__ == "__main__":
    main()
