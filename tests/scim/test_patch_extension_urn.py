"""A PATCH whose path is an extension schema's URN alone names the whole extension object:
add and replace set the sub-attributes given (keeping the others), remove clears it."""

from __future__ import annotations

import pytest

from harness.protocol.scim.schema import ENTERPRISE_USER_SCHEMA as ENTERPRISE
from tests.scim.conftest import ScimClient


def _user(scim: ScimClient) -> str:
    created = scim.create_user(
        "urn-path@example.com", **{ENTERPRISE: {"employeeNumber": "1", "department": "Sales"}}
    )
    return str(created["id"])


@pytest.mark.parametrize("op", ["add", "replace", "Replace"])
def test_add_and_replace_set_the_sub_attributes_given(scim: ScimClient, op: str) -> None:
    user = _user(scim)
    value = {"employeeNumber": "42", "manager": {"value": "boss"}}
    response = scim.patch(f"/Users/{user}", [{"op": op, "path": ENTERPRISE, "value": value}])
    assert response.status_code == 200, response.text
    extension = response.json()[ENTERPRISE]
    assert extension == {
        "employeeNumber": "42",
        "department": "Sales",
        "manager": {"value": "boss"},
    }
    found = scim.filter("Users", f'{ENTERPRISE}:employeeNumber eq "42"').json()
    assert [r["id"] for r in found["Resources"]] == [user]


def test_remove_clears_the_whole_extension(scim: ScimClient) -> None:
    user = _user(scim)
    response = scim.patch(f"/Users/{user}", [{"op": "remove", "path": ENTERPRISE}])
    assert response.status_code == 200, response.text
    body = scim.get(f"/Users/{user}").json()
    assert ENTERPRISE not in body
    assert ENTERPRISE not in body["schemas"]


def test_an_extension_added_by_its_urn_is_listed_in_schemas(scim: ScimClient) -> None:
    user = str(scim.create_user("no-extension@example.com")["id"])
    value = {"department": "R&D"}
    response = scim.patch(f"/Users/{user}", [{"op": "add", "path": ENTERPRISE, "value": value}])
    assert response.status_code == 200, response.text
    assert response.json()[ENTERPRISE] == {"department": "R&D"}
    assert ENTERPRISE in response.json()["schemas"]


@pytest.mark.parametrize(
    "value", ["not an object", [{"department": "x"}], {"unknownAttribute": "x"}]
)
def test_a_value_that_is_not_the_extensions_attributes_is_refused(
    scim: ScimClient, value: object
) -> None:
    user = _user(scim)
    response = scim.patch(f"/Users/{user}", [{"op": "replace", "path": ENTERPRISE, "value": value}])
    assert response.status_code == 400
    assert response.json()["scimType"] in ("invalidValue", "invalidPath")
    assert scim.get(f"/Users/{user}").json()[ENTERPRISE]["employeeNumber"] == "1"
