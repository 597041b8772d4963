"""Create, read, replace and delete (RFC 7644 §3.3, §3.4.1, §3.5.1, §3.6)."""

from __future__ import annotations

from typing import Any

from harness.protocol.scim.schema import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from tests.scim.conftest import SCIM_JSON, ScimClient

ENTERPRISE = ENTERPRISE_USER_SCHEMA


def test_create_answers_201_with_location_equal_to_meta_location(scim: ScimClient) -> None:
    response = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "dana@example.com"})
    assert response.status_code == 201
    assert response.headers["content-type"].startswith(SCIM_JSON)
    user = response.json()
    assert response.headers["location"] == user["meta"]["location"]
    assert user["meta"]["location"].endswith(f"/scim/v2/Users/{user['id']}")
    assert user["meta"]["resourceType"] == "User"
    assert response.headers["etag"] == user["meta"]["version"]
    assert user["meta"]["created"] == user["meta"]["lastModified"]


def test_create_ignores_read_only_attributes_sent_by_the_client(scim: ScimClient) -> None:
    user = scim.post(
        "/Users",
        {
            "schemas": [USER_SCHEMA],
            "id": "chosen-by-client",
            "userName": "dana",
            "meta": {"resourceType": "Group", "created": "2000-01-01T00:00:00Z"},
            "groups": [{"value": "g1"}],
        },
    ).json()
    assert user["id"] != "chosen-by-client"
    assert user["meta"]["resourceType"] == "User"
    assert "groups" not in user


def test_duplicate_user_name_in_another_case_is_409_uniqueness(scim: ScimClient) -> None:
    scim.create_user("Dana@Example.com")
    response = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "dana@example.COM"})
    assert response.status_code == 409
    body = response.json()
    assert body["scimType"] == "uniqueness"
    assert body["status"] == "409"
    assert scim.get("/Users").json()["totalResults"] == 1


def test_plain_application_json_is_accepted_and_scim_json_returned(scim: ScimClient) -> None:
    response = scim.post(
        "/Users",
        {"schemas": [USER_SCHEMA], "userName": "okta-style"},
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert response.headers["content-type"].startswith(SCIM_JSON)


def test_password_is_accepted_and_never_returned(scim: ScimClient) -> None:
    user = scim.create_user("dana", password="Secret-123")
    assert "password" not in user
    assert "password" not in scim.get(f"/Users/{user['id']}").json()
    listed = scim.get("/Users", params={"attributes": "password,userName"}).json()
    assert "password" not in listed["Resources"][0]


def test_enterprise_extension_round_trips(scim: ScimClient) -> None:
    user = scim.create_user(
        "dana", **{ENTERPRISE: {"employeeNumber": "42", "manager": {"value": "boss-id"}}}
    )
    assert user["schemas"] == [USER_SCHEMA, ENTERPRISE]
    fetched = scim.get(f"/Users/{user['id']}").json()
    assert fetched[ENTERPRISE] == {"employeeNumber": "42", "manager": {"value": "boss-id"}}


def test_get_unknown_id_is_404_scim_error(scim: ScimClient) -> None:
    response = scim.get("/Users/does-not-exist")
    assert response.status_code == 404
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert response.json()["status"] == "404"


def test_put_replaces_the_whole_resource(scim: ScimClient) -> None:
    user = scim.create_user("dana", title="Engineer", nickName="D", active=True)
    response = scim.put(
        f"/Users/{user['id']}",
        {"schemas": [USER_SCHEMA], "id": "ignored", "userName": "dana", "title": "Manager"},
    )
    assert response.status_code == 200
    replaced = response.json()
    assert replaced["id"] == user["id"]
    assert replaced["title"] == "Manager"
    assert "nickName" not in replaced  # not sent, so no longer set
    assert replaced["meta"]["version"] != user["meta"]["version"]
    assert replaced["meta"]["created"] == user["meta"]["created"]


def test_put_to_a_taken_user_name_is_409(scim: ScimClient) -> None:
    scim.create_user("taken")
    user = scim.create_user("dana")
    response = scim.put(f"/Users/{user['id']}", {"schemas": [USER_SCHEMA], "userName": "TAKEN"})
    assert response.status_code == 409
    assert scim.get(f"/Users/{user['id']}").json()["userName"] == "dana"


def test_put_cannot_change_an_immutable_member_reference(scim: ScimClient) -> None:
    user = scim.create_user("dana")
    group = scim.create_group("Team", (user["id"],))
    response = scim.put(
        f"/Groups/{group['id']}",
        {"schemas": [GROUP_SCHEMA], "displayName": "Team renamed", "members": []},
    )
    assert response.status_code == 200
    assert "members" not in response.json()


def test_delete_then_404_everywhere_and_membership_removed(scim: ScimClient) -> None:
    user = scim.create_user("dana")
    other = scim.create_user("eli")
    group = scim.create_group("Team", (user["id"], other["id"]))
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    assert scim.get(f"/Users/{user['id']}").status_code == 404
    assert scim.delete(f"/Users/{user['id']}").status_code == 404
    assert (
        scim.put(f"/Users/{user['id']}", {"schemas": [USER_SCHEMA], "userName": "dana"}).status_code
        == 404
    )
    assert scim.filter("Users", f'id eq "{user["id"]}"').json()["totalResults"] == 0
    members = scim.get(f"/Groups/{group['id']}").json()["members"]
    assert [m["value"] for m in members] == [other["id"]]


def test_deactivated_user_stays_retrievable_and_can_be_reactivated(scim: ScimClient) -> None:
    user = scim.create_user("dana", active=True)
    body = {"schemas": [USER_SCHEMA], "userName": "dana", "active": False}
    assert scim.put(f"/Users/{user['id']}", body).json()["active"] is False
    assert scim.get(f"/Users/{user['id']}").json()["active"] is False
    body["active"] = True
    assert scim.put(f"/Users/{user['id']}", body).json()["active"] is True


def test_empty_group_can_be_created(scim: ScimClient) -> None:
    group = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Empty"}).json()
    assert group["displayName"] == "Empty"
    assert "members" not in group


def test_group_without_display_name_is_400(scim: ScimClient) -> None:
    response = scim.post("/Groups", {"schemas": [GROUP_SCHEMA]})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_members_and_groups_are_two_views_of_one_membership(scim: ScimClient) -> None:
    user = scim.create_user("dana")
    group = scim.create_group("Business Account Admins", (user["id"],))
    member = group["members"][0]
    assert member["value"] == user["id"]
    assert member["type"] == "User"
    assert member["$ref"].endswith(f"/Users/{user['id']}")
    groups = scim.get(f"/Users/{user['id']}").json()["groups"]
    assert groups == [
        {
            "value": group["id"],
            "$ref": group["meta"]["location"],
            "type": "direct",
            "display": "Business Account Admins",
        }
    ]


def test_a_users_groups_read_with_the_user_come_in_the_order_the_groups_were_made(
    scim: ScimClient,
) -> None:
    """A user's groups are read in the user's own statement (scim.groups_column) by a read, a
    filter, a list and a PATCH: joined in another order than the groups were made, they still
    come in the groups' order, each with its display name; a user in none has no ``groups``."""
    user = scim.create_user("erin")
    lonely = scim.create_user("frank")
    made = [scim.create_group(name) for name in ("Alpha", "Beta", "Gamma")]
    for group in (made[2], made[0], made[1]):  # memberships written out of order
        added = scim.patch(
            f"/Groups/{group['id']}",
            [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}],
        )
        assert added.status_code in (200, 204), added.text
    expected = [
        {
            "value": g["id"],
            "$ref": g["meta"]["location"],
            "type": "direct",
            "display": g["displayName"],
        }
        for g in made
    ]
    assert scim.get(f"/Users/{user['id']}").json()["groups"] == expected
    assert scim.filter("Users", 'userName eq "erin"').json()["Resources"][0]["groups"] == expected
    listed = {u["userName"]: u for u in scim.get("/Users").json()["Resources"]}
    assert listed["erin"]["groups"] == expected
    assert "groups" not in listed["frank"]
    patched = scim.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "displayName", "value": "Erin"}]
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["groups"] == expected
    assert "groups" not in scim.get(f"/Users/{lonely['id']}").json()


