"""Attacks on the signature (S03-S09): under every signing and encryption choice each one
carries the attacker's NameID where a naive reader looks, shows the piece of XML-DSig it
abuses, and the strict SP refuses it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections.abc import Callable

import pytest
from lxml import etree

from harness.protocol.keys import load_certificate
from harness.protocol.saml import constants as c
from harness.protocol.saml.errors import SignatureError
from harness.protocol.saml.mutators import (
    Draft,
    MutationContext,
    MutatorCall,
    MutatorParamError,
    mutate,
)
from harness.protocol.saml.response import Protection
from harness.protocol.saml.signature_attacks import (
    DEFAULT_HMAC_KEY,
    EXTERNAL_REFERENCE,
    SIGNATURE_MUTATORS,
)
from harness.protocol.saml.signature_parts import (
    c14n,
    element_digest,
    own_signature,
    reference_digest_uri,
    signed_info_verifies,
)
from harness.protocol.saml.signing import SignatureChoice, verify_element
from harness.protocol.xml import to_bytes

from .attacks import (
    ATTACKER,
    ENCRYPTION,
    REAL,
    SIGNING,
    Keys,
    Sent,
    first_assertion,
    name_id,
    no_effect,
    send,
    strict_refusal,
    top_assertions,
)
from .test_response import NOW, NS, spec

Check = Callable[[Sent, Keys], None]


def signatures(sent: Sent) -> list[tuple[etree._Element, etree._Element]]:
    """(element, its own signature) for the Response and its assertion, as an SP sees them:
    the Response's over the message as received, the assertion's after decryption."""
    holders = [sent.received, top_assertions(sent.document)[0]]
    return [(h, own_signature(h)) for h in holders if own_signature(h) is not None]


def _extra_assertion(sent: Sent, keys: Keys) -> None:
    forged, original = top_assertions(sent.document)
    assert own_signature(sent.received) is None
    assert own_signature(forged) is None and forged.get("ID") != original.get("ID")
    verify_element(original, [keys[0].certificate])
    assert name_id(first_assertion(sent.document)) == ATTACKER


def _duplicate_id(sent: Sent, keys: Keys) -> None:
    forged, original = top_assertions(sent.document)
    assert forged.get("ID") == original.get("ID") == "_assert"
    assert own_signature(forged) is None and name_id(original) == REAL
    assert name_id(first_assertion(sent.document)) == ATTACKER


def _keyinfo_self_signed(sent: Sent, keys: Keys) -> None:
    idp, _, attacker = keys
    for element, signature in signatures(sent):
        carried = signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS).text
        certificate = load_certificate(carried)
        assert certificate.subject == idp.certificate.subject
        assert certificate.serial_number == idp.certificate.serial_number
        assert certificate.public_key() == attacker.certificate.public_key()
        verify_element(element, [certificate])  # it verifies with what it carries
        with pytest.raises(SignatureError):
            verify_element(element, [idp.certificate])
    assert name_id(top_assertions(sent.document)[0]) == ATTACKER


def _hmac(sent: Sent, keys: Keys) -> None:
    for element, signature in signatures(sent):
        method = signature.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm")
        assert method in (c.SIG_HMAC_SHA1, c.SIG_HMAC_SHA256)
        key = base64.b64decode(signature.find("ds:KeyInfo/xmlsec:HMACKeyValue", NS_XMLSEC).text)
        assert key == DEFAULT_HMAC_KEY.encode()
        hash_name = "sha1" if method == c.SIG_HMAC_SHA1 else "sha256"
        mac = hmac.new(key, c14n(signature.find("ds:SignedInfo", NS)), getattr(hashlib, hash_name))
        assert (
            signature.find("ds:SignatureValue", NS).text == base64.b64encode(mac.digest()).decode()
        )
        digest = signature.find("ds:SignedInfo/ds:Reference/ds:DigestValue", NS).text
        assert digest == element_digest(element, reference_digest_uri(signature))
    assert name_id(top_assertions(sent.document)[0]) == ATTACKER


def _reference_uri(sent: Sent, keys: Keys, to: str = "other") -> None:
    element, signature = signatures(sent)[-1]  # the Assertion's when signed, else the Response's
    uri = signature.find("ds:SignedInfo/ds:Reference", NS).get("URI")
    expected = {"empty": "", "external": EXTERNAL_REFERENCE}.get(to)
    assert uri == expected if expected is not None else uri not in ("", f"#{element.get('ID')}")
    assert signed_info_verifies(signature, [keys[0].certificate])  # the IdP's key signed it
    assert name_id(top_assertions(sent.document)[0]) == ATTACKER


def _two_signed_info(sent: Sent, keys: Keys) -> None:
    for element, signature in signatures(sent):
        first, second = signature.findall("ds:SignedInfo", NS)
        assert signed_info_verifies(signature, [keys[0].certificate], signed_info=first)
        digest = second.find("ds:Reference/ds:DigestValue", NS).text
        assert digest == element_digest(element, reference_digest_uri(signature))
    assert name_id(top_assertions(sent.document)[0]) == ATTACKER


def _digest_comment(sent: Sent, keys: Keys) -> None:
    for element, signature in signatures(sent):
        value = signature.find("ds:SignedInfo/ds:Reference/ds:DigestValue", NS)
        comment = value[0]
        assert isinstance(comment, etree._Comment) and value.text is None
        assert comment.text == element_digest(element, reference_digest_uri(signature))
        assert signed_info_verifies(signature, [keys[0].certificate])  # C14N drops the comment
    assert name_id(top_assertions(sent.document)[0]) == ATTACKER


NS_XMLSEC = {**NS, "xmlsec": c.XMLSEC}
CHECKS: dict[str, Check] = {
    "extra-assertion": _extra_assertion,
    "keyinfo-self-signed": _keyinfo_self_signed,
    "hmac-signature": _hmac,
    "reference-uri": _reference_uri,
    "two-signed-info": _two_signed_info,
    "digest-comment": _digest_comment,
    "duplicate-id": _duplicate_id,
}
NEEDS_ASSERTION_SIGNATURE = {"extra-assertion", "duplicate-id"}
REASONS = {"bad-reference", "bad-signature", "duplicate-id", "assertion-count"}


def test_every_signature_mutator_is_checked() -> None:
    assert {m.name for m in SIGNATURE_MUTATORS} == set(CHECKS)


@pytest.mark.parametrize("encryption", sorted(ENCRYPTION))
@pytest.mark.parametrize("signing", sorted(SIGNING))
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_signature_attack_is_refused(name: str, signing: str, encryption: str, keys: Keys) -> None:
    idp_key, sp_key, _ = keys
    if name in NEEDS_ASSERTION_SIGNATURE and not SIGNING[signing][0]:
        assert no_effect(keys, name, signing)
        return
    sent = send(keys, name, signing, encryption)
    assert (sent.received.find("saml:EncryptedAssertion", NS) is not None) == (
        encryption == "encrypted"
    )
    CHECKS[name](sent, keys)
    assert strict_refusal(sent, idp_key, sp_key) in REASONS


@pytest.mark.parametrize("to", ["empty", "other", "external"])
@pytest.mark.parametrize("signing", sorted(SIGNING))
def test_reference_uri_targets(to: str, signing: str, keys: Keys) -> None:
    sent = send(keys, "reference-uri", signing, "encrypted", {"to": to})
    _reference_uri(sent, keys, to)
    assert strict_refusal(sent, keys[0], keys[1]) == "bad-reference"


def test_extra_assertion_last(keys: Keys) -> None:
    sent = send(keys, "extra-assertion", params={"position": "last"})
    original, forged = top_assertions(sent.document)
    assert name_id(original) == REAL and name_id(forged) == ATTACKER
    with pytest.raises(MutatorParamError):
        send(keys, "extra-assertion", params={"position": "middle"})


def test_hmac_follows_a_sha1_signature(keys: Keys) -> None:
    protection = Protection(keys[0], signature=SignatureChoice("rsa-sha1", "sha1"))
    calls = [MutatorCall("hmac-signature", {})]
    root = mutate(Draft(spec(), protection), calls, MutationContext(NOW, random.Random(1))).root
    methods = {e.get("Algorithm") for e in root.iter(c.q(c.DS, "SignatureMethod"))}
    assert methods == {c.SIG_HMAC_SHA1}, to_bytes(root)
