"""Table definitions (SQLAlchemy Core). One schema for SQLite and PostgreSQL.

A SCIM resource is one ``resources`` row holding its document as JSON, plus:
- dedicated, indexed columns for the lookups IdPs make on every cycle (userName without regard
  to case, externalId, group displayName) and for meta times;
- ``attribute_values``: one row per (attribute, element, sub-attribute) value, so any filter
  compiles to indexed SQL instead of being evaluated row by row in Python;
- ``memberships``: group members as rows, so adding a member is an INSERT (no lost update under
  concurrent PATCHes) and a user's ``groups`` is one indexed query.
"""

from __future__ import annotations

from sqlalchemy import (
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
    text,
)

metadata = MetaData()

organizations = Table(
    "organizations",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    # sha256 of the SCIM bearer token: the token itself is never stored.
    Column("scim_token_sha256", String(64), nullable=False, unique=True),
    # what the business rules were last reconciled under (admin group, seats, ...): a restart
    # with the same settings need not walk every user again
    Column("rules_fingerprint", String(64), nullable=True),
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
    # Partial: only rows with a value (users have no display name, most no externalId), so a
    # create writes no index entry nobody looks up; a filter comparing the column with a value
    # implies it is not null and still uses them (migration 0004).
    Index(
        "ix_resources_org_type_external_id",
        "org_pk",
        "rtype",
        "external_id",
        sqlite_where=text("external_id IS NOT NULL"),
        postgresql_where=text("external_id IS NOT NULL"),
    ),
    Index(
        "ix_resources_org_type_display_name",
        "org_pk",
        "rtype",
        "display_name_ci",
        sqlite_where=text("display_name_ci IS NOT NULL"),
        postgresql_where=text("display_name_ci IS NOT NULL"),
    ),
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

__all__ = [
    "attribute_values",
    "memberships",
    "metadata",
    "organizations",
    "resources",
    "scim_journal",
]
