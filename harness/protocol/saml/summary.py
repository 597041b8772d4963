"""What a SAML message says, read without judging it: the fields a developer looks at first
when a sign-in fails (issuer, subject, audiences, recipients, validity windows, attributes,
where it is signed and with what, how it is encrypted).

Sans-IO: bytes and keys in, a frozen :class:`MessageSummary` out. Nothing here verifies a
signature or decides anything; :mod:`.sp_validation` does that. The XML goes through the
hardened parser; an encrypted assertion is decrypted when a key is given (the summary then
carries the decrypted assertion), else its fields stay empty and ``encryption.decrypted`` is
False.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from ..keys import PrivateKey
from ..xml import parse_xml, to_bytes
from . import constants as c
from .encryption import decrypt_element
from .errors import SAMLError

_NS = {"saml": c.SAML, "samlp": c.SAMLP, "ds": c.DS, "xenc": c.XENC}


@dataclass(frozen=True)
class Window:
    """One validity window: ``where`` is Conditions, SubjectConfirmationData or
    AuthnStatement (whose end is SessionNotOnOrAfter)."""

    where: str
    not_before: dt.datetime | None
    not_on_or_after: dt.datetime | None


@dataclass(frozen=True)
class Attribute:
    name: str
    name_format: str | None
    friendly_name: str | None
    values: tuple[str, ...]


@dataclass(frozen=True)
class SignatureInfo:
    """An enveloped XML signature: ``placement`` is the signed element's local name."""

    placement: str
    algorithm: str | None  # SignatureMethod URI
    digest: str | None  # DigestMethod URI


@dataclass(frozen=True)
class EncryptionInfo:
    block_algorithm: str | None  # EncryptedData's EncryptionMethod URI
    key_transport: str | None  # EncryptedKey's EncryptionMethod URI
    decrypted: bool


@dataclass(frozen=True)
class MessageSummary:
    kind: str  # the root's local name: Response, AuthnRequest, LogoutRequest, ...
    id: str | None
    issue_instant: dt.datetime | None
    issuer: str | None
    destination: str | None
    in_response_to: str | None
    status: str | None  # the top StatusCode, then " / " and the second-level one if any
    name_id: str | None
    name_id_format: str | None
    audiences: tuple[str, ...]
    recipients: tuple[str, ...]
    windows: tuple[Window, ...]
    session_index: str | None
    authn_context_class: str | None
    attributes: tuple[Attribute, ...]
    signatures: tuple[SignatureInfo, ...]
    encryption: EncryptionInfo | None
    assertion_xml: bytes | None  # the decrypted assertion (None when not encrypted or not read)
    acs_url: str | None = None  # AuthnRequest's AssertionConsumerServiceURL
    name_id_policy: str | None = None  # AuthnRequest's NameIDPolicy Format


