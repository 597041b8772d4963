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
from ..xml import XMLSecurityError, parse_xml
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


def _fail(reason: str, rule: str, message: str) -> SAMLError:
    return SAMLError(reason, message, rule)


def _q(namespace: str, path: str) -> str:
    return "/".join(c.q(namespace, part) for part in path.split("/"))


def _instant(element: etree._Element, name: str) -> dt.datetime | None:
    value = element.get(name)
    return parse_instant(value, field=name) if value is not None else None


def _check_unique_ids(root: etree._Element) -> None:
    ids = Counter(e.get("ID") for e in root.iter() if isinstance(e.tag, str) and e.get("ID"))
    duplicates = [value for value, count in ids.items() if count > 1]
    if duplicates:
        raise _fail("duplicate-id", "SAML-CORE-1.3.4", f"ID {duplicates[0]!r} appears twice")


def _issuer(element: etree._Element, expected: str, *, required: bool) -> str | None:
    issuer = element.find(c.q(c.SAML, "Issuer"))
    if issuer is None:
        if required:
            raise _fail("no-issuer", "SAML-PROF-4.1.4.2", "the assertion has no Issuer")
        return None
    if issuer.get("Format") not in (None, c.NAMEID_ENTITY):
        raise _fail("bad-issuer-format", "SAML-PROF-4.1.4.2", "Issuer Format is not entity")
    value = (issuer.text or "").strip()
    if value != expected:
        raise _fail("wrong-issuer", "SAML-PROF-4.1.4.2", f"Issuer {value!r} is not {expected!r}")
    return value


def validate_response(data: bytes, expect: SPExpectations) -> ValidatedLogin:
    """Judge a samlp:Response received at ``expect.acs_url``; see the module docstring."""
    try:
        root = parse_xml(data)
    except XMLSecurityError as exc:
        raise SAMLError(exc.reason, exc.message, exc.rule) from exc
    if root.tag != c.q(c.SAMLP, "Response"):
        raise _fail("wrong-message", "SAML-CORE-3.2.2", f"expected samlp:Response, got {root.tag}")
    _check_unique_ids(root)
    now, skew = expect.now, expect.clock_skew
    notes: list[str] = []

    response_signed = root.find(c.q(c.DS, "Signature")) is not None
    if response_signed:
        root = verify_element(
            root, expect.trusted_certificates, allow_sha1=expect.allow_sha1
        ).signed_element
    if root.get("Version") != c.VERSION:
        raise _fail("version-mismatch", "SAML-CORE-3.2.2", "Response Version is not 2.0")
    response_id = root.get("ID")
    if not response_id:
        raise _fail("no-id", "SAML-CORE-3.2.2", "the Response has no ID")
    parse_instant(root.get("IssueInstant"), field="IssueInstant")
    destination = root.get("Destination")
    if destination is None and response_signed:
        raise _fail(
            "no-destination", "SAML-BIND-3.5.5.2", "a signed Response must carry Destination"
        )
    if destination is not None and destination != expect.acs_url:
        raise _fail(
            "wrong-destination", "SAML-CORE-3.2.2", f"Destination {destination!r} is not this ACS"
        )
    _issuer(root, expect.idp_entity_id, required=False)

    code = root.find(_q(c.SAMLP, "Status/StatusCode"))
    status = code.get("Value") if code is not None else None
    if status != c.STATUS_SUCCESS:
        sub = code.find(c.q(c.SAMLP, "StatusCode")) if code is not None else None
        detail = f"{status}" + (f" / {sub.get('Value')}" if sub is not None else "")
        raise _fail("status-not-success", "SAML-CORE-3.2.2.2", f"the IdP answered {detail}")

    in_response_to = root.get("InResponseTo")
    if expect.request_id is not None:
        if in_response_to != expect.request_id:
            raise _fail(
                "wrong-in-response-to",
                "SAML-CORE-3.2.2",
                f"InResponseTo {in_response_to!r} names no request of ours",
            )
    else:
        if not expect.allow_unsolicited:
            raise _fail("unsolicited", "SAML-PROF-4.1.5", "unsolicited responses are not accepted")
        if in_response_to is not None:
            raise _fail(
                "unsolicited-with-in-response-to",
                "SAML-PROF-4.1.5",
                "an unsolicited response has no InResponseTo",
            )

    plain = root.findall(c.q(c.SAML, "Assertion"))
    encrypted = root.findall(c.q(c.SAML, "EncryptedAssertion"))
    if len(plain) + len(encrypted) != 1:
        raise _fail(
            "assertion-count",
            "SDP-IDP10",
            f"expected exactly one assertion, found {len(plain) + len(encrypted)}",
        )
    if encrypted:
        decrypted = decrypt_element(
            encrypted[0],
            expect.decryption_keys,
            allowed_blocks=expect.allowed_encryption,
            allowed_transports=expect.allowed_key_transports,
        )
        assertion = decrypted.element
        if assertion.tag != c.q(c.SAML, "Assertion"):
            raise _fail(
                "not-an-assertion", "SAML-CORE-2.3.4", "EncryptedAssertion holds no Assertion"
            )
    else:
        assertion = plain[0]
    assertion_signed = assertion.find(c.q(c.DS, "Signature")) is not None
    if assertion_signed:
        assertion = verify_element(
            assertion, expect.trusted_certificates, allow_sha1=expect.allow_sha1
        ).signed_element
    policy = expect.signature_policy
    if (
        (policy == "assertion" and not assertion_signed)
        or (policy == "response" and not response_signed)
        or (policy == "both" and not (assertion_signed and response_signed))
        or (policy == "either" and not (assertion_signed or response_signed))
    ):
        rule = "SAML-PROF-4.1.4.5" if policy in ("assertion", "both") else "IIP-SP13"
        raise _fail("unsigned", rule, f"signature policy {policy!r} not met")

    if assertion.get("Version") != c.VERSION or not assertion.get("ID"):
        raise _fail("bad-assertion", "SAML-CORE-2.3.3", "the assertion lacks Version 2.0 or an ID")
    issuer = _issuer(assertion, expect.idp_entity_id, required=True) or ""
    login = _judge_assertion(assertion, expect, now, skew, notes)
    return ValidatedLogin(
        issuer=issuer,
        response_id=response_id,
        in_response_to=in_response_to,
        response_signed=response_signed,
        assertion_signed=assertion_signed,
        encrypted=bool(encrypted),
        notes=tuple(notes),
        **login,  # type: ignore[arg-type]
    )


