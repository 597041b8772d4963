"""SCIM requests go straight to their endpoint (reference_sp.scim.dispatch), past Starlette's
router and middlewares: every answer must be the one the Starlette route gives."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from harness.protocol.scim.schema import USER_SCHEMA
from reference_sp.app import ReferenceSP
from reference_sp.scim.dispatch import ScimDispatch
from tests.scim.conftest import SCIM_JSON, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": SCIM_JSON}
USER = json.dumps({"schemas": [USER_SCHEMA], "userName": "dispatch@example.com"}).encode()

REQUESTS = [
    ("GET", "/scim/v2/ServiceProviderConfig", AUTH, b""),
    ("GET", "/scim/v2/Schemas?filter=id+pr", AUTH, b""),
    ("OPTIONS", "/scim/v2/Schemas", AUTH, b""),
    ("HEAD", "/scim/v2/Users", AUTH, b""),
    ("PUT", "/scim/v2/Users", AUTH, b"{}"),
    ("GET", '/scim/v2/Users?filter=userName+eq+"dispatch@example.com"', AUTH, b""),
    ("GET", "/scim/v2/Users", {}, b""),
    ("GET", "/scim/v2/Users", {"Authorization": "Bearer wrong"}, b""),
    ("GET", "/scim/v2/Users/a%3Fb", AUTH, b""),
    ("GET", "/scim/v2/Users/x/y", AUTH, b""),
    ("GET", "/scim/v2/", AUTH, b""),
    ("GET", "/scim/v2/Users/%00", AUTH, b""),
    ("POST", "/scim/v2/Users", AUTH, b"{not json"),
    ("POST", "/scim/v2/Users", {**AUTH, "Content-Type": "text/csv"}, USER),
    ("POST", "/scim/v2/Users", AUTH, b"x" * (1024 * 1024 + 1)),
    ("POST", "/scim/v2/Bulk", AUTH, b"x" * (1024 * 1024 + 1)),
    ("PATCH", "/scim/v2/Users/missing", AUTH, b'{"Operations": []}'),
]


def _answer(http: TestClient, method: str, path: str, headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
    answer = http.request(method, path, headers=headers, content=body)
    kept = {k: v for k, v in answer.headers.items() if k not in ("date", "etag")}
    return answer.status_code, kept, answer.content


@pytest.mark.parametrize(("method", "path", "headers", "body"), REQUESTS)
def test_the_dispatch_answers_as_the_starlette_route(
    reference_sp: ReferenceSP, method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    assert isinstance(reference_sp.app, ScimDispatch)
    org_pk = reference_sp.orgs_by_name("default")
    with TestClient(reference_sp.app) as direct, TestClient(reference_sp.app.app) as routed:
        assert direct.post("/scim/v2/Users", headers=AUTH, content=USER).status_code == 201
        before = len(reference_sp.scim_journal(org_pk))
        assert _answer(direct, method, path, headers, body) == _answer(
            routed, method, path, headers, body
        )
    journal = [e.to_json() for e in reference_sp.scim_journal(org_pk)[before:]]
    assert len(journal) in (0, 2)  # journaled by both, or by neither (refused before)
    if journal:
        for key in ("method", "path", "query", "status", "responseBody"):
            assert journal[0][key] == journal[1][key], key


def test_the_scim_root_without_its_slash_is_left_to_the_router(reference_sp: ReferenceSP) -> None:
    with TestClient(reference_sp.app, follow_redirects=False) as http:
        answer = http.get("/scim/v2", headers=AUTH)
    assert answer.status_code == 307
    assert answer.headers["location"].endswith("/scim/v2/")
