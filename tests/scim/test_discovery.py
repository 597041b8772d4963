"""Discovery endpoints (RFC 7644 §4): truthful, read-only, served as application/scim+json."""

from __future__ import annotations

import pytest

from harness.protocol.scim.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    SCHEMA_SCHEMA,
    USER_SCHEMA,
)
from tests.scim.conftest import SCIM_JSON, ScimClient


def test_service_provider_config_states_what_the_server_does(scim: ScimClient) -> None:
    response = scim.get("/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(SCIM_JSON)
    spc = response.json()
    assert spc["patch"]["supported"] is True
    assert spc["filter"] == {"supported": True, "maxResults": 1000}
    assert spc["sort"]["supported"] is True
    assert spc["etag"]["supported"] is True
    assert spc["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
    assert spc["changePassword"]["supported"] is False
    assert spc["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert spc["meta"]["location"].endswith("/scim/v2/ServiceProviderConfig")


def test_the_stated_max_results_is_enforced(scim: ScimClient) -> None:
    page = scim.get("/Users", params={"count": "5000"}).json()
    assert page["itemsPerPage"] <= 1000


def test_resource_types_list_and_each_by_id(scim: ScimClient) -> None:
    listed = scim.get("/ResourceTypes").json()
    assert listed["totalResults"] == 2
    by_name = {rt["name"]: rt for rt in listed["Resources"]}
    assert by_name["User"]["endpoint"] == "/Users"
    assert by_name["User"]["schema"] == USER_SCHEMA
    assert by_name["User"]["schemaExtensions"] == [
        {"schema": ENTERPRISE_USER_SCHEMA, "required": False}
    ]
    assert by_name["Group"]["schema"] == GROUP_SCHEMA
    assert scim.get("/ResourceTypes/User").json()["endpoint"] == "/Users"
    assert scim.get("/ResourceTypes/Nope").status_code == 404


@pytest.mark.parametrize("schema_id", [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA])
def test_each_schema_is_served_by_id(scim: ScimClient, schema_id: str) -> None:
    response = scim.get(f"/Schemas/{schema_id}")
    assert response.status_code == 200
    schema = response.json()
    assert schema["id"] == schema_id
    assert schema["schemas"] == [SCHEMA_SCHEMA]
    assert all({"name", "type", "mutability", "returned"} <= a.keys() for a in schema["attributes"])


def test_schemas_describe_the_rules_the_server_applies(scim: ScimClient) -> None:
    user = scim.get(f"/Schemas/{USER_SCHEMA}").json()
    attributes = {a["name"]: a for a in user["attributes"]}
    assert attributes["userName"]["uniqueness"] == "server"
    assert attributes["userName"]["caseExact"] is False
    assert attributes["password"]["returned"] == "never"
    assert attributes["groups"]["mutability"] == "readOnly"
    assert len(scim.get("/Schemas").json()["Resources"]) == 3
    assert scim.get("/Schemas/urn:example:unknown").status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"])
def test_discovery_endpoints_refuse_writes_with_405(
    scim: ScimClient, method: str, path: str
) -> None:
    response = scim.request(method, path, json={})
    assert response.status_code == 405
    assert response.json()["status"] == "405"
    assert response.headers["allow"] == "GET"


def test_filtering_discovery_endpoints_is_forbidden(scim: ScimClient) -> None:
    response = scim.get("/Schemas", params={"filter": 'id eq "x"'})
    assert response.status_code == 403


def test_me_is_not_implemented(scim: ScimClient) -> None:
    assert scim.get("/Me").status_code == 501


_JSON_TYPES = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "decimal": (int, float),
    "dateTime": str,
    "reference": str,
    "binary": str,
    "complex": dict,
}


def _conforms(value: object, attribute: dict[str, object], where: str) -> None:
    values = value if attribute["multiValued"] else [value]
    assert isinstance(values, list), where
    for item in values:
        assert isinstance(item, _JSON_TYPES[str(attribute["type"])]), where
        if attribute["type"] == "complex":
            subs = {s["name"]: s for s in attribute["subAttributes"]}  # type: ignore[attr-defined]
            assert isinstance(item, dict)
            for key, sub_value in item.items():
                assert key in subs, f"{where}.{key} is not in the schema"
                _conforms(sub_value, subs[key], f"{where}.{key}")


def test_served_resources_validate_against_the_served_schemas(scim: ScimClient) -> None:
    """Every attribute the server returns is declared in its own /Schemas, with that type."""
    schemas = {s["id"]: s for s in scim.get("/Schemas").json()["Resources"]}
    common = {"schemas", "id", "externalId", "meta"}
    boss = scim.create_user("boss")
    user = scim.create_user(
        "dana",
        name={"givenName": "Dana", "familyName": "Lee"},
        emails=[{"value": "dana@example.com", "type": "work", "primary": True}],
        phoneNumbers=[{"value": "555", "type": "mobile"}],
        addresses=[{"locality": "Hollywood", "type": "work"}],
        active=True,
        externalId="e-1",
        **{ENTERPRISE_USER_SCHEMA: {"department": "Tours", "manager": {"value": boss["id"]}}},
    )
    group = scim.create_group("Team", (user["id"],))
    served = [scim.get(f"/Users/{user['id']}").json(), scim.get(f"/Groups/{group['id']}").json()]
    for doc in served:
        core = schemas[doc["schemas"][0]]
        attributes = {a["name"]: a for a in core["attributes"]}
        for key, value in doc.items():
            if key in common:
                continue
            if key in schemas:
                assert key in doc["schemas"]
                ext = {a["name"]: a for a in schemas[key]["attributes"]}
                for ext_key, ext_value in value.items():
                    _conforms(ext_value, ext[ext_key], f"{key}:{ext_key}")
                continue
            assert key in attributes, f"{key} is not in {core['id']}"
            _conforms(value, attributes[key], key)
