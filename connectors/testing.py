"""The test suite every connector must pass (like Singer SDK's `tap_tests`).

Subclass `ConnectorSuite` in a test module (name the subclass `Test...`) and provide
three fixtures:

- `connector`: a connector with good credentials, against a backend that holds records
  in every stream, with `updated` values spread over more than the overlap;
- `bad_connector`: the same backend, a wrong password;
- `quarantine_case`: `(connector, stream)` where the backend holds records of which at
  least one cannot be parsed (no key or an unreadable timestamp) and at least one can.

Every test talks to the connector through the engine-facing API only. The unreachable-host
test points a copy of `connector`'s configuration at a closed loopback port.
"""

from __future__ import annotations

import socket
from datetime import UTC, timedelta
from typing import Any

import pytest
import requests

from bridge.errors import BridgeError, ConfigError, SourceError, TransientError
from bridge.models import RawRecord
from connectors.base import Connector, Quarantined, RetryConfig


def secrets_of(connector: Connector) -> list[str]:
    """Every credential in the connector's auth block (password, token, client secret)."""
    found = []
    for name in ("password", "token", "client_secret"):
        value = getattr(connector.config.auth, name, None)
        if value is not None:
            found.append(value.get_secret_value())
    return found


def closed_loopback_url() -> str:
    """http://127.0.0.1:PORT where nothing listens: the port was bound, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def payload_key(payload: dict[str, Any], field: str) -> Any:
    """A payload field's value, unwrapped from a {value, display_value} pair."""
    value = payload.get(field)
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def read_all(connector: Connector, stream: str, since: Any = None) -> list[RawRecord]:
    return list(connector.read(stream, since, lambda item: None))


class ConnectorSuite:
    def test_constructor_does_not_touch_the_network(
        self,
        connector: Connector,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("the constructor sent a request")

        monkeypatch.setattr(requests.Session, "send", refuse)
        type(connector)(connector.config)

    def test_streams_are_declared(self, connector: Connector) -> None:
        specs = connector.streams()
        names = [s.name for s in specs]
        assert names and len(names) == len(set(names))
        assert connector.stream_names() == names
        for spec in specs:
            assert spec.primary_key and isinstance(spec.primary_key, str)
            assert connector.stream(spec.name) == spec
            if spec.incremental:
                assert isinstance(spec.cursor_field, str) and spec.cursor_field
            assert not spec.is_sorted or spec.incremental, f"{spec.name}: sorted needs a cursor"
            assert spec.identity_field is None or isinstance(spec.identity_field, str)
        assert any(s.incremental for s in specs), "at least one stream reads incrementally"

    def test_check_passes(self, connector: Connector) -> None:
        connector.check()

    def test_records_have_keys_and_utc_timestamps(self, connector: Connector) -> None:
        for spec in connector.streams():
            records = read_all(connector, spec.name)
            assert records, f"{spec.name}: the backend should hold records"
            for record in records:
                assert record.key and isinstance(record.key, str)
                assert record.stream == spec.name and record.source == connector.name
                assert not record.deleted
                declared = payload_key(record.payload, spec.primary_key)
                if declared is not None:
                    assert str(declared) == record.key, (
                        f"{spec.name}: key is not {spec.primary_key}"
                    )
                if spec.incremental:
                    assert record.updated is not None, f"{spec.name}/{record.key}: no cursor value"
                if record.updated is not None:
                    assert record.updated.tzinfo is not None, f"{spec.name}/{record.key}: naive"
                    assert record.updated.utcoffset() == timedelta(0), f"{spec.name}: not UTC"

    def test_sorted_streams_arrive_in_cursor_order(self, connector: Connector) -> None:
        for spec in connector.streams():
            if spec.is_sorted:
                stamps = [r.updated for r in read_all(connector, spec.name)]
                assert stamps == sorted(stamps), f"{spec.name} is declared sorted"  # type: ignore[type-var]

    def test_incremental_read_is_a_subset_holding_everything_since(
        self, connector: Connector
    ) -> None:
        overlap = timedelta(seconds=connector.config.overlap_seconds)
        for spec in connector.streams():
            if not spec.incremental:
                continue
            full = read_all(connector, spec.name)
            stamps = sorted(r.updated for r in full if r.updated is not None)
            since = stamps[len(stamps) // 2]
            part = [r for r in read_all(connector, spec.name, since) if not r.deleted]
            keys = {r.key for r in part}
            assert keys <= {r.key for r in full}
            assert {r.key for r in full if r.updated and r.updated >= since} <= keys
            # a minute of slack: Jira's JQL has minute precision
            floor = since - overlap - timedelta(minutes=1)
            if any(s < floor for s in stamps):
                assert len(part) < len(full), f"{spec.name}: the incremental read was not narrowed"

    def test_census_matches_a_full_read(self, connector: Connector) -> None:
        spec = next(s for s in connector.streams() if s.incremental)
        assert set(connector.census(spec.name)) == {r.key for r in read_all(connector, spec.name)}

    def test_unparsable_records_are_quarantined_and_the_stream_goes_on(
        self,
        quarantine_case: tuple[Connector, str],
    ) -> None:
        connector, stream = quarantine_case
        quarantined: list[Quarantined] = []
        records = list(connector.read(stream, None, quarantined.append))
        assert records, "the parsable records still arrive"
        assert quarantined, "the unparsable record goes to quarantine"
        for item in quarantined:
            assert item.reason and item.stream == stream and item.source == connector.name
        assert all(isinstance(r, RawRecord) for r in records), "no failure markers in the stream"

    def test_wrong_credentials_raise_source_error(self, bad_connector: Connector) -> None:
        with pytest.raises(SourceError) as caught:
            bad_connector.check()
        message = str(caught.value)
        assert "authentication failed" in message
        assert message.startswith(f"source {bad_connector.name!r}: ")
        assert caught.value.source == bad_connector.name
        assert "\n" not in message, "one line"
        for secret in secrets_of(bad_connector):
            assert secret not in message

    def test_unreachable_host_is_a_typed_error_naming_the_source(
        self, connector: Connector
    ) -> None:
        config = connector.config.model_copy(
            update={
                "url": closed_loopback_url(),
                "retry": RetryConfig(max_attempts=2, base_delay=0, max_delay=0),
                "connect_timeout": 2.0,
            }
        )
        unreachable = type(connector)(config)
        stream = connector.streams()[0].name
        for attempt in (unreachable.check, lambda: list(unreachable.read(stream))):
            with pytest.raises((SourceError, TransientError)) as caught:
                attempt()
            error: BridgeError = caught.value
            message = str(error)
            assert message.startswith(f"source {connector.name!r}: ")
            assert getattr(error, "source", None) == connector.name
            assert "\n" not in message
            for secret in secrets_of(connector):
                assert secret not in message

    def test_unknown_stream_is_a_configuration_error(self, connector: Connector) -> None:
        with pytest.raises(ConfigError):
            list(connector.read("no-such-stream"))

    def test_since_is_read_as_utc(self, connector: Connector) -> None:
        spec = next(s for s in connector.streams() if s.incremental)
        full = read_all(connector, spec.name)
        newest = max(r.updated for r in full if r.updated is not None)
        later = newest.astimezone(UTC) + timedelta(days=2)
        assert read_all(connector, spec.name, later) == [] or all(
            r.deleted for r in read_all(connector, spec.name, later)
        )
