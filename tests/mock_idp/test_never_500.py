"""Property: whatever arrives from the network, the IdP answers 2xx/3xx/4xx, never 5xx, and
never posts a response to an ACS the SP's metadata does not list."""

import base64
import zlib
from urllib.parse import quote

import anyio
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_idp.app import create_app
from mock_idp.idp import MockIdP

from .conftest import BASE, NOW, frozen_clock, sample_key
from .fake_sp import FakeSP

SSO = f"{BASE}/saml/sso"


def make_idp() -> MockIdP:
    idp = MockIdP(BASE, signing_keys=[sample_key("idp")], seed=1, clock=frozen_clock())
    idp.register_sp_metadata(FakeSP().metadata())
    idp.add_user("alice@example.com", password="pw")
    return idp


IDP = make_idp()
APP = create_app(IDP)


def fetch(method: str, url: str, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=APP), base_url=BASE
        ) as client:
            return await client.request(method, url, **kwargs)  # type: ignore[arg-type]

    return anyio.run(go)


def deflated(data: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return quote(base64.b64encode(compressor.compress(data) + compressor.flush()).decode(), safe="")


xml_ish = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.sampled_from(
        [
            b"<samlp:AuthnRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'/>",
            b"<samlp:AuthnRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol' ID='x' "
            b"Version='2.0' IssueInstant='2026-03-01T12:00:00Z'><saml:Issuer "
            b"xmlns:saml='urn:oasis:names:tc:SAML:2.0:assertion'>https://sp.test/saml/metadata"
            b"</saml:Issuer></samlp:AuthnRequest>",
            b"<samlp:LogoutRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol' ID='x' "
            b"Version='2.0' IssueInstant='2026-03-01T12:00:00Z'/>",
        ]
    ),
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(payload=xml_ish, relay=st.text(max_size=50), extra=st.text(max_size=40))
def test_redirect_binding_inputs(payload: bytes, relay: str, extra: str) -> None:
    for path in ("/saml/sso", "/saml/slo"):
        query = f"SAMLRequest={deflated(payload)}&RelayState={quote(relay)}&{quote(extra)}"
        response = fetch("GET", f"{path}?{query}")
        assert response.status_code < 500, response.text


@FUZZ
@given(payload=xml_ish, field=st.sampled_from(["SAMLRequest", "SAMLResponse", "username", "x"]))
def test_post_binding_inputs(payload: bytes, field: str) -> None:
    for path in ("/saml/sso", "/saml/slo"):
        form = {field: base64.b64encode(payload).decode(), "login": "nope"}
        response = fetch("POST", path, data=form)
        assert response.status_code < 500, response.text
        assert "https://evil" not in response.text


@FUZZ
@given(acs=st.text(st.characters(min_codepoint=32, max_codepoint=0xD7FF), min_size=1, max_size=60))
def test_never_an_unlisted_acs(acs: str) -> None:
    sp = FakeSP()
    request = sp.authn_request(NOW, SSO, acs_url=acs)
    response = fetch("GET", f"/saml/sso?{sp.redirect_query(request)}")
    assert response.status_code < 500
    if acs != sp.acs:
        assert 'name="SAMLResponse"' not in response.text


@FUZZ
@given(
    body=st.binary(max_size=200),
    path=st.sampled_from(
        ["/api/users", "/api/plan", "/api/rules", "/api/sps", "/api/clock", "/api/flaws"]
    ),
)
def test_control_api_bodies(body: bytes, path: str) -> None:
    method = "PUT" if path in ("/api/clock", "/api/flaws") else "POST"
    response = fetch(method, path, content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text
