import datetime as dt
import random
import re
from collections.abc import Callable

import pytest
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import EncryptionChoice
from harness.protocol.saml.errors import SignatureError
from harness.protocol.saml.mutators import (
    MUTATORS,
    PROTOCOL_MUTATORS,
    Draft,
    MutationContext,
    MutatorCall,
    MutatorNoEffect,
    UnknownMutatorError,
    build_mutated,
    mutate,
)
from harness.protocol.saml.parser_attacks import (
    BASE64_TRANSFORM,
    FOREIGN_SAML,
    PARSER_MUTATORS,
    XPATH_TRANSFORM,
    XSLT_TRANSFORM,
)
from harness.protocol.saml.response import Protection
from harness.protocol.saml.signing import verify_element

from .test_response import NOW, NS, spec

RULE_ID = re.compile(
    r"^(SAML-(CORE|PROF|BIND|MD)-[0-9.]+|XMLDSIG-[0-9.]+|SDP-[A-Z0-9]+|IIP-[A-Z0-9]+|SP-[A-Z-]+)$"
)


def build(idp_key: KeyPair, attacker_key: KeyPair, *names: str) -> etree._Element:
    context = MutationContext(now=NOW, rng=random.Random(3), attacker_key=attacker_key)
    calls = [MutatorCall(name, {}) for name in names]
    return build_mutated(Draft(spec(), Protection(idp_key)), calls, context)


def text(root: etree._Element, path: str, attribute: str | None = None) -> str | None:
    element = root.find(path, NS)
    if element is None:
        return None
    return element.get(attribute) if attribute else element.text


SCD = "saml:Assertion/saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"
Check = Callable[[etree._Element, KeyPair], bool]


def signatures_fail(root: etree._Element, key: KeyPair) -> bool:
    for element in (root, root.find("saml:Assertion", NS)):
        try:
            verify_element(element, [key.certificate])
        except SignatureError:
            return True
    return False


def in_past(value: str | None) -> bool:
    return value is not None and dt.datetime.fromisoformat(value.replace("Z", "+00:00")) <= NOW


