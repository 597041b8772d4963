"""The indexes on ``resources.external_id`` and ``display_name_ci`` hold only the rows that have
a value (partial indexes, ``IS NOT NULL``): users have no display name and most have no
externalId, so every user created wrote index entries nobody looks up (a filter on either
column compares it with a value, which implies it is not null, so both databases still use them).

Revision ID: 0004_partial_resource_indexes
Revises: 0003_authn_requests_expires
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_partial_resource_indexes"
down_revision = "0003_authn_requests_expires"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_resources_org_type_external_id", "external_id"),
    ("ix_resources_org_type_display_name", "display_name_ci"),
)


def upgrade() -> None:
    present = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("resources")}
    for name, column in _INDEXES:
        if name in present:
            op.drop_index(name, table_name="resources")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            name,
            "resources",
            ["org_pk", "rtype", column],
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for name, column in _INDEXES:
        op.drop_index(name, table_name="resources")
        op.create_index(name, "resources", ["org_pk", "rtype", column])
