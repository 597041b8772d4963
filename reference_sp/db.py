"""The reference SP's SQL store: one engine per app, SQLite by default, PostgreSQL for scale.

SQLite runs in WAL mode with ``synchronous=NORMAL`` (durable across process crashes, one fsync per
checkpoint instead of per commit) and case-sensitive LIKE, so that ``co``/``sw``/``ew`` filters on
caseExact attributes mean the same on both databases (PostgreSQL's LIKE is case-sensitive).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from harness.protocol.home import data_dir
from reference_sp.tables import metadata


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'reference_sp.sqlite3'}"


def make_engine(url: str | None = None) -> Engine:
    """Create the engine and the tables. ``sqlite://`` is an in-memory database."""
    url = url or default_url()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool  # one shared in-memory database
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is off; BEGIN is issued explicitly below.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    metadata.create_all(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=10000",
        "case_sensitive_like=ON",
        # Index pages of a large directory stay in memory: a lookup at 100k users then costs
        # what it costs at 1k (the default cache is 2 MB).
        "cache_size=-65536",
        "mmap_size=268435456",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class Database:
    """Units of work. SQLite allows one writer at a time, so its transactions are serialised
    in-process (no SQLITE_BUSY under load); PostgreSQL relies on row locks instead."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._lock = threading.RLock() if self.is_sqlite else None
        self._sqlite_conn: Connection | None = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        if self._lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._lock:
            # One connection serves every SQLite transaction: checking one out of the pool
            # for each request costs more than the request's queries.
            if self._sqlite_conn is None or self._sqlite_conn.closed:
                self._sqlite_conn = self.engine.connect()
            conn = self._sqlite_conn
            if conn.in_transaction():  # nested use (the lock is re-entrant): join it
                yield conn
                return
            with conn.begin():
                yield conn

    def close(self) -> None:
        if self._sqlite_conn is not None:
            self._sqlite_conn.close()
        self.engine.dispose()
