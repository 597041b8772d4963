"""SP registrations: an SP's metadata plus per-SP settings that override the preset."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.protocol.keys import certificate_base64
from harness.protocol.saml import constants as c
from harness.protocol.saml.metadata import Endpoint, SPMetadata


@dataclass
class SPSettings:
    """Per-SP overrides; None means "the preset decides"."""

    name_id_format: str | None = None
    sign_assertion: bool | None = None
    sign_response: bool | None = None
    signature_algorithm: str | None = None
    encrypt: bool | None = None  # None: encrypt when the metadata has an encryption key
    encryption_block: str | None = None
    encryption_transport: str | None = None
    allow_idp_initiated: bool = True
    attributes: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ServiceProvider:
    metadata: SPMetadata
    settings: SPSettings = field(default_factory=SPSettings)

    @property
    def entity_id(self) -> str:
        return self.metadata.entity_id

    def post_acs_endpoints(self) -> list[Endpoint]:
        return [e for e in self.metadata.acs_endpoints if e.binding == c.BINDING_HTTP_POST]

    def to_json(self) -> dict[str, object]:
        m, s = self.metadata, self.settings
        return {
            "entityID": m.entity_id,
            "acs": [
                {
                    "binding": e.binding,
                    "location": e.location,
                    "index": e.index,
                    "isDefault": e.is_default,
                }
                for e in m.acs_endpoints
            ],
            "slo": [
                {
                    "binding": e.binding,
                    "location": e.location,
                    "responseLocation": e.response_location,
                }
                for e in m.slo_endpoints
            ],
            "want_assertions_signed": m.want_assertions_signed,
            "authn_requests_signed": m.authn_requests_signed,
            "signing_certificates": [certificate_base64(x) for x in m.signing_certificates],
            "encryption_certificates": [certificate_base64(x) for x in m.encryption_certificates],
            "settings": {
                "name_id_format": s.name_id_format,
                "sign_assertion": s.sign_assertion,
                "sign_response": s.sign_response,
                "signature_algorithm": s.signature_algorithm,
                "encrypt": s.encrypt,
                "encryption_block": s.encryption_block,
                "encryption_transport": s.encryption_transport,
                "allow_idp_initiated": s.allow_idp_initiated,
                "attributes": s.attributes,
            },
        }
