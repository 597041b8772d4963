"""A broken signature inside an EncryptedAssertion is refused by the strict reference SP.

The mock IdP used to tamper and corrupt after encrypting, which changed nothing inside the
ciphertext: the SP signed the user in while the journal said the response was broken.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.protocol.saml.encryption import decrypt_element
from harness.protocol.xml import parse_xml

from .conftest import World, c, make_world, sample_key
from .test_reason_codes import USER, refused


@pytest.fixture
def encrypting() -> Iterator[World]:
    """The SP publishes an encryption key, so the mock IdP encrypts every assertion."""
    for world in make_world("sqlite://", encrypt=True):
        world.provision(USER)
        yield world


@pytest.mark.parametrize("mutator", ["tamper-after-signing", "corrupt-signature"])
@pytest.mark.parametrize("sign_response", [True, False], ids=["both-signed", "assertion-signed"])
@pytest.mark.parametrize("block", ["aes256-gcm", "aes128-cbc"])
def test_broken_signature_inside_encrypted_assertion_is_refused(
    encrypting: World, mutator: str, sign_response: bool, block: str
) -> None:
    sp = next(iter(encrypting.idp.sps.values()))
    sp.settings.sign_response = sign_response
    sp.settings.sign_assertion = True
    sp.settings.encryption_block = block

    control = encrypting.http_session()
    good = encrypting.response_for(USER, browser=control)
    assert parse_xml(good.xml).find(c.q(c.SAML, "EncryptedAssertion")) is not None
    assert encrypting.post(good, control).status_code == 303  # the positive control

    message = encrypting.response_for(USER, mutator)
    encrypted = parse_xml(message.xml).find(c.q(c.SAML, "EncryptedAssertion"))
    assert encrypted is not None, "the mutated assertion must still travel encrypted"
    inside = decrypt_element(encrypted, [sample_key("sp").private_key]).element
    name_id = inside.find(f".//{c.q(c.SAML, 'NameID')}")
    assert name_id is not None
    assert (name_id.text == "admin@example.com") == (mutator == "tamper-after-signing")

    body = refused(encrypting, message)
    assert body["reason"] == "bad-signature", body
    entry = encrypting.idp.journal.entries(kind="Response")[-1]
    assert entry.mutators == (mutator,)
