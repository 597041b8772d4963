"""How many rows a prebuilt UPDATE or DELETE changed, on the same two paths as
``reference_sp.fastsql`` (SQLite's driver directly, else SQLAlchemy): what a one-time use
(an AuthnRequest answered once) is decided by."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from reference_sp.fastsql import Prepared


def changed_rows(conn: Connection, prepared: Prepared, params: Mapping[str, Any]) -> int:
    if not prepared.direct(conn):
        return int(conn.execute(prepared.statement, dict(params)).rowcount)
    sql, arguments = prepared.arguments(conn, params)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    return int(cursor.execute(sql, arguments).rowcount)
