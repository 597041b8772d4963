import datetime as dt
import random
import re
from collections.abc import Callable

import pytest
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.errors import SignatureError
from harness.protocol.saml.mutators import (
    MUTATORS,
    Draft,
    MutationContext,
    MutatorCall,
    UnknownMutatorError,
    build_mutated,
)
from harness.protocol.saml.parser_attacks import PARSER_MUTATORS
from harness.protocol.saml.response import Protection
from harness.protocol.saml.signature_attacks import SIGNATURE_MUTATORS
from harness.protocol.saml.signing import verify_element
from harness.protocol.saml.wrapping import WRAPPING_MUTATORS

from .test_response import NOW, NS, spec

# The attacks have their own tests (test_signature_attacks, test_wrapping, the parser attacks');
# these are the protocol rules.
ATTACKS = (*SIGNATURE_MUTATORS, *WRAPPING_MUTATORS, *PARSER_MUTATORS)
PROTOCOL_MUTATORS = [m for m in MUTATORS if m not in ATTACKS]
RULE_ID = re.compile(r"^(SAML-(CORE|PROF|BIND|MD)-[0-9.]+|SDP-[A-Z0-9]+|IIP-[A-Z0-9]+)$")


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
    "name-id": lambda r, k: (
        text(r, ".//saml:NameID") == "admin@example.com" and not signatures_fail(r, k)
    ),
    "tamper-after-signing": lambda r, k: (
        text(r, ".//saml:NameID") == "admin@example.com" and signatures_fail(r, k)
    ),
    "corrupt-signature": signatures_fail,
}


def test_every_mutator_is_covered_and_names_a_rule() -> None:
    assert {m.name for m in PROTOCOL_MUTATORS} == set(EXPECTED)
    for mutator in PROTOCOL_MUTATORS:
        assert RULE_ID.match(mutator.rule), mutator
        xml_steps = (mutator.on_assertion, mutator.on_response)
        # A mutator either rewrites the draft or edits built XML, never both.
        assert (mutator.on_draft is None) != all(step is None for step in xml_steps)


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
