"""The scim-loses-concurrent-member-adds flaw: a group PATCH is applied to the members read when
the request arrived, in a transaction of their own, 50 ms before the PATCH's own (as an SP that
calls another system between reading and writing would). Alone, a PATCH sees what it read;
sent together, member adds each write their own list over the others'."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from harness.protocol.scim import errors
from harness.protocol.scim.schema import resource_type_named
from reference_sp.db import Database, DatabaseBusyError, DatabaseUnavailableError
from reference_sp.scim.store import ScimStore

DELAY_S = 0.05
GROUP = resource_type_named("Group")


async def members_read_early(
    db: Database,
    store: ScimStore,
    authenticate: Callable[[Connection], int],
    resource_id: str,
) -> list[Any] | None:
    """The group's members now (None when they cannot be read: the PATCH then reads its own)."""

    def read() -> list[Any] | None:
        if GROUP is None:  # pragma: no cover - the core always defines Group
            return None
        with db.transaction() as conn:
            stored = store.get(conn, authenticate(conn), GROUP, resource_id)
            return list(stored.patchable().get("members", []))

    try:
        members = await db.run(read)
    except (errors.ScimError, DatabaseUnavailableError, DatabaseBusyError):
        return None
    await asyncio.sleep(DELAY_S)
    return members