def _judge_assertion(
    assertion: etree._Element,
    expect: SPExpectations,
    now: dt.datetime,
    skew: dt.timedelta,
    notes: list[str],
) -> dict[str, object]:
    subject = assertion.find(c.q(c.SAML, "Subject"))
    name_id = subject.find(c.q(c.SAML, "NameID")) if subject is not None else None
    if subject is None or name_id is None or not (name_id.text or "").strip():
        raise _fail("no-subject", "SAML-PROF-4.1.4.2", "the assertion has no Subject NameID")

    confirmation_error: SAMLError | None = None
    confirmed_until: dt.datetime | None = None
    for confirmation in subject.findall(c.q(c.SAML, "SubjectConfirmation")):
        if confirmation.get("Method") != c.CM_BEARER:
            confirmation_error = confirmation_error or _fail(
                "no-bearer", "SAML-PROF-4.1.4.2", "no bearer SubjectConfirmation"
            )
            continue
        try:
            confirmed_until = _judge_bearer(confirmation, expect, now, skew)
            break
        except SAMLError as exc:
            confirmation_error = exc
    if confirmed_until is None:
        raise confirmation_error or _fail(
            "no-bearer", "SAML-PROF-4.1.4.2", "no bearer SubjectConfirmation"
        )

    conditions = assertion.find(c.q(c.SAML, "Conditions"))
    not_on_or_after = confirmed_until
    if conditions is None:
        raise _fail(
            "no-audience",
            "SAML-PROF-4.1.4.2",
            "the assertion has no Conditions/AudienceRestriction",
        )
    not_before = _instant(conditions, "NotBefore")
    condition_end = _instant(conditions, "NotOnOrAfter")
    if not_before is not None and condition_end is not None and not_before >= condition_end:
        raise _fail("bad-conditions", "SAML-CORE-2.5.1.2", "NotBefore is not before NotOnOrAfter")
    if not_before is not None and now + skew < not_before:
        raise _fail("not-yet-valid", "SAML-CORE-2.5.1.2", "the assertion is not valid yet")
    if condition_end is not None:
        if now - skew >= condition_end:
            raise _fail("expired", "SAML-CORE-2.5.1.2", "the assertion has expired")
        not_on_or_after = min(not_on_or_after, condition_end)
    restrictions = conditions.findall(c.q(c.SAML, "AudienceRestriction"))
    if not restrictions:
        raise _fail("no-audience", "SAML-PROF-4.1.4.2", "no AudienceRestriction")
    for restriction in restrictions:  # separate restrictions are ANDed (Core 2.5.1.4)
        audiences = [(a.text or "").strip() for a in restriction.findall(c.q(c.SAML, "Audience"))]
        if expect.sp_entity_id not in audiences:
            raise _fail("wrong-audience", "SAML-CORE-2.5.1.4", f"this SP is not among {audiences}")
    for condition in conditions:
        if (
            isinstance(condition.tag, str)
            and etree.QName(condition).localname not in _KNOWN_CONDITIONS
        ):
            raise _fail(
                "unknown-condition",
                "SAML-PROF-4.1.4.2",
                f"condition {condition.tag} is not understood",
            )
    if conditions.find(c.q(c.SAML, "OneTimeUse")) is not None:
        notes.append("OneTimeUse: the caller's replay cache must refuse a second use")

    statements = assertion.findall(c.q(c.SAML, "AuthnStatement"))
    if not statements:
        raise _fail(
            "no-authn-statement", "SAML-PROF-4.1.4.2", "the assertion has no AuthnStatement"
        )
    statement = statements[0]
    session_end = _instant(statement, "SessionNotOnOrAfter")
    if session_end is not None and session_end <= now:
        raise _fail("session-expired", "SAML-PROF-4.1.4.3", "SessionNotOnOrAfter has passed")
    class_ref = statement.find(_q(c.SAML, "AuthnContext/AuthnContextClassRef"))
    attributes: dict[str, list[str]] = {}
    for attribute in assertion.iter(c.q(c.SAML, "Attribute")):
        values = [(v.text or "") for v in attribute.findall(c.q(c.SAML, "AttributeValue"))]
        attributes.setdefault(attribute.get("Name", ""), []).extend(values)
    return {
        "name_id": (name_id.text or "").strip(),
        "name_id_format": name_id.get("Format"),
        "assertion_id": assertion.get("ID", ""),
        "attributes": attributes,
        "session_index": statement.get("SessionIndex"),
        "session_not_on_or_after": session_end,
        "authn_instant": _instant(statement, "AuthnInstant"),
        "authn_context_class": (class_ref.text or "").strip() if class_ref is not None else None,
        "not_on_or_after": not_on_or_after,
    }


