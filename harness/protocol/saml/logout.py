"""samlp:LogoutRequest and samlp:LogoutResponse (SAML Core 3.7; Profiles 4.4): build and parse."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree

from . import constants as c
from ._common import PROTOCOL_NSMAP, issuer_element, parse_header, parse_message, sub
from .errors import SAMLError
from .ids import format_instant, parse_instant


@dataclass(frozen=True)
class LogoutRequest:
    id: str
    issue_instant: dt.datetime
    issuer: str
    name_id: str
    name_id_format: str | None = None
    sp_name_qualifier: str | None = None
    session_indexes: tuple[str, ...] = ()
    destination: str | None = None
    not_on_or_after: dt.datetime | None = None
    reason: str | None = None
    signed: bool = False


@dataclass(frozen=True)
class LogoutResponse:
    id: str
    issue_instant: dt.datetime
    issuer: str
    in_response_to: str | None
    status_code: str = c.STATUS_SUCCESS
    destination: str | None = None
    status_message: str | None = None
    signed: bool = False


def build_logout_request(request: LogoutRequest) -> etree._Element:
    root = etree.Element(c.q(c.SAMLP, "LogoutRequest"), nsmap=PROTOCOL_NSMAP)
    root.set("ID", request.id)
    root.set("Version", c.VERSION)
    root.set("IssueInstant", format_instant(request.issue_instant))
    if request.destination:
        root.set("Destination", request.destination)
    if request.not_on_or_after:
        root.set("NotOnOrAfter", format_instant(request.not_on_or_after))
    if request.reason:
        root.set("Reason", request.reason)
    issuer_element(root, request.issuer)
    name_id = sub(root, c.SAML, "NameID", request.name_id)
    if request.name_id_format:
        name_id.set("Format", request.name_id_format)
    if request.sp_name_qualifier:
        name_id.set("SPNameQualifier", request.sp_name_qualifier)
    for index in request.session_indexes:
        sub(root, c.SAMLP, "SessionIndex", index)
    return root


def parse_logout_request(data: bytes) -> LogoutRequest:
    root = parse_message(data, "LogoutRequest")
    header = parse_header(root, issuer_required=True)
    name_id = root.find(c.q(c.SAML, "NameID"))
    if name_id is None:
        if root.find(c.q(c.SAML, "EncryptedID")) is not None:
            raise SAMLError("encrypted-id", "EncryptedID is not supported here", "SAML-CORE-3.7.1")
        raise SAMLError("no-name-id", "LogoutRequest has no NameID", "SAML-CORE-3.7.1")
    not_on_or_after = root.get("NotOnOrAfter")
    return LogoutRequest(
        id=header.id,
        issue_instant=header.issue_instant,
        issuer=header.issuer or "",
        name_id=(name_id.text or "").strip(),
        name_id_format=name_id.get("Format"),
        sp_name_qualifier=name_id.get("SPNameQualifier"),
        session_indexes=tuple(
            (e.text or "").strip() for e in root.findall(c.q(c.SAMLP, "SessionIndex"))
        ),
        destination=header.destination,
        not_on_or_after=(
            parse_instant(not_on_or_after, field="NotOnOrAfter") if not_on_or_after else None
        ),
        reason=root.get("Reason"),
        signed=root.find(c.q(c.DS, "Signature")) is not None,
    )


def build_logout_response(response: LogoutResponse) -> etree._Element:
    root = etree.Element(c.q(c.SAMLP, "LogoutResponse"), nsmap=PROTOCOL_NSMAP)
    root.set("ID", response.id)
    root.set("Version", c.VERSION)
    root.set("IssueInstant", format_instant(response.issue_instant))
    if response.destination:
        root.set("Destination", response.destination)
    if response.in_response_to:
        root.set("InResponseTo", response.in_response_to)
    issuer_element(root, response.issuer)
    status = sub(root, c.SAMLP, "Status")
    sub(status, c.SAMLP, "StatusCode").set("Value", response.status_code)
    if response.status_message:
        sub(status, c.SAMLP, "StatusMessage", response.status_message)
    return root


def parse_logout_response(data: bytes) -> LogoutResponse:
    root = parse_message(data, "LogoutResponse")
    header = parse_header(root, issuer_required=False)
    code = root.find(f"{c.q(c.SAMLP, 'Status')}/{c.q(c.SAMLP, 'StatusCode')}")
    if code is None or not code.get("Value"):
        raise SAMLError("no-status", "LogoutResponse has no StatusCode", "SAML-CORE-3.2.2")
    message = root.find(f"{c.q(c.SAMLP, 'Status')}/{c.q(c.SAMLP, 'StatusMessage')}")
    return LogoutResponse(
        id=header.id,
        issue_instant=header.issue_instant,
        issuer=header.issuer or "",
        in_response_to=root.get("InResponseTo"),
        status_code=code.get("Value", ""),
        destination=header.destination,
        status_message=message.text if message is not None else None,
        signed=root.find(c.q(c.DS, "Signature")) is not None,
    )
