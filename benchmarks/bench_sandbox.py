"""Sandbox figures: ms per page of 100 Jira issues, ms per 1,000 ServiceNow records, RSS.

    .venv/bin/python benchmarks/bench_sandbox.py [--tickets 200000] [--pages 40]

Pages are fetched over loopback HTTP with `requests`, as a connector would, with every field.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable

import requests

from bridge.sandbox import Sandbox

AUTH = ("sandbox", "sandbox")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(pages: int, fetch: Callable[[int], bool]) -> list[float]:
    times = []
    for page in range(pages):
        started = time.perf_counter()
        more = fetch(page)
        times.append((time.perf_counter() - started) * 1000)
        if not more:
            break
    return times


def report(label: str, times: list[float]) -> None:
    print(
        f"{label:<52} median {statistics.median(times):6.1f} ms   "
        f"p95 {sorted(times)[int(len(times) * 0.95) - 1]:6.1f} ms   ({len(times)} pages)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    before = rss_mb()
    started = time.perf_counter()
    sandbox = Sandbox(seed=42, tickets=args.tickets, jira_deployment="cloud")
    built = time.perf_counter() - started
    print(
        f"seeded {args.tickets} tickets in {built:.1f} s; RSS {rss_mb():.0f} MB "
        f"(+{rss_mb() - before:.0f} MB for the world)"
    )
    session = requests.Session()
    with sandbox:
        jira, snow = sandbox.jira_url, sandbox.servicenow_url
        token: list[str | None] = [None]

        def jira_page(_: int) -> bool:
            body = {
                "jql": 'project in (OPS, DEV, NET) AND updated >= "2000/01/01" '
                "ORDER BY updated ASC, key ASC",
                "fields": ["*all"],
                "maxResults": 100,
            }
            if token[0]:
                body["nextPageToken"] = token[0]
            page = session.post(f"{jira}/rest/api/3/search/jql", json=body, auth=AUTH).json()
            assert len(page["issues"]) == 100 or page["isLast"]
            token[0] = page.get("nextPageToken")
            return not page["isLast"]

        report("Jira Cloud search/jql, 100 issues, *all", timed(args.pages, jira_page))

        def snow_page(n: int) -> bool:
            response = session.get(
                f"{snow}/api/now/table/incident",
                auth=AUTH,
                params={
                    "sysparm_query": "sys_updated_on>=2000-01-01 00:00:00^ORDERBYsys_updated_on",
                    "sysparm_limit": 1000,
                    "sysparm_offset": n * 1000,
                },
            )
            return len(response.json()["result"]) == 1000

        report("ServiceNow incident, 1,000 records, value mode", timed(args.pages // 2, snow_page))

        def snow_all(n: int) -> bool:
            response = session.get(
                f"{snow}/api/now/table/incident",
                auth=AUTH,
                params={
                    "sysparm_query": "ORDERBYsys_updated_on",
                    "sysparm_display_value": "all",
                    "sysparm_limit": 1000,
                    "sysparm_offset": n * 1000,
                },
            )
            return len(response.json()["result"]) == 1000

        report("ServiceNow incident, 1,000 records, display=all", timed(args.pages // 4, snow_all))
    print(f"RSS after serving: {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
