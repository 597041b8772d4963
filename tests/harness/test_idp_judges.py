"""The judges of the IdP-under-test suite, on messages the project's own mock IdP sends: a good
one passes every judge that applies, each flaw fails exactly the checks of the rule it breaks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from harness.checks.idp_metadata import IDP_METADATA_CHECKS
from harness.checks.idp_observations import (
    IdpLogoutSeen,
    IdpMetadataSeen,
    IdpResponseSeen,
    ScimRequestSeen,
    SpSide,
)
from harness.checks.idp_saml import IDP_LOGOUT_CHECKS, IDP_RESPONSE_CHECKS
from harness.checks.idp_scim import IDP_SCIM_CHECKS
from harness.checks.model import Check, CheckFailed, CheckSkipped, CheckWarned
from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import encode_redirect_query
from harness.protocol.saml.logout import (
    LogoutRequest,
    LogoutResponse,
    build_logout_request,
    build_logout_response,
)
from harness.protocol.saml.metadata import (
    Endpoint,
    IdPMetadata,
    build_idp_metadata,
    parse_idp_metadata,
)
from harness.protocol.saml.signing import sign_element
from harness.protocol.scim.deviations import KNOWN_DEVIATIONS
from harness.protocol.scim.schema import ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA
from harness.protocol.xml import parse_xml, to_bytes
from mock_idp.idp import MockIdP
from tests.mock_idp.conftest import BASE, NOW, frozen_clock, sample_key
from tests.mock_idp.fake_sp import FakeSP

SSO = f"{BASE}/saml/sso"
IDP_KEY = sample_key("idp")
SP_KEY = sample_key("sp")
ATTACKER = sample_key("attacker")
BY_ID = {check.id: check for check in IDP_RESPONSE_CHECKS}


def outcome(check: Check, seen: object) -> str:
    assert check.judge is not None
    try:
        check.judge(seen)
    except CheckWarned:
        return "warn"
    except CheckFailed:
        return "fail"
    except CheckSkipped:
        return "skip"
    return "pass"


def failing(checks: tuple[Check, ...], seen: object) -> set[str]:
    return {check.id for check in checks if outcome(check, seen) == "fail"}


def make_idp(*flaws: str, encrypt: bool = False) -> tuple[MockIdP, FakeSP]:
    sp = FakeSP(key=SP_KEY, encrypt=encrypt)
    idp = MockIdP(BASE, signing_keys=[IDP_KEY], seed=7, clock=frozen_clock(), attacker_key=ATTACKER)
    idp.set_flaws(flaws)
    idp.register_sp_metadata(sp.metadata())
    idp.add_user("alice@example.com", password="pw", email="alice@example.com")
    return idp, sp


def sign_in(idp: MockIdP, sp: FakeSP, **fields: object) -> IdpResponseSeen:
    """An SP-initiated sign-in of alice, as the plumbing would record it."""
    request = sp.authn_request(NOW, SSO, **fields)
    query = sp.redirect_query(request, relay_state="/rs")
    login = idp.receive_authn_request(c.BINDING_HTTP_REDIRECT, query=query)
    user = idp.directory.get_user("alice@example.com")
    assert user is not None
    message = idp.issue_response(login, user)
    metadata = parse_idp_metadata(idp.metadata_xml())
    side = SpSide(
        entity_id=sp.entity_id,
        acs_url=sp.acs,
        slo_url=sp.slo,
        encryption_wanted=sp.encrypt,
        decryption_keys=(SP_KEY.private_key,),
    )
    return IdpResponseSeen(
        xml=message.xml,
        sp=side,
        idp=metadata,
        received_at=NOW + dt.timedelta(seconds=2),
        request_id=request.id,
        name_id_format_asked=request.nameid_format,
        relay_state_sent="/rs",
        relay_state_returned=message.relay_state,
        posted_to=message.url,
        single_logout_offered=bool(metadata.slo_endpoints),
    )


GOOD_SKIPS = {
    "idp.response.name-id-format",  # no NameIDPolicy Format asked
    "idp.response.name-id-stable",  # the first sign-in
    "idp.response.encrypted",  # the SP did not ask
    "idp.response.encryption-algorithms",  # nothing encrypted
}


def test_a_good_response_passes_every_judge_that_applies() -> None:
    seen = sign_in(*make_idp())
    outcomes = {check.id: outcome(check, seen) for check in IDP_RESPONSE_CHECKS}
    assert {k for k, v in outcomes.items() if v == "skip"} == GOOD_SKIPS
    assert {k for k, v in outcomes.items() if v not in ("pass", "skip")} == set()


# flaw -> exactly the response checks that fail. Surprises, explained:
# - bad-in-response-to / no-in-response-to change both InResponseTo values (Response and
#   SubjectConfirmationData), so both checks fail.
# - sha1 fails only the algorithm check: the signatures still verify (SHA-1 is read, then
#   judged by SDP-ALG01), so the content is trusted and judged.
# - unsigned fails both signature checks; every content judge skips (nothing trusted).
# - clock-skew (-10 min) moves every instant: the windows ended before arrival, while the
#   lifetime itself is unchanged.
FLAW_TABLE: dict[str, set[str]] = {
    "no-destination": {"idp.response.destination"},
    "sha1": {"idp.response.signature-algorithms"},
    "unsigned-assertion": {"idp.response.assertion-signed"},
    "unsigned": {"idp.response.response-signed", "idp.response.assertion-signed"},
    "bad-in-response-to": {"idp.response.in-response-to", "idp.response.subject-confirmation"},
    "no-in-response-to": {"idp.response.in-response-to", "idp.response.subject-confirmation"},
    "no-audience": {"idp.response.audience"},
    "no-recipient": {"idp.response.subject-confirmation"},
    "no-subject-expiry": {"idp.response.subject-confirmation"},
    "no-session-index": {"idp.response.session-index"},
    "clock-skew": {"idp.response.validity-window"},
    "mismatched-issuer": {"idp.response.issuer"},
    "drop-relay-state": {"idp.response.relay-state"},
}


@pytest.mark.parametrize("flaw", sorted(FLAW_TABLE))
def test_each_idp_flaw_fails_exactly_its_checks(flaw: str) -> None:
    assert failing(IDP_RESPONSE_CHECKS, sign_in(*make_idp(flaw))) == FLAW_TABLE[flaw]


def test_weak_encryption_fails_the_algorithm_check_only() -> None:
    good = sign_in(*make_idp(encrypt=True))
    assert outcome(BY_ID["idp.response.encrypted"], good) == "pass"
    assert failing(IDP_RESPONSE_CHECKS, good) == set()
    weak = sign_in(*make_idp("weak-encryption", encrypt=True))
    assert failing(IDP_RESPONSE_CHECKS, weak) == {"idp.response.encryption-algorithms"}


def test_ignore_nameid_policy_fails_the_format_check() -> None:
    asked = {"nameid_format": c.NAMEID_PERSISTENT}
    assert outcome(BY_ID["idp.response.name-id-format"], sign_in(*make_idp(), **asked)) == "pass"
    flawed = sign_in(*make_idp("ignore-nameid-policy"), **asked)
    assert failing(IDP_RESPONSE_CHECKS, flawed) == {"idp.response.name-id-format"}


# ------------------------------------------------------------------ judges on edited messages


def edited(seen: IdpResponseSeen, edit: Callable[[etree._Element], None]) -> IdpResponseSeen:
    """``seen`` with its Response edited, then re-signed by the IdP (Response and Assertion)."""
    root = parse_xml(seen.xml)
    for signature in list(root.iter(c.q(c.DS, "Signature"))):
        signature.getparent().remove(signature)  # type: ignore[union-attr]
    edit(root)
    assertion = root.find(c.q(c.SAML, "Assertion"))
    if assertion is not None:
        root.replace(assertion, sign_element(assertion, IDP_KEY))
    return dataclasses.replace(seen, xml=to_bytes(sign_element(root, IDP_KEY)))


def _set(path: str, name: str, value: str | None) -> Callable[[etree._Element], None]:
    def edit(root: etree._Element) -> None:
        ns = {"samlp": c.SAMLP, "saml": c.SAML}
        element = root if path == "." else root.find(path, ns)
        assert element is not None
        if value is None:
            element.attrib.pop(name, None)
        else:
            element.set(name, value)

    return edit


A = "saml:Assertion"
SCD = f"{A}/saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"
CASES: list[tuple[str, Callable[[etree._Element], None]]] = [
    ("idp.response.destination", _set(".", "Destination", "https://other.example/acs")),
    ("idp.response.issuer", _set(f"{A}/saml:Issuer", "Format", c.NAMEID_EMAIL)),
    ("idp.response.subject-confirmation", _set(SCD, "NotBefore", "2026-03-01T11:59:00Z")),
    (
        "idp.response.validity-window",
        _set(f"{A}/saml:Conditions", "NotBefore", "2026-03-01T13:00:00Z"),
    ),
    (
        "idp.response.status-success",
        _set("samlp:Status/samlp:StatusCode", "Value", c.STATUS_RESPONDER),
    ),
    ("idp.response.well-formed", _set(".", "Version", "1.1")),
]


@pytest.mark.parametrize(("check_id", "edit"), CASES, ids=[c[0] for c in CASES])
def test_an_edited_response_fails_the_judge_of_that_field(
    check_id: str, edit: Callable[[etree._Element], None]
) -> None:
    seen = sign_in(*make_idp())
    assert outcome(BY_ID[check_id], edited(seen, lambda root: None)) == "pass"
    assert check_id in failing(IDP_RESPONSE_CHECKS, edited(seen, edit))


def test_lifetime_of_years_is_a_should_failure() -> None:
    seen = edited(
        sign_in(*make_idp()), _set(f"{A}/saml:Conditions", "NotOnOrAfter", "2036-03-01T12:00:00Z")
    )
    assert BY_ID["idp.response.lifetime"].level == "SHOULD"
    assert outcome(BY_ID["idp.response.lifetime"], seen) == "fail"  # the runner makes it a WARN


def test_two_assertions_fail_one_assertion() -> None:
    def twice(root: etree._Element) -> None:
        root.append(etree.fromstring(etree.tostring(root.find(c.q(c.SAML, "Assertion")))))

    seen = edited(sign_in(*make_idp()), twice)
    assert "idp.response.one-assertion" in failing(IDP_RESPONSE_CHECKS, seen)


def test_a_key_not_in_metadata_fails_the_signature_and_skips_the_content() -> None:
    seen = sign_in(*make_idp())
    root = parse_xml(seen.xml)
    root.remove(root.find(c.q(c.DS, "Signature")))
    forged = dataclasses.replace(seen, xml=to_bytes(sign_element(root, ATTACKER)))
    assert outcome(BY_ID["idp.response.response-signed"], forged) == "fail"
    assert outcome(BY_ID["idp.response.destination"], forged) == "skip"


def test_unparsable_xml_fails_well_formed_and_skips_the_rest() -> None:
    seen = dataclasses.replace(sign_in(*make_idp()), xml=b"<!DOCTYPE x><x/>")
    outcomes = {check.id: outcome(check, seen) for check in IDP_RESPONSE_CHECKS}
    assert outcomes["idp.response.well-formed"] == "fail"
    # RelayState is a form field beside the XML: still judged.
    judged_anyway = {"idp.response.well-formed", "idp.response.relay-state"}
    assert {v for k, v in outcomes.items() if k not in judged_anyway} == {"skip"}


def test_idp_initiated_response_needs_no_in_response_to() -> None:
    seen = dataclasses.replace(sign_in(*make_idp("no-in-response-to")), request_id=None)
    assert outcome(BY_ID["idp.response.in-response-to"], seen) == "pass"
    solicited = dataclasses.replace(sign_in(*make_idp()), request_id=None)
    assert outcome(BY_ID["idp.response.in-response-to"], solicited) == "fail"


def test_name_id_stability_across_sign_ins() -> None:
    idp, sp = make_idp()
    asked = {"nameid_format": c.NAMEID_PERSISTENT}
    first = sign_in(idp, sp, **asked)
    value = parse_xml(first.xml).findtext(f".//{c.q(c.SAML, 'NameID')}")
    same = dataclasses.replace(
        sign_in(idp, sp, **asked), previous_name_id=(value, c.NAMEID_PERSISTENT)
    )
    changed = dataclasses.replace(same, previous_name_id=("someone-else", c.NAMEID_PERSISTENT))
    transient = dataclasses.replace(
        sign_in(idp, sp, nameid_format=c.NAMEID_TRANSIENT),
        previous_name_id=("x", c.NAMEID_TRANSIENT),
    )
    check = BY_ID["idp.response.name-id-stable"]
    assert [outcome(check, s) for s in (first, same, changed, transient)] == [
        "skip",
        "pass",
        "fail",
        "pass",
    ]


def test_evidence_names_the_fields_looked_at() -> None:
    judge = BY_ID["idp.response.destination"].judge
    assert judge is not None
    with pytest.raises(CheckFailed) as failed:
        judge(sign_in(*make_idp("no-destination")))
    assert failed.value.evidence["Destination"] is None
    assert failed.value.evidence["acs"] == "https://sp.test/saml/acs"


# ------------------------------------------------------------------------------- logout

IDP_METADATA = parse_idp_metadata(make_idp()[0].metadata_xml())
SIDE = SpSide(
    "https://sp.test/saml/metadata", "https://sp.test/saml/acs", "https://sp.test/saml/slo", False
)
LOGOUT_BY_ID = {check.id: check for check in IDP_LOGOUT_CHECKS}


def logout_request(key: KeyPair | None = IDP_KEY, **changes: Any) -> IdpLogoutSeen:
    """The IdP's LogoutRequest by HTTP-Redirect, signed over the query by ``key``."""
    fields: dict[str, Any] = {
        "id": "_lo1",
        "issue_instant": NOW,
        "issuer": IDP_METADATA.entity_id,
        "name_id": "alice@example.com",
        "destination": SIDE.slo_url,
    }
    xml = to_bytes(build_logout_request(LogoutRequest(**{**fields, **changes})))
    query = encode_redirect_query(xml, key_pair=key)
    return IdpLogoutSeen(xml, c.BINDING_HTTP_REDIRECT, query, SIDE, IDP_METADATA, NOW, None)


