import dataclasses
import datetime as dt
import random

import pytest

from harness.protocol.keys import KeyPair
from harness.protocol.refusal import Refusal
from harness.protocol.saml.encryption import EncryptionChoice
from harness.protocol.saml.errors import SAMLError
from harness.protocol.saml.mutators import (
    MUTATORS,
    Draft,
    MutationContext,
    MutatorCall,
    build_mutated,
    mutate,
)
from harness.protocol.saml.response import Protection
from harness.protocol.saml.sp_validation import SPExpectations, validate_response
from harness.protocol.xml import to_bytes

from .test_response import NOW, spec

# Mutators that do not break an SP-side rule under the default (strict Profiles) policy.
# comment-in-name-id is read whole (test_parser_attacks checks the identity).
ACCEPTED = {
    "name-id",
    "comment-in-name-id",
    "no-session-index",
    "unsigned-response",
    # policies an SP may hold either way (reported as observed by the security suite)
    "subject-address",
    "long-lived",
    "stale-authn-instant",
    "one-time-use",  # its first use; the second is the replay case's
}
ENCRYPTION_ONLY = {
    "weak-key-transport",
    "cbc-encryption",
    "plaintext-beside-encrypted",
    "corrupt-ciphertext",
    "no-encryption",
}


def expectations(idp_key: KeyPair, **changes: object) -> SPExpectations:
    base = SPExpectations(
        sp_entity_id="https://sp.test",
        acs_url="https://sp.test/acs",
        idp_entity_id="https://idp.test/saml/metadata",
        trusted_certificates=(idp_key.certificate,),
        now=NOW,
        request_id="_req",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def response(
    idp_key: KeyPair, attacker_key: KeyPair, *names: str, protection: Protection | None = None
) -> bytes:
    context = MutationContext(now=NOW, rng=random.Random(3), attacker_key=attacker_key)
    draft = Draft(spec(), protection or Protection(idp_key))
    return mutate(draft, [MutatorCall(n, {}) for n in names], context).wire  # as sent


def test_good_response(idp_key: KeyPair, attacker_key: KeyPair) -> None:
    login = validate_response(response(idp_key, attacker_key), expectations(idp_key))
    assert login.name_id == "alice@example.com"
    assert login.attributes == {"groups": ["a", "b"]}
    assert login.session_index == "_s"
    assert login.response_signed and login.assertion_signed and not login.encrypted
    assert login.not_on_or_after == NOW + dt.timedelta(minutes=5)


@pytest.mark.parametrize("name", sorted({m.name for m in MUTATORS} - ACCEPTED - ENCRYPTION_ONLY))
def test_every_breaking_mutator_is_refused(
    name: str, idp_key: KeyPair, attacker_key: KeyPair
) -> None:
    with pytest.raises(Refusal) as info:  # SAMLError, or XMLSecurityError for a DOCTYPE
        validate_response(response(idp_key, attacker_key, name), expectations(idp_key))
    assert info.value.rule and info.value.reason


@pytest.mark.parametrize("name", sorted(ENCRYPTION_ONLY))
def test_encryption_mutators_are_refused(
    name: str, idp_key: KeyPair, sp_key: KeyPair, attacker_key: KeyPair
) -> None:
    protection = Protection(idp_key, encrypt_to=sp_key.certificate)
    sent = response(idp_key, attacker_key, name, protection=protection)
    expect = expectations(idp_key, decryption_keys=(sp_key.private_key,))
    if name in ("cbc-encryption", "no-encryption"):  # policies: CBC, plaintext still taken
        validate_response(sent, expect)
        return
    with pytest.raises(Refusal):
        validate_response(sent, expect)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_policy_level_mutators(name: str, idp_key: KeyPair, attacker_key: KeyPair) -> None:
    validate_response(response(idp_key, attacker_key, name), expectations(idp_key))


def test_signature_policies(idp_key: KeyPair, attacker_key: KeyPair) -> None:
    only_response = response(idp_key, attacker_key, "unsigned-assertion")
    validate_response(only_response, expectations(idp_key, signature_policy="either"))
    with pytest.raises(SAMLError) as info:
        validate_response(only_response, expectations(idp_key))
    assert info.value.rule == "SAML-PROF-4.1.4.5"
    with pytest.raises(SAMLError):
        validate_response(
            response(idp_key, attacker_key, "unsigned-response"),
            expectations(idp_key, signature_policy="response"),
        )


def test_skew_is_allowed_either_way(idp_key: KeyPair, attacker_key: KeyPair) -> None:
    xml = response(idp_key, attacker_key)
    validate_response(xml, expectations(idp_key, now=NOW + dt.timedelta(minutes=7)))
    with pytest.raises(SAMLError):
        validate_response(xml, expectations(idp_key, now=NOW + dt.timedelta(minutes=9)))


def test_unsolicited(idp_key: KeyPair, attacker_key: KeyPair) -> None:
    unsolicited = dataclasses.replace(spec(), in_response_to=None, subject_in_response_to=None)
    xml = to_bytes(
        build_mutated(
            Draft(unsolicited, Protection(idp_key)), [], MutationContext(NOW, random.Random(1))
        )
    )
    validate_response(xml, expectations(idp_key, request_id=None))
    with pytest.raises(SAMLError) as info:
        validate_response(xml, expectations(idp_key, request_id=None, allow_unsolicited=False))
    assert info.value.rule == "SAML-PROF-4.1.5"
    with pytest.raises(SAMLError) as info:
        validate_response(response(idp_key, attacker_key), expectations(idp_key, request_id=None))
    assert info.value.reason == "unsolicited-with-in-response-to"


def test_encrypted(idp_key: KeyPair, attacker_key: KeyPair, sp_key: KeyPair) -> None:
    protection = Protection(idp_key, encrypt_to=sp_key.certificate)
    xml = response(idp_key, attacker_key, protection=protection)
    login = validate_response(xml, expectations(idp_key, decryption_keys=(sp_key.private_key,)))
    assert login.encrypted and login.name_id == "alice@example.com"
    weak = Protection(
        idp_key, encrypt_to=sp_key.certificate, encryption=EncryptionChoice("aes128-cbc", "rsa-1_5")
    )
    with pytest.raises(SAMLError) as info:
        validate_response(
            response(idp_key, attacker_key, protection=weak),
            expectations(idp_key, decryption_keys=(sp_key.private_key,)),
        )
    assert info.value.reason == "refused-algorithm"


def test_wrapping_an_evil_assertion_is_refused(idp_key: KeyPair, attacker_key: KeyPair) -> None:
    # XSW3 shape: an unsigned evil assertion placed before the signed one in an unsigned Response.
    good = response(idp_key, attacker_key, "unsigned-response").decode()
    start = good.index("<saml:Assertion")
    evil = good[start:].split("</saml:Assertion>")[0] + "</saml:Assertion>"
    evil = evil.replace("alice@example.com", "admin@example.com").replace('ID="', 'ID="evil')
    wrapped = good[:start] + evil + good[start:]
    with pytest.raises(SAMLError) as info:
        validate_response(wrapped.encode(), expectations(idp_key))
    assert info.value.reason in ("assertion-count", "bad-signature", "unsigned")


def test_duplicate_ids_refused(idp_key: KeyPair, attacker_key: KeyPair) -> None:
    xml = response(idp_key, attacker_key).replace(b'ID="_assert"', b'ID="_resp"')
    with pytest.raises(SAMLError) as info:
        validate_response(xml, expectations(idp_key))
    assert info.value.reason == "duplicate-id"
