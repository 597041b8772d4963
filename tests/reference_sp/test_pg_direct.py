"""Prebuilt statements run on libpq directly (``reference_sp.pg_direct``, through ``fastsql``):
the values sent and the rows read are psycopg's own, the transaction is psycopg's, statements
survive a rollback, come back after being dropped behind its back, a lost connection is the
database failing, and the wait for the server leaves the other threads running. On PostgreSQL,
where SSO_HARNESS_TEST_PG is set."""

from __future__ import annotations

import gc
import math
import os
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    insert,
    select,
    text,
)

from reference_sp import db, fastsql

PG = os.environ.get("SSO_HARNESS_TEST_PG")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG, reason="SSO_HARNESS_TEST_PG is not set"),
]

metadata = MetaData()
samples = Table(
    f"pg_direct_{uuid.uuid4().hex[:8]}",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("n", BigInteger),
    Column("x", Float),
    Column("flag", Boolean),
    Column("name", String(40), unique=True),
    Column("body", Text),
)
COLUMNS = ["n", "x", "flag", "name", "body"]
INSERT = fastsql.Prepared(insert(samples).returning(samples.c.seq), columns=COLUMNS)
BY_NAME = fastsql.Prepared(
    select(samples.c.n, samples.c.x, samples.c.flag, samples.c.body).where(
        samples.c.name == bindparam("name")
    )
)
PERCENT = fastsql.Prepared(text("SELECT '100%' || :a, :b, :a"))
SLEEP = fastsql.Prepared(text("SELECT pg_sleep(CAST(:seconds AS float8))"))


def _engine(**connect_args: Any) -> Engine:
    assert PG
    return create_engine(db.normalise_url(PG), connect_args=connect_args)


@pytest.fixture
def engine() -> Iterator[Engine]:
    made = _engine(prepare_threshold=None)  # as db.make_engine makes it
    metadata.create_all(made)
    yield made
    metadata.drop_all(made)
    made.dispose()


def _row(i: int, n: int) -> dict[str, Any]:
    return {"n": n, "x": i / 3, "flag": bool(i % 2), "name": f"u{i}", "body": f'é "{i}" %s\n'}


def test_values_sent_and_rows_read_are_as_on_psycopgs_own_path(engine: Engine) -> None:
    # int2, int4, int8 in turn (psycopg types an int by its size: a statement prepared anew),
    # then None, floats JSON cannot hold and strings with what SQL or the driver would read.
    sizes = [1, 70_000, 2**40, None]
    rows = [_row(i, n) for i, n in enumerate(sizes)]
    rows.append({"n": -5, "x": math.inf, "flag": None, "name": "u%(n)s", "body": None})
    with engine.begin() as conn:
        for row in rows:
            assert fastsql.insert(conn, INSERT, row) > 0
        direct = [fastsql.fetch_one(conn, BY_NAME, {"name": r["name"]}) for r in rows]
    with engine.connect() as conn:
        plain = [tuple(conn.execute(BY_NAME.statement, {"name": r["name"]}).one()) for r in rows]
    assert direct == plain
    assert [d[0] for d in direct] == [*sizes, -5]
    assert direct[-1][1] == math.inf


def test_a_literal_percent_and_a_name_used_twice() -> None:
    made = _engine(prepare_threshold=None)
    with made.begin() as conn:
        assert fastsql.fetch_all(conn, PERCENT, {"a": "x", "b": "y"}) == [("100%x", "y", "x")]
    made.dispose()


def test_the_transaction_is_psycopgs(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        fastsql.insert(conn, INSERT, _row(1, 1))  # begins the transaction psycopg rolls back
        raise RuntimeError
    with engine.begin() as conn:
        fastsql.insert(conn, INSERT, _row(2, 2))
    with engine.connect() as conn:
        assert [r.name for r in conn.execute(select(samples.c.name))] == ["u2"]


def _prepared_here(conn: Any) -> int:
    return int(
        conn.exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements WHERE left(name, 9) = '_fastsql_'"
        ).scalar()
    )


def test_statements_stay_prepared_across_a_rollback(engine: Engine) -> None:
    with engine.connect() as conn:
        for _ in range(3):
            with pytest.raises(RuntimeError), conn.begin():
                fastsql.fetch_all(conn, BY_NAME, {"name": "nobody"})
                conn.exec_driver_sql("SELECT 1")  # as psycopg's own statements run
                raise RuntimeError  # rolled back
        with conn.begin():
            assert _prepared_here(conn) == 1


