"""A real Chromium signs in through the real mock IdP and reference SP on loopback: the SP's
login redirect, the IdP's login form, the auto-submitting SAML form, the SP's ACS and session.
This is the path the runner's browser steps take."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.browser import Browser
from harness.protocol.keys import KeyPair, load_key_pair
from mock_idp.app import create_app
from mock_idp.idp import MockIdP
from reference_sp.app import ReferenceSP, Settings
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.loopback]
KEYS = Path(__file__).parents[1] / "samples" / "saml" / "keys"
TOKEN = "browser-token"
USER = "dana@acme.test"


def key(name: str) -> KeyPair:
    return load_key_pair((KEYS / f"{name}.key").read_bytes(), (KEYS / f"{name}.crt").read_bytes())


class Deferred:
    """An ASGI app whose target is set once the server's URL (and so the entityID) is known."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture
def world() -> Iterator[tuple[str, str]]:
    sp_app, idp_app = Deferred(), Deferred()
    with serve(sp_app) as sp_url, serve(idp_app) as idp_url:
        sp = ReferenceSP(
            Settings(db_url="sqlite://", base_url=sp_url, key=key("sp"), cookie_secret=b"x")
        )
        idp = MockIdP(idp_url, signing_keys=[key("idp")], seed=5)
        sp_app.app, idp_app.app = sp.app, create_app(idp)
        with httpx.Client() as admin:
            idp_metadata = admin.get(f"{idp_url}/saml/metadata").content
            admin.post(
                f"{idp_url}/api/sps",
                content=admin.get(f"{sp_url}/saml/metadata").content,
                headers={"content-type": "application/xml"},
            ).raise_for_status()
            sp.add_organisation(
                "Acme", TOKEN, idp_metadata=idp_metadata, email_domains=["acme.test"]
            )
            admin.post(
                f"{sp_url}/scim/v2/Users",
                headers={"Authorization": f"Bearer {TOKEN}"},
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": USER,
                    "active": True,
                },
            ).raise_for_status()
            admin.post(
                f"{idp_url}/api/users", json={"userName": USER, "password": "pw", "email": USER}
            ).raise_for_status()
        try:
            yield sp_url, idp_url
        finally:
            sp.close()


def test_chromium_signs_in_through_the_mock_idp_and_the_reference_sp(
    world: tuple[str, str], tmp_path: Path
) -> None:
    sp_url, idp_url = world
    with Browser() as chromium, chromium.session() as session:
        session.goto(f"{sp_url}/saml/login?email={USER}&RelayState=/account")
        assert session.url.startswith(f"{idp_url}/saml/sso")
        session.fill_and_submit({"username": USER, "password": "pw"})
        assert session.url == f"{sp_url}/account"
        assert USER in session.text()
        session.goto(f"{sp_url}/api/me")
        assert f'"userName":"{USER}"' in session.text().replace(" ", "")
        shot = session.screenshot(tmp_path / "account.png")
    assert shot.stat().st_size > 1000
