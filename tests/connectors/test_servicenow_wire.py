"""ServiceNow on the wire: keyset paging, display values, deletions, errors, pushes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from responses import matchers

from bridge.errors import SourceError
from tests.connectors.conftest import snow
from tests.connectors.fakes import FakeServiceNow, snow_ts, sys_id

TABLE = "https://snow.example/api/now/table"
T0 = datetime(2024, 3, 5, 1, 2, 11, tzinfo=UTC)
ORDER = "^ORDERBYsys_updated_on^ORDERBYsys_id"


def row(n: int, when: datetime, **extra: Any) -> dict[str, Any]:
    return {"sys_id": sys_id(n), "number": f"INC{n:07d}", "sys_updated_on": snow_ts(when), **extra}


def query(q: str) -> list[Any]:
    return [matchers.query_param_matcher({"sysparm_query": q}, strict_match=False)]


def test_keyset_paging_drains_a_second_that_straddles_a_page(rsps: responses.RequestsMock) -> None:
    t1, t2, t3 = (snow_ts(T0 + timedelta(seconds=s)) for s in (0, 1, 2))
    a, b, c, d = (row(n, T0 + timedelta(seconds=s)) for n, s in ((1, 0), (2, 1), (3, 1), (4, 2)))
    since = T0 + timedelta(minutes=5)  # minus the 300 s overlap: T0
    rsps.get(
        f"{TABLE}/incident", json={"result": [a, b]}, match=query(f"sys_updated_on>={t1}{ORDER}")
    )
    rsps.get(
        f"{TABLE}/incident",
        json={"result": [c]},
        match=query(f"sys_updated_on={t2}^sys_id>{sys_id(2)}^ORDERBYsys_id"),
    )
    rsps.get(
        f"{TABLE}/incident",
        json={"result": []},
        match=query(f"sys_updated_on={t2}^sys_id>{sys_id(3)}^ORDERBYsys_id"),
    )
    rsps.get(f"{TABLE}/incident", json={"result": [d]}, match=query(f"sys_updated_on>{t2}{ORDER}"))
    rsps.get(
        f"{TABLE}/incident",
        json={"result": []},
        match=query(f"sys_updated_on={t3}^sys_id>{sys_id(4)}^ORDERBYsys_id"),
    )
    rsps.get(f"{TABLE}/incident", json={"result": []}, match=query(f"sys_updated_on>{t3}{ORDER}"))
    connector = snow(tables=["incident"], page_size=2, deletions=False, display_value="false")
    records = list(connector.read("incident", since))
    assert [r.key for r in records] == [sys_id(n) for n in (1, 2, 3, 4)]
    limit = rsps.calls[0].request.params
    assert limit["sysparm_limit"] == "2" and limit["sysparm_display_value"] == "false"


def test_an_empty_first_page_ends_the_scan(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{TABLE}/incident", json={"result": []}, match=query("ORDERBYsys_updated_on^ORDERBYsys_id")
    )
    assert list(snow(tables=["incident"]).read("incident")) == []


def test_short_pages_do_not_end_the_scan(loose: responses.RequestsMock) -> None:
    # ACLs drop rows after the limit is applied: a page of 1 out of 3 is not the end
    fake = FakeServiceNow()
    fake.tables["incident"] = [row(n, T0 + timedelta(seconds=n)) for n in range(1, 8)]
    fake.register(loose)
    hidden = {sys_id(2), sys_id(3), sys_id(5)}
    real_select = fake.select
    fake.select = lambda t, q: [r for r in real_select(t, q)[:3] if r["sys_id"] not in hidden]  # type: ignore[method-assign]
    records = list(snow(tables=["incident"], page_size=3).read("incident"))
    assert [r.key for r in records] == [sys_id(n) for n in (1, 4, 6, 7)]


def test_an_exact_page_boundary(loose: responses.RequestsMock) -> None:
    fake = FakeServiceNow()
    fake.tables["incident"] = [row(n, T0 + timedelta(seconds=n)) for n in range(1, 5)]
    fake.register(loose)
    records = list(snow(tables=["incident"], page_size=2).read("incident"))
    assert len(records) == 4
    assert fake.queries[-1] == (
        "incident",
        f"sys_updated_on>{snow_ts(T0 + timedelta(seconds=4))}{ORDER}",
    )


def test_many_records_in_one_second_across_pages(loose: responses.RequestsMock) -> None:
    fake = FakeServiceNow()
    fake.tables["incident"] = [row(n, T0) for n in range(1, 12)] + [
        row(50, T0 + timedelta(seconds=1))
    ]
    fake.register(loose)
    records = list(snow(tables=["incident"], page_size=3).read("incident"))
    assert [r.key for r in records] == [sys_id(n) for n in [*range(1, 12), 50]]


def test_display_value_all_with_references(rsps: responses.RequestsMock) -> None:
    group = sys_id(500)
    rsps.get(
        f"{TABLE}/incident",
        json={
            "result": [
                {
                    "sys_id": {"display_value": sys_id(1), "value": sys_id(1)},
                    "number": {"display_value": "INC0010001", "value": "INC0010001"},
                    "sys_updated_on": {
                        "display_value": "2024-03-05 14:02:11",
                        "value": "2024-03-05 01:02:11",
                        "display_value_internal": "2024-03-05 14:02:11",
                    },
                    "assignment_group": {
                        "display_value": "Network",
                        "value": group,
                        "link": f"https://snow.example/api/now/table/sys_user_group/{group}",
                    },
                    "made_sla": {"display_value": "true", "value": True},
                    "closed_at": {"display_value": "", "value": ""},
                }
            ]
        },
        match=[matchers.query_param_matcher({"sysparm_display_value": "all"}, strict_match=False)],
    )
    rsps.get(f"{TABLE}/incident", json={"result": []})
    rsps.get(f"{TABLE}/incident", json={"result": []})
    [record] = snow(tables=["incident"]).read("incident")
    assert record.key == sys_id(1)
    assert record.updated == datetime(2024, 3, 5, 1, 2, 11, tzinfo=UTC)  # the value, in UTC
    assert record.payload["assignment_group"]["display_value"] == "Network"


def test_deletions_come_from_sys_audit_delete_in_cursor_order(
    loose: responses.RequestsMock,
) -> None:
    fake = FakeServiceNow()
    fake.tables["incident"] = [
        row(1, T0 + timedelta(seconds=10)),
        row(2, T0 + timedelta(seconds=30)),
    ]
    fake.tables["sys_audit_delete"] = [
        {
            "sys_id": sys_id(900),
            "tablename": "incident",
            "documentkey": sys_id(3),
            "sys_created_on": snow_ts(T0 + timedelta(seconds=20)),
        },
        {
            "sys_id": sys_id(901),
            "tablename": "problem",
            "documentkey": sys_id(4),
            "sys_created_on": snow_ts(T0 + timedelta(seconds=20)),
        },
    ]
    fake.register(loose)
    records = list(snow(tables=["incident"], overlap_seconds=0).read("incident", T0))
    assert [(r.key, r.deleted) for r in records] == [
        (sys_id(1), False),
        (sys_id(3), True),
        (sys_id(2), False),
    ]
    assert records[1].updated == T0 + timedelta(seconds=20)


def test_deletions_without_the_audit_role_warn_once_and_the_read_goes_on(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    denied = {
        "error": {
            "message": "Insufficient rights to query records",
            "detail": "Field(s) present in the query do not have permission to be read",
        },
        "status": "failure",
    }
    rsps.get(
        f"{TABLE}/incident",
        json={"result": [row(1, T0)]},
        match=query(f"sys_updated_on>={snow_ts(T0)}{ORDER}"),
    )
    rsps.get(
        f"{TABLE}/incident",
        json={"result": []},
        match=query(f"sys_updated_on={snow_ts(T0)}^sys_id>{sys_id(1)}^ORDERBYsys_id"),
    )
    rsps.get(
        f"{TABLE}/incident",
        json={"result": []},
        match=query(f"sys_updated_on>{snow_ts(T0)}{ORDER}"),
    )
    audit = rsps.get(f"{TABLE}/sys_audit_delete", status=403, json=denied)
    rsps.get(f"{TABLE}/problem", json={"result": []})
    connector = snow(tables=["incident", "problem"], overlap_seconds=0)
    assert [r.key for r in connector.read("incident", T0)] == [sys_id(1)]
    assert list(connector.read("problem", T0)) == []  # no second sys_audit_delete request
    assert audit.call_count == 1
    warnings = [r.getMessage() for r in caplog.records if "sys_audit_delete" in r.getMessage()]
    assert len(warnings) == 1
    assert "grant the integration user read access to sys_audit_delete" in warnings[0]


def test_census(loose: responses.RequestsMock) -> None:
    fake = FakeServiceNow()
    fake.tables["incident"] = [row(n, T0) for n in range(1, 6)]
    fake.register(loose)
    assert list(snow(tables=["incident"], page_size=2).census("incident")) == [
        sys_id(n) for n in range(1, 6)
    ]


def test_wrong_password(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{TABLE}/incident",
        status=401,
        json={
            "error": {
                "message": "User Not Authenticated",
                "detail": "Required to provide Auth information",
            },
            "status": "failure",
        },
    )
    with pytest.raises(SourceError) as caught:
        snow(tables=["incident"], password="nope").check()
    assert str(caught.value) == (
        "source 'snow': authentication failed: check the username and "
        "password/token (GET /api/now/table/incident)"
    )


def test_a_bad_query_names_servicenows_reason(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{TABLE}/u_nope",
        status=400,
        json={"error": {"message": "Invalid table u_nope", "detail": None}, "status": "failure"},
    )
    with pytest.raises(SourceError, match="request refused \\(400\\): Invalid table u_nope"):
        list(snow(tables=["u_nope"]).read("u_nope"))


def test_oauth2_fetches_a_token_then_sends_it(rsps: responses.RequestsMock) -> None:
    rsps.post(
        "https://snow.example/oauth_token.do",
        json={
            "access_token": "tok-abc",
            "refresh_token": "ref",
            "scope": "useraccount",
            "token_type": "Bearer",
            "expires_in": 1799,
        },
    )
    table = rsps.get(f"{TABLE}/incident", json={"result": [row(1, T0)]})
    base = snow(tables=["incident"]).config
    connector = type(snow())(
        type(base).model_validate(
            {
                **base.model_dump(exclude={"auth"}),
                "auth": {
                    "kind": "oauth2",
                    "client_id": "cid",
                    "client_secret": "cs",
                    "username": "u",
                    "password": "p",
                },
            }
        )
    )
    connector.check()
    assert table.calls[0].request.headers["Authorization"] == "Bearer tok-abc"
