"""Faults at the SP: recorded, retried where the vendor would, and never losing a pending change
(the next cycle sends it); a wrong token or URL gives a one-line reason, not a traceback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from mock_idp.directory import User
from mock_idp.idp import MockIdP
from mock_idp.provisioning import ProvisioningTarget
from reference_sp.app import ReferenceSP

from .conftest import SCIM_URL, Sleeps, World, make_world, sample_key
from .faults import Fault, FaultyTransport, scim_error
from .scenarios import ALICE, BOB, base_directory

pytestmark = pytest.mark.anyio


def faulty(world: World) -> FaultyTransport:
    transport = FaultyTransport(httpx.ASGITransport(app=world.sp.app))
    world.idp.provisioning.transport = transport
    return transport


def scim_entries(world: World) -> list[dict[str, Any]]:
    return [e.details for e in world.idp.journal.entries(kind="SCIM")]


def user(world: World, name: str) -> User:
    found = world.idp.directory.get_user(name)
    assert found is not None
    return found


def scim_id(world: World, name: str) -> str:
    return world.idp.provisioning.state.users[user(world, name).id].scim_id


async def test_ping_backs_off_exponentially_on_5xx_and_gets_through(
    reference_sp: ReferenceSP,
) -> None:
    world = make_world(reference_sp, "ping")
    base_directory(world.idp.directory)
    faulty(world).add(Fault("POST", "/Users", "status", 503, times=3))
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    assert world.sleeps.waits == [1.0, 2.0, 4.0]
    attempts = [
        (e["status"], e["attempt"]) for e in scim_entries(world) if e["request"]["method"] == "POST"
    ][:4]
    assert attempts == [(503, 0), (503, 1), (503, 2), (201, 3)]


@pytest.mark.parametrize(
    ("dialect", "waits"),
    [("rfc", [7.0]), ("entra", [7.0]), ("okta", [7.0]), ("ping", [7.0])],
)
async def test_429_waits_for_retry_after(
    reference_sp: ReferenceSP, dialect: str, waits: list[float]
) -> None:
    world = make_world(reference_sp, dialect)
    base_directory(world.idp.directory)
    faulty(world).add(Fault("POST", "/Users", "status", 429, headers={"Retry-After": "7"}))
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    assert world.sleeps.waits == waits


@pytest.mark.parametrize("dialect", ["rfc", "entra", "entra-compat", "okta", "ping"])
async def test_a_scim_error_fails_that_user_only_and_the_next_cycle_sends_it(
    reference_sp: ReferenceSP, dialect: str
) -> None:
    world = make_world(reference_sp, dialect)
    base_directory(world.idp.directory)
    body = scim_error(409, "userName alice@example.com is taken", "uniqueness")
    faulty(world).add(Fault("POST", "/Users", "status", 409, body=body))
    report = await world.idp.provision()
    alice = report.users()[ALICE]
    assert alice.status == "failed"
    assert alice.error is not None
    assert (alice.error["status"], alice.error["scimType"]) == (409, "uniqueness")
    assert alice.error["detail"] == "userName alice@example.com is taken"
    assert report.users()[BOB].status == "provisioned"
    assert world.sleeps.waits == []  # a 409 is not retried
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    assert report.users()[ALICE].action == "created"
    state = await world.sp_state()
    assert ALICE in state["users"]
    assert ALICE in state["groups"]["Engineering"]


@pytest.mark.parametrize(
    ("dialect", "retried"), [("rfc", True), ("entra", False), ("okta", False), ("ping", True)]
)
async def test_5xx_garbage_and_timeouts(
    reference_sp: ReferenceSP, dialect: str, retried: bool
) -> None:
    world = make_world(reference_sp, dialect)
    base_directory(world.idp.directory)
    assert (await world.idp.provision()).ok
    transport = faulty(world)
    user(world, BOB).family_name = "Lee"
    user(world, ALICE).active = False
    write = "PUT" if dialect in ("okta", "ping") else "PATCH"
    transport.add(
        Fault(
            write,
            "/Users/" + scim_id(world, BOB),
            "timeout",
            times=5,
        )
    )
    transport.add(Fault("PATCH", "/Groups/x-never", "status", 500))
    first = await world.idp.provision()
    bob = first.users()[BOB]
    assert bob.status == "failed"
    assert bob.error is not None and bob.error["status"] == 0
    assert "timeout" in str(bob.error["transport_error"])
    assert first.users()[ALICE].status == "provisioned"
    assert bool(world.sleeps.waits) is retried
    transport.faults.clear()
    second = await world.idp.provision()
    assert second.ok, second.to_json()
    assert second.users()[BOB].action == "updated"
    assert (await world.sp_state())["users"][BOB]["name"]["familyName"] == "Lee"


async def test_garbage_is_a_failure_with_a_reason(reference_sp: ReferenceSP) -> None:
    world = make_world(reference_sp, "entra")
    base_directory(world.idp.directory)
    faulty(world).add(Fault("POST", "/Groups", "garbage", 200, times=2))
    report = await world.idp.provision()
    failed = report.groups()
    assert {name: r.status for name, r in failed.items()} == {
        "Engineering": "failed",
        "Sales": "failed",
    }
    assert "not JSON" in str(failed["Sales"].error)
    again = await world.idp.provision()
    assert again.ok, again.to_json()
    assert sorted((await world.sp_state())["groups"]) == ["Engineering", "Sales"]


async def test_a_write_to_a_user_deleted_at_the_sp_recreates_it(reference_sp: ReferenceSP) -> None:
    world = make_world(reference_sp, "rfc")
    base_directory(world.idp.directory)
    assert (await world.idp.provision()).ok
    bob_id = scim_id(world, BOB)
    async with world.client() as client:
        assert (await client.delete(f"/Users/{bob_id}")).status_code == 204
    user(world, BOB).title = "Engineer"
    report = await world.idp.provision()
    assert report.users()[BOB].status == "failed"
    error = report.users()[BOB].error
    assert error is not None and error["status"] == 404  # the SP's own SCIM error
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    assert (await world.sp_state())["users"][BOB]["title"] == "Engineer"


@pytest.mark.parametrize("dialect", ["rfc", "entra", "okta", "ping"])
async def test_wrong_token_is_a_clear_message(reference_sp: ReferenceSP, dialect: str) -> None:
    world = make_world(reference_sp, dialect)
    base_directory(world.idp.directory)
    world.idp.provision_to(ProvisioningTarget(SCIM_URL, token="wrong", dialect=dialect))
    result = await world.idp.check_provisioning_connection()
    assert not result.ok
    assert "check the SCIM token" in result.message
    report = await world.idp.provision()
    assert report.aborted is not None and "refused the credentials (401" in report.aborted
    assert report.requests == 1
    assert {
        r.status for r in report.results if r.kind == "user" and r.name != "carol@example.com"
    } == {"failed"}
    world.idp.provision_to(ProvisioningTarget(SCIM_URL, token=world.token, dialect=dialect))
    assert (await world.idp.provision()).ok


async def test_wrong_url_is_a_clear_message(reference_sp: ReferenceSP) -> None:
    world = make_world(reference_sp, "okta")
    base_directory(world.idp.directory)
    world.idp.provision_to(
        ProvisioningTarget("http://sp.test/scim/v3", token=world.token, dialect="okta")
    )
    result = await world.idp.check_provisioning_connection()
    assert not result.ok
    assert "check the SCIM base URL" in result.message


async def test_basic_auth_header(reference_sp: ReferenceSP) -> None:
    world = make_world(reference_sp, "ping")
    transport = faulty(world)
    world.idp.provision_to(
        ProvisioningTarget(SCIM_URL, basic_user="ping", basic_password="s3cret", dialect="ping")
    )
    result = await world.idp.check_provisioning_connection()
    assert transport.seen[0].headers["authorization"] == "Basic cGluZzpzM2NyZXQ="
    assert transport.seen[0].headers["user-agent"].startswith("PingFederate")
    assert not result.ok  # the reference SP takes bearer tokens only
    assert "401" in result.message


async def test_okta_takes_a_scim_404_for_a_lookup_that_found_nobody(
    reference_sp: ReferenceSP,
) -> None:
    world = make_world(reference_sp, "okta")
    base_directory(world.idp.directory)
    nobody = scim_error(404, "no such user")
    faulty(world).add(Fault("GET", "/Users", "status", 404, body=nobody, times=2))
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    assert report.users()[ALICE].action == "created"


async def test_a_plain_404_on_a_lookup_means_a_wrong_base_url(reference_sp: ReferenceSP) -> None:
    world = make_world(reference_sp, "okta")
    base_directory(world.idp.directory)
    faulty(world).add(Fault("GET", "/Users", "status", 404, body=b"Not Found"))
    report = await world.idp.provision()
    assert report.aborted is not None and "check the SCIM base URL" in report.aborted


@pytest.mark.parametrize("dialect", ["rfc", "entra", "entra-compat"])
async def test_a_user_already_at_the_sp_is_adopted_and_only_its_differences_written(
    reference_sp: ReferenceSP, dialect: str
) -> None:
    world = make_world(reference_sp, dialect)
    base_directory(world.idp.directory)
    async with world.client() as client:
        created = await client.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": ALICE,
                "name": {"givenName": "Alicia", "familyName": "Ng"},
                "emails": [{"value": ALICE, "type": "work", "primary": True}],
                "active": True,
            },
        )
        assert created.status_code == 201
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    assert report.users()[ALICE].action == "updated"
    patches = [
        e["request"]["body"]
        for e in scim_entries(world)
        if e["request"]["method"] == "PATCH" and e["subject"] == ALICE
    ]
    written = json.dumps(patches)
    assert "Alice" in written and "Head of Engineering" in written
    assert "familyName" not in written  # the SP had it right
    state = await world.sp_state()
    assert state["users"][ALICE]["name"]["givenName"] == "Alice"


@pytest.mark.loopback
async def test_a_real_timeout_over_loopback_is_recorded_and_retried_by_ping() -> None:
    from tests.support.servers import serve

    async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await asyncio.sleep(1.0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    with serve(slow_app) as url:
        idp = MockIdP("http://idp.test", signing_keys=[sample_key("idp")], seed=2)
        sleeps = Sleeps()
        idp.provisioning.sleep = sleeps
        idp.directory.add_user(User(ALICE))
        target = ProvisioningTarget(f"{url}/scim/v2", token="t", dialect="ping", timeout=0.2)
        idp.provision_to(target)
        report = await idp.provision()
    alice = report.users()[ALICE]
    assert alice.status == "failed"
    assert alice.error is not None and alice.error["transport_error"] == "timeout after 0.2 s"
    assert sleeps.waits == [1.0, 2.0, 4.0, 8.0]
    assert [e.details["attempt"] for e in idp.journal.entries(kind="SCIM")] == [0, 1, 2, 3, 4]
