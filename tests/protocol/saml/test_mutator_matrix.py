"""Every mutator against every signing and encryption choice the core offers.

The bytes the IdP would post are decrypted with the SP's key and judged from the inside: a
mutator must break its rule *inside* an EncryptedAssertion too, or say it cannot
(MutatorNoEffect). Inapplicable combinations, and why:

- unsigned-assertion with only the Response signed: the assertion is unsigned already;
- unsigned-response with only the Assertion signed: the Response is unsigned already;
- corrupt-signature `which=assertion` with only the Response signed, and `which=response`
  with only the Assertion signed: there is no such signature to corrupt;
- any mutator that needs a signature once ``unsigned`` has removed every one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import (
    BLOCK_ALGORITHMS,
    KEY_TRANSPORTS,
    EncryptionChoice,
    decrypt_element,
)
from harness.protocol.saml.errors import SignatureError
from harness.protocol.saml.mutators import (
    Draft,
    MutationContext,
    MutatorCall,
    MutatorNoEffect,
    build_mutated,
)
from harness.protocol.saml.response import Protection
from harness.protocol.saml.signing import verify_element
from harness.protocol.xml import parse_xml, to_bytes

from .test_mutators import EXPECTED, PROTOCOL_MUTATORS
from .test_response import NOW, NS, spec

SIGNING = {"assertion": (True, False), "response": (False, True), "both": (True, True)}
ENCRYPTION: list[EncryptionChoice | None] = [None] + [
    EncryptionChoice(block, transport) for block in BLOCK_ALGORITHMS for transport in KEY_TRANSPORTS
]
INAPPLICABLE = {("unsigned-assertion", "response"), ("unsigned-response", "assertion")}


@dataclass(frozen=True)
class View:
    """What an SP holding the decryption key sees in the posted bytes."""

    root: etree._Element  # the Response with its assertion in clear (decrypted if need be)
    encrypted: bool
    response_signature: bool | None  # None: not signed; else whether it verifies
    assertion_signature: bool | None

    def signatures(self) -> list[bool]:
        return [s for s in (self.response_signature, self.assertion_signature) if s is not None]


def _verifies(element: etree._Element, key: KeyPair) -> bool | None:
    if element.find("ds:Signature", NS) is None:
        return None
    try:
        verify_element(element, [key.certificate], allow_sha1=True)
    except SignatureError:
        return False
    return True


def view(posted: bytes, idp_key: KeyPair, sp_key: KeyPair) -> View:
    root = parse_xml(posted)
    response_signature = _verifies(root, idp_key)  # over the bytes as sent, ciphertext and all
    encrypted = root.find("saml:EncryptedAssertion", NS)
    if encrypted is not None:
        assertion = decrypt_element(encrypted, [sp_key.private_key]).element
        root.replace(encrypted, assertion)
    assertion = root.find("saml:Assertion", NS)
    assertion_signature = _verifies(assertion, idp_key) if assertion is not None else None
    return View(root, encrypted is not None, response_signature, assertion_signature)


def _name_id(v: View) -> str | None:
    element = v.root.find(".//saml:NameID", NS)
    return element.text if element is not None else None


def _methods(v: View) -> set[str | None]:
    return {e.get("Algorithm") for e in v.root.iterfind(".//ds:SignatureMethod", NS)}


# The signature mutators are judged from the signatures' validity in the view; the others by
# the content checks of test_mutators, on the decrypted Response.
SIGNATURE_CHECKS: dict[str, Callable[[View], bool]] = {
    "wrong-key": lambda v: bool(v.signatures()) and not any(v.signatures()),
    "sha1": lambda v: _methods(v) == {c.SIG_RSA_SHA1},
    "name-id": lambda v: _name_id(v) == "admin@example.com" and all(v.signatures()),
    "tamper-after-signing": lambda v: (
        _name_id(v) == "admin@example.com"
        # the signature over the NameID is broken: the Assertion's, else the Response's
        and (
            v.assertion_signature is False
            if v.assertion_signature is not None
            else v.response_signature is False
        )
    ),
    "corrupt-signature": lambda v: bool(v.signatures()) and not any(v.signatures()),
}


def holds(name: str, v: View, idp_key: KeyPair) -> bool:
    if name in SIGNATURE_CHECKS:
        return SIGNATURE_CHECKS[name](v)
    return EXPECTED[name](v.root, idp_key)


def posted(
    idp_key: KeyPair,
    sp_key: KeyPair,
    attacker_key: KeyPair,
    signing: str,
    encryption: EncryptionChoice | None,
    *calls: MutatorCall,
) -> bytes:
    sign_assertion, sign_response = SIGNING[signing]
    protection = Protection(
        idp_key,
        sign_assertion=sign_assertion,
        sign_response=sign_response,
        encrypt_to=sp_key.certificate if encryption else None,
        encryption=encryption or EncryptionChoice(),
    )
    context = MutationContext(now=NOW, rng=random.Random(3), attacker_key=attacker_key)
    return to_bytes(build_mutated(Draft(spec(), protection), calls, context))


@pytest.mark.parametrize("name", [m.name for m in PROTOCOL_MUTATORS])
def test_every_mutator_breaks_its_rule_under_every_protection(
    name: str, idp_key: KeyPair, sp_key: KeyPair, attacker_key: KeyPair
) -> None:
    for signing in SIGNING:
        for encryption in ENCRYPTION:
            case = f"{name} signing={signing} encryption={encryption}"
            call = MutatorCall(name, {})
            if (name, signing) in INAPPLICABLE:
                with pytest.raises(MutatorNoEffect, match=name):
                    posted(idp_key, sp_key, attacker_key, signing, encryption, call)
                continue
            unmutated = posted(idp_key, sp_key, attacker_key, signing, encryption)
            good = view(unmutated, idp_key, sp_key)
            assert all(good.signatures()), case
            assert not holds(name, good, idp_key), f"{case}: the good response already breaks it"
            raw = posted(idp_key, sp_key, attacker_key, signing, encryption, call)
            broken = view(raw, idp_key, sp_key)
            assert broken.encrypted == (encryption is not None), case
            assert holds(name, broken, idp_key), case


@pytest.mark.parametrize(
    ("which", "signing", "broken"),
    [
        ("assertion", "assertion", ("assertion",)),
        ("assertion", "both", ("assertion",)),
        ("response", "response", ("response",)),
        ("response", "both", ("response",)),
        ("every", "both", ("assertion", "response")),
    ],
)
@pytest.mark.parametrize("encrypt", [False, True])
def test_corrupt_signature_targets_one_signature(
    which: str,
    signing: str,
    broken: tuple[str, ...],
    encrypt: bool,
    idp_key: KeyPair,
    sp_key: KeyPair,
    attacker_key: KeyPair,
) -> None:
    encryption = EncryptionChoice() if encrypt else None
    call = MutatorCall("corrupt-signature", {"which": which})
    v = view(posted(idp_key, sp_key, attacker_key, signing, encryption, call), idp_key, sp_key)
    expected_response = None if not SIGNING[signing][1] else "response" not in broken
    expected_assertion = None if not SIGNING[signing][0] else "assertion" not in broken
    assert (v.response_signature, v.assertion_signature) == (expected_response, expected_assertion)


@pytest.mark.parametrize(
    ("which", "signing"), [("assertion", "response"), ("response", "assertion")]
)
@pytest.mark.parametrize("encrypt", [False, True])
def test_corrupt_signature_without_that_signature_is_an_error(
    which: str,
    signing: str,
    encrypt: bool,
    idp_key: KeyPair,
    sp_key: KeyPair,
    attacker_key: KeyPair,
) -> None:
    encryption = EncryptionChoice() if encrypt else None
    call = MutatorCall("corrupt-signature", {"which": which})
    with pytest.raises(MutatorNoEffect, match="corrupt-signature"):
        posted(idp_key, sp_key, attacker_key, signing, encryption, call)


@pytest.mark.parametrize(
    "name", ["tamper-after-signing", "corrupt-signature", "wrong-key", "sha1", "unsigned"]
)
def test_signature_mutators_after_unsigned_are_errors(
    name: str, idp_key: KeyPair, sp_key: KeyPair, attacker_key: KeyPair
) -> None:
    calls = (MutatorCall("unsigned", {}), MutatorCall(name, {}))
    with pytest.raises(MutatorNoEffect, match=name):
        posted(idp_key, sp_key, attacker_key, "both", EncryptionChoice(), *calls)