EXPECTED: dict[str, Check] = {
    "unsigned": lambda r, k: r.find(".//ds:Signature", NS) is None,
    "unsigned-assertion": lambda r, k: (
        r.find("saml:Assertion/ds:Signature", NS) is None and r.find("ds:Signature", NS) is not None
    ),
    "unsigned-response": lambda r, k: (
        r.find("ds:Signature", NS) is None and r.find("saml:Assertion/ds:Signature", NS) is not None
    ),
    "expired": lambda r, k: (
        in_past(text(r, "saml:Assertion/saml:Conditions", "NotOnOrAfter"))
        and in_past(text(r, SCD, "NotOnOrAfter"))
    ),
    "not-yet-valid": lambda r, k: (
        not in_past(text(r, "saml:Assertion/saml:Conditions", "NotBefore"))
    ),
    "subject-expired": lambda r, k: in_past(text(r, SCD, "NotOnOrAfter")),
    "no-subject-expiry": lambda r, k: text(r, SCD, "NotOnOrAfter") is None,
    "session-expired": lambda r, k: in_past(
        text(r, "saml:Assertion/saml:AuthnStatement", "SessionNotOnOrAfter")
    ),
    "wrong-audience": lambda r, k: text(r, ".//saml:Audience") != "https://sp.test",
    "no-audience": lambda r, k: r.find(".//saml:AudienceRestriction", NS) is None,
    "wrong-recipient": lambda r, k: text(r, SCD, "Recipient") not in (None, "https://sp.test/acs"),
    "no-recipient": lambda r, k: text(r, SCD, "Recipient") is None,
    "wrong-destination": lambda r, k: r.get("Destination") not in (None, "https://sp.test/acs"),
    "no-destination": lambda r, k: r.get("Destination") is None,
    "wrong-issuer": lambda r, k: text(r, "saml:Issuer") != "https://idp.test/saml/metadata",
    "mismatched-issuer": lambda r, k: (
        text(r, "saml:Issuer") != text(r, "saml:Assertion/saml:Issuer")
    ),
    "bad-in-response-to": lambda r, k: (
        r.get("InResponseTo") not in (None, "_req")
        and text(r, SCD, "InResponseTo") == r.get("InResponseTo")
    ),
    "no-in-response-to": lambda r, k: (
        r.get("InResponseTo") is None and text(r, SCD, "InResponseTo") is None
    ),
    "no-session-index": lambda r, k: (
        text(r, "saml:Assertion/saml:AuthnStatement", "SessionIndex") is None
    ),
    "clock-skew": lambda r, k: r.get("IssueInstant") == "2026-03-01T11:50:00Z",
    "status": lambda r, k: text(r, "samlp:Status/samlp:StatusCode", "Value") == c.STATUS_RESPONDER,
    "wrong-key": signatures_fail,
    "sha1": lambda r, k: (
        text(r, "ds:Signature/ds:SignedInfo/ds:SignatureMethod", "Algorithm") == c.SIG_RSA_SHA1
    ),
    "sender-vouches": lambda r, k: (
        text(r, "saml:Assertion/saml:Subject/saml:SubjectConfirmation", "Method")
        == c.CM_SENDER_VOUCHES
    ),
    "no-authn-statement": lambda r, k: r.find(".//saml:AuthnStatement", NS) is None,
    "wrong-version": lambda r, k: r.get("Version") != "2.0",
    "name-id": lambda r, k: text(r, ".//saml:NameID") == "admin@example.com",
    "tamper-after-signing": lambda r, k: (
        text(r, ".//saml:NameID") == "admin@example.com" and signatures_fail(r, k)
    ),
    "corrupt-signature": signatures_fail,
    "subject-not-yet-valid": lambda r, k: (
        text(r, SCD, "NotBefore") is not None and not in_past(text(r, SCD, "NotBefore"))
    ),
    "inverted-validity": lambda r, k: (
        str(text(r, "saml:Assertion/saml:Conditions", "NotBefore"))
        > str(text(r, "saml:Assertion/saml:Conditions", "NotOnOrAfter"))
    ),
    "extra-audience-restriction": lambda r, k: (
        len(r.findall(".//saml:AudienceRestriction", NS)) == 2
    ),
    "one-time-use": lambda r, k: r.find(".//saml:Conditions/saml:OneTimeUse", NS) is not None,
    "unknown-condition": lambda r, k: r.find(".//saml:Conditions/saml:Condition", NS) is not None,
    "issuer-format": lambda r, k: text(r, "saml:Assertion/saml:Issuer", "Format") == c.NAMEID_EMAIL,
    "no-assertion-issuer": lambda r, k: r.find("saml:Assertion/saml:Issuer", NS) is None,
    "subject-address": lambda r, k: text(r, SCD, "Address") == "203.0.113.7",
    "long-lived": lambda r, k: str(
        text(r, "saml:Assertion/saml:Conditions", "NotOnOrAfter")
    ).startswith("2036"),
    "stale-authn-instant": lambda r, k: str(
        text(r, "saml:Assertion/saml:AuthnStatement", "AuthnInstant")
    ).startswith("2026-02-26"),
    # Parser attacks whose payload an element tree holds (the others: WIRE_EXPECTED).
    "xslt-transform": lambda r, k: has_transform(r, XSLT_TRANSFORM),
    "xpath-transform": lambda r, k: has_transform(r, XPATH_TRANSFORM),
    "base64-transform": lambda r, k: has_transform(r, BASE64_TRANSFORM),
    "comment-in-name-id": lambda r, k: (
        any(isinstance(n, etree._Comment) for n in r.find(".//saml:NameID", NS))
        and not signatures_fail(r, k)
    ),
    "prefix-redeclared": lambda r, k: any(
        etree.QName(e).localname == "Assertion" and etree.QName(e).namespace == FOREIGN_SAML
        for e in r
        if isinstance(e.tag, str)
    ),
}


def has_transform(root: etree._Element, algorithm: str) -> bool:
    return root.find(f".//ds:Transform[@Algorithm='{algorithm}']", NS) is not None


# Parser attacks that only the bytes on the wire carry (a DOCTYPE, entities), judged there.
WIRE_EXPECTED: dict[str, Callable[[bytes], object]] = {
    # In the NameID, or the Issuer when the assertion is encrypted.
    "external-entity": lambda w: (
        b'<!ENTITY oob SYSTEM "http' in w and re.search(rb"&oob;</saml:(NameID|Issuer)>", w)
    ),
    "external-dtd": lambda w: re.match(rb'<!DOCTYPE [\w:]+ SYSTEM "http', w) is not None,
    "entity-expansion": lambda w: (
        b"<!ENTITY lol10 " in w and re.search(rb"&lol10;</saml:(NameID|Issuer)>", w)
    ),
    "xsw10": lambda w: b'ID="&idViaEntity;"' in w and b"<ds:Object>" in w,
    "doctype-differential": lambda w: w.startswith(b"<!DOCTYPE") and b"<![CDATA[-->" in w,
    "namespace-differential": lambda w: b"<!ATTLIST Signature xmlns CDATA #FIXED" in w,
}
# Mutators of the encryption: they need an EncryptedAssertion (see test_encryption_mutators).
ENCRYPTION_ONLY = {
    "weak-key-transport",
    "cbc-encryption",
    "plaintext-beside-encrypted",
    "corrupt-ciphertext",
    "no-encryption",
}


