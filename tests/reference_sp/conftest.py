"""A world for the reference SP's sign-in side: the SP on a real SQL store with fixed keys, the
mock IdP as the organisation's IdP, both on one frozen clock; a browser (TestClient with its
cookie jar) that walks SP-initiated SSO; a SCIM client provisioning the SP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from harness.protocol.keys import KeyPair, load_key_pair
from harness.protocol.saml import constants as c
from mock_idp.clock import Clock
from mock_idp.idp import MockIdP
from mock_idp.messages import OutgoingMessage
from reference_sp.app import ReferenceSP, Settings
from tests.scim.conftest import ScimClient, database_urls, reset_tables

KEYS = Path(__file__).parents[1] / "samples" / "saml" / "keys"
NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
SP_BASE = "http://sp.test"
IDP_BASE = "http://idp.test"
TOKEN = "acme-scim-token"
ADMINS = "Business Account Admins"


def sample_key(name: str) -> KeyPair:
    return load_key_pair((KEYS / f"{name}.key").read_bytes(), (KEYS / f"{name}.crt").read_bytes())


@dataclass
class World:
    sp: ReferenceSP
    idp: MockIdP
    clock: Clock
    http: TestClient  # the user's browser at the SP
    scim: ScimClient
    org_pk: int

    def http_session(self) -> TestClient:
        """Another browser (its own cookie jar)."""
        return TestClient(self.sp.app, base_url=SP_BASE, follow_redirects=False)

    def provision(
        self,
        user_name: str,
        *,
        active: bool = True,
        groups: tuple[str, ...] = (),
        at_idp: bool = True,
    ) -> dict[str, Any]:
        user = self.scim.create_user(
            user_name, active=active, emails=[{"value": user_name, "primary": True}]
        )
        for group in groups:
            self.add_to_group(group, user["id"])
        if at_idp and user_name.lower() not in {
            u.user_name.lower() for u in self.idp.directory.users()
        }:
            self.idp.add_user(user_name, password="pw", email=user_name)
        return user

    def group_id(self, name: str) -> str:
        found = self.scim.filter("Groups", f'displayName eq "{name}"').json()["Resources"]
        if found:
            return str(found[0]["id"])
        return str(self.scim.create_group(name)["id"])

    def add_to_group(self, group: str, user_id: str) -> None:
        response = self.scim.patch(
            f"/Groups/{self.group_id(group)}",
            [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
        )
        assert response.status_code == 200, response.text

    def remove_from_group(self, group: str, user_id: str) -> None:
        response = self.scim.patch(
            f"/Groups/{self.group_id(group)}",
            [{"op": "remove", "path": f'members[value eq "{user_id}"]'}],
        )
        assert response.status_code == 200, response.text

    def deactivate(self, user_id: str) -> None:
        response = self.scim.patch(
            f"/Users/{user_id}", [{"op": "replace", "path": "active", "value": False}]
        )
        assert response.status_code == 200, response.text

    def reactivate(self, user_id: str) -> None:
        response = self.scim.patch(
            f"/Users/{user_id}", [{"op": "replace", "path": "active", "value": True}]
        )
        assert response.status_code == 200, response.text

    def delete(self, user_id: str) -> None:
        assert self.scim.delete(f"/Users/{user_id}").status_code == 204

    # ------------------------------------------------------------------------- sign-in

    def start(self, browser: TestClient | None = None, **params: str) -> str:
        """GET /saml/login; the Location of the redirect to the IdP."""
        browser = browser or self.http
        response = browser.get("/saml/login", params=params or {"email": "x@acme.test"})
        assert response.status_code == 302, response.text
        return str(response.headers["location"])

    def response_for(
        self, user_name: str, *mutators: str, browser: TestClient | None = None
    ) -> OutgoingMessage:
        if mutators:
            self.idp.plan_next(*mutators)
        return self.idp.sso_from_redirect(self.start(browser), user_name)

    def post(
        self, message: OutgoingMessage, browser: TestClient | None = None, **headers: str
    ) -> Any:
        browser = browser or self.http
        assert urlsplit(message.url).path == "/saml/acs"
        return browser.post("/saml/acs", data=message.fields, headers=headers)

    def sign_in(self, user_name: str, browser: TestClient | None = None) -> Any:
        response = self.post(self.response_for(user_name, browser=browser), browser)
        assert response.status_code == 303, response.text
        return response

    def me(self, browser: TestClient | None = None) -> Any:
        return (browser or self.http).get("/api/me")

    def audit(self) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from reference_sp.account_tables import audit_log

        with self.sp.db.transaction() as conn:
            rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
        return [dict(row._mapping) for row in rows]


def make_world(
    db_url: str,
    *,
    flaws: tuple[str, ...] = (),
    profile: str = "generic",
    seats: int = 100,
    encrypt: bool = True,
    preset: str = "generic",
    **org: Any,
) -> Iterator[World]:
    clock = Clock()
    clock.freeze(NOW)
    sp = ReferenceSP(
        Settings(
            db_url=db_url,
            base_url=SP_BASE,
            flaws=flaws,
            profile=profile,  # type: ignore[arg-type]
            key=sample_key("sp"),
            cookie_secret=b"test-secret",
            want_encryption=encrypt,
        ),
        clock=clock.now,
    )
    reset_tables(sp)
    idp = MockIdP(
        IDP_BASE,
        signing_keys=[sample_key("idp")],
        preset=preset,
        seed=3,
        clock=clock,
        attacker_key=sample_key("attacker"),
    )
    with TestClient(sp.app, base_url=SP_BASE, follow_redirects=False) as http:
        idp.register_sp_metadata(http.get("/saml/metadata").content)
        org_pk = sp.add_organisation(
            "Acme",
            TOKEN,
            idp_metadata=idp.metadata_xml(),
            email_domains=["acme.test"],
            seats=seats,
            **org,
        )
        yield World(sp, idp, clock, http, ScimClient(http, TOKEN), org_pk)
    sp.close()


@pytest.fixture(params=database_urls())
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    yield from make_world(request.param)


__all__ = ["ADMINS", "NOW", "World", "c", "make_world"]
