"""The parser attacks (catalogue rows X01-X06, W09, W11, W12): each sends its payload, keeps the
IdP's signature over what it did not touch where the row relies on it, and the strict validator
refuses it (X05 aside: the strict reading is the whole NameID). Nothing is fetched on our side."""

from __future__ import annotations

import dataclasses
import random
import re

import pytest
import xmlsec
from lxml import etree

from harness.out_of_band import OutOfBandListener
from harness.protocol.keys import KeyPair
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import EncryptionChoice, decrypt_element
from harness.protocol.saml.mutators import (
    Draft,
    MutationContext,
    MutatorCall,
    MutatorParamError,
    mutate,
)
from harness.protocol.saml.parser_attacks import PARSER_MUTATORS
from harness.protocol.saml.response import Protection
from harness.protocol.saml.signing import SignatureChoice, verify_element
from harness.protocol.saml.sp_validation import validate_response
from harness.protocol.xml import parse_xml

from .test_response import NOW, NS, spec
from .test_sp_validation import expectations

SHA1 = SignatureChoice("rsa-sha1", "sha1")


def wire(
    idp_key: KeyPair,
    *calls: MutatorCall,
    sp_key: KeyPair | None = None,
    signature: SignatureChoice | None = None,
    sign_response: bool = True,
) -> bytes:
    protection = Protection(
        idp_key,
        sign_response=sign_response,
        signature=signature or SignatureChoice(),
        encrypt_to=sp_key.certificate if sp_key is not None else None,
        encryption=EncryptionChoice(),
    )
    context = MutationContext(now=NOW, rng=random.Random(5))
    return mutate(Draft(spec(), protection), calls, context).wire


def call(name: str, **params: object) -> MutatorCall:
    return MutatorCall(name, params)


def strictly(idp_key: KeyPair, data: bytes, sp_key: KeyPair | None = None, **changes: object):  # type: ignore[no-untyped-def]
    keys = (sp_key.private_key,) if sp_key is not None else ()
    return validate_response(data, expectations(idp_key, decryption_keys=keys, **changes))


def xmlsec_verifies(element: etree._Element, key: KeyPair) -> None:
    xmlsec.tree.add_ids(element, ["ID"])
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(
        key.certificate_pem(), xmlsec.constants.KeyDataFormatCertPem
    )
    context.verify(element.find("ds:Signature", NS))


# ------------------------------------------------------------------ every row, strictly refused


@pytest.mark.parametrize("encrypted", [False, True])
@pytest.mark.parametrize("sha1", [False, True])
@pytest.mark.parametrize(
    "name", sorted(m.name for m in PARSER_MUTATORS if m.name != "comment-in-name-id")
)
def test_the_strict_validator_refuses_every_parser_attack(
    name: str, sha1: bool, encrypted: bool, idp_key: KeyPair, sp_key: KeyPair
) -> None:
    data = wire(
        idp_key, call(name), sp_key=sp_key if encrypted else None, signature=SHA1 if sha1 else None
    )
    with pytest.raises(Refusal) as refused:
        strictly(idp_key, data, sp_key if encrypted else None, allow_sha1=sha1)
    assert refused.value.reason in {"doctype", "bad-transform", "unexpected-element"}


# ------------------------------------------------------------------ X01, X02: only the DTD


@pytest.mark.parametrize("encrypted", [False, True])
def test_external_entity_leaves_the_signed_message_as_it_was(
    encrypted: bool, idp_key: KeyPair, sp_key: KeyPair
) -> None:
    key = sp_key if encrypted else None
    url = "http://oob.test/case-1/entity"
    sent = wire(idp_key, call("external-entity", url=url), sp_key=key)
    head, body = sent.split(b"\n", 1)
    assert head == b'<!DOCTYPE samlp:Response [<!ENTITY oob SYSTEM "' + url.encode() + b'">]>'
    assert body.count(b"&oob;") == 1
    # Without the DTD and its one reference, the bytes are the good response, signed (byte
    # for byte when nothing is encrypted: encryption draws fresh keys).
    if not encrypted:
        assert body.replace(b"&oob;", b"") == wire(idp_key)
    assert strictly(idp_key, body.replace(b"&oob;", b""), key).name_id == "alice@example.com"


