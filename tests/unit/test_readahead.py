"""Reading ahead on its own: pages in order, errors in their place, a bounded lead, a clean stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bridge.errors import TransientError
from bridge.models import RawRecord
from bridge.readahead import Page, ReadAhead
from connectors.base import Quarantined, QuarantineHandler

SIZE = 3


def record(n: int) -> RawRecord:
    return RawRecord(source="s", stream="t", key=f"K-{n}", updated=datetime(2026, 1, 1, tzinfo=UTC),
                     payload={"n": n})


class CountingRead:
    """A read of `count` records that rejects every fifth one, counts what it yielded, fails
    after `fail_after` records when asked to, and notes the thread it ran in."""

    def __init__(self, count: int, fail_after: int | None = None) -> None:
        self.count, self.fail_after = count, fail_after
        self.yielded = 0
        self.closed = False
        self.threads: set[str] = set()
        self.moved = threading.Condition()
        self.error: TransientError | None = None

    def __call__(self, rejected: QuarantineHandler) -> Iterator[RawRecord]:
        try:
            for n in range(self.count):
                self.threads.add(threading.current_thread().name)
                if self.fail_after is not None and n == self.fail_after:
                    self.error = TransientError("the source went away", source="s")
                    raise self.error
                if n % 5 == 4:
                    rejected(Quarantined(source="s", stream="t", reason=f"bad {n}", key=f"K-{n}"))
                    continue
                with self.moved:
                    self.yielded += 1
                    self.moved.notify_all()
                yield record(n)
        finally:
            self.closed = True


def keys(pages: list[Page]) -> list[list[str]]:
    return [[r.key for r in p.records] + [f"q:{q.key}" for q in p.rejected] for p in pages]


@pytest.mark.parametrize("ahead", [1, 2])
def test_pages_are_those_a_read_in_turn_gives(ahead: int) -> None:
    in_turn = list(ReadAhead(CountingRead(23), size=SIZE, ahead=0))
    read = CountingRead(23)
    with ReadAhead(read, size=SIZE, ahead=ahead, name="reader") as reader:
        ahead_pages = list(reader)
    assert keys(ahead_pages) == keys(in_turn)
    assert [p.last for p in ahead_pages] == [p.last for p in in_turn] == [False] * 6 + [True]
    assert in_turn[1].rejected[0].key == "K-4"  # the rejection travels with the page it came in
    assert read.threads == {"reader"} and read.closed


def test_an_error_arrives_after_the_pages_before_it_as_the_same_exception() -> None:
    read = CountingRead(30, fail_after=11)  # 0-10 read, 9 of them records: 3 full pages
    got: list[Page] = []
    with ReadAhead(read, size=SIZE, ahead=2) as reader, pytest.raises(TransientError) as caught:
        for page in reader:
            got.append(page)
    assert caught.value is read.error
    assert keys(got) == keys(list(ReadAhead(CountingRead(11), size=SIZE, ahead=0)))[:3]
    assert read.closed


def test_the_reader_runs_at_most_ahead_pages_past_the_one_in_hand() -> None:
    ahead = 2
    read = CountingRead(10_000)
    reader = ReadAhead(read, size=SIZE, ahead=ahead)
    pages = iter(reader)
    try:
        for taken in range(1, 6):
            next(pages)
            bound = (taken + ahead) * SIZE  # the page in hand and `ahead` more
            with read.moved:  # the reader does get there...
                assert read.moved.wait_for(lambda b=bound: read.yielded >= b, timeout=30)
            # ...and stops there: it waits for a credit before it takes another record
            assert read.yielded == bound
    finally:
        reader.close()
    assert read.closed


def test_closing_mid_read_stops_and_joins_the_reader() -> None:
    read = CountingRead(10_000)
    reader = ReadAhead(read, size=SIZE, ahead=1, name="stopped-reader")
    with reader:
        for _ in reader:
            break  # the consumer failed: the reader must not go on
    assert read.closed
    assert "stopped-reader" not in {t.name for t in threading.enumerate()}
    assert read.yielded <= 3 * SIZE


@pytest.mark.parametrize("ahead", [0, 2])
def test_each_record_is_prepared_as_it_is_read_in_the_readers_thread(ahead: int) -> None:
    threads: set[str] = set()

    def prepare(r: RawRecord) -> int:
        threads.add(threading.current_thread().name)
        return int(r.payload["n"]) * 10

    pages = list(ReadAhead(CountingRead(11), size=SIZE, ahead=ahead, name="reader", prepare=prepare))
    assert [p.prepared for p in pages] == [[int(r.payload["n"]) * 10 for r in p.records] for p in pages]
    assert sum(len(p.prepared) for p in pages) == 9  # 11 read, two rejected
    assert threads == ({"reader"} if ahead else {threading.current_thread().name})
    assert all(p.prepared == [] for p in ReadAhead(CountingRead(4), size=SIZE, ahead=ahead))