def _judge_bearer(
    confirmation: etree._Element, expect: SPExpectations, now: dt.datetime, skew: dt.timedelta
) -> dt.datetime:
    data = confirmation.find(c.q(c.SAML, "SubjectConfirmationData"))
    if data is None:
        raise _fail(
            "no-confirmation-data", "SAML-PROF-4.1.4.2", "bearer without SubjectConfirmationData"
        )
    recipient = data.get("Recipient")
    if recipient is None:
        raise _fail("no-recipient", "SAML-PROF-4.1.4.2", "SubjectConfirmationData has no Recipient")
    if recipient != expect.acs_url:
        raise _fail(
            "wrong-recipient", "SAML-PROF-4.1.4.3", f"Recipient {recipient!r} is not this ACS"
        )
    if data.get("NotBefore") is not None:
        raise _fail(
            "confirmation-not-before", "SAML-PROF-4.1.4.2", "bearer data must not carry NotBefore"
        )
    until = _instant(data, "NotOnOrAfter")
    if until is None:
        raise _fail(
            "no-subject-expiry", "SAML-PROF-4.1.4.2", "SubjectConfirmationData has no NotOnOrAfter"
        )
    if now - skew >= until:
        raise _fail("subject-expired", "SAML-PROF-4.1.4.3", "SubjectConfirmationData has expired")
    in_response_to = data.get("InResponseTo")
    if expect.request_id is not None and in_response_to != expect.request_id:
        raise _fail(
            "wrong-in-response-to",
            "SAML-PROF-4.1.4.3",
            "SubjectConfirmationData InResponseTo names no request of ours",
        )
    if expect.request_id is None and in_response_to is not None:
        raise _fail(
            "unsolicited-with-in-response-to",
            "SAML-PROF-4.1.5",
            "an unsolicited assertion has InResponseTo",
        )
    return until