def test_external_dtd_only_prepends_a_doctype(idp_key: KeyPair) -> None:
    sent = wire(idp_key, call("external-dtd", url="https://oob.test/x.dtd"))
    assert sent == b'<!DOCTYPE samlp:Response SYSTEM "https://oob.test/x.dtd">\n' + wire(idp_key)


def test_entity_expansion_is_small_on_the_wire_and_huge_expanded(idp_key: KeyPair) -> None:
    sent = wire(idp_key, call("entity-expansion"))
    good = wire(idp_key)
    assert len(sent) - len(good) < 1200
    declarations = dict(re.findall(rb'<!ENTITY (lol\d+) "([^"]*)">', sent))
    assert len(declarations) == 11 and declarations[b"lol10"].count(b"&lol9;") == 10
    assert b"&lol10;</saml:NameID>" in sent
    deeper = wire(idp_key, call("entity-expansion", levels=3, width=4))
    assert b"<!ENTITY lol3 " in deeper and b"<!ENTITY lol4 " not in deeper


@pytest.mark.parametrize(
    "params", [{"url": 'http://x/"><x'}, {"url": ""}, {"levels": 0}, {"width": 99}]
)
def test_payload_parameters_are_checked(params: dict[str, object], idp_key: KeyPair) -> None:
    name = "external-entity" if "url" in params else "entity-expansion"
    with pytest.raises(MutatorParamError):
        wire(idp_key, call(name, **params))


def test_two_doctypes_are_refused_as_a_combination(idp_key: KeyPair) -> None:
    with pytest.raises(MutatorParamError, match="one per document"):
        wire(idp_key, call("external-dtd"), call("entity-expansion"))


# ------------------------------------------------------------------ X03, X04: transforms


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [
        ("xslt-transform", "http://www.w3.org/TR/1999/REC-xslt-19991116"),
        ("xpath-transform", "http://www.w3.org/TR/1999/REC-xpath-19991116"),
        ("base64-transform", "http://www.w3.org/2000/09/xmldsig#base64"),
    ],
)
def test_a_transform_goes_into_the_assertion_signature_under_a_good_response_signature(
    name: str, algorithm: str, idp_key: KeyPair
) -> None:
    root = parse_xml(wire(idp_key, call(name, url="http://oob.test/t")))
    transforms = root.findall("saml:Assertion/ds:Signature//ds:Transform", NS)
    assert transforms[0].get("Algorithm") == algorithm
    assert len(transforms) == 3
    verify_element(root, [idp_key.certificate])  # the Response's signature covers it
    if name == "xslt-transform":
        copy_of = transforms[0].find(".//{http://www.w3.org/1999/XSL/Transform}copy-of")
        assert copy_of is not None and copy_of.get("select") == "document('http://oob.test/t')"
    with pytest.raises(Refusal) as refused:
        strictly(idp_key, etree.tostring(root))
    assert (refused.value.reason, refused.value.rule) == ("bad-transform", "SAML-CORE-5.4.4")


def test_without_an_assertion_signature_the_transform_goes_into_the_response_one(
    idp_key: KeyPair,
) -> None:
    protection = Protection(idp_key, sign_assertion=False)
    context = MutationContext(now=NOW, rng=random.Random(5))
    root = mutate(Draft(spec(), protection), [call("xpath-transform")], context).root
    assert len(root.findall("ds:Signature//ds:Transform", NS)) == 3


def test_a_transform_travels_inside_an_encrypted_assertion(
    idp_key: KeyPair, sp_key: KeyPair
) -> None:
    root = parse_xml(wire(idp_key, call("xslt-transform"), sp_key=sp_key))
    assertion = decrypt_element(
        root.find("saml:EncryptedAssertion", NS), [sp_key.private_key]
    ).element
    assert len(assertion.findall("ds:Signature//ds:Transform", NS)) == 3
    verify_element(root, [idp_key.certificate])


