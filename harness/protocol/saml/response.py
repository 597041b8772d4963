"""samlp:Response with one saml:Assertion (SAML Core 2.3.3, 3.2.2; Profiles 4.1.4.2): build.

A response is described by two plain values: :class:`ResponseSpec` (what it says) and
:class:`Protection` (how it is signed and encrypted). Mutators in :mod:`.mutators` are pure
functions over those two values, so a broken response is a good one with one field changed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree

from ..keys import KeyPair
from ..xml import to_bytes
from . import constants as c
from ._common import sub
from .encryption import EncryptionChoice, encrypt_element
from .ids import format_instant
from .signing import SignatureChoice, sign_element


@dataclass(frozen=True)
class Attribute:
    name: str
    values: tuple[str, ...]
    name_format: str | None = None
    friendly_name: str | None = None


@dataclass(frozen=True)
class ResponseSpec:
    """Everything a Response and its Assertion say. Times are aware datetimes (UTC)."""

    response_id: str
    assertion_id: str
    issuer: str
    issue_instant: dt.datetime
    name_id: str
    name_id_format: str = c.NAMEID_EMAIL
    name_id_sp_name_qualifier: str | None = None
    name_id_name_qualifier: str | None = None
    destination: str | None = None
    in_response_to: str | None = None
    recipient: str | None = None
    subject_in_response_to: str | None = None
    subject_not_before: dt.datetime | None = None
    subject_not_on_or_after: dt.datetime | None = None
    confirmation_method: str = c.CM_BEARER
    address: str | None = None
    audience_restrictions: tuple[tuple[str, ...], ...] = ()
    not_before: dt.datetime | None = None
    not_on_or_after: dt.datetime | None = None
    one_time_use: bool = False
    authn_instant: dt.datetime | None = None
    session_index: str | None = None
    session_not_on_or_after: dt.datetime | None = None
    authn_context_class: str = c.AC_PASSWORD_PROTECTED
    attributes: tuple[Attribute, ...] = ()
    typed_attribute_values: bool = True
    status_code: str = c.STATUS_SUCCESS
    status_subcode: str | None = None
    status_message: str | None = None
    include_assertion: bool = True
    assertion_issuer: str | None = None  # None: the same as ``issuer``
    issuer_format_entity: bool = False
    version: str = c.VERSION
    assertion_version: str = c.VERSION
    include_authn_statement: bool = True
    omit_response_issuer: bool = False
    # Namespace prefixes vary by vendor (Okta: saml2p/saml2; Entra: a default namespace on the
    # Assertion, None here). An SP that matches on prefixes instead of namespaces breaks.
    protocol_prefix: str = "samlp"
    assertion_prefix: str | None = "saml"


@dataclass(frozen=True)
class Protection:
    """How the response is protected. ``key`` signs; ``encrypt_to`` encrypts the assertion."""

    key: KeyPair | None
    sign_assertion: bool = True
    sign_response: bool = True
    signature: SignatureChoice = field(default_factory=SignatureChoice)
    include_certificate: bool = True
    encrypt_to: x509.Certificate | None = None
    encryption: EncryptionChoice = field(default_factory=EncryptionChoice)


def _instant(value: dt.datetime) -> str:
    return format_instant(value)


def _issuer(parent: etree._Element, issuer: str, entity_format: bool, prefix: str | None) -> None:
    if prefix is None and parent.nsmap.get(None) != c.SAML:
        element = etree.SubElement(parent, c.q(c.SAML, "Issuer"), nsmap={None: c.SAML})  # type: ignore[dict-item]
        element.text = issuer
    else:
        element = sub(parent, c.SAML, "Issuer", issuer)
    if entity_format:
        element.set("Format", c.NAMEID_ENTITY)


def build_assertion(spec: ResponseSpec) -> etree._Element:
    nsmap: dict[str | None, str] = {spec.assertion_prefix: c.SAML}
    if spec.typed_attribute_values:
        nsmap.update({"xs": c.XS, "xsi": c.XSI})
    assertion = etree.Element(c.q(c.SAML, "Assertion"), nsmap=nsmap)  # type: ignore[arg-type]
    assertion.set("ID", spec.assertion_id)
    assertion.set("Version", spec.assertion_version)
    assertion.set("IssueInstant", _instant(spec.issue_instant))
    _issuer(
        assertion,
        spec.assertion_issuer or spec.issuer,
        spec.issuer_format_entity,
        spec.assertion_prefix,
    )
    _subject(assertion, spec)
    _conditions(assertion, spec)
    if spec.include_authn_statement:
        _authn_statement(assertion, spec)
    if spec.attributes:
        _attribute_statement(assertion, spec)
    return assertion


def _set(element: etree._Element, name: str, value: str | dt.datetime | None) -> None:
    """Set an optional XML attribute: absent when ``value`` is None, instants in UTC."""
    if value is not None:
        element.set(name, _instant(value) if isinstance(value, dt.datetime) else value)


def _subject(assertion: etree._Element, spec: ResponseSpec) -> None:
    subject = sub(assertion, c.SAML, "Subject")
    name_id = sub(subject, c.SAML, "NameID", spec.name_id)
    name_id.set("Format", spec.name_id_format)
    _set(name_id, "NameQualifier", spec.name_id_name_qualifier or None)
    _set(name_id, "SPNameQualifier", spec.name_id_sp_name_qualifier or None)
    confirmation = sub(subject, c.SAML, "SubjectConfirmation")
    confirmation.set("Method", spec.confirmation_method)
    data = sub(confirmation, c.SAML, "SubjectConfirmationData")
    _set(data, "NotBefore", spec.subject_not_before)
    _set(data, "NotOnOrAfter", spec.subject_not_on_or_after)
    _set(data, "Recipient", spec.recipient)
    _set(data, "InResponseTo", spec.subject_in_response_to)
    _set(data, "Address", spec.address)


def _conditions(assertion: etree._Element, spec: ResponseSpec) -> None:
    conditions = sub(assertion, c.SAML, "Conditions")
    _set(conditions, "NotBefore", spec.not_before)
    _set(conditions, "NotOnOrAfter", spec.not_on_or_after)
    for audiences in spec.audience_restrictions:
        restriction = sub(conditions, c.SAML, "AudienceRestriction")
        for audience in audiences:
            sub(restriction, c.SAML, "Audience", audience)
    if spec.one_time_use:
        sub(conditions, c.SAML, "OneTimeUse")


def _authn_statement(assertion: etree._Element, spec: ResponseSpec) -> None:
    statement = sub(assertion, c.SAML, "AuthnStatement")
    statement.set("AuthnInstant", _instant(spec.authn_instant or spec.issue_instant))
    _set(statement, "SessionIndex", spec.session_index)
    _set(statement, "SessionNotOnOrAfter", spec.session_not_on_or_after)
    context = sub(statement, c.SAML, "AuthnContext")
    sub(context, c.SAML, "AuthnContextClassRef", spec.authn_context_class)


def _attribute_statement(assertion: etree._Element, spec: ResponseSpec) -> None:
    attribute_statement = sub(assertion, c.SAML, "AttributeStatement")
    for attribute in spec.attributes:
        element = sub(attribute_statement, c.SAML, "Attribute")
        element.set("Name", attribute.name)
        _set(element, "NameFormat", attribute.name_format or None)
        _set(element, "FriendlyName", attribute.friendly_name or None)
        for value in attribute.values:
            value_element = sub(element, c.SAML, "AttributeValue", value)
            if spec.typed_attribute_values:
                value_element.set(c.q(c.XSI, "type"), "xs:string")


def build_response_element(spec: ResponseSpec, payload: etree._Element | None) -> etree._Element:
    """The samlp:Response around ``payload`` (a signed/encrypted assertion, or None)."""
    nsmap = {spec.protocol_prefix: c.SAMLP}
    if spec.assertion_prefix is not None:
        nsmap[spec.assertion_prefix] = c.SAML
    response = etree.Element(c.q(c.SAMLP, "Response"), nsmap=nsmap)
    response.set("ID", spec.response_id)
    response.set("Version", spec.version)
    response.set("IssueInstant", _instant(spec.issue_instant))
    if spec.destination is not None:
        response.set("Destination", spec.destination)
    if spec.in_response_to is not None:
        response.set("InResponseTo", spec.in_response_to)
    if not spec.omit_response_issuer:
        _issuer(response, spec.issuer, spec.issuer_format_entity, spec.assertion_prefix)
    status = sub(response, c.SAMLP, "Status")
    code = sub(status, c.SAMLP, "StatusCode")
    code.set("Value", spec.status_code)
    if spec.status_subcode:
        sub(code, c.SAMLP, "StatusCode").set("Value", spec.status_subcode)
    if spec.status_message:
        sub(status, c.SAMLP, "StatusMessage", spec.status_message)
    if payload is not None:
        response.append(payload)
    return response


def signed_assertion(
    spec: ResponseSpec,
    protection: Protection,
    content: Callable[[etree._Element], etree._Element] | None = None,
) -> etree._Element | None:
    """The assertion, signed when ``protection`` says so; None for a response without one.
    ``content`` edits the assertion before it is signed (what the IdP itself vouches for)."""
    if not spec.include_assertion:
        return None
    assertion = build_assertion(spec)
    if content is not None:
        assertion = content(assertion)
    if protection.sign_assertion and protection.key is not None:
        assertion = sign_element(
            assertion,
            protection.key,
            protection.signature,
            include_certificate=protection.include_certificate,
        )
    return assertion


def seal_assertion(
    assertion: etree._Element, protection: Protection, rng: random.Random
) -> etree._Element:
    """The assertion as the Response carries it: encrypted when ``protection`` says so."""
    if protection.encrypt_to is None:
        return assertion
    return encrypt_element(assertion, protection.encrypt_to, protection.encryption, rng)


def envelope(
    spec: ResponseSpec, payload: etree._Element | None, protection: Protection
) -> etree._Element:
    """The Response around ``payload``, signed when ``protection`` says so."""
    response = build_response_element(spec, payload)
    if protection.sign_response and protection.key is not None:
        response = sign_element(
            response,
            protection.key,
            protection.signature,
            include_certificate=protection.include_certificate,
        )
    return response


def build_response(
    spec: ResponseSpec, protection: Protection, rng: random.Random
) -> etree._Element:
    """Assertion -> signed -> encrypted -> Response -> signed, in that order (Core 6.2)."""
    assertion = signed_assertion(spec, protection)
    payload = seal_assertion(assertion, protection, rng) if assertion is not None else None
    return envelope(spec, payload, protection)


def build_response_xml(spec: ResponseSpec, protection: Protection, rng: random.Random) -> bytes:
    return to_bytes(build_response(spec, protection, rng))
