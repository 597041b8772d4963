"""Organisations remember the rules they were last reconciled under
(``organizations.rules_fingerprint``), and pending activations are found by an index
(``ix_activations_pending``).

A database made by a development version between the two releases may have either already:
each is added only where it is missing.

Revision ID: 0002_rules_fingerprint
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rules_fingerprint"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "rules_fingerprint" not in {c["name"] for c in inspector.get_columns("organizations")}:
        op.add_column("organizations", sa.Column("rules_fingerprint", sa.String(64)))
    if "ix_activations_pending" not in {i["name"] for i in inspector.get_indexes("activations")}:
        op.create_index("ix_activations_pending", "activations", ["status", "expires"])


def downgrade() -> None:
    op.drop_index("ix_activations_pending", table_name="activations")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("rules_fingerprint")
