from __future__ import annotations

import pytest

from harness.protocol.scim.dialects import DIALECTS
from harness.protocol.scim.schema import ENTERPRISE_USER_SCHEMA
from mock_idp.demo import ADMIN_GROUP, seed_demo_directory
from mock_idp.directory import Directory
from reference_sp.app import ReferenceSP

from .conftest import make_world


def people(seed: int, count: int = 12) -> list[dict[str, object]]:
    directory = Directory()
    return [u.to_json() for u in seed_demo_directory(directory, count, seed)]


def test_the_same_seed_gives_the_same_people() -> None:
    assert people(7) == people(7)
    assert people(7) != people(8)


def test_departments_managers_and_admins() -> None:
    directory = Directory()
    users = seed_demo_directory(directory, 12, seed=5)
    names = {u.user_name for u in users}
    assert len(names) == 12
    assert [u.user_name for u in directory.members(ADMIN_GROUP)] == [
        users[0].user_name,
        users[1].user_name,
    ]
    assert users[0].manager is None
    for user in users[1:]:
        assert user.manager in names
        assert user.department in user.groups
        assert user.given_name and user.family_name and user.title
    heads = {u.department: u for u in users[1:] if u.manager == users[0].user_name}
    assert sorted(heads) == ["Engineering", "Finance", "Sales", "Support"]


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", list(DIALECTS))
async def test_the_demo_directory_provisions_with_managers(
    reference_sp: ReferenceSP, dialect: str
) -> None:
    world = make_world(reference_sp, dialect)
    users = seed_demo_directory(world.idp.directory, 15, seed=11)
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    state = await world.sp_state()
    ids = {u["id"]: name for name, u in state["users"].items()}
    for user in users:
        held = state["users"][user.user_name]
        enterprise = held.get(ENTERPRISE_USER_SCHEMA, {})
        assert enterprise.get("department") == user.department
        manager = enterprise.get("manager", {}).get("value")
        assert (ids[manager] if manager else None) == user.manager
    assert len(state["groups"][ADMIN_GROUP]) == 2
    assert (await world.idp.provision()).requests == 0
