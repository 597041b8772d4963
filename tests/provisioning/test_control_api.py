"""The control API starts provisioning: over real HTTP on loopback, the mock IdP (driven by its
JSON API) provisions the reference SP served by uvicorn, and the journal shows every request
with its dialect and the directory change that caused it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_idp.app import create_app
from mock_idp.directory import User
from mock_idp.idp import MockIdP
from reference_sp.app import ReferenceSP
from tests.support.servers import serve

from .conftest import sample_key

pytestmark = pytest.mark.anyio
TOKEN = "loopback-token"
SIGNING_KEY = sample_key("idp")


@pytest.fixture(scope="module")
def sp_url(reference_sp: ReferenceSP) -> Iterator[str]:
    reference_sp.add_organisation("loopback", TOKEN)
    with serve(reference_sp.app) as url:
        yield url


def control(idp: MockIdP) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(idp)), base_url="http://idp.test/api"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_provision_through_the_control_api(sp_url: str) -> None:
    idp = MockIdP("http://idp.test", signing_keys=[sample_key("idp")], seed=3)
    target = {"scim_url": f"{sp_url}/scim/v2", "token": TOKEN, "dialect": "entra"}
    async with control(idp) as api:
        boss = {
            "userName": "mia@example.com",
            "givenName": "Mia",
            "familyName": "Wu",
            "groups": ["Business Account Admins"],
            "department": "IT",
        }
        worker = {
            "userName": "noah@example.com",
            "givenName": "Noah",
            "familyName": "Kim",
            "groups": ["Business Account Admins"],
            "manager": "mia@example.com",
        }
        for body in (boss, worker):
            assert (await api.post("/users", json=body)).status_code == 201
        assert (await api.post("/provision/test", json={})).status_code == 409  # no target yet
        response = await api.post("/provision", json={"target": target})
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["ok"], report
        assert report["kind"] == "initial"
        assert report["summary"] == {"provisioned": 3, "failed": 0, "skipped": 0}
        assert (await api.post("/provision/test")).json()["ok"] is True

        renamed = await api.patch("/groups/Business Account Admins", json={"displayName": "Admins"})
        assert renamed.status_code == 200, renamed.text
        assert (
            await api.patch("/users/noah@example.com", json={"active": False})
        ).status_code == 200
        report = (await api.post("/provision", json={})).json()
        assert report["ok"] and report["kind"] == "incremental"
        changes = {r["name"]: r["change"] for r in report["results"]}
        assert changes["noah@example.com"] == "block"
        assert changes["Admins"] == "rename-group"

        journal = (await api.get("/journal", params={"kind": "SCIM"})).json()["entries"]
        assert {e["details"]["dialect"] for e in journal} == {"entra"}
        patches = [e["details"] for e in journal if e["details"]["request"]["method"] == "PATCH"]
        block = next(p for p in patches if p["change"] == "block")
        assert block["request"]["body"]["Operations"] == [
            {"op": "Replace", "path": "active", "value": "False"}
        ]
        assert block["status"] == 200
        state = (await api.get("/provision/state")).json()
        assert state["users"]["noah@example.com"]["active"] is False
        listing = (await api.get("/provision")).json()
        assert [r["cycle"] for r in listing["reports"]] == [1, 2]

    async with httpx.AsyncClient(
        base_url=f"{sp_url}/scim/v2", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as scim:
        groups = (await scim.get("/Groups", params={"filter": 'displayName eq "Admins"'})).json()
        assert len(groups["Resources"][0]["members"]) == 2
        noah = (
            await scim.get("/Users", params={"filter": 'userName eq "noah@example.com"'})
        ).json()
        assert noah["Resources"][0]["active"] is False


async def test_wrong_token_and_unreachable_url_are_one_line_reasons(sp_url: str) -> None:
    idp = MockIdP("http://idp.test", signing_keys=[sample_key("idp")], seed=3)
    async with control(idp) as api:
        await api.post("/users", json={"userName": "ola@example.com"})
        bad_token = {"scim_url": f"{sp_url}/scim/v2", "token": "nope", "dialect": "okta"}
        report = (await api.post("/provision", json={"target": bad_token})).json()
        assert report["ok"] is False
        assert "the SP refused the credentials (401" in report["aborted"]
        assert report["results"][0]["status"] == "failed"
        nowhere = {"scim_url": f"http://127.0.0.1:{free_port()}/scim/v2", "token": "x"}
        assert (await api.put("/provision/target", json=nowhere)).status_code == 200
        result = (await api.post("/provision/test")).json()
        assert result["ok"] is False
        assert result["message"].startswith("cannot reach the SCIM endpoint")
        bad = await api.put("/provision/target", json={"scim_url": "ftp://x", "dialect": "rfc"})
        assert bad.status_code == 422
        typo = await api.put("/provision/target", json={"scim_url": sp_url, "dialekt": "okta"})
        assert typo.status_code == 422


async def test_nested_groups_through_the_control_api(sp_url: str) -> None:
    idp = MockIdP("http://idp.test", signing_keys=[sample_key("idp")], seed=4)
    async with control(idp) as api:
        await api.post("/users", json={"userName": "ivy@example.com", "groups": ["Inner"]})
        created = await api.post(
            "/groups", json={"displayName": "Outer", "memberGroups": ["Inner"]}
        )
        assert created.json()["memberGroups"] == ["Inner"]
        cycle = await api.patch("/groups/Inner", json={"memberGroups": ["Outer"]})
        assert cycle.status_code == 409
        target = {"scim_url": f"{sp_url}/scim/v2", "token": TOKEN, "dialect": "rfc"}
        assert (await api.post("/provision", json={"target": target})).json()["ok"]
    async with httpx.AsyncClient(
        base_url=f"{sp_url}/scim/v2", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as scim:
        outer = (await scim.get("/Groups", params={"filter": 'displayName eq "Outer"'})).json()
        [member] = outer["Resources"][0]["members"]
        assert member["type"] == "Group"


@pytest.mark.parametrize(
    "url", ["http://", "http://exa mple.com/scim", "http://[::1/scim", "http://127.0.0.1:99999/x"]
)
async def test_a_malformed_scim_url_is_a_422_with_the_reason(url: str) -> None:
    idp = MockIdP("http://idp.test", signing_keys=[sample_key("idp")], seed=3)
    async with control(idp) as api:
        response = await api.post("/provision", json={"target": {"scim_url": url, "token": "t"}})
        assert response.status_code == 422
        assert response.json()["message"].startswith("the SCIM base URL")
        assert (await api.put("/provision/target", json={"scim_url": url})).status_code == 422


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
target_like = st.fixed_dictionaries(
    {
        "scim_url": st.sampled_from(["http://sp.test/scim/v2", "https://x:1/", "", "http://"])
        | st.text(max_size=30)
    },
    optional={
        "token": st.text(max_size=10) | st.none(),
        "dialect": st.sampled_from(["rfc", "okta", "nope"]) | st.integers(),
        "timeout": st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=3),
        "basic": json_values,
    },
)


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=json_values
    | target_like
    | st.fixed_dictionaries({"target": target_like, "cycle": json_values})
)
def test_the_provisioning_api_never_answers_500(body: object) -> None:
    async def scenario() -> None:
        idp = MockIdP("http://idp.test", signing_keys=[SIGNING_KEY], seed=3)
        idp.directory.add_user(User("zoe@example.com"))
        idp.provisioning.transport = httpx.MockTransport(_refused)
        async with control(idp) as api:
            for method, path in (
                ("PUT", "/provision/target"),
                ("POST", "/provision"),
                ("POST", "/provision/test"),
            ):
                response = await api.request(method, path, json=body)
                assert response.status_code < 500, (path, response.text)

    asyncio.run(scenario())
