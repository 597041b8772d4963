"""Prebuilt statements run on SQLite's driver directly.

SQLAlchemy's execution path (context, events, parameter processing, result wrapping) costs about
0.1 ms a statement, more than SQLite takes to run an indexed one; a SCIM request runs six or
seven. A ``Prepared`` statement is compiled once and then, on SQLite, handed straight to the
sqlite3 cursor of the connection already in the transaction. Other databases take the ordinary
path: the same statement, the same results as plain tuples.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError as SQLAlchemyIntegrityError
from sqlalchemy.sql import Executable

# What a unique index refusing a row raises, on either path.
IntegrityErrors = (SQLAlchemyIntegrityError, sqlite3.IntegrityError)


class Prepared:
    """A statement compiled once for SQLite; ``columns`` names an INSERT's columns."""

    def __init__(self, statement: Executable, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.columns = list(columns) if columns is not None else None
        self._sqlite: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    def sqlite_form(self, conn: Connection) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """(SQL, the parameter names in order, the values of the statement's own literals)."""
        if self._sqlite is None:
            compiled = self.statement.compile(  # type: ignore[attr-defined]
                dialect=conn.dialect, column_keys=self.columns
            )
            self._sqlite = (str(compiled), tuple(compiled.positiontup or ()), compiled.params)
        return self._sqlite

    def direct(self, conn: Connection) -> bool:
        """Whether this statement runs on the driver directly: SQLite, and no parameter
        (an expanding IN list) that SQLAlchemy must render per execution."""
        return conn.dialect.name == "sqlite" and "POSTCOMPILE" not in self.sqlite_form(conn)[0]

    def arguments(self, conn: Connection, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        sql, names, literals = self.sqlite_form(conn)
        return sql, [params[n] if n in params else literals[n] for n in names]


def _cursor(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def fetch_all(conn: Connection, prepared: Prepared, params: Mapping[str, Any]) -> list[Any]:
    if not prepared.direct(conn):
        return list(conn.execute(prepared.statement, dict(params)).all())
    sql, arguments = prepared.arguments(conn, params)
    return list(_cursor(conn).execute(sql, arguments).fetchall())


def fetch_one(conn: Connection, prepared: Prepared, params: Mapping[str, Any]) -> Any | None:
    rows = fetch_all(conn, prepared, params)
    return rows[0] if rows else None


def insert(conn: Connection, prepared: Prepared, params: Mapping[str, Any]) -> int:
    """Run an INSERT and return the new row's integer primary key."""
    if not prepared.direct(conn):
        key = conn.execute(prepared.statement, dict(params)).inserted_primary_key
        if key is None:
            raise RuntimeError("the INSERT returned no primary key")
        return int(key[0])
    sql, arguments = prepared.arguments(conn, params)
    cursor = _cursor(conn)
    cursor.execute(sql, arguments)
    return int(cursor.lastrowid)


def execute(conn: Connection, prepared: Prepared, params: Mapping[str, Any]) -> None:
    if not prepared.direct(conn):
        conn.execute(prepared.statement, dict(params))
        return
    sql, arguments = prepared.arguments(conn, params)
    _cursor(conn).execute(sql, arguments)


def execute_many(conn: Connection, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    if not prepared.direct(conn):
        conn.execute(prepared.statement, [dict(r) for r in rows])
        return
    sql, names, _ = prepared.sqlite_form(conn)
    _cursor(conn).executemany(sql, [[r[n] for n in names] for r in rows])
