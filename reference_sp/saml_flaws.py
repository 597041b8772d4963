"""How the reference SP validates a Response: strictly, with the core's
:func:`~harness.protocol.saml.sp_validation.validate_response` (the only implementation of the
rules), or deliberately weakened by the SAML flaws that are on. :func:`response_validation`
picks one; the sign-in service calls it without knowing which.

Each flaw lets through exactly the responses that break its one rule:

- ``trust-keyinfo-cert``: certificates found in ds:KeyInfo are trusted too (Core 5.4.5).
- ``ignore-expiry``: no validity window is enforced (an unbounded clock skew): Conditions
  and SubjectConfirmationData bounds passed, inverted or missing, SessionNotOnOrAfter passed.
- ``accept-unsigned``: a response with no trusted signature is treated as signed.
- ``skip-audience``: no audience check: whatever AudienceRestrictions the assertion holds
  (another SP's, one more without this SP, none) are taken as naming this SP.
- ``skip-recipient``: the Recipient is taken as this ACS, once everything the strict check
  judged before it (signatures included) has passed.
- ``skip-destination``: the Response's Destination, or a missing one, is taken as this ACS.
- ``skip-issuer``: the Issuers of the Response and the Assertion (unknown, differing, of
  another Format, or missing) are taken as this organisation's IdP (the signatures must still
  verify with a trusted key).
- ``skip-in-response-to``: the response's InResponseTo is taken as the request this browser
  made.
- ``ignore-status``: a non-Success StatusCode is read as Success when an assertion is there.
- ``process-first-assertion-unverified``: among several assertions the signed one is
  verified (the message judged as if it held only that one, so a Response signature the
  extra assertions broke verifies again), but the identity is read from the first one in the
  document (signature wrapping).
- ``any-confirmation-method``: a SubjectConfirmation of any Method (sender-vouches...) is
  taken as bearer; its SubjectConfirmationData is still checked.
- ``ignore-unknown-conditions``: a Condition the SP does not understand is ignored.
- ``skip-version-check``: a Version other than 2.0 is read as 2.0.
- ``no-authn-statement-needed``: an assertion without AuthnStatement signs in all the same.
- ``skip-signature-verification``: signatures are required where present but never verified
  (a corrupt SignatureValue, content edited after signing, an unknown key all pass).

Where a flaw edits the message (re-signing it with a stand-in key), the signatures it carried
are verified first, unless the flaw is about them, and only the elements that were signed are
signed again, so the strict check still judges the signature policy.

An EncryptedAssertion is decrypted first (with the SP's own keys) and the flaw then applies
to the plaintext, as a flawed SP that decrypts and then skips the check would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable

from lxml import etree

from harness.protocol.keys import KeyPair, generate_key_pair
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import decrypt_element
from harness.protocol.saml.errors import SAMLError, SignatureError
from harness.protocol.saml.ids import format_instant
from harness.protocol.saml.keyinfo import keyinfo_certificates
from harness.protocol.saml.signing import sign_element, verify_element
from harness.protocol.saml.sp_validation import SPExpectations, ValidatedLogin, validate_response
from harness.protocol.xml import XMLSecurityError, parse_xml, to_bytes

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
        "any-confirmation-method",
        "ignore-unknown-conditions",
        "skip-version-check",
        "no-authn-statement-needed",
        "skip-signature-verification",
    }
)
_FOREVER = dt.timedelta(days=36500)
_WRAPPING = "process-first-assertion-unverified"
_ASSERTION_TAGS = (c.q(c.SAML, "Assertion"), c.q(c.SAML, "EncryptedAssertion"))


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
    def rewrite(root: etree._Element) -> None:
        root.set("Destination", expect.acs_url)

    return _verified_edit(data, expect, stand_in, rewrite)


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


# ----------------------------------------------------------------- edits of verified messages


def _plain_strictly(data: bytes, expect: SPExpectations) -> etree._Element | None:
    """:func:`_plain`, decrypting only with the algorithms the SP allows."""
    root = _parse(data)
    if root is None:
        return None
    for encrypted in root.findall(c.q(c.SAML, "EncryptedAssertion")):
        try:
            decrypted = decrypt_element(
                encrypted,
                expect.decryption_keys,
                allowed_blocks=expect.allowed_encryption,
                allowed_transports=expect.allowed_key_transports,
            ).element
        except SAMLError:
            return None
        root.replace(encrypted, decrypted)
    return root


def _own_signature(element: etree._Element) -> etree._Element | None:
    return element.find(c.q(c.DS, "Signature"))


def _signatures_verify(data: bytes, root: etree._Element, expect: SPExpectations) -> bool:
    """Whether every signature the message carries (the Response's over what was sent, each
    assertion's over its plaintext ``root`` holds) verifies with a trusted key."""
    sent = _parse(data)
    signed = [a for a in _assertions(root) if _own_signature(a) is not None]
    if sent is not None and _own_signature(sent) is not None:
        signed.insert(0, sent)
    try:
        for element in signed:
            verify_element(element, expect.trusted_certificates, allow_sha1=expect.allow_sha1)
    except SAMLError:
        return False
    return sent is not None


def _reseal(
    root: etree._Element, expect: SPExpectations, stand_in: StandInKey
) -> tuple[bytes, SPExpectations]:
    """Sign again, with the stand-in key (then the only one trusted), exactly the elements
    that carried a signature: the strict check still judges the signature policy."""
    key = stand_in.get(expect.now)
    for assertion in _assertions(root):
        if _own_signature(assertion) is not None:
            sign_element(assertion, key)
    if _own_signature(root) is not None:
        sign_element(root, key)
    return to_bytes(root), dataclasses.replace(expect, trusted_certificates=(key.certificate,))


def _verified_edit(
    data: bytes,
    expect: SPExpectations,
    stand_in: StandInKey,
    rewrite: Callable[[etree._Element], None],
) -> Retried:
    """The flawed SP's edit of a message whose signatures all verify: ``rewrite`` puts right,
    on the plaintext, the one rule the flaw skips, and the edit is vouched for."""
    root = _plain_strictly(data, expect)
    if root is None or not _assertions(root) or not _signatures_verify(data, root, expect):
        return None
    rewrite(root)
    return _reseal(root, expect, stand_in)


def _any_issuer(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for element in (root, *_assertions(root)):
            issuer = element.find(c.q(c.SAML, "Issuer"))
            if issuer is None and element is not root:
                issuer = etree.Element(c.q(c.SAML, "Issuer"))
                element.insert(0, issuer)
            if issuer is not None:
                issuer.text = expect.idp_entity_id
                issuer.attrib.pop("Format", "")

    return _verified_edit(data, expect, stand_in, rewrite)


def _any_audience(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for assertion in _assertions(root):
            conditions = assertion.find(c.q(c.SAML, "Conditions"))
            if conditions is None:
                conditions = etree.Element(c.q(c.SAML, "Conditions"))
                subject = assertion.find(c.q(c.SAML, "Subject"))
                if subject is None:
                    continue
                subject.addnext(conditions)
            for restriction in conditions.findall(c.q(c.SAML, "AudienceRestriction")):
                conditions.remove(restriction)
            restriction = etree.Element(c.q(c.SAML, "AudienceRestriction"))
            etree.SubElement(restriction, c.q(c.SAML, "Audience")).text = expect.sp_entity_id
            conditions.insert(0, restriction)

    return _verified_edit(data, expect, stand_in, rewrite)


# What an unbounded clock skew does not let through: a window no instant is in, bounds the
# profile forbids or requires on bearer data, and a session already over.
_UNTIMELY = frozenset(
    {"bad-conditions", "confirmation-not-before", "no-subject-expiry", "session-expired"}
)


def _timeless(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        later = format_instant(expect.now + dt.timedelta(minutes=5))
        for conditions in root.iter(c.q(c.SAML, "Conditions")):
            for name in ("NotBefore", "NotOnOrAfter"):
                conditions.attrib.pop(name, "")
        for confirmation in root.iter(c.q(c.SAML, "SubjectConfirmationData")):
            confirmation.attrib.pop("NotBefore", "")
            confirmation.set("NotOnOrAfter", later)
        for statement in root.iter(c.q(c.SAML, "AuthnStatement")):
            statement.attrib.pop("SessionNotOnOrAfter", "")

    return _verified_edit(data, expect, stand_in, rewrite)


def _any_confirmation(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for confirmation in root.iter(c.q(c.SAML, "SubjectConfirmation")):
            confirmation.set("Method", c.CM_BEARER)

    return _verified_edit(data, expect, stand_in, rewrite)


_UNDERSTOOD = ("AudienceRestriction", "OneTimeUse", "ProxyRestriction")


def _known_conditions(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for conditions in root.iter(c.q(c.SAML, "Conditions")):
            for condition in list(conditions):
                if isinstance(condition.tag, str) and (
                    etree.QName(condition).localname not in _UNDERSTOOD
                ):
                    conditions.remove(condition)

    return _verified_edit(data, expect, stand_in, rewrite)


def _version(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for element in (root, *_assertions(root)):
            element.set("Version", c.VERSION)

    return _verified_edit(data, expect, stand_in, rewrite)


def _authn_statement(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for assertion in _assertions(root):
            if assertion.find(c.q(c.SAML, "AuthnStatement")) is not None:
                continue
            statement = etree.Element(c.q(c.SAML, "AuthnStatement"))
            statement.set("AuthnInstant", format_instant(expect.now))
            context = etree.SubElement(statement, c.q(c.SAML, "AuthnContext"))
            etree.SubElement(context, c.q(c.SAML, "AuthnContextClassRef")).text = c.AC_UNSPECIFIED
            after = assertion.find(c.q(c.SAML, "Conditions"))
            if after is None:
                after = assertion.find(c.q(c.SAML, "Subject"))
            if after is not None:
                after.addnext(statement)
            else:
                assertion.append(statement)

    return _verified_edit(data, expect, stand_in, rewrite)


def _signatures_unverified(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    """Every signature the message carries passes unverified: the flawed SP's idea of it is
    the stand-in key's signature over the same elements, as they now read."""
    root = _plain_strictly(data, expect)
    if root is None or not _assertions(root):
        return None
    return _reseal(root, expect, stand_in)


_RETRIES: dict[str, tuple[frozenset[str], Attempt]] = {
    "skip-destination": (frozenset({"wrong-destination", "no-destination"}), _destination),
    "skip-issuer": (frozenset({"wrong-issuer", "bad-issuer-format", "no-issuer"}), _any_issuer),
    "skip-in-response-to": (frozenset({"wrong-in-response-to"}), _in_response_to),
    "ignore-status": (frozenset({"status-not-success"}), _status),
    "accept-unsigned": (frozenset({"unsigned"}), _unsigned),
    "skip-audience": (frozenset({"wrong-audience", "no-audience"}), _any_audience),
    "skip-recipient": (frozenset({"wrong-recipient", "no-recipient"}), _recipient),
    "ignore-expiry": (_UNTIMELY, _timeless),
    "any-confirmation-method": (frozenset({"no-bearer"}), _any_confirmation),
    "ignore-unknown-conditions": (frozenset({"unknown-condition"}), _known_conditions),
    "skip-version-check": (frozenset({"version-mismatch", "bad-assertion"}), _version),
    "no-authn-statement-needed": (frozenset({"no-authn-statement"}), _authn_statement),
    "skip-signature-verification": (frozenset({"bad-signature"}), _signatures_unverified),
}


def _first_assertion_unverified(data: bytes, expect: SPExpectations) -> ValidatedLogin | None:
    """The message judged as if it held only its first verified assertion (as sent: encrypted
    where it was), then the identity read from the first assertion in the document."""
    sent = _parse(data)
    root = _plain(data, expect)
    if sent is None or root is None:
        return None
    carried = [e for e in sent if e.tag in _ASSERTION_TAGS]
    assertions = _assertions(root)
    if len(assertions) < 2 or len(carried) != len(assertions):
        return None
    verified = None
    for index, assertion in enumerate(assertions):
        try:
            verify_element(assertion, expect.trusted_certificates, allow_sha1=expect.allow_sha1)
        except SignatureError:
            continue
        verified = index
        break
    if verified is None:
        return None
    for index, element in enumerate(carried):
        if index != verified:
            sent.remove(element)
    login = validate_response(to_bytes(sent), expect)
    name_id = assertions[0].find(f"{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}")
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
            extra = keyinfo_certificates(data)
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
            if _WRAPPING in remaining:  # several assertions, whatever the strict check said
                remaining.discard(_WRAPPING)
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
