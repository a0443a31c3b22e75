"""Every record lands or is quarantined under its own key with field and reason; a malformed
record never stops its page, stream or source; every one is counted in the run's summary,
in the quarantine table and in `status`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import responses
from sqlalchemy import select

from bridge.config import load_config
from bridge.engine import Engine
from bridge.store import open_store
from bridge.store import repository as repo
from bridge.store.schema import runs, tickets
from bridge.store.status import snapshot
from connectors.base import Quarantined
from connectors.records import MAX_KEY_LENGTH, SYNTHETIC_PREFIX
from tests.connectors.conftest import jira, snow
from tests.connectors.fakes import FIELDS, jira_issue
from tests.hostile.malformed import JIRA_BAD, JIRA_GOOD, SN_BAD, SN_GOOD, T0
from tests.hostile.worlds import JIRA_API, worlds, write_config

ISSUES = [entry for _, entry, _, _ in JIRA_BAD[:10]] + JIRA_GOOD + [e for _, e, _, _ in JIRA_BAD[10:]]
ROWS = [SN_GOOD[0], *(entry for _, entry, _, _ in SN_BAD), *SN_GOOD[1:]]


def _check(held: list[Quarantined], cases: list[tuple[str, Any, str, str | None]]) -> None:
    assert len(held) == len(cases)
    keys = [q.key for q in held]
    assert len(set(keys)) == len(keys), "two bad records share a quarantine row"
    for q in held:
        assert q.key and len(q.key) <= MAX_KEY_LENGTH
        assert q.field and q.reason.startswith(f"{q.field}: ") and len(q.reason) < 1000
    expected = sorted((field, key) for _, _, field, key in cases)
    found = sorted((q.field or "", None if q.key.startswith(SYNTHETIC_PREFIX) else q.key)
                   for q in held if q.key)
    assert found == expected


def test_every_malformed_jira_issue_is_held_under_its_own_key() -> None:
    with worlds(ISSUES, []):
        held: list[Quarantined] = []
        records = list(jira(url="https://jira.example", deployment="cloud")
                       .read("issues", None, held.append))
    assert [r.key for r in records] == ["PAY-1", "PAY-2", "PAY-3"]
    _check(held, JIRA_BAD)


def test_every_malformed_servicenow_row_is_held_under_its_own_key() -> None:
    with worlds([], ROWS):
        held: list[Quarantined] = []
        records = list(snow(url="https://snow.example", tables=["incident"], display_value="false",
                            deletions=False).read("incident", None, held.append))
    assert [r.key for r in records] == [row["sys_id"] for row in SN_GOOD]
    _check(held, SN_BAD)


def test_the_same_bad_record_keeps_its_key_and_different_ones_never_share() -> None:
    with worlds(ISSUES + ISSUES, []):  # every entry twice: same content, same key
        held: list[Quarantined] = []
        list(jira(url="https://jira.example", deployment="cloud").read("issues", None, held.append))
    keys = [q.key for q in held]
    assert len(keys) == 2 * len(JIRA_BAD) and len(set(keys)) == len(JIRA_BAD)


def test_a_cycle_lands_the_good_counts_the_bad_and_goes_on(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    store = open_store(config.state)
    try:
        for cycle in (1, 2):
            with worlds(ISSUES, ROWS):
                result = Engine(config, store).run_cycle(push=False)
            outcomes = {s.name: s for s in result.sources}
            for name, bad in (("jira", JIRA_BAD), ("snow", SN_BAD)):
                outcome = outcomes[name]
                assert outcome.status == "ok", (cycle, outcome.error)
                assert outcome.quarantined == len(bad), (name, cycle)
            assert result.exit_code == 3  # finished, with records held
            status = {s["name"]: s for s in snapshot(store, [("jira", "jira"), ("snow", "servicenow")])
                      ["sources"]}
            assert status["jira"]["quarantined"] == len(JIRA_BAD)
            assert status["snow"]["quarantined"] == len(SN_BAD)
            assert status["jira"]["tickets"] == len(JIRA_GOOD)
            assert status["snow"]["tickets"] == len(SN_GOOD)
            with store.engine.connect() as conn:
                rows = repo.quarantined(conn)
            assert len(rows) == len(JIRA_BAD) + len(SN_BAD)  # a second cycle adds no row
            assert all(r["key"] != "?" and r["reason"] for r in rows)
            reasons = {r["reason"].split(":")[0] for r in rows if r["source"] == "jira"}
            assert reasons == {field for _, _, field, _ in JIRA_BAD}
    finally:
        store.close()


def test_malformed_projects_fields_and_comments_are_held_too() -> None:
    good_project = {"key": "PAY", "id": "10000", "name": "Payments"}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{JIRA_API}/field", json=[*FIELDS, {"name": "no id"}, "junk", {"id": ["x"]}])
        mock.get(f"{JIRA_API}/project/search", json={"isLast": True, "values": [
            "junk", {"name": "no key"}, {"key": 5, "name": "number key"}, good_project]})
        mock.get(f"{JIRA_API}/project/PAY/versions", json=[])
        mock.get(f"{JIRA_API}/search/jql", json={"issues": JIRA_GOOD[:1], "isLast": True})
        mock.get(f"{JIRA_API}/issue/PAY-1/comment", json={"startAt": 0, "total": 3, "comments": [
            "junk", {"body": "no id", "created": "2026-11-02T09:00:00.000+0000",
                     "updated": "2026-11-02T09:00:00.000+0000"},
            {"id": "11", "body": "fine", "created": "2026-11-02T09:00:00.000+0000",
             "updated": "2026-11-02T09:00:00.000+0000"}]})
        connector = jira(url="https://jira.example", deployment="cloud", comments=True)
        held: list[Quarantined] = []
        read = {stream: [r.key for r in connector.read(stream, None, held.append)]
                for stream in ("fields", "projects", "comments")}
    assert read == {"fields": [f["id"] for f in FIELDS], "projects": ["PAY"], "comments": ["11"]}
    assert sorted((q.stream, q.field or "") for q in held) == [
        ("comments", "entry"), ("comments", "id"), ("fields", "entry"), ("fields", "id"),
        ("fields", "id"), ("projects", "entry"), ("projects", "key"), ("projects", "key")]
    assert len({(q.stream, q.key) for q in held}) == len(held)


def test_a_mapped_value_longer_than_its_column_is_held_not_fatal(tmp_path: Path) -> None:
    """A project key of 300 characters would make PostgreSQL refuse the whole page: the
    ticket is quarantined with the field instead, and the page's other tickets land."""
    long_team = jira_issue("PAY-7", T0, project={"key": "P" * 300, "name": "Long"})
    config = load_config(write_config(tmp_path))
    store = open_store(config.state)
    try:
        with worlds([*JIRA_GOOD, long_team], []):
            result = Engine(config, store).run_cycle("jira", push=False)
        assert result.sources[0].status == "ok" and result.sources[0].quarantined == 1
        with store.engine.connect() as conn:
            rows = repo.quarantined(conn)
        assert [(r["key"], r["field"], r["reason"]) for r in rows] == [
            ("PAY-7", "project_key", "300 characters, more than the 255 stored")]
        assert snapshot(store)["sources"][0]["tickets"] == len(JIRA_GOOD)
    finally:
        store.close()


