"""What the signed-in pages show: who I am (``/api/me``), my account (license, devices), and
for an admin the business account (users, seats, devices, audit trail)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harness.protocol.refusal import Refusal
from reference_sp.account_store import (
    accounts_of,
    devices_of_organisation,
    devices_of_user,
    open_sessions_by_user,
    recent_audit,
)
from reference_sp.db import Database
from reference_sp.identity import Identity, Me, NotSignedIn
from reference_sp.organisation import Organisation
from reference_sp.timeutil import iso


@dataclass(frozen=True)
class AccountPage:
    me: Me
    devices: list[Any]


@dataclass(frozen=True)
class AdminPage:
    me: Me
    data: dict[str, Any]  # also the JSON answer of GET /admin


class AccountPages:
    def __init__(self, db: Database, identity: Identity, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.identity = identity
        self.clock = clock

    def me(self, session_token: str | None) -> Me | None:
        with self.db.transaction() as conn:
            return self.identity.me(conn, session_token)

    def account(self, session_token: str | None) -> AccountPage:
        with self.db.transaction() as conn:
            me = self.identity.me(conn, session_token)
            if me is None:
                raise NotSignedIn()
            return AccountPage(me, devices_of_user(conn, me.session.user_id))

    def admin(self, session_token: str | None) -> AdminPage:
        """The business account, for a member of the organisation's admin group only."""
        with self.db.transaction() as conn:
            me = self.identity.me(conn, session_token)
            if me is None:
                raise NotSignedIn()
            organisation = me.organisation
            if not me.admin:
                raise Refusal(
                    "not-admin",
                    f"only members of {organisation.admin_group!r} administer this business "
                    "account",
                    "BIZ-ADMIN-1",
                    status=403,
                )
            org_pk = organisation.org_pk
            users = accounts_of(conn, org_pk)
            open_sessions = open_sessions_by_user(conn, org_pk, iso(self.clock()))
            devices = devices_of_organisation(conn, org_pk)
            audit = recent_audit(conn, org_pk)
        data = {
            "users": _users(users, open_sessions),
            "admins": [u.user_name for u in users if u.admin],
            "seats": _seats(users, organisation),
            "activations": _devices(devices),
            "audit": _audit(audit),
        }
        return AdminPage(me, data)


def _users(users: Sequence[Any], open_sessions: Counter[str]) -> list[dict[str, Any]]:
    return [
        {
            "userName": u.user_name,
            "active": bool(u.entitled),
            "admin": bool(u.admin),
            "license": u.license,
            "openSessions": open_sessions.get(u.user_id, 0),
        }
        for u in users
    ]


def _seats(users: Sequence[Any], organisation: Organisation) -> dict[str, Any]:
    waiting = sorted(
        (u for u in users if u.license == "waiting"), key=lambda u: (u.license_since, u.user_id)
    )
    return {
        "total": organisation.seats,
        "held": sum(1 for u in users if u.license == "held"),
        "waiting": [u.user_name for u in waiting],
    }


def _devices(devices: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "deviceId": d.device_id,
            "product": d.product,
            "clientVersion": d.client_version,
            "user": d.user_name,
            "status": d.status,
            "reason": d.reason,
        }
        for d in devices
    ]


def _audit(entries: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "seq": a.seq,
            "at": a.at,
            "actor": a.actor,
            "action": a.action,
            "user": a.user_name,
            "detail": json.loads(a.detail),
        }
        for a in entries
    ]
