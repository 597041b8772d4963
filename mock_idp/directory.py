"""The IdP's directory: users and groups, in memory.

Fields follow SCIM's core and enterprise User (userName, name parts, emails, active, externalId,
title, department, employeeNumber, manager) so provisioning sends them unchanged; ``attributes``
holds anything else a test needs. ``assigned`` is the app assignment: only assigned users and
groups are provisioned (``mock_idp.provisioning_scope``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from .refusals import DirectoryError

_NAMESPACE = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")


def stable_id(kind: str, name: str) -> str:
    """The same UUID for the same user or group name in every run (deterministic tests)."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name.lower()}"))


@dataclass
class User:
    user_name: str
    password: str = "password"  # noqa: S105 - a mock directory, documented default
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    groups: list[str] = field(default_factory=list)
    active: bool = True
    external_id: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    id: str = ""
    title: str | None = None
    department: str | None = None
    employee_number: str | None = None
    manager: str | None = None  # the manager's userName
    assigned: bool = True  # assigned to the app: provisioned

    def __post_init__(self) -> None:
        if not self.id:
            self.id = stable_id("user", self.user_name)
        if self.display_name is None and (self.given_name or self.family_name):
            self.display_name = " ".join(p for p in (self.given_name, self.family_name) if p)

    def field_values(self, source: str, group_ids: dict[str, str]) -> list[str]:
        """The values of a user field by its attribute-mapping name."""
        simple: dict[str, str | None] = {
            "userName": self.user_name,
            "email": self.email or self.user_name,
            "givenName": self.given_name,
            "familyName": self.family_name,
            "displayName": self.display_name,
            "externalId": self.external_id,
            "id": self.id,
        }
        if source in simple:
            value = simple[source]
            return [value] if value else []
        if source == "groups":
            return list(self.groups)
        if source == "group_ids":
            return [group_ids.get(name, stable_id("group", name)) for name in self.groups]
        return list(self.attributes.get(source, []))

    def to_json(self, *, with_password: bool = False) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.id,
            "userName": self.user_name,
            "email": self.email,
            "givenName": self.given_name,
            "familyName": self.family_name,
            "displayName": self.display_name,
            "groups": list(self.groups),
            "active": self.active,
            "externalId": self.external_id,
            "attributes": {k: list(v) for k, v in self.attributes.items()},
            "title": self.title,
            "department": self.department,
            "employeeNumber": self.employee_number,
            "manager": self.manager,
            "assigned": self.assigned,
        }
        if with_password:
            data["password"] = self.password
        return data


@dataclass
class Group:
    display_name: str
    external_id: str | None = None
    id: str = ""
    assigned: bool = True  # pushed to the app (Okta's Group Push, Entra's group assignment)
    member_groups: list[str] = field(default_factory=list)  # names of groups nested in this one

    def __post_init__(self) -> None:
        if not self.id:
            self.id = stable_id("group", self.display_name)