def test_no_fetch_happens_when_the_strict_validator_refuses(idp_key: KeyPair) -> None:
    with OutOfBandListener() as oob:
        cases = {
            name: oob.new_token(name)
            for name in ("external-entity", "external-dtd", "xslt-transform")
        }
        for name, token in cases.items():
            with pytest.raises(Refusal):
                strictly(idp_key, wire(idp_key, call(name, url=oob.url(token))))
        assert oob.hits() == []


# ------------------------------------------------------------------ X05: the IdP signs the split


@pytest.mark.parametrize(
    ("kind", "marker"),
    [("comment", b"<!---->"), ("pi", b"<?split ?>"), ("cdata", b"<![CDATA[")],
)
@pytest.mark.parametrize("sha1", [False, True])
def test_a_split_name_id_is_signed_by_the_idp_and_read_whole(
    kind: str, marker: bytes, sha1: bool, idp_key: KeyPair
) -> None:
    value = "admin@example.com.evil.example"
    sent = wire(
        idp_key,
        call("comment-in-name-id", value=value, kind=kind),
        signature=SHA1 if sha1 else None,
    )
    assert b">admin@example.com" + marker in sent
    root = etree.fromstring(sent, etree.XMLParser(strip_cdata=False))
    assertion = root.find("saml:Assertion", NS)
    # Exclusive C14N drops comments and reads CDATA as text: the IdP's signature holds, in
    # signxml and in libxmlsec.
    verify_element(assertion, [idp_key.certificate], allow_sha1=True)
    xmlsec_verifies(assertion, idp_key)
    assert strictly(idp_key, sent, allow_sha1=sha1).name_id == value


@pytest.mark.parametrize("kind", ["comment", "pi"])
def test_a_split_name_id_inside_an_encrypted_assertion(
    kind: str, idp_key: KeyPair, sp_key: KeyPair
) -> None:
    sent = wire(idp_key, call("comment-in-name-id", kind=kind), sp_key=sp_key)
    assert b"NameID" not in sent
    root = parse_xml(sent)
    assertion = decrypt_element(
        root.find("saml:EncryptedAssertion", NS), [sp_key.private_key]
    ).element
    assert assertion.find(".//saml:NameID", NS).text == "admin@example.com"  # first text node
    login = strictly(idp_key, sent, sp_key)
    assert login.encrypted and login.name_id == "admin@example.com.evil.example"


def test_split_defaults_and_limits(idp_key: KeyPair) -> None:
    sent = wire(idp_key, call("comment-in-name-id", value="ceo@corp.example.attacker.test"))
    assert b">ceo@corp.example<!---->.attacker.test<" in sent
    sent = wire(idp_key, call("comment-in-name-id", value="ceo@corp.example", split=3))
    assert b">ceo<!---->@corp.example<" in sent
    for params in ({"value": "nodots", "split": 0}, {"kind": "entity"}, {"split": 99}):
        with pytest.raises(MutatorParamError):
            wire(idp_key, call("comment-in-name-id", **params))


# ------------------------------------------------------------------ X06: prefixes


def test_a_look_alike_uses_the_saml_prefix_for_another_namespace(idp_key: KeyPair) -> None:
    sent = wire(
        idp_key,
        call("unsigned-response"),
        call("prefix-redeclared", value="boss@example.com"),
        sign_response=True,
    )
    assert re.search(rb'<saml:Assertion [^>]*xmlns:saml="urn:sso-harness:not-saml:assertion"', sent)
    assert re.search(rb'<ds:Signature [^>]*xmlns:ds="urn:sso-harness:not-xmldsig"', sent)
    root = parse_xml(sent)
    lookalike, real = (e for e in root if etree.QName(e).localname == "Assertion")
    assert lookalike.prefix == real.prefix == "saml"
    assert etree.QName(real).namespace == c.SAML
    verify_element(real, [idp_key.certificate])  # the real assertion's signature holds
    with pytest.raises(Refusal) as refused:
        strictly(idp_key, sent)
    assert refused.value.reason == "unexpected-element"


# ------------------------------------------------------------------ W09, W11, W12: wrappings


