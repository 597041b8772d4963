"""The business-account rules as SCIM provisioning drives them, including their effect on
sessions already open: admin through the IdP group, license seats with a waiting list,
deprovisioning (deactivation, DELETE, group removal) ending everything at once, audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from harness.protocol.saml.authn_request import parse_authn_request
from harness.protocol.saml.bindings import decode_redirect_query
from harness.protocol.saml.mutators import MutatorCall
from mock_idp.idp import MockIdP
from reference_sp.timeutil import iso
from tests.scim.conftest import database_urls

from .conftest import ADMINS, World, make_world, sample_key

USER = "dana@acme.test"


def actions(world: World, user: str | None = None) -> list[str]:
    return [e["action"] for e in world.audit() if user is None or e["user_name"] == user]


def activate(
    world: World, browser: TestClient | None = None, version: str = "19.1", device: str = "laptop-1"
) -> str:
    """Start an activation as the device, complete it in the signed-in browser."""
    browser = browser or world.http
    started = browser.post(
        "/api/activations",
        json={"product": "Example Desktop", "clientVersion": version, "deviceId": device},
    )
    assert started.status_code == 201, started.text
    body = started.json()
    path = body["activationUrl"].removeprefix("http://sp.test")
    page = browser.get(path)
    assert page.status_code == 200, page.text
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    done = browser.post(path, data={"csrf": csrf})
    assert done.status_code == 303, done.text
    return str(body["id"])


def check_in(world: World, activation_id: str) -> dict[str, Any]:
    return dict(world.http.get(f"/api/activations/{activation_id}").json())


# ------------------------------------------------------------------------------------ admin


def test_admin_exactly_while_in_the_admin_group_and_for_open_sessions(world: World) -> None:
    user = world.provision(USER)
    world.sign_in(USER)
    assert world.me().json()["roles"] == ["user"]
    assert world.http.get("/admin").status_code == 403
    world.add_to_group(ADMINS, user["id"])
    assert world.me().json()["roles"] == ["user", "admin"]  # the same session, no new sign-in
    assert world.http.get("/admin").status_code == 200
    world.remove_from_group(ADMINS, user["id"])
    assert world.me().json()["roles"] == ["user"]
    assert world.http.get("/admin", headers={"accept": "application/json"}).json()["reason"] == (
        "not-admin"
    )
    assert actions(world, USER).count("admin-granted") == 1
    assert actions(world, USER).count("admin-revoked") == 1


def test_admin_group_name_is_matched_without_case_and_rename_revokes(world: World) -> None:
    user = world.provision(USER)
    group = world.scim.create_group("business account ADMINS", members=(user["id"],))
    world.sign_in(USER)
    assert "admin" in world.me().json()["roles"]
    renamed = world.scim.patch(
        f"/Groups/{group['id']}", [{"op": "replace", "path": "displayName", "value": "Former"}]
    )
    assert renamed.status_code == 200
    assert "admin" not in world.me().json()["roles"]


def test_parallels_profile_uses_its_admin_group() -> None:
    for world in make_world("sqlite://", profile="parallels"):
        user = world.provision(USER, groups=(ADMINS,))
        world.sign_in(USER)
        assert world.me().json()["roles"] == ["user"]
        world.add_to_group("Parallels Business Account Admins", user["id"])
        assert world.me().json()["roles"] == ["user", "admin"]
        assert world.me().json()["license"]["product"] == "Parallels Desktop"


# ------------------------------------------------------------------------- deprovisioning


@pytest.mark.parametrize("how", ["deactivate", "put-inactive", "delete"])
def test_deprovisioning_ends_everything_at_once(world: World, how: str) -> None:
    user = world.provision(USER, groups=(ADMINS,))
    world.sign_in(USER)
    other = world.http_session()
    world.sign_in(USER, other)
    activation = activate(world)
    assert check_in(world, activation)["status"] == "active"
    assert world.me().json()["license"]["state"] == "held"

    if how == "deactivate":
        world.deactivate(user["id"])
        reason = "user-deactivated"
    elif how == "put-inactive":
        current = world.scim.get(f"/Users/{user['id']}").json()
        current["active"] = False
        assert world.scim.put(f"/Users/{user['id']}", current).status_code == 200
        reason = "user-deactivated"
    else:
        world.delete(user["id"])
        reason = "user-deleted"

    assert world.me().status_code == 401
    assert world.me(other).status_code == 401
    assert world.http.get("/admin").status_code in (303, 401)
    state = check_in(world, activation)
    assert (state["status"], state["reason"]) == ("revoked", reason)
    log = actions(world, USER)
    for effect in ("sessions-ended", "admin-revoked", "license-returned", "activation-revoked"):
        assert effect in log, (effect, log)
    ended = next(e for e in world.audit() if e["action"] == "sessions-ended")
    assert '"count": 2' in ended["detail"]
    # And no new sign-in.
    if how != "delete":
        response = world.post(world.response_for(USER), accept="application/json")
        assert response.json()["reason"] == "user-inactive"


@pytest.fixture(params=database_urls())
def one_seat(request: pytest.FixtureRequest) -> Iterator[World]:
    yield from make_world(request.param, seats=1)


def test_one_deprovisioning_audits_each_effect_in_the_order_it_happened(one_seat: World) -> None:
    """The entries of one user's reconciliation are written together at its end (one statement
    on PostgreSQL): they keep the order of the effects, the seat handed on last."""
    world = one_seat
    user = world.provision(USER, groups=(ADMINS,))
    world.clock.offset += timedelta(seconds=1)
    world.provision("next@acme.test")  # waits for the only seat
    world.sign_in(USER)
    world.sign_in(USER, world.http_session())
    activate(world)
    before = len(world.audit())

    world.deactivate(user["id"])

    entries = [(e["action"], e["user_name"]) for e in world.audit()[before:]]
    assert entries == [
        ("sessions-ended", USER),
        ("user-deactivated", USER),
        ("admin-revoked", USER),
        ("license-returned", USER),
        ("activation-revoked", USER),
        ("license-assigned", "next@acme.test"),
    ]


def test_seats_freed_behind_the_rules_are_handed_on_and_audited(one_seat: World) -> None:
    """The hand-on alone (a sweep's last step), with no user's writes to carry its entries."""
    from sqlalchemy import update

    from reference_sp.account_tables import account_users

    world = one_seat
    world.provision(USER)
    world.clock.offset += timedelta(seconds=1)
    world.provision("next@acme.test")  # waits for the only seat
    organisation = world.sp.organisations.get(world.org_pk)
    assert organisation is not None
    before = len(world.audit())
    with world.sp.db.transaction() as conn:
        conn.execute(
            update(account_users).where(account_users.c.license == "held").values(license="none")
        )
        world.sp.accounts.hand_on_seats(conn, organisation)

    handed = [(e["action"], e["user_name"], e["detail"]) for e in world.audit()[before:]]
    assert handed == [
        (
            "license-assigned",
            "next@acme.test",
            '{"from_waiting_list": true, "product": "Example Desktop"}',
        )
    ]


def test_reactivation_restores_sign_in_admin_and_license(world: World) -> None:
    user = world.provision(USER, groups=(ADMINS,))
    world.deactivate(user["id"])
    world.reactivate(user["id"])
    world.sign_in(USER)
    me = world.me().json()
    assert me["roles"] == ["user", "admin"] and me["license"]["state"] == "held"


# ------------------------------------------------------------------------------- licenses


@pytest.fixture
def two_seats() -> Iterator[World]:
    yield from make_world("sqlite://", seats=2)


def test_waiting_list_gets_freed_seats_first_come(two_seats: World) -> None:
    world = two_seats
    a = world.provision("a@acme.test", groups=(ADMINS,))
    world.provision("b@acme.test")
    world.clock.offset += timedelta(seconds=1)
    world.provision("c@acme.test")
    world.clock.offset += timedelta(seconds=1)
    world.provision("d@acme.test")
    world.sign_in("c@acme.test")
    license_c = world.me().json()["license"]
    assert (license_c["state"], license_c["waitingPosition"]) == ("waiting", 1)
    assert "waiting list" in world.http.get("/account").text
    admin = world.http_session()
    world.sign_in("a@acme.test", admin)
    seats = admin.get("/admin", headers={"accept": "application/json"}).json()["seats"]
    assert seats == {"total": 2, "held": 2, "waiting": ["c@acme.test", "d@acme.test"]}
    assert "c@acme.test" in admin.get("/admin").text

    world.clock.offset += timedelta(seconds=1)
    before = len(world.audit())
    world.deactivate(a["id"])  # a's seat goes to c, the first in line, at once
    assert world.me().json()["license"]["state"] == "held"
    assigned = [e for e in world.audit()[before:] if e["action"] == "license-assigned"]
    assert [e["user_name"] for e in assigned] == ["c@acme.test"]
    c_id = world.scim.filter("Users", 'userName eq "c@acme.test"').json()["Resources"][0]["id"]
    with world.sp.db.transaction() as conn:  # held since the seat was handed on
        assert world.sp.accounts.account(conn, c_id).license_since == iso(world.clock.now())


def test_license_waiting_user_cannot_activate(two_seats: World) -> None:
    world = two_seats
    for name in ("a@acme.test", "b@acme.test", "c@acme.test"):
        world.provision(name)
    world.sign_in("c@acme.test")
    started = world.http.post(
        "/api/activations",
        json={"product": "Example Desktop", "clientVersion": "19", "deviceId": "pc"},
    ).json()
    path = started["activationUrl"].removeprefix("http://sp.test")
    csrf = world.http.get(path).text.split('name="csrf" value="')[1].split('"')[0]
    refused = world.http.post(path, data={"csrf": csrf}, headers={"accept": "application/json"})
    assert refused.json()["reason"] == "license-waiting"
    assert check_in(world, started["id"])["status"] == "pending"


def test_license_group_holds_the_seats() -> None:
    for world in make_world("sqlite://", license_group="Desktop Users"):
        user = world.provision(USER)
        world.sign_in(USER)
        assert world.me().json()["license"]["state"] == "none"
        world.add_to_group("Desktop Users", user["id"])
        assert world.me().json()["license"]["state"] == "held"
        activation = activate(world)
        world.remove_from_group("Desktop Users", user["id"])
        assert world.me().json()["license"]["state"] == "none"
        assert world.me().status_code == 200  # still signed in: only the license went
        state = check_in(world, activation)
        assert (state["status"], state["reason"]) == ("revoked", "license-revoked")


# ---------------------------------------------------------------------------- activations


def test_activation_completes_through_sso(world: World) -> None:
    world.provision(USER)
    started = world.http.post(
        "/api/activations",
        json={"product": "Example Desktop", "clientVersion": "18.0.1", "deviceId": "mac-7"},
    )
    assert started.status_code == 201
    body = started.json()
    assert check_in(world, body["id"])["status"] == "pending"
    path = body["activationUrl"].removeprefix("http://sp.test")
    # Not signed in: the link leads to SSO and back.
    to_landing = world.http.get(path)
    assert to_landing.status_code == 303
    assert to_landing.headers["location"] == f"/?RelayState={path}"
    login = world.http.get("/saml/login", params={"email": USER, "RelayState": path})
    message = world.idp.sso_from_redirect(login.headers["location"], USER)
    back = world.post(message)
    assert back.headers["location"] == path
    page = world.http.get(path)
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert world.http.post(path, data={"csrf": "wrong"}).status_code == 403
    assert world.http.post(path, data={"csrf": csrf}).status_code == 303
    state = check_in(world, body["id"])
    assert state["status"] == "active" and state["user"] == USER
    assert "mac-7" in world.http.get("/account").text


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (
            {"product": "Example Desktop", "clientVersion": "17.1.2", "deviceId": "x"},
            422,
            "client-version-unsupported",
        ),
        (
            {"product": "Example Desktop", "clientVersion": "banana", "deviceId": "x"},
            400,
            "bad-client-version",
        ),
        ({"product": "Example Desktop", "deviceId": "x"}, 400, "bad-request"),
        ([1, 2], 400, "bad-request"),
    ],
)
def test_activation_start_errors(world: World, body: Any, status: int, reason: str) -> None:
    response = world.http.post("/api/activations", json=body)
    assert (response.status_code, response.json()["reason"]) == (status, reason)


def test_unknown_activation_check_in_is_404(world: World) -> None:
    assert world.http.get("/api/activations/nope").status_code == 404


def test_per_device_subscription_cannot_activate_through_sso() -> None:
    for world in make_world("sqlite://", subscription="per-device"):
        world.provision(USER)
        world.sign_in(USER)
        assert world.me().json()["license"] == {
            "state": "none",
            "product": "Example Desktop",
            "subscription": "per-device",
            "seats": 100,
            "seatsHeld": 0,
        }
        started = world.http.post(
            "/api/activations",
            json={"product": "Example Desktop", "clientVersion": "19", "deviceId": "pc"},
        ).json()
        path = started["activationUrl"].removeprefix("http://sp.test")
        csrf = world.http.get(path).text.split('name="csrf" value="')[1].split('"')[0]
        refused = world.http.post(path, data={"csrf": csrf}, headers={"accept": "application/json"})
        assert refused.json()["reason"] == "subscription-not-per-user"


# --------------------------------------------------------------------------- organisations


def test_one_organisations_idp_never_signs_in_another_organisations_user(world: World) -> None:
    other_idp = MockIdP(
        "http://idp-b.test", signing_keys=[sample_key("idp-rollover")], seed=4, clock=world.clock
    )
    other_idp.register_sp_metadata(world.http.get("/saml/metadata").content)
    world.sp.add_organisation(
        "Beta", "beta-token", idp_metadata=other_idp.metadata_xml(), email_domains=["beta.test"]
    )
    beta = type(world.scim)(world.http, "beta-token")
    beta.create_user("eve@beta.test", active=True)
    world.idp.add_user("eve@beta.test", password="pw")
    other_idp.add_user("eve@beta.test", password="pw")

    # Acme's IdP asserts a Beta user: looked up in Acme only.
    message = world.idp.sso(world.sp.entity_id, "eve@beta.test")
    response = world.post(message, accept="application/json")
    assert response.json()["reason"] == "unknown-user"
    # Acme's IdP answers a request started for Beta: Beta trusts only its own IdP.
    login = world.http.get("/saml/login", params={"email": "eve@beta.test"})
    assert login.headers["location"].startswith("http://idp-b.test/")
    request = decode_redirect_query(urlsplit(login.headers["location"]).query)
    request_id = parse_authn_request(request.message).id
    world.idp.plan_next(MutatorCall("bad-in-response-to", {"value": request_id}))
    message = world.idp.sso(world.sp.entity_id, "eve@beta.test")
    response = world.post(message, accept="application/json")
    assert response.json()["reason"] == "bad-signature"  # checked against Beta's keys only
    assert world.me().status_code == 401
    # Beta's IdP signs Beta's user in, as Beta.
    message = other_idp.sso_from_redirect(login.headers["location"], "eve@beta.test")
    assert world.post(message).status_code == 303
    assert world.me().json()["organization"] == "Beta"


def test_access_group_removal_is_deprovisioning() -> None:
    for world in make_world("sqlite://", access_group="Example App Users"):
        user = world.provision(USER, groups=(ADMINS,))
        response = world.post(world.response_for(USER), accept="application/json")
        assert (response.json()["reason"], response.json()["rule"]) == (
            "user-not-assigned",
            "BIZ-SIGNIN-1",
        )
        world.add_to_group("Example App Users", user["id"])
        world.sign_in(USER)
        assert world.me().json()["roles"] == ["user", "admin"]
        activation = activate(world)
        world.remove_from_group("Example App Users", user["id"])
        assert world.me().status_code == 401
        state = check_in(world, activation)
        assert (state["status"], state["reason"]) == ("revoked", "user-unassigned")
        log = actions(world, USER)
        for effect in ("user-unassigned", "sessions-ended", "admin-revoked", "license-returned"):
            assert effect in log, (effect, log)


def test_entra_string_boolean_deactivation_deprovisions(world: World) -> None:
    """Entra ID sends ``"value": "False"`` (a string) in its PATCH; it still deprovisions."""
    user = world.provision(USER)
    world.sign_in(USER)
    patched = world.scim.patch(
        f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "False"}]
    )
    assert patched.status_code == 200, patched.text
    assert world.me().status_code == 401
