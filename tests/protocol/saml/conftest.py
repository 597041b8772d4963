import datetime as dt
from pathlib import Path

import pytest

from harness.protocol.keys import KeyPair, load_key_pair

KEYS = Path(__file__).parents[2] / "samples" / "saml" / "keys"
NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


def sample_key(name: str) -> KeyPair:
    return load_key_pair((KEYS / f"{name}.key").read_bytes(), (KEYS / f"{name}.crt").read_bytes())


@pytest.fixture(scope="session")
def idp_key() -> KeyPair:
    return sample_key("idp")


@pytest.fixture(scope="session")
def rollover_key() -> KeyPair:
    return sample_key("idp-rollover")


@pytest.fixture(scope="session")
def ec_key() -> KeyPair:
    return sample_key("idp-ec")


@pytest.fixture(scope="session")
def sp_key() -> KeyPair:
    return sample_key("sp")


@pytest.fixture(scope="session")
def attacker_key() -> KeyPair:
    return sample_key("attacker")


@pytest.fixture(scope="module")
def keys(
    idp_key: KeyPair, sp_key: KeyPair, attacker_key: KeyPair
) -> tuple[KeyPair, KeyPair, KeyPair]:
    """The IdP's, the SP's and the attacker's keys, as the attack tests take them."""
    return idp_key, sp_key, attacker_key
