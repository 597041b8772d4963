"""What a strict SP checks in a Response before it signs anyone in (SAML Profiles 4.1.4.2,
4.1.4.3, 4.1.4.5; Core 2.5, 3.2.2; saml2int). Reusable by the reference SP and the harness.

``validate_response`` takes the bytes as received, the trusted IdP certificates and ``now``;
it returns a :class:`ValidatedLogin` or raises :class:`SAMLError` whose ``reason`` is a stable
code and ``rule`` the requirement broken. Only elements returned by signature verification are
read after verification, so wrapped (XSW) content is never consulted.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from lxml import etree

from ..keys import PrivateKey
from ..xml import parse_xml
from . import constants as c
from .encryption import BLOCK_ALGORITHMS, decrypt_element
from .errors import SAMLError
from .ids import parse_instant
from .signing import verify_element

SignaturePolicy = Literal["assertion", "response", "either", "both"]
_KNOWN_CONDITIONS = {"AudienceRestriction", "OneTimeUse", "ProxyRestriction"}


@dataclass(frozen=True)
class SPExpectations:
    sp_entity_id: str
    acs_url: str
    idp_entity_id: str
    trusted_certificates: Sequence[x509.Certificate]
    now: dt.datetime
    request_id: str | None = None  # None: an unsolicited (IdP-initiated) response
    allow_unsolicited: bool = True
    clock_skew: dt.timedelta = dt.timedelta(minutes=3)  # saml2int SDP-G01
    signature_policy: SignaturePolicy = "assertion"  # Profiles 4.1.4.5
    decryption_keys: Sequence[PrivateKey] = ()
    allow_sha1: bool = False
    allowed_encryption: Sequence[str] = tuple(BLOCK_ALGORITHMS)
    allowed_key_transports: Sequence[str] = ("rsa-oaep",)  # IIP-ALG08 blocks rsa-1_5


@dataclass(frozen=True)
class ValidatedLogin:
    name_id: str
    name_id_format: str | None
    issuer: str
    response_id: str
    assertion_id: str
    in_response_to: str | None
    attributes: dict[str, list[str]]
    session_index: str | None
    session_not_on_or_after: dt.datetime | None
    authn_instant: dt.datetime | None
    authn_context_class: str | None
    not_on_or_after: dt.datetime  # keep assertion_id in a replay cache until then (4.1.4.5)
    response_signed: bool
    assertion_signed: bool
    encrypted: bool
    notes: tuple[str, ...] = field(default=())


def _q(namespace: str, path: str) -> str:
    return "/".join(c.q(namespace, part) for part in path.split("/"))


def _instant(element: etree._Element, name: str) -> dt.datetime | None:
    value = element.get(name)
    return parse_instant(value, field=name) if value is not None else None


# What samlp:Response may hold (Core 3.2.2, 3.3.3): anything else, e.g. a look-alike
# saml:Assertion in another namespace, is refused rather than ignored.
_RESPONSE_CHILDREN = frozenset(
    {
        c.q(c.SAML, "Issuer"),
        c.q(c.DS, "Signature"),
        c.q(c.SAMLP, "Extensions"),
        c.q(c.SAMLP, "Status"),
        c.q(c.SAML, "Assertion"),
        c.q(c.SAML, "EncryptedAssertion"),
    }
)


def _text(element: etree._Element) -> str:
    """All the character data of ``element``: a comment or processing instruction inside it
    does not end the value (exclusive C14N signs the text on both sides of it)."""
    return "".join(str(part) for part in element.itertext())


def _check_response_children(root: etree._Element) -> None:
    for child in root:
        if isinstance(child.tag, str) and child.tag not in _RESPONSE_CHILDREN:
            raise SAMLError(
                "unexpected-element",
                f"samlp:Response holds {child.tag[:200]}, which it may not",
                "SAML-CORE-3.2.2",
            )


def _check_unique_ids(root: etree._Element) -> None:
    ids = Counter(e.get("ID") for e in root.iter() if isinstance(e.tag, str) and e.get("ID"))
    duplicates = [value for value, count in ids.items() if count > 1]
    if duplicates:
        raise SAMLError("duplicate-id", f"ID {duplicates[0]!r} appears twice", "SAML-CORE-1.3.4")


def _issuer(element: etree._Element, expected: str, *, required: bool) -> str | None:
    issuer = element.find(c.q(c.SAML, "Issuer"))
    if issuer is None:
        if required:
            raise SAMLError("no-issuer", "the assertion has no Issuer", "SAML-PROF-4.1.4.2")
        return None
    if issuer.get("Format") not in (None, c.NAMEID_ENTITY):
        raise SAMLError("bad-issuer-format", "Issuer Format is not entity", "SAML-PROF-4.1.4.2")
    value = (issuer.text or "").strip()
    if value != expected:
        raise SAMLError(
            "wrong-issuer", f"Issuer {value!r} is not {expected!r}", "SAML-PROF-4.1.4.2"
        )
    return value


def validate_response(data: bytes, expect: SPExpectations) -> ValidatedLogin:
    """Judge a samlp:Response received at ``expect.acs_url``; see the module docstring."""
    root = parse_xml(data)  # hostile XML: an XMLSecurityError, a Refusal like SAMLError
    if root.tag != c.q(c.SAMLP, "Response"):
        raise SAMLError(
            "wrong-message", f"expected samlp:Response, got {root.tag}", "SAML-CORE-3.2.2"
        )
    _check_unique_ids(root)
    _check_response_children(root)
    notes: list[str] = []

    response_signed = root.find(c.q(c.DS, "Signature")) is not None
    if response_signed:
        root = verify_element(
            root, expect.trusted_certificates, allow_sha1=expect.allow_sha1
        ).signed_element
    response_id = _judge_envelope(root, expect, signed=response_signed)
    _judge_status(root)
    in_response_to = _judge_in_response_to(root, expect)
    assertion, encrypted = _the_assertion(root, expect)
    assertion_signed = assertion.find(c.q(c.DS, "Signature")) is not None
    if assertion_signed:
        assertion = verify_element(
            assertion, expect.trusted_certificates, allow_sha1=expect.allow_sha1
        ).signed_element
    _judge_signature_policy(expect.signature_policy, response_signed, assertion_signed)

    if assertion.get("Version") != c.VERSION or not assertion.get("ID"):
        raise SAMLError(
            "bad-assertion", "the assertion lacks Version 2.0 or an ID", "SAML-CORE-2.3.3"
        )
    issuer = _issuer(assertion, expect.idp_entity_id, required=True) or ""
    login = _judge_assertion(assertion, expect, expect.now, expect.clock_skew, notes)
    return ValidatedLogin(
        issuer=issuer,
        response_id=response_id,
        in_response_to=in_response_to,
        response_signed=response_signed,
        assertion_signed=assertion_signed,
        encrypted=encrypted,
        notes=tuple(notes),
        **login,  # type: ignore[arg-type]
    )


def _judge_envelope(root: etree._Element, expect: SPExpectations, *, signed: bool) -> str:
    """Version, ID, IssueInstant, Destination and Issuer of the Response; returns its ID."""
    if root.get("Version") != c.VERSION:
        raise SAMLError("version-mismatch", "Response Version is not 2.0", "SAML-CORE-3.2.2")
    response_id = root.get("ID")
    if not response_id:
        raise SAMLError("no-id", "the Response has no ID", "SAML-CORE-3.2.2")
    parse_instant(root.get("IssueInstant"), field="IssueInstant")
    destination = root.get("Destination")
    if destination is None and signed:
        raise SAMLError(
            "no-destination", "a signed Response must carry Destination", "SAML-BIND-3.5.5.2"
        )
    if destination is not None and destination != expect.acs_url:
        raise SAMLError(
            "wrong-destination", f"Destination {destination!r} is not this ACS", "SAML-CORE-3.2.2"
        )
    _issuer(root, expect.idp_entity_id, required=False)
    return response_id


def _judge_status(root: etree._Element) -> None:
    code = root.find(_q(c.SAMLP, "Status/StatusCode"))
    status = code.get("Value") if code is not None else None
    if status != c.STATUS_SUCCESS:
        sub = code.find(c.q(c.SAMLP, "StatusCode")) if code is not None else None
        detail = f"{status}" + (f" / {sub.get('Value')}" if sub is not None else "")
        raise SAMLError("status-not-success", f"the IdP answered {detail}", "SAML-CORE-3.2.2.2")


def _judge_in_response_to(root: etree._Element, expect: SPExpectations) -> str | None:
    in_response_to = root.get("InResponseTo")
    if expect.request_id is not None:
        if in_response_to != expect.request_id:
            raise SAMLError(
                "wrong-in-response-to",
                f"InResponseTo {in_response_to!r} names no request of ours",
                "SAML-CORE-3.2.2",
            )
        return in_response_to
    if not expect.allow_unsolicited:
        raise SAMLError("unsolicited", "unsolicited responses are not accepted", "SAML-PROF-4.1.5")
    if in_response_to is not None:
        raise SAMLError(
            "unsolicited-with-in-response-to",
            "an unsolicited response has no InResponseTo",
            "SAML-PROF-4.1.5",
        )
    return None


def _the_assertion(root: etree._Element, expect: SPExpectations) -> tuple[etree._Element, bool]:
    """The one assertion of the Response (decrypted if need be) and whether it was encrypted."""
    plain = root.findall(c.q(c.SAML, "Assertion"))
    encrypted = root.findall(c.q(c.SAML, "EncryptedAssertion"))
    # An assertion anywhere else in the envelope (Extensions, StatusDetail, a wrapped copy)
    # counts too: a reader searching the document would find it (XSW7).
    tags = (c.q(c.SAML, "Assertion"), c.q(c.SAML, "EncryptedAssertion"))
    stray = sum(len(list(child.iter(*tags))) for child in root if child.tag not in tags)
    if len(plain) + len(encrypted) + stray != 1:
        raise SAMLError(
            "assertion-count",
            f"expected exactly one assertion, found {len(plain) + len(encrypted) + stray}",
            "SDP-IDP10",
        )
    if not encrypted:
        return plain[0], False
    decrypted = decrypt_element(
        encrypted[0],
        expect.decryption_keys,
        allowed_blocks=expect.allowed_encryption,
        allowed_transports=expect.allowed_key_transports,
    )
    if decrypted.element.tag != c.q(c.SAML, "Assertion"):
        raise SAMLError(
            "not-an-assertion", "EncryptedAssertion holds no Assertion", "SAML-CORE-2.3.4"
        )
    return decrypted.element, True


def _judge_signature_policy(policy: str, response_signed: bool, assertion_signed: bool) -> None:
    if (
        (policy == "assertion" and not assertion_signed)
        or (policy == "response" and not response_signed)
        or (policy == "both" and not (assertion_signed and response_signed))
        or (policy == "either" and not (assertion_signed or response_signed))
    ):
        rule = "SAML-PROF-4.1.4.5" if policy in ("assertion", "both") else "IIP-SP13"
        raise SAMLError("unsigned", f"signature policy {policy!r} not met", rule)


def _judge_assertion(
    assertion: etree._Element,
    expect: SPExpectations,
    now: dt.datetime,
    skew: dt.timedelta,
    notes: list[str],
) -> dict[str, object]:
    subject = assertion.find(c.q(c.SAML, "Subject"))
    name_id = subject.find(c.q(c.SAML, "NameID")) if subject is not None else None
    if subject is None or name_id is None or not _text(name_id).strip():
        raise SAMLError("no-subject", "the assertion has no Subject NameID", "SAML-PROF-4.1.4.2")
    confirmed_until = _judge_subject_confirmations(subject, expect, now, skew)
    conditions_end = _judge_conditions(assertion, expect, now, skew, notes)
    not_on_or_after = (
        min(confirmed_until, conditions_end) if conditions_end is not None else confirmed_until
    )

    statements = assertion.findall(c.q(c.SAML, "AuthnStatement"))
    if not statements:
        raise SAMLError(
            "no-authn-statement", "the assertion has no AuthnStatement", "SAML-PROF-4.1.4.2"
        )
    statement = statements[0]
    session_end = _instant(statement, "SessionNotOnOrAfter")
    if session_end is not None and session_end <= now:
        raise SAMLError("session-expired", "SessionNotOnOrAfter has passed", "SAML-PROF-4.1.4.3")
    class_ref = statement.find(_q(c.SAML, "AuthnContext/AuthnContextClassRef"))
    attributes: dict[str, list[str]] = {}
    for attribute in assertion.iter(c.q(c.SAML, "Attribute")):
        values = [_text(v) for v in attribute.findall(c.q(c.SAML, "AttributeValue"))]
        attributes.setdefault(attribute.get("Name", ""), []).extend(values)
    return {
        "name_id": _text(name_id).strip(),
        "name_id_format": name_id.get("Format"),
        "assertion_id": assertion.get("ID", ""),
        "attributes": attributes,
        "session_index": statement.get("SessionIndex"),
        "session_not_on_or_after": session_end,
        "authn_instant": _instant(statement, "AuthnInstant"),
        "authn_context_class": (class_ref.text or "").strip() if class_ref is not None else None,
        "not_on_or_after": not_on_or_after,
    }


def _judge_subject_confirmations(
    subject: etree._Element, expect: SPExpectations, now: dt.datetime, skew: dt.timedelta
) -> dt.datetime:
    """Until when the first valid bearer confirmation holds; else the first reason none did."""
    confirmation_error: SAMLError | None = None
    for confirmation in subject.findall(c.q(c.SAML, "SubjectConfirmation")):
        if confirmation.get("Method") != c.CM_BEARER:
            confirmation_error = confirmation_error or SAMLError(
                "no-bearer", "no bearer SubjectConfirmation", "SAML-PROF-4.1.4.2"
            )
            continue
        try:
            return _judge_bearer(confirmation, expect, now, skew)
        except SAMLError as exc:
            confirmation_error = exc
    raise confirmation_error or SAMLError(
        "no-bearer", "no bearer SubjectConfirmation", "SAML-PROF-4.1.4.2"
    )


def _judge_conditions(
    assertion: etree._Element,
    expect: SPExpectations,
    now: dt.datetime,
    skew: dt.timedelta,
    notes: list[str],
) -> dt.datetime | None:
    """The Conditions' validity window and audiences; returns their NotOnOrAfter, if any."""
    conditions = assertion.find(c.q(c.SAML, "Conditions"))
    if conditions is None:
        raise SAMLError(
            "no-audience",
            "the assertion has no Conditions/AudienceRestriction",
            "SAML-PROF-4.1.4.2",
        )
    not_before = _instant(conditions, "NotBefore")
    condition_end = _instant(conditions, "NotOnOrAfter")
    if not_before is not None and condition_end is not None and not_before >= condition_end:
        raise SAMLError(
            "bad-conditions", "NotBefore is not before NotOnOrAfter", "SAML-CORE-2.5.1.2"
        )
    if not_before is not None and now + skew < not_before:
        raise SAMLError("not-yet-valid", "the assertion is not valid yet", "SAML-CORE-2.5.1.2")
    if condition_end is not None and now - skew >= condition_end:
        raise SAMLError("expired", "the assertion has expired", "SAML-CORE-2.5.1.2")
    restrictions = conditions.findall(c.q(c.SAML, "AudienceRestriction"))
    if not restrictions:
        raise SAMLError("no-audience", "no AudienceRestriction", "SAML-PROF-4.1.4.2")
    for restriction in restrictions:  # separate restrictions are ANDed (Core 2.5.1.4)
        audiences = [(a.text or "").strip() for a in restriction.findall(c.q(c.SAML, "Audience"))]
        if expect.sp_entity_id not in audiences:
            raise SAMLError(
                "wrong-audience", f"this SP is not among {audiences}", "SAML-CORE-2.5.1.4"
            )
    for condition in conditions:
        if (
            isinstance(condition.tag, str)
            and etree.QName(condition).localname not in _KNOWN_CONDITIONS
        ):
            raise SAMLError(
                "unknown-condition",
                f"condition {condition.tag} is not understood",
                "SAML-PROF-4.1.4.2",
            )
    if conditions.find(c.q(c.SAML, "OneTimeUse")) is not None:
        notes.append("OneTimeUse: the caller's replay cache must refuse a second use")
    return condition_end


