"""Property: every dialect provisions the reference SP to the same final state.

Random directories and random sequences of directory changes; after every cycle the SP's
active users (with their names), its groups and their memberships equal the directory's
assigned part, users out of scope are absent or inactive, and a further incremental cycle
sends nothing (idempotence)."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.protocol.scim.dialects import DIALECTS
from mock_idp.directory import Directory, User
from reference_sp.app import ReferenceSP

from .conftest import World, make_world_for

NAMES = ["ana", "ben", "chloe", "dev", "emil", "fay"]
GROUPS = ["Business Account Admins", "Engineering", "Sales", "Support"]
GIVEN = ["Ana", "Ben", "Zoe", None]

user_index = st.integers(0, len(NAMES) - 1)
group_index = st.integers(0, len(GROUPS) - 1)
change = st.one_of(
    st.tuples(st.just("add"), user_index),
    st.tuples(st.just("assign"), user_index),
    st.tuples(st.just("unassign"), user_index),
    st.tuples(st.just("block"), user_index),
    st.tuples(st.just("reactivate"), user_index),
    st.tuples(st.just("rename-user"), user_index, st.sampled_from(GIVEN)),
    st.tuples(st.just("change-username"), user_index, user_index),
    st.tuples(st.just("join"), user_index, group_index),
    st.tuples(st.just("leave"), user_index, group_index),
    st.tuples(st.just("manager"), user_index, user_index),
    st.tuples(st.just("delete"), user_index),
    st.tuples(st.just("rename-group"), group_index, st.sampled_from(["Ops", "R&D", "Sales"])),
    st.tuples(st.just("delete-group"), group_index),
    st.tuples(st.just("unassign-group"), group_index),
    st.tuples(st.just("nest"), group_index, group_index),
    st.tuples(st.just("unnest"), group_index, group_index),
)


def email(index: int) -> str:
    return f"{NAMES[index]}@example.com"


def apply(directory: Directory, step: tuple[Any, ...]) -> None:
    kind, first = step[0], step[1]
    if kind in ("nest", "unnest"):
        groups = directory.groups()
        if len(groups) < 2:
            return
        parent, child = groups[first % len(groups)], groups[step[2] % len(groups)]
        if kind == "unnest":
            directory.unnest(parent.display_name, child.display_name)
        elif parent is not child and parent.display_name.lower() not in directory.nested_in(
            child.display_name
        ):
            directory.nest(parent.display_name, child.display_name)
        return
    if kind in ("rename-group", "delete-group", "unassign-group"):
        groups = directory.groups()
        if not groups:
            return
        group = groups[first % len(groups)]
        if kind == "delete-group":
            directory.remove_group(group.display_name)
        elif kind == "unassign-group":
            group.assigned = False
        elif directory.get_group(step[2]) is None:
            directory.rename_group(group.display_name, step[2])
        return
    user = directory.get_user(email(first))
    if kind == "add":
        if user is None:
            directory.add_user(User(email(first), given_name=NAMES[first].title(), family_name="X"))
        return
    if user is None:
        return
    if kind in ("assign", "unassign"):
        user.assigned = kind == "assign"
    elif kind in ("block", "reactivate"):
        user.active = kind == "reactivate"
    elif kind == "rename-user":
        user.given_name = step[2]
    elif kind == "change-username":
        new_name = email(step[2])
        if directory.get_user(new_name) is None:
            renamed = User(new_name, given_name=user.given_name, groups=list(user.groups))
            renamed.assigned, renamed.active, renamed.manager = (
                user.assigned,
                user.active,
                user.manager,
            )
            directory.replace_user(user.user_name, renamed)
            for other in directory.users():
                if other.manager and other.manager.lower() == user.user_name.lower():
                    other.manager = new_name
    elif kind == "join":
        if GROUPS[step[2]].lower() not in (g.lower() for g in user.groups):
            directory.ensure_group(GROUPS[step[2]])
            user.groups.append(GROUPS[step[2]])
    elif kind == "leave":
        user.groups = [g for g in user.groups if g.lower() != GROUPS[step[2]].lower()]
    elif kind == "manager":
        user.manager = email(step[2]) if step[2] != first else None
    elif kind == "delete":
        directory.remove_user(user.user_name)


async def check(world: World, dialect: str) -> None:
    """``dialect`` ``ping-delete`` is Ping with Remove User Action = Delete: blocked users go."""
    directory = world.idp.directory
    state = await world.sp_state()
    deletes_blocked = dialect == "ping-delete"
    wanted = {
        u.user_name.lower(): u
        for u in directory.users()
        if u.assigned and (u.active or not deletes_blocked)
    }
    for name, user in wanted.items():
        assert name in state["users"], f"{dialect}: {name} missing at the SP"
        held = state["users"][name]
        assert held["active"] is user.active, f"{dialect}: {name} active"
        assert held.get("name", {}).get("givenName") == user.given_name, f"{dialect}: {name}"
    for name, held in state["users"].items():
        if name not in wanted:
            assert held["active"] is False, f"{dialect}: {name} is out of scope but active"
            if dialect in ("rfc", "ping-delete"):
                raise AssertionError(f"{dialect} deletes users out of scope; {name} is there")
    groups = {
        g.display_name: sorted(
            u.user_name.lower()
            for u in directory.members(g.display_name)
            if u.user_name.lower() in wanted
        )
        for g in directory.groups()
        if g.assigned
    }
    assert state["groups"] == groups, dialect
    nests = dialect == "rfc"
    nested = {
        g.display_name: sorted(
            n.display_name
            for n in (directory.get_group(name) for name in g.member_groups)
            if nests and n is not None and n.assigned
        )
        for g in directory.groups()
        if g.assigned
    }
    assert state["nested"] == nested, dialect


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    dialect=st.sampled_from([*DIALECTS, "ping-delete"]),
    initial=st.lists(change, max_size=12),
    cycles=st.lists(st.lists(change, min_size=1, max_size=4), min_size=1, max_size=4),
)
def test_every_dialect_reaches_the_directorys_assigned_state(
    reference_sp: ReferenceSP,
    dialect: str,
    initial: list[tuple[Any, ...]],
    cycles: list[list[tuple[Any, ...]]],
) -> None:
    async def scenario() -> None:
        world = make_world_for(reference_sp, dialect)
        for step in initial:
            apply(world.idp.directory, step)
        for steps in [[], *cycles]:
            for step in steps:
                apply(world.idp.directory, step)
            report = await world.idp.provision()
            assert report.ok, report.to_json()
            await check(world, dialect)
            again = await world.idp.provision()
            assert again.requests == 0, [r.to_json() for r in again.results]

    asyncio.run(scenario())
