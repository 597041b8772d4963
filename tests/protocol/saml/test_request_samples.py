"""AuthnRequests shaped like the spec's examples and what real SPs send (default namespaces,
capitalised booleans, fractional seconds, whitespace around values) parse to the same values."""

from pathlib import Path

import pytest

from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import parse_authn_request

SAMPLES = Path(__file__).parents[2] / "samples" / "saml" / "requests"


def parse(name: str):  # type: ignore[no-untyped-def]
    return parse_authn_request((SAMPLES / name).read_bytes())


def test_spec_shape_with_acs_index() -> None:
    request = parse("saml-bindings-3.4-authnrequest-index.xml")
    assert (request.issuer, request.acs_index, request.acs_url) == (
        "https://sp.example.com/SAML2",
        0,
        None,
    )
    assert request.nameid_format == c.NAMEID_TRANSIENT and request.allow_create is True


def test_issuer_in_a_default_namespace() -> None:
    request = parse("vendor-default-namespace-issuer.xml")
    assert request.issuer == "https://sp.example.com"
    assert request.acs_url == "https://sp.example.com/acs"


def test_capitalised_booleans_and_fractional_seconds() -> None:
    request = parse("vendor-capitalised-booleans.xml")
    assert request.is_passive is False and request.allow_create is True
    assert request.issue_instant.second == 0 and request.issue_instant.microsecond == 775147
    assert request.requested_authn_contexts == (c.AC_PASSWORD_PROTECTED,)


def test_whitespace_around_values() -> None:
    request = parse("vendor-whitespace-in-values.xml")
    assert request.issuer == "https://sp.example.org/metadata"
    assert request.requested_authn_contexts == (c.AC_PASSWORD,)
    assert request.authn_context_comparison == "minimum"


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.xml")))
def test_every_sample_parses(name: str) -> None:
    assert parse(name).id
