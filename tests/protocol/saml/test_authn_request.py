import datetime as dt

import pytest

from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import (
    AuthnRequest,
    build_authn_request_xml,
    parse_authn_request,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


def test_round_trip_of_every_field() -> None:
    request = AuthnRequest(
        id="_r1",
        issue_instant=NOW,
        issuer="https://sp.test/saml/metadata",
        destination="https://idp.test/saml/sso",
        acs_url="https://sp.test/acs",
        protocol_binding=c.BINDING_HTTP_POST,
        force_authn=True,
        is_passive=False,
        nameid_format=c.NAMEID_PERSISTENT,
        allow_create=True,
        requested_authn_contexts=(c.AC_PASSWORD_PROTECTED,),
        authn_context_comparison="minimum",
        provider_name="Test SP",
    )
    assert parse_authn_request(build_authn_request_xml(request)) == request


@pytest.mark.parametrize(
    ("mutate", "reason", "rule"),
    [
        (
            lambda x: x.replace(b'Version="2.0"', b'Version="1.1"'),
            "version-mismatch",
            "SAML-CORE-3.2.1",
        ),
        (lambda x: x.replace(b' ID="_r1"', b""), "no-id", "SAML-CORE-3.2.1"),
        (
            lambda x: x.replace(b"https://sp.test/saml/metadata", b""),
            "no-issuer",
            "SAML-PROF-4.1.4.1",
        ),
        (
            lambda x: x.replace(b"2026-03-01T12:00:00Z", b"yesterday"),
            "bad-instant",
            "SAML-CORE-1.3.3",
        ),
        (
            lambda x: x.replace(b"AuthnRequest", b"LogoutRequest"),
            "wrong-message",
            "SAML-CORE-3.2.1",
        ),
        (lambda x: b"<!DOCTYPE x>" + x, "doctype", "SDP-G03"),
        (lambda x: x[:40], "malformed", "XML-1.0"),
        (
            lambda x: x.replace(b"ID=", b'AssertionConsumerServiceIndex="1" ID='),
            "acs-index-and-url",
            "SAML-CORE-3.4.1",
        ),
        (lambda x: x.replace(b"ID=", b'ForceAuthn="yes" ID='), "bad-boolean", "SAML-CORE-3.4.1"),
    ],
)
def test_bad_requests_name_the_rule(mutate, reason: str, rule: str) -> None:  # type: ignore[no-untyped-def]
    xml = build_authn_request_xml(
        AuthnRequest(
            id="_r1",
            issue_instant=NOW,
            issuer="https://sp.test/saml/metadata",
            acs_url="https://sp.test/acs",
        )
    )
    with pytest.raises(Refusal) as info:
        parse_authn_request(mutate(xml))
    assert (info.value.reason, info.value.rule) == (reason, rule)
