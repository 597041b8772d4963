"""The one way to change the IdP's directory, for the control API and the harness alike.

Each action has one path and the same side effects wherever it comes from: blocking or
deleting a user also ends their IdP sessions at once (an IdP session must not outlive the
account), and a user's groups exist in the directory as soon as the user is in them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .directory import Directory, Group, User
from .refusals import DirectoryError
from .sessions import SessionStore


class DirectoryScript:
    def __init__(self, directory: Directory, sessions: SessionStore) -> None:
        self.directory = directory
        self.sessions = sessions

    def user(self, user_name: str) -> User:
        found = self.directory.get_user(user_name)
        if found is None:
            raise DirectoryError("not-found", f"no user {user_name!r}", status=404)
        return found

    # users
    def add_user(self, user: User) -> User:
        return self.directory.add_user(user)

    def replace_user(self, user_name: str, user: User) -> User:
        replaced = self.directory.replace_user(user_name, user)
        if not replaced.active:
            self.sessions.end_user(user_name)
        return replaced

    def update_user(self, user_name: str, changes: Mapping[str, Any]) -> User:
        """Set the fields named (``User`` attribute names); groups and ``active`` take their
        own paths, so a patch that blocks a user ends their sessions like a block does."""
        user = self.user(user_name)
        for name, value in changes.items():
            if name not in ("groups", "active"):
                setattr(user, name, value)
        if "groups" in changes:
            self.set_groups(user.user_name, list(changes["groups"]))
        if changes.get("active") is True:
            self.unblock_user(user.user_name)
        elif changes.get("active") is False:
            self.block_user(user.user_name)
        return user

    def set_attribute(self, user_name: str, name: str, values: Iterable[str]) -> None:
        self.user(user_name).attributes[name] = list(values)

    def block_user(self, user_name: str) -> None:
        """Disable the account: no sign-in, and its IdP sessions end at once."""
        self.user(user_name).active = False
        self.sessions.end_user(user_name)

    def unblock_user(self, user_name: str) -> None:
        self.user(user_name).active = True

    def unassign_user(self, user_name: str) -> None:
        """Take the user out of the app's assignment: no longer provisioned."""
        self.user(user_name).assigned = False

    def remove_user(self, user_name: str) -> None:
        self.directory.remove_user(user_name)
        self.sessions.end_user(user_name)

    # membership
    def set_groups(self, user_name: str, groups: list[str]) -> None:
        user = self.user(user_name)
        for group in groups:
            self.directory.ensure_group(group)
        user.groups = list(groups)

    def add_to_group(self, user_name: str, group: str) -> None:
        self.directory.set_membership(group, [user_name])

    def remove_from_group(self, user_name: str, group: str) -> None:
        user = self.user(user_name)
        user.groups = [g for g in user.groups if g.lower() != group.lower()]

    # groups
    def ensure_group(self, name: str) -> Group:
        return self.directory.ensure_group(name)

    def add_group(
        self,
        name: str,
        *,
        external_id: str | None = None,
        assigned: bool = True,
        members: Iterable[str] = (),
        member_groups: Iterable[str] = (),
    ) -> Group:
        group = self.directory.add_group(name, external_id)
        group.assigned = assigned
        self.directory.set_membership(group.display_name, members)
        for child in member_groups:
            self.directory.nest(group.display_name, child)
        return group

    def update_group(
        self,
        name: str,
        *,
        display_name: str | None = None,
        assigned: bool | None = None,
        member_groups: Iterable[str] | None = None,
    ) -> Group:
        """Rename (the same group: id and members kept), assign, or replace nested groups."""
        group = self.group(name)
        if display_name is not None:
            group = self.directory.rename_group(name, display_name)
        if assigned is not None:
            group.assigned = assigned
        if member_groups is not None:
            for child in list(group.member_groups):
                self.directory.unnest(group.display_name, child)
            for child in member_groups:
                self.directory.nest(group.display_name, child)
        return group

    def rename_group(self, name: str, new_name: str) -> Group:
        return self.update_group(name, display_name=new_name)

    def remove_group(self, name: str) -> None:
        self.directory.remove_group(name)

    def group(self, name: str) -> Group:
        found = self.directory.get_group(name)
        if found is None:
            raise DirectoryError("not-found", f"no group {name!r}", status=404)
        return found

    # on purpose, for a test
    @contextmanager
    def vouching_for(self, user_name: str, deleted: User | None = None) -> Iterator[None]:
        """Let the IdP sign ``user_name`` in for a while although its directory would not
        (blocked, or ``deleted`` and gone): an IdP session outliving the block, or an IdP that
        deprovisions only over SCIM. Afterwards the account is as it was; sessions begun
        meanwhile are left as they are, as such an IdP would leave them."""
        user = self.directory.get_user(user_name)
        if user is None:
            if deleted is None:
                yield
                return
            self.directory.add_user(copy.deepcopy(deleted))
            try:
                yield
            finally:
                self.directory.remove_user(deleted.user_name)
            return
        was_active = user.active
        user.active = True
        try:
            yield
        finally:
            user.active = was_active
