"""Schema migrations of the reference SP's store (Alembic), run when the SP starts.

``upgrade(engine)`` brings any database to the schema of this version:
- a database already at the head revision costs one query and nothing else;
- a new database gets the whole schema, revision by revision;
- a database created by a release before migrations existed (the tables, no version table) is
  adopted at the baseline: the baseline creates only the tables it lacks, so its rows are kept,
  and the later revisions bring it to the head.

A change to ``tables.py`` or ``account_tables.py`` comes with a revision under ``versions/``
(``tests/reference_sp/test_migrations.py`` fails while the two differ).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, inspect, text

BASELINE = "0001_baseline"
HEAD = "0003_authn_requests_expires"
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


__all__ = ["BASELINE", "HEAD", "current_revision", "upgrade"]
