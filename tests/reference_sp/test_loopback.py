"""Sign-in over real HTTP on loopback: the reference SP and the mock IdP each served by uvicorn,
a cookie-keeping HTTP client walking the browser's path (SP login, IdP login form, the
auto-submitting form to the ACS), SCIM provisioning over HTTP, and deprovisioning ending the
session."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mock_idp.app import create_app
from mock_idp.idp import MockIdP
from reference_sp.app import ReferenceSP, Settings

from ..support.servers import serve
from .conftest import ADMINS, sample_key

pytestmark = pytest.mark.loopback
TOKEN = "loopback-token"
USER = "dana@acme.test"


class Deferred:
    """An ASGI app whose target is set once the server's URL (and so the entityID) is known."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def form_fields(page: str) -> tuple[str, dict[str, str]]:
    action = html.unescape(re.search(r'<form[^>]*action="([^"]*)"', page).group(1))  # type: ignore[union-attr]
    fields = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page)
    }
    return action, fields


@pytest.fixture
def servers() -> Iterator[tuple[str, str, MockIdP]]:
    sp_app, idp_app = Deferred(), Deferred()
    with serve(sp_app) as sp_url, serve(idp_app) as idp_url:
        sp = ReferenceSP(
            Settings(db_url="sqlite://", base_url=sp_url, key=sample_key("sp"), cookie_secret=b"x")
        )
        idp = MockIdP(idp_url, signing_keys=[sample_key("idp")], seed=5)
        sp_app.app, idp_app.app = sp.app, create_app(idp)
        with httpx.Client() as admin:
            idp_metadata = admin.get(f"{idp_url}/saml/metadata").content
            registered = admin.post(
                f"{idp_url}/api/sps",
                content=admin.get(f"{sp_url}/saml/metadata").content,
                headers={"content-type": "application/xml"},
            )
            assert registered.status_code in (200, 201), registered.text
        sp.add_organisation("Acme", TOKEN, idp_metadata=idp_metadata, email_domains=["acme.test"])
        try:
            yield sp_url, idp_url, idp
        finally:
            sp.close()


def test_browser_signs_in_over_loopback_and_deprovisioning_ends_it(
    servers: tuple[str, str, MockIdP],
) -> None:
    sp_url, idp_url, _idp = servers
    scim = httpx.Client(
        base_url=f"{sp_url}/scim/v2",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"},
    )
    with scim, httpx.Client() as browser, httpx.Client() as idp_api:
        user = scim.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": USER,
                "active": True,
            },
        ).json()
        scim.post(
            "/Groups",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": ADMINS,
                "members": [{"value": user["id"]}],
            },
        )
        created = idp_api.post(
            f"{idp_url}/api/users", json={"userName": USER, "password": "pw", "email": USER}
        )
        assert created.status_code == 201, created.text

        login = browser.get(f"{sp_url}/saml/login", params={"email": USER, "RelayState": "/admin"})
        assert login.status_code == 302
        assert login.headers["location"].startswith(f"{idp_url}/saml/sso?SAMLRequest=")
        form_page = browser.get(login.headers["location"])
        assert form_page.status_code == 200
        action, fields = form_fields(form_page.text)
        posted = browser.post(
            action if action.startswith("http") else f"{idp_url}{action}",
            data={**fields, "username": USER, "password": "pw"},
        )
        assert posted.status_code == 200, posted.text
        acs, fields = form_fields(posted.text)
        assert acs == f"{sp_url}/saml/acs"
        signed_in = browser.post(acs, data=fields)
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/admin"
        me = browser.get(f"{sp_url}/api/me").json()
        assert me["roles"] == ["user", "admin"]
        assert browser.get(f"{sp_url}/admin").status_code == 200

        patched = scim.patch(
            f"/Users/{user['id']}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": False}}],
            },
        )
        assert patched.status_code == 200
        assert browser.get(f"{sp_url}/api/me").status_code == 401
