"""Tables of the sign-in side and the business-account rules, on the same ``metadata`` as the
SCIM store; ``migrations`` creates them (a change here needs a revision there).

Nothing here references ``resources`` by foreign key: a SCIM DELETE removes the user's
resource, while the audit log, revoked activations and ended sessions must outlive it. Users
are referred to by their SCIM ``id`` (a UUID, unique across organisations).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from reference_sp.tables import metadata

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
    Index("ix_authn_requests_expires", "expires"),  # each sign-in deletes the expired ones
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
    Index("ix_activations_pending", "status", "expires"),  # pruning and counting pending ones
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