def _judge_bearer(
    confirmation: etree._Element, expect: SPExpectations, now: dt.datetime, skew: dt.timedelta
) -> dt.datetime:
    data = confirmation.find(c.q(c.SAML, "SubjectConfirmationData"))
    if data is None:
        raise SAMLError(
            "no-confirmation-data", "bearer without SubjectConfirmationData", "SAML-PROF-4.1.4.2"
        )
    recipient = data.get("Recipient")
    if recipient is None:
        raise SAMLError(
            "no-recipient", "SubjectConfirmationData has no Recipient", "SAML-PROF-4.1.4.2"
        )
    if recipient != expect.acs_url:
        raise SAMLError(
            "wrong-recipient", f"Recipient {recipient!r} is not this ACS", "SAML-PROF-4.1.4.3"
        )
    if data.get("NotBefore") is not None:
        raise SAMLError(
            "confirmation-not-before", "bearer data must not carry NotBefore", "SAML-PROF-4.1.4.2"
        )
    until = _instant(data, "NotOnOrAfter")
    if until is None:
        raise SAMLError(
            "no-subject-expiry", "SubjectConfirmationData has no NotOnOrAfter", "SAML-PROF-4.1.4.2"
        )
    if now - skew >= until:
        raise SAMLError(
            "subject-expired", "SubjectConfirmationData has expired", "SAML-PROF-4.1.4.3"
        )
    in_response_to = data.get("InResponseTo")
    if expect.request_id is not None and in_response_to != expect.request_id:
        raise SAMLError(
            "wrong-in-response-to",
            "SubjectConfirmationData InResponseTo names no request of ours",
            "SAML-PROF-4.1.4.3",
        )
    if expect.request_id is None and in_response_to is not None:
        raise SAMLError(
            "unsolicited-with-in-response-to",
            "an unsolicited assertion has InResponseTo",
            "SAML-PROF-4.1.5",
        )
    return until
