"""The SCIM server over real HTTP (uvicorn on loopback) on an SQLite file: what IdPs see."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from harness.protocol.scim.schema import GROUP_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA
from reference_sp.app import ReferenceSP, Settings
from tests.scim.conftest import database_urls, reset_tables
from tests.support.servers import serve

pytestmark = pytest.mark.loopback
HEADERS = {"Authorization": "Bearer loop", "Content-Type": "application/scim+json"}


@pytest.fixture(params=["sqlite-file", *database_urls()[1:]])
def base(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = request.param
    if url == "sqlite-file":
        url = f"sqlite:///{tmp_path / 'sp.sqlite3'}"
    with socket.socket() as probe:  # a free port, so that the SP's base URL can name it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sp = ReferenceSP(Settings(db_url=url, base_url=f"http://127.0.0.1:{port}"))
    reset_tables(sp)
    sp.add_organisation("default", "loop")
    with serve(sp.app, port=port) as served:
        assert served == sp.base_url  # the URLs the SP writes are the configured ones
        yield f"{served}/scim/v2"
    sp.close()


def test_lifecycle_over_http(base: str) -> None:
    with httpx.Client(base_url=base, headers=HEADERS) as http:
        created = http.post("/Users", json={"schemas": [USER_SCHEMA], "userName": "dana"})
        assert created.status_code == 201
        user_id = created.json()["id"]
        assert created.headers["location"] == f"{base}/Users/{user_id}"
        found = http.get("/Users", params={"filter": 'userName eq "DANA"'}).json()
        assert found["totalResults"] == 1
        patched = http.patch(
            f"/Users/{user_id}",
            json={
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            },
        )
        assert patched.json()["active"] is False
        assert http.delete(f"/Users/{user_id}").status_code == 204
        assert http.get(f"/Users/{user_id}").status_code == 404


def test_concurrent_member_adds_lose_none(base: str) -> None:
    with httpx.Client(base_url=base, headers=HEADERS) as http:
        group = http.post("/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "All"})
        group_id = group.json()["id"]
        user_ids = [
            http.post("/Users", json={"schemas": [USER_SCHEMA], "userName": f"u{i}"}).json()["id"]
            for i in range(60)
        ]

    def add(user_id: str) -> int:
        with httpx.Client(base_url=base, headers=HEADERS) as client:
            return client.patch(
                f"/Groups/{group_id}",
                json={
                    "schemas": [PATCH_OP_SCHEMA],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
                },
            ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(add, user_ids))
    assert statuses == [200] * 60
    with httpx.Client(base_url=base, headers=HEADERS) as http:
        members = http.get(f"/Groups/{group_id}").json()["members"]
    assert sorted(m["value"] for m in members) == sorted(user_ids)


def test_concurrent_creates_of_one_user_name_make_one_user(base: str) -> None:
    def create(i: int) -> int:
        with httpx.Client(base_url=base, headers=HEADERS) as client:
            body = {"schemas": [USER_SCHEMA], "userName": "Same" if i % 2 else "SAME"}
            return client.post("/Users", json=body).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = sorted(pool.map(create, range(24)))
    assert statuses == [201] + [409] * 23


def test_oversized_and_malformed_requests_get_4xx_over_the_wire(base: str) -> None:
    with httpx.Client(base_url=base, headers=HEADERS) as http:
        huge = http.post("/Users", content=b"{" + b" " * 2_000_000 + b"}")
        assert huge.status_code == 413
        assert huge.json()["status"] == "413"
        assert http.post("/Users", content=b'{"schemas": [').status_code == 400
        assert http.get("/Users", params={"filter": "(" * 10_000}).status_code == 400
        assert http.get("/Users", params={"count": "9" * 400}).status_code in (200, 400)
    # a client that lies about its body length and hangs up must not hurt the server
    host, port = base.split("//")[1].split("/", maxsplit=1)[0].split(":")
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(
            b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer loop\r\n"
            b"Content-Type: application/scim+json\r\nContent-Length: 1000\r\n\r\n{"
        )
    with httpx.Client(base_url=base, headers=HEADERS) as http:
        assert http.get("/Users").status_code == 200