def test_statements_dropped_behind_its_back_are_prepared_again(engine: Engine) -> None:
    import psycopg

    with engine.connect() as conn:
        with conn.begin():
            fastsql.fetch_all(conn, BY_NAME, {"name": "nobody"})
        with conn.begin():
            conn.exec_driver_sql("DEALLOCATE ALL")
        with pytest.raises(psycopg.errors.InvalidSqlStatementName), conn.begin():
            fastsql.fetch_all(conn, BY_NAME, {"name": "nobody"})
        with conn.begin():
            assert fastsql.fetch_all(conn, BY_NAME, {"name": "nobody"}) == []
            assert _prepared_here(conn) == 1


def test_a_connection_where_psycopg_prepares_is_left_to_psycopg() -> None:
    # psycopg preparing statements of its own drops all of the session's at a rollback.
    made = _engine(prepare_threshold=0)
    metadata.create_all(made)
    try:
        with made.connect() as conn:
            for _ in range(3):
                with pytest.raises(RuntimeError), conn.begin():
                    assert fastsql.fetch_all(conn, BY_NAME, {"name": "nobody"}) == []
                    conn.exec_driver_sql("SELECT 1")  # prepared by psycopg
                    raise RuntimeError  # rolled back: DEALLOCATE ALL
    finally:
        metadata.drop_all(made)
        made.dispose()


def test_a_unique_refusal_is_an_integrity_error(engine: Engine) -> None:
    with pytest.raises(fastsql.IntegrityErrors), engine.begin() as conn:
        fastsql.insert(conn, INSERT, _row(1, 1))
        fastsql.insert(conn, INSERT, _row(1, 2))


def test_a_lost_connection_is_the_database_failing(engine: Engine) -> None:
    with engine.connect() as conn:
        with conn.begin():
            fastsql.fetch_all(conn, BY_NAME, {"name": "nobody"})
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.begin() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid or 0)})")
        time.sleep(0.1)
        with pytest.raises(Exception) as raised:
            fastsql.fetch_all(conn, BY_NAME, {"name": "nobody"})
        conn.invalidate()
    assert db.is_operational(raised.value), raised.value


def test_other_threads_run_while_a_statement_waits_for_the_server(engine: Engine) -> None:
    def slow() -> None:
        with engine.begin() as conn:
            fastsql.fetch_all(conn, SLEEP, {"seconds": 0.5})

    waiting = threading.Thread(target=slow)
    waiting.start()
    time.sleep(0.1)  # the statement is at the server
    total = 0
    for i in range(200_000):  # pure Python: needs the GIL the wait must not hold
        total += i
    still_waiting = waiting.is_alive()
    waiting.join()
    assert still_waiting


def test_a_connection_closed_is_let_go() -> None:
    made = _engine(prepare_threshold=None)
    with made.begin() as conn:
        fastsql.fetch_all(conn, PERCENT, {"a": "x", "b": "y"})
        driver = weakref.ref(conn.connection.driver_connection)
    made.dispose()
    gc.collect()
    assert driver() is None


def test_a_transactions_first_statement_goes_with_its_begin(engine: Engine, tmp_path: Path) -> None:
    trace = tmp_path / "libpq.trace"
    with engine.connect() as conn, trace.open("w") as out:
        with conn.begin():
            fastsql.fetch_all(conn, BY_NAME, {"name": "nobody"})  # prepared: one exchange more
        conn.connection.driver_connection.pgconn.trace(out.fileno())
        with conn.begin():
            fastsql.fetch_all(conn, BY_NAME, {"name": "nobody"})
            fastsql.fetch_all(conn, BY_NAME, {"name": "nobody"})
        conn.connection.driver_connection.pgconn.untrace()
    # BEGIN and the first statement, the second statement, COMMIT.
    assert trace.read_text().count("ReadyForQuery") == 3


def test_a_refused_first_statement_leaves_the_connection_usable(engine: Engine) -> None:
    with engine.begin() as conn:
        fastsql.insert(conn, INSERT, _row(1, 1))
    with engine.connect() as conn:
        with pytest.raises(fastsql.IntegrityErrors), conn.begin():
            fastsql.insert(conn, INSERT, _row(1, 2))  # the transaction's first statement
        with conn.begin():
            assert fastsql.fetch_one(conn, BY_NAME, {"name": "u1"}) is not None


def test_a_connection_numbered_past_1024_is_waited_on() -> None:
    # A busy server holds many sockets; select() cannot wait on one numbered 1024 or more.
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"this process may open {hard} files at most")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    made = _engine(prepare_threshold=None)
    try:
        with made.begin() as conn:
            assert conn.connection.driver_connection.pgconn.socket > 1024
            assert fastsql.fetch_all(conn, PERCENT, {"a": "x", "b": "y"}) == [("100%x", "y", "x")]
    finally:
        made.dispose()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
