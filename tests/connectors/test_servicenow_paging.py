"""Row ACLs apply after the limit: pages may come back empty while more rows match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from responses import matchers

from bridge.errors import SourceError
from tests.connectors.conftest import snow
from tests.connectors.fakes import snow_ts, sys_id

TABLE = "https://snow.example/api/now/table"
T0 = datetime(2024, 3, 5, 1, 2, 11, tzinfo=UTC)
ORDER = "^ORDERBYsys_updated_on^ORDERBYsys_id"


def row(n: int, when: datetime) -> dict[str, Any]:
    return {"sys_id": sys_id(n), "sys_updated_on": snow_ts(when)}


def page(
    rsps: responses.RequestsMock,
    q: str,
    offset: int,
    rows: list[dict[str, Any]],
    total: int | None,
    table: str = "incident",
) -> None:
    headers = {} if total is None else {"X-Total-Count": str(total)}
    params = {"sysparm_query": q, "sysparm_offset": str(offset), "sysparm_no_count": "false"}
    rsps.get(
        f"{TABLE}/{table}",
        json={"result": rows},
        headers=headers,
        match=[matchers.query_param_matcher(params, strict_match=False)],
    )


def test_an_acl_emptied_page_is_stepped_over_while_the_count_says_more(
    rsps: responses.RequestsMock,
) -> None:
    t3, t5 = snow_ts(T0 + timedelta(seconds=3)), snow_ts(T0 + timedelta(seconds=5))
    # 6 rows match; rows 1-2 are hidden by ACLs, so the first page of 2 comes back empty
    page(rsps, "ORDERBYsys_updated_on^ORDERBYsys_id", 0, [], 6)
    page(rsps, "ORDERBYsys_updated_on^ORDERBYsys_id", 2, [row(3, T0 + timedelta(seconds=3))], 6)
    page(rsps, f"sys_updated_on={t3}^sys_id>{sys_id(3)}^ORDERBYsys_id", 0, [], 0)
    # after row 3: row 4 hidden, then row 5
    page(rsps, f"sys_updated_on>{t3}{ORDER}", 0, [row(5, T0 + timedelta(seconds=5))], 3)
    page(rsps, f"sys_updated_on={t5}^sys_id>{sys_id(5)}^ORDERBYsys_id", 0, [], 0)
    # rows 6 and 7 both hidden: the count (2) is within this empty page, so the scan ends
    page(rsps, f"sys_updated_on>{t5}{ORDER}", 0, [], 2)
    connector = snow(tables=["incident"], page_size=2, deletions=False)
    assert [r.key for r in connector.read("incident")] == [sys_id(3), sys_id(5)]


def test_an_acl_emptied_page_inside_one_second_does_not_lose_the_rest_of_it(
    rsps: responses.RequestsMock,
) -> None:
    t0 = snow_ts(T0)
    rest = f"sys_updated_on={t0}^sys_id>{sys_id(2)}^ORDERBYsys_id"
    page(rsps, "ORDERBYsys_updated_on^ORDERBYsys_id", 0, [row(1, T0), row(2, T0)], 6)
    page(rsps, rest, 0, [], 4)  # rows 3 and 4 hidden
    page(rsps, rest, 2, [row(5, T0), row(6, T0)], 4)
    page(rsps, f"sys_updated_on={t0}^sys_id>{sys_id(6)}^ORDERBYsys_id", 0, [], 0)
    page(rsps, f"sys_updated_on>{t0}{ORDER}", 0, [], 0)
    connector = snow(tables=["incident"], page_size=2, deletions=False)
    assert [r.key for r in connector.read("incident")] == [sys_id(n) for n in (1, 2, 5, 6)]


def test_without_a_count_an_empty_page_ends_the_query(rsps: responses.RequestsMock) -> None:
    page(rsps, "ORDERBYsys_updated_on^ORDERBYsys_id", 0, [], None)
    assert list(snow(tables=["incident"], page_size=2, deletions=False).read("incident")) == []


def test_census_steps_over_an_acl_emptied_page(rsps: responses.RequestsMock) -> None:
    page(rsps, "ORDERBYsys_id", 0, [], 5)
    page(rsps, "ORDERBYsys_id", 2, [{"sys_id": sys_id(3)}], 5)
    page(rsps, f"sys_id>{sys_id(3)}^ORDERBYsys_id", 0, [], 2)
    assert list(snow(tables=["incident"], page_size=2).census("incident")) == [sys_id(3)]


def test_a_default_table_the_instance_lacks_is_skipped_with_a_warning(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    invalid = {
        "error": {"message": "Invalid table pm_project", "detail": None},
        "status": "failure",
    }
    rsps.get(f"{TABLE}/pm_project", status=400, json=invalid)
    connector = snow()
    assert list(connector.read("pm_project", T0)) == []
    assert list(connector.census("pm_project")) == []  # known absent: not asked again
    assert [r.getMessage() for r in caplog.records] == [
        "snow: the instance has no table pm_project; that stream is skipped (name the tables "
        "to read in `tables` to leave it out)"
    ]


def test_a_named_table_the_instance_lacks_is_an_error(rsps: responses.RequestsMock) -> None:
    invalid = {
        "error": {"message": "Invalid table pm_project", "detail": None},
        "status": "failure",
    }
    rsps.get(f"{TABLE}/pm_project", status=400, json=invalid)
    with pytest.raises(SourceError, match="Invalid table pm_project"):
        list(snow(tables=["pm_project"]).read("pm_project"))


def test_table_and_column_names_are_checked_when_the_file_loads() -> None:
    with pytest.raises(ValueError, match=r"tables\.0"):
        snow(tables=["incident^ORsys_idISNOTEMPTY"])
    with pytest.raises(ValueError, match="gate_field"):
        snow(gate_field="u_gate^ORactive=true")
