"""PATCH over HTTP, in the shapes Entra ID and Okta really send (RFC 7644 §3.5.2), with the
tolerated deviations recorded in the journal."""

from __future__ import annotations

from typing import Any

from harness.protocol.scim.schema import ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA
from tests.scim.conftest import ScimClient

ENTERPRISE = ENTERPRISE_USER_SCHEMA


def journal_deviations(reference_sp: Any) -> list[str]:
    return [d["code"] for e in reference_sp.scim_journal(1) for d in e.deviations]


def test_entra_deactivation_with_capitalised_op_and_string_boolean(
    scim: ScimClient, reference_sp: Any
) -> None:
    user = scim.create_user("dana@example.com", active=True)
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "False"}]
    )
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert scim.get(f"/Users/{user['id']}").json()["active"] is False
    assert {"patch-op-not-lowercase", "boolean-as-string"} <= set(journal_deviations(reference_sp))


def test_entra_attribute_updates_one_path_each(scim: ScimClient) -> None:
    user = scim.create_user(
        "dana@example.com",
        name={"givenName": "Dana", "familyName": "Lee"},
        emails=[{"value": "dana@example.com", "type": "work", "primary": True}],
    )
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "d.lee@example.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Lee-Park"},
            {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "1234"},
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "boss-id"},
        ],
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["emails"] == [{"value": "d.lee@example.com", "type": "work", "primary": True}]
    assert patched["name"] == {"givenName": "Dana", "familyName": "Lee-Park"}
    assert patched[ENTERPRISE] == {"employeeNumber": "1234", "manager": {"value": "boss-id"}}
    assert ENTERPRISE in patched["schemas"]
    found = scim.filter("Users", f'{ENTERPRISE}:employeeNumber eq "1234"').json()
    assert found["totalResults"] == 1  # the index follows the patched document


def test_entra_compat_pathless_replace_with_dotted_keys(scim: ScimClient) -> None:
    user = scim.create_user("dana", name={"givenName": "Dana"}, active=True)
    response = scim.patch(
        f"/Users/{user['id']}",
        [{"op": "replace", "value": {"name.givenName": "Dee", "active": False}}],
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"]["givenName"] == "Dee"
    assert response.json()["active"] is False


def test_entra_group_membership_add_and_remove_with_value_array(
    scim: ScimClient, reference_sp: Any
) -> None:
    a, b, c = (scim.create_user(n)["id"] for n in ("a", "b", "c"))
    group = scim.create_group("Business Account Admins")
    path = f"/Groups/{group['id']}"
    response = scim.patch(
        path,
        [
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": m} for m in (a, b, c)],
            }
        ],
    )
    assert response.status_code == 200, response.text
    assert {m["value"] for m in response.json()["members"]} == {a, b, c}
    response = scim.patch(path, [{"op": "Remove", "path": "members", "value": [{"value": b}]}])
    assert {m["value"] for m in response.json()["members"]} == {a, c}
    assert "members-remove-with-value" in journal_deviations(reference_sp)
    assert "groups" not in scim.get(f"/Users/{b}").json()
    assert scim.get(f"/Users/{a}").json()["groups"][0]["value"] == group["id"]


def test_okta_member_remove_by_value_filter_and_rename(scim: ScimClient) -> None:
    a, b = (scim.create_user(n)["id"] for n in ("a", "b"))
    group = scim.create_group("Team", (a, b))
    path = f"/Groups/{group['id']}"
    response = scim.patch(
        path,
        [
            {"op": "replace", "value": {"id": group["id"], "displayName": "Team Renamed"}},
            {"op": "remove", "path": f'members[value eq "{a}"]'},
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json()["displayName"] == "Team Renamed"
    assert [m["value"] for m in response.json()["members"]] == [b]
    assert scim.filter("Groups", 'displayName eq "team renamed"').json()["totalResults"] == 1


def test_okta_deactivate_pathless(scim: ScimClient) -> None:
    user = scim.create_user("dana", active=True)
    response = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "value": {"active": False}}])
    assert response.json()["active"] is False
    assert scim.filter("Users", "active eq false").json()["totalResults"] == 1


def test_duplicate_member_add_is_a_no_op(scim: ScimClient) -> None:
    a = scim.create_user("a")["id"]
    group = scim.create_group("Team", (a,))
    response = scim.patch(
        f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": a}]}]
    )
    assert response.status_code == 200
    assert len(response.json()["members"]) == 1
    assert response.json()["meta"]["version"] == group["meta"]["version"]


def test_failing_operation_changes_nothing(scim: ScimClient) -> None:
    user = scim.create_user("dana", title="Engineer", active=True)
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "replace", "path": "title", "value": "Manager"},
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "x@example.com"},
        ],
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "noTarget"
    after = scim.get(f"/Users/{user['id']}").json()
    assert after["title"] == "Engineer"
    assert after["meta"]["version"] == user["meta"]["version"]


def test_failing_member_operation_keeps_membership(scim: ScimClient) -> None:
    a = scim.create_user("a")["id"]
    group = scim.create_group("Team", (a,))
    response = scim.patch(
        f"/Groups/{group['id']}",
        [
            {"op": "remove", "path": f'members[value eq "{a}"]'},
            {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]},
        ],
    )
    assert response.status_code == 400
    assert [m["value"] for m in scim.get(f"/Groups/{group['id']}").json()["members"]] == [a]


def test_patch_errors(scim: ScimClient) -> None:
    user = scim.create_user("dana")
    path = f"/Users/{user['id']}"

    def status(body: Any) -> tuple[int, str | None]:
        response = scim.request("PATCH", path, json=body)
        return response.status_code, response.json().get("scimType")

    ops = PATCH_OP_SCHEMA
    assert status({"schemas": [ops], "Operations": []})[0] == 400
    assert status({"Operations": [{"op": "add", "path": "title", "value": "x"}]})[0] == 400
    assert status({"schemas": [ops], "Operations": [{"op": "remove"}]}) == (400, "noTarget")
    assert (
        status({"schemas": [ops], "Operations": [{"op": "frobnicate", "path": "title"}]})[0] == 400
    )
    assert status(
        {"schemas": [ops], "Operations": [{"op": "add", "path": "shoe", "value": 1}]}
    ) == (
        400,
        "invalidPath",
    )
    assert status({"schemas": [ops], "Operations": [{"op": "add", "path": "emails[", "value": 1}]})[
        1
    ] in ("invalidPath", "invalidFilter")
    assert status(
        {"schemas": [ops], "Operations": [{"op": "replace", "path": "id", "value": "x"}]}
    ) == (
        400,
        "mutability",
    )
    assert (
        status({"schemas": [ops], "Operations": [{"op": "remove", "path": "userName"}]})[0] == 400
    )
    assert status(
        {"schemas": [ops], "Operations": [{"op": "replace", "path": "active", "value": 3}]}
    ) == (
        400,
        "invalidValue",
    )


def test_patch_can_rename_to_a_free_user_name_but_not_a_taken_one(scim: ScimClient) -> None:
    scim.create_user("taken")
    user = scim.create_user("dana")
    path = f"/Users/{user['id']}"
    taken = scim.patch(path, [{"op": "replace", "path": "userName", "value": "TAKEN"}])
    assert taken.status_code == 409
    renamed = scim.patch(path, [{"op": "replace", "path": "userName", "value": "dana.lee"}])
    assert renamed.json()["userName"] == "dana.lee"
    assert scim.filter("Users", 'userName eq "DANA.LEE"').json()["totalResults"] == 1
