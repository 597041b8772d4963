"""Microsoft Entra ID's provisioning service, by default and with ``aadOptscim062020``.

Documented (Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint",
its "User operations" / "Group operations" request examples, and "Known issues and resolutions
with SCIM 2.0 protocol compliance of the Microsoft Entra user provisioning service"):
- connection test: ``GET /Users?filter=userName eq "<random GUID>"``, expecting an empty list;
- every user is looked up by its matching attribute (``userName eq``) before it is created or
  written; groups by ``displayName eq`` with ``excludedAttributes=members``, and by id
  (``GET /Groups/{id}?excludedAttributes=members``) before a group is written;
- create user: core and enterprise schemas, ``externalId``, ``active`` true, the work email
  primary, ``meta.resourceType``, ``roles: []``; nulls left out;
- update: ``"op": "Replace"`` (``"Add"`` where the attribute had no value), one path per
  attribute; booleans as the strings ``"True"``/``"False"``; the manager as ``"Add"`` of the
  bare manager id;
- members added as ``{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}]}``
  (several per request) and removed as ``{"op": "Remove", "path": "members", "value":
  [{"value": id}]}``;
- a group is created with the ADSCIM Group schema, ``externalId`` and no members;
- unassigning a user soft-deletes it (``Replace active "False"``); a user deleted from the
  directory is soft-deleted at once and hard-deleted (DELETE) 30 days later;
- no nested groups, no passwords.
With ``aadOptscim062020`` (``entra-compat``): lowercase ops, real booleans, one path-less
``replace`` whose value is keyed by attribute paths (``"name.givenName"``), and members removed
with a value filter in the path (``members[value eq "id"]``), one operation per member.

Undocumented, chosen here: how an attribute that lost its value is cleared (``"Remove"`` with
the attribute's path, lowercase with the flag); retries: Entra documents that failed objects are
retried in later cycles (escrow) and that it backs off on 429, not how often, so a 429 is
retried twice after its Retry-After and anything else waits for the next cycle; a group rename
with the flag is a path-less replace of ``displayName``; a group leaving scope is DELETEd.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..schema import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from .base import ATTRIBUTE_PATHS, Dialect, id_of, random_guid
from .exchange import CycleContext, Exchange, call, call_for_object, quote, resources_of
from .model import GroupState, ProvisionedGroup, ProvisionedUser, ScimRequest, UserState
from .retry import RetryPolicy

ADSCIM_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
HARD_DELETE_AFTER = dt.timedelta(days=30)


class Entra(Dialect):
    """Microsoft Entra ID by default: a lookup before every write, capitalised ops, booleans as
    strings, soft delete then hard delete after 30 days (see the module docstring)."""

    name = "entra"
    retry = RetryPolicy(statuses=frozenset({429}), max_retries=2, base_delay=1.0)
    user_agent = "Azure Active Directory SCIM Client"
    lookup_before_update = True
    remove_user_action = "disable"
    nested_groups = False
    compat = False  # aadOptscim062020

    def op(self, name: str) -> str:
        return name.lower() if self.compat else name.capitalize()

    def boolean(self, value: bool) -> bool | str:
        return value if self.compat else ("True" if value else "False")

    def plan_hard_delete(self, ctx: CycleContext, key: str, record: ProvisionedUser) -> bool:
        return (
            not record.in_scope
            and key not in ctx.desired.directory_users
            and record.disabled_at is not None
            and ctx.now - record.disabled_at >= HARD_DELETE_AFTER
        )

    def retire_change(self, ctx: CycleContext, key: str, record: ProvisionedUser) -> str:
        if self.plan_hard_delete(ctx, key, record):
            return "delete:hard-delete-after-30-days"
        return super().retire_change(ctx, key, record)

    def retire_user(self, ctx: CycleContext, key: str, change: str) -> Exchange[str]:
        record = ctx.state.users[key]
        if change.startswith("delete:hard"):
            yield from call(ScimRequest("DELETE", f"/Users/{record.scim_id}"), 204, 404)
            del ctx.state.users[key]
            return "deleted"
        found = yield from self.find_user(ctx, record.sent)
        if found is None:
            del ctx.state.users[key]
            return "gone"
        return (yield from super().retire_user(ctx, key, change))

    def connection_test(self, ctx: CycleContext) -> Exchange[None]:
        query = (("filter", f"userName eq {quote(random_guid(ctx))}"),)
        listing = yield from call_for_object(ScimRequest("GET", "/Users", query), 200)
        if resources_of(listing):
            raise ValueError("the connection test's random userName matched a user")

    def user_resource(self, ctx: CycleContext, user: UserState) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "externalId": user.external_id,
            "userName": user.user_name,
            "active": user.active,
        }
        if user.display_name:
            body["displayName"] = user.display_name
        if user.email:
            body["emails"] = [{"primary": True, "type": "work", "value": user.email}]
        body["meta"] = {"resourceType": "User"}
        name = {"familyName": user.family_name, "givenName": user.given_name}
        if any(name.values()):
            formatted = " ".join(v for v in (user.given_name, user.family_name) if v)
            body["name"] = {"formatted": formatted} | {k: v for k, v in name.items() if v}
        body["roles"] = []
        if user.title:
            body["title"] = user.title
        enterprise = self.enterprise_part(ctx, user)
        if enterprise:
            body[ENTERPRISE_USER_SCHEMA] = enterprise
        return body

    def create_user(self, ctx: CycleContext, user: UserState) -> Exchange[str]:
        """POST without the manager, then the manager as its own ``Add`` (a reference
        attribute Entra resolves after the user exists)."""
        body = self.user_resource(ctx, user)
        enterprise = body.get(ENTERPRISE_USER_SCHEMA, {})
        enterprise.pop("manager", None)
        if ENTERPRISE_USER_SCHEMA in body and not enterprise:
            del body[ENTERPRISE_USER_SCHEMA]
        created = yield from call_for_object(ScimRequest("POST", "/Users", body=body), 201)
        scim_id = id_of(created)
        manager_id = ctx.state.user_id(user.manager) if user.manager else None
        if manager_id:
            path = ATTRIBUTE_PATHS["manager"]
            operation = {"op": self.op("add"), "path": path, "value": manager_id}
            yield from self.patch(f"/Users/{scim_id}", [operation])
        return scim_id

    def attribute_value(self, ctx: CycleContext, user: UserState, attribute: str) -> Any:
        if attribute == "manager" and user.manager is not None:
            return ctx.state.user_id(user.manager)  # Entra sends the bare id
        return getattr(user, attribute)

    def write_user(
        self, ctx: CycleContext, record: ProvisionedUser, user: UserState
    ) -> Exchange[None]:
        operations: list[dict[str, Any]] = []
        flat: dict[str, Any] = {}
        for attribute in user.changed_attributes(record.sent):
            value = self.attribute_value(ctx, user, attribute)
            path = ATTRIBUTE_PATHS[attribute]
            before = getattr(record.sent, attribute)
            if value is None:
                operations.append({"op": self.op("remove"), "path": path})
            elif attribute == "manager" or (before is None and not self.compat):
                operations.append({"op": self.op("add"), "path": path, "value": value})
            elif self.compat:
                flat[path] = value
            else:
                operations.append({"op": self.op("replace"), "path": path, "value": value})
        if flat:
            operations.insert(0, {"op": "replace", "value": flat})
        if not record.in_scope or user.active != record.sent.active:
            active = {
                "op": self.op("replace"),
                "path": "active",
                "value": self.boolean(user.active),
            }
            operations.append(active)
        yield from self.patch(f"/Users/{record.scim_id}", operations)

    def disable_user(self, ctx: CycleContext, record: ProvisionedUser) -> Exchange[None]:
        operation = {"op": self.op("replace"), "path": "active", "value": self.boolean(False)}
        yield from self.patch(f"/Users/{record.scim_id}", [operation])

    # groups

    def find_group(self, ctx: CycleContext, display_name: str) -> Exchange[dict[str, Any] | None]:
        query = (
            ("excludedAttributes", "members"),
            ("filter", f"displayName eq {quote(display_name)}"),
        )
        listing = yield from call_for_object(ScimRequest("GET", "/Groups", query), 200)
        found = resources_of(listing)
        return found[0] if found and "id" in found[0] else None

    def create_group(
        self, ctx: CycleContext, group: GroupState, members: set[str]
    ) -> Exchange[tuple[str, set[str]]]:
        body: dict[str, Any] = {
            "schemas": [GROUP_SCHEMA, ADSCIM_GROUP_SCHEMA],
            "externalId": group.external_id,
            "displayName": group.display_name,
            "meta": {"resourceType": "Group"},
        }
        created = yield from call_for_object(ScimRequest("POST", "/Groups", body=body), 201)
        return str(id_of(created)), set()  # members follow in PATCHes

    def write_group(
        self,
        ctx: CycleContext,
        record: ProvisionedGroup,
        group: GroupState,
        added: set[str],
        removed: set[str],
    ) -> Exchange[None]:
        query = (("excludedAttributes", "members"),)
        yield from call_for_object(ScimRequest("GET", f"/Groups/{record.scim_id}", query), 200)
        path = f"/Groups/{record.scim_id}"
        if record.display_name != group.display_name:
            if self.compat:
                rename = {"op": "replace", "value": {"displayName": group.display_name}}
            else:
                rename = {"op": "Replace", "path": "displayName", "value": group.display_name}
            yield from self.patch(path, [rename])
        if added:
            values = [self.member_value(ctx, k) for k in self.ordered(ctx, added)]
            yield from self.patch(
                path, [{"op": self.op("add"), "path": "members", "value": values}]
            )
        if removed:
            keys = self.ordered(ctx, removed)
            operations: list[dict[str, Any]]
            if self.compat:
                operations = [
                    {
                        "op": "remove",
                        "path": f"members[value eq {quote(ctx.state.users[k].scim_id)}]",
                    }
                    for k in keys
                ]
            else:
                values = [{"value": self.scim_id(ctx, k)} for k in keys]
                operations = [{"op": "Remove", "path": "members", "value": values}]
            yield from self.patch(path, operations)

    @staticmethod
    def scim_id(ctx: CycleContext, key: str) -> str:
        return ctx.state.users[key].scim_id

    def member_value(self, ctx: CycleContext, key: str) -> dict[str, Any]:
        if self.compat:
            return {"value": ctx.state.user_id(key)}
        return {"$ref": None, "value": ctx.state.user_id(key)}


class EntraCompat(Entra):
    """Entra ID with the aadOptscim062020 flag: lowercase ops, real booleans, one path-less
    replace keyed by attribute paths, members removed by a value filter (see ``Entra``)."""

    name = "entra-compat"
    compat = True
