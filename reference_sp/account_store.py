"""What the account and admin pages read: a user's SCIM document, the organisation's accounts,
open sessions, devices and audit trail."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, select

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


def devices_of_user(conn: Connection, user_id: str) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(activations)
            .where(activations.c.user_id == user_id)
            .order_by(activations.c.created.desc())
        ).all()
    )


def devices_of_organisation(conn: Connection, org_pk: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(activations)
            .where(activations.c.org_pk == org_pk)
            .order_by(activations.c.created.desc())
        ).all()
    )


def accounts_of(conn: Connection, org_pk: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(account_users)
            .where(account_users.c.org_pk == org_pk)
            .order_by(account_users.c.user_name)
        ).all()
    )


def open_sessions_by_user(conn: Connection, org_pk: int, now: str) -> Counter[str]:
    """How many open sessions each user of the organisation holds."""
    rows = conn.execute(
        select(sp_sessions.c.user_id).where(
            sp_sessions.c.org_pk == org_pk,
            sp_sessions.c.ended.is_(None),
            sp_sessions.c.expires > now,
        )
    )
    return Counter(user_id for (user_id,) in rows)


def recent_audit(conn: Connection, org_pk: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(audit_log)
            .where(audit_log.c.org_pk == org_pk)
            .order_by(audit_log.c.seq.desc())
            .limit(AUDIT_SHOWN)
        ).all()
    )


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
