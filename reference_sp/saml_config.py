"""The SP as its SAML peers know it: its addresses, its key pair, and the policy its settings
choose (clock skew, SHA-1, signed requests, encryption), with the metadata that publishes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.metadata import Endpoint, SPMetadata
from reference_sp.settings import Settings, Site


@dataclass(frozen=True)
class SamlConfig:
    site: Site
    key: KeyPair  # signs requests and logout messages, decrypts assertions
    clock_skew: timedelta
    allow_sha1: bool
    sign_requests: bool
    want_encryption: bool
    name_id_policy: str | None = None
    second_acs: bool = False

    @classmethod
    def of(cls, settings: Settings, site: Site, key: KeyPair) -> SamlConfig:
        return cls(
            site=site,
            key=key,
            clock_skew=settings.clock_skew,
            allow_sha1=settings.allow_sha1,
            sign_requests=settings.sign_requests,
            want_encryption=settings.want_encryption,
            name_id_policy=settings.name_id_policy,
            second_acs=settings.second_acs,
        )

    def metadata(self) -> SPMetadata:
        site, cert = self.site, self.key.certificate
        return SPMetadata(
            entity_id=site.entity_id,
            acs_endpoints=(
                Endpoint(c.BINDING_HTTP_POST, site.acs_url, 0, True),
                *(
                    (Endpoint(c.BINDING_HTTP_POST, site.second_acs_url, 1, False),)
                    if self.second_acs
                    else ()
                ),
            ),
            slo_endpoints=(
                Endpoint(c.BINDING_HTTP_REDIRECT, site.slo_url),
                Endpoint(c.BINDING_HTTP_POST, site.slo_url),
            ),
            signing_certificates=(cert,),
            encryption_certificates=(cert,) if self.want_encryption else (),
            want_assertions_signed=True,
            authn_requests_signed=self.sign_requests,
            nameid_formats=(c.NAMEID_EMAIL, c.NAMEID_UNSPECIFIED),
        )
