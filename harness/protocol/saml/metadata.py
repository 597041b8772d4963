"""SAML 2.0 metadata (SAML Metadata 2.3-2.4) for IdPs and SPs: build and parse.

Parsing takes bytes from an untrusted source and returns plain values; certificates come back
as loaded objects so callers never re-parse PEM per message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree

from ..keys import KeyLoadError, certificate_base64, load_certificate
from ..xml import XMLSecurityError, parse_xml, to_bytes
from . import constants as c
from .errors import MetadataError

# The bindings a browser can carry a logout message on, most preferred first. SOAP and
# Artifact need a back channel: a browser form posted to a SOAP endpoint is refused (Shibboleth
# SP answers 500, mod_auth_mellon 400) and the session at that SP stays open.
FRONT_CHANNEL_BINDINGS: tuple[str, ...] = (c.BINDING_HTTP_REDIRECT, c.BINDING_HTTP_POST)


@dataclass(frozen=True)
class Endpoint:
    binding: str
    location: str
    index: int | None = None
    is_default: bool | None = None
    response_location: str | None = None


@dataclass(frozen=True)
class IdPMetadata:
    entity_id: str
    signing_certificates: tuple[x509.Certificate, ...]
    sso_endpoints: tuple[Endpoint, ...]
    slo_endpoints: tuple[Endpoint, ...] = ()
    nameid_formats: tuple[str, ...] = ()
    want_authn_requests_signed: bool = False
    encryption_certificates: tuple[x509.Certificate, ...] = ()

    def sso_endpoint(self, binding: str) -> Endpoint | None:
        return next((e for e in self.sso_endpoints if e.binding == binding), None)


@dataclass(frozen=True)
class SPMetadata:
    entity_id: str
    acs_endpoints: tuple[Endpoint, ...]
    slo_endpoints: tuple[Endpoint, ...] = ()
    signing_certificates: tuple[x509.Certificate, ...] = ()
    encryption_certificates: tuple[x509.Certificate, ...] = ()
    want_assertions_signed: bool = False
    authn_requests_signed: bool = False
    nameid_formats: tuple[str, ...] = ()
    encryption_methods: tuple[str, ...] = field(default=())

    def default_acs(self) -> Endpoint:
        """Metadata 2.2.3: isDefault="true", else the first not marked false, else the first."""
        if not self.acs_endpoints:
            raise MetadataError("no-acs", f"SP {self.entity_id} has no ACS", "SAML-MD-2.4.4")
        for endpoint in self.acs_endpoints:
            if endpoint.is_default:
                return endpoint
        for endpoint in self.acs_endpoints:
            if endpoint.is_default is None:
                return endpoint
        return self.acs_endpoints[0]

    def acs_by_index(self, index: int) -> Endpoint | None:
        return next((e for e in self.acs_endpoints if e.index == index), None)

    def acs_by_location(self, location: str) -> Endpoint | None:
        return next((e for e in self.acs_endpoints if e.location == location), None)

    def slo_endpoint(self, binding: str | None = None) -> Endpoint | None:
        for endpoint in self.slo_endpoints:
            if binding is None or endpoint.binding == binding:
                return endpoint
        return None

    def front_channel_slo_endpoint(self) -> Endpoint | None:
        """The SingleLogoutService a browser can be sent to: HTTP-Redirect where the SP lists
        one, else HTTP-POST; None when it lists only back-channel ones (SOAP, Artifact) or none,
        so an IdP (or the harness deciding whether a front-channel logout can run) skips it."""
        for binding in FRONT_CHANNEL_BINDINGS:
            endpoint = self.slo_endpoint(binding)
            if endpoint is not None:
                return endpoint
        return None


# ---------------------------------------------------------------------------- building


def _md(tag: str) -> str:
    return c.q(c.MD, tag)


def _key_descriptor(parent: etree._Element, use: str | None, certificate: x509.Certificate) -> None:
    key_descriptor = etree.SubElement(parent, _md("KeyDescriptor"))
    if use:
        key_descriptor.set("use", use)
    key_info = etree.SubElement(key_descriptor, c.q(c.DS, "KeyInfo"))
    x509_data = etree.SubElement(key_info, c.q(c.DS, "X509Data"))
    etree.SubElement(x509_data, c.q(c.DS, "X509Certificate")).text = certificate_base64(certificate)


def _endpoint(parent: etree._Element, tag: str, endpoint: Endpoint) -> None:
    element = etree.SubElement(parent, _md(tag))
    element.set("Binding", endpoint.binding)
    element.set("Location", endpoint.location)
    if endpoint.response_location:
        element.set("ResponseLocation", endpoint.response_location)
    if endpoint.index is not None:
        element.set("index", str(endpoint.index))
    if endpoint.is_default is not None:
        element.set("isDefault", "true" if endpoint.is_default else "false")


def _nsmap() -> dict[str, str]:
    return {"md": c.MD, "ds": c.DS}


def build_idp_metadata_element(
    metadata: IdPMetadata, *, valid_until: str | None = None, document_id: str | None = None
) -> etree._Element:
    root = etree.Element(_md("EntityDescriptor"), nsmap=_nsmap())
    root.set("entityID", metadata.entity_id)
    if document_id:
        root.set("ID", document_id)
    if valid_until:
        root.set("validUntil", valid_until)
    idp = etree.SubElement(root, _md("IDPSSODescriptor"))
    idp.set("WantAuthnRequestsSigned", "true" if metadata.want_authn_requests_signed else "false")
    idp.set("protocolSupportEnumeration", c.SAMLP)
    for certificate in metadata.signing_certificates:
        _key_descriptor(idp, "signing", certificate)
    for certificate in metadata.encryption_certificates:
        _key_descriptor(idp, "encryption", certificate)
    # Schema order: KeyDescriptor, SingleLogoutService, NameIDFormat, SingleSignOnService.
    for endpoint in metadata.slo_endpoints:
        _endpoint(idp, "SingleLogoutService", endpoint)
    for name_format in metadata.nameid_formats:
        etree.SubElement(idp, _md("NameIDFormat")).text = name_format
    for endpoint in metadata.sso_endpoints:
        _endpoint(idp, "SingleSignOnService", endpoint)
    return root


def build_idp_metadata(metadata: IdPMetadata, *, valid_until: str | None = None) -> bytes:
    return to_bytes(build_idp_metadata_element(metadata, valid_until=valid_until), pretty=True)


def build_sp_metadata(metadata: SPMetadata) -> bytes:
    root = etree.Element(_md("EntityDescriptor"), nsmap=_nsmap())
    root.set("entityID", metadata.entity_id)
    sp = etree.SubElement(root, _md("SPSSODescriptor"))
    sp.set("AuthnRequestsSigned", "true" if metadata.authn_requests_signed else "false")
    sp.set("WantAssertionsSigned", "true" if metadata.want_assertions_signed else "false")
    sp.set("protocolSupportEnumeration", c.SAMLP)
    for certificate in metadata.signing_certificates:
        _key_descriptor(sp, "signing", certificate)
    for certificate in metadata.encryption_certificates:
        _key_descriptor(sp, "encryption", certificate)
    for endpoint in metadata.slo_endpoints:
        _endpoint(sp, "SingleLogoutService", endpoint)
    for name_format in metadata.nameid_formats:
        etree.SubElement(sp, _md("NameIDFormat")).text = name_format
    for position, endpoint in enumerate(metadata.acs_endpoints):
        indexed = endpoint if endpoint.index is not None else _with_index(endpoint, position)
        _endpoint(sp, "AssertionConsumerService", indexed)
    return to_bytes(root, pretty=True)


def _with_index(endpoint: Endpoint, index: int) -> Endpoint:
    return Endpoint(endpoint.binding, endpoint.location, index, endpoint.is_default)


# ---------------------------------------------------------------------------- parsing


def _parse_root(data: bytes) -> etree._Element:
    try:
        return parse_xml(data, max_bytes=5_000_000)
    except XMLSecurityError as exc:
        raise MetadataError(exc.reason, f"metadata refused: {exc.message}", exc.rule) from exc


def _entity_descriptors(root: etree._Element) -> list[etree._Element]:
    if root.tag == _md("EntityDescriptor"):
        return [root]
    if root.tag == _md("EntitiesDescriptor"):
        return list(root.iter(_md("EntityDescriptor")))
    raise MetadataError(
        "not-metadata", f"root element is {root.tag}, not md:EntityDescriptor", "SAML-MD-2.3.2"
    )


def _certificates(descriptor: etree._Element, use: str) -> tuple[x509.Certificate, ...]:
    found: list[x509.Certificate] = []
    for key_descriptor in descriptor.findall(_md("KeyDescriptor")):
        # A KeyDescriptor without "use" serves both signing and encryption (Metadata 2.4.1.1).
        if key_descriptor.get("use") not in (None, use):
            continue
        for cert_element in key_descriptor.iter(c.q(c.DS, "X509Certificate")):
            try:
                found.append(load_certificate(cert_element.text or ""))
            except KeyLoadError as exc:
                raise MetadataError("bad-certificate", str(exc), "SAML-MD-2.4.1.1") from exc
    return tuple(found)


def _endpoints(descriptor: etree._Element, tag: str) -> tuple[Endpoint, ...]:
    result: list[Endpoint] = []
    for element in descriptor.findall(_md(tag)):
        binding, location = element.get("Binding"), element.get("Location")
        if not binding or not location:
            raise MetadataError("bad-endpoint", f"{tag} lacks Binding or Location", "SAML-MD-2.2.2")
        index_text = element.get("index")
        try:
            index = int(index_text) if index_text is not None else None
        except ValueError as exc:
            raise MetadataError(
                "bad-endpoint", f"{tag} index {index_text!r}", "SAML-MD-2.2.3"
            ) from exc
        default_text = element.get("isDefault")
        is_default = None if default_text is None else default_text in ("true", "1")
        result.append(
            Endpoint(binding, location, index, is_default, element.get("ResponseLocation"))
        )
    return tuple(result)


def _boolean(element: etree._Element, name: str) -> bool:
    return element.get(name, "false") in ("true", "1")


def _formats(descriptor: etree._Element) -> tuple[str, ...]:
    return tuple((e.text or "").strip() for e in descriptor.findall(_md("NameIDFormat")))


def _entity_id(entity: etree._Element) -> str:
    entity_id = entity.get("entityID")
    if not entity_id:
        raise MetadataError("no-entity-id", "EntityDescriptor lacks entityID", "SAML-MD-2.3.2")
    return entity_id


def parse_sp_metadata_all(data: bytes) -> list[SPMetadata]:
    result: list[SPMetadata] = []
    for entity in _entity_descriptors(_parse_root(data)):
        descriptor = entity.find(_md("SPSSODescriptor"))
        if descriptor is None:
            continue
        acs = _endpoints(descriptor, "AssertionConsumerService")
        if not acs:
            raise MetadataError(
                "no-acs", "SPSSODescriptor has no AssertionConsumerService", "SAML-MD-2.4.4"
            )
        methods = tuple(
            e.get("Algorithm", "")
            for key_descriptor in descriptor.findall(_md("KeyDescriptor"))
            for e in key_descriptor.findall(_md("EncryptionMethod"))
        )
        result.append(
            SPMetadata(
                entity_id=_entity_id(entity),
                acs_endpoints=acs,
                slo_endpoints=_endpoints(descriptor, "SingleLogoutService"),
                signing_certificates=_certificates(descriptor, "signing"),
                encryption_certificates=_certificates(descriptor, "encryption"),
                want_assertions_signed=_boolean(descriptor, "WantAssertionsSigned"),
                authn_requests_signed=_boolean(descriptor, "AuthnRequestsSigned"),
                nameid_formats=_formats(descriptor),
                encryption_methods=methods,
            )
        )
    if not result:
        raise MetadataError("no-sp", "metadata holds no SPSSODescriptor", "SAML-MD-2.4.4")
    return result


def parse_sp_metadata(data: bytes) -> SPMetadata:
    return parse_sp_metadata_all(data)[0]


def parse_idp_metadata_all(data: bytes) -> list[IdPMetadata]:
    result: list[IdPMetadata] = []
    for entity in _entity_descriptors(_parse_root(data)):
        descriptor = entity.find(_md("IDPSSODescriptor"))
        if descriptor is None:
            continue
        sso = _endpoints(descriptor, "SingleSignOnService")
        if not sso:
            raise MetadataError(
                "no-sso", "IDPSSODescriptor has no SingleSignOnService", "SAML-MD-2.4.3"
            )
        result.append(
            IdPMetadata(
                entity_id=_entity_id(entity),
                signing_certificates=_certificates(descriptor, "signing"),
                sso_endpoints=sso,
                slo_endpoints=_endpoints(descriptor, "SingleLogoutService"),
                nameid_formats=_formats(descriptor),
                want_authn_requests_signed=_boolean(descriptor, "WantAuthnRequestsSigned"),
                encryption_certificates=_certificates(descriptor, "encryption"),
            )
        )
    if not result:
        raise MetadataError("no-idp", "metadata holds no IDPSSODescriptor", "SAML-MD-2.4.3")
    return result


def parse_idp_metadata(data: bytes) -> IdPMetadata:
    return parse_idp_metadata_all(data)[0]
