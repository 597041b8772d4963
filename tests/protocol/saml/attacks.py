"""What the tests of the signature and wrapping attacks share: the message an attack makes
under each signing and encryption choice, what a strict SP says of it, and what a naive reader
of the decrypted document takes for the identity."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

import pytest
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import EncryptionChoice, decrypt_element
from harness.protocol.saml.mutators import (
    Draft,
    MutationContext,
    MutatorCall,
    MutatorNoEffect,
    mutate,
)
from harness.protocol.saml.response import Protection
from harness.protocol.saml.sp_validation import SPExpectations, validate_response
from harness.protocol.xml import parse_xml

from .test_response import NOW, NS, spec

ATTACKER = "admin@example.com"
REAL = "alice@example.com"  # whom the IdP signs (test_response.spec)
SIGNING = {"both": (True, True), "assertion": (True, False), "response": (False, True)}
ENCRYPTION = {"plain": None, "encrypted": EncryptionChoice()}
ASSERTION = c.q(c.SAML, "Assertion")


@dataclass(frozen=True)
class Sent:
    wire: bytes
    received: etree._Element  # as posted
    document: etree._Element  # every EncryptedAssertion decrypted in place (a naive SP's view)


def expectations(idp_key: KeyPair, sp_key: KeyPair) -> SPExpectations:
    # "either": a refusal must come from the attack, not from a signature policy.
    return SPExpectations(
        sp_entity_id="https://sp.test",
        acs_url="https://sp.test/acs",
        idp_entity_id="https://idp.test/saml/metadata",
        trusted_certificates=[idp_key.certificate],
        now=NOW,
        request_id="_req",
        signature_policy="either",
        decryption_keys=[sp_key.private_key],
    )


def decrypted_in_place(root: etree._Element, sp_key: KeyPair) -> etree._Element:
    for encrypted in list(root.iter(c.q(c.SAML, "EncryptedAssertion"))):
        parent = encrypted.getparent()
        assert parent is not None
        parent.replace(encrypted, decrypt_element(encrypted, [sp_key.private_key]).element)
    return root


def send(
    keys: tuple[KeyPair, KeyPair, KeyPair],
    name: str | None,
    signing: str = "both",
    encryption: str = "plain",
    params: Mapping[str, object] | None = None,
) -> Sent:
    idp_key, sp_key, attacker_key = keys
    sign_assertion, sign_response = SIGNING[signing]
    choice = ENCRYPTION[encryption]
    protection = Protection(
        idp_key,
        sign_assertion=sign_assertion,
        sign_response=sign_response,
        encrypt_to=sp_key.certificate if choice else None,
        encryption=choice or EncryptionChoice(),
    )
    context = MutationContext(now=NOW, rng=random.Random(3), attacker_key=attacker_key)
    calls = [MutatorCall(name, dict(params or {}))] if name else []
    wire = mutate(Draft(spec(), protection), calls, context).wire
    return Sent(wire, parse_xml(wire), decrypted_in_place(parse_xml(wire), sp_key))


def strict_refusal(sent: Sent, idp_key: KeyPair, sp_key: KeyPair) -> str:
    with pytest.raises(Refusal) as refused:
        validate_response(sent.wire, expectations(idp_key, sp_key))
    return refused.value.reason


def name_id(assertion: etree._Element) -> str | None:
    element = assertion.find("saml:Subject/saml:NameID", NS)
    return element.text if element is not None else None


def first_assertion(document: etree._Element) -> etree._Element:
    """What ``//saml:Assertion[1]`` finds: the first in document order, however nested."""
    return next(document.iter(ASSERTION))


def top_assertions(document: etree._Element) -> list[etree._Element]:
    return document.findall("saml:Assertion", NS)


def no_effect(keys: tuple[KeyPair, KeyPair, KeyPair], name: str, signing: str) -> bool:
    try:
        send(keys, name, signing)
    except MutatorNoEffect:
        return True
    return False


# The IdP's, the SP's and the attacker's keys (the ``keys`` fixture of conftest.py).
Keys = tuple[KeyPair, KeyPair, KeyPair]
