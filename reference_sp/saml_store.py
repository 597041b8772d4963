"""The SAML side's rows: AuthnRequests waiting for their answer (bound to the browser that
started them), assertion IDs already used (the replay cache), LogoutRequests waiting for their
answer, and the sessions an IdP's LogoutRequest ends. Every function takes the transaction's
connection and the time, so the caller decides both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from reference_sp.account_tables import authn_requests, logout_requests, replay_cache, sp_sessions
from reference_sp.timeutil import iso


@dataclass(frozen=True)
class PendingRequest:
    """An AuthnRequest of ours that has not expired (``answered`` says whether it was used)."""

    request_id: str
    browser_sha256: str
    org_pk: int
    relay_state: str | None
    answered: str | None


def remember_authn_request(
    conn: Connection,
    request: PendingRequest,
    now: datetime,
    expires: datetime,
) -> None:
    conn.execute(delete(authn_requests).where(authn_requests.c.expires < iso(now)))
    conn.execute(
        insert(authn_requests).values(
            request_id=request.request_id,
            browser_sha256=request.browser_sha256,
            org_pk=request.org_pk,
            relay_state=request.relay_state,
            expires=iso(expires),
        )
    )


def pending_authn_request(
    conn: Connection, request_id: str, now: datetime
) -> PendingRequest | None:
    row = conn.execute(
        select(authn_requests).where(
            authn_requests.c.request_id == request_id[:64],
            authn_requests.c.expires >= iso(now),
        )
    ).first()
    if row is None:
        return None
    return PendingRequest(
        row.request_id, row.browser_sha256, row.org_pk, row.relay_state, row.answered
    )


def answer_authn_request(conn: Connection, request_id: str, now: datetime) -> bool:
    """Mark the request answered; False when it already was (a second answer is a replay)."""
    answered = conn.execute(
        update(authn_requests)
        .where(authn_requests.c.request_id == request_id, authn_requests.c.answered.is_(None))
        .values(answered=iso(now))
    ).rowcount
    return bool(answered)


def first_use_of_assertion(
    conn: Connection, issuer: str, assertion_id: str, now: datetime, keep_until: datetime
) -> bool:
    """Record the assertion as used until ``keep_until``; False when it was used already."""
    conn.execute(delete(replay_cache).where(replay_cache.c.expires < iso(now)))
    seen = conn.execute(
        select(func.count())
        .select_from(replay_cache)
        .where(replay_cache.c.issuer == issuer, replay_cache.c.assertion_id == assertion_id)
    ).scalar_one()
    if seen:
        return False
    conn.execute(
        insert(replay_cache).values(
            issuer=issuer, assertion_id=assertion_id, expires=iso(keep_until)
        )
    )
    return True


def remember_logout_request(
    conn: Connection, request_id: str, org_pk: int, now: datetime, expires: datetime
) -> None:
    conn.execute(delete(logout_requests).where(logout_requests.c.expires < iso(now)))
    conn.execute(
        insert(logout_requests).values(request_id=request_id, org_pk=org_pk, expires=iso(expires))
    )


def take_logout_request(conn: Connection, request_id: str, org_pk: int) -> bool:
    """Forget the organisation's LogoutRequest; False when there was none to answer."""
    gone = conn.execute(
        delete(logout_requests).where(
            logout_requests.c.request_id == request_id, logout_requests.c.org_pk == org_pk
        )
    ).rowcount
    return bool(gone)


def end_sessions_of(
    conn: Connection,
    org_pk: int,
    name_id: str,
    session_indexes: Sequence[str],
    now: datetime,
    reason: str,
) -> int:
    """End the open sessions of the NameID (any case), only those of the IdP sessions named
    when ``session_indexes`` are given; the number ended."""
    where = [
        sp_sessions.c.org_pk == org_pk,
        func.lower(sp_sessions.c.name_id) == name_id.lower(),
        sp_sessions.c.ended.is_(None),
    ]
    if session_indexes:
        where.append(sp_sessions.c.session_index.in_(session_indexes))
    ended = conn.execute(
        update(sp_sessions).where(*where).values(ended=iso(now), ended_reason=reason)
    ).rowcount
    return int(ended)
