"""samlp:AuthnRequest (SAML Core 3.4.1; Profiles 4.1.4.1): build and parse."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lxml import etree

from ..xml import to_bytes
from . import constants as c
from ._common import (
    PROTOCOL_NSMAP,
    boolean_attribute,
    issuer_element,
    parse_header,
    parse_message,
    sub,
)
from .errors import SAMLError
from .ids import format_instant


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    issue_instant: dt.datetime
    issuer: str
    destination: str | None = None
    acs_url: str | None = None
    acs_index: int | None = None
    protocol_binding: str | None = None
    force_authn: bool = False
    is_passive: bool = False
    nameid_format: str | None = None
    allow_create: bool | None = None
    sp_name_qualifier: str | None = None
    requested_authn_contexts: tuple[str, ...] = ()
    authn_context_comparison: str | None = None
    provider_name: str | None = None
    signed: bool = field(default=False, compare=False)


def build_authn_request(request: AuthnRequest) -> etree._Element:
    root = etree.Element(c.q(c.SAMLP, "AuthnRequest"), nsmap=PROTOCOL_NSMAP)
    root.set("ID", request.id)
    root.set("Version", c.VERSION)
    root.set("IssueInstant", format_instant(request.issue_instant))
    if request.destination:
        root.set("Destination", request.destination)
    if request.acs_url:
        root.set("AssertionConsumerServiceURL", request.acs_url)
    if request.acs_index is not None:
        root.set("AssertionConsumerServiceIndex", str(request.acs_index))
    if request.protocol_binding:
        root.set("ProtocolBinding", request.protocol_binding)
    if request.force_authn:
        root.set("ForceAuthn", "true")
    if request.is_passive:
        root.set("IsPassive", "true")
    if request.provider_name:
        root.set("ProviderName", request.provider_name)
    issuer_element(root, request.issuer)
    if request.nameid_format or request.allow_create is not None or request.sp_name_qualifier:
        policy = sub(root, c.SAMLP, "NameIDPolicy")
        if request.nameid_format:
            policy.set("Format", request.nameid_format)
        if request.sp_name_qualifier:
            policy.set("SPNameQualifier", request.sp_name_qualifier)
        if request.allow_create is not None:
            policy.set("AllowCreate", "true" if request.allow_create else "false")
    if request.requested_authn_contexts:
        context = sub(root, c.SAMLP, "RequestedAuthnContext")
        context.set("Comparison", request.authn_context_comparison or "exact")
        for class_ref in request.requested_authn_contexts:
            sub(context, c.SAML, "AuthnContextClassRef", class_ref)
    return root


def build_authn_request_xml(request: AuthnRequest) -> bytes:
    return to_bytes(build_authn_request(request))


def parse_authn_request(data: bytes) -> AuthnRequest:
    """Parse an AuthnRequest from untrusted bytes; SAMLError names the rule it breaks.

    The signature is not checked here: the binding decides how (query or enveloped).
    """
    root = parse_message(data, "AuthnRequest")
    header = parse_header(root, issuer_required=True)
    acs_url = root.get("AssertionConsumerServiceURL")
    index_text = root.get("AssertionConsumerServiceIndex")
    binding = root.get("ProtocolBinding")
    acs_index: int | None = None
    if index_text is not None:
        try:
            acs_index = int(index_text)
        except ValueError as exc:
            raise SAMLError(
                "bad-acs-index", f"AssertionConsumerServiceIndex {index_text!r}", "SAML-CORE-3.4.1"
            ) from exc
        if acs_url is not None or binding is not None:
            raise SAMLError(
                "acs-index-and-url",
                "AssertionConsumerServiceIndex is mutually exclusive with "
                "AssertionConsumerServiceURL and ProtocolBinding",
                "SAML-CORE-3.4.1",
            )
    force_authn = boolean_attribute(root, "ForceAuthn")
    is_passive = boolean_attribute(root, "IsPassive")
    policy = root.find(c.q(c.SAMLP, "NameIDPolicy"))
    nameid_format = allow_create = sp_name_qualifier = None
    if policy is not None:
        nameid_format = policy.get("Format")
        sp_name_qualifier = policy.get("SPNameQualifier")
        if policy.get("AllowCreate") is not None:
            allow_create = boolean_attribute(policy, "AllowCreate")
    contexts: tuple[str, ...] = ()
    comparison = None
    requested = root.find(c.q(c.SAMLP, "RequestedAuthnContext"))
    if requested is not None:
        comparison = requested.get("Comparison", "exact")
        if comparison not in ("exact", "minimum", "maximum", "better"):
            raise SAMLError("bad-comparison", f"Comparison {comparison!r}", "SAML-CORE-3.3.2.2.1")
        contexts = tuple(
            (e.text or "").strip() for e in requested.findall(c.q(c.SAML, "AuthnContextClassRef"))
        )
    return AuthnRequest(
        id=header.id,
        issue_instant=header.issue_instant,
        issuer=header.issuer or "",
        destination=header.destination,
        acs_url=acs_url,
        acs_index=acs_index,
        protocol_binding=binding,
        force_authn=force_authn,
        is_passive=is_passive,
        nameid_format=nameid_format,
        allow_create=allow_create,
        sp_name_qualifier=sp_name_qualifier,
        requested_authn_contexts=contexts,
        authn_context_comparison=comparison,
        provider_name=root.get("ProviderName"),
        signed=root.find(c.q(c.DS, "Signature")) is not None,
    )
