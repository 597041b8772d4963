"""Okta's SCIM 2.0 provisioning (an OIN SCIM app with Push Groups).

Documented (Okta developer docs "SCIM 2.0 protocol reference" / "Build a SCIM provisioning
integration", and the Okta SCIM 2.0 spec test): connection test ``GET /Users?startIndex=1&count=2``
and, with Group Push, ``GET /Groups?startIndex=1&count=100``; user lookup
``GET /Users?filter=userName eq "..."&startIndex=1&count=100`` before a create (an existing user
is linked); create user POST with a generated password, ``groups: []``, ``externalId``,
``locale``, ``active: true``, expecting 201 with the body; profile updates as ``GET /Users/{id}``
then ``PUT`` of the whole user; deactivation (unassign, deactivate, delete in Okta) as
``PATCH {"op": "replace", "value": {"active": false}}`` and reactivation likewise with true;
Okta never DELETEs a user; Group Push: the groups are listed (``startIndex=1&count=100``, paged)
and matched by displayName, a new one is POSTed ``{displayName, members: []}``, every membership
change is a PATCH whose first operation replaces ``{id, displayName}`` followed by member
``add`` (with ``display``) and ``remove`` (value filter in the path) operations; a group unlinked
from push is DELETEd; Group Push sends a group's direct user members only (no nested groups).

Undocumented, chosen here: Okta sends no request when a user is suspended, so the directory's
"block" is Okta's deactivation (PATCH active false); retries: Okta honours 429 Retry-After for
its rate limits, so a 429 is retried three times after Retry-After; 5xx and timeouts fail the
task, which the next cycle retries (Okta's "retry failed tasks").
"""

from __future__ import annotations

from typing import Any

from ..schema import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from .base import Dialect, id_of
from .exchange import CycleContext, Exchange, call_for_object, quote, resources_of
from .model import GroupState, ProvisionedGroup, ProvisionedUser, ScimRequest, UserState
from .retry import RetryPolicy

PAGE = 100
_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Okta(Dialect):
    name = "okta"
    retry = RetryPolicy(statuses=frozenset({429}), max_retries=3, base_delay=1.0)
    user_agent = "Okta SCIM Client 1.0.0"
    remove_user_action = "disable"
    nested_groups = False

    def connection_test(self, ctx: CycleContext) -> Exchange[None]:
        users = (("startIndex", "1"), ("count", "2"))
        yield from call_for_object(ScimRequest("GET", "/Users", users), 200)
        groups = (("startIndex", "1"), ("count", str(PAGE)))
        yield from call_for_object(ScimRequest("GET", "/Groups", groups), 200)

    def find_user(self, ctx: CycleContext, user: UserState) -> Exchange[dict[str, Any] | None]:
        query = (
            ("filter", f"userName eq {quote(user.user_name)}"),
            ("startIndex", "1"),
            ("count", str(PAGE)),
        )
        listing = yield from call_for_object(ScimRequest("GET", "/Users", query), 200, 404)
        found = resources_of(listing)
        return found[0] if found and "id" in found[0] else None

    def user_resource(self, ctx: CycleContext, user: UserState) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": user.user_name}
        name = {"givenName": user.given_name, "familyName": user.family_name}
        body["name"] = {k: v for k, v in name.items() if v is not None}
        if user.email:
            body["emails"] = [{"primary": True, "value": user.email, "type": "work"}]
        if user.display_name:
            body["displayName"] = user.display_name
        if user.title:
            body["title"] = user.title
        body["locale"] = "en-US"
        body["externalId"] = user.external_id
        body["groups"] = []
        body["active"] = user.active
        enterprise = self.enterprise_part(ctx, user)
        if enterprise:
            body["schemas"].append(ENTERPRISE_USER_SCHEMA)
            body[ENTERPRISE_USER_SCHEMA] = enterprise
        return body

    def create_user(self, ctx: CycleContext, user: UserState) -> Exchange[str]:
        body = self.user_resource(ctx, user)
        body["password"] = "".join(ctx.rng.choice(_ALPHABET) for _ in range(16))
        created = yield from call_for_object(ScimRequest("POST", "/Users", body=body), 201)
        return str(id_of(created))

    def write_user(
        self, ctx: CycleContext, record: ProvisionedUser, user: UserState
    ) -> Exchange[None]:
        if not record.in_scope or user.active != record.sent.active:
            yield from self.set_active(record, user.active)
        if user.changed_attributes(record.sent):
            path = f"/Users/{record.scim_id}"
            current = yield from call_for_object(ScimRequest("GET", path), 200)
            body = self.user_resource(ctx, user)
            body["id"] = current.get("id", record.scim_id)
            yield from call_for_object(ScimRequest("PUT", path, body=body), 200)

    def set_active(self, record: ProvisionedUser, active: bool) -> Exchange[None]:
        operation = {"op": "replace", "value": {"active": active}}
        yield from self.patch(f"/Users/{record.scim_id}", [operation])

    def disable_user(self, ctx: CycleContext, record: ProvisionedUser) -> Exchange[None]:
        yield from self.set_active(record, False)

    # Group Push

    def find_group(self, ctx: CycleContext, display_name: str) -> Exchange[dict[str, Any] | None]:
        groups = ctx.cache.get("groups")
        if groups is None:
            groups = yield from list_all(ctx, "/Groups")
            ctx.cache["groups"] = groups
        wanted = display_name.lower()
        return next((g for g in groups if str(g.get("displayName", "")).lower() == wanted), None)

    def create_group(
        self, ctx: CycleContext, group: GroupState, members: set[str]
    ) -> Exchange[tuple[str, set[str]]]:
        body = {"schemas": [GROUP_SCHEMA], "displayName": group.display_name, "members": []}
        created = yield from call_for_object(ScimRequest("POST", "/Groups", body=body), 201)
        return str(id_of(created)), set()

    def write_group(
        self,
        ctx: CycleContext,
        record: ProvisionedGroup,
        group: GroupState,
        added: set[str],
        removed: set[str],
    ) -> Exchange[None]:
        operations: list[dict[str, Any]] = [
            {"op": "replace", "value": {"id": record.scim_id, "displayName": group.display_name}}
        ]
        if added:
            values = [
                {"value": ctx.state.users[k].scim_id, "display": ctx.state.users[k].sent.user_name}
                for k in self.ordered(ctx, added)
            ]
            operations.append({"op": "add", "path": "members", "value": values})
        for key in self.ordered(ctx, removed):
            path = f"members[value eq {quote(ctx.state.users[key].scim_id)}]"
            operations.append({"op": "remove", "path": path})
        yield from self.patch(f"/Groups/{record.scim_id}", operations)


def list_all(ctx: CycleContext, path: str) -> Exchange[list[dict[str, Any]]]:
    """Every resource of a collection, paged by 100 from startIndex 1 (Okta's integer paging)."""
    found: list[dict[str, Any]] = []
    start = 1
    while True:
        query = (("startIndex", str(start)), ("count", str(PAGE)))
        listing = yield from call_for_object(ScimRequest("GET", path, query), 200)
        page = resources_of(listing)
        found.extend(page)
        total = listing.get("totalResults")
        start += len(page)
        if not page or not isinstance(total, int) or start > total:
            return found
