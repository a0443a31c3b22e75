"""Reading ahead: a connector's read, cut into pages, driven by a thread of its own so the
wire stays busy while the engine maps and stores the page before.

Bounded: the reader starts a page only while it is at most `ahead` pages past the one the
consumer works on, so memory stays flat however large the source. Pages, and the error a
read ends with, reach the consumer in the order the read produced them, as the same
objects: a failure on page N arrives after pages 1..N-1 (the partial page N is dropped, as
a sequential read drops it). Only the reader's thread touches the connector while it runs;
`close()` stops it and waits for it, so the connector's session can be closed after.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from bridge.models import RawRecord
from connectors.base import Quarantined, QuarantineHandler

#: (the handler of unparsable records) -> the records of one read
Read = Callable[[QuarantineHandler], Iterator[RawRecord]]


@dataclass
class Page:
    records: list[RawRecord] = field(default_factory=list)
    prepared: list[Any] = field(default_factory=list)  # `prepare(record)` of each, when given
    rejected: list[Quarantined] = field(default_factory=list)  # quarantined while it was read
    read_total: int | None = None  # the connector's `read_total` when the page was complete
    last: bool = False  # the read ended with this page (which may be empty)


@dataclass
class _Failed:
    error: BaseException


class ReadAhead:
    """Pages of `size` records from `read`; `ahead=0` reads in the caller's thread.

    `prepare`, when given, is called on each record as it is read, in the reader's thread
    (work the consumer would otherwise do itself, done while it is busy with the page
    before); its results are the page's `prepared`, one per record."""

    def __init__(self, read: Read, *, size: int, ahead: int,
                 total: Callable[[], int | None] = lambda: None, name: str = "read-ahead",
                 prepare: Callable[[RawRecord], Any] | None = None) -> None:
        if size < 1 or ahead < 0:
            raise ValueError("size must be at least 1 and ahead at least 0")
        self._read, self.size, self.ahead, self._total, self.name = read, size, ahead, total, name
        self._prepare = prepare
        self._stop = threading.Event()
        # one credit per page the reader may start: the page in the consumer's hands and
        # `ahead` more; the consumer gives one back each time it asks for the next page
        self._credits = threading.Semaphore(ahead + 1)
        self._handover: queue.SimpleQueue[Page | _Failed] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def __iter__(self) -> Iterator[Page]:
        if self.ahead == 0:
            yield from self._pages()
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        first = True
        while True:
            if not first:
                self._credits.release()  # the page before is done with
            first = False
            item = self._handover.get()
            if isinstance(item, _Failed):
                raise item.error
            yield item
            if item.last:
                return

    def close(self) -> None:
        """Stop the reader and wait for it: it ends after the request in flight, if any, and
        closes the connector's read in its own thread."""
        self._stop.set()
        for _ in range(self.ahead + 2):
            self._credits.release()  # a reader waiting for room wakes and sees the stop
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        pages = self._pages()
        try:
            while True:
                self._credits.acquire()
                if self._stop.is_set():
                    return
                page = next(pages, None)
                if page is None or self._stop.is_set():
                    return
                self._handover.put(page)
                if page.last:
                    return
        except BaseException as exc:  # the consumer raises it, in its place among the pages
            self._handover.put(_Failed(exc))
        finally:
            pages.close()  # the connector's generator ends in the thread that ran it

    def _pages(self) -> Generator[Page, None, None]:
        page = Page()

        def rejected(item: Quarantined) -> None:
            page.rejected.append(item)

        records = self._read(rejected)
        prepare = self._prepare
        try:
            for record in records:
                page.records.append(record)
                if prepare is not None:
                    page.prepared.append(prepare(record))
                if len(page.records) >= self.size:
                    page.read_total = self._total()
                    done, page = page, Page()
                    yield done
                if self._stop.is_set():
                    return
            page.read_total, page.last = self._total(), True
            yield page
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()