def test_a_mapped_value_holding_a_nul_is_held_not_fatal() -> None:
    """Records arrive with NUL repaired, yet a mapping's own text may hold it (YAML writes
    "\\0"): PostgreSQL's text refuses NUL, so the ticket is held with the field, as a value
    too long for its column is, and its page lands."""
    from bridge.models import SourceRef, Ticket
    from bridge.sourcemaps import _unstorable

    ticket = Ticket(ref=SourceRef(source="jira", stream="issues", key="PAY-8"), key="PAY-8",
                    summary="fine", opened=T0, team="Ops\x00")
    assert _unstorable(ticket) == ("team", "holds a NUL character, which the store's text columns refuse")
    assert _unstorable(ticket.model_copy(update={"team": "Ops"})) is None


def _depth(levels: int, wide: object = None) -> dict[str, Any]:
    """An object `levels` containers deep, alternating objects and lists."""
    node: Any = wide
    for n in range(levels - 1):
        node = [node] if n % 2 else {"next": node}
    return {"fields": node}


def test_the_nesting_limit_is_exact_whatever_the_payload_holds() -> None:
    from connectors.records import MAX_NESTING, nesting_problem

    assert nesting_problem(_depth(MAX_NESTING)) is None
    assert nesting_problem(_depth(MAX_NESTING + 1)) == ("fields", f"nested deeper than {MAX_NESTING} levels")
    # a value the encoder refuses (an integer past 64 bits) leaves the judgement to the walk
    assert nesting_problem(_depth(MAX_NESTING, wide=10**30)) is None
    assert nesting_problem(_depth(MAX_NESTING + 1, wide=10**30)) is not None
    # a tighter limit than the encoder's is walked
    assert nesting_problem(_depth(10), limit=9) is not None
    assert nesting_problem(_depth(9), limit=9) is None


