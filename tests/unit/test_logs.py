from __future__ import annotations

import io
import json
import logging

from bridge.logs import JsonFormatter, Redactor, configure


def test_redactor_hides_known_secrets_and_credential_fragments() -> None:
    redact = Redactor()
    redact.add(["hunter2-token"])
    text = redact("GET https://bot:pw@jira/x Authorization: Basic Ym90OnB3 token=abc hunter2-token")
    assert text == "GET https://bot:***@jira/x Authorization: Basic *** token=*** ***"


def test_json_events_carry_extra_fields_and_no_secrets() -> None:
    stream = io.StringIO()
    configure(verbosity=1, fmt="json", stream=stream)
    from bridge.logs import redact

    redact.add(["pa55-value"])
    logging.getLogger("bridge.test").info("pulled %d records with pa55-value", 5,
                                          extra={"source": "jira"})
    event = json.loads(stream.getvalue().strip())
    assert event["event"] == "pulled 5 records with ***"
    assert event["source"] == "jira" and event["level"] == "info"
    assert event["ts"].endswith("Z")
    assert isinstance(JsonFormatter(), logging.Formatter)
