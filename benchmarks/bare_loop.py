"""The wire's limit: replay recorded requests with a bare `requests` loop, parsing each body.

    .venv/bin/python -m benchmarks.bare_loop REQUESTS.json --jira URL --servicenow URL [--ca PEM]

REQUESTS.json is a list of the sandbox's request-log lines (what a sync asked for); each is
sent again, one after another on one session, and its JSON body parsed: the least work any
client reading the same pages must do. Prints requests, bytes and seconds. Imports nothing
from the bridge, so its start-up is the interpreter's and `requests`'.
"""

from __future__ import annotations

import argparse
import base64
import json
import time

import requests


def replay(recorded: list[dict[str, str]], bases: dict[str, str], verify: bool | str) -> int:
    session = requests.Session()
    session.auth = ("sandbox", "sandbox")
    session.verify = verify
    received = 0
    for r in recorded:
        url = bases[r["service"]] + r["path"] + (f"?{r['query']}" if r["query"] else "")
        body = base64.b64decode(r["body"]) if r["body"] else None
        headers = {"Content-Type": r["content_type"]} if r["content_type"] else None
        response = session.request(r["method"], url, data=body, headers=headers, timeout=120)
        response.raise_for_status()
        response.json()
        received += len(response.content)
    return received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requests_file")
    parser.add_argument("--jira", required=True)
    parser.add_argument("--servicenow", required=True)
    parser.add_argument("--ca", default=None, help="CA bundle to trust (a TLS sandbox)")
    args = parser.parse_args()
    with open(args.requests_file) as file:
        recorded = json.load(file)
    started = time.perf_counter()
    received = replay(recorded, {"jira": args.jira, "servicenow": args.servicenow},
                      args.ca or True)
    print(f"{len(recorded)} requests, {received:,} bytes in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
