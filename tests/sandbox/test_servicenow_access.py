"""What a non-admin integration user meets: 403 on admin tables, rows hidden by read ACLs
after the limit, and queries on fields the table lacks (dropped, or matching nothing)."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import pysnow
import pytest
import requests

from bridge.sandbox import Sandbox
from tests.sandbox.conftest import AUTH


def get(sb: Sandbox, table: str, **params: Any) -> requests.Response:
    return requests.get(
        f"{sb.servicenow_url}/api/now/table/{table}", params=params, auth=AUTH, timeout=10
    )


def links(response: requests.Response) -> dict[str, str]:
    return {
        rel.split('"')[1]: url.strip("<>")
        for url, rel in (part.split(";") for part in response.headers["Link"].split(","))
    }


def snow(sb: Sandbox) -> pysnow.Client:
    host = sb.servicenow_url.removeprefix("http://")
    return pysnow.Client(host=host, user="sandbox", password="sandbox", use_ssl=False)


def test_sys_audit_delete_is_for_admins(sandbox_factory: Any) -> None:
    user = sandbox_factory(seed=3, tickets=400)
    refused = get(user, "sys_audit_delete", sysparm_limit=5)
    assert refused.status_code == 403
    assert refused.json() == {
        "error": {"message": "User Not Authorized", "detail": "Failed API level ACL Validation"},
        "status": "failure",
    }
    one = user.servicenow_rows("sys_audit_delete")[0]["sys_id"]  # the read-back sees it
    assert get(user, f"sys_audit_delete/{one}").status_code == 403
    with pytest.raises(requests.HTTPError, match="403"):
        list(snow(user).resource(api_path="/table/sys_audit_delete").get(query="").all())
    admin = sandbox_factory(seed=3, tickets=400, admin=True)
    rows = get(admin, "sys_audit_delete").json()["result"]
    assert rows and {r["tablename"] for r in rows} == {"incident"}


def test_read_acls_trim_pages_after_the_limit(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=3, tickets=1000)
    query = "ORDERBYsys_updated_on^ORDERBYsys_id"
    total = sb.servicenow_count("incident")
    seen: list[str] = []
    lengths: list[int] = []
    offset = 0
    while offset < total:
        page = get(sb, "incident", sysparm_query=query, sysparm_limit=50, sysparm_offset=offset)
        assert page.headers["X-Total-Count"] == str(total)  # counted before the ACLs
        lengths.append(len(page.json()["result"]))
        seen += [r["sys_id"] for r in page.json()["result"]]
        offset += 50
    assert min(lengths[:-1]) < 50 and len(set(seen)) == len(seen)
    hidden = total - len(seen)
    assert 0 < hidden < total * 0.05  # a small share, about 2 %
    # one row per page: the page of a hidden row comes back empty, yet more rows follow
    store, table = sb.servicenow_store, sb.servicenow_store.table("incident")
    assert table is not None
    ordered = [r["sys_id"] for r in sb.servicenow_rows("incident", query)]
    at = next(k for k, s in enumerate(ordered) if not store.readable(table, table.locate(s) or 0))
    empty = get(sb, "incident", sysparm_query=query, sysparm_limit=1, sysparm_offset=at)
    assert empty.status_code == 200 and empty.json()["result"] == []
    assert empty.headers["X-Total-Count"] == str(total) and "next" in links(empty)
    after = requests.get(links(empty)["next"], auth=AUTH, timeout=5).json()["result"]
    nxt = at + 1
    while not after:  # the next readable row is there, past the empty page
        nxt += 1
        after = get(sb, "incident", sysparm_query=query, sysparm_limit=1, sysparm_offset=nxt)
        after = after.json()["result"]
    assert after[0]["sys_id"] == ordered[nxt]
    # the hidden record itself: not found, as the instance says for an ACL
    record = get(sb, f"incident/{ordered[at]}")
    assert record.status_code == 404
    assert "ACL restricts" in record.json()["error"]["detail"]


@pytest.mark.parametrize("settings", [{"acl_hidden": 0.0}, {"admin": True}])
def test_acl_trimming_can_be_turned_off(sandbox_factory: Any, settings: dict[str, Any]) -> None:
    sb = sandbox_factory(seed=3, tickets=1000, **settings)
    got = get(sb, "incident", sysparm_limit=10000).json()["result"]
    assert len(got) == sb.servicenow_count("incident")


def test_unknown_field_conditions_are_dropped_by_default(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=3, tickets=300, acl_hidden=0.0)
    everything = get(sb, "pm_project").json()["result"]
    # glide.invalid_query.returns_no_rows=false: the condition is dropped, every row matches
    loose = get(sb, "pm_project", sysparm_query="u_jira_project=PAYX").json()["result"]
    assert len(loose) == len(everything) > 1
    narrowed = get(sb, "pm_project", sysparm_query="u_go_live>2020-01-01^number=PRJ0010001")
    assert [r["number"] for r in narrowed.json()["result"]] == ["PRJ0010001"]
    either = get(sb, "pm_project", sysparm_query="u_service=x^ORnumber=PRJ0010002")
    assert [r["number"] for r in either.json()["result"]] == ["PRJ0010002"]
    kb = snow(sb).resource(api_path="/table/kb_knowledge")
    found = list(kb.get(query={"u_smo_correlation": "smo-bridge:nothing"}, stream=True).all())
    assert len(found) == sb.servicenow_count("kb_knowledge")  # a lookup that finds everything


def test_unknown_field_conditions_match_nothing_when_the_property_says_so(
    sandbox_factory: Any,
) -> None:
    sb = sandbox_factory(seed=3, tickets=300, invalid_query="no_rows")
    none = get(sb, "pm_project", sysparm_query="u_jira_project=PAYX^NQnumber=PRJ0010001")
    assert none.status_code == 200 and none.json()["result"] == []
    assert none.headers["X-Total-Count"] == "0"
    kb = snow(sb).resource(api_path="/table/kb_knowledge")
    assert list(kb.get(query={"u_smo_correlation": "x"}, stream=True).all()) == []
    assert get(sb, "pm_project", sysparm_query="number=PRJ0010001").json()["result"]
    # the customised instance has the column: the same query works there
    custom = sandbox_factory(seed=3, tickets=300, invalid_query="no_rows", custom_columns=True)
    linked = get(custom, "pm_project", sysparm_query="u_jira_projectISNOTEMPTY").json()["result"]
    assert linked and all(r["u_jira_project"] for r in linked)


def test_unknown_field_conditions_can_be_refused(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=3, tickets=300, invalid_query="error")
    refused = get(sb, "pm_project", sysparm_query="u_jira_project=PAYX")
    assert refused.status_code == 400
    assert "Unknown field u_jira_project" in refused.json()["error"]["message"]
    with pytest.raises(ValueError, match="invalid_query"):
        Sandbox(invalid_query="maybe")


SCRIPT = (
    "import sys; from bridge.cli.sandbox import command; "
    "command(sys.argv[1:], prog_name='smo-bridge sandbox')"
)


@pytest.mark.parametrize(
    ("flags", "audit", "custom", "bogus_rows"),
    [
        ([], 403, False, "all"),
        (["--custom-columns"], 200, True, "refused"),
        (["--admin", "--invalid-query", "no_rows", "--acl-hidden", "0"], 200, False, "none"),
    ],
)
def test_cli_options(flags: list[str], audit: int, custom: bool, bogus_rows: str) -> None:
    args = ["--jira-port", "0", "--servicenow-port", "0", "--tickets", "60", *flags]
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, *args], stdout=subprocess.PIPE,
                               text=True)  # fmt: skip
    try:
        assert process.stdout is not None
        process.stdout.readline()
        url = process.stdout.readline().split()[1] + "/api/now/table/"
        assert requests.get(url + "sys_audit_delete", auth=AUTH, timeout=5).status_code == audit
        project = requests.get(url + "pm_project", auth=AUTH, timeout=5).json()["result"][0]
        assert ("u_service" in project) == custom
        bogus = requests.get(url + "pm_project", params={"sysparm_query": "nope=1"}, auth=AUTH,
                             timeout=5)  # fmt: skip
        outcome = (
            "refused"
            if bogus.status_code == 400
            else "none"
            if bogus.json()["result"] == []
            else "all"
        )
        assert outcome == bogus_rows
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
