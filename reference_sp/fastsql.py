"""Prebuilt statements run on the database driver directly.

SQLAlchemy's execution path (context, events, parameter processing, result wrapping) costs about
0.1 ms a statement, more than SQLite takes to run an indexed one, and a SCIM request runs several.
A ``Prepared`` statement is compiled once per dialect and then handed straight to the driver
connection already in the transaction: the sqlite3 cursor on SQLite; on PostgreSQL libpq under
psycopg 3 (``reference_sp.pg_direct``), prepared so that the server parses and plans it once per
connection and every later execution sends only the parameters. A statement SQLAlchemy must
render per execution (an expanding IN list) and any other database take the ordinary path: the
same statement, the same results as plain tuples.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy import insert as insert_into
from sqlalchemy.exc import IntegrityError as SQLAlchemyIntegrityError
from sqlalchemy.sql import Executable

# What a unique index refusing a row raises, on any path; psycopg's own joins once this module
# first meets a PostgreSQL connection (psycopg is loaded by then). Imported up front, psycopg
# would cost every start on SQLite about 0.2 s of CPU, a quarter of the SP's imports.
IntegrityErrors: tuple[type[Exception], ...] = (SQLAlchemyIntegrityError, sqlite3.IntegrityError)

_SQLITE, _POSTGRESQL = "sqlite", "postgresql"


class _Form:
    """A statement compiled for one dialect: its SQL, its parameters' names in order, the values
    of the statement's own literals, and whether the driver can run it as it is."""

    __slots__ = ("direct", "literals", "names", "pg", "sql")

    def __init__(self, statement: Executable, conn: Connection, columns: list[str] | None):
        compiled = statement.compile(  # type: ignore[attr-defined]
            dialect=conn.dialect, column_keys=columns
        )
        self.sql = str(compiled)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or compiled.params)
        self.literals: dict[str, Any] = dict(compiled.params)
        # Only the drivers this module knows, and only SQL rendered in full (no IN list whose
        # length SQLAlchemy renders per execution).
        self.direct = conn.dialect.name in (_SQLITE, _POSTGRESQL) and "POSTCOMPILE" not in self.sql
        self.pg: Any = None  # PostgreSQL: the statement as libpq takes it (reference_sp.pg_direct)

    def positional(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[n] if n in params else self.literals[n] for n in self.names]

    def named(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {n: params[n] if n in params else self.literals[n] for n in self.names}

    def positional_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """``positional`` for many rows, picked at C speed when each row gives every value."""
        if len(self.names) > 1:
            pick = operator.itemgetter(*self.names)
            try:
                return [pick(r) for r in rows]
            except KeyError:  # some value is the statement's own literal
                pass
        return [self.positional(r) for r in rows]


class Prepared:
    """A statement compiled once per dialect; ``columns`` names an INSERT's columns."""

    def __init__(self, statement: Executable, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.columns = list(columns) if columns is not None else None
        self._forms: dict[str, _Form] = {}

    def form(self, conn: Connection) -> _Form:
        dialect = conn.dialect.name
        found = self._forms.get(dialect)
        if found is None:
            found = self._forms[dialect] = _Form(self.statement, conn, self.columns)
        return found

    def direct(self, conn: Connection) -> bool:
        """Whether this statement runs on the driver directly."""
        return self.form(conn).direct


def _driver(conn: Connection) -> Any:
    if conn.dialect.name == _POSTGRESQL and len(IntegrityErrors) == 2:
        _know_psycopg()
    return conn.connection.driver_connection


_pg_direct: Any = None  # reference_sp.pg_direct, once a PostgreSQL connection is met


def _know_psycopg() -> None:
    global IntegrityErrors, _pg_direct  # noqa: PLW0603  (read at each use: rebinding is enough)
    from psycopg import IntegrityError

    from reference_sp import pg_direct

    IntegrityErrors = (SQLAlchemyIntegrityError, sqlite3.IntegrityError, IntegrityError)
    _pg_direct = pg_direct


def _run(conn: Connection, form: _Form, params: Mapping[str, Any]) -> Any:
    """Execute on the driver; the cursor (or what stands for one), its rows still to fetch."""
    driver = _driver(conn)
    if conn.dialect.name == _SQLITE:
        return driver.execute(form.sql, form.positional(params))
    # PostgreSQL: prepared on the server on first use on each connection, then reused.
    if _pg_direct.usable(driver):
        if form.pg is None:
            form.pg = _pg_direct.Statement(form.sql)
        literals = form.literals
        values = [params[n] if n in params else literals[n] for n in form.pg.names]
        return _pg_direct.run(driver, conn.connection.info, form.pg, values)
    return driver.execute(form.sql, form.named(params))


def fetch_all(conn: Connection, prepared: Prepared, params: Mapping[str, Any]) -> list[Any]:
    form = prepared.form(conn)
    if not form.direct:
        return list(conn.execute(prepared.statement, dict(params)).all())
    return list(_run(conn, form, params).fetchall())


def fetch_one(conn: Connection, prepared: Prepared, params: Mapping[str, Any]) -> Any | None:
    rows = fetch_all(conn, prepared, params)
    return rows[0] if rows else None


def insert(conn: Connection, prepared: Prepared, params: Mapping[str, Any]) -> int:
    """Run an INSERT and return the new row's integer primary key (PostgreSQL: the statement
    compiles with RETURNING it)."""
    form = prepared.form(conn)
    if not form.direct:
        key = conn.execute(prepared.statement, dict(params)).inserted_primary_key
        if key is None:
            raise RuntimeError("the INSERT returned no primary key")
        return int(key[0])
    cursor = _run(conn, form, params)
    if conn.dialect.name == _SQLITE:
        return int(cursor.lastrowid)
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(row[0])


def execute(conn: Connection, prepared: Prepared, params: Mapping[str, Any]) -> int:
    """Run a statement; the number of rows it changed."""
    form = prepared.form(conn)
    if not form.direct:
        return int(conn.execute(prepared.statement, dict(params)).rowcount)
    return int(_run(conn, form, params).rowcount)


def execute_many(conn: Connection, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    form = prepared.form(conn)
    if not form.direct:
        conn.execute(prepared.statement, [dict(r) for r in rows])
        return
    driver = _driver(conn)
    if conn.dialect.name == _SQLITE:
        driver.executemany(form.sql, form.positional_rows(rows))
        return
    with driver.cursor() as cursor:  # psycopg sends the rows in one pipeline
        cursor.executemany(form.sql, [form.named(r) for r in rows])


class JsonRows:
    """Rows of ``table``'s ``columns`` sent to PostgreSQL as one JSON parameter (an array of
    rows), read back in their order: ``fields`` (typed as the columns) from ``source``, ordered
    by ``order``. A parameter per column as an array would change type with the values (int2 or
    int4, float or all null) and psycopg would prepare the statement again for each."""

    def __init__(self, param: str, table: Table, columns: Sequence[str]) -> None:
        self.param = param
        self.columns = list(columns)
        self._pick = operator.itemgetter(*self.columns)
        self.source = (
            func.json_array_elements(cast(bindparam(param), JSON))
            .table_valued("e", with_ordinality="n_")
            .render_derived(name="row_")
        )
        self.order = self.source.c.n_
        # Strings are read as TEXT: an explicit cast to VARCHAR(n) would cut a value too long
        # for its column, where the INSERT's own assignment refuses it, as a plain INSERT does.
        self.fields = [
            cast(
                self.source.c.e.op("->>")(literal_column(str(i))),
                Text() if isinstance(table.c[c].type, String) else table.c[c].type,
            )
            for i, c in enumerate(self.columns)
        ]

    def params(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """The parameter for ``rows`` (each gives every column)."""
        if len(self.columns) == 1:
            values: list[Any] = [[r[self.columns[0]]] for r in rows]
        else:
            values = [self._pick(r) for r in rows]
        return self.params_in_order(values)

    def params_in_order(self, values: Sequence[Sequence[Any]]) -> dict[str, str]:
        """The parameter for rows given as the values of ``columns`` in that order."""
        try:
            return {self.param: json.dumps(values, allow_nan=False)}
        except ValueError:  # an infinite or NaN float, which JSON cannot hold: as text
            return {self.param: json.dumps(_non_finite_as_text(values), allow_nan=False)}


class InsertRows:
    """An INSERT of any number of rows of ``table``'s ``columns``, in one round trip.

    SQLite: ``executemany`` (in-process, no round trips to save). PostgreSQL: several rows go in
    one statement (``JsonRows``), inserted in the order given: psycopg's ``executemany`` would
    run its pipeline, which costs the SP more CPU per row than the round trips it saves. One
    row is a plain prepared INSERT."""

    def __init__(self, table: Table, columns: Sequence[str], prefix: str = "") -> None:
        self.table = table
        self.columns = list(columns)
        self.one = Prepared(insert_into(table), columns=self.columns)
        # Named with the prefix, so that the statement can be a CTE of another whose parameters
        # have the columns' names (``many_statement``).
        self.rows = JsonRows(f"{prefix}rows", table, self.columns)
        in_order = select(*self.rows.fields).order_by(self.rows.order)
        self.many_statement = insert_into(table).from_select(self.columns, in_order)
        self.many = Prepared(self.many_statement)

    def many_params(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """The parameter of ``many`` for ``rows``."""
        return self.rows.params(rows)


def _non_finite_as_text(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [
        [v if not isinstance(v, float) or math.isfinite(v) else _FLOAT_TEXT[str(v)] for v in row]
        for row in rows
    ]


_FLOAT_TEXT = {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}  # as PostgreSQL reads them


def insert_rows(
    conn: Connection, rows_insert: InsertRows, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (each gives every column), in their order."""
    if len(rows) > 1 and conn.dialect.name == _POSTGRESQL:
        execute(conn, rows_insert.many, rows_insert.many_params(rows))
    elif len(rows) == 1:
        execute(conn, rows_insert.one, rows[0])
    else:
        execute_many(conn, rows_insert.one, rows)


def insert_many(conn: Connection, rows_insert: InsertRows, rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows``, each given as the values of ``rows_insert.columns`` in that order, in
    their order. SQLite: ``ROWS_A_STATEMENT`` rows to a statement of as many VALUES, handed to
    the driver as they are: each execution of a statement opens the table and its indexes again,
    which cost more than inserting a row does (300,000 rows of the first start at 100k users:
    0.23 s in statements of 50 rows against 0.48 s one by one). PostgreSQL: all in one statement
    (``InsertRows.many``)."""
    if not rows:
        return
    columns = rows_insert.columns
    if conn.dialect.name == _POSTGRESQL:
        execute(conn, rows_insert.many, rows_insert.rows.params_in_order(rows))
        return
    form = rows_insert.one.form(conn)
    if not (conn.dialect.name == _SQLITE and form.direct and form.names == tuple(columns)):
        execute_many(conn, rows_insert.one, [dict(zip(columns, row, strict=True)) for row in rows])
        return
    driver = _driver(conn)
    whole = len(rows) - len(rows) % ROWS_A_STATEMENT
    if whole:
        driver.executemany(
            _many_values(form.sql, ROWS_A_STATEMENT),
            [
                list(itertools.chain.from_iterable(rows[start : start + ROWS_A_STATEMENT]))
                for start in range(0, whole, ROWS_A_STATEMENT)
            ],
        )
    if whole < len(rows):
        rest = rows[whole:]
        driver.execute(_many_values(form.sql, len(rest)), list(itertools.chain.from_iterable(rest)))


ROWS_A_STATEMENT = 50  # 350 parameters for 7 columns: under SQLite's oldest limit of 999


@functools.lru_cache(maxsize=64)
def _many_values(sql: str, count: int) -> str:
    """The single-row INSERT ``sql`` (``... VALUES (?, ...)``) for ``count`` rows."""
    head, values_keyword, values = sql.rpartition(" VALUES ")
    if not values_keyword or not (values.startswith("(") and values.endswith(")")):
        raise ValueError(f"not a single-row INSERT: {sql}")
    return f"{head} VALUES {', '.join([values] * count)}"