def test_nested_group_member(scim: ScimClient) -> None:
    inner = scim.create_group("Inner")
    outer = scim.create_group("Outer", (inner["id"],))
    assert outer["members"][0]["type"] == "Group"


def test_unknown_member_is_refused_and_nothing_is_created(scim: ScimClient) -> None:
    response = scim.post(
        "/Groups",
        {"schemas": [GROUP_SCHEMA], "displayName": "Ghosts", "members": [{"value": "nobody"}]},
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert scim.get("/Groups").json()["totalResults"] == 0


def test_excluding_members_leaves_them_out(scim: ScimClient) -> None:
    user = scim.create_user("dana")
    group = scim.create_group("Team", (user["id"],))
    fetched = scim.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"}).json()
    assert "members" not in fetched
    assert fetched["displayName"] == "Team"
    assert fetched["id"] == group["id"]


def test_listeners_see_every_write_in_its_transaction(scim: ScimClient, reference_sp: Any) -> None:
    seen: list[tuple[str, str, bool, bool]] = []

    def listener(conn: Any, change: Any) -> None:
        seen.append(
            (change.kind, change.resource_type, change.before is None, change.after is None)
        )
        if change.after is not None and change.after.doc.get("title") == "explode":
            raise RuntimeError("a listener failing rolls the write back")

    reference_sp.scim.listeners.append(listener)
    user = scim.create_user("dana")
    path = f"/Users/{user['id']}"
    scim.patch(path, [{"op": "add", "path": "title", "value": "x"}])
    scim.patch(path, [{"op": "add", "path": "title", "value": "x"}])  # no change: no event
    assert scim.patch(path, [{"op": "add", "path": "title", "value": "explode"}]).status_code == 500
    assert scim.get(path).json()["title"] == "x"
    scim.delete(path)
    assert seen == [
        ("created", "User", True, False),
        ("replaced", "User", False, False),
        ("replaced", "User", False, False),
        ("deleted", "User", False, True),
    ]
