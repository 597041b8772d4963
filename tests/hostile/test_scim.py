"""Hostile SCIM requests: each costs at most linear time, ends in a 4xx SCIM error rather than a
500, keeps no secret and builds no URL from the request. On SQLite, and on PostgreSQL when
SSO_HARNESS_TEST_PG names one (the fixtures of tests/scim)."""

from __future__ import annotations

import json
import time
from typing import Any

from harness.protocol.scim.schema import (
    BULK_REQUEST_SCHEMA,
    ENTERPRISE_USER_SCHEMA,
    USER_SCHEMA,
)
from tests.scim.conftest import ScimClient

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def chained_bulk(count: int) -> dict[str, Any]:
    """``count`` user creations, operation i naming operation i+1's user as its manager: the
    last must run first (benchmarks/hostile_requests.py times the same request)."""
    operations = []
    for i in range(count):
        data: dict[str, Any] = {
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": f"c{i}",
        }
        if i + 1 < count:
            data[ENTERPRISE_USER_SCHEMA] = {"manager": {"value": f"bulkId:u{i + 1}"}}
        operations.append({"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": data})
    return {"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations}


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


# -- Bulk: dependency order in linear time -------------------------------------------------------


def test_a_chain_of_1000_bulk_references_resolves_in_linear_time(scim: ScimClient) -> None:
    body = json.dumps(chained_bulk(1000)).encode()
    started = time.perf_counter()
    response = scim.request("POST", "/Bulk", content=body)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["201"] * 1000
    # Quadratic resolution took 1,486 s here; linear takes about half a second on SQLite.
    assert elapsed < 20, f"{elapsed:.1f} s"
    ids = [r["location"].rsplit("/", 1)[1] for r in results]
    first = scim.get(f"/Users/{ids[0]}").json()
    manager = first[ENTERPRISE_USER_SCHEMA]["manager"]
    assert manager["value"] == ids[1]  # each one's reference was resolved to the next one's id


def test_a_bulk_cycle_is_409_for_its_members_and_the_rest_runs(scim: ScimClient) -> None:
    operations = chained_bulk(3)["Operations"]
    # u2 now names u0 as its manager: u0 -> u1 -> u2 -> u0.
    operations[2]["data"][ENTERPRISE_USER_SCHEMA] = {"manager": {"value": "bulkId:u0"}}
    operations.append(
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": "free",
            "data": {"schemas": [USER_SCHEMA], "userName": "f"},
        }
    )
    body = {"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations}
    results = scim.post("/Bulk", body).json()["Operations"]
    assert [r["status"] for r in results] == ["409", "409", "409", "201"]
    assert all("circular" in r["response"]["detail"] for r in results[:3])
    assert scim.get("/Users").json()["totalResults"] == 1
