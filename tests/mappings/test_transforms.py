"""Property-based tests of the parsers, transforms and field paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mappings.parsing import parse_bool, parse_date, parse_datetime, parse_hours
from mappings.paths import compile_getter, parse_path
from mappings.transforms import (
    MapTransform,
    SplitTransform,
    TransformContext,
    compile_chain,
    compile_transform,
)

# epoch numbers below 1e11 read as seconds, so ms instants start in 1974 here
instants = st.datetimes(min_value=datetime(1974, 1, 1), max_value=datetime(2100, 1, 1),
                        timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
CTX = TransformContext()


@given(instants, offsets)
def test_jira_timestamps_keep_the_instant(instant: datetime, zone: timezone) -> None:
    local = instant.astimezone(zone)
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")
    assert parse_datetime(text) == instant


@given(instants)
def test_servicenow_iso_z_and_epoch_forms_agree(instant: datetime) -> None:
    whole = instant.replace(microsecond=0)
    assert parse_datetime(whole.strftime("%Y-%m-%d %H:%M:%S")) == whole
    assert parse_datetime(whole.strftime("%Y-%m-%dT%H:%M:%SZ")) == whole
    assert parse_datetime(int(whole.timestamp() * 1000)) == whole
    assert parse_datetime(str(int(whole.timestamp() * 1000))) == whole
    assert parse_datetime(whole).tzinfo is UTC


@given(instants)
def test_dates_keep_the_written_day(instant: datetime) -> None:
    day = instant.date()
    assert parse_date(day.isoformat()) == day
    local = instant.astimezone(timezone(timedelta(hours=13)))
    assert parse_date(local.isoformat()) == local.date()


@given(st.integers(min_value=0, max_value=30), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_duration_forms_agree(days: int, hours: int, minutes: int, seconds: int) -> None:
    total = days * 24 + hours + minutes / 60 + seconds / 3600
    snow = f"1970-01-{days + 1:02d} {hours:02d}:{minutes:02d}:{seconds:02d}"
    assert abs(parse_hours(snow) - total) < 1e-9
    assert abs(parse_hours(int(total * 3600 + 0.5)) - total) < 1e-6
    assert abs(parse_hours(f"PT{days * 24 + hours}H{minutes}M{seconds}S") - total) < 1e-9
    assert abs(parse_hours(f"{hours}h {minutes}m") - (hours + minutes / 60)) < 1e-9


@given(st.booleans())
def test_bool_texts(value: bool) -> None:
    for text in (("true", "Yes", "Y", "1", "on") if value else ("false", "No", "n", "0", "off")):
        assert parse_bool(text) is value


words = st.text(alphabet=st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=8)


@given(st.lists(words, max_size=6))
def test_split_then_join_round_trips(items: list[str]) -> None:
    joined = ",".join(items)
    split = compile_transform(SplitTransform(split=","), CTX)
    assert split(joined) == items
    chain = compile_chain(["lower", "unique"], CTX)
    assert chain is not None
    lowered = chain(items)
    assert lowered == list(dict.fromkeys(i.lower() for i in items))


@given(words, st.dictionaries(words, words, max_size=5))
def test_value_map_with_and_without_default(value: str, table: dict[str, str]) -> None:
    keep = compile_transform(MapTransform(map=table), CTX)
    fixed = compile_transform(MapTransform.model_validate({"map": table, "default": "other"}), CTX)
    assert keep(value) == table.get(value, value)
    assert fixed(value) == table.get(value, "other")
    assert keep([value, None]) == [table.get(value, value)]


json_leaf = st.one_of(st.none(), st.integers(), words)
json_trees = st.recursive(json_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(words, kids, max_size=3)), max_leaves=12)


@given(st.dictionaries(words, json_trees, max_size=4), st.lists(words, min_size=1, max_size=4))
def test_getters_never_raise_and_agree_with_direct_access(record: dict[str, Any], keys: list[str]) -> None:
    path = parse_path(".".join(keys))
    got = compile_getter(path)(record)
    current: Any = record
    for key in keys:
        current = current.get(key) if isinstance(current, dict) else None
    assert got == current
    compile_getter(parse_path(".".join(keys) + "[*].x"))(record)
    compile_getter(parse_path(".".join(keys) + "[0]"), unwrap_value=True)(record)
