"""The provisioning flow every dialect shares, written as RFC 7644 says it; each vendor's
dialect overrides the steps where that vendor sends something else.

A cycle is planned (``plan``) into tasks, each naming the directory change that caused it;
every task is a generator of requests (``exchange.Exchange``). Users are written first
(managers before their reports), then groups leaving scope are deleted (freeing their names),
then groups and memberships are written, then users leaving scope are disabled or deleted, so
that a membership never names a user the SP does not hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..schema import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA
from .exchange import CycleContext, Exchange, call, call_for_object, quote, resources_of
from .failures import ScimCallError
from .model import (
    DesiredState,
    GroupState,
    ProvisionedGroup,
    ProvisionedUser,
    ScimRequest,
    UserState,
)
from .retry import RetryPolicy

WORK_EMAIL = 'emails[type eq "work"].value'
ENTERPRISE_PATHS = {
    "department": f"{ENTERPRISE_USER_SCHEMA}:department",
    "employee_number": f"{ENTERPRISE_USER_SCHEMA}:employeeNumber",
    "manager": f"{ENTERPRISE_USER_SCHEMA}:manager",
}
CORE_PATHS = {
    "user_name": "userName",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "display_name": "displayName",
    "email": WORK_EMAIL,
    "title": "title",
}
ATTRIBUTE_PATHS = {**CORE_PATHS, **ENTERPRISE_PATHS}


@dataclass(frozen=True)
class Task:
    """One unit of a cycle: ``phase`` (user, group, retire-user, retire-group), the subject's
    key and readable name, and ``change``: the directory change that caused it."""

    phase: str
    key: str
    subject: str
    change: str


class Dialect:
    """``rfc``: textbook RFC 7644. Lookup by ``userName eq`` before creating; POST with every
    attribute; PATCH with lowercase ops, one path per changed attribute, real booleans; members
    added by value and removed by a value filter in the path (RFC 7644 3.5.2.2); DELETE when a
    user leaves the directory or the assignment; groups created with their members, nested
    groups included as members of ``type`` "Group" (RFC 7643 4.2); 429 and 503 retried after
    Retry-After (RFC 7644 3.12 leaves retries to the client)."""

    name = "rfc"
    retry = RetryPolicy(
        statuses=frozenset({429, 503}), max_retries=2, base_delay=1.0, on_transport_error=True
    )
    user_agent = "sso-harness-mock-idp/rfc"
    lookup_before_update = False  # Entra looks every user up before writing it
    nested_groups = True  # groups as members of groups (RFC 7643 4.2 "members"... "type")
    remove_user_action = "delete"  # on unassign or delete: "delete" or "disable"

    # ------------------------------------------------------------------------------ planning

    def in_scope(self, ctx: CycleContext) -> DesiredState:
        """The part of the desired state this dialect provisions (all of it, by default)."""
        return ctx.desired

    def plan(self, ctx: CycleContext) -> list[Task]:
        ctx.desired = self.in_scope(ctx)
        tasks: list[Task] = []
        for user in _managers_first(list(ctx.desired.users.values())):
            change = self.user_change(ctx, user)
            if change:
                tasks.append(Task("user", user.key, user.user_name, change))
        for key, group_record in sorted(ctx.state.groups.items()):
            if key not in ctx.desired.groups:
                tasks.append(Task("retire-group", key, group_record.display_name, "delete-group"))
        for group in _nested_first(list(ctx.desired.groups.values())):
            change = self.group_change(ctx, group)
            if change:
                tasks.append(Task("group", group.key, group.display_name, change))
        for key, record in sorted(ctx.state.users.items(), key=lambda i: i[1].sent.user_name):
            change = self.retire_change(ctx, key, record)
            if change:
                tasks.append(Task("retire-user", key, record.sent.user_name, change))
        return tasks

    def user_change(self, ctx: CycleContext, user: UserState) -> str:
        record = ctx.state.users.get(user.key)
        if record is None:
            return "assign"
        changes = []
        if not record.in_scope:
            changes.append("reassign")
        elif user.active != record.sent.active:
            changes.append("reactivate" if user.active else "block")
        # the manager counts when it will be at the SP by then (managers are written first)
        target = user if user.manager in ctx.desired.users else self.sendable(ctx, user)
        names = [_camel(a) for a in target.changed_attributes(record.sent)]
        if names:
            changes.append("update-attribute:" + ",".join(names))
        if not changes and ctx.full:
            return "full-sync"
        return "+".join(changes)

    def group_change(self, ctx: CycleContext, group: GroupState) -> str:
        record = ctx.state.groups.get(group.key)
        if record is None:
            return "push-group"
        changes = []
        if record.display_name != group.display_name:
            changes.append("rename-group")
        # members count when they will be at the SP by then (users are written first)
        wanted = {k for k in group.members if k in ctx.desired.users}
        if wanted - record.members:
            changes.append("add-to-group")
        if self.removable_members(ctx, record, wanted):
            changes.append("remove-from-group")
        if self.nested_groups:
            nested = {k for k in group.member_groups if k in ctx.desired.groups}
            if nested - record.member_groups:
                changes.append("nest-group")
            if {k for k in record.member_groups - nested if k in ctx.state.groups}:
                changes.append("unnest-group")
        if not changes and ctx.full:
            return "full-sync"
        return "+".join(changes)

    def retire_change(self, ctx: CycleContext, key: str, record: ProvisionedUser) -> str:
        if key in ctx.desired.users or not record.in_scope:
            return ""
        return "unassign" if key in ctx.desired.directory_users else "delete"

    # ------------------------------------------------------------------------------ running

    def run(self, ctx: CycleContext, task: Task) -> Exchange[str]:
        """The task's requests; returns what was done (created, updated, disabled, ...)."""
        if task.phase == "user":
            return (yield from self.sync_user(ctx, ctx.desired.users[task.key]))
        if task.phase == "group":
            return (yield from self.sync_group(ctx, ctx.desired.groups[task.key]))
        if task.phase == "retire-user":
            if task.key not in ctx.state.users:  # retired already, to free its name
                return "deleted"
            return (yield from self.retire_user(ctx, task.key, task.change))
        return (yield from self.retire_group(ctx, task.key))

    def connection_test(self, ctx: CycleContext) -> Exchange[None]:
        """RFC 7644 4: read the service provider's configuration."""
        yield from call_for_object(ScimRequest("GET", "/ServiceProviderConfig"), 200)

    # users

    def sendable(self, ctx: CycleContext, user: UserState) -> UserState:
        """The user as it can be sent now: a manager not yet at the SP is left for later."""
        if user.manager is not None and ctx.state.user_id(user.manager) is None:
            return replace(user, manager=None)
        return user

    def sync_user(self, ctx: CycleContext, user: UserState) -> Exchange[str]:
        target = self.sendable(ctx, user)
        record = ctx.state.users.get(user.key)
        if record is None:
            found = yield from self.find_user(ctx, target)
            if found is not None and (yield from self._free_name_of_another(ctx, user, found)):
                found = None
            if found is None:
                return (yield from self._create(ctx, target))
            record = ProvisionedUser(str(found["id"]), self.read_user(ctx, target, found))
            ctx.state.users[user.key] = record
        elif ctx.full or (self.lookup_before_update and self._differs(record, target)):
            found = yield from self.find_user(ctx, record.sent)
            if found is None and target.user_name != record.sent.user_name:
                found = yield from self.find_user(ctx, target)  # renamed, reply lost
            if found is None:  # gone from the SP behind our back: create it again
                del ctx.state.users[user.key]
                return (yield from self._create(ctx, target))
            record.scim_id = str(found["id"])
        if not self._differs(record, target):
            return "unchanged"
        try:
            yield from self.write_user(ctx, record, target)
        except ScimCallError as exc:
            if exc.status == 404:  # deleted at the SP behind our back: create it next cycle
                del ctx.state.users[user.key]
            raise
        record.sent, record.in_scope, record.disabled_at = target, True, None
        return "updated"

    def _free_name_of_another(
        self, ctx: CycleContext, user: UserState, found: dict[str, Any]
    ) -> Exchange[bool]:
        """The user found by name is another of ours that leaves this name in this cycle (an
        employee renamed away, or deleted, and a new one hired under the old name): write that
        change first, so the new user is created rather than taking over the other's account.
        True when the name was freed."""
        owner = next(
            (k for k, r in ctx.state.users.items() if r.scim_id == str(found.get("id"))), None
        )
        if owner is None or owner == user.key:
            return False
        other = ctx.desired.users.get(owner)
        if other is not None and other.user_name.lower() != user.user_name.lower():
            yield from self.sync_user(ctx, other)
            return True
        if other is None and self.remove_user_action == "delete":
            yield from self.retire_user(
                ctx, owner, self.retire_change(ctx, owner, ctx.state.users[owner])
            )
            return True
        return False

    @staticmethod
    def _differs(record: ProvisionedUser, target: UserState) -> bool:
        return not record.in_scope or record.sent != target

    def _create(self, ctx: CycleContext, user: UserState) -> Exchange[str]:
        scim_id = yield from self.create_user(ctx, user)
        ctx.state.users[user.key] = ProvisionedUser(scim_id, user)
        return "created"

    def find_user(self, ctx: CycleContext, user: UserState) -> Exchange[dict[str, Any] | None]:
        listing = yield from call_for_object(
            ScimRequest("GET", "/Users", (("filter", f"userName eq {quote(user.user_name)}"),)),
            200,
        )
        found = resources_of(listing)
        return found[0] if found and "id" in found[0] else None

    def read_user(self, ctx: CycleContext, user: UserState, found: dict[str, Any]) -> UserState:
        """What the SP holds for a user found by a lookup (adopted, not created), read the way
        this dialect writes it, so that only the differences are written."""
        raw_name = found.get("name")
        name: dict[str, Any] = raw_name if isinstance(raw_name, dict) else {}
        enterprise = found.get(ENTERPRISE_USER_SCHEMA)
        enterprise = enterprise if isinstance(enterprise, dict) else {}
        manager = enterprise.get("manager")
        manager_id = manager.get("value") if isinstance(manager, dict) else manager
        keys_by_id = {r.scim_id: k for k, r in ctx.state.users.items()}
        return UserState(
            key=user.key,
            user_name=_text(found.get("userName")) or user.user_name,
            external_id=user.external_id,
            active=str(found.get("active", True)).lower() == "true",
            given_name=_text(name.get("givenName")),
            family_name=_text(name.get("familyName")),
            display_name=_text(found.get("displayName")),
            email=_work_email(found.get("emails")),
            title=_text(found.get("title")),
            department=_text(enterprise.get("department")),
            employee_number=_text(enterprise.get("employeeNumber")),
            manager=keys_by_id.get(manager_id) if isinstance(manager_id, str) else None,
        )

    def create_user(self, ctx: CycleContext, user: UserState) -> Exchange[str]:
        created = yield from call_for_object(
            ScimRequest("POST", "/Users", body=self.user_resource(ctx, user)), 201
        )
        return id_of(created)

    def user_resource(self, ctx: CycleContext, user: UserState) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [USER_SCHEMA]}
        body["userName"] = user.user_name
        body["externalId"] = user.external_id
        name = {"givenName": user.given_name, "familyName": user.family_name}
        if any(name.values()):
            body["name"] = {k: v for k, v in name.items() if v is not None}
        if user.display_name:
            body["displayName"] = user.display_name
        if user.email:
            body["emails"] = [{"value": user.email, "type": "work", "primary": True}]
        if user.title:
            body["title"] = user.title
        body["active"] = user.active
        enterprise = self.enterprise_part(ctx, user)
        if enterprise:
            body["schemas"].append(ENTERPRISE_USER_SCHEMA)
            body[ENTERPRISE_USER_SCHEMA] = enterprise
        return body

    def enterprise_part(self, ctx: CycleContext, user: UserState) -> dict[str, Any]:
        part: dict[str, Any] = {}
        if user.employee_number:
            part["employeeNumber"] = user.employee_number
        if user.department:
            part["department"] = user.department
        manager_id = ctx.state.user_id(user.manager) if user.manager else None
        if manager_id:
            part["manager"] = {"value": manager_id}
        return part

    def attribute_value(self, ctx: CycleContext, user: UserState, attribute: str) -> Any:
        value = getattr(user, attribute)
        if attribute == "manager" and value is not None:
            return {"value": ctx.state.user_id(value)}
        return value

    def write_user(
        self, ctx: CycleContext, record: ProvisionedUser, user: UserState
    ) -> Exchange[None]:
        operations: list[dict[str, Any]] = []
        for attribute in user.changed_attributes(record.sent):
            value = self.attribute_value(ctx, user, attribute)
            before = getattr(record.sent, attribute)
            if attribute == "email" and (value is None or before is None):
                if value is None:
                    operations.append({"op": "remove", "path": 'emails[type eq "work"]'})
                else:
                    work = {"value": value, "type": "work", "primary": True}
                    operations.append({"op": "add", "path": "emails", "value": [work]})
            elif value is None:
                operations.append({"op": "remove", "path": ATTRIBUTE_PATHS[attribute]})
            else:
                path = ATTRIBUTE_PATHS[attribute]
                operations.append({"op": "replace", "path": path, "value": value})
        if not record.in_scope or user.active != record.sent.active:
            operations.append({"op": "replace", "path": "active", "value": user.active})
        yield from self.patch(f"/Users/{record.scim_id}", operations)

    def patch(self, path: str, operations: list[dict[str, Any]]) -> Exchange[None]:
        if operations:
            body = {"schemas": [PATCH_OP_SCHEMA], "Operations": operations}
            yield from call(ScimRequest("PATCH", path, body=body), 200, 204)

    def retire_user(self, ctx: CycleContext, key: str, change: str) -> Exchange[str]:
        record = ctx.state.users[key]
        if self.remove_user_action == "delete":
            yield from self.delete_user(ctx, record)
            del ctx.state.users[key]
            return "deleted"
        yield from self.disable_user(ctx, record)
        record.sent, record.in_scope = record.sent.with_active(False), False
        record.disabled_at = ctx.now
        return "disabled"

    def delete_user(self, ctx: CycleContext, record: ProvisionedUser) -> Exchange[None]:
        yield from call(ScimRequest("DELETE", f"/Users/{record.scim_id}"), 204, 404)

    def disable_user(self, ctx: CycleContext, record: ProvisionedUser) -> Exchange[None]:
        operations = [{"op": "replace", "path": "active", "value": False}]
        yield from self.patch(f"/Users/{record.scim_id}", operations)

    # groups

    def wanted_members(self, ctx: CycleContext, group: GroupState) -> set[str]:
        """Members that can be sent: in scope and already at the SP."""
        return {
            k
            for k in group.members
            if k in ctx.desired.users and k in ctx.state.users and ctx.state.users[k].in_scope
        }

    @staticmethod
    def removable_members(
        ctx: CycleContext, record: ProvisionedGroup, wanted: set[str]
    ) -> set[str]:
        return {k for k in record.members - wanted if k in ctx.state.users}

    def sync_group(self, ctx: CycleContext, group: GroupState) -> Exchange[str]:
        record = ctx.state.groups.get(group.key)
        wanted = self.wanted_members(ctx, group)
        if record is None or ctx.full:
            found = yield from self.find_group(
                ctx, record.display_name if record else group.display_name
            )
            if found is None:
                if record is not None:
                    del ctx.state.groups[group.key]
                scim_id, sent = yield from self.create_group(ctx, group, wanted)
                ctx.state.groups[group.key] = ProvisionedGroup(scim_id, group.display_name, sent)
                record = ctx.state.groups[group.key]
                record.member_groups = (
                    self.wanted_groups(ctx, group) if self.nested_groups else set()
                )
                if sent == wanted:
                    return "created"
            elif record is None:
                record = ProvisionedGroup(id_of(found), "", set())
                ctx.state.groups[group.key] = record
        renamed = record.display_name != group.display_name
        added = wanted - record.members
        removed = self.removable_members(ctx, record, wanted)
        record.members -= record.members - wanted - removed  # users the SP dropped itself
        wanted_groups = self.wanted_groups(ctx, group) if self.nested_groups else set()
        nest = wanted_groups - record.member_groups
        unnest = {k for k in record.member_groups - wanted_groups if k in ctx.state.groups}
        record.member_groups -= record.member_groups - wanted_groups - unnest  # SP dropped them
        if nest or unnest:
            yield from self.write_nesting(ctx, record, nest, unnest)
            record.member_groups = (record.member_groups | nest) - unnest
        if not (renamed or added or removed):
            return "updated" if nest or unnest else "unchanged"
        try:
            yield from self.write_group(ctx, record, group, added, removed)
        except ScimCallError as exc:
            if exc.status == 404:  # deleted at the SP behind our back: create it next cycle
                del ctx.state.groups[group.key]
            raise
        record.display_name = group.display_name
        record.members = (record.members | added) - removed
        return "updated"

    @staticmethod
    def wanted_groups(ctx: CycleContext, group: GroupState) -> set[str]:
        """Nested groups that can be sent: pushed and already at the SP."""
        return {k for k in group.member_groups if k in ctx.desired.groups and k in ctx.state.groups}

    def write_nesting(
        self, ctx: CycleContext, record: ProvisionedGroup, nest: set[str], unnest: set[str]
    ) -> Exchange[None]:
        """Groups added to or removed from a group's members (``type: Group``)."""
        operations: list[dict[str, Any]] = []
        if nest:
            values = [
                {"value": ctx.state.groups[k].scim_id, "type": "Group"}
                for k in sorted(nest, key=lambda k: ctx.state.groups[k].display_name.lower())
            ]
            operations.append({"op": "add", "path": "members", "value": values})
        for key in sorted(unnest, key=lambda k: ctx.state.groups[k].display_name.lower()):
            path = f"members[value eq {quote(ctx.state.groups[key].scim_id)}]"
            operations.append({"op": "remove", "path": path})
        yield from self.patch(f"/Groups/{record.scim_id}", operations)

    def find_group(self, ctx: CycleContext, display_name: str) -> Exchange[dict[str, Any] | None]:
        query = (("filter", f"displayName eq {quote(display_name)}"),)
        listing = yield from call_for_object(ScimRequest("GET", "/Groups", query), 200)
        found = resources_of(listing)
        return found[0] if found and "id" in found[0] else None

    def create_group(
        self, ctx: CycleContext, group: GroupState, members: set[str]
    ) -> Exchange[tuple[str, set[str]]]:
        body: dict[str, Any] = {
            "schemas": [GROUP_SCHEMA],
            "displayName": group.display_name,
            "externalId": group.external_id,
            "members": [{"value": ctx.state.user_id(k)} for k in self.ordered(ctx, members)],
        }
        if self.nested_groups:
            nested = self.wanted_groups(ctx, group)
            body["members"] += [
                {"value": ctx.state.groups[k].scim_id, "type": "Group"}
                for k in sorted(nested, key=lambda k: ctx.state.groups[k].display_name.lower())
            ]
        created = yield from call_for_object(ScimRequest("POST", "/Groups", body=body), 201)
        return id_of(created), set(members)

    @staticmethod
    def ordered(ctx: CycleContext, keys: set[str]) -> list[str]:
        """Members in a stable order (by userName), so traces are reproducible."""
        return sorted(keys, key=lambda k: ctx.state.users[k].sent.user_name.lower())

    def write_group(
        self,
        ctx: CycleContext,
        record: ProvisionedGroup,
        group: GroupState,
        added: set[str],
        removed: set[str],
    ) -> Exchange[None]:
        operations: list[dict[str, Any]] = []
        if record.display_name != group.display_name:
            operations.append({"op": "replace", "path": "displayName", "value": group.display_name})
        if added:
            values = [{"value": ctx.state.user_id(k)} for k in self.ordered(ctx, added)]
            operations.append({"op": "add", "path": "members", "value": values})
        for key in self.ordered(ctx, removed):
            path = f"members[value eq {quote(ctx.state.users[key].scim_id)}]"
            operations.append({"op": "remove", "path": path})
        yield from self.patch(f"/Groups/{record.scim_id}", operations)

    def retire_group(self, ctx: CycleContext, key: str) -> Exchange[str]:
        record = ctx.state.groups[key]
        yield from call(ScimRequest("DELETE", f"/Groups/{record.scim_id}"), 204, 404)
        del ctx.state.groups[key]
        return "deleted"