def logout_response(in_response_to: str = "_sp1", key: KeyPair = IDP_KEY) -> IdpLogoutSeen:
    """The IdP's LogoutResponse by HTTP-POST, with an enveloped signature by ``key``."""
    message = LogoutResponse(
        "_lr1", NOW, IDP_METADATA.entity_id, in_response_to, destination=SIDE.slo_url
    )
    xml = to_bytes(sign_element(build_logout_response(message), key))
    return IdpLogoutSeen(xml, c.BINDING_HTTP_POST, None, SIDE, IDP_METADATA, NOW, "_sp1")


def test_good_logout_messages_pass() -> None:
    request = {k: outcome(check, logout_request()) for k, check in LOGOUT_BY_ID.items()}
    response = {k: outcome(check, logout_response()) for k, check in LOGOUT_BY_ID.items()}
    assert request == {
        "idp.logout.request-signed": "pass",
        "idp.logout.response-signed": "skip",
        "idp.logout.destination": "pass",
        "idp.logout.issuer": "pass",
        "idp.logout.in-response-to": "skip",
    }
    assert response == {
        **request,
        **{
            "idp.logout.request-signed": "skip",
            "idp.logout.response-signed": "pass",
            "idp.logout.in-response-to": "pass",
        },
    }


@pytest.mark.parametrize(
    ("seen", "fails"),
    [
        (logout_request(key=None), {"idp.logout.request-signed"}),
        (logout_request(key=ATTACKER), {"idp.logout.request-signed"}),
        (logout_request(destination="https://other.example/slo"), {"idp.logout.destination"}),
        (logout_request(destination=None), {"idp.logout.destination"}),
        (logout_request(issuer="https://other-idp.example"), {"idp.logout.issuer"}),
        (logout_response(key=ATTACKER), {"idp.logout.response-signed"}),
        (logout_response(in_response_to="_other"), {"idp.logout.in-response-to"}),
    ],
)
def test_broken_logout_messages_fail_their_check(seen: IdpLogoutSeen, fails: set[str]) -> None:
    assert failing(IDP_LOGOUT_CHECKS, seen) == fails


