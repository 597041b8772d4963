import pytest
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.errors import SignatureError
from harness.protocol.saml.signing import SignatureChoice, sign_element, verify_element
from harness.protocol.xml import parse_xml, to_bytes


def assertion() -> etree._Element:
    return parse_xml(
        f'<saml:Assertion xmlns:saml="{c.SAML}" ID="_a1" Version="2.0">'
        "<saml:Issuer>https://idp.test</saml:Issuer><saml:Subject>"
        "<saml:NameID>alice@example.com</saml:NameID></saml:Subject></saml:Assertion>".encode()
    )


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "rsa-sha512", "rsa-sha1"])
def test_rsa_round_trip(idp_key: KeyPair, algorithm: str) -> None:
    signed = sign_element(assertion(), idp_key, SignatureChoice.for_algorithm(algorithm))
    # ds:Signature sits right after saml:Issuer (schema order), with exclusive C14N.
    assert etree.QName(signed[1]).localname == "Signature"
    assert (
        signed.find(f".//{c.q(c.DS, 'CanonicalizationMethod')}").get("Algorithm")
        == c.C14N_EXCLUSIVE
    )
    verified = verify_element(parse_xml(to_bytes(signed)), [idp_key.certificate], allow_sha1=True)
    assert verified.signed_element.get("ID") == "_a1"


def test_ecdsa_round_trip(ec_key: KeyPair) -> None:
    signed = sign_element(assertion(), ec_key, SignatureChoice.for_algorithm("ecdsa-sha256"))
    assert verify_element(signed, [ec_key.certificate]).signature_method == c.SIG_ECDSA_SHA256


def test_sha1_refused_unless_allowed(idp_key: KeyPair) -> None:
    signed = sign_element(assertion(), idp_key, SignatureChoice.for_algorithm("rsa-sha1"))
    with pytest.raises(SignatureError) as info:
        verify_element(signed, [idp_key.certificate])
    assert info.value.rule == "SDP-ALG01"


def test_any_of_several_trusted_keys(idp_key: KeyPair, rollover_key: KeyPair) -> None:
    signed = sign_element(assertion(), rollover_key)
    assert verify_element(signed, [idp_key.certificate, rollover_key.certificate])


def test_untrusted_key_rejected_even_with_certificate_in_keyinfo(
    idp_key: KeyPair, attacker_key: KeyPair
) -> None:
    signed = sign_element(assertion(), attacker_key)
    with pytest.raises(SignatureError) as info:
        verify_element(signed, [idp_key.certificate])
    assert info.value.reason == "bad-signature"


def test_tampering_detected(idp_key: KeyPair) -> None:
    signed = sign_element(assertion(), idp_key)
    signed.find(f".//{c.q(c.SAML, 'NameID')}").text = "admin@example.com"
    with pytest.raises(SignatureError):
        verify_element(signed, [idp_key.certificate])


def test_unsigned_and_wrong_reference(idp_key: KeyPair) -> None:
    with pytest.raises(SignatureError) as info:
        verify_element(assertion(), [idp_key.certificate])
    assert info.value.reason == "unsigned"
    signed = sign_element(assertion(), idp_key)
    signed.set("ID", "_other")
    with pytest.raises(SignatureError) as info:
        verify_element(signed, [idp_key.certificate])
    assert info.value.reason == "bad-reference"


def test_algorithm_must_match_key_type(ec_key: KeyPair) -> None:
    with pytest.raises(ValueError, match="ec key"):
        sign_element(assertion(), ec_key, SignatureChoice.for_algorithm("rsa-sha256"))


def test_schema_invalid_signature_is_a_signature_error(idp_key: KeyPair) -> None:
    """signxml schema-validates ds:Signature; a peer's malformed KeyInfo is their error."""
    signed = sign_element(assertion(), idp_key)
    cert = signed.find(f".//{c.q(c.DS, 'X509Certificate')}")
    assert cert is not None and cert.text
    cert.text = cert.text[:20] + ":" + cert.text[21:]
    with pytest.raises(SignatureError):
        verify_element(parse_xml(to_bytes(signed)), [idp_key.certificate])
