"""How the reference SP validates a Response: strictly, with the core's
:func:`~harness.protocol.saml.sp_validation.validate_response` (the only implementation of the
rules), or deliberately weakened by the SAML flaws that are on. :func:`response_validation`
picks one; the sign-in service calls it without knowing which.

Each flaw lets through exactly the responses that break its one rule:

- ``trust-keyinfo-cert``: certificates found in ds:KeyInfo are trusted too (Core 5.4.5).
- ``ignore-expiry``: the validity window is not enforced (an unbounded clock skew).
- ``accept-unsigned``: a response with no trusted signature is treated as signed.
- ``skip-audience``: the assertion's own Audience is taken as this SP's.
- ``skip-recipient``: the Recipient is taken as this ACS, once everything the strict check
  judged before it (signatures included) has passed.
- ``skip-destination``: the Response's Destination is taken as this ACS.
- ``skip-issuer``: the response's own Issuer is taken as this organisation's IdP (the
  signature must still verify with a trusted key).
- ``skip-in-response-to``: the response's InResponseTo is taken as the request this browser
  made.
- ``ignore-status``: a non-Success StatusCode is read as Success when an assertion is there.
- ``process-first-assertion-unverified``: among several assertions (anywhere in the
  document, however nested) the first signed one is verified, but the identity is read from
  the first one in the document (signature wrapping: XSW3, 4, 7, duplicate IDs).
- ``verify-by-reference``: a signature is checked over any element carrying its Reference's
  ID, found anywhere in the document, not over the element it sits in (XSW1, 2, 5, 6, 8).
- ``skip-reference-uri``: a signature's digest is checked over the element it sits in,
  without comparing the Reference URI with that element's ID.
- ``trust-keyinfo-hmac``: an HMAC signature is verified with the key the message carries.
- ``digest-first-node``: a DigestValue is read from its first child node, a comment included.
- ``first-signed-info``: the SignatureValue is checked over the first SignedInfo, the digest
  taken from the last.
- ``digest-from-document``: the digest is compared with the first ds:DigestValue anywhere in
  the document, not its Reference's.

The signature flaws (the last six) check the Response's own signature and that of its first
assertion their way (:mod:`reference_sp.lax_signatures`), then judge everything else strictly.

An EncryptedAssertion is decrypted first (with the SP's own keys) and the flaw then applies
to the plaintext, as a flawed SP that decrypts and then skips the check would.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable

from lxml import etree

from harness.protocol.keys import KeyPair, generate_key_pair
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import decrypt_element
from harness.protocol.saml.errors import SAMLError, SignatureError
from harness.protocol.saml.signing import sign_element, verify_element
from harness.protocol.saml.sp_validation import SPExpectations, ValidatedLogin, validate_response
from harness.protocol.xml import XMLSecurityError, parse_xml, to_bytes

from .lax_signatures import (
    LaxCheck,
    by_reference,
    carried_certificates,
    decrypted_in_place,
    digest_first_node,
    digest_from_document,
    first_signed_info,
    ignoring_reference_uri,
    keyinfo_hmac,
    lax_vouch,
)

# The signature flaws: each checks signatures its own wrong way (see lax_signatures).
SIGNATURE_CHECKS: dict[str, LaxCheck] = {
    "verify-by-reference": by_reference,
    "skip-reference-uri": ignoring_reference_uri,
    "trust-keyinfo-hmac": keyinfo_hmac,
    "digest-first-node": digest_first_node,
    "first-signed-info": first_signed_info,
    "digest-from-document": digest_from_document,
}
# How the strict check refuses what each signature flaw takes as signed.
_SIGNATURE_REASONS: dict[str, frozenset[str]] = {
    "verify-by-reference": frozenset(
        {"bad-reference", "bad-signature", "duplicate-id", "assertion-count"}
    ),
    "skip-reference-uri": frozenset({"bad-reference"}),
    "trust-keyinfo-hmac": frozenset({"bad-signature"}),
    "digest-first-node": frozenset({"bad-signature"}),
    "first-signed-info": frozenset({"bad-signature"}),
    "digest-from-document": frozenset({"bad-signature"}),
}
# How the strict check refuses several assertions, however they are arranged.
_SEVERAL_ASSERTIONS = frozenset({"assertion-count", "duplicate-id", "unsigned"})

ResponseValidation = Callable[[bytes, SPExpectations], ValidatedLogin]

SAML_FLAWS = frozenset(
    {
        "trust-keyinfo-cert",
        "ignore-expiry",
        "accept-unsigned",
        "skip-audience",
        "skip-recipient",
        "skip-destination",
        "skip-issuer",
        "skip-in-response-to",
        "ignore-status",
        "process-first-assertion-unverified",
        *SIGNATURE_CHECKS,
    }
)
_FOREVER = dt.timedelta(days=36500)


class StandInKey:
    """The key that stands in for a signature the flawed SP pretends to have checked. Made on
    first use (generating a key costs tens of milliseconds) and kept by its validation."""

    def __init__(self) -> None:
        self._key: KeyPair | None = None

    def get(self, now: dt.datetime) -> KeyPair:
        if self._key is None:
            self._key = generate_key_pair("sso-harness-flawed-sp", now=now)
        return self._key


def _parse(data: bytes) -> etree._Element | None:
    try:
        return parse_xml(data)
    except XMLSecurityError:
        return None


def _plain(data: bytes, expect: SPExpectations) -> etree._Element | None:
    """The Response with each EncryptedAssertion replaced by its plaintext Assertion."""
    root = _parse(data)
    if root is None:
        return None
    for encrypted in root.findall(c.q(c.SAML, "EncryptedAssertion")):
        try:
            decrypted = decrypt_element(encrypted, expect.decryption_keys).element
        except SAMLError:
            return None
        root.replace(encrypted, decrypted)
    return root


def _assertions(root: etree._Element) -> list[etree._Element]:
    return root.findall(c.q(c.SAML, "Assertion"))


def _resign(root: etree._Element, key: KeyPair, *, sign_response: bool) -> bytes:
    for assertion in _assertions(root):
        sign_element(assertion, key)
    if sign_response:
        sign_element(root, key)
    elif (old := root.find(c.q(c.DS, "Signature"))) is not None:
        root.remove(old)
    return to_bytes(root)


Retried = tuple[bytes, SPExpectations] | None
Attempt = Callable[[bytes, SPExpectations, StandInKey], Retried]


def _vouch(
    root: etree._Element, expect: SPExpectations, stand_in: StandInKey
) -> tuple[bytes, SPExpectations]:
    """The flawed SP's edit of a message whose other checks passed: re-signed with a key that
    stands for the signature it pretends to have verified, and only that key trusted."""
    key = stand_in.get(expect.now)
    signed_response = root.find(c.q(c.DS, "Signature")) is not None
    return _resign(root, key, sign_response=signed_response), dataclasses.replace(
        expect, trusted_certificates=(key.certificate,)
    )


def _unsigned(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    root = _plain(data, expect)
    if root is None:
        return None
    if root.find(c.q(c.DS, "Signature")) is not None:
        return data, dataclasses.replace(expect, signature_policy="either")
    key = stand_in.get(expect.now)
    trusted = (*expect.trusted_certificates, key.certificate)
    return _resign(root, key, sign_response=False), dataclasses.replace(
        expect, trusted_certificates=trusted
    )


def _audience(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    root = _plain(data, expect)
    if root is None:
        return None
    audience = next(root.iter(c.q(c.SAML, "Audience")), None)
    if audience is None or not (audience.text or "").strip():
        return None
    return data, dataclasses.replace(expect, sp_entity_id=(audience.text or "").strip())


def _recipient(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    # The strict check got as far as the Recipient: signatures, Destination, Issuer, status
    # and InResponseTo have passed. Rewrite the Recipient and vouch for the result.
    root = _plain(data, expect)
    if root is None or not _assertions(root):
        return None
    for element in root.iter(c.q(c.SAML, "SubjectConfirmationData")):
        element.set("Recipient", expect.acs_url)
    return _vouch(root, expect, stand_in)


def _destination(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    root = _plain(data, expect)
    if root is None or not _assertions(root):
        return None
    root.set("Destination", expect.acs_url)
    return _vouch(root, expect, stand_in)


def _issuer(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    root = _parse(data)
    issuer = root.find(c.q(c.SAML, "Issuer")) if root is not None else None
    if issuer is None or not (issuer.text or "").strip():
        return None
    return data, dataclasses.replace(expect, idp_entity_id=(issuer.text or "").strip())


def _in_response_to(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    root = _parse(data)
    value = root.get("InResponseTo") if root is not None else None
    if not value:
        return None
    return data, dataclasses.replace(expect, request_id=value)


def _status(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    root = _plain(data, expect)
    if root is None or not _assertions(root):
        return None
    for code in root.iter(c.q(c.SAMLP, "StatusCode")):
        code.set("Value", c.STATUS_SUCCESS)
        for nested in list(code):
            code.remove(nested)
    return _vouch(root, expect, stand_in)


_RETRIES: dict[str, tuple[frozenset[str], Attempt]] = {
    "skip-destination": (frozenset({"wrong-destination"}), _destination),
    "skip-issuer": (frozenset({"wrong-issuer"}), _issuer),
    "skip-in-response-to": (frozenset({"wrong-in-response-to"}), _in_response_to),
    "ignore-status": (frozenset({"status-not-success"}), _status),
    "accept-unsigned": (frozenset({"unsigned"}), _unsigned),
    "skip-audience": (frozenset({"wrong-audience"}), _audience),
    "skip-recipient": (frozenset({"wrong-recipient", "no-recipient"}), _recipient),
}


def _signature_attempt(check: LaxCheck) -> Attempt:
    def attempt(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
        return lax_vouch(data, expect, check, stand_in.get(expect.now))

    return attempt


_RETRIES.update(
    {
        flaw: (_SIGNATURE_REASONS[flaw], _signature_attempt(check))
        for flaw, check in SIGNATURE_CHECKS.items()
    }
)


def _verifies(assertion: etree._Element, expect: SPExpectations) -> bool:
    try:
        verify_element(assertion, expect.trusted_certificates, allow_sha1=expect.allow_sha1)
    except SignatureError:
        return False
    return True


def _first_assertion_unverified(data: bytes, expect: SPExpectations) -> ValidatedLogin | None:
    root = decrypted_in_place(data, expect)
    if root is None:
        return None
    assertions = list(root.iter(c.q(c.SAML, "Assertion")))  # document order, nested ones too
    if len(assertions) < 2:
        return None
    verified = next((a for a in assertions if _verifies(a, expect)), None)
    if verified is None:
        return None
    first, kept = assertions[0], copy.deepcopy(verified)
    for assertion in assertions:
        parent = assertion.getparent()
        if parent is not None:
            parent.remove(assertion)
    root.append(kept)
    login = validate_response(to_bytes(root), expect)
    name_id = first.find(f"{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}")
    if name_id is None or not (name_id.text or "").strip():
        return login
    return dataclasses.replace(login, name_id=(name_id.text or "").strip())


class FlawedValidation:
    """:func:`validate_response`, weakened by the named SAML ``flaws`` (see the module
    docstring); it keeps its own stand-in key."""

    def __init__(self, flaws: Iterable[str]) -> None:
        self.flaws = frozenset(flaws) & SAML_FLAWS
        self._stand_in = StandInKey()

    def __call__(self, data: bytes, expect: SPExpectations) -> ValidatedLogin:
        remaining = set(self.flaws)
        if "trust-keyinfo-cert" in remaining:
            extra = carried_certificates(data, expect)
            expect = dataclasses.replace(
                expect, trusted_certificates=(*expect.trusted_certificates, *extra)
            )
        if "ignore-expiry" in remaining:
            expect = dataclasses.replace(expect, clock_skew=_FOREVER)
        for _ in range(len(_RETRIES) + 1):
            try:
                return validate_response(data, expect)
            except Refusal as exc:
                error = exc
            if (
                error.reason in _SEVERAL_ASSERTIONS
                and "process-first-assertion-unverified" in remaining
            ):
                remaining.discard("process-first-assertion-unverified")
                login = _first_assertion_unverified(data, expect)
                if login is not None:
                    return login
            for flaw, (reasons, attempt) in _RETRIES.items():
                if flaw in remaining and error.reason in reasons:
                    remaining.discard(flaw)
                    retried = attempt(data, expect, self._stand_in)
                    if retried is None:
                        raise error
                    data, expect = retried
                    break
            else:
                raise error
        raise error


def response_validation(flaws: Iterable[str]) -> ResponseValidation:
    """The strict validation, or the flawed one when any SAML flaw is among ``flaws``."""
    on = frozenset(flaws) & SAML_FLAWS
    return FlawedValidation(on) if on else validate_response