# ----------------------------------------------------------------------------- metadata

METADATA_BY_ID = {check.id: check for check in IDP_METADATA_CHECKS}
HTTPS = "https://idp.example/saml"


def metadata_seen(
    now: dt.datetime = NOW, valid_until: str | None = None, **changes: Any
) -> IdpMetadataSeen:
    fields: dict[str, Any] = {
        "entity_id": f"{HTTPS}/metadata",
        "signing_certificates": (IDP_KEY.certificate,),
        "sso_endpoints": (Endpoint(c.BINDING_HTTP_REDIRECT, f"{HTTPS}/sso"),),
        "slo_endpoints": (Endpoint(c.BINDING_HTTP_REDIRECT, f"{HTTPS}/slo"),),
    }
    xml = build_idp_metadata(IdPMetadata(**{**fields, **changes}), valid_until=valid_until)
    return IdpMetadataSeen(xml, "test", now)


def test_good_metadata_passes_and_the_mock_idps_warns_only_of_http() -> None:
    good = {k: outcome(check, metadata_seen()) for k, check in METADATA_BY_ID.items()}
    assert good == {k: "pass" for k in METADATA_BY_ID} | {"idp.metadata.valid-until": "skip"}
    mock = IdpMetadataSeen(make_idp()[0].metadata_xml(), BASE, NOW)
    assert failing(IDP_METADATA_CHECKS, mock) == {"idp.metadata.endpoints-tls"}
    assert METADATA_BY_ID["idp.metadata.endpoints-tls"].level == "SHOULD"  # a WARN


