"""A time limit on the statements of one search, on SQLite and PostgreSQL alike.

Filters are bounded in size (4,096 characters, 100 comparisons, 10 levels), but within those
bounds some still cost seconds on a large directory: each comparison on a multi-valued
attribute is a correlated subquery per row. A search whose statements run past the limit is
stopped and answered 400 ``tooMany`` (RFC 7644 §3.12: "the specified filter yields many more
results than the server is willing to calculate or process"): the request, not the server, is
at fault, and a 5xx would invite the client to retry the same expensive query.

SQLite: a progress handler on the driver connection, called every ``_STEPS`` virtual machine
instructions, aborts the statement once the deadline has passed. PostgreSQL:
``statement_timeout`` set for the transaction (``set_config(..., true)``, as ``SET LOCAL``)
for the statements of the search, reset afterwards.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from harness.protocol.scim import errors
from reference_sp import fastsql
from reference_sp.fastsql import Prepared

_STEPS = 1000  # SQLite VM instructions between two looks at the clock (a few microseconds)
_QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement_timeout


def too_expensive(seconds: float) -> errors.ScimError:
    return errors.ScimError(
        400,
        f"the search ran longer than {seconds:g} s and was stopped: narrow the filter "
        "(fewer comparisons, fewer on multi-valued attributes)",
        "tooMany",
    )


@contextmanager
def time_limit(conn: Connection, seconds: float | None) -> Iterator[None]:
    """Run the block's statements under a limit of ``seconds`` (None: no limit); a statement
    still running when it passes raises ``too_expensive``. On PostgreSQL the limit applies to
    each statement from the block to the end of its transaction (``SET LOCAL``: a SCIM search is
    the last work of its read-only transaction, and putting the old value back cost every
    search a round trip); on SQLite to the block as a whole."""
    if seconds is None:
        yield
        return
    if conn.dialect.name == "sqlite":
        with _sqlite_deadline(conn, seconds):
            yield
    elif conn.dialect.name == "postgresql":
        with _postgresql_timeout(conn, seconds):
            yield
    else:
        yield


@contextmanager
def _sqlite_deadline(conn: Connection, seconds: float) -> Iterator[None]:
    raw: Any = conn.connection.driver_connection
    deadline = time.monotonic() + seconds

    def past_deadline() -> int:
        return 1 if time.monotonic() > deadline else 0  # non-zero interrupts the statement

    raw.set_progress_handler(past_deadline, _STEPS)
    try:
        yield
    except (sqlite3.OperationalError, DBAPIError) as exc:
        if "interrupted" in str(exc) and time.monotonic() > deadline:
            raise too_expensive(seconds) from None
        raise
    finally:
        raw.set_progress_handler(None, 0)


# SET LOCAL, as a function that takes a parameter: prepared once (reference_sp.fastsql).
_SET_TIMEOUT = Prepared(text("SELECT set_config('statement_timeout', :timeout, true)"))


@contextmanager
def _postgresql_timeout(conn: Connection, seconds: float) -> Iterator[None]:
    milliseconds = max(1, round(seconds * 1000))
    fastsql.fetch_all(conn, _SET_TIMEOUT, {"timeout": str(milliseconds)})
    try:
        yield
    except Exception as exc:  # from psycopg directly, or wrapped by SQLAlchemy
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        if getattr(cause, "sqlstate", None) == _QUERY_CANCELED:
            raise too_expensive(seconds) from None  # the transaction is aborted: it rolls back
        raise
