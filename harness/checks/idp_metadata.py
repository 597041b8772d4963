"""Judges of an IdP's metadata document (SAML Metadata 2.2-2.4): an IDPSSODescriptor, an
absolute entityID, signing certificates that have not expired, SSO and SLO endpoints on
front-channel bindings and absolute URLs (https: plain http is a SHOULD broken), and a
validUntil still ahead. Each judge reads :class:`IdpMetadataSeen`, parsed once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509

from harness.checks._idp_read import evidence, once
from harness.checks.idp_observations import IdpMetadataSeen
from harness.checks.model import Check, CheckFailed, CheckSkipped, CheckWarned, Observed, cited_all
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.ids import parse_instant
from harness.protocol.saml.metadata import IdPMetadata, parse_idp_metadata
from harness.protocol.xml import parse_xml

_SOON = dt.timedelta(days=30)
_FRONT_CHANNEL = (c.BINDING_HTTP_REDIRECT, c.BINDING_HTTP_POST)
_SLO_BINDINGS = (*_FRONT_CHANNEL, c.BINDING_SOAP, c.BINDING_HTTP_ARTIFACT)


@dataclass(frozen=True)
class ReadMetadata:
    metadata: IdPMetadata | None
    problem: str | None
    valid_until: tuple[str, ...]  # every validUntil on the document, entity and role

    def parsed(self) -> IdPMetadata:
        if self.metadata is None:
            raise CheckSkipped(f"{self.problem}: nothing more to judge")
        return self.metadata


def _read(seen: IdpMetadataSeen) -> ReadMetadata:
    try:
        metadata = parse_idp_metadata(seen.xml)
        root = parse_xml(seen.xml, max_bytes=5_000_000)
    except Refusal as exc:
        return ReadMetadata(None, f"{exc.message} ({exc.rule})", ())
    found = tuple(
        e.get("validUntil", "")
        for e in root.iter()
        if isinstance(e.tag, str) and e.get("validUntil") is not None
    )
    return ReadMetadata(metadata, None, found)


def read_metadata(seen: IdpMetadataSeen) -> ReadMetadata:
    return once(seen, lambda: _read(seen))


def idp_descriptor(seen: IdpMetadataSeen) -> Observed:
    read = read_metadata(seen)
    if read.metadata is None:
        raise CheckFailed(
            f"not usable IdP metadata: {read.problem}",
            expected="an EntityDescriptor with an IDPSSODescriptor and a SingleSignOnService",
            evidence=evidence(source=seen.source),
        )
    return Observed(f"an IDPSSODescriptor for {read.metadata.entity_id}")


def entity_id(seen: IdpMetadataSeen) -> Observed:
    value = read_metadata(seen).parsed().entity_id
    parts = urlsplit(value)
    fields = evidence(entityID=value)
    # A URN (urn:...) is absolute too: a scheme is what makes a URI absolute (RFC 3986 4.3).
    absolute = bool(parts.scheme) and (parts.scheme == "urn" or bool(parts.netloc))
    if not absolute or len(value) > 1024:
        raise CheckFailed(
            "the entityID is not an absolute URI of at most 1024 characters",
            expected="an absolute URI",
            observed=value,
            evidence=fields,
        )
    return Observed(f"entityID {value}", evidence=fields)


def _not_after(certificate: x509.Certificate) -> dt.datetime:
    return certificate.not_valid_after_utc


def signing_certificates(seen: IdpMetadataSeen) -> Observed:
    certificates = read_metadata(seen).parsed().signing_certificates
    ends = [_not_after(cert) for cert in certificates]
    fields = evidence(not_after=[end.isoformat() for end in ends], now=seen.now.isoformat())
    if not certificates:
        raise CheckFailed("no signing certificate", expected="at least one", evidence=fields)
    if any(end <= seen.now for end in ends):
        raise CheckFailed(
            "a signing certificate has expired",
            expected="certificates valid now",
            observed=min(ends).isoformat(),
            evidence=fields,
        )
    if any(end <= seen.now + _SOON for end in ends):
        raise CheckWarned(
            f"a signing certificate expires within {_SOON.days} days: roll the key over",
            expected=f"valid beyond {_SOON.days} days",
            observed=min(ends).isoformat(),
            evidence=fields,
        )
    return Observed(f"{len(certificates)} signing certificate(s)", evidence=fields)


def _absolute(location: str) -> bool:
    parts = urlsplit(location)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def sso_endpoints(seen: IdpMetadataSeen) -> Observed:
    endpoints = read_metadata(seen).parsed().sso_endpoints
    fields = evidence(sso=[(e.binding, e.location) for e in endpoints])
    usable = [e for e in endpoints if e.binding in _FRONT_CHANNEL and _absolute(e.location)]
    if not usable:
        raise CheckFailed(
            "no SingleSignOnService on HTTP-Redirect or HTTP-POST at an absolute URL",
            expected="HTTP-Redirect and/or HTTP-POST at an http(s) URL",
            observed=str(fields["sso"]),
            evidence=fields,
        )
    return Observed(f"SSO by {', '.join(e.binding.rsplit(':', 1)[-1] for e in usable)}")


def slo_endpoints(seen: IdpMetadataSeen) -> Observed:
    endpoints = read_metadata(seen).parsed().slo_endpoints
    if not endpoints:
        raise CheckSkipped("the IdP offers no single logout")
    fields = evidence(slo=[(e.binding, e.location) for e in endpoints])
    wrong = [e for e in endpoints if e.binding not in _SLO_BINDINGS or not _absolute(e.location)]
    if wrong:
        raise CheckFailed(
            "a SingleLogoutService with an unknown binding or a relative Location",
            expected="a SAML binding at an absolute URL",
            observed=str([(e.binding, e.location) for e in wrong]),
            evidence=fields,
        )
    return Observed(f"{len(endpoints)} SLO endpoint(s)", evidence=fields)


def endpoints_tls(seen: IdpMetadataSeen) -> Observed:
    metadata = read_metadata(seen).parsed()
    plain = [
        e.location
        for e in (*metadata.sso_endpoints, *metadata.slo_endpoints)
        if urlsplit(e.location).scheme == "http"
    ]
    if plain:
        raise CheckFailed(
            "an endpoint over plain http",
            expected="https",
            observed=", ".join(plain),
            evidence=evidence(http=plain),
        )
    return Observed("every endpoint on https")


def valid_until(seen: IdpMetadataSeen) -> Observed:
    read = read_metadata(seen)
    read.parsed()
    if not read.valid_until:
        raise CheckSkipped("the metadata has no validUntil")
    fields = evidence(validUntil=list(read.valid_until), now=seen.now.isoformat())
    try:
        ends = [parse_instant(value, field="validUntil") for value in read.valid_until]
    except Refusal as exc:
        raise CheckFailed(exc.message, expected="an xs:dateTime", evidence=fields) from exc
    if min(ends) <= seen.now:
        raise CheckFailed(
            "the metadata's validUntil has passed",
            expected=f"after {seen.now.isoformat()}",
            observed=min(ends).isoformat(),
            evidence=fields,
        )
    return Observed(f"valid until {min(ends).isoformat()}", evidence=fields)


IDP_METADATA_CHECKS: tuple[Check, ...] = cited_all(
    "idp.metadata.",
    (
        ("idp-descriptor", "SAML-MD-2.4.3", "the metadata has an IDPSSODescriptor", idp_descriptor),
        ("entity-id", "SAML-MD-2.2.1", "the entityID is an absolute URI", entity_id),
        (
            "signing-certificates",
            "SAML-MD-2.4.1.1",
            "signing certificates, none expired (WARN within 30 days)",
            signing_certificates,
        ),
        ("sso-endpoints", "SAML-PROF-4.1.3.1", "SSO on HTTP-Redirect or HTTP-POST", sso_endpoints),
        (
            "slo-endpoints",
            "SAML-MD-2.2.2",
            "SLO endpoints: a binding and a Location",
            slo_endpoints,
        ),
        ("endpoints-tls", "IDP-TLS", "the IdP's endpoints are on https", endpoints_tls),
        ("valid-until", "SAML-MD-2.4.1", "the metadata's validUntil is ahead", valid_until),
    ),
)
