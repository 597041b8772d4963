"""Fixtures for the SCIM server: a reference SP on a real store, reached in-process over ASGI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from harness.protocol.scim.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    PATCH_OP_SCHEMA,
    USER_SCHEMA,
)
from reference_sp.app import ReferenceSP, Settings
from reference_sp.tables import metadata

TOKEN = "test-token"
SCIM_JSON = "application/scim+json"


def database_urls() -> list[Any]:
    urls: list[Any] = ["sqlite://"]
    pg = os.environ.get("SSO_HARNESS_TEST_PG")
    if pg:
        urls.append(pytest.param(pg, marks=pytest.mark.postgres, id="postgresql"))
    return urls


class ScimClient:
    """A SCIM client over an in-process ASGI transport, authenticated as one organisation."""

    def __init__(self, http: TestClient, token: str = TOKEN) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.request(method, f"/scim/v2{path}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.request("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=body, **kwargs)

    def patch(self, path: str, operations: list[dict[str, Any]], **kwargs: Any) -> Any:
        body = {"schemas": [PATCH_OP_SCHEMA], "Operations": operations}
        return self.request("PATCH", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def create_user(self, user_name: str, **attributes: Any) -> dict[str, Any]:
        body = {"schemas": [USER_SCHEMA], "userName": user_name, **attributes}
        if any(k.startswith("urn:") for k in attributes):
            body["schemas"] = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]
        response = self.post("/Users", body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def create_group(self, display_name: str, members: tuple[str, ...] = ()) -> dict[str, Any]:
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": display_name,
            "members": [{"value": m} for m in members],
        }
        response = self.post("/Groups", body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def filter(self, resource: str, expression: str, **params: Any) -> Any:
        return self.get(f"/{resource}", params={"filter": expression, **params})


def reset_tables(sp: ReferenceSP) -> None:
    """A shared PostgreSQL database starts each test empty (SQLite ones are new anyway)."""
    if sp.db.engine.dialect.name == "postgresql":
        metadata.drop_all(sp.db.engine)
        metadata.create_all(sp.db.engine)


@pytest.fixture(params=database_urls())
def reference_sp(request: pytest.FixtureRequest) -> Iterator[ReferenceSP]:
    sp = ReferenceSP(Settings(db_url=request.param))
    reset_tables(sp)
    sp.add_organisation("default", TOKEN)
    yield sp
    sp.close()


@pytest.fixture
def http(reference_sp: ReferenceSP) -> Iterator[TestClient]:
    with TestClient(reference_sp.app) as client:
        yield client


@pytest.fixture
def scim(http: TestClient) -> ScimClient:
    return ScimClient(http)
