"""Bad input gets a SCIM error with the right status and scimType, never a 500, and never
half-writes anything (RFC 7644 §3.12)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.protocol.scim.schema import GROUP_SCHEMA, USER_SCHEMA
from tests.scim.conftest import ScimClient

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type


def test_missing_token_is_401_with_a_scim_body(scim: ScimClient) -> None:
    response = scim.http.get("/scim/v2/Users")
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer wrong", "Basic dGVzdC10b2tlbjo=", "Bearer", "test-token", "Bearer  "]
)
def test_wrong_token_is_401(scim: ScimClient, header: str) -> None:
    response = scim.http.get("/scim/v2/Users", headers={"Authorization": header})
    assert_scim_error(response, 401)


def test_each_organisation_sees_only_its_own_resources(scim: ScimClient, reference_sp: Any) -> None:
    reference_sp.add_organisation("other", "other-token")
    user = scim.create_user("dana")
    other = ScimClient(scim.http, token="other-token")
    assert other.get(f"/Users/{user['id']}").status_code == 404
    assert other.get("/Users").json()["totalResults"] == 0
    assert other.create_user("dana")["userName"] == "dana"  # userName is unique per organisation


@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b"[1, 2]", b'"a string"', b"", b"\xff\xfe", b"[" * 100_000],
)
def test_malformed_json_is_400_invalid_syntax(scim: ScimClient, raw: bytes) -> None:
    response = scim.request("POST", "/Users", content=raw)
    assert_scim_error(response, 400, "invalidSyntax")
    assert scim.get("/Users").json()["totalResults"] == 0


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"userName": "no-schemas"}, "invalidSyntax"),
        ({"schemas": [GROUP_SCHEMA], "userName": "wrong-schema"}, "invalidSyntax"),
        ({"schemas": "not-a-list", "userName": "x"}, "invalidSyntax"),
        ({"schemas": [USER_SCHEMA]}, "invalidValue"),  # userName is required
        ({"schemas": [USER_SCHEMA], "userName": "x", "shoeSize": 42}, "invalidSyntax"),
        ({"schemas": [USER_SCHEMA], "userName": 42}, "invalidValue"),
        ({"schemas": [USER_SCHEMA], "userName": "x", "active": "maybe"}, "invalidValue"),
        ({"schemas": [USER_SCHEMA], "userName": "x", "emails": "a@b"}, "invalidValue"),
        # an unknown sub-attribute makes the attribute's value invalid
        ({"schemas": [USER_SCHEMA], "userName": "x", "name": {"nickname": "y"}}, "invalidValue"),
        (
            {
                "schemas": [USER_SCHEMA],
                "userName": "x",
                "emails": [
                    {"value": "a@x", "primary": True},
                    {"value": "b@x", "primary": True},
                ],
            },
            "invalidValue",
        ),
        ({"schemas": [USER_SCHEMA], "userName": "x", "meta": "broken"}, None),
    ],
)
def test_invalid_resources_are_refused_and_nothing_is_written(
    scim: ScimClient, body: dict[str, Any], scim_type: str | None
) -> None:
    response = scim.post("/Users", body)
    if scim_type is None:  # readOnly attributes are ignored whatever their value
        assert response.status_code == 201
        return
    assert_scim_error(response, 400, scim_type)
    assert scim.get("/Users").json()["totalResults"] == 0


def test_unsupported_media_type_is_415(scim: ScimClient) -> None:
    response = scim.request(
        "POST",
        "/Users",
        content=b"userName=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_scim_error(response, 415)


def test_oversized_body_is_413(scim: ScimClient) -> None:
    body = {"schemas": [USER_SCHEMA], "userName": "x", "title": "a" * 1_100_000}
    response = scim.post("/Users", body)
    assert_scim_error(response, 413)
    assert scim.get("/Users").json()["totalResults"] == 0


def test_unknown_endpoint_and_ids_are_404(scim: ScimClient) -> None:
    assert_scim_error(scim.get("/Widgets"), 404)
    assert_scim_error(scim.get("/Users/missing"), 404)
    assert_scim_error(scim.delete("/Groups/missing"), 404)
    assert_scim_error(scim.put("/Users/missing", {"schemas": [USER_SCHEMA], "userName": "x"}), 404)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "schemas",
                    "userName",
                    "name",
                    "emails",
                    "active",
                    "members",
                    "value",
                    "op",
                    "path",
                    "Operations",
                    "displayName",
                    "givenName",
                    "type",
                    "primary",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=json_values,
    method_path=st.sampled_from(
        [
            ("POST", "/Users"),
            ("POST", "/Groups"),
            ("PUT", "/Users/{uid}"),
            ("PATCH", "/Users/{uid}"),
            ("PATCH", "/Groups/{gid}"),
            ("POST", "/Bulk"),
            ("POST", "/.search"),
        ]
    ),
)
def test_no_json_body_causes_a_server_error(
    scim: ScimClient, body: Any, method_path: tuple[str, str]
) -> None:
    existing = scim.get("/Users", params={"filter": 'userName eq "fuzz-anchor"'}).json()
    if existing["totalResults"]:
        uid = existing["Resources"][0]["id"]
        gid = scim.get("/Groups").json()["Resources"][0]["id"]
    else:
        uid = scim.create_user("fuzz-anchor")["id"]
        gid = scim.create_group("fuzz-group", (uid,))["id"]
    method, path = method_path
    response = scim.request(method, path.format(uid=uid, gid=gid), content=json.dumps(body))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["schemas"] == [ERROR_SCHEMA]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/Users/x/y", 404),
        ("GET", "/", 404),
        ("PUT", "/Users", 405),
        ("DELETE", "/Groups", 405),
        ("POST", "/Users/some-id", 405),
        ("OPTIONS", "/Users", 405),
    ],
)
def test_unknown_paths_and_methods_get_scim_errors(
    scim: ScimClient, method: str, path: str, status: int
) -> None:
    assert_scim_error(scim.request(method, path), status)
