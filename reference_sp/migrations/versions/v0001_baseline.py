"""Baseline: the store's schema as the release before migrations created it (no
``organizations.rules_fingerprint``, no ``ix_activations_pending``).

The tables are frozen here as that release defined them; later changes are later revisions.
``create_all`` creates only the tables a database lacks: a database that release created is
adopted with its rows as they are.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

metadata = MetaData()

organizations = Table(
    "organizations",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    # sha256 of the SCIM bearer token: the token itself is never stored.
    Column("scim_token_sha256", String(64), nullable=False, unique=True),
)

resources = Table(
    "resources",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("org_pk", Integer, ForeignKey("organizations.pk"), nullable=False),
    Column("rtype", String(16), nullable=False),
    Column("id", String(64), nullable=False, unique=True),
    Column("external_id", Text),
    Column("user_name_ci", Text),  # users only: lower-cased userName, unique per organisation
    Column("display_name", Text),  # groups only: displayName as given (for users' groups)
    Column("display_name_ci", Text),  # groups only: lower-cased displayName
    Column("doc", Text, nullable=False),  # JSON, without meta, members or groups
    Column("version", Integer, nullable=False),
    Column("created", String(32), nullable=False),  # fixed-width ISO 8601 UTC: sorts as text
    Column("last_modified", String(32), nullable=False),
    UniqueConstraint("org_pk", "user_name_ci", name="uq_resources_org_user_name"),
    Index("ix_resources_org_type_pk", "org_pk", "rtype", "pk"),
    Index("ix_resources_org_type_external_id", "org_pk", "rtype", "external_id"),
    Index("ix_resources_org_type_display_name", "org_pk", "rtype", "display_name_ci"),
)

attribute_values = Table(
    "attribute_values",
    metadata,
    Column("resource_pk", Integer, ForeignKey("resources.pk", ondelete="CASCADE"), nullable=False),
    Column("attr", String(200), nullable=False),  # canonical, URN-qualified for extensions
    Column("elem", Integer, nullable=False),  # element index of a multi-valued attribute
    Column("sub", String(100), nullable=False),  # sub-attribute, "" for a simple attribute
    Column("v_exact", Text),  # strings, references, dateTimes (normalised), booleans
    Column("v_ci", Text),  # lower-cased string for case-insensitive comparison
    Column("v_num", Float),  # integers and decimals
    # Lookups by value (emails, employeeNumber, ...) use ix_values_ci; every other filter on
    # these rows is reached per resource through ix_values_resource. An index per value column
    # would cost every write and serve filters (booleans, dates) too unselective to use it.
    Index("ix_values_resource", "resource_pk", "attr", "sub"),
    Index("ix_values_ci", "attr", "sub", "v_ci"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("group_pk", Integer, ForeignKey("resources.pk", ondelete="CASCADE"), nullable=False),
    Column("member_pk", Integer, ForeignKey("resources.pk", ondelete="CASCADE"), nullable=False),
    Column("display", Text),
    UniqueConstraint("group_pk", "member_pk", name="uq_memberships"),
    Index("ix_memberships_member", "member_pk"),
)

scim_journal = Table(
    "scim_journal",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("org_pk", Integer, nullable=True),  # null when the token matched no organisation
    Column("at", String(32), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("request_headers", Text, nullable=False),  # JSON, Authorization redacted
    Column("request_body", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("deviations", Text, nullable=False),  # JSON list of Deviation
    Column("duration_ms", Float, nullable=False),
    Index("ix_journal_org_seq", "org_pk", "seq"),
)

# The account's view of each provisioned user, kept by the SCIM listener. It is the "before"
# the listener compares with the store's new state to find what changed (admin granted,
# license returned...).
account_users = Table(
    "account_users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("org_pk", Integer, ForeignKey("organizations.pk"), nullable=False),
    Column("user_name", Text, nullable=False),
    Column("entitled", Boolean, nullable=False),  # active (and assigned): may sign in
    Column("admin", Boolean, nullable=False),
    Column("license", String(16), nullable=False),  # "held", "waiting" or "none"
    Column("license_since", String(32)),  # when held or queued: the waiting list's order
    Index("ix_account_users_org_license", "org_pk", "license", "license_since"),
)

sp_sessions = Table(
    "sp_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),  # the cookie's token is not stored
    Column("org_pk", Integer, ForeignKey("organizations.pk"), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("user_name", Text, nullable=False),
    Column("name_id", Text, nullable=False),
    Column("name_id_format", Text),
    Column("session_index", Text),
    Column("roles_at_sign_in", Text, nullable=False),  # JSON list
    Column("csrf", String(64), nullable=False),
    Column("created", String(32), nullable=False),
    Column("expires", String(32), nullable=False),
    Column("ended", String(32)),
    Column("ended_reason", String(64)),
    Index("ix_sp_sessions_user", "user_id"),
)

# AuthnRequests sent and not yet answered, bound to the browser that started them.
authn_requests = Table(
    "authn_requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("browser_sha256", String(64), nullable=False),
    Column("org_pk", Integer, ForeignKey("organizations.pk"), nullable=False),
    Column("relay_state", Text),
    Column("expires", String(32), nullable=False),
    Column("answered", String(32)),  # kept until expiry: a second answer is a replay
)

logout_requests = Table(
    "logout_requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("org_pk", Integer, ForeignKey("organizations.pk"), nullable=False),
    Column("expires", String(32), nullable=False),
)

# Assertion IDs seen, until their NotOnOrAfter (Profiles 4.1.4.5).
replay_cache = Table(
    "replay_cache",
    metadata,
    Column("issuer", String(500), primary_key=True),
    Column("assertion_id", String(200), primary_key=True),
    Column("expires", String(32), nullable=False),
    Index("ix_replay_cache_expires", "expires"),
)

activations = Table(
    "activations",
    metadata,
    Column("id", String(64), primary_key=True),  # the device's check-in handle
    Column("code", String(64), nullable=False, unique=True),  # in the browser's completion URL
    Column("org_pk", Integer, ForeignKey("organizations.pk")),  # known once completed
    Column("product", Text, nullable=False),
    Column("client_version", String(64), nullable=False),
    Column("device_id", Text, nullable=False),
    Column("device_name", Text),
    Column("status", String(16), nullable=False),  # pending, active, revoked
    Column("user_id", String(64)),
    Column("user_name", Text),
    Column("created", String(32), nullable=False),
    Column("expires", String(32), nullable=False),  # pending activations expire
    Column("completed", String(32)),
    Column("ended", String(32)),
    Column("reason", String(64)),
    Index("ix_activations_user", "user_id", "status"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("org_pk", Integer, ForeignKey("organizations.pk"), nullable=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(200), nullable=False),  # "scim", "sso", or the admin's userName
    Column("action", String(64), nullable=False),
    Column("user_id", String(64)),
    Column("user_name", Text),
    Column("detail", Text, nullable=False),
    Index("ix_audit_org_seq", "org_pk", "seq"),
)


def upgrade() -> None:
    metadata.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
