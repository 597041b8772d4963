"""Prebuilt statements on PostgreSQL, run on libpq directly.

psycopg's ``cursor.execute(..., prepare=True)`` costs the SP about 60 µs of CPU a statement
beyond the round trip itself (its cursor, query conversion, prepared-statement bookkeeping and
the generator that waits on the socket), about twice what libpq's own blocking call costs, and
a SCIM write runs seven or eight. Here a statement's SQL is converted once, each connection
prepares it once per kind of parameters, and an execution is psycopg's own adaptation of the
values (its C dumpers and loaders, so the values and types sent and the rows read back are what
psycopg sends and reads) around one ``PQexecPrepared``, which releases the GIL while it waits.

The transaction is psycopg's: it reads its state from libpq, so a BEGIN sent here (as psycopg
would send it before the transaction's first statement) and its ``commit`` and ``rollback``
agree. That BEGIN goes in the same exchange with the server as the first statement (libpq's
pipeline mode for those two, waiting on the socket with the GIL let go): one round trip fewer
per transaction. A connection with a non-default transaction setting (isolation level, read only,
deferrable), in autocommit, or on which psycopg prepares statements of its own is left to
psycopg (``usable``): having prepared any, psycopg drops every prepared statement of the session
at the next rollback (DEALLOCATE ALL), ours with its own.
"""

from __future__ import annotations

import re
import select
from typing import Any

from psycopg import Connection as PsycopgConnection
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer

_IDLE = pq.TransactionStatus.IDLE
_OK = pq.ConnStatus.OK
_TUPLES_OK, _COMMAND_OK = pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK
_PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC
# A prepared statement gone (DEALLOCATE ALL) or invalid for a changed table: prepared again by
# the next transaction (this one is aborted either way).
_STALE_STATEMENT = frozenset({"26000", "0A000"})
_PLACEHOLDER = re.compile(r"%\(([^)]+)\)s|%%")  # psycopg's named placeholders, a literal %


class Statement:
    """One SQL text (psycopg's ``%(name)s`` placeholders) as PostgreSQL takes it: ``$n``
    placeholders and the parameters' names in their order."""

    __slots__ = ("formats", "names", "query")

    def __init__(self, sql: str) -> None:
        order: dict[str, int] = {}

        def placeholder(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return "%"
            if name not in order:
                order[name] = len(order) + 1
            return f"${order[name]}"

        self.query = _PLACEHOLDER.sub(placeholder, sql).encode()
        self.names = tuple(order)
        self.formats = [PyFormat.AUTO] * len(self.names)


class Result:
    """What a cursor would give: the rows, and the count of rows the statement changed."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchall(self) -> list[Any]:
        return self.rows

    def fetchone(self) -> Any | None:
        return self.rows[0] if self.rows else None


class _Session:
    """What one connection holds: its adaptation context and the statements it prepared,
    by statement and parameter types (a value's type may vary: an int is int2, int4 or int8 by
    its size, as psycopg sends it)."""

    __slots__ = ("names", "transformer")

    def __init__(self, driver: PsycopgConnection[Any]) -> None:
        # Any: its dumps hold None for NULL, which libpq takes and psycopg's stubs do not say
        self.transformer: Any = Transformer(driver)
        self.names: dict[tuple[Statement, tuple[int, ...]], bytes] = {}


_SESSION = "reference_sp.pg_direct"  # the key of a connection's _Session in its pool record


def usable(driver: Any) -> bool:
    """Whether statements on ``driver`` may run here (else on psycopg's cursor)."""
    return (
        driver.prepare_threshold is None
        and not driver.autocommit
        and driver.isolation_level is None
        and driver.read_only is None
        and driver.deferrable is None
    )


def run(
    driver: PsycopgConnection[Any], info: dict[Any, Any], statement: Statement, values: list[Any]
) -> Result:
    """Execute ``statement`` with ``values`` (of its names, in that order) in the driver's
    transaction, beginning it if none is open. ``info`` lives as long as the connection (its
    pool record's): it keeps what the connection prepared, and goes with it."""
    session = info.get(_SESSION)
    if session is None:
        session = info[_SESSION] = _Session(driver)
    pgconn = driver.pgconn
    transformer = session.transformer
    dumped = transformer.dump_sequence(values, statement.formats)
    types = transformer.types
    key = (statement, types)
    name = session.names.get(key)
    if name is None:  # a protocol-level PREPARE: outside any transaction, rolled back or not
        name = b"_fastsql_%d" % len(session.names)
        _check(session, pgconn, pgconn.prepare(name, statement.query, types))
        session.names[key] = name
    if pgconn.transaction_status == _IDLE:
        result = _begin_and_execute(session, pgconn, name, dumped, transformer.formats)
    else:
        result = pgconn.exec_prepared(name, dumped, transformer.formats)
    _check(session, pgconn, result)
    if result.status != _TUPLES_OK:
        return Result([], int(result.command_tuples or 0))
    transformer.set_pgresult(result)
    rows = transformer.load_rows(0, result.ntuples, tuple)
    return Result(rows, int(result.command_tuples or len(rows)))


def _begin_and_execute(
    session: _Session, pgconn: Any, name: bytes, values: Any, formats: Any
) -> Any:
    """BEGIN and a transaction's first statement in one exchange with the server (libpq's
    pipeline mode: both sent, then one sync); the statement's result."""
    pgconn.enter_pipeline_mode()
    try:
        pgconn.send_query_params(b"BEGIN", None)
        pgconn.send_query_prepared(name, values, formats)
        pgconn.pipeline_sync()
        begun, result = _pipeline_results(pgconn)
    except BaseException:
        pgconn.finish()  # mid-exchange, the connection cannot be trusted: closed, not reused
        raise
    pgconn.exit_pipeline_mode()
    _check(session, pgconn, begun)
    return result


def _pipeline_results(pgconn: Any) -> list[Any]:
    """The results of the statements sent, up to the sync; waits on the socket (the GIL let go
    while the server works)."""
    # poll, not select: a busy server's sockets are numbered past select's limit of 1024.
    waiter = select.poll()
    waiter.register(pgconn.socket, select.POLLIN | select.POLLOUT)
    while pgconn.flush():  # not all sent yet: wait until the socket takes more (or has news)
        waiter.poll()
        pgconn.consume_input()
    waiter.modify(pgconn.socket, select.POLLIN)
    results: list[Any] = []
    while True:
        while pgconn.is_busy():
            waiter.poll()
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:  # the end of one statement's results
            continue
        if result.status == _PIPELINE_SYNC:
            return results
        results.append(result)


def _check(session: _Session, pgconn: Any, result: Any) -> None:
    status = result.status
    if status in (_TUPLES_OK, _COMMAND_OK):
        return
    if pgconn.status != _OK:  # the connection is lost: as psycopg says it
        raise pg_errors.OperationalError(
            f"consuming input failed: {pgconn.get_error_message(pgconn._encoding)}"
        )
    error = pg_errors.error_from_result(result, encoding=pgconn._encoding)
    if error.sqlstate in _STALE_STATEMENT:
        session.names.clear()
    raise error
