"""The reference SP's SQL store: one engine per app, SQLite by default, PostgreSQL for scale.

SQLite runs in WAL mode with ``synchronous=NORMAL`` (durable across process crashes, one fsync per
checkpoint instead of per commit) and case-sensitive LIKE, so that ``co``/``sw``/``ew`` filters on
caseExact attributes mean the same on both databases (PostgreSQL's LIKE is case-sensitive).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.pool import NullPool, StaticPool

from harness.home import data_dir
from harness.protocol.refusal import Refusal
from reference_sp import (
    account_tables,  # noqa: F401  (its tables join the metadata)
    migrations,
)
from reference_sp.tables import metadata


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'reference_sp.sqlite3'}"


T = TypeVar("T")

RETRY_AFTER_SECONDS = 5  # what a 503 asks the client to wait
ERROR_WINDOW_SECONDS = 60.0  # how long a failed transaction keeps /healthz at 503
PROBE_EVERY_SECONDS = 1.0  # /healthz probes the database at most this often
PROBE_WAIT_SECONDS = 0.05  # and waits at most this long for the probe before answering


class DatabaseUnavailableError(Exception):
    """The database cannot serve now (unreachable, read-only, full, locked, shut down): the
    environment's fault, answered 503 with Retry-After, never a 500 or a traceback."""

    retry_after = RETRY_AFTER_SECONDS


class DatabaseBusyError(DatabaseUnavailableError):
    """More units of work wait for the database than it can serve soon: refused at once with
    503 and Retry-After rather than queued without bound (a flood must not grow memory)."""


class SerializationFailureError(DatabaseUnavailableError):
    """PostgreSQL chose this transaction as a deadlock victim or refused to serialise it: the
    whole transaction may be run again."""


def mask_url(url: str | None) -> str:
    """``url`` with its password replaced by ``***``: database URLs are printed and logged
    only this way. The password runs from the user's colon to the last ``@`` before the path's
    query, so a password holding an unescaped ``@`` is hidden whole."""
    if not url:
        return ""
    url = re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", url)
    password = _userinfo_password(url)
    if password is None:
        return url
    scheme, _, rest = url.partition("://")
    userinfo = rest.split("?", 1)[0].rpartition("@")[0]
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{rest[len(userinfo) + 1 :]}"


def _userinfo_password(url: str) -> str | None:
    _, sep, rest = url.partition("://")
    if not sep:
        return None
    userinfo, at, _ = rest.split("?", 1)[0].rpartition("@")
    if not at or ":" not in userinfo:
        return None
    return userinfo.split(":", 1)[1]


def _root_cause(exc: BaseException) -> BaseException:
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def is_serialization_failure(exc: BaseException) -> bool:
    """PostgreSQL's deadlock_detected (40P01) or serialization_failure (40001)."""
    return getattr(_root_cause(exc), "sqlstate", None) in ("40001", "40P01")


