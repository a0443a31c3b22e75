"""A guard for paged reads: a server that sends the same page again never ends a read.

A proxy or an instance that ignores the query filter, the offset or the page token
answers every page request with the same page; without a guard the read pages forever.
One `NoProgressGuard` per read: each page reports its keys (and its next-page token, where
the API has one; and its query, where a read legitimately asks a new query that starts
with the rows it has just seen). The same token twice, or the same non-empty keys as the
page before for the same query, stops the read with one error naming the request.
"""

from __future__ import annotations

from collections.abc import Iterable

from bridge.errors import SourceError


class NoProgressGuard:
    def __init__(self, source: str, request: str) -> None:
        self.source = source
        self.request = request
        self._last: tuple[str, ...] = ()
        self._query: object = None
        self._tokens: set[str] = set()
        self.pages = 0

    def page(self, keys: Iterable[object], token: object = None, query: object = None) -> None:
        """Record one page; raises when it shows the read is not moving on."""
        self.pages += 1
        current = tuple(str(k) for k in keys)
        if query != self._query:  # a new query may begin with the rows the last one ended on
            self._query, self._last = query, ()
        if current and current == self._last:
            raise SourceError(
                self.source,
                f"the server sent the same page again ({len(current)} record(s) from "
                f"{current[0]}), page {self.pages}: the read stopped instead of paging "
                "forever; the server or a proxy may ignore the query filter or paging",
                request=self.request,
            )
        self._last = current
        if token is None or token == "":
            return
        text = str(token)
        if text in self._tokens:
            raise SourceError(
                self.source,
                f"the server sent a page token it had sent before, page {self.pages}: "
                "the read stopped instead of paging forever",
                request=self.request,
            )
        self._tokens.add(text)
