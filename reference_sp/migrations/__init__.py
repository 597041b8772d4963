"""Schema migrations of the reference SP's store (Alembic), run when the SP starts.

``upgrade(engine)`` brings any database to the schema of this version:
- a database already at the head revision costs one query and nothing else;
- a new, empty database gets the whole schema of ``tables.py`` at once and is stamped at the head
  (Alembic's own advice for a new database: replaying every revision costs 40 ms, and the
  harness opens a fresh in-memory database per scenario); ``test_migrations`` checks that
  the revisions, replayed one by one, build the same schema;
- a database created by a release before migrations existed (the tables, no version table) is
  adopted at the baseline: the baseline creates only the tables it lacks, so its rows are kept,
  and the later revisions bring it to the head.

A change to ``tables.py`` or ``account_tables.py`` comes with a revision under ``versions/``
(``tests/reference_sp/test_migrations.py`` fails while the two differ).
"""

from __future__ import annotations

import functools

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

BASELINE = "0001_baseline"
HEAD = "0004_partial_resource_indexes"
VERSION_TABLE = "alembic_version"
# Held while a PostgreSQL database is migrated, so that two SPs starting on one database at
# once do not both create the tables (an arbitrary constant: "ssoh" in ASCII).
_PG_LOCK_KEY = 0x73736F68


def current_revision(conn: Connection) -> str | None:
    """The database's revision, None for a database that has no version table."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Bring the database to the head revision (nothing to do, and no Alembic loaded, at head)."""
    with engine.connect() as conn:
        at_head = current_revision(conn) == HEAD
        conn.rollback()
    if at_head:
        return
    if engine.dialect.name == "sqlite" and _create_if_empty(engine):
        return
    replay(engine)


def _create_if_empty(engine: Engine) -> bool:
    """On an SQLite database with no table at all, create the head schema and stamp it.
    (SQLite only: on PostgreSQL two SPs may start at once, and ``replay`` holds the lock.)"""
    with engine.begin() as conn:
        if inspect(conn).get_table_names():
            return False
        for statement in _sqlite_head_schema():
            conn.exec_driver_sql(statement)
        conn.execute(
            text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": HEAD}
        )
    return True


@functools.cache
def _sqlite_head_schema() -> tuple[str, ...]:
    """The head schema's CREATE statements, compiled once per process (compiling them is most
    of the 13 ms ``create_all`` takes), with Alembic's version table."""
    from reference_sp import account_tables  # noqa: F401  (its tables join the metadata)
    from reference_sp.tables import metadata

    dialect = sqlite.dialect()
    statements: list[str] = []
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        statements.extend(
            str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes
        )
    statements.append(
        f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
        f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"
    )
    return tuple(statements)


def replay(engine: Engine) -> None:
    """Run the revisions from the database's own to the head, in one transaction."""
    # Alembic is imported only when there is work to do: a start at head stays cheap.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "reference_sp:migrations")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            if current_revision(conn) == HEAD:  # another process migrated it meanwhile
                return
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


__all__ = ["BASELINE", "HEAD", "current_revision", "replay", "upgrade"]
