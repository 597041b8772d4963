"""Every reason code of the ACS: a response breaking exactly that rule (made by the mock IdP's
plan with the core's mutators, or by hand where no mutator exists) is refused with that code
and that rule, and leaves no session. The positive control runs first in the same world."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator

import pytest
from lxml import etree

from harness.protocol.requirements import REQUIREMENTS
from harness.protocol.saml import constants as c
from harness.protocol.saml.mutators import MutatorCall
from harness.protocol.saml.signing import sign_element
from harness.protocol.xml import to_bytes
from mock_idp.messages import OutgoingMessage

from .conftest import World, make_world, sample_key

USER = "dana@acme.test"


@pytest.fixture
def plain(request: pytest.FixtureRequest) -> Iterator[World]:
    """A world whose SP publishes no encryption key: XML mutators see the assertion."""
    for world in make_world("sqlite://", encrypt=False):
        world.provision(USER)
        yield world


def refused(world: World, message: OutgoingMessage | dict[str, str]) -> dict[str, str]:
    fields = message.fields if isinstance(message, OutgoingMessage) else message
    response = world.http.post("/saml/acs", data=fields, headers={"accept": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert "sp_session" not in response.headers.get("set-cookie", "")
    assert world.me().status_code == 401
    body = response.json()
    assert set(body) >= {"reason", "rule", "message"}
    assert body["rule"] in REQUIREMENTS  # the page cites the rule by its one registered id
    return dict(body)


MUTATED = [
    ("unsigned", "unsigned", "SAML-PROF-4.1.4.5"),
    ("unsigned-assertion", "unsigned", "SAML-PROF-4.1.4.5"),
    ("expired", "subject-expired", "SAML-PROF-4.1.4.3"),
    ("not-yet-valid", "not-yet-valid", "SAML-CORE-2.5.1.2"),
    ("subject-expired", "subject-expired", "SAML-PROF-4.1.4.3"),
    ("no-subject-expiry", "no-subject-expiry", "SAML-PROF-4.1.4.2"),
    ("session-expired", "session-expired", "SAML-PROF-4.1.4.3"),
    ("wrong-audience", "wrong-audience", "SAML-CORE-2.5.1.4"),
    ("no-audience", "no-audience", "SAML-PROF-4.1.4.2"),
    ("wrong-recipient", "wrong-recipient", "SAML-PROF-4.1.4.3"),
    ("no-recipient", "no-recipient", "SAML-PROF-4.1.4.2"),
    ("wrong-destination", "wrong-destination", "SAML-CORE-3.2.2"),
    ("no-destination", "no-destination", "SAML-BIND-3.5.5.2"),
    ("wrong-issuer", "wrong-issuer", "SAML-PROF-4.1.4.2"),
    ("mismatched-issuer", "wrong-issuer", "SAML-PROF-4.1.4.2"),
    ("bad-in-response-to", "wrong-in-response-to", "SAML-CORE-3.2.2"),
    ("status", "status-not-success", "SAML-CORE-3.2.2.2"),
    ("wrong-key", "bad-signature", "SAML-CORE-5.4"),
    ("sha1", "weak-algorithm", "SDP-ALG01"),
    ("sender-vouches", "no-bearer", "SAML-PROF-4.1.4.2"),
    ("no-authn-statement", "no-authn-statement", "SAML-PROF-4.1.4.2"),
    ("wrong-version", "version-mismatch", "SAML-CORE-3.2.2"),
    ("tamper-after-signing", "bad-signature", "SAML-CORE-5.4"),
    ("corrupt-signature", "bad-signature", "SAML-CORE-5.4"),
    ("clock-skew", "subject-expired", "SAML-PROF-4.1.4.3"),
    ("external-entity", "doctype", "SDP-G03"),
    ("entity-expansion", "doctype", "SDP-G03"),
    ("xslt-transform", "bad-transform", "SAML-CORE-5.4.4"),
    ("xpath-transform", "bad-transform", "SAML-CORE-5.4.4"),
    ("prefix-redeclared", "unexpected-element", "SAML-CORE-3.2.2"),
]


@pytest.mark.parametrize(("mutator", "reason", "rule"), MUTATED, ids=[m[0] for m in MUTATED])
def test_each_broken_rule_is_refused_with_its_code(
    plain: World, mutator: str, reason: str, rule: str
) -> None:
    control = plain.http_session()
    assert plain.post(plain.response_for(USER, browser=control), control).status_code == 303
    body = refused(plain, plain.response_for(USER, mutator))
    assert (body["reason"], body["rule"]) == (reason, rule)


def test_skew_within_the_allowance_is_accepted(plain: World) -> None:
    plain.idp.plan_next(MutatorCall("clock-skew", {"seconds": 120}))
    assert plain.post(plain.idp.sso_from_redirect(plain.start(), USER)).status_code == 303


def test_replayed_response_and_replayed_assertion(plain: World) -> None:
    message = plain.response_for(USER)
    assert plain.post(message).status_code == 303
    plain.http.cookies.delete("sp_session")
    body = refused(plain, message)
    assert (body["reason"], body["rule"]) == ("replayed", "SAML-PROF-4.1.4.5")
    plain.http.cookies.clear()  # from another browser the request is not even ours
    assert refused(plain, message)["reason"] == "wrong-in-response-to"
    # The same assertion in a new (unsolicited, re-signed) Response.
    root = etree.fromstring(base64.b64decode(message.fields["SAMLResponse"]))
    del root.attrib["InResponseTo"]
    root.set("ID", "_another-response")
    for data in root.iter(c.q(c.SAML, "SubjectConfirmationData")):
        data.attrib.pop("InResponseTo", None)
    assertion = root.find(c.q(c.SAML, "Assertion"))
    assert assertion is not None
    sign_element(assertion, sample_key("idp"))
    sign_element(root, sample_key("idp"))
    body = refused(plain, {"SAMLResponse": base64.b64encode(to_bytes(root)).decode()})
    assert body["reason"] == "replayed"


def _two_assertions(message: OutgoingMessage, *, evil_first: bool) -> dict[str, str]:
    root = etree.fromstring(base64.b64decode(message.fields["SAMLResponse"]))
    signature = root.find(c.q(c.DS, "Signature"))
    if signature is not None:
        root.remove(signature)
    assertion = root.find(c.q(c.SAML, "Assertion"))
    assert assertion is not None
    evil = copy.deepcopy(assertion)
    evil.set("ID", "_evil")
    evil.remove(evil.find(c.q(c.DS, "Signature")))
    evil.find(f"{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}").text = "boss@acme.test"
    if evil_first:
        assertion.addprevious(evil)
    else:
        assertion.addnext(evil)
    return {"SAMLResponse": base64.b64encode(to_bytes(root)).decode()}


@pytest.mark.parametrize("evil_first", [True, False])
def test_two_assertions_are_refused(plain: World, evil_first: bool) -> None:
    plain.provision("boss@acme.test")
    body = refused(plain, _two_assertions(plain.response_for(USER), evil_first=evil_first))
    assert (body["reason"], body["rule"]) == ("assertion-count", "SDP-IDP10")


def test_duplicate_ids_are_refused(plain: World) -> None:
    message = plain.response_for(USER)
    root = etree.fromstring(base64.b64decode(message.fields["SAMLResponse"]))
    etree.SubElement(root, c.q(c.SAMLP, "Extensions")).set("ID", root.get("ID", ""))
    body = refused(plain, {"SAMLResponse": base64.b64encode(to_bytes(root)).decode()})
    assert (body["reason"], body["rule"]) == ("duplicate-id", "SAML-CORE-1.3.4")


def test_keyinfo_certificate_is_not_trusted(plain: World) -> None:
    """S04: signed by the attacker, who put their own certificate in KeyInfo."""
    message = plain.response_for(USER, "wrong-key")
    assert b"X509Certificate" in message.xml
    assert refused(plain, message)["reason"] == "bad-signature"


def test_a_dtd_is_refused_before_parsing(plain: World) -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>'
    )
    body = refused(plain, {"SAMLResponse": base64.b64encode(xxe).decode()})
    assert (body["reason"], body["rule"]) == ("doctype", "SDP-G03")
    laughs = b'<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><r>&b;</r>'
    assert refused(plain, {"SAMLResponse": base64.b64encode(laughs).decode()})["reason"] == (
        "doctype"
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "no-saml-response"),
        ({"SAMLResponse": "%%%not base64"}, "bad-base64"),
        ({"SAMLResponse": base64.b64encode(b"<unclosed").decode()}, "malformed"),
        ({"SAMLResponse": base64.b64encode(b"<r/>").decode()}, "wrong-message"),
        ({"SAMLResponse": base64.b64encode(b"\x00\x01binary").decode()}, "encoding"),
    ],
)
def test_garbage_is_a_4xx_with_a_reason(plain: World, fields: dict[str, str], reason: str) -> None:
    assert refused(plain, fields)["reason"] == reason


def test_a_logout_response_posted_to_the_acs_is_refused(plain: World) -> None:
    xml = (
        b'<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_l"'
        b' Version="2.0" IssueInstant="2026-03-01T12:00:00Z"/>'
    )
    assert refused(plain, {"SAMLResponse": base64.b64encode(xml).decode()})["reason"] == (
        "wrong-message"
    )


def test_unsolicited_response_from_an_unknown_idp(plain: World) -> None:
    plain.idp.plan_next("wrong-issuer")
    message = plain.idp.sso(plain.sp.entity_id, USER)
    body = refused(plain, message)
    assert (body["reason"], body["rule"]) == ("unknown-issuer", "SAML-PROF-4.1.4.2")


def test_unsolicited_response_with_in_response_to(plain: World) -> None:
    plain.idp.plan_next("bad-in-response-to")
    body = refused(plain, plain.idp.sso(plain.sp.entity_id, USER))
    assert body["reason"] == "wrong-in-response-to"


def test_persistent_name_id_is_refused(plain: World) -> None:
    sp = plain.idp.sps[plain.sp.entity_id]
    sp.settings = type(sp.settings)(name_id_format=c.NAMEID_PERSISTENT)
    body = refused(plain, plain.response_for(USER))
    assert (body["reason"], body["rule"]) == ("unsupported-nameid-format", "BIZ-SIGNIN-1")


def test_weak_key_transport_is_refused(world: World) -> None:
    world.provision(USER)
    sp = world.idp.sps[world.sp.entity_id]
    sp.settings = type(sp.settings)(encryption_transport="rsa-1_5")
    body = refused(world, world.response_for(USER))
    assert body["rule"] in ("IIP-ALG08", "SDP-ALG01")


def test_second_idp_key_is_accepted(plain: World) -> None:
    """P06/SDP-SP37: any of the metadata's signing keys."""
    plain.idp.rollover_key(sample_key("idp-rollover"))
    plain.sp.add_organisation(
        "Acme",
        "acme-scim-token",
        idp_metadata=plain.idp.metadata_xml(),
        email_domains=["acme.test"],
    )
    plain.idp.activate_key(0)
    assert plain.post(plain.response_for(USER)).status_code == 303
