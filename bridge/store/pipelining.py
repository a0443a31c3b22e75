"""PostgreSQL: a bulk write sent without waiting for the server's answer.

A page's raw records are the largest write of a sync. Sent in psycopg's pipeline mode, the
server executes them while this process maps the same page; the answer (and any error) is
read before the connection's next statement, commit or rollback, by the engine events that
`database.py` registers (`settle_before_*`). Inside one transaction, so a page still commits
whole or not at all. SQLite has no server: there the write runs as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, StatementError

#: `Connection.info` key of the write in flight: (pipeline context, cursor, statement)
_IN_FLIGHT = "smo_bridge_write_in_flight"


def send_many(conn: Connection, sql: str, params: Sequence[tuple[Any, ...]]) -> bool:
    """Send `sql` once per parameter tuple and return without waiting for the server;
    False (nothing sent) where the connection cannot pipeline: the caller runs it itself."""
    if conn.dialect.name != "postgresql":
        return False
    import psycopg  # only where it is the driver already

    if not psycopg.Pipeline.is_supported():
        return False
    settle(conn)
    dbapi = conn.connection.dbapi_connection
    assert isinstance(dbapi, psycopg.Connection)
    pipeline = dbapi.pipeline()
    pipeline.__enter__()
    cursor = dbapi.cursor()
    conn.info[_IN_FLIGHT] = (pipeline, cursor, sql)
    try:
        cursor.executemany(sql, params)
    except psycopg.Error as exc:  # refused before sending (a value psycopg cannot adapt)
        del conn.info[_IN_FLIGHT]
        _close(pipeline, cursor, exc)
        raise _wrapped(conn, sql, exc) from None
    return True


def settle(conn: Connection) -> None:
    """Wait for the write in flight, if any; its error, if it failed, is raised here as
    SQLAlchemy raises a driver's error (the statement named, its parameters hidden)."""
    import psycopg

    in_flight = conn.info.pop(_IN_FLIGHT, None)
    if in_flight is None:
        return
    pipeline, cursor, sql = in_flight
    try:
        _close(pipeline, cursor, None)
    except psycopg.Error as exc:
        raise _wrapped(conn, sql, exc) from None


def settle_before_statement(conn: Connection, *_: Any) -> None:
    settle(conn)


def settle_before_rollback(conn: Connection) -> None:
    """The transaction is abandoned: the write's own failure, if any, no longer matters."""
    with suppress(StatementError):
        settle(conn)


def _close(pipeline: Any, cursor: Any, error: BaseException | None) -> None:
    try:
        if error is None:
            pipeline.__exit__(None, None, None)
        else:
            pipeline.__exit__(type(error), error, error.__traceback__)
    finally:
        cursor.close()


def _wrapped(conn: Connection, sql: str, exc: Exception) -> StatementError:
    import psycopg

    return DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True,
                               dialect=conn.dialect)
