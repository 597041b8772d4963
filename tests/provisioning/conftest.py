"""A provisioning world: the mock IdP provisioning the real reference SP (its SCIM server on an
in-memory SQL store) in-process through httpx's ASGI transport, on a frozen clock, with a
recording ``sleep`` so backoff never waits."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.protocol.keys import KeyPair, load_key_pair
from mock_idp.clock import Clock
from mock_idp.idp import MockIdP
from mock_idp.provisioning import ProvisioningTarget
from reference_sp.app import ReferenceSP, Settings

KEYS = Path(__file__).parents[1] / "samples" / "saml" / "keys"
NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
SCIM_URL = "http://sp.test/scim/v2"
_orgs = itertools.count(1)


def sample_key(name: str) -> KeyPair:
    return load_key_pair((KEYS / f"{name}.key").read_bytes(), (KEYS / f"{name}.crt").read_bytes())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def reference_sp() -> Iterator[ReferenceSP]:
    sp = ReferenceSP(Settings(db_url="sqlite://", key=sample_key("sp"), cookie_secret=b"s" * 32))
    yield sp
    sp.close()


@dataclass
class Sleeps:
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class World:
    sp: ReferenceSP
    idp: MockIdP
    token: str
    org_pk: int
    sleeps: Sleeps
    clock: Clock

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.sp.app),
            base_url=SCIM_URL,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    async def sp_state(self) -> dict[str, Any]:
        """What the SP holds: users by userName (active flag), groups with member userNames."""
        async with self.client() as client:
            users = (await client.get("/Users", params={"count": "1000"})).json()["Resources"]
            groups = (await client.get("/Groups", params={"count": "1000"})).json()["Resources"]
        names = {u["id"]: u["userName"].lower() for u in users}
        group_names = {g["id"]: g["displayName"] for g in groups}
        return {
            "users": {u["userName"].lower(): u for u in users},
            "groups": {
                g["displayName"]: sorted(
                    names[m["value"]] for m in g.get("members", []) if m["value"] in names
                )
                for g in groups
            },
            "nested": {
                g["displayName"]: sorted(
                    group_names.get(m["value"], "?" + m["value"])
                    for m in g.get("members", [])
                    if m["value"] not in names
                )
                for g in groups
            },
        }


def make_world(sp: ReferenceSP, dialect: str = "rfc", *, seed: int = 1, **target: Any) -> World:
    token = f"token-{next(_orgs)}"
    org_pk = sp.add_organisation(f"org-{token}", token)
    clock = Clock()
    clock.freeze(NOW)
    idp = MockIdP("http://idp.test", signing_keys=[sample_key("idp")], seed=seed, clock=clock)
    sleeps = Sleeps()
    idp.provisioning.sleep = sleeps
    idp.provisioning.transport = httpx.ASGITransport(app=sp.app)
    idp.provision_to(ProvisioningTarget(SCIM_URL, token=token, dialect=dialect, **target))
    return World(sp, idp, token, org_pk, sleeps, clock)


VARIANTS = {"ping-delete": ("ping", {"ping_remove_user_action": "delete"})}


def make_world_for(sp: ReferenceSP, variant: str) -> World:
    """A world for a dialect, or a dialect variant such as ``ping-delete`` (Ping whose Remove
    User Action is Delete)."""
    dialect, settings = VARIANTS.get(variant, (variant, {}))
    return make_world(sp, dialect, **settings)