def test_a_key_with_a_control_character_is_refused_wherever_it_sits() -> None:
    from connectors.records import key_problem

    for bad in ("\x00PAY-1", "PAY\x1f-1", "PAY-1\x7f", "PAY\n1", "   "):
        assert key_problem(bad) == "key is blank or holds control characters"
    for good in ("PAY-1", "Ren\u00e9e 1", "PAY\x80-1", " PAY-1"):
        assert key_problem(good) is None


def test_keys_that_are_no_text_still_serialise_and_nest_as_before() -> None:
    """Vendor JSON has text keys (the quick path); a payload built in Python may not: it
    still encodes, keys as text, sorted, and its nesting is still judged."""
    from bridge.store.repository import canonical_json, content_hash
    from connectors.records import MAX_NESTING, nesting_problem

    assert canonical_json({"b": 1, "a": {"d": [1, 2], "c": None}}) == b'{"a":{"c":null,"d":[1,2]},"b":1}'
    assert canonical_json({2: "x", "1": "y"}) == b'{"1":"y","2":"x"}'
    assert content_hash({2: "x"}) == content_hash({"2": "x"})
    deep_int_keys = {1: _depth(MAX_NESTING - 1)}
    assert nesting_problem(deep_int_keys) is None
    assert nesting_problem({1: _depth(MAX_NESTING)}) is not None


def test_text_and_numbers_no_store_can_hold_are_repaired_not_fatal(tmp_path: Path) -> None:
    """JSON may escape half a surrogate pair ("\\ud83d") and write integers of any length;
    neither is text or a number a store's JSON holds. The record is stored with U+FFFD for
    the half pair and the number as a double (its digits past a double's range), the same
    way every cycle."""
    odd_issue = jira_issue("PAY-4", T0 + timedelta(minutes=4), summary="Printer \ud83d on fire")
    odd_issue["fields"]["customfield_10099"] = 2 ** 70
    odd_issue["fields"]["customfield_10098"] = 10 ** 400
    odd_row = {**SN_GOOD[0], "sys_id": "f" * 32, "short_description": "lone \udc00 half"}
    config = load_config(write_config(tmp_path))
    store = open_store(config.state)
    try:
        for cycle in (1, 2):
            with worlds([*JIRA_GOOD, odd_issue], [*SN_GOOD, odd_row]):
                result = Engine(config, store).run_cycle(push=False)
            for outcome in result.sources:
                assert (outcome.status, outcome.quarantined) == ("ok", 0), (cycle, outcome.error)
                assert outcome.unchanged == (0 if cycle == 1 else outcome.pulled)
        with store.engine.connect() as conn:
            issue = repo.get_raw(conn, "jira", "PAY-4", "issues")
            row = repo.get_raw(conn, "snow", "f" * 32, "incident")
            summaries = dict(conn.execute(select(tickets.c.key, tickets.c.payload["summary"]
                                                 .as_string())).all())
        assert issue is not None and row is not None
        assert issue.payload["fields"]["summary"] == "Printer \ufffd on fire"
        # as orjson reads such digits in a page it parses itself; past a double, the digits
        assert issue.payload["fields"]["customfield_10099"] == float(2 ** 70)
        assert issue.payload["fields"]["customfield_10098"] == "1" + "0" * 400
        assert row.payload["short_description"] == "lone \ufffd half"
        assert summaries["PAY-4"] == "Printer \ufffd on fire"
        assert summaries["f" * 32] == "lone \ufffd half"
    finally:
        store.close()


def test_repairs_reach_keys_lists_and_nesting_and_leave_the_rest_alone() -> None:
    from connectors.records import key_problem, make_encodable, storage_problem

    payload: dict[str, Any] = {"a\udc00": 1, "list": ["ok", "x\ud800", 2 ** 64, 2 ** 64 - 1, True],
                               "deep": {"n": -(2 ** 63) - 1, "ok": -(2 ** 63), "emoji": "\U0001f600",
                                        "nul": "a\x00b"}}
    assert storage_problem(payload) is None  # nested within limits: repaired, not refused
    assert payload == {"a\ufffd": 1, "list": ["ok", "x\ufffd", float(2 ** 64), 2 ** 64 - 1, True],
                       "deep": {"n": float(-(2 ** 63) - 1), "ok": -(2 ** 63), "emoji": "\U0001f600",
                                "nul": "a\ufffdb"}}
    assert make_encodable(payload) == 0  # repaired once: nothing left to repair
    assert key_problem("PAY-\ud800") == "key holds half a surrogate pair, which is no text"


