"""Malformed records of every kind seen in the field, as Jira and ServiceNow would send
them, with what each must become: quarantined under its own key with a field and reason.

Each case is (name, entry, field): `field` is the quarantine row's field; the key is the
record's own when usable, else `~sha256:` of its content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.connectors.fakes import jira_issue

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LONG_KEY = "K" * 100_000


def nested(depth: int) -> dict[str, Any]:
    """An ADF-like document `depth` objects deep (iteratively built: no recursion)."""
    node: dict[str, Any] = {"type": "text", "text": "deep"}
    for _ in range(depth - 1):
        node = {"type": "paragraph", "content": [node]}
    return node


def _issue(key: Any, **changes: Any) -> dict[str, Any]:
    issue = jira_issue("PAY-900", T0)
    issue["key"] = key
    issue["id"] = changes.pop("id", str(abs(hash(repr(key))) % 10**9))
    issue.update(changes)
    return issue


def _no_key(summary: str) -> dict[str, Any]:
    issue = jira_issue("PAY-901", T0, summary=summary)
    del issue["key"]
    return issue


def _fields(**fields: Any) -> dict[str, Any]:
    return jira_issue("PAY-902", T0, **fields)


#: (name, entry, expected field, expected key: None = synthetic)
JIRA_BAD: list[tuple[str, Any, str, str | None]] = [
    ("entry is text", "garbage", "entry", None),
    ("entry is a list", ["PAY-1", "PAY-2"], "entry", None),
    ("entry is null", None, "entry", None),
    ("entry is a number", 42, "entry", None),
    ("no key", _no_key("first keyless"), "key", None),
    ("another with no key", _no_key("second keyless"), "key", None),
    ("empty key", _issue(""), "key", None),
    ("key is a number", _issue(12345), "key", None),
    ("key is a list", _issue(["PAY-7"]), "key", None),
    ("key is an object", _issue({"key": "PAY-8"}), "key", None),
    ("key of 100,000 characters", _issue(LONG_KEY), "key", None),
    ("key with a line break", _issue("PAY-9\nPAY-10"), "key", None),
    ("fields is text", _issue("PAY-11", fields="oops"), "fields", "PAY-11"),
    ("fields is a list", _issue("PAY-12", fields=[1, 2]), "fields", "PAY-12"),
    ("fields is null", _issue("PAY-13", fields=None), "fields", "PAY-13"),
    ("id is a list", _issue("PAY-14", id=["1"]), "id", "PAY-14"),
    ("updated unreadable", _issue("PAY-15", fields={**_fields()["fields"], "updated": "yesterday"}),
     "updated", "PAY-15"),
    ("updated missing", _issue("PAY-16", fields={"summary": "no dates"}), "updated", "PAY-16"),
    ("description 300 levels deep",
     _issue("PAY-17", fields={**_fields()["fields"], "description": nested(300)}),
     "fields.description", "PAY-17"),
    # deep, yet within what a JSON parser reads (a page nested past that is unreadable whole)
    ("description 450 levels deep",
     _issue("PAY-18", fields={**_fields()["fields"], "description": nested(450)}),
     "fields.description", "PAY-18"),
]
JIRA_GOOD = [jira_issue(f"PAY-{n}", T0 + timedelta(minutes=n)) for n in (1, 2, 3)]


def sn_row(sys_id: Any, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "sys_id": sys_id, "number": "INC0000001", "short_description": "Printer on fire",
        "sys_updated_on": "2026-11-02 09:00:00", "opened_at": "2026-11-01 09:00:00",
        "state": "1", "priority": "3",
    }
    row.update(changes)
    return row


def _sid(n: int) -> str:
    return f"{n:032x}"


SN_BAD: list[tuple[str, Any, str, str | None]] = [
    ("entry is text", "garbage", "entry", None),
    ("entry is a number", 7, "entry", None),
    ("entry is null", None, "entry", None),
    ("entry is a list", [_sid(1)], "entry", None),
    ("no sys_id", sn_row(None, number="INC0000002"), "sys_id", None),
    ("another with no sys_id", sn_row(None, number="INC0000003"), "sys_id", None),
    ("sys_id is a number", sn_row(99, number="INC0000004"), "sys_id", None),
    ("sys_id is a list", sn_row([_sid(5)]), "sys_id", None),
    ("sys_id of 100,000 characters", sn_row(LONG_KEY), "sys_id", None),
    ("sys_updated_on unreadable", sn_row(_sid(6), sys_updated_on="soon"), "sys_updated_on", _sid(6)),
    ("a field 300 levels deep", sn_row(_sid(7), description=nested(300)), "description", _sid(7)),
]
SN_GOOD = [sn_row(_sid(100 + n), number=f"INC00001{n:02d}",
                  sys_updated_on=f"2026-11-02 09:{n:02d}:00") for n in (1, 2, 3)]
