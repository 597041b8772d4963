"""Interop with libxmlsec1 through the python-xmlsec bindings (no xmlsec1 binary needed):
every signature the mock IdP makes verifies there, and its EncryptedAssertions decrypt."""

import pytest
import xmlsec
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from mock_idp.idp import MockIdP
from mock_idp.service_providers import SPSettings

from .conftest import BASE, frozen_clock, sample_key
from .fake_sp import FakeSP


def issue(key: KeyPair, sp: FakeSP, settings: SPSettings) -> etree._Element:
    idp = MockIdP(BASE, signing_keys=[key], seed=4, clock=frozen_clock())
    idp.register_sp_metadata(sp.metadata())
    idp.sps[sp.entity_id].settings = settings
    idp.add_user("alice@example.com", email="alice@example.com")
    return etree.fromstring(idp.sso(sp.entity_id, "alice@example.com").xml)


def verify_all(root: etree._Element, key: KeyPair) -> int:
    xmlsec.tree.add_ids(root, ["ID"])
    signatures = root.findall(f".//{c.q(c.DS, 'Signature')}")
    for node in signatures:
        context = xmlsec.SignatureContext()
        context.key = xmlsec.Key.from_memory(
            key.certificate_pem(), xmlsec.constants.KeyDataFormatCertPem
        )
        context.verify(node)
    return len(signatures)


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "rsa-sha1", "rsa-sha512", "ecdsa-sha256"])
def test_signatures_verify_in_libxmlsec(algorithm: str) -> None:
    key = sample_key("idp-ec" if algorithm.startswith("ecdsa") else "idp")
    root = issue(
        key,
        FakeSP(),
        SPSettings(signature_algorithm=algorithm, sign_assertion=True, sign_response=True),
    )
    assert verify_all(root, key) == 2


def test_tampering_fails_in_libxmlsec() -> None:
    key = sample_key("idp")
    root = issue(key, FakeSP(), SPSettings(sign_assertion=True, sign_response=False))
    root.find(f".//{c.q(c.SAML, 'NameID')}").text = "admin@example.com"  # type: ignore[union-attr]
    with pytest.raises(xmlsec.Error):
        verify_all(root, key)


@pytest.mark.parametrize(
    ("block", "transport"),
    [
        ("aes256-gcm", "rsa-oaep"),
        ("aes128-gcm", "rsa-oaep"),
        ("aes256-cbc", "rsa-oaep"),
        ("aes128-cbc", "rsa-1_5"),
    ],
)
def test_encrypted_assertions_decrypt_in_libxmlsec(
    block: str, transport: str, sp_key: KeyPair
) -> None:
    key = sample_key("idp")
    settings = SPSettings(encrypt=True, encryption_block=block, encryption_transport=transport)
    root = issue(key, FakeSP(key=sp_key, encrypt=True), settings)
    assert verify_all(root, key) == 1  # the response's, over the encrypted form
    manager = xmlsec.KeysManager()
    manager.add_key(
        xmlsec.Key.from_memory(sp_key.private_key_pem(), xmlsec.constants.KeyDataFormatPem)
    )
    encrypted_data = root.find(f".//{c.q(c.XENC, 'EncryptedData')}")
    assertion = xmlsec.EncryptionContext(manager).decrypt(encrypted_data)
    assert assertion.tag == c.q(c.SAML, "Assertion")
    # The decrypted assertion's own signature (exclusive C14N: valid in its new place).
    assert verify_all(etree.fromstring(etree.tostring(assertion)), key) == 1
