"""No network input yields a 5xx, a traceback or a session: hostile ACS posts, edited valid
responses, RelayState, query strings, SLO messages and activation requests."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from .conftest import World, make_world

USER = "dana@acme.test"
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "encrypted"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    for made in make_world("sqlite://", encrypt=request.param):
        made.provision(USER)
        yield made


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    with TestClient(world.sp.app, base_url="http://sp.test", raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def good(world: World) -> bytes:
    return base64.b64decode(world.response_for(USER).fields["SAMLResponse"])


def no_session(client: TestClient, status: int) -> None:
    assert status < 500
    assert client.get("/api/me").status_code == 401


text = st.text(max_size=300)


@SETTINGS
@given(
    saml=st.one_of(text, st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())),
    relay=st.one_of(st.none(), text),
)
def test_acs_garbage(client: TestClient, saml: str, relay: str | None) -> None:
    fields = {"SAMLResponse": saml} | ({"RelayState": relay} if relay is not None else {})
    no_session(client, client.post("/saml/acs", data=fields).status_code)


@SETTINGS
@given(where=st.floats(0, 1, exclude_max=True), value=st.integers(0, 255))
def test_acs_edited_valid_response(
    client: TestClient, good: bytes, where: float, value: int
) -> None:
    edited = bytearray(good)
    position = int(where * len(edited))
    if edited[position] == value:
        return
    edited[position] = value
    fields = {"SAMLResponse": base64.b64encode(bytes(edited)).decode()}
    no_session(client, client.post("/saml/acs", data=fields).status_code)


@SETTINGS
@given(query=text, raw=st.binary(max_size=200))
def test_query_strings_and_bodies(client: TestClient, query: str, raw: bytes) -> None:
    for path in ("/saml/login", "/saml/slo", "/", "/api/activations/x", "/activate/x", "/admin"):
        assert (
            client.get(path, params={"q": query, "RelayState": query, "email": query}).status_code
            < 500
        )
    assert client.get(f"/saml/slo?{quote(query, safe='=&%+')}").status_code < 500
    for path in ("/saml/acs", "/saml/slo", "/api/activations", "/logout", "/activate/x"):
        assert (
            client.post(
                path, content=raw, headers={"content-type": "application/x-www-form-urlencoded"}
            ).status_code
            < 500
        )
        assert (
            client.post(path, content=raw, headers={"content-type": "application/json"}).status_code
            < 500
        )
    no_session(client, 200)


@SETTINGS
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=30),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(["product", "clientVersion", "deviceId", "deviceName", "x"]),
                children,
                max_size=5,
            )
        ),
        max_leaves=10,
    )
)
def test_activation_bodies(client: TestClient, body: object) -> None:
    response = client.post("/api/activations", json=body)
    no_body = (415,) if body is None else ()  # httpx sends no body and no Content-Type for None
    assert response.status_code in (201, 400, 422, *no_body), response.text
