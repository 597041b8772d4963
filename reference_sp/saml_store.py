"""The SAML side's rows: AuthnRequests waiting for their answer (bound to the browser that
started them), assertion IDs already used (the replay cache), LogoutRequests waiting for their
answer, and the sessions an IdP's LogoutRequest ends. Every function takes the transaction's
connection and the time, so the caller decides both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from reference_sp import fastsql
from reference_sp.account_tables import authn_requests, logout_requests, replay_cache, sp_sessions
from reference_sp.fastsql import Prepared
from reference_sp.timeutil import iso

# Every sign-in runs these: prebuilt (see reference_sp.fastsql).
_PRUNE_AUTHN_REQUESTS = Prepared(
    delete(authn_requests).where(authn_requests.c.expires < bindparam("now"))
)
_INSERT_AUTHN_REQUEST = Prepared(
    insert(authn_requests),
    columns=["request_id", "browser_sha256", "org_pk", "relay_state", "expires"],
)
_PENDING_AUTHN_REQUEST = Prepared(
    select(
        authn_requests.c.request_id,
        authn_requests.c.browser_sha256,
        authn_requests.c.org_pk,
        authn_requests.c.relay_state,
        authn_requests.c.answered,
    ).where(
        authn_requests.c.request_id == bindparam("request_id"),
        authn_requests.c.expires >= bindparam("now"),
    )
)
# An UPDATE's parameters are not named after its table's columns (SQLAlchemy reserves those).
_ANSWER_AUTHN_REQUEST = Prepared(
    update(authn_requests)
    .where(
        authn_requests.c.request_id == bindparam("b_request_id"),
        authn_requests.c.answered.is_(None),
    )
    .values(answered=bindparam("now"))
)
_PRUNE_REPLAY_CACHE = Prepared(
    delete(replay_cache).where(replay_cache.c.expires < bindparam("now"))
)
_ASSERTION_SEEN = Prepared(
    select(func.count())
    .select_from(replay_cache)
    .where(
        replay_cache.c.issuer == bindparam("issuer"),
        replay_cache.c.assertion_id == bindparam("assertion_id"),
    )
)
_INSERT_ASSERTION = Prepared(insert(replay_cache), columns=["issuer", "assertion_id", "expires"])


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
    fastsql.execute(conn, _PRUNE_AUTHN_REQUESTS, {"now": iso(now)})
    fastsql.execute(
        conn,
        _INSERT_AUTHN_REQUEST,
        {
            "request_id": request.request_id,
            "browser_sha256": request.browser_sha256,
            "org_pk": request.org_pk,
            "relay_state": request.relay_state,
            "expires": iso(expires),
        },
    )


def pending_authn_request(
    conn: Connection, request_id: str, now: datetime
) -> PendingRequest | None:
    row = fastsql.fetch_one(
        conn, _PENDING_AUTHN_REQUEST, {"request_id": request_id[:64], "now": iso(now)}
    )
    return PendingRequest(*row) if row is not None else None


def answer_authn_request(conn: Connection, request_id: str, now: datetime) -> bool:
    """Mark the request answered; False when it already was (a second answer is a replay)."""
    answered = fastsql.execute(
        conn, _ANSWER_AUTHN_REQUEST, {"b_request_id": request_id, "now": iso(now)}
    )
    return bool(answered)


def first_use_of_assertion(
    conn: Connection, issuer: str, assertion_id: str, now: datetime, keep_until: datetime
) -> bool:
    """Record the assertion as used until ``keep_until``; False when it was used already."""
    fastsql.execute(conn, _PRUNE_REPLAY_CACHE, {"now": iso(now)})
    key = {"issuer": issuer, "assertion_id": assertion_id}
    if fastsql.fetch_all(conn, _ASSERTION_SEEN, key)[0][0]:
        return False
    fastsql.execute(conn, _INSERT_ASSERTION, {**key, "expires": iso(keep_until)})
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