def id_of(resource: dict[str, Any]) -> str:
    value = resource.get("id")
    if not isinstance(value, str) or not value:
        raise ValueError("the SP's resource has no id")
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _work_email(emails: Any) -> str | None:
    if not isinstance(emails, list):
        return None
    valid = [e for e in emails if isinstance(e, dict) and isinstance(e.get("value"), str)]
    chosen = next((e for e in valid if e.get("type") == "work"), None) or next(
        (e for e in valid if e.get("primary") in (True, "True", "true")), None
    )
    return _text(chosen["value"]) if chosen else None


def _camel(attribute: str) -> str:
    head, *rest = attribute.split("_")
    return head + "".join(part.title() for part in rest)


def _managers_first(users: list[UserState]) -> list[UserState]:
    """Users ordered so that a manager comes before the people reporting to them."""
    by_key = {u.key: u for u in users}
    depth_cache: dict[str, int] = {}

    def depth(user: UserState, seen: frozenset[str] = frozenset()) -> int:
        if user.key in depth_cache:
            return depth_cache[user.key]
        manager = by_key.get(user.manager) if user.manager else None
        value = (
            0 if manager is None or manager.key in seen else 1 + depth(manager, seen | {user.key})
        )
        depth_cache[user.key] = value
        return value

    return sorted(users, key=lambda u: (depth(u), u.user_name.lower()))


def _nested_first(groups: list[GroupState]) -> list[GroupState]:
    """Groups ordered so that a nested group is written before the groups containing it."""
    by_key = {g.key: g for g in groups}
    height: dict[str, int] = {}

    def depth(group: GroupState, seen: frozenset[str] = frozenset()) -> int:
        if group.key not in height:
            inner = [by_key[k] for k in group.member_groups if k in by_key and k not in seen]
            height[group.key] = 1 + max((depth(g, seen | {group.key}) for g in inner), default=-1)
        return height[group.key]

    return sorted(groups, key=lambda g: (depth(g), g.display_name.lower()))


def random_guid(ctx: CycleContext) -> str:
    return str(uuid.UUID(int=ctx.rng.getrandbits(128), version=4))


DialectFactory = Callable[[], Dialect]
__all__ = ["Dialect", "ScimCallError", "Task", "random_guid"]
