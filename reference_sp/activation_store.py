"""Device activations as rows: started pending by a desktop client, confirmed (active) by a
signed-in user, revoked when the user loses their license (reference_sp.accounts). Times are
ISO 8601 strings, which compare as times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update

from reference_sp import fastsql
from reference_sp.account_tables import activations
from reference_sp.fastsql import Prepared


@dataclass(frozen=True)
class NewActivation:
    id: str  # the device's check-in handle
    code: str  # in the browser's completion URL
    product: str
    client_version: str
    device_id: str
    device_name: str | None
    created: str
    expires: str


def forget_expired(conn: Connection, now: str) -> None:
    """Pending activations nobody confirmed in time are gone for good."""
    conn.execute(
        delete(activations).where(activations.c.status == "pending", activations.c.expires < now)
    )


def add_pending(conn: Connection, new: NewActivation) -> None:
    conn.execute(
        insert(activations).values(
            id=new.id,
            code=new.code,
            product=new.product,
            client_version=new.client_version,
            device_id=new.device_id,
            device_name=new.device_name,
            status="pending",
            created=new.created,
            expires=new.expires,
        )
    )


def still_pending(conn: Connection, ids: list[str]) -> list[str]:
    return list(
        conn.execute(
            select(activations.c.id).where(
                activations.c.id.in_(ids), activations.c.status == "pending"
            )
        ).scalars()
    )


def pending_in_all(conn: Connection) -> tuple[int, str | None]:
    """How many activations are pending, and when the first of them expires."""
    count, earliest = conn.execute(
        select(func.count(), func.min(activations.c.expires)).where(
            activations.c.status == "pending"
        )
    ).one()
    return int(count), earliest


def by_id(conn: Connection, activation_id: str) -> Row[Any] | None:
    return conn.execute(select(activations).where(activations.c.id == activation_id[:64])).first()


def by_code(conn: Connection, code: str) -> Row[Any] | None:
    return conn.execute(select(activations).where(activations.c.code == code)).first()


def confirm(
    conn: Connection, activation_id: str, org_pk: int, user_id: str, user_name: str, now: str
) -> None:
    conn.execute(
        update(activations)
        .where(activations.c.id == activation_id, activations.c.status == "pending")
        .values(
            status="active",
            org_pk=org_pk,
            user_id=user_id,
            user_name=user_name,
            completed=now,
        )
    )


# Run by the business rules on every deprovisioning: prebuilt (see reference_sp.fastsql).
_ACTIVE_OF = Prepared(
    select(activations.c.id, activations.c.device_id).where(
        activations.c.user_id == bindparam("user_id"), activations.c.status == "active"
    )
)
_REVOKE = Prepared(
    update(activations)
    .where(activations.c.id == bindparam("b_id"))
    .values(status="revoked", ended=bindparam("b_ended"), reason=bindparam("b_reason"))
)


def active_of(conn: Connection, user_id: str) -> list[tuple[str, str]]:
    """The user's active activations: (id, device id)."""
    return [
        (activation_id, device)
        for activation_id, device in fastsql.fetch_all(conn, _ACTIVE_OF, {"user_id": user_id})
    ]


def revoke(conn: Connection, activation_id: str, now: str, reason: str) -> None:
    fastsql.execute(conn, _REVOKE, {"b_id": activation_id, "b_ended": now, "b_reason": reason})
