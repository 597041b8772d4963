import datetime as dt
import random

import pytest
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import EncryptionChoice, decrypt_element
from harness.protocol.saml.errors import EncryptionError
from harness.protocol.saml.response import Attribute, Protection, ResponseSpec, build_response
from harness.protocol.saml.signing import verify_element
from harness.protocol.xml import parse_xml, to_bytes

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
NS = {"samlp": c.SAMLP, "saml": c.SAML, "ds": c.DS, "xenc": c.XENC}


def spec() -> ResponseSpec:
    return ResponseSpec(
        response_id="_resp",
        assertion_id="_assert",
        issuer="https://idp.test/saml/metadata",
        issue_instant=NOW,
        name_id="alice@example.com",
        destination="https://sp.test/acs",
        in_response_to="_req",
        recipient="https://sp.test/acs",
        subject_in_response_to="_req",
        subject_not_on_or_after=NOW + dt.timedelta(minutes=5),
        audience_restrictions=(("https://sp.test",),),
        not_before=NOW - dt.timedelta(minutes=5),
        not_on_or_after=NOW + dt.timedelta(minutes=5),
        session_index="_s",
        session_not_on_or_after=NOW + dt.timedelta(hours=8),
        attributes=(Attribute("groups", ("a", "b"), c.ATTRNAME_BASIC),),
    )


def test_schema_order_and_both_signatures(idp_key: KeyPair) -> None:
    root = parse_xml(to_bytes(build_response(spec(), Protection(idp_key), random.Random(1))))
    assert [etree.QName(e).localname for e in root] == [
        "Issuer",
        "Signature",
        "Status",
        "Assertion",
    ]
    assertion = root.find("saml:Assertion", NS)
    assert [etree.QName(e).localname for e in assertion] == [
        "Issuer",
        "Signature",
        "Subject",
        "Conditions",
        "AuthnStatement",
        "AttributeStatement",
    ]
    verify_element(root, [idp_key.certificate])
    verify_element(assertion, [idp_key.certificate])
    values = assertion.findall(".//saml:AttributeValue", NS)
    assert [v.text for v in values] == ["a", "b"]
    assert values[0].get(c.q(c.XSI, "type")) == "xs:string"


@pytest.mark.parametrize(
    "choice",
    [
        EncryptionChoice("aes256-gcm", "rsa-oaep"),
        EncryptionChoice("aes128-gcm", "rsa-oaep"),
        EncryptionChoice("aes256-cbc", "rsa-oaep"),
        EncryptionChoice("aes128-cbc", "rsa-1_5"),
    ],
)
def test_encrypted_assertion_round_trip(
    idp_key: KeyPair, sp_key: KeyPair, choice: EncryptionChoice
) -> None:
    protection = Protection(idp_key, encrypt_to=sp_key.certificate, encryption=choice)
    root = parse_xml(to_bytes(build_response(spec(), protection, random.Random(1))))
    assert root.find("saml:Assertion", NS) is None
    encrypted = root.find("saml:EncryptedAssertion", NS)
    decrypted = decrypt_element(encrypted, [sp_key.private_key])
    assert decrypted.block_algorithm == choice.block
    # The signature made before encryption still verifies after decryption (Core 6.2).
    verify_element(decrypted.element, [idp_key.certificate])
    verify_element(root, [idp_key.certificate])


def test_decryption_failures_look_alike(
    idp_key: KeyPair, sp_key: KeyPair, attacker_key: KeyPair
) -> None:
    protection = Protection(
        idp_key, encrypt_to=sp_key.certificate, encryption=EncryptionChoice("aes128-cbc")
    )
    root = build_response(spec(), protection, random.Random(1))
    encrypted = root.find("saml:EncryptedAssertion", NS)
    with pytest.raises(EncryptionError) as wrong_key:
        decrypt_element(encrypted, [attacker_key.private_key])
    cipher = encrypted.find("xenc:EncryptedData/xenc:CipherData/xenc:CipherValue", NS)
    cipher.text = cipher.text[:-8] + "AAAAAAA="
    with pytest.raises(EncryptionError) as bad_padding:
        decrypt_element(encrypted, [sp_key.private_key])
    assert str(wrong_key.value) == str(bad_padding.value)


def test_refused_algorithms(idp_key: KeyPair, sp_key: KeyPair) -> None:
    protection = Protection(
        idp_key, encrypt_to=sp_key.certificate, encryption=EncryptionChoice("aes128-cbc", "rsa-1_5")
    )
    encrypted = build_response(spec(), protection, random.Random(1)).find(
        "saml:EncryptedAssertion", NS
    )
    with pytest.raises(EncryptionError) as info:
        decrypt_element(encrypted, [sp_key.private_key], allowed_transports=("rsa-oaep",))
    assert info.value.reason == "refused-algorithm"


def test_same_seed_same_xml(idp_key: KeyPair) -> None:
    first = to_bytes(build_response(spec(), Protection(idp_key), random.Random(5)))
    second = to_bytes(build_response(spec(), Protection(idp_key), random.Random(5)))
    assert first == second
