from __future__ import annotations

import pytest

from harness.protocol.scim.dialects import DIALECTS
from mock_idp.directory import User
from reference_sp.app import ReferenceSP

from .conftest import make_world

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("dialect", list(DIALECTS))
async def test_initial_cycle(reference_sp: ReferenceSP, dialect: str) -> None:
    world = make_world(reference_sp, dialect)
    d = world.idp.directory
    d.add_user(
        User(
            "alice@example.com",
            given_name="Alice",
            family_name="Ng",
            groups=["Eng"],
            department="R&D",
        )
    )
    d.add_user(
        User(
            "bob@example.com",
            given_name="Bob",
            family_name="Li",
            groups=["Eng"],
            manager="alice@example.com",
        )
    )
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    state = await world.sp_state()
    assert set(state["users"]) == {"alice@example.com", "bob@example.com"}
    assert state["groups"] == {"Eng": ["alice@example.com", "bob@example.com"]}
    d.get_user("bob@example.com").given_name = "Robert"
    d.get_user("alice@example.com").active = False
    d.rename_group("Eng", "Engineering")
    d.get_user("alice@example.com").groups = []
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    state = await world.sp_state()
    assert state["groups"] == {"Engineering": ["bob@example.com"]}
    assert state["users"]["bob@example.com"]["name"]["givenName"] == "Robert"
    assert state["users"]["alice@example.com"]["active"] is False
    d.remove_user("bob@example.com")
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    report = await world.idp.provision()
    assert report.requests == 0
    report = await world.idp.provision("initial")
    assert report.ok, report.to_json()
