"""What the account and admin pages read: a user's SCIM document, the organisation's accounts,
open sessions, devices and audit trail."""

from __future__ import annotations

import json
from collections import Counter, namedtuple
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select

from reference_sp import fastsql
from reference_sp.account_tables import account_users, activations, audit_log, sp_sessions
from reference_sp.fastsql import Prepared
from reference_sp.tables import resources

AUDIT_SHOWN = 200  # the newest entries the admin page lists
_USER_DOC = Prepared(select(resources.c.doc).where(resources.c.id == bindparam("id")))


def user_doc(conn: Connection, user_id: str) -> dict[str, Any]:
    """The user's SCIM document as stored, or {} when it is gone."""
    row = fastsql.fetch_one(conn, _USER_DOC, {"id": user_id})
    return json.loads(row[0]) if row is not None and row[0] else {}


def _rows(table: Table) -> Callable[..., Any]:
    """A row of ``table`` with its columns by name, as the pages read them."""
    return namedtuple(f"{table.name}_row", table.c.keys())


_AccountRow, _DeviceRow, _AuditRow = _rows(account_users), _rows(activations), _rows(audit_log)
# The admin page runs these on every view (the lifecycle suite reads it after every step).
_DEVICES_OF_USER = Prepared(
    select(activations)
    .where(activations.c.user_id == bindparam("user_id"))
    .order_by(activations.c.created.desc())
)
_DEVICES_OF_ORGANISATION = Prepared(
    select(activations)
    .where(activations.c.org_pk == bindparam("org_pk"))
    .order_by(activations.c.created.desc())
)
_ACCOUNTS = Prepared(
    select(account_users)
    .where(account_users.c.org_pk == bindparam("org_pk"))
    .order_by(account_users.c.user_name)
)
_OPEN_SESSION_USERS = Prepared(
    select(sp_sessions.c.user_id).where(
        sp_sessions.c.org_pk == bindparam("org_pk"),
        sp_sessions.c.ended.is_(None),
        sp_sessions.c.expires > bindparam("now"),
    )
)
_RECENT_AUDIT = Prepared(
    select(audit_log)
    .where(audit_log.c.org_pk == bindparam("org_pk"))
    .order_by(audit_log.c.seq.desc())
    .limit(AUDIT_SHOWN)
)


def devices_of_user(conn: Connection, user_id: str) -> list[Any]:
    rows = fastsql.fetch_all(conn, _DEVICES_OF_USER, {"user_id": user_id})
    return [_DeviceRow(*row) for row in rows]


def devices_of_organisation(conn: Connection, org_pk: int) -> list[Any]:
    rows = fastsql.fetch_all(conn, _DEVICES_OF_ORGANISATION, {"org_pk": org_pk})
    return [_DeviceRow(*row) for row in rows]


def accounts_of(conn: Connection, org_pk: int) -> list[Any]:
    return [_AccountRow(*row) for row in fastsql.fetch_all(conn, _ACCOUNTS, {"org_pk": org_pk})]


def open_sessions_by_user(conn: Connection, org_pk: int, now: str) -> Counter[str]:
    """How many open sessions each user of the organisation holds."""
    rows = fastsql.fetch_all(conn, _OPEN_SESSION_USERS, {"org_pk": org_pk, "now": now})
    return Counter(user_id for (user_id,) in rows)


def recent_audit(conn: Connection, org_pk: int) -> list[Any]:
    return [_AuditRow(*row) for row in fastsql.fetch_all(conn, _RECENT_AUDIT, {"org_pk": org_pk})]


def prune_audit(conn: Connection, org_pk: int, actor: str, action: str, keep: int) -> None:
    """Keep only the newest ``keep`` entries of ``actor`` and ``action`` in the organisation's
    audit trail: for entries anyone can cause with a request, so none grows without bound."""
    of_kind = (
        audit_log.c.org_pk == org_pk,
        audit_log.c.actor == actor,
        audit_log.c.action == action,
    )
    oldest_kept = (
        select(audit_log.c.seq)
        .where(*of_kind)
        .order_by(audit_log.c.seq.desc())
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )
    conn.execute(delete(audit_log).where(*of_kind, audit_log.c.seq < oldest_kept))