CERT_END = IDP_KEY.certificate.not_valid_after_utc


@pytest.mark.parametrize(
    ("seen", "check_id", "verdict"),
    [
        (IdpMetadataSeen(b"<x/>", "test", NOW), "idp.metadata.idp-descriptor", "fail"),
        (IdpMetadataSeen(b"<x/>", "test", NOW), "idp.metadata.entity-id", "skip"),
        (metadata_seen(entity_id="idp-one"), "idp.metadata.entity-id", "fail"),
        (metadata_seen(entity_id="urn:example:idp"), "idp.metadata.entity-id", "pass"),
        (metadata_seen(signing_certificates=()), "idp.metadata.signing-certificates", "fail"),
        (
            metadata_seen(CERT_END + dt.timedelta(days=1)),
            "idp.metadata.signing-certificates",
            "fail",
        ),
        (
            metadata_seen(CERT_END - dt.timedelta(days=3)),
            "idp.metadata.signing-certificates",
            "warn",
        ),
        (
            metadata_seen(sso_endpoints=(Endpoint(c.BINDING_SOAP, f"{HTTPS}/soap"),)),
            "idp.metadata.sso-endpoints",
            "fail",
        ),
        (
            metadata_seen(sso_endpoints=(Endpoint(c.BINDING_HTTP_POST, "/sso"),)),
            "idp.metadata.sso-endpoints",
            "fail",
        ),
        (
            metadata_seen(slo_endpoints=(Endpoint("urn:x", f"{HTTPS}/slo"),)),
            "idp.metadata.slo-endpoints",
            "fail",
        ),
        (metadata_seen(slo_endpoints=()), "idp.metadata.slo-endpoints", "skip"),
        (metadata_seen(valid_until="2026-02-01T00:00:00Z"), "idp.metadata.valid-until", "fail"),
        (metadata_seen(valid_until="2027-02-01T00:00:00Z"), "idp.metadata.valid-until", "pass"),
    ],
)
def test_metadata_judges(seen: IdpMetadataSeen, check_id: str, verdict: str) -> None:
    assert outcome(METADATA_BY_ID[check_id], seen) == verdict


