"""The RFCs' own examples (tests/samples) sent through the SCIM server and read back."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harness.protocol.scim.schema import ENTERPRISE_USER_SCHEMA, USER_SCHEMA
from tests.scim.conftest import ScimClient

SAMPLES = Path(__file__).parent.parent / "samples"
RFC_USER_IDS = {  # the ids the RFC examples use, created here before they are referenced
    "2819c223-7f76-453a-919d-413861904646": "bjensen@example.com",
    "902c246b-6245-4190-8e05-00816be7344a": "mandy",
    "08e1d05d-121c-4561-8b96-473d93df9210": "jsmith",
}
SERVER_ASSIGNED = {"id", "meta", "groups", "password"}


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def writable(doc: dict[str, Any]) -> dict[str, Any]:
    """What a client can set: server-assigned and readOnly attributes removed."""
    out = {k: copy.deepcopy(v) for k, v in doc.items() if k not in SERVER_ASSIGNED}
    manager = out.get(ENTERPRISE_USER_SCHEMA, {}).get("manager")
    if manager:
        manager.pop("displayName", None)  # readOnly: the server derives it
    return out


@pytest.mark.parametrize(
    "name", ["8.1-minimal-user.json", "8.2-full-user.json", "8.3-enterprise-user.json"]
)
def test_rfc7643_user_examples_round_trip(scim: ScimClient, name: str) -> None:
    example = sample(f"rfc7643/{name}")
    response = scim.post("/Users", example)
    assert response.status_code == 201, response.text
    served = scim.get(f"/Users/{response.json()['id']}").json()
    assert writable(served) == writable(example)
    assert "password" not in served
    assert served["meta"]["resourceType"] == "User"


@pytest.fixture
def rfc_users(scim: ScimClient) -> dict[str, str]:
    """Server ids for the RFC's user ids."""
    return {rfc_id: scim.create_user(user_name)["id"] for rfc_id, user_name in RFC_USER_IDS.items()}


def with_server_ids(text: str, ids: dict[str, str]) -> Any:
    for rfc_id, server_id in ids.items():
        text = text.replace(rfc_id, server_id)
    return json.loads(text)


def test_rfc7643_group_example_round_trips(scim: ScimClient, rfc_users: dict[str, str]) -> None:
    example = with_server_ids((SAMPLES / "rfc7643/8.4-group.json").read_text(), rfc_users)
    response = scim.post("/Groups", example)
    assert response.status_code == 201, response.text
    served = scim.get(f"/Groups/{response.json()['id']}").json()
    assert served["displayName"] == "Tour Guides"
    assert [(m["value"], m["display"]) for m in served["members"]] == [
        (m["value"], m["display"]) for m in example["members"]
    ]


def test_rfc7644_patch_examples(scim: ScimClient, rfc_users: dict[str, str]) -> None:
    babs, mandy, james = rfc_users.values()
    group = scim.create_group("Tour Guides", (mandy,))
    path = f"/Groups/{group['id']}"

    def apply(name: str) -> list[str]:
        body = with_server_ids((SAMPLES / f"rfc7644/{name}").read_text(), rfc_users)
        response = scim.request("PATCH", path, json=body)
        assert response.status_code == 200, response.text
        return sorted(m["value"] for m in response.json().get("members", []))

    assert apply("3.5.2.1-add-member.json") == sorted([babs, mandy])
    assert apply("3.5.2.2-remove-member.json") == [mandy]
    assert apply("3.5.2.3-replace-members.json") == sorted([babs, james])
    assert apply("3.5.2.2-remove-all-members.json") == []


def test_rfc7644_replace_work_address(scim: ScimClient) -> None:
    user = scim.post("/Users", sample("rfc7643/8.2-full-user.json")).json()
    body = sample("rfc7644/3.5.2.3-replace-work-address.json")
    response = scim.request("PATCH", f"/Users/{user['id']}", json=body)
    assert response.status_code == 200, response.text
    addresses = response.json()["addresses"]
    work = [a for a in addresses if a["type"] == "work"]
    assert work == [body["Operations"][0]["value"]]
    assert [a["type"] for a in addresses] == ["work", "home"]
    assert response.json()["schemas"] == [USER_SCHEMA]