def test_every_mutator_is_covered_and_names_a_rule() -> None:
    covered = set(EXPECTED) | set(WIRE_EXPECTED) | ENCRYPTION_ONLY
    assert {m.name for m in (*PROTOCOL_MUTATORS, *PARSER_MUTATORS)} == covered
    assert not set(EXPECTED) & set(WIRE_EXPECTED)
    for mutator in MUTATORS:
        assert RULE_ID.match(mutator.rule), mutator
        xml_steps = (mutator.on_content, mutator.on_assertion, mutator.on_response, mutator.on_wire)
        # A mutator either rewrites the draft or edits built XML or bytes, never both.
        assert (mutator.on_draft is None) != all(step is None for step in xml_steps)


@pytest.mark.parametrize("name", sorted(WIRE_EXPECTED))
def test_wire_mutator_sends_its_payload(name: str, idp_key: KeyPair, attacker_key: KeyPair) -> None:
    context = MutationContext(now=NOW, rng=random.Random(3), attacker_key=attacker_key)
    draft = Draft(spec(), Protection(idp_key))
    assert not WIRE_EXPECTED[name](mutate(draft, [], context).wire)
    assert WIRE_EXPECTED[name](mutate(draft, [MutatorCall(name, {})], context).wire)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mutator_breaks_its_rule(name: str, idp_key: KeyPair, attacker_key: KeyPair) -> None:
    good = build(idp_key, attacker_key)
    assert not EXPECTED[name](good, idp_key), "the good response must not already break the rule"
    assert EXPECTED[name](build(idp_key, attacker_key, name), idp_key)


def test_mutators_compose_and_keep_signatures_valid(
    idp_key: KeyPair, attacker_key: KeyPair
) -> None:
    root = build(idp_key, attacker_key, "expired", "wrong-audience")
    verify_element(root, [idp_key.certificate])
    assert EXPECTED["expired"](root, idp_key) and EXPECTED["wrong-audience"](root, idp_key)


def test_params_and_unknown_names(idp_key: KeyPair) -> None:
    context = MutationContext(now=NOW, rng=random.Random(3))
    draft = Draft(spec(), Protection(idp_key))
    root = build_mutated(draft, [MutatorCall("wrong-audience", {"audience": "urn:x"})], context)
    assert text(root, ".//saml:Audience") == "urn:x"
    with pytest.raises(UnknownMutatorError):
        build_mutated(draft, [MutatorCall("nope", {})], context)
    with pytest.raises(ValueError, match="integer"):
        build_mutated(draft, [MutatorCall("expired", {"seconds": "soon"})], context)


@pytest.mark.parametrize("name", sorted(ENCRYPTION_ONLY))
def test_encryption_mutators_need_an_encrypted_assertion(
    name: str, idp_key: KeyPair, sp_key: KeyPair, attacker_key: KeyPair
) -> None:
    context = MutationContext(now=NOW, rng=random.Random(3), attacker_key=attacker_key)
    plain = Draft(spec(), Protection(idp_key))
    with pytest.raises(MutatorNoEffect, match=name):
        build_mutated(plain, [MutatorCall(name, {})], context)
    encrypted = Draft(spec(), Protection(idp_key, encrypt_to=sp_key.certificate))
    root = build_mutated(encrypted, [MutatorCall(name, {"value": "mallory@example.com"})], context)
    if name == "no-encryption":
        assert root.find("saml:EncryptedAssertion", NS) is None
        assert root.find("saml:Assertion", NS) is not None
        return
    method = root.find(".//xenc:EncryptedData/xenc:EncryptionMethod", NS)
    transport = root.find(".//xenc:EncryptedKey/xenc:EncryptionMethod", NS)
    assert method is not None and transport is not None
    if name == "weak-key-transport":
        assert transport.get("Algorithm") == c.KT_RSA_1_5
    elif name == "cbc-encryption":
        assert method.get("Algorithm") == c.ENC_AES128_CBC
    elif name == "corrupt-ciphertext":
        assert root.find("saml:EncryptedAssertion", NS) is not None
    else:
        assert root.find("saml:EncryptedAssertion", NS) is not None
        assert text(root, "saml:Assertion/saml:Subject/saml:NameID") == "mallory@example.com"
        assert root.find("saml:Assertion/ds:Signature", NS) is None
    assert EncryptionChoice().transport != "rsa-1_5"  # the default is the strong one
