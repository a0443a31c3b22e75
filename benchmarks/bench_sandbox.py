"""Sandbox figures: ms per page of 100 Jira issues, ms per 1,000 ServiceNow records, RSS.

    .venv/bin/python -m benchmarks.bench_sandbox [--tickets 200000] [--pages 40]
    (part "sandbox" of `python -m benchmarks`: figures for information, no target)

Each page is measured twice:
- server-side: the WSGI app called in-process (request parsing, query, rendering, JSON),
  no socket;
- end-to-end: over loopback HTTP with `requests`, as a connector would, JSON parsing included.

Pages are read the way the connectors read them: Jira by `updated, key` with every field
(Cloud: `nextPageToken`; Server: `startAt`); ServiceNow by keyset on
(`sys_updated_on`, `sys_id`), without counts or Link headers, in value mode and with
`sysparm_display_value=all`.
"""

from __future__ import annotations

import argparse
import base64
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson
import requests
from werkzeug.test import Client

from benchmarks.harness import Bench
from bridge.sandbox import Sandbox

AUTH = ("sandbox", "sandbox")
HEADERS = {"Authorization": "Basic " + base64.b64encode(b"sandbox:sandbox").decode()}
JQL = 'project in (OPS, DEV, NET) AND updated >= "2000/01/01" ORDER BY updated ASC, key ASC'
# (method, path, JSON body or query parameters) -> (ms it took, parsed response body)
Fetch = Callable[[str, str, dict[str, Any]], tuple[float, Any]]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    print(
        f"  {label:<12} median {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms   "
        f"({len(times)} pages)"
    )


def jira_cloud(get: Fetch, pages: int) -> list[float]:
    times, token = [], None
    for _ in range(pages):
        body: dict[str, Any] = {"jql": JQL, "fields": ["*all"], "maxResults": 100}
        if token:
            body["nextPageToken"] = token
        took, page = get("POST", "/rest/api/3/search/jql", body)
        times.append(took)
        assert len(page["issues"]) == 100 or page["isLast"]
        token = page.get("nextPageToken")
        if page["isLast"]:
            break
        del page  # the client's parsed page must not weigh on the server's next one
    return times


def jira_server(get: Fetch, pages: int) -> list[float]:
    times = []
    for n in range(pages):
        body = {"jql": JQL, "fields": ["*all"], "maxResults": 100, "startAt": n * 100}
        took, page = get("POST", "/rest/api/2/search", body)
        times.append(took)
        if len(page["issues"]) < 100:
            break
        del page
    return times


def servicenow(get: Fetch, pages: int, display: str) -> list[float]:
    """Keyset pages as connectors/servicenow.py reads them (pages end between seconds here,
    the drain of the last second is left out: it is a few rows)."""
    times, since = [], "2000-01-01 00:00:00"
    for _ in range(pages):
        params = {
            "sysparm_query": f"sys_updated_on>{since}^ORDERBYsys_updated_on^ORDERBYsys_id",
            "sysparm_display_value": display,
            "sysparm_exclude_reference_link": "false",
            "sysparm_suppress_pagination_header": "true",
            "sysparm_no_count": "true",
            "sysparm_limit": 1000,
        }
        took, body = get("GET", "/api/now/table/incident", params)
        times.append(took)
        rows = body["result"]
        if len(rows) < 1000:
            break
        last = rows[-1]["sys_updated_on"]
        since = last["value"] if isinstance(last, dict) else last
        del body, rows  # the client's parsed page must not weigh on the server's next one
    return times


def in_process(app: Any) -> Fetch:
    """Times the app from request to response bytes; parsing them is left out."""
    client = Client(app)

    def get(method: str, path: str, payload: dict[str, Any]) -> tuple[float, Any]:
        started = time.perf_counter()
        if method == "POST":
            response = client.post(path, data=orjson.dumps(payload), headers=HEADERS,
                                   content_type="application/json")  # fmt: skip
        else:
            response = client.get(path, query_string=payload, headers=HEADERS)
        data = response.get_data()
        took = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, data[:200]
        return took, orjson.loads(data)

    return get


def over_http(base: str) -> Fetch:
    """Times a request over loopback with `requests`, JSON parsing included."""
    session = requests.Session()

    def get(method: str, path: str, payload: dict[str, Any]) -> tuple[float, Any]:
        started = time.perf_counter()
        if method == "POST":
            response = session.post(base + path, json=payload, auth=AUTH)
        else:
            response = session.get(base + path, params=payload, auth=AUTH)
        body = response.json()
        took = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        return took, body

    return get


def measure(
    label: str, run: Callable[[Fetch], list[float]], sandbox: Sandbox, service: str
) -> None:
    print(label)
    app = sandbox._servers[service].app  # the WSGI app its server runs, faults included
    url = sandbox.jira_url if service == "jira" else sandbox.servicenow_url
    report("server-side", run(in_process(app)))
    report("end-to-end", run(over_http(url)))


def part(bench: Bench) -> None:
    tickets = bench.scale.curve[-1]
    pages = 20
    for deployment in ("cloud", "server"):
        with Sandbox(seed=42, tickets=tickets, jira_deployment=deployment) as sb:
            run = (lambda g: jira_cloud(g, pages)) if deployment == "cloud" else (
                lambda g: jira_server(g, pages))
            app, url = sb._servers["jira"].app, sb.jira_url
            for side, fetch in (("in-process", in_process(app)), ("over loopback", over_http(url))):
                times = run(fetch)
                bench.add(f"sandbox page, Jira {deployment.title()}, 100 issues, {side}",
                          statistics.median(times), "ms", runs=times,
                          note=f"{tickets:,} tickets seeded")
            if deployment == "cloud":
                app, url = sb._servers["servicenow"].app, sb.servicenow_url
                for side, fetch in (("in-process", in_process(app)),
                                    ("over loopback", over_http(url))):
                    times = servicenow(fetch, pages // 2, "all")
                    bench.add(f"sandbox page, ServiceNow, 1,000 rows, display=all, {side}",
                              statistics.median(times), "ms", runs=times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    pages = args.pages
    before = rss_mb()
    started = time.perf_counter()
    cloud = Sandbox(seed=42, tickets=args.tickets, jira_deployment="cloud")
    built = time.perf_counter() - started
    print(
        f"seeded {args.tickets} tickets in {built:.1f} s; RSS {rss_mb():.0f} MB "
        f"(+{rss_mb() - before:.0f} MB for the world)"
    )
    with cloud:
        measure("Jira Cloud search/jql, 100 issues, *all", lambda g: jira_cloud(g, pages), cloud,
                "jira")  # fmt: skip
        for mode in ("false", "all"):
            measure(
                f"ServiceNow incident, 1,000 records, sysparm_display_value={mode}",
                lambda g, mode=mode: servicenow(g, pages // 2, mode),  # type: ignore[misc]
                cloud,
                "servicenow",
            )
    print(f"RSS after serving: {rss_mb():.0f} MB (one sandbox of {args.tickets} tickets)")
    del cloud
    with Sandbox(seed=42, tickets=args.tickets, jira_deployment="server") as server:
        measure("Jira Server search, 100 issues, *all", lambda g: jira_server(g, pages), server,
                "jira")  # fmt: skip


if __name__ == "__main__":
    main()
