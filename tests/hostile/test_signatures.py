"""A malformed ds:Signature is the peer's protocol error, never our 500.

An empty <ds:SignatureValue/> used to raise a TypeError inside signxml, which escaped as a 500 on
the SP's ACS and SLO and the IdP's SSO and SLO. Every broken shape below must be a
SignatureError with a reason at the core, and a 403 naming that reason at the endpoints.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree
from starlette.testclient import TestClient

from harness.protocol.keys import KeyPair, load_key_pair
from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import build_authn_request
from harness.protocol.saml.bindings import encode_post_value
from harness.protocol.saml.errors import SignatureError
from harness.protocol.saml.signing import sign_element, verify_element
from harness.protocol.xml import parse_xml, to_bytes
from mock_idp.app import create_app
from mock_idp.idp import MockIdP
from tests.mock_idp.conftest import BASE, NOW, frozen_clock
from tests.mock_idp.fake_sp import FakeSP
from tests.reference_sp.conftest import World, make_world

KEYS = Path(__file__).parents[1] / "samples" / "saml" / "keys"
JSON = {"Accept": "application/json"}


def key(name: str) -> KeyPair:
    return load_key_pair((KEYS / f"{name}.key").read_bytes(), (KEYS / f"{name}.crt").read_bytes())


def ds(tag: str) -> str:
    return c.q(c.DS, tag)


def _first(signature: etree._Element, path: str) -> etree._Element:
    found = signature.find(path)
    assert found is not None, path
    return found


def _drop(signature: etree._Element, path: str) -> None:
    element = _first(signature, path)
    parent = element.getparent()
    assert parent is not None
    parent.remove(element)


def _double(signature: etree._Element, path: str) -> None:
    element = _first(signature, path)
    element.addnext(copy.deepcopy(element))


def _set(path: str, attribute: str | None, value: str | None) -> Callable[[etree._Element], None]:
    def mutate(signature: etree._Element) -> None:
        element = _first(signature, path)
        if attribute is None:
            element.text = value
        elif value is None:
            del element.attrib[attribute]
        else:
            element.set(attribute, value)

    return mutate


SIGNED_INFO = ds("SignedInfo")
REFERENCE = f"{SIGNED_INFO}/{ds('Reference')}"
SIGNATURE_VALUE = ds("SignatureValue")
DIGEST_VALUE = f"{REFERENCE}/{ds('DigestValue')}"

# name -> (how to break the ds:Signature, the reason, a phrase the message must carry)
SHAPES: dict[str, tuple[Callable[[etree._Element], None], str, str]] = {
    "empty SignatureValue": (_set(SIGNATURE_VALUE, None, None), "bad-signature", "empty"),
    "blank SignatureValue": (_set(SIGNATURE_VALUE, None, " \n\t "), "bad-signature", "empty"),
    "non-base64 SignatureValue": (
        _set(SIGNATURE_VALUE, None, "!!not*base64"),
        "bad-signature",
        "not base64",
    ),
    "no SignatureValue": (lambda s: _drop(s, SIGNATURE_VALUE), "bad-signature", "SignatureValue"),
    "empty DigestValue": (_set(DIGEST_VALUE, None, None), "bad-signature", "DigestValue is empty"),
    "non-base64 DigestValue": (
        _set(DIGEST_VALUE, None, "%%%"),
        "bad-signature",
        "DigestValue is not base64",
    ),
    "no DigestValue": (lambda s: _drop(s, DIGEST_VALUE), "bad-signature", "DigestValue"),
    "no SignedInfo": (lambda s: _drop(s, SIGNED_INFO), "bad-signature", "0 ds:SignedInfo"),
    "two SignedInfo": (lambda s: _double(s, SIGNED_INFO), "bad-signature", "2 ds:SignedInfo"),
    "zero References": (lambda s: _drop(s, REFERENCE), "bad-reference", "0 References"),
    "two References": (lambda s: _double(s, REFERENCE), "bad-reference", "2 References"),
    "unknown SignatureMethod": (
        _set(f"{SIGNED_INFO}/{ds('SignatureMethod')}", "Algorithm", "urn:x:unknown"),
        "bad-signature",
        "unknown SignatureMethod",
    ),
    "SignatureMethod without Algorithm": (
        _set(f"{SIGNED_INFO}/{ds('SignatureMethod')}", "Algorithm", None),
        "bad-signature",
        "unknown SignatureMethod",
    ),
    "unknown DigestMethod": (
        _set(f"{REFERENCE}/{ds('DigestMethod')}", "Algorithm", "urn:x:unknown"),
        "bad-signature",
        "unknown DigestMethod",
    ),
    "unknown CanonicalizationMethod": (
        _set(f"{SIGNED_INFO}/{ds('CanonicalizationMethod')}", "Algorithm", "urn:x:unknown"),
        "bad-signature",
        "CanonicalizationMethod",
    ),
    "unknown Transform": (  # refused before any transform runs (Core 5.4.4)
        _set(f"{REFERENCE}/{ds('Transforms')}/{ds('Transform')}", "Algorithm", "urn:x:unknown"),
        "bad-transform",
        "",
    ),
}


def break_signatures(xml: bytes, shape: str) -> bytes:
    """``xml`` with every ds:Signature in it broken the way ``shape`` names."""
    root = etree.fromstring(xml)
    signatures = root.findall(f".//{ds('Signature')}")
    assert signatures, "the control message must be signed"
    for signature in signatures:
        SHAPES[shape][0](signature)
    return to_bytes(root)


# ------------------------------------------------------------------------------------ core


@pytest.fixture(scope="module")
def idp_key() -> KeyPair:
    return key("idp")


def signed_response(key_pair: KeyPair) -> bytes:
    root = etree.fromstring(
        f'<samlp:Response xmlns:samlp="{c.SAMLP}" xmlns:saml="{c.SAML}" ID="_r1" Version="2.0">'
        "<saml:Issuer>https://idp.test</saml:Issuer><x>payload</x></samlp:Response>".encode()
    )
    return to_bytes(sign_element(root, key_pair))


def test_control_verifies(idp_key: KeyPair) -> None:
    verified = verify_element(parse_xml(signed_response(idp_key)), [idp_key.certificate])
    assert verified.signed_element.get("ID") == "_r1"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_malformed_signature_is_a_signature_error_at_the_core(shape: str, idp_key: KeyPair) -> None:
    broken = parse_xml(break_signatures(signed_response(idp_key), shape))
    _mutate, reason, phrase = SHAPES[shape]
    with pytest.raises(SignatureError) as info:
        verify_element(broken, [idp_key.certificate])
    assert info.value.reason == reason
    assert phrase in info.value.message


def test_anything_signxml_raises_on_a_peer_signature_is_a_signature_error(
    idp_key: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shapes above are caught before signxml; this is the net for the ones nobody named
    # yet (signxml 4 raised a TypeError on an empty SignatureValue).
    def explode(*_args: object, **_kwargs: object) -> None:
        raise TypeError("argument should be a bytes-like object, not 'NoneType'")

    monkeypatch.setattr("harness.protocol.saml.signing.XMLVerifier.verify", explode)
    # A comment in SignedInfo is outside the common shape verified without signxml.
    root = parse_xml(signed_response(idp_key))
    _first(root, f"{ds('Signature')}/{SIGNED_INFO}").insert(0, etree.Comment("unusual"))
    with pytest.raises(SignatureError) as info:
        verify_element(root, [idp_key.certificate])
    assert info.value.reason == "bad-signature"
    assert "malformed signature" in info.value.message


# ----------------------------------------------------------------------- SP's ACS, in-process


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    # Unencrypted so the assertion's own signature is in reach of the mutation too.
    for world in make_world("sqlite://", encrypt=False):
        world.provision(USER)
        yield world


USER = "sigshape@acme.test"


def test_sp_acs_control_signs_in(world: World) -> None:
    browser = world.http_session()
    response = world.post(world.response_for(USER, browser=browser), browser)
    assert response.status_code == 303, response.text


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_sp_acs_refuses_malformed_signature_with_a_reason(world: World, shape: str) -> None:
    browser = world.http_session()
    message = world.response_for(USER, browser=browser)
    xml = base64.b64decode(message.fields["SAMLResponse"])
    fields = dict(message.fields)
    fields["SAMLResponse"] = encode_post_value(break_signatures(xml, shape))
    answer = browser.post("/saml/acs", data=fields, headers=JSON)
    assert answer.status_code == 403, answer.text
    assert answer.json()["reason"] == SHAPES[shape][1]
    assert browser.get("/api/me").status_code == 401  # and nobody is signed in


# ---------------------------------------------------------------- IdP's SSO: signed AuthnRequest


@pytest.fixture(scope="module")
def idp_and_sp() -> Iterator[tuple[TestClient, FakeSP]]:
    sp = FakeSP(key=key("sp"), sign_requests=True)
    idp = MockIdP(BASE, signing_keys=[key("idp")], seed=7, clock=frozen_clock())
    idp.register_sp_metadata(sp.metadata())
    with TestClient(create_app(idp), base_url=BASE, follow_redirects=False) as client:
        yield client, sp


def signed_request_form(sp: FakeSP, shape: str | None) -> dict[str, str]:
    assert sp.key is not None
    root = sign_element(build_authn_request(sp.authn_request(NOW, f"{BASE}/saml/sso")), sp.key)
    xml = to_bytes(root)
    if shape is not None:
        xml = break_signatures(xml, shape)
    return {"SAMLRequest": encode_post_value(xml), "RelayState": "rs"}


def test_idp_sso_control_accepts_signed_request(
    idp_and_sp: tuple[TestClient, FakeSP],
) -> None:
    client, sp = idp_and_sp
    page = client.post("/saml/sso", data=signed_request_form(sp, None))
    assert page.status_code == 200 and 'name="password"' in page.text


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_idp_sso_refuses_malformed_signature_with_a_reason(
    idp_and_sp: tuple[TestClient, FakeSP], shape: str
) -> None:
    client, sp = idp_and_sp
    refused = client.post("/saml/sso", data=signed_request_form(sp, shape), headers=JSON)
    assert refused.status_code == 403, refused.text
    assert refused.json()["reason"] == SHAPES[shape][1]
