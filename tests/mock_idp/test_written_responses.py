"""The mock IdP's clean responses, written as octets (harness.protocol.saml.response_octets),
verify in libxmlsec1 and in signxml for every preset, with values that need escaping, in clear
and encrypted; and what the SP reads back is what the directory holds."""

import pytest
import xmlsec
from lxml import etree
from signxml import XMLVerifier  # type: ignore[attr-defined]
from signxml.exceptions import InvalidDigest

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.presets import PRESETS
from mock_idp.idp import MockIdP
from mock_idp.service_providers import SPSettings

from .conftest import BASE, frozen_clock, sample_key
from .fake_sp import FakeSP
from .test_interop_xmlsec import verify_all

USER = "o'brien&<co>\"ü@example.com"
GIVEN = 'Zoë & "Ann" <x>'
GROUP = "R&D <core> ]]>"


def issue(preset: str, encrypt: bool, sp_key: KeyPair) -> tuple[etree._Element, KeyPair]:
    key = sample_key("idp")
    sp = FakeSP(key=sp_key, encrypt=encrypt)
    idp = MockIdP(BASE, signing_keys=[key], seed=4, clock=frozen_clock(), preset=preset)
    idp.register_sp_metadata(sp.metadata())
    idp.sps[sp.entity_id].settings = SPSettings(
        sign_assertion=True, sign_response=True, encrypt=encrypt
    )
    idp.add_user(USER, email=USER, given_name=GIVEN, family_name="Ünal", groups=[GROUP, "Büro"])
    message = idp.sso(sp.entity_id, USER)
    return etree.fromstring(message.xml), key


def verify_in_signxml(element: etree._Element, key: KeyPair) -> None:
    XMLVerifier().verify(element, x509_cert=key.certificate_pem().decode())


def decrypt_in_xmlsec(root: etree._Element, sp_key: KeyPair) -> etree._Element:
    manager = xmlsec.KeysManager()
    manager.add_key(
        xmlsec.Key.from_memory(sp_key.private_key_pem(), xmlsec.constants.KeyDataFormatPem)
    )
    encrypted_data = root.find(f".//{c.q(c.XENC, 'EncryptedData')}")
    assertion = xmlsec.EncryptionContext(manager).decrypt(encrypted_data)
    # Detached from the Response, as an SP holds it once decrypted.
    return etree.fromstring(etree.tostring(assertion))


@pytest.mark.parametrize("encrypt", [False, True], ids=["clear", "encrypted"])
@pytest.mark.parametrize("preset", list(PRESETS))
def test_signatures_verify_in_xmlsec_and_signxml(
    preset: str, encrypt: bool, sp_key: KeyPair
) -> None:
    root, key = issue(preset, encrypt, sp_key)
    verify_in_signxml(root, key)
    if encrypt:
        assert verify_all(root, key) == 1  # the Response's, over the encrypted form
        assertion = decrypt_in_xmlsec(root, sp_key)  # (in place: the Response's is void now)
    else:
        found = root.find(c.q(c.SAML, "Assertion"))
        assert found is not None
        assertion = etree.fromstring(etree.tostring(found))
        assert verify_all(root, key) == 2
    verify_in_signxml(assertion, key)
    assert verify_all(assertion, key) == 1
    name_id = assertion.find(f"{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}")
    assert name_id is not None and name_id.text == USER
    values = {v.text for v in assertion.iter(c.q(c.SAML, "AttributeValue"))}
    assert GIVEN in values
    if preset != "entra":  # Entra sends the groups' object IDs
        assert {GROUP, "Büro"} <= values


def test_tampered_written_response_fails_in_both(sp_key: KeyPair) -> None:
    root, key = issue("generic", False, sp_key)
    name_id = root.find(f".//{c.q(c.SAML, 'NameID')}")
    assert name_id is not None
    name_id.text = "admin@example.com"
    with pytest.raises(xmlsec.Error):
        verify_all(root, key)
    with pytest.raises(InvalidDigest):
        verify_in_signxml(root.find(c.q(c.SAML, "Assertion")), key)  # type: ignore[arg-type]
