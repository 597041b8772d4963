"""A user losing access: their sessions ended. On PostgreSQL their active devices revoked in the
same statement (two data-modifying CTEs), one round trip instead of an update, a read and an
update per device. SQLite has no data-modifying CTE: reference_sp.accounts revokes the devices
one by one there, and on PostgreSQL when a flaw keeps the sessions or the devices."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, literal_column, select, true, update

from reference_sp import fastsql
from reference_sp.account_tables import activations, sp_sessions
from reference_sp.fastsql import Prepared

_END_SESSIONS = (
    update(sp_sessions)
    .where(sp_sessions.c.user_id == bindparam("b_user_id"), sp_sessions.c.ended.is_(None))
    .values(ended=bindparam("b_ended"), ended_reason=bindparam("b_reason"))
)
_SESSIONS_ENDED = _END_SESSIONS.returning(sp_sessions.c.token_sha256).cte("sessions_ended_")
_SESSIONS_ONLY = Prepared(_END_SESSIONS)
_DEVICES_REVOKED = (
    update(activations)
    .where(activations.c.user_id == bindparam("b_user_id"), activations.c.status == "active")
    .values(status="revoked", ended=bindparam("b_ended"), reason=bindparam("b_revoke_reason"))
    .returning(activations.c.id, activations.c.device_id)
    .cte("devices_revoked_")
)
# One row per device revoked, or one row of NULLs when none was: each with the sessions' count.
_ONE_ROW = select(literal_column("1").label("one_")).subquery("one_row_")
_END_ACCESS = Prepared(
    select(
        select(func.count()).select_from(_SESSIONS_ENDED).scalar_subquery(),
        _DEVICES_REVOKED.c.id,
        _DEVICES_REVOKED.c.device_id,
    ).select_from(_ONE_ROW.outerjoin(_DEVICES_REVOKED, true()))
)


def end_access(
    conn: Connection, user_id: str, now: str, reason: str, revoke_reason: str | None
) -> tuple[int, list[tuple[str, str]] | None]:
    """The count of the user's sessions ended; with ``revoke_reason`` on PostgreSQL, the devices
    revoked in the same statement too (else None: the caller revokes them, if at all)."""
    if revoke_reason is None or conn.dialect.name != "postgresql":
        params = {"b_user_id": user_id, "b_ended": now, "b_reason": reason}
        return fastsql.execute(conn, _SESSIONS_ONLY, params), None
    return end_sessions_and_revoke_devices(conn, user_id, now, reason, revoke_reason)


def end_sessions_and_revoke_devices(
    conn: Connection, user_id: str, now: str, reason: str, revoke_reason: str
) -> tuple[int, list[tuple[str, str]]]:
    """PostgreSQL only: the count of sessions ended, and the devices revoked (id, device id) in
    the order the index gives them, as the read it replaces did."""
    rows = fastsql.fetch_all(
        conn,
        _END_ACCESS,
        {
            "b_user_id": user_id,
            "b_ended": now,
            "b_reason": reason,
            "b_revoke_reason": revoke_reason,
        },
    )
    revoked = [(str(id_), str(device)) for _, id_, device in rows if id_ is not None]
    return int(rows[0][0]), revoked