# --------------------------------------------------------------------------------- SCIM

SCIM_BY_ID = {check.id: check for check in IDP_SCIM_CHECKS}
SCIM = "application/scim+json"


def entry(
    method: str,
    path: str,
    body: Any = None,
    *,
    status: int = 200,
    answer: Any = None,
    media: str = SCIM,
    deviations: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One entry of the reference SP's SCIM journal, as its JSON has it."""
    return {
        "seq": 1,
        "method": method,
        "path": f"/scim/v2/{path}",
        "query": "",
        "requestHeaders": {"content-type": media} if body is not None else {},
        "requestBody": json.dumps(body) if body is not None else "",
        "status": status,
        "responseBody": json.dumps(answer) if answer is not None else "",
        "deviations": [
            {"code": code, "detail": "...", "rule": KNOWN_DEVIATIONS[code][0]}
            for code in deviations
        ],
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}


USER = {"schemas": [USER_SCHEMA], "userName": "dana@example.com", "active": True}
ENTRA_DEACTIVATE = patch({"op": "Replace", "path": "active", "value": "False"})
ENTRA_REMOVE = patch({"op": "Remove", "path": "members", "value": [{"value": "u1"}]})
COMPAT_REPLACE = patch({"op": "replace", "value": {"name.givenName": "Dana"}})
ENTRA_MANAGER = patch({"op": "Add", "path": f"{ENTERPRISE_USER_SCHEMA}:manager", "value": "u2"})
# (vendor, journal entry, the checks that fail)
SCIM_CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("generic", entry("POST", "Users", USER, status=201), set()),
    ("generic", entry("GET", "Users/u9", status=404), set()),  # a lookup of what is gone
    ("okta", entry("POST", "Users", USER, status=409, answer={"scimType": "uniqueness"}), set()),
    ("generic", entry("POST", "Users", {"userName": "x"}, status=201), {"idp.scim.schemas"}),
    ("generic", entry("PATCH", "Users/u1", {"Operations": []}), {"idp.scim.patch-op"}),
    ("ping", entry("PATCH", "Users/u1", patch()), {"idp.scim.patch-op"}),
    (
        "generic",
        entry(
            "PATCH",
            "Users/u1",
            patch({"op": "move"}),
            status=400,
            answer={"scimType": "invalidSyntax", "detail": "op"},
        ),
        {"idp.scim.accepted"},
    ),
    (
        "entra",
        entry(
            "PATCH",
            "Users/u1",
            ENTRA_DEACTIVATE,
            deviations=("patch-op-not-lowercase", "boolean-as-string"),
        ),
        set(),
    ),
    (
        "entra",
        entry(
            "PATCH",
            "Groups/g1",
            ENTRA_REMOVE,
            deviations=("patch-op-not-lowercase", "members-remove-with-value"),
        ),
        set(),
    ),
    (
        "entra",
        entry(
            "PATCH",
            "Users/u1",
            ENTRA_MANAGER,
            deviations=("patch-op-not-lowercase", "complex-as-value-string"),
        ),
        set(),
    ),
    (
        "entra-compat",
        entry("PATCH", "Users/u1", COMPAT_REPLACE, deviations=("pathless-dotted-key",)),
        set(),
    ),
    (
        "entra-compat",
        entry(
            "PATCH",
            "Users/u1",
            ENTRA_DEACTIVATE,
            deviations=("patch-op-not-lowercase", "boolean-as-string"),
        ),
        {"idp.scim.deviations"},
    ),
    (
        "entra",
        entry("PATCH", "Users/u1", COMPAT_REPLACE, deviations=("pathless-dotted-key",)),
        {"idp.scim.deviations"},
    ),
    (
        "generic",
        entry("PATCH", "Users/u1", ENTRA_DEACTIVATE, deviations=("patch-op-not-lowercase",)),
        {"idp.scim.deviations"},
    ),
    (
        "okta",
        entry(
            "POST",
            "Users",
            USER,
            status=201,
            media="application/json",
            deviations=("content-type-not-scim",),
        ),
        set(),
    ),
    (
        "generic",
        entry(
            "POST",
            "Users",
            USER,
            status=201,
            media="text/json",
            deviations=("content-type-not-scim",),
        ),
        {"idp.scim.content-type"},
    ),
    (
        "entra",
        entry("POST", "Users", USER, status=201, media="application/json"),
        {"idp.scim.content-type"},
    ),
]


