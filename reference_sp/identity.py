"""Who is signed in: the session of the cookie, read with the account's current standing (admin
now, license now: a change over SCIM counts at once, not at the next sign-in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from harness.protocol.refusal import Refusal
from reference_sp.account_store import user_doc
from reference_sp.accounts import Accounts
from reference_sp.organisation import Organisation
from reference_sp.organisation_routing import OrganisationRouting
from reference_sp.sessions import Session, Sessions

MAX_SESSIONS_REMEMBERED = 10_000  # the flaw sessions-last-one-request only


class NotSignedIn(Refusal):
    """No open session: pages send the browser to sign in, the API answers 401."""

    status = 401

    def __init__(self) -> None:
        super().__init__("not-signed-in", "sign in with SSO first", "BIZ-SESSION-1")


@dataclass
class Me:
    session: Session
    organisation: Organisation
    user_name: str
    email: str
    admin: bool
    license: dict[str, Any]
    roles: list[str] = field(default_factory=list)

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def to_json(self) -> dict[str, Any]:
        return {
            "userName": self.user_name,
            "email": self.email,
            "organization": self.organisation.name,  # the wire name (CONTRACT: /api/me)
            "roles": self.roles,
            "license": self.license,
        }


def _email(doc: dict[str, Any], fallback: str) -> str:
    emails = [e for e in doc.get("emails", []) if isinstance(e, dict) and e.get("value")]
    primary = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
    return str(primary["value"]) if primary else fallback


class Identity:
    def __init__(
        self,
        organisations: OrganisationRouting,
        accounts: Accounts,
        sessions: Sessions,
        flaws: frozenset[str],
    ) -> None:
        self.organisations = organisations
        self.accounts = accounts
        self.sessions = sessions
        self.flaws = flaws
        self._sessions_seen: set[str] = set()

    def me(self, conn: Connection, session_token: str | None) -> Me | None:
        """The signed-in user of the session cookie's token, or None."""
        session = self.sessions.by_token(conn, session_token) if session_token else None
        if session is None or self._lost(session):
            return None
        organisation = self.organisations.get(session.org_pk)
        if organisation is None:
            return None
        account = self.accounts.account(conn, session.user_id)
        if "admin-by-stale-group" in self.flaws:
            admin = "admin" in session.roles_at_sign_in
        else:
            admin = bool(account is not None and account.entitled and account.admin)
        doc = user_doc(conn, session.user_id)
        return Me(
            session=session,
            organisation=organisation,
            user_name=str(doc.get("userName", session.user_name)),
            email=_email(doc, session.user_name),
            admin=admin,
            license=self._license(conn, organisation, session.user_id, account),
            roles=["user", "admin"] if admin else ["user"],
        )

    def _lost(self, session: Session) -> bool:
        """The flaw sessions-last-one-request: a session answers its first request only."""
        if "sessions-last-one-request" not in self.flaws:
            return False
        if session.token_sha256 in self._sessions_seen:
            return True
        if len(self._sessions_seen) > MAX_SESSIONS_REMEMBERED:
            self._sessions_seen.clear()
        self._sessions_seen.add(session.token_sha256)
        return False

    def _license(
        self, conn: Connection, organisation: Organisation, user_id: str, account: Any
    ) -> dict[str, Any]:
        state = str(account.license) if account is not None else "none"
        license_info: dict[str, Any] = {
            "state": state,
            "product": organisation.product,
            "subscription": organisation.subscription,
            "seats": organisation.seats,
            "seatsHeld": self.accounts.seats_held(conn, organisation.org_pk),
        }
        if state == "waiting":
            license_info["waitingPosition"] = self.accounts.waiting_position(
                conn, organisation.org_pk, user_id
            )
        return license_info