class Directory:
    """Users keyed by userName (case-insensitive, as IdPs and SCIM treat it), and groups."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._groups: dict[str, Group] = {}

    # users
    def users(self) -> list[User]:
        return list(self._users.values())

    def get_user(self, user_name: str) -> User | None:
        return self._users.get(user_name.lower())

    def add_user(self, user: User) -> User:
        if not user.user_name.strip():
            raise DirectoryError("invalid", "userName is required")
        if user.user_name.lower() in self._users:
            raise DirectoryError("conflict", f"user {user.user_name!r} already exists", status=409)
        taken = {u.id for u in self._users.values()}
        suffix = 1
        while user.id in taken:  # a renamed user kept the id its old name gave it
            user.id = stable_id("user", f"{user.user_name}#{suffix}")
            suffix += 1
        for group in user.groups:
            self.ensure_group(group)
        self._users[user.user_name.lower()] = user
        return user

    def replace_user(self, user_name: str, user: User) -> User:
        if user_name.lower() not in self._users:
            raise DirectoryError("not-found", f"no user {user_name!r}", status=404)
        if user.user_name.lower() != user_name.lower() and user.user_name.lower() in self._users:
            raise DirectoryError("conflict", f"user {user.user_name!r} already exists", status=409)
        previous = self._users.pop(user_name.lower())
        user.id = previous.id  # the same person (a rename is not a new user)
        for group in user.groups:
            self.ensure_group(group)
        self._users[user.user_name.lower()] = user
        return user

    def remove_user(self, user_name: str) -> None:
        if self._users.pop(user_name.lower(), None) is None:
            raise DirectoryError("not-found", f"no user {user_name!r}", status=404)

    def authenticate(self, user_name: str, password: str) -> User | None:
        user = self.get_user(user_name)
        if user is None or user.password != password:
            return None
        return user

    # groups
    def groups(self) -> list[Group]:
        return list(self._groups.values())

    def get_group(self, name: str) -> Group | None:
        return self._groups.get(name.lower())

    def ensure_group(self, name: str, external_id: str | None = None) -> Group:
        group = self._groups.get(name.lower())
        if group is None:
            group = Group(name, external_id)
            taken = {g.id for g in self._groups.values()}
            suffix = 1
            while group.id in taken:  # a renamed group kept the id its old name gave it
                group.id = stable_id("group", f"{name}#{suffix}")
                suffix += 1
            self._groups[name.lower()] = group
        return group

    def add_group(self, name: str, external_id: str | None = None) -> Group:
        if not name.strip():
            raise DirectoryError("invalid", "displayName is required")
        if name.lower() in self._groups:
            raise DirectoryError("conflict", f"group {name!r} already exists", status=409)
        return self.ensure_group(name, external_id)

    def remove_group(self, name: str) -> None:
        group = self._groups.pop(name.lower(), None)
        if group is None:
            raise DirectoryError("not-found", f"no group {name!r}", status=404)
        for user in self._users.values():
            user.groups = [g for g in user.groups if g.lower() != name.lower()]
        for other in self._groups.values():
            other.member_groups = [g for g in other.member_groups if g.lower() != name.lower()]

    def rename_group(self, name: str, new_name: str) -> Group:
        """Rename a group, keeping its id and members (a provisioning cycle renames it)."""
        group = self.get_group(name)
        if group is None:
            raise DirectoryError("not-found", f"no group {name!r}", status=404)
        if not new_name.strip():
            raise DirectoryError("invalid", "displayName is required")
        if new_name.lower() != name.lower() and new_name.lower() in self._groups:
            raise DirectoryError("conflict", f"group {new_name!r} already exists", status=409)
        del self._groups[name.lower()]
        group.display_name = new_name
        self._groups[new_name.lower()] = group
        for user in self._users.values():
            user.groups = [new_name if g.lower() == name.lower() else g for g in user.groups]
        for other in self._groups.values():
            other.member_groups = [
                new_name if g.lower() == name.lower() else g for g in other.member_groups
            ]
        return group

    def nest(self, parent: str, child: str) -> None:
        """Make group ``child`` a member of group ``parent`` (refusing a cycle)."""
        outer, inner = self.get_group(parent), self.get_group(child)
        if outer is None or inner is None:
            raise DirectoryError(
                "not-found", f"no group {parent if outer is None else child!r}", status=404
            )
        if outer.display_name.lower() in self.nested_in(inner.display_name) | {
            inner.display_name.lower()
        }:
            raise DirectoryError(
                "conflict", f"nesting {child!r} in {parent!r} makes a cycle", status=409
            )
        if inner.display_name.lower() not in (g.lower() for g in outer.member_groups):
            outer.member_groups.append(inner.display_name)

    def unnest(self, parent: str, child: str) -> None:
        outer = self.get_group(parent)
        if outer is None:
            raise DirectoryError("not-found", f"no group {parent!r}", status=404)
        outer.member_groups = [g for g in outer.member_groups if g.lower() != child.lower()]

    def nested_in(self, name: str) -> set[str]:
        """Lower-cased names of every group nested in ``name``, at any depth."""
        found: set[str] = set()
        pending = [name]
        while pending:
            group = self.get_group(pending.pop())
            for child in group.member_groups if group else []:
                if child.lower() not in found:
                    found.add(child.lower())
                    pending.append(child)
        return found

    def members(self, name: str) -> list[User]:
        return [u for u in self._users.values() if name.lower() in (g.lower() for g in u.groups)]

    def set_membership(self, name: str, user_names: Iterable[str]) -> None:
        group = self.ensure_group(name)
        for user_name in user_names:
            user = self.get_user(user_name)
            if user is None:
                raise DirectoryError("not-found", f"no user {user_name!r}", status=404)
            if group.display_name.lower() not in (g.lower() for g in user.groups):
                user.groups.append(group.display_name)

    def group_ids(self) -> dict[str, str]:
        return {g.display_name: g.id for g in self._groups.values()}

    def clear(self) -> None:
        self._users.clear()
        self._groups.clear()
