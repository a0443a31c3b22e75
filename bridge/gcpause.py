"""The cyclic collector quieted while bulk work runs (a pull, a remap).

Such work allocates millions of short-lived containers (parsed pages and payloads, mapped
rows) that reference counting frees; at the default threshold the cyclic collector runs
thousands of times for next to nothing, a tenth of a pull's CPU and more of a remap's.
Work in several threads shares one setting, restored when the last one ends."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

#: allocations between two young-generation collections while bulk work runs (Python's default: 700)
BULK_GC_THRESHOLD = 10_000

_lock = threading.Lock()
_holders = 0
_before: tuple[int, int, int] | None = None


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young generation's threshold to `BULK_GC_THRESHOLD` for the block (never
    lower it); cycles are still collected, so memory stays bounded."""
    global _holders, _before
    with _lock:
        if _holders == 0:
            _before = gc.get_threshold()
            gc.set_threshold(max(_before[0], BULK_GC_THRESHOLD), *_before[1:])
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _before is not None:
                gc.set_threshold(*_before)
                _before = None
