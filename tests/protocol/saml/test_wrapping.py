"""Signature wrapping (XSW1-8, the stray DigestValue): under every signing and encryption
choice each attack keeps a real IdP signature over the element its Reference names, puts the
attacker's NameID where a naive reader looks, and the strict SP refuses it."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.errors import SignatureError
from harness.protocol.saml.mutators import (
    Draft,
    MutationContext,
    MutatorCall,
    MutatorNoEffect,
    mutate,
)
from harness.protocol.saml.response import Protection
from harness.protocol.saml.signature_attacks import SIGNATURE_MUTATORS
from harness.protocol.saml.signature_parts import (
    element_digest,
    elements_with_id,
    own_signature,
    reference_digest_uri,
    signed_info_verifies,
    verifies_over,
)
from harness.protocol.saml.signing import verify_element
from harness.protocol.saml.wrapping import WRAPPING_MUTATORS

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

Check = Callable[[Sent, KeyPair], None]


def reference_target(signature: etree._Element, document: etree._Element) -> etree._Element:
    """The one element the signature's Reference names (looked up by ID anywhere)."""
    uri = signature.find("ds:SignedInfo/ds:Reference", NS).get("URI")
    targets = [t for t in elements_with_id(document, uri[1:]) if own_signature(t) is not signature]
    assert len(targets) == 1, f"{uri} names {len(targets)} other elements"
    return targets[0]


def still_signed(signature: etree._Element, document: etree._Element, idp: KeyPair) -> str:
    """The IdP's signature verifies over the element it names, an unsigned copy of the real
    user's; returns that element's NameID (or the assertion's inside a Response)."""
    target = reference_target(signature, document)
    assert verifies_over(signature, target, [idp.certificate])
    assertion = (
        target if target.tag == c.q(c.SAML, "Assertion") else target.find(".//saml:Assertion", NS)
    )
    return name_id(assertion)


def strictly_verifies(element: etree._Element, idp: KeyPair) -> bool:
    try:
        verify_element(element, [idp.certificate])
    except SignatureError:
        return False
    return True


def _xsw_response(sent: Sent, idp: KeyPair, *, inside: bool) -> None:
    root = sent.received
    assert root.get("ID") != "_resp"
    signature = own_signature(root)
    copy = reference_target(signature, root)
    assert copy.get("ID") == "_resp" and own_signature(copy) is None
    assert (copy.getparent() is signature) == inside
    if not inside:
        assert copy.getnext() is signature
    assert verifies_over(signature, copy, [idp.certificate])  # over the ciphertext, if any
    assert name_id(top_assertions(sent.document)[0]) == ATTACKER


def _xsw3(sent: Sent, idp: KeyPair) -> None:
    forged, original = top_assertions(sent.document)
    assert own_signature(sent.received) is None
    assert forged.get("ID") != original.get("ID") and own_signature(forged) is None
    assert strictly_verifies(original, idp) and name_id(original) == REAL
    assert name_id(first_assertion(sent.document)) == ATTACKER


def _xsw4(sent: Sent, idp: KeyPair) -> None:
    (forged,) = top_assertions(sent.document)
    assert own_signature(forged) is None and forged.get("ID") != "_assert"
    nested = forged.find("saml:Assertion", NS)
    assert strictly_verifies(nested, idp) and name_id(nested) == REAL
    assert name_id(first_assertion(sent.document)) == ATTACKER


def _xsw5(sent: Sent, idp: KeyPair) -> None:
    edited, original = top_assertions(sent.document)
    assert edited.get("ID") != "_assert" and name_id(edited) == ATTACKER
    assert original.get("ID") == "_assert" and own_signature(original) is None
    assert still_signed(own_signature(edited), sent.document, idp) == REAL


def _xsw6(sent: Sent, idp: KeyPair) -> None:
    (edited,) = top_assertions(sent.document)
    signature = own_signature(edited)
    assert edited.get("ID") != "_assert" and name_id(edited) == ATTACKER
    assert reference_target(signature, sent.document).getparent() is signature
    assert still_signed(signature, sent.document, idp) == REAL


def _xsw7(sent: Sent, idp: KeyPair) -> None:
    extensions = sent.document.find("samlp:Extensions", NS)
    (forged,) = extensions.findall("saml:Assertion", NS)
    (original,) = top_assertions(sent.document)
    assert extensions.getnext() is original
    assert forged.get("ID") == original.get("ID") and own_signature(forged) is None
    assert strictly_verifies(original, idp) and name_id(original) == REAL
    assert name_id(first_assertion(sent.document)) == ATTACKER


