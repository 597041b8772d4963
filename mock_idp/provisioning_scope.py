"""The directory's assigned part, as the provisioning dialects see it (``DesiredState``).

A user is in scope when assigned to the app; a group is pushed when assigned; a pushed group's
members are its in-scope users and the pushed groups nested in it (direct members only: which
dialects send nested groups is the dialect's business). The manager is named by key (the
manager's directory id) and only when the manager is in scope too.
"""

from __future__ import annotations

from harness.protocol.scim.dialects.model import DesiredState, GroupState, UserState

from .directory import Directory, User


def user_state(user: User, keys_by_name: dict[str, str]) -> UserState:
    manager = keys_by_name.get(user.manager.lower()) if user.manager else None
    return UserState(
        key=user.id,
        user_name=user.user_name,
        external_id=user.external_id or user.id,
        active=user.active,
        given_name=user.given_name,
        family_name=user.family_name,
        display_name=user.display_name,
        email=user.email or user.user_name,
        title=user.title,
        department=user.department,
        employee_number=user.employee_number,
        manager=manager,
    )


def desired_state(directory: Directory) -> DesiredState:
    in_scope = [u for u in directory.users() if u.assigned]
    keys_by_name = {u.user_name.lower(): u.id for u in in_scope}
    users = {u.id: user_state(u, keys_by_name) for u in in_scope}
    groups: dict[str, GroupState] = {}
    pushed = {g.display_name.lower(): g.id for g in directory.groups() if g.assigned}
    for group in directory.groups():
        if not group.assigned:
            continue
        members = frozenset(u.id for u in directory.members(group.display_name) if u.assigned)
        nested = frozenset(pushed[g.lower()] for g in group.member_groups if g.lower() in pushed)
        groups[group.id] = GroupState(
            key=group.id,
            display_name=group.display_name,
            external_id=group.external_id or group.id,
            members=members,
            member_groups=nested,
        )
    return DesiredState(
        users=users,
        groups=groups,
        directory_users=frozenset(u.id for u in directory.users()),
    )
