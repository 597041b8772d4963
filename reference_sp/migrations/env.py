"""Alembic's environment: migrations run on the connection ``upgrade()`` hands over (inside
its transaction), never on a URL of their own."""

from __future__ import annotations

from alembic import context

from reference_sp import account_tables  # noqa: F401  (its tables join the shared metadata)
from reference_sp.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
