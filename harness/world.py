"""A world: one mock IdP and one SP under test, wired to trust each other, plus the browsers
(cookie jars) and devices a scenario uses. Each scenario run gets a fresh world.

The reference target runs both apps in-process on their own hosts (``idp.test``, ``sp.test``);
every request still goes through HTTP semantics (redirects, cookies, forms), so the same steps
drive a loopback or a remote SP.
"""

from __future__ import annotations

import datetime as dt
import functools
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.protocol.keys import KeyPair, generate_key_pair
from harness.protocol.saml import constants as saml
from harness.scenario.model import Organisation, ScenarioRun
from harness.transport import Portal, Routes
from mock_idp.idp import MockIdP
from mock_idp.service_providers import SPSettings
from reference_sp.app import ReferenceSP, Settings

IDP_BASE = "http://idp.test"
SP_BASE = "http://sp.test"
SCIM_TOKEN = "harness-scim-token"  # noqa: S105 - a token for a throwaway in-process SP
ORGANISATION = "acme"
NAMEID_FORMATS = {
    "emailAddress": saml.NAMEID_EMAIL,
    "persistent": saml.NAMEID_PERSISTENT,
    "transient": saml.NAMEID_TRANSIENT,
    "unspecified": saml.NAMEID_UNSPECIFIED,
}


@functools.cache
def _key(name: str) -> KeyPair:
    """Keys are generated once per process: RSA key generation costs more than a scenario."""
    return generate_key_pair(f"sso-harness {name}", now=dt.datetime.now(dt.UTC))


@functools.cache
def _cookie_secret() -> bytes:
    return b"sso-harness in-process cookie secret, per process"


@dataclass
class Device:
    name: str
    activation_id: str | None
    check_in_url: str | None


@dataclass
class World(AbstractContextManager["World"]):
    run: ScenarioRun
    seed: int
    sp_flaws: tuple[str, ...] = ()
    idp_flaws: tuple[str, ...] = ()
    devices: dict[str, Device] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    unassigned: set[str] = field(default_factory=set)  # user refs not assigned to the SP's app
    deleted: dict[str, Any] = field(default_factory=dict)  # ref -> the user as last known
    scim_token: str = SCIM_TOKEN

    def __post_init__(self) -> None:
        self.portal = Portal()
        self.idp = MockIdP(
            IDP_BASE,
            signing_keys=[_key("mock idp")],
            preset=self.run.preset,
            flaws=self.idp_flaws,
            seed=self.seed,
            attacker_key=_key("attacker"),
        )
        self.sp = ReferenceSP(
            Settings(
                db_url="sqlite://",
                base_url=SP_BASE,
                flaws=self.sp_flaws,
                key=_key("reference sp"),
                cookie_secret=_cookie_secret(),
            )
        )
        self.transport = Routes(
            {
                "idp.test": self.portal.serve(self.idp.asgi_app()),
                "sp.test": self.portal.serve(self.sp.app),
            }
        )
        self._browsers: dict[str, httpx.Client] = {}
        self._wire(self.run.scenario.given.organisation)

    # -- wiring --------------------------------------------------------------------------

    def _wire(self, org: Organisation) -> None:
        with self.client() as http:
            sp_metadata = http.get(f"{SP_BASE}/saml/metadata").raise_for_status().content
        self.idp.register_sp_metadata(
            sp_metadata, SPSettings(name_id_format=NAMEID_FORMATS[self.run.name_id_format])
        )
        self.sp.add_organization(
            ORGANISATION,
            SCIM_TOKEN,
            idp_metadata=self.idp.metadata_xml(),
            email_domains=[org.email_domain],
            admin_group=org.admin_group,
            license_group=org.license_group,
            subscription=org.subscription,
            seats=org.seats,
            allow_idp_initiated=org.allow_idp_initiated,
        )

    @property
    def sp_entity_id(self) -> str:
        return self.sp.entity_id

    @property
    def scim_url(self) -> str:
        return f"{SP_BASE}/scim/v2"

    def user_name(self, ref: str) -> str:
        return f"{ref}@{self.run.scenario.given.organisation.email_domain}"

    # -- HTTP ----------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> httpx.Client:
        """A new HTTP client that reaches both apps (no cookies kept between clients)."""
        return httpx.Client(transport=self.transport, timeout=30, **kwargs)

    def browser(self, name: str) -> httpx.Client:
        """The named browser session: a client whose cookies persist across steps."""
        if name not in self._browsers:
            self._browsers[name] = self.client(headers={"User-Agent": "sso-harness"})
        return self._browsers[name]

    def forget_browser(self, name: str) -> None:
        client = self._browsers.pop(name, None)
        if client is not None:
            client.close()

    def has_browser(self, name: str) -> bool:
        return name in self._browsers

    def __exit__(self, *exc: object) -> None:
        for client in self._browsers.values():
            client.close()
        self.transport.close()
        self.sp.close()
        self.portal.__exit__(None, None, None)