@pytest.mark.parametrize(("vendor", "journal", "fails"), SCIM_CASES)
def test_scim_judges_per_vendor(vendor: str, journal: dict[str, Any], fails: set[str]) -> None:
    assert failing(IDP_SCIM_CHECKS, ScimRequestSeen(journal, vendor)) == fails


def test_a_documented_deviation_is_named_in_what_was_observed() -> None:
    journal = entry("PATCH", "Users/u1", ENTRA_DEACTIVATE, deviations=("boolean-as-string",))
    judge = SCIM_BY_ID["idp.scim.deviations"].judge
    assert judge is not None
    observed = judge(ScimRequestSeen(journal, "entra"))
    assert observed is not None
    assert observed.observed == "deviation: boolean-as-string (documented entra behaviour)"
    with pytest.raises(CheckFailed) as failed:
        judge(ScimRequestSeen(journal, "okta"))
    assert "RFC7643-2.3.2" in failed.value.message


def test_an_idp_initiated_response_passes_with_no_request() -> None:
    idp, sp = make_idp()
    login = idp.start_idp_initiated(sp.entity_id, relay_state="/rs")
    user = idp.directory.get_user("alice@example.com")
    assert user is not None
    message = idp.issue_response(login, user)
    seen = dataclasses.replace(
        sign_in(idp, sp), xml=message.xml, request_id=None, relay_state_returned=message.relay_state
    )
    assert parse_xml(seen.xml).get("InResponseTo") is None
    assert failing(IDP_RESPONSE_CHECKS, seen) == set()
