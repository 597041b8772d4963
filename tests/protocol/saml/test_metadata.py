import pytest

from harness.protocol.keys import KeyPair, same_certificate
from harness.protocol.saml import constants as c
from harness.protocol.saml.errors import MetadataError
from harness.protocol.saml.metadata import (
    Endpoint,
    IdPMetadata,
    SPMetadata,
    build_idp_metadata,
    build_sp_metadata,
    parse_idp_metadata,
    parse_sp_metadata,
)


def test_idp_metadata_round_trip_with_rollover_keys(
    idp_key: KeyPair, rollover_key: KeyPair
) -> None:
    metadata = IdPMetadata(
        entity_id="https://idp.test/saml/metadata",
        signing_certificates=(idp_key.certificate, rollover_key.certificate),
        sso_endpoints=(
            Endpoint(c.BINDING_HTTP_REDIRECT, "https://idp.test/saml/sso"),
            Endpoint(c.BINDING_HTTP_POST, "https://idp.test/saml/sso"),
        ),
        slo_endpoints=(Endpoint(c.BINDING_HTTP_REDIRECT, "https://idp.test/saml/slo"),),
        nameid_formats=c.NAMEID_FORMATS,
    )
    parsed = parse_idp_metadata(build_idp_metadata(metadata))
    assert parsed.entity_id == metadata.entity_id
    assert len(parsed.signing_certificates) == 2
    assert same_certificate(parsed.signing_certificates[1], rollover_key.certificate)
    assert parsed.sso_endpoint(c.BINDING_HTTP_POST) == metadata.sso_endpoints[1]
    assert parsed.slo_endpoints == metadata.slo_endpoints
    assert parsed.nameid_formats == c.NAMEID_FORMATS


def test_sp_metadata_round_trip(sp_key: KeyPair) -> None:
    metadata = SPMetadata(
        entity_id="https://sp.test/saml/metadata",
        acs_endpoints=(
            Endpoint(c.BINDING_HTTP_POST, "https://sp.test/acs", 0, None),
            Endpoint(c.BINDING_HTTP_POST, "https://sp.test/acs2", 1, True),
        ),
        signing_certificates=(sp_key.certificate,),
        encryption_certificates=(sp_key.certificate,),
        want_assertions_signed=True,
        authn_requests_signed=True,
    )
    parsed = parse_sp_metadata(build_sp_metadata(metadata))
    assert parsed.want_assertions_signed and parsed.authn_requests_signed
    assert parsed.default_acs().location == "https://sp.test/acs2"
    assert parsed.acs_by_index(0) is not None
    assert parsed.acs_by_index(0).location == "https://sp.test/acs"  # type: ignore[union-attr]
    assert len(parsed.encryption_certificates) == 1


def test_key_descriptor_without_use_serves_both(sp_key: KeyPair) -> None:
    xml = build_sp_metadata(
        SPMetadata(
            "https://sp.test",
            (Endpoint(c.BINDING_HTTP_POST, "https://sp.test/acs"),),
            signing_certificates=(sp_key.certificate,),
        )
    ).replace(b' use="signing"', b"")
    parsed = parse_sp_metadata(xml)
    assert len(parsed.signing_certificates) == 1
    assert len(parsed.encryption_certificates) == 1


def test_entities_descriptor_and_default_acs_rules() -> None:
    xml = f"""<md:EntitiesDescriptor xmlns:md="{c.MD}">
      <md:EntityDescriptor entityID="https://sp.test"><md:SPSSODescriptor
        protocolSupportEnumeration="{c.SAMLP}">
        <md:AssertionConsumerService Binding="{c.BINDING_HTTP_POST}" Location="https://a" index="3"
          isDefault="false"/>
        <md:AssertionConsumerService Binding="{c.BINDING_HTTP_POST}" Location="https://b"
          index="4"/>
      </md:SPSSODescriptor></md:EntityDescriptor></md:EntitiesDescriptor>""".encode()
    assert parse_sp_metadata(xml).default_acs().location == "https://b"


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        (b"<x/>", "not-metadata"),
        (b"<!DOCTYPE x><x/>", "doctype"),
        (f'<md:EntityDescriptor xmlns:md="{c.MD}" entityID="e"/>'.encode(), "no-sp"),
        (
            f'<md:EntityDescriptor xmlns:md="{c.MD}" entityID="e"><md:SPSSODescriptor/>'
            "</md:EntityDescriptor>".encode(),
            "no-acs",
        ),
    ],
)
def test_bad_sp_metadata(xml: bytes, reason: str) -> None:
    with pytest.raises(MetadataError) as info:
        parse_sp_metadata(xml)
    assert info.value.reason == reason


SOAP = Endpoint(c.BINDING_SOAP, "https://sp.test/slo/soap")
ARTIFACT = Endpoint(c.BINDING_HTTP_ARTIFACT, "https://sp.test/slo/artifact")
REDIRECT = Endpoint(c.BINDING_HTTP_REDIRECT, "https://sp.test/slo/redirect")
POST = Endpoint(c.BINDING_HTTP_POST, "https://sp.test/slo/post")


@pytest.mark.parametrize(
    ("listed", "chosen"),
    [
        ((SOAP, REDIRECT), REDIRECT),  # Shibboleth SP lists SOAP first
        ((SOAP, POST, REDIRECT), REDIRECT),  # Redirect preferred wherever it is listed
        ((POST,), POST),
        ((ARTIFACT, POST), POST),
        ((SOAP,), None),
        ((SOAP, ARTIFACT), None),
        ((), None),
    ],
)
def test_front_channel_slo_endpoint_never_soap_or_artifact(
    listed: tuple[Endpoint, ...], chosen: Endpoint | None
) -> None:
    metadata = SPMetadata(
        "https://sp.test/saml/metadata",
        (Endpoint(c.BINDING_HTTP_POST, "https://sp.test/acs"),),
        slo_endpoints=listed,
    )
    parsed = parse_sp_metadata(build_sp_metadata(metadata))
    assert parsed.front_channel_slo_endpoint() == chosen