def instant(text: str | None) -> dt.datetime | None:
    """An xs:dateTime as UTC, or None when absent or unreadable (a summary never refuses)."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return "".join(str(part) for part in element.itertext()).strip()


def _signature(element: etree._Element) -> SignatureInfo | None:
    signature = element.find("ds:Signature", _NS)
    if signature is None:
        return None
    method = signature.find("ds:SignedInfo/ds:SignatureMethod", _NS)
    digest = signature.find("ds:SignedInfo/ds:Reference/ds:DigestMethod", _NS)
    return SignatureInfo(
        etree.QName(element).localname,
        method.get("Algorithm") if method is not None else None,
        digest.get("Algorithm") if digest is not None else None,
    )


def _encryption(encrypted: etree._Element) -> tuple[str | None, str | None]:
    block = encrypted.find("xenc:EncryptedData/xenc:EncryptionMethod", _NS)
    key = encrypted.find(".//xenc:EncryptedKey/xenc:EncryptionMethod", _NS)
    return (
        block.get("Algorithm") if block is not None else None,
        key.get("Algorithm") if key is not None else None,
    )


def _assertion(
    root: etree._Element, keys: Sequence[PrivateKey]
) -> tuple[etree._Element | None, EncryptionInfo | None]:
    if etree.QName(root).localname == "Assertion":
        return root, None
    plain = root.find("saml:Assertion", _NS)
    encrypted = root.find("saml:EncryptedAssertion", _NS)
    if encrypted is None:
        return plain, None
    block, transport = _encryption(encrypted)
    if keys:
        try:
            element = decrypt_element(encrypted, keys).element
        except SAMLError:
            return None, EncryptionInfo(block, transport, decrypted=False)
        return element, EncryptionInfo(block, transport, decrypted=True)
    return None, EncryptionInfo(block, transport, decrypted=False)


def _window(where: str, element: etree._Element, end: str = "NotOnOrAfter") -> Window:
    return Window(where, instant(element.get("NotBefore")), instant(element.get(end)))


def _windows(assertion: etree._Element) -> tuple[Window, ...]:
    windows: list[Window] = []
    conditions = assertion.find("saml:Conditions", _NS)
    if conditions is not None:
        windows.append(_window("Conditions", conditions))
    for data in assertion.iterfind("saml:Subject/saml:SubjectConfirmation/*", _NS):
        if etree.QName(data).localname == "SubjectConfirmationData":
            windows.append(_window("SubjectConfirmationData", data))
    for statement in assertion.iterfind("saml:AuthnStatement", _NS):
        if statement.get("SessionNotOnOrAfter") is not None:
            windows.append(_window("AuthnStatement", statement, "SessionNotOnOrAfter"))
    return tuple(windows)


def _attributes(assertion: etree._Element) -> tuple[Attribute, ...]:
    return tuple(
        Attribute(
            attribute.get("Name", ""),
            attribute.get("NameFormat"),
            attribute.get("FriendlyName"),
            tuple(_text(value) or "" for value in attribute.iterfind("saml:AttributeValue", _NS)),
        )
        for attribute in assertion.iterfind("saml:AttributeStatement/saml:Attribute", _NS)
    )


def _status(root: etree._Element) -> str | None:
    code = root.find("samlp:Status/samlp:StatusCode", _NS)
    if code is None:
        return None
    sub = code.find("samlp:StatusCode", _NS)
    top = code.get("Value", "")
    return f"{top} / {sub.get('Value', '')}" if sub is not None else top


def _assertion_fields(assertion: etree._Element | None) -> dict[str, object]:
    if assertion is None:
        return {
            "name_id": None,
            "name_id_format": None,
            "audiences": (),
            "recipients": (),
            "windows": (),
            "session_index": None,
            "authn_context_class": None,
            "attributes": (),
        }
    name_id = assertion.find("saml:Subject/saml:NameID", _NS)
    statement = assertion.find("saml:AuthnStatement", _NS)
    return {
        "name_id": _text(name_id),
        "name_id_format": name_id.get("Format") if name_id is not None else None,
        "audiences": tuple(
            _text(a) or ""
            for a in assertion.iterfind(
                "saml:Conditions/saml:AudienceRestriction/saml:Audience", _NS
            )
        ),
        "recipients": tuple(
            data.get("Recipient", "")
            for data in assertion.iterfind(
                "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", _NS
            )
            if data.get("Recipient") is not None
        ),
        "windows": _windows(assertion),
        "session_index": statement.get("SessionIndex") if statement is not None else None,
        "authn_context_class": _text(
            assertion.find("saml:AuthnStatement/saml:AuthnContext/saml:AuthnContextClassRef", _NS)
        ),
        "attributes": _attributes(assertion),
    }


def summarize(xml: bytes, decryption_keys: Sequence[PrivateKey] = ()) -> MessageSummary:
    """Read ``xml`` (any SAML protocol message, or an assertion); hostile XML raises the
    parser's XMLSecurityError. A key that does not decrypt leaves the assertion unread."""
    root = parse_xml(xml)
    assertion, encryption = _assertion(root, decryption_keys)
    signatures = [_signature(root)]
    if assertion is not None and assertion is not root:
        signatures.append(_signature(assertion))
    issuer = _text(root.find("saml:Issuer", _NS))
    if issuer is None and assertion is not None:
        issuer = _text(assertion.find("saml:Issuer", _NS))
    policy = root.find("samlp:NameIDPolicy", _NS)
    fields = _assertion_fields(assertion)
    logout_name_id = root.find("saml:NameID", _NS)  # a LogoutRequest names its subject here
    if logout_name_id is not None:
        fields["name_id"] = _text(logout_name_id)
        fields["name_id_format"] = logout_name_id.get("Format")
        fields["session_index"] = _text(root.find("samlp:SessionIndex", _NS))
    return MessageSummary(
        kind=etree.QName(root).localname,
        id=root.get("ID"),
        issue_instant=instant(root.get("IssueInstant")),
        issuer=issuer,
        destination=root.get("Destination"),
        in_response_to=root.get("InResponseTo"),
        status=_status(root),
        signatures=tuple(s for s in signatures if s is not None),
        encryption=encryption,
        assertion_xml=to_bytes(assertion) if encryption and assertion is not None else None,
        acs_url=root.get("AssertionConsumerServiceURL"),
        name_id_policy=policy.get("Format") if policy is not None else None,
        **fields,  # type: ignore[arg-type]
    )


def relative(moment: dt.datetime | None, origin: dt.datetime | None) -> str | None:
    """``moment`` as a signed duration from ``origin`` ("+5m", "-30s", "+1h10m"), so two
    messages issued at different times compare by their lifetimes, not their clocks."""
    if moment is None:
        return None
    if origin is None:
        return moment.isoformat()
    seconds = int((moment - origin).total_seconds())
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    parts = [
        f"{amount}{unit}"
        for amount, unit in (
            (seconds // 86400, "d"),
            (seconds % 86400 // 3600, "h"),
            (seconds % 3600 // 60, "m"),
            (seconds % 60, "s"),
        )
        if amount
    ]
    return sign + ("".join(parts) or "0s")