def is_operational(exc: BaseException) -> bool:
    """Whether ``exc`` is the database failing (not a statement or a constraint refusing)."""
    if isinstance(exc, (DisconnectionError, PoolTimeoutError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    cause = _root_cause(exc)
    if isinstance(cause, sqlite3.OperationalError) or type(cause) is sqlite3.DatabaseError:
        return True  # locked, read-only, disk full, I/O error, not a database file
    # A psycopg error exists only once psycopg is imported: on SQLite, never import it here
    # (50 ms, at the first refused statement of a process).
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return False
    return isinstance(cause, (psycopg.OperationalError, psycopg.InterfaceError))


def describe(exc: BaseException, url: str | None = None) -> str:
    """One line naming the fault, without SQL, parameters or credentials (``url``'s password,
    should a driver quote its connection string, is masked too)."""
    cause = _root_cause(exc)
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    line = f"{type(cause).__name__}: {first}" if first else type(cause).__name__
    password = _password(url)
    if password:
        try:  # and the part SQLAlchemy took for the password, should the two differ
            parsed = make_url(str(url)).password
        except Exception:
            parsed = None
        # A password with an unescaped "@" is split by parsers: hide every piece of it.
        pieces = {password, str(parsed or ""), *password.split("@")}
        for piece in sorted(pieces, key=len, reverse=True):
            if len(piece) >= 3:
                line = line.replace(piece, "***")
    return line


def _password(url: str | None) -> str | None:
    if not url:
        return None
    return _userinfo_password(url) or None


def is_start_failure(exc: BaseException) -> bool:
    """Whether ``exc``, raised while opening the database at start, is the database's or the
    URL's fault (said in one line, exit 2) rather than our bug."""
    expected = (SQLAlchemyError, DatabaseUnavailableError, sqlite3.Error, OSError, ValueError)
    return isinstance(exc, (*expected, ImportError))


def make_engine(url: str | None = None) -> Engine:
    """Create the engine and bring the schema to this version (``migrations``). ``sqlite://`` is
    an in-memory database."""
    url = normalise_url(url or default_url())
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool  # one shared in-memory database
    elif url.startswith("postgresql"):
        # psycopg prepares no statement of its own: the prebuilt ones are prepared by
        # reference_sp.pg_direct, and psycopg, having prepared any, would drop them all at the
        # next rollback (DEALLOCATE ALL).
        kwargs["connect_args"] = {"prepare_threshold": None}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is off; BEGIN is issued explicitly here.
        event.listen(engine, "begin", _begin_sqlite)
    migrations.upgrade(engine)
    return engine


def delete_all_rows(engine: Engine) -> None:
    """Empty every table of the schema, in one transaction: the database is then as a new one
    (SQLite's row ids start again from 1 in an emptied table without AUTOINCREMENT)."""
    # As text, in an order worked out once: compiling a DELETE for each table and sorting the
    # tables cost more than the deletes (harness.memory_databases empties a database per world).
    with engine.begin() as conn:
        for statement in _delete_every_table():
            conn.exec_driver_sql(statement)


@functools.cache
def _delete_every_table() -> tuple[str, ...]:
    """A DELETE per table, those referring to others first (quoted: SQLite and PostgreSQL)."""
    names = [t.name for t in reversed(metadata.sorted_tables)]
    return tuple(f'DELETE FROM "{name}"' for name in names)  # noqa: S608 - our own tables


def normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _begin_sqlite(conn: Connection) -> None:
    """SQLAlchemy begins: take SQLite's write lock at once (BEGIN IMMEDIATE: no deadlock
    upgrading a read lock), unless the driver is in a transaction already (Database's own)."""
    driver = conn.connection.driver_connection
    if not driver.in_transaction:  # type: ignore[union-attr]
        driver.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]


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


class Health:
    """The outcome of the last transactions: a failure is reported until a transaction
    succeeds again or ERROR_WINDOW_SECONDS pass."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.error_at = 0.0
        self.ok_at = 0.0

    def succeeded(self) -> None:
        self.ok_at = time.monotonic()

    def failed(self, message: str) -> None:
        self.error, self.error_at = message, time.monotonic()

    def problem(self) -> str | None:
        if self.error is None or self.error_at < self.ok_at:
            return None
        if time.monotonic() - self.error_at > ERROR_WINDOW_SECONDS:
            return None
        return self.error


MAX_WAITING_PER_WORKER = 256


class Database:
    """Units of work, run off the event loop. SQLite allows one writer at a time, so its
    transactions are serialised in-process (no SQLITE_BUSY under load) and run on one worker
    thread; PostgreSQL relies on row locks and runs on as many threads as the pool has
    connections. A database fault raises DatabaseUnavailableError and is remembered for /healthz."""

    def __init__(self, engine: Engine, *, owns_engine: bool = True, inline: bool = False) -> None:
        self.engine = engine
        self._inline = inline  # run units of work on the caller's thread (Settings.inline)
        self._owns_engine = owns_engine  # disposed on close, unless lent by its owner
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._lock = threading.RLock() if self.is_sqlite else None
        self._sqlite_conn: Connection | None = None
        self.health = Health()
        workers = 1 if self.is_sqlite else _pool_capacity(engine)
        self._workers = concurrent.futures.ThreadPoolExecutor(workers, "sso-harness-db")
        # The probe runs on its own thread: it never queues behind a long request.
        self._prober = concurrent.futures.ThreadPoolExecutor(1, "sso-harness-db-probe")
        self._probe: concurrent.futures.Future[str | None] | None = None
        self._probe_result: str | None = None
        self._probed_at = -PROBE_EVERY_SECONDS
        self._probe_engine: Engine | None = None
        self._waiting = 0  # units of work queued or running
        self._waiting_lock = threading.Lock()  # run() may be awaited from several loops
        self.max_waiting = MAX_WAITING_PER_WORKER * workers

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` (which opens its own transactions) on the database's worker
        threads: the event loop goes on serving while it waits. Beyond ``max_waiting`` units
        queued, refuse at once (DatabaseBusyError) instead of queueing without bound."""
        if self._inline:
            return fn(*args)
        with self._waiting_lock:
            if self._waiting >= self.max_waiting:
                raise DatabaseBusyError(f"{self._waiting} requests wait for the database")
            self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._workers, lambda: fn(*args))
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction; ``write=False`` when it only reads (on SQLite it then begins
        deferred: no write lock, and a commit that writes nothing)."""
        try:
            with self._transaction(write) as conn:
                yield conn
        except DatabaseUnavailableError:
            raise
        except Exception as exc:
            if is_serialization_failure(exc):
                raise SerializationFailureError(describe(exc)) from exc
            if not is_operational(exc):
                raise
            self.health.failed(describe(exc))
            self._forget_sqlite_connection()
            raise DatabaseUnavailableError(describe(exc)) from exc
        self.health.succeeded()

    @contextmanager
    def transaction_keeping_refusals(self) -> Iterator[Connection]:
        """A transaction that commits even when its work raises a Refusal, raised again once
        committed: what a refused request wrote stays (its audit entry, the request or the
        assertion it used up)."""
        refused: Refusal | None = None
        with self.transaction() as conn:
            try:
                yield conn
            except Refusal as exc:
                refused = exc
        if refused is not None:
            raise refused

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[Connection]:
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
            driver = conn.connection.driver_connection
            assert driver is not None
            if driver.in_transaction or conn.in_transaction():  # nested use: join it
                yield conn
                return
            # BEGIN and COMMIT on the driver: SQLAlchemy's transaction machinery costs more
            # than a read. Should SQLAlchemy begin within (a statement it runs), it joins this
            # transaction (_begin_sqlite) and ends it below.
            driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                with suppress(Exception):  # the error raised is the one to report
                    conn.rollback() if conn.in_transaction() else driver.rollback()
                raise
            try:
                conn.commit() if conn.in_transaction() else driver.commit()
            except BaseException:
                with suppress(Exception):
                    conn.rollback() if conn.in_transaction() else driver.rollback()
                raise

    def _forget_sqlite_connection(self) -> None:
        """After a fault the shared SQLite connection may be unusable: the next transaction
        opens a fresh one (an in-memory database keeps its single connection)."""
        if self._lock is None or self.engine.url.database in (None, "", ":memory:"):
            return
        with self._lock:
            if self._sqlite_conn is not None and not self._sqlite_conn.in_transaction():
                with suppress(Exception):  # it is being thrown away either way
                    self._sqlite_conn.close()
                self._sqlite_conn = None

    # ----------------------------------------------------------------------------- health

    async def problem(self) -> str | None:
        """What keeps the database from serving, or None. Never waits for a transaction: a
        recent failure of one, else a probe on its own connection (at most one a second,
        waited for at most PROBE_WAIT_SECONDS; a slower probe reports next time)."""
        recent = self.health.problem()
        if recent is not None:
            return recent
        now = time.monotonic()
        if self._probe is None and now - self._probed_at >= PROBE_EVERY_SECONDS:
            self._probed_at = now
            self._probe = self._prober.submit(self._run_probe)
        probe = self._probe  # held here: a concurrent caller may take the result meanwhile
        if probe is not None:
            await asyncio.wait([asyncio.wrap_future(probe)], timeout=PROBE_WAIT_SECONDS)
            if probe.done():
                self._probe_result = probe.result()
                if self._probe is probe:
                    self._probe = None
        return self._probe_result

    def _run_probe(self) -> str | None:
        try:
            return self.probe()
        except Exception as exc:
            return describe(exc)

    def probe(self) -> str | None:
        """Whether the database would take a write now, asked without its lock."""
        url = self.engine.url
        if self.is_sqlite:
            if url.database in (None, "", ":memory:"):
                return None
            path = url.database.removeprefix("file:").split("?", 1)[0]
            mode = "ro" if url.query.get("mode") == "ro" else "rw"
            probe = sqlite3.connect(
                f"file:{path}?mode={mode}", uri=True, timeout=0, isolation_level=None
            )
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return None  # a writer holds the lock: the database is writing
                return describe(exc)
            finally:
                probe.close()
            return None
        if self._probe_engine is None:
            self._probe_engine = create_engine(
                url, poolclass=NullPool, connect_args={"connect_timeout": 2}
            )
        with self._probe_engine.connect() as conn:
            if conn.execute(text("SELECT pg_is_in_recovery()")).scalar():
                return "the database is a read-only standby"
            if conn.execute(text("SHOW transaction_read_only")).scalar() == "on":
                return "the database is read-only"
        return None

    def close(self) -> None:
        self._workers.shutdown(wait=True)
        self._prober.shutdown(wait=False, cancel_futures=True)
        if self._sqlite_conn is not None:
            self._sqlite_conn.close()
        if self._probe_engine is not None:
            self._probe_engine.dispose()
        if self._owns_engine:
            self.engine.dispose()


def _pool_capacity(engine: Engine) -> int:
    size = getattr(engine.pool, "size", None)
    overflow = getattr(engine.pool, "_max_overflow", 0)
    if callable(size):
        return max(1, int(size()) + max(0, int(overflow)))
    return 8
