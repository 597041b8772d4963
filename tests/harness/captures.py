"""Realistic captures made by the project itself, for the decode and diff tests: a response of
each mock IdP preset (plain or encrypted), a Redirect-signed AuthnRequest from the reference SP,
their metadata, and a browser HAR file holding a real exchange."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.testclient import TestClient

from harness.protocol.saml.authn_request import build_authn_request
from harness.protocol.xml import to_bytes
from mock_idp.clock import Clock
from mock_idp.idp import MockIdP
from reference_sp.app import ReferenceSP, Settings
from tests.mock_idp.conftest import NOW, sample_key
from tests.mock_idp.fake_sp import FakeSP

AT = ("--at", "2026-03-01T12:01:00Z")
IDP_BASE = "http://idp.test"
SP_BASE = "http://sp.test"
key = sample_key


@dataclass
class Exchange:
    idp_metadata: bytes
    sp_metadata: bytes
    request_id: str
    redirect_url: str  # the SP's AuthnRequest as the browser followed it
    response: bytes  # the IdP's answer (XML)


def preset_exchange(preset: str, *, encrypt: bool = False) -> Exchange:
    """An SP-initiated sign-in of alice at the mock IdP in ``preset``, on a frozen clock."""
    clock = Clock()
    clock.freeze(NOW)
    sp = FakeSP(key=key("sp"), encrypt=encrypt)
    idp = MockIdP(IDP_BASE, signing_keys=[key("idp")], preset=preset, seed=2, clock=clock)
    idp.register_sp_metadata(sp.metadata())
    idp.add_user("alice@example.com", email="alice@example.com", given_name="Alice", groups=["G"])
    request = sp.authn_request(NOW, f"{IDP_BASE}/saml/sso")
    query = sp.redirect_query(request, relay_state="/account", sign=True)
    answer = idp.sso(
        sp.entity_id, "alice@example.com", authn_request=to_bytes(build_authn_request(request))
    )
    return Exchange(
        idp.metadata_xml(), sp.metadata(), request.id, f"{IDP_BASE}/saml/sso?{query}", answer.xml
    )


def reference_sp_redirect() -> tuple[str, bytes]:
    """The Location of the reference SP's /saml/login (a signed HTTP-Redirect AuthnRequest)
    and the SP's metadata."""
    idp = MockIdP(IDP_BASE, signing_keys=[key("idp")])
    idp.clock.freeze(NOW)
    sp = ReferenceSP(
        Settings(db_url="sqlite://", base_url=SP_BASE, key=key("sp"), cookie_secret=b"k")
    )
    try:
        sp.add_organisation("Acme", "t", idp_metadata=idp.metadata_xml())
        with TestClient(sp.app, base_url=SP_BASE, follow_redirects=False) as http:
            metadata = http.get("/saml/metadata").content
            location = str(http.get("/saml/login").headers["location"])
    finally:
        sp.close()
    assert "Signature=" in urlsplit(location).query
    return location, metadata


def har(exchange: Exchange, acs: str = "https://sp.test/saml/acs") -> bytes:
    """A browser's HAR of the exchange: the SP's page, the redirect to the IdP, the POST back."""
    posted = base64.b64encode(exchange.response).decode("ascii")

    def entry(method: str, url: str, post: dict[str, object] | None = None) -> dict[str, object]:
        request: dict[str, object] = {"method": method, "url": url, "headers": []}
        if post is not None:
            request["postData"] = post
        return {"request": request, "response": {"status": 200, "headers": []}}

    entries = [
        entry("GET", "https://sp.test/"),
        entry("GET", exchange.redirect_url),
        entry(
            "POST",
            acs,
            {
                "mimeType": "application/x-www-form-urlencoded",
                "params": [
                    {"name": "SAMLResponse", "value": posted},
                    {"name": "RelayState", "value": "/account"},
                ],
            },
        ),
    ]
    return json.dumps({"log": {"version": "1.2", "entries": entries}}).encode()
