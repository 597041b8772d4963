"""Browser sessions: a random token in a signed, HttpOnly, SameSite cookie; the session itself
lives server-side (``sp_sessions``, keyed by the token's SHA-256) so it can be ended at once,
from SLO, sign-out or a SCIM deprovisioning. Each session carries its CSRF token.

The browser cookie (``sp_browser``) binds AuthnRequest IDs to the browser that started them
(login CSRF, check C07): it must reach the ACS on the IdP's cross-site POST, so on HTTPS it is
``SameSite=None; Secure``; on plain HTTP (loopback) it is ``Lax``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, Signer
from sqlalchemy import Connection, bindparam, insert, select, update
from starlette.requests import Request
from starlette.responses import Response

from reference_sp import fastsql
from reference_sp.account_tables import sp_sessions
from reference_sp.fastsql import Prepared
from reference_sp.timeutil import iso

SESSION_COOKIE = "sp_session"
BROWSER_COOKIE = "sp_browser"
SESSION_LIFETIME = timedelta(hours=8)

# What every signed-in request and every sign-in runs: prebuilt (see reference_sp.fastsql).
# The columns a Session is read from, in the order of its fields.
_SESSION_COLUMNS = (
    "token_sha256",
    "org_pk",
    "user_id",
    "user_name",
    "name_id",
    "name_id_format",
    "session_index",
    "roles_at_sign_in",
    "csrf",
    "expires",
)
_INSERT_SESSION = Prepared(insert(sp_sessions), columns=[*_SESSION_COLUMNS, "created"])
_OPEN_SESSION = Prepared(
    select(*(sp_sessions.c[name] for name in _SESSION_COLUMNS)).where(
        sp_sessions.c.token_sha256 == bindparam("token_sha256"),
        sp_sessions.c.ended.is_(None),
        sp_sessions.c.expires > bindparam("now"),
    )
)
# An UPDATE's parameters are not named after its table's columns (SQLAlchemy reserves those).
_END_SESSION = Prepared(
    update(sp_sessions)
    .where(sp_sessions.c.token_sha256 == bindparam("b_token"), sp_sessions.c.ended.is_(None))
    .values(ended=bindparam("now"), ended_reason=bindparam("reason"))
)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Session:
    token_sha256: str
    org_pk: int
    user_id: str
    user_name: str
    name_id: str
    name_id_format: str | None
    session_index: str | None
    roles_at_sign_in: tuple[str, ...]
    csrf: str
    expires: str


class Sessions:
    def __init__(self, secret: bytes, clock: Callable[[], datetime], secure: bool) -> None:
        self._session_signer = Signer(secret, salt="sp-session")
        self._browser_signer = Signer(secret, salt="sp-browser")
        self.clock = clock
        self.secure = secure

    # -------------------------------------------------------------------------- cookies

    def _read(self, signer: Signer, request: Request, name: str) -> str | None:
        raw = request.cookies.get(name)
        if not raw or len(raw) > 512:
            return None
        try:
            return signer.unsign(raw.encode("ascii", "replace")).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            return None

    def browser_id(self, request: Request) -> str | None:
        return self._read(self._browser_signer, request, BROWSER_COOKIE)

    def browser(self, request: Request) -> tuple[str, bool]:
        """This browser's id, and whether it is new (then give it with set_browser_cookie)."""
        browser = self.browser_id(request)
        if browser is None:
            return secrets.token_urlsafe(24), True
        return browser, False

    def set_browser_cookie(self, response: Response, browser: str) -> None:
        response.set_cookie(
            BROWSER_COOKIE,
            self._browser_signer.sign(browser).decode("ascii"),
            httponly=True,
            secure=self.secure,
            samesite="none" if self.secure else "lax",
            path="/",
        )

    def session_token(self, request: Request) -> str | None:
        """The token of the session cookie, when it carries a valid signature."""
        return self._read(self._session_signer, request, SESSION_COOKIE)

    def set_session_cookie(self, response: Response, token: str, max_age: int) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self._session_signer.sign(token).decode("ascii"),
            max_age=max(1, max_age),
            httponly=True,
            secure=self.secure,
            samesite="lax",
            path="/",
        )

    @staticmethod
    def clear_session_cookie(response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")

    # --------------------------------------------------------------------------- store

    def create(
        self,
        conn: Connection,
        *,
        org_pk: int,
        user_id: str,
        user_name: str,
        name_id: str,
        name_id_format: str | None,
        session_index: str | None,
        roles: list[str],
        not_on_or_after: datetime | None,
    ) -> tuple[str, int]:
        """A new session; returns the cookie token and its lifetime in seconds."""
        now = self.clock()
        expires = now + SESSION_LIFETIME
        if not_on_or_after is not None:
            expires = min(expires, not_on_or_after)
        token = secrets.token_urlsafe(32)
        fastsql.execute(
            conn,
            _INSERT_SESSION,
            {
                "token_sha256": digest(token),
                "org_pk": org_pk,
                "user_id": user_id,
                "user_name": user_name,
                "name_id": name_id,
                "name_id_format": name_id_format,
                "session_index": session_index,
                "roles_at_sign_in": json.dumps(roles),
                "csrf": secrets.token_urlsafe(24),
                "created": iso(now),
                "expires": iso(expires),
            },
        )
        return token, int((expires - now).total_seconds())

    def by_token(self, conn: Connection, token: str) -> Session | None:
        """The open session of the cookie token (not ended, not expired)."""
        row = fastsql.fetch_one(
            conn, _OPEN_SESSION, {"token_sha256": digest(token), "now": iso(self.clock())}
        )
        return _session(row) if row is not None else None

    def end(self, conn: Connection, token_sha256: str, reason: str) -> None:
        fastsql.execute(
            conn,
            _END_SESSION,
            {"b_token": token_sha256, "now": iso(self.clock()), "reason": reason},
        )

    def open_sessions(self, conn: Connection, user_id: str) -> int:
        rows = conn.execute(
            select(sp_sessions.c.token_sha256).where(
                sp_sessions.c.user_id == user_id,
                sp_sessions.c.ended.is_(None),
                sp_sessions.c.expires > iso(self.clock()),
            )
        ).all()
        return len(rows)


def _session(row: Any) -> Session:
    """The session of a row of ``_OPEN_SESSION`` (its columns in Session's order)."""
    token_sha256, org_pk, user_id, user_name, name_id, name_id_format, session_index = row[:7]
    roles, csrf, expires = row[7:]
    return Session(
        token_sha256,
        org_pk,
        user_id,
        user_name,
        name_id,
        name_id_format,
        session_index,
        tuple(json.loads(roles)),
        csrf,
        expires,
    )
