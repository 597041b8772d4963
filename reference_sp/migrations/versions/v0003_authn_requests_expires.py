"""Expired AuthnRequests are found by an index (``ix_authn_requests_expires``): every
SP-initiated sign-in deletes the expired ones, which without it scans every request of the
last ten minutes.

Revision ID: 0003_authn_requests_expires
Revises: 0002_rules_fingerprint
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_authn_requests_expires"
down_revision = "0002_rules_fingerprint"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made by a development version before any version table may have it already.
    present = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("authn_requests")}
    if "ix_authn_requests_expires" not in present:
        op.create_index("ix_authn_requests_expires", "authn_requests", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_authn_requests_expires", table_name="authn_requests")