def _xsw8(sent: Sent, idp: KeyPair) -> None:
    (edited,) = top_assertions(sent.document)
    assert edited.get("ID") == "_assert" and name_id(edited) == ATTACKER
    assert not strictly_verifies(edited, idp)
    original = own_signature(edited).find("ds:Object/saml:Assertion", NS)
    assert original.get("ID") == "_assert" and name_id(original) == REAL
    assert verifies_over(own_signature(edited), original, [idp.certificate])


def _stray_digest(sent: Sent, idp: KeyPair) -> None:
    (edited,) = top_assertions(sent.document)
    signature = own_signature(edited)
    assert name_id(edited) == ATTACKER and own_signature(sent.received) is None
    assert signed_info_verifies(signature, [idp.certificate])  # SignedInfo untouched
    stray = sent.document.find("samlp:Status/samlp:StatusDetail/ds:DigestValue", NS)
    assert next(sent.document.iter(c.q(c.DS, "DigestValue"))) is stray
    assert stray.text == element_digest(edited, reference_digest_uri(signature))


CHECKS: dict[str, Check] = {
    "xsw1": lambda sent, idp: _xsw_response(sent, idp, inside=True),
    "xsw2": lambda sent, idp: _xsw_response(sent, idp, inside=False),
    "xsw3": _xsw3,
    "xsw4": _xsw4,
    "xsw5": _xsw5,
    "xsw6": _xsw6,
    "xsw7": _xsw7,
    "xsw8": _xsw8,
    "stray-digest": _stray_digest,
}
NEEDS_RESPONSE_SIGNATURE = {"xsw1", "xsw2"}


def applicable(name: str, signing: str) -> bool:
    sign_assertion, sign_response = SIGNING[signing]
    return sign_response if name in NEEDS_RESPONSE_SIGNATURE else sign_assertion


def test_every_wrapping_mutator_is_checked() -> None:
    assert {m.name for m in WRAPPING_MUTATORS} == set(CHECKS)


@pytest.mark.parametrize("encryption", sorted(ENCRYPTION))
@pytest.mark.parametrize("signing", sorted(SIGNING))
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_wrapping_keeps_a_real_signature_and_is_refused(
    name: str, signing: str, encryption: str, keys: Keys
) -> None:
    idp_key, sp_key, _ = keys
    if not applicable(name, signing):
        assert no_effect(keys, name, signing)
        return
    sent = send(keys, name, signing, encryption)
    assert (sent.received.find("saml:EncryptedAssertion", NS) is not None) == (
        encryption == "encrypted"
    )
    CHECKS[name](sent, idp_key)
    reason = strict_refusal(sent, idp_key, sp_key)
    assert reason in {
        "bad-reference",
        "bad-signature",
        "duplicate-id",
        "assertion-count",
        "unsigned",
        "unexpected-element",  # an element a Response may not hold (Core 3.2.2)
    }


def test_the_attackers_value_is_a_parameter(keys: Keys) -> None:
    sent = send(keys, "xsw8", params={"value": "boss@corp.test"})
    assert name_id(top_assertions(sent.document)[0]) == "boss@corp.test"


def test_a_missing_signature_is_said(keys: Keys) -> None:
    with pytest.raises(MutatorNoEffect, match="a signed Response"):
        send(keys, "xsw1", "assertion")
    with pytest.raises(MutatorNoEffect, match="a signed Assertion"):
        send(keys, "xsw5", "response")


@pytest.mark.parametrize(
    "name", sorted({m.name for m in (*WRAPPING_MUTATORS, *SIGNATURE_MUTATORS)})
)
def test_nothing_to_attack_once_unsigned(name: str, keys: Keys) -> None:
    idp_key, sp_key, attacker_key = keys
    protection = Protection(idp_key, encrypt_to=sp_key.certificate)
    context = MutationContext(now=NOW, rng=random.Random(3), attacker_key=attacker_key)
    calls = [MutatorCall("unsigned", {}), MutatorCall(name, {})]
    with pytest.raises(MutatorNoEffect, match="it needs a signed"):
        mutate(Draft(spec(), protection), calls, context)
