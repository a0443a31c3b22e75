"""`explain NAME` finds one transition by id, project key, service or alias; a name that
several transitions answer to is an error listing them, never a silent pick."""

from __future__ import annotations

import pytest

from bridge.cli.explain import find_transition
from bridge.errors import ConfigError
from bridge.models import ServiceTransition


def _transition(tid: str, service: str, aliases: list[str] | None = None) -> ServiceTransition:
    return ServiceTransition(id=tid, service=service, service_aliases=aliases or [])


def test_a_name_finds_its_transition_by_service_alias_or_key() -> None:
    known = [_transition("jira:PORTAL", "Customer Portal", ["portal"]),
             _transition("snow:PRJ0010002", "Payments")]
    assert find_transition(known, "customer portal").id == "jira:PORTAL"
    assert find_transition(known, "PORTAL").id == "jira:PORTAL"
    assert find_transition(known, "Portal").id == "jira:PORTAL"
    assert find_transition(known, "PRJ0010002").id == "snow:PRJ0010002"


def test_an_ambiguous_name_lists_every_match() -> None:
    known = [_transition("jira:PORTAL", "Customer Portal", ["shop"]),
             _transition("snow:PRJ0010007", "Web Shop", ["shop"])]
    with pytest.raises(ConfigError) as raised:
        find_transition(known, "shop")
    message = str(raised.value)
    assert "'shop' names 2 transitions" in message
    assert "jira:PORTAL (Customer Portal)" in message and "snow:PRJ0010007 (Web Shop)" in message
    # an exact id is never ambiguous
    assert find_transition(known, "snow:PRJ0010007").service == "Web Shop"


def test_an_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'Payments'"):
        find_transition([_transition("snow:PRJ1", "Payments")], "Paymnets")