def test_nul_in_a_record_is_repaired_so_no_store_refuses_it(tmp_path: Path, store_url: str) -> None:
    """JSON escapes NUL (\\u0000) and PostgreSQL's text cannot hold it: a group name with NUL,
    kept in a ticket's payload and read back by the workloads' SQL, failed every derivation
    there. The record is stored with U+FFFD in its place, on both stores alike."""
    odd = jira_issue("PAY-4", T0 + timedelta(minutes=4), summary="a\x00b",
                     components=[{"name": "Ops\x00Team"}])
    config = load_config(write_config(tmp_path)).model_copy(update={"state": store_url})
    store = open_store(config.state)
    try:
        with worlds([*JIRA_GOOD, odd], []):
            result = Engine(config, store).run_cycle("jira", push=False)
        assert result.exit_code == 0 and result.derived, [s.error for s in result.sources]
        with store.engine.connect() as conn:
            issue = repo.get_raw(conn, "jira", "PAY-4", "issues")
            groups = conn.execute(select(tickets.c.payload["attributes"]["group"].as_string())
                                  .where(tickets.c.key == "PAY-4")).scalars().all()
        assert issue is not None and issue.payload["fields"]["summary"] == "a\ufffdb"
        assert groups == ["Ops\ufffdTeam"]
        assert snapshot(store)["sources"][0]["tickets"] == len(JIRA_GOOD) + 1
    finally:
        store.close()


def test_a_server_error_holding_nul_fails_its_source_alone(tmp_path: Path, store_url: str) -> None:
    """An error body is the server's text: NUL in it made PostgreSQL refuse the run's row,
    and the whole cycle (every other source with it) failed. The run is stored with U+FFFD."""
    config = load_config(write_config(tmp_path)).model_copy(update={"state": store_url})
    store = open_store(config.state)
    refused = {"errorMessages": ["bad\x00query"], "errors": {}}
    try:
        with worlds([], SN_GOOD) as mock:
            mock.replace(responses.GET, f"{JIRA_API}/search/jql", status=400, json=refused)
            result = Engine(config, store).run_cycle(push=False)
        outcomes = {s.name: s for s in result.sources}
        assert outcomes["jira"].status == "failed" and outcomes["snow"].status == "ok"
        with store.engine.connect() as conn:
            errors = conn.execute(select(runs.c.error).where(runs.c.source == "jira")).scalars().all()
        assert errors and "bad\ufffdquery" in errors[-1]
    finally:
        store.close()


def test_text_from_outside_is_stored_as_text(store_url: str) -> None:
    from bridge.store.repository import plain_text

    assert plain_text("a\x00b\ud800c") == "a\ufffdb\ufffdc"
    assert plain_text("\U0001f600 fine") == "\U0001f600 fine" and plain_text(None) is None
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            repo.enqueue(conn, "k1", "jira", "gate_status", {"transition": "t"})
            push = repo.due_pushes(conn)[0]
            repo.mark_attempt_failed(conn, push["id"], "refused: x\x00y", retry_in=None)
            repo.enqueue(conn, "k2", "jira", "gate_status", {"transition": "t"})
            delivered = repo.due_pushes(conn)[0]
            repo.mark_delivered(conn, delivered["id"], "id\x00" * 200)  # the server's id, hostile
            repo.put_quarantine(conn, "jira", "issues", "PAY-1", "odd value 'a\x00b'", "summary", {})
            # a field named by a payload's own key, as long as a hostile payload makes it
            repo.put_quarantine(conn, "jira", "issues", "PAY-2", "nested too deep", "k\x00" * 200, {})
        with store.engine.connect() as conn:
            pushes = {row["idempotency_key"]: row for row in repo.list_outbox(conn)}
        assert pushes["k1"]["last_error"] == "refused: x\ufffdy"
        assert pushes["k2"]["remote_id"] == ("id\ufffd" * 200)[:255]
        with store.engine.connect() as conn:
            held = {row["key"]: row for row in repo.quarantined(conn)}
        assert held["PAY-1"]["reason"] == "odd value 'a\ufffdb'"
        assert held["PAY-2"]["field"] == ("k\ufffd" * 200)[:255]
    finally:
        store.close()
