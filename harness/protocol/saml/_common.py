"""Helpers shared by the message modules: element building and the RequestAbstractType checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree

from ..xml import parse_xml
from . import constants as c
from .errors import SAMLError
from .ids import parse_instant

PROTOCOL_NSMAP = {"samlp": c.SAMLP, "saml": c.SAML}


def sub(
    parent: etree._Element, namespace: str, tag: str, text: str | None = None
) -> etree._Element:
    element = etree.SubElement(parent, c.q(namespace, tag))
    if text is not None:
        element.text = text
    return element


def issuer_element(parent: etree._Element, issuer: str, *, entity_format: bool = False) -> None:
    element = sub(parent, c.SAML, "Issuer", issuer)
    if entity_format:
        element.set("Format", c.NAMEID_ENTITY)


def parse_message(data: bytes, expected: str) -> etree._Element:
    """Parse with the hardened parser and check the root is samlp:``expected``."""
    root = parse_xml(data)  # hostile XML: an XMLSecurityError, a Refusal like SAMLError
    if root.tag != c.q(c.SAMLP, expected):
        raise SAMLError(
            "wrong-message",
            f"expected samlp:{expected}, got {etree.QName(root).localname}",
            "SAML-CORE-3.2.1",
        )
    return root


@dataclass(frozen=True)
class MessageHeader:
    """The attributes every SAML protocol message carries (Core 3.2.1, 3.2.2)."""

    id: str
    issue_instant: dt.datetime
    destination: str | None
    issuer: str | None


def parse_header(root: etree._Element, *, issuer_required: bool) -> MessageHeader:
    version = root.get("Version")
    if version != c.VERSION:
        raise SAMLError("version-mismatch", f"Version is {version!r}, not 2.0", "SAML-CORE-3.2.1")
    message_id = root.get("ID")
    if not message_id:
        raise SAMLError("no-id", "the message has no ID", "SAML-CORE-3.2.1")
    instant = parse_instant(root.get("IssueInstant"), field="IssueInstant")
    issuer_el = root.find(c.q(c.SAML, "Issuer"))
    issuer = (issuer_el.text or "").strip() if issuer_el is not None else None
    if issuer_required and not issuer:
        raise SAMLError("no-issuer", "the message has no Issuer", "SAML-PROF-4.1.4.1")
    if issuer_el is not None and issuer_el.get("Format") not in (None, c.NAMEID_ENTITY):
        raise SAMLError("bad-issuer-format", "Issuer Format is not entity", "SAML-PROF-4.1.4.1")
    return MessageHeader(message_id, instant, root.get("Destination"), issuer or None)


def boolean_attribute(element: etree._Element, name: str) -> bool:
    value = element.get(name)
    if value is None:
        return False
    # xs:boolean is lower-case, but .NET-built SPs write "True" and Entra/ADFS accept it; an
    # IdP stand-in that refused it would fail SPs the real IdPs serve.
    normalised = value.strip().lower()
    if normalised not in ("true", "false", "1", "0"):
        raise SAMLError("bad-boolean", f"{name}={value!r} is not xs:boolean", "SAML-CORE-3.4.1")
    return normalised in ("true", "1")
