import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from harness.protocol.keys import KeyPair, load_key_pair
from mock_idp.app import create_app
from mock_idp.clock import Clock
from mock_idp.idp import MockIdP

from .fake_sp import FakeSP

KEYS = Path(__file__).parents[1] / "samples" / "saml" / "keys"
NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
BASE = "http://idp.test"


def sample_key(name: str) -> KeyPair:
    return load_key_pair((KEYS / f"{name}.key").read_bytes(), (KEYS / f"{name}.crt").read_bytes())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def idp_key() -> KeyPair:
    return sample_key("idp")


@pytest.fixture(scope="session")
def sp_key() -> KeyPair:
    return sample_key("sp")


@pytest.fixture(scope="session")
def attacker_key() -> KeyPair:
    return sample_key("attacker")


@pytest.fixture
def sp(sp_key: KeyPair) -> FakeSP:
    return FakeSP(key=sp_key)


def frozen_clock() -> Clock:
    clock = Clock()
    clock.freeze(NOW)
    return clock


@pytest.fixture
def idp(idp_key: KeyPair, attacker_key: KeyPair, sp: FakeSP) -> MockIdP:
    mock = MockIdP(
        BASE,
        signing_keys=[idp_key],
        seed=7,
        clock=frozen_clock(),
        attacker_key=attacker_key,
        allow_passwordless_idp_init=True,
    )
    mock.register_sp_metadata(sp.metadata())
    mock.add_user(
        "alice@example.com",
        password="alice-pw",
        email="alice@example.com",
        given_name="Alice",
        family_name="Liddell",
        groups=["Business Account Admins"],
    )
    mock.add_user("bob@example.com", password="bob-pw", email="bob@example.com", active=False)
    return mock


@pytest.fixture
async def client(idp: MockIdP) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(idp))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http