def test_xsw10_moves_the_signature_and_names_ids_through_entities(idp_key: KeyPair) -> None:
    sent = wire(idp_key, call("xsw10", value="boss@example.com"))
    assert sent.startswith(
        b'<!DOCTYPE samlp:Response [<!ENTITY idViaEntity "_assert">'
        b'<!ENTITY BypassIDUniqueness "&#x50;">]>'
    )
    body = sent.split(b"\n", 1)[1]
    tree = etree.fromstring(body.replace(b"&idViaEntity;", b"_r").replace(b"&Bypass", b"Bypass"))
    signature = tree.find("ds:Signature", NS)
    assert signature.find("ds:SignedInfo/ds:Reference", NS).get("URI") == "#_assert"
    signed_copy = signature.find("ds:Object/saml:Assertion", NS)
    evil = tree.find("saml:Assertion", NS)
    assert evil.get("ID") == "_assertffff" and evil.find("ds:Signature", NS) is None
    assert evil.find(".//saml:NameID", NS).text == "boss@example.com"
    # The copy in ds:Object is the assertion the IdP signed (its ID aside).
    signed_copy.set("ID", "_assert")
    verify_element(signed_copy, [idp_key.certificate])


def test_doctype_differential_hides_the_signed_original_in_cdata(idp_key: KeyPair) -> None:
    sent = wire(idp_key, call("doctype-differential", value="boss@example.com"))
    assert sent.startswith(b"<!DOCTYPE samlp:Response SYSTEM 'x\"><!--'>\n")
    # A conforming parser: the edited Response, with the original as text.
    conforming = etree.fromstring(sent, etree.XMLParser(load_dtd=False, no_network=True))
    assert conforming.find(".//saml:NameID", NS).text == "boss@example.com"
    # A parser ending the DOCTYPE at the first ">": the original, signed and valid.
    lax = re.sub(rb"<!DOCTYPE[^>]*>", b"", sent, count=1)
    assert strictly(idp_key, lax).name_id == "alice@example.com"


def test_namespace_differential_needs_the_attlist_to_find_the_signature(
    idp_key: KeyPair,
) -> None:
    sent = wire(idp_key, call("namespace-differential", value="boss@example.com"))
    assert b'<!ATTLIST Signature xmlns CDATA #FIXED "http://www.w3.org/2000/09/xmldsig#"' in sent
    # On the wire the real signature has no namespace of its own; libxml2 applies the DTD's
    # default xmlns and reads it as XML-DSig, a parser ignoring the DTD would not.
    assert re.search(rb"<samlp:StatusDetail><Signature><ds:SignedInfo", sent)
    tree = etree.fromstring(sent, etree.XMLParser(no_network=True))
    assert tree.find("samlp:Status/samlp:StatusDetail/ds:Signature", NS) is not None
    assert tree.find("ds:Signature", NS) is None
    assert tree.find(".//saml:NameID", NS).text == "boss@example.com"
    stub = tree.find("saml:Assertion/ds:Signature//ds:DigestValue", NS)
    assert stub.text == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="  # SHA-256 of nothing


def test_parser_mutators_cite_their_rows_rules(idp_key: KeyPair) -> None:
    rules = {m.name: m.rule for m in PARSER_MUTATORS}
    assert rules["xslt-transform"] == rules["xpath-transform"] == "SAML-CORE-5.4.4"
    assert rules["external-dtd"] == "IIP-G03" and rules["external-entity"] == "SDP-G03"
    assert rules["comment-in-name-id"] == "XMLDSIG-8.1.3"
    assert rules["prefix-redeclared"] == "SAML-CORE-1.2"
    for name in ("xsw10", "doctype-differential", "namespace-differential"):
        assert "CVE-2025-" in next(m.description for m in PARSER_MUTATORS if m.name == name)


def test_unsigned_messages_leave_xsw10_nothing_to_move(idp_key: KeyPair) -> None:
    protection = Protection(idp_key, sign_assertion=False)
    context = MutationContext(now=NOW, rng=random.Random(5))
    draft = dataclasses.replace(Draft(spec(), protection))
    with pytest.raises(Exception, match="xsw10"):
        mutate(draft, [call("xsw10")], context)
