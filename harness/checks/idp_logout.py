"""Judges of the logout messages an IdP under test sent to the SP (Profiles 4.4.4, Bindings
3.4.4.1 and 3.4.5.2, Core 3.2.2): signed by a key of the IdP's metadata (HTTP-Redirect: SigAlg
and Signature over the raw query; HTTP-POST: enveloped), Destination, Issuer, InResponseTo.
As for Responses, content is judged only when its signature verified.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from harness.checks._idp_read import evidence, once
from harness.checks.idp_observations import IdpLogoutSeen
from harness.checks.model import Check, CheckFailed, CheckSkipped, Observed, cited_all
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import decode_redirect_query, verify_redirect_signature
from harness.protocol.saml.signing import verify_element
from harness.protocol.xml import parse_xml

_KINDS = ("LogoutRequest", "LogoutResponse")


@dataclass(frozen=True)
class ReadLogout:
    root: etree._Element | None
    kind: str  # "LogoutRequest" or "LogoutResponse" ("" when it did not parse)
    problem: str | None  # why it is not a logout message
    signed_by: str | None  # the metadata certificate's subject that verified it
    signature_error: str | None  # why the signature failed, or "unsigned"

    def content(self) -> etree._Element:
        if self.root is None:
            raise CheckSkipped(f"{self.problem}: nothing to judge")
        if self.signed_by is None:
            raise CheckSkipped(f"the signature failed ({self.signature_error}): content untrusted")
        return self.root


def _verify(seen: IdpLogoutSeen, root: etree._Element) -> tuple[str | None, str | None]:
    trusted = seen.idp.signing_certificates
    try:
        if seen.binding == c.BINDING_HTTP_REDIRECT:
            message = decode_redirect_query(seen.query or "")
            if message.signature is None:
                return None, "unsigned: no Signature in the query"
            certificate = verify_redirect_signature(message, trusted, allow_sha1=True)
        else:
            if root.find(c.q(c.DS, "Signature")) is None:
                return None, "unsigned: no enveloped ds:Signature"
            certificate = verify_element(root, trusted, allow_sha1=True).certificate
    except Refusal as exc:
        return None, f"{exc.reason}: {exc.message}"
    return certificate.subject.rfc4514_string(), None


def _read(seen: IdpLogoutSeen) -> ReadLogout:
    try:
        root = parse_xml(seen.xml)
    except Refusal as exc:
        return ReadLogout(None, "", f"the message does not parse ({exc.reason})", None, None)
    kind = etree.QName(root).localname if root.tag in [c.q(c.SAMLP, k) for k in _KINDS] else ""
    if not kind:
        return ReadLogout(None, "", f"{root.tag} is not a logout message", None, None)
    signed_by, error = _verify(seen, root)
    return ReadLogout(root, kind, None, signed_by, error)


def read_logout(seen: IdpLogoutSeen) -> ReadLogout:
    return once(seen, lambda: _read(seen))


def _signed(seen: IdpLogoutSeen, kind: str) -> Observed:
    read = read_logout(seen)
    if read.root is None:
        raise CheckSkipped(f"{read.problem}: nothing to verify")
    if read.kind != kind:
        raise CheckSkipped(f"a {read.kind}, not a {kind}")
    fields = evidence(binding=seen.binding, signed_by=read.signed_by)
    if read.signed_by is None:
        raise CheckFailed(
            f"the {kind} is not signed by a key of the IdP's metadata: {read.signature_error}",
            expected="a signature by a metadata key",
            observed=read.signature_error,
            evidence=fields,
        )
    return Observed(f"signed by {read.signed_by}", evidence=fields)


def request_signed(seen: IdpLogoutSeen) -> Observed:
    return _signed(seen, "LogoutRequest")


def response_signed(seen: IdpLogoutSeen) -> Observed:
    return _signed(seen, "LogoutResponse")


def destination(seen: IdpLogoutSeen) -> Observed:
    value = read_logout(seen).content().get("Destination")
    fields = evidence(Destination=value, slo=seen.sp.slo_url)
    if seen.sp.slo_url is None:
        raise CheckSkipped("the SP's metadata names no SingleLogoutService")
    if value != seen.sp.slo_url:
        raise CheckFailed(
            "a signed logout message must carry the SP's SLO endpoint as Destination",
            expected=seen.sp.slo_url,
            observed=str(value),
            evidence=fields,
        )
    return Observed(f"Destination {value}", evidence=fields)


def issuer(seen: IdpLogoutSeen) -> Observed:
    element = read_logout(seen).content().find(c.q(c.SAML, "Issuer"))
    value = (element.text or "").strip() if element is not None else None
    name_format = element.get("Format") if element is not None else None
    fields = evidence(Issuer=value, Format=name_format, entity_id=seen.idp.entity_id)
    if value != seen.idp.entity_id or name_format not in (None, c.NAMEID_ENTITY):
        raise CheckFailed(
            "the Issuer is not the IdP's entityID in entity format",
            expected=seen.idp.entity_id,
            observed=f"{value} (Format {name_format})",
            evidence=fields,
        )
    return Observed(f"Issuer {value}", evidence=fields)


def in_response_to(seen: IdpLogoutSeen) -> Observed:
    read = read_logout(seen)
    root = read.content()
    if read.kind != "LogoutResponse":
        raise CheckSkipped("a LogoutRequest answers no request")
    value = root.get("InResponseTo")
    fields = evidence(InResponseTo=value, request_id=seen.request_id)
    if value != seen.request_id:
        raise CheckFailed(
            "the LogoutResponse does not answer the SP's LogoutRequest",
            expected=seen.request_id,
            observed=str(value),
            evidence=fields,
        )
    return Observed(f"InResponseTo {value}", evidence=fields)


IDP_LOGOUT_CHECKS: tuple[Check, ...] = cited_all(
    "idp.logout.",
    (
        (
            "request-signed",
            "SAML-PROF-4.4.4.1",
            "a LogoutRequest is signed by a metadata key",
            request_signed,
        ),
        (
            "response-signed",
            "SAML-PROF-4.4.4.2",
            "a LogoutResponse is signed by a metadata key",
            response_signed,
        ),
        ("destination", "SAML-BIND-3.4.5.2", "Destination is the SP's SLO endpoint", destination),
        ("issuer", "SAML-PROF-4.4.4", "Issuer is the IdP's entityID, in entity format", issuer),
        (
            "in-response-to",
            "SAML-CORE-3.2.2",
            "a LogoutResponse answers the SP's request",
            in_response_to,
        ),
    ),
)
