"""PingFederate's outbound SCIM provisioning (the SCIM connector).

Documented (PingFederate "SCIM connector" / provisioner docs, provisioning options): users are
looked up by their Unique User Identifier (``userName eq``) when PingFederate does not know the
target's id, then created with POST; updates replace the whole user with PUT (the connector
does not PATCH users); the Remove User Action setting decides whether a user leaving scope or
disabled/deleted in the data store is disabled (``active: false``, the default) or DELETEd
(so with Delete, blocking a user deletes it and reactivating creates it again);
groups are created with POST, memberships changed with PATCH add/remove; a removed group is
DELETEd; the User-Agent names PingFederate; 429 and 5xx answers are retried with exponential
backoff.

Undocumented, chosen here: the connection test (a ``userName eq`` lookup of a random value,
like Entra); group lookup lists every group (``GET /Groups``, paged) and matches the
displayName itself; a rename is a PATCH replace of displayName; the backoff is 1, 2, 4, 8 s (or
Retry-After when longer), four retries, timeouts included; nested groups are not sent.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .base import Dialect, random_guid
from .exchange import CycleContext, Exchange, call_for_object, quote
from .model import DesiredState, ProvisionedUser, ScimRequest, UserState
from .okta import list_all
from .retry import RetryPolicy


class Ping(Dialect):
    name = "ping"
    retry = RetryPolicy(
        statuses=frozenset({429, 500, 502, 503, 504}),
        max_retries=4,
        base_delay=1.0,
        on_transport_error=True,
    )
    user_agent = "PingFederate/12.0 SCIM Connector"
    remove_user_action = "disable"
    nested_groups = False

    def __init__(self, remove_user_action: str = "disable") -> None:
        if remove_user_action not in ("disable", "delete"):
            raise ValueError("remove_user_action is disable or delete")
        self.remove_user_action = remove_user_action

    def in_scope(self, ctx: CycleContext) -> DesiredState:
        """With Remove User Action = Delete, a user disabled in the directory leaves scope."""
        desired = ctx.desired
        if self.remove_user_action != "delete":
            return desired
        blocked = {k for k, u in desired.users.items() if not u.active}
        ctx.cache["blocked"] = blocked
        return replace(
            desired,
            users={k: u for k, u in desired.users.items() if k not in blocked},
            groups={k: replace(g, members=g.members - blocked) for k, g in desired.groups.items()},
        )

    def retire_change(self, ctx: CycleContext, key: str, record: ProvisionedUser) -> str:
        if key in ctx.cache.get("blocked", ()) and record.in_scope:
            return "block"
        return super().retire_change(ctx, key, record)

    def connection_test(self, ctx: CycleContext) -> Exchange[None]:
        query = (("filter", f"userName eq {quote(random_guid(ctx))}"),)
        yield from call_for_object(ScimRequest("GET", "/Users", query), 200)

    def write_user(
        self, ctx: CycleContext, record: ProvisionedUser, user: UserState
    ) -> Exchange[None]:
        body = self.user_resource(ctx, user)
        body["id"] = record.scim_id
        yield from call_for_object(ScimRequest("PUT", f"/Users/{record.scim_id}", body=body), 200)

    def disable_user(self, ctx: CycleContext, record: ProvisionedUser) -> Exchange[None]:
        yield from self.write_user(ctx, record, record.sent.with_active(False))

    def find_group(self, ctx: CycleContext, display_name: str) -> Exchange[dict[str, Any] | None]:
        groups = ctx.cache.get("groups")
        if groups is None:
            groups = yield from list_all(ctx, "/Groups")
            ctx.cache["groups"] = groups
        wanted = display_name.lower()
        return next((g for g in groups if str(g.get("displayName", "")).lower() == wanted), None)
