"""The IdP's own metadata: its entityID, SSO and SLO endpoints and every published key."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from cryptography import x509

from harness.protocol.saml import constants as c
from harness.protocol.saml.metadata import (
    Endpoint,
    IdPMetadata,
    build_idp_metadata,
    build_idp_metadata_element,
)
from harness.protocol.saml.signing import sign_element
from harness.protocol.xml import to_bytes

from .identity import IdPIdentity


def idp_metadata(identity: IdPIdentity, certificates: Sequence[x509.Certificate]) -> IdPMetadata:
    def both(url: str) -> tuple[Endpoint, ...]:
        return (Endpoint(c.BINDING_HTTP_REDIRECT, url), Endpoint(c.BINDING_HTTP_POST, url))

    return IdPMetadata(
        entity_id=identity.entity_id,
        signing_certificates=tuple(certificates),
        sso_endpoints=both(identity.sso_url),
        slo_endpoints=both(identity.slo_url),
        nameid_formats=identity.preset.metadata_name_id_formats,
        want_authn_requests_signed=identity.want_authn_requests_signed,
    )


def metadata_xml(identity: IdPIdentity, certificates: Sequence[x509.Certificate]) -> bytes:
    metadata = idp_metadata(identity, certificates)
    if not identity.preset.sign_metadata:
        return build_idp_metadata(metadata)
    # Signed like Entra's federation metadata; not pretty-printed, which would break it.
    document_id = "_" + hashlib.sha256(identity.entity_id.encode()).hexdigest()[:40]
    root = build_idp_metadata_element(metadata, document_id=document_id)
    return to_bytes(sign_element(root, identity.signing_key, identity.signature_choice()))
