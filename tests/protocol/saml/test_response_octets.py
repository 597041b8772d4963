"""A clean Response written as octets (response_octets) is the one the tree path builds, byte
for byte: every shape a ResponseSpec can take, values that need escaping, each protection."""

import datetime as dt
import random
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from signxml import XMLVerifier  # type: ignore[attr-defined]

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import EncryptionChoice, decrypt_element
from harness.protocol.saml.mutators import Draft, MutationContext, MutatorCall, mutate
from harness.protocol.saml.response import (
    Attribute,
    Protection,
    ResponseSpec,
    build_response,
    signed_assertion,
)
from harness.protocol.saml.signing import SignatureChoice
from harness.protocol.xml import parse_xml, to_bytes

from .test_response import NOW, NS, spec

TRICKY = "a&b <c> \"d\" 'e' ü 𝄞 x\r\ny\tz ]]>"

SHAPES: dict[str, ResponseSpec] = {
    "plain": spec(),
    "escaping": replace(
        spec(),
        response_id="_r&<>\"'",
        assertion_id='_a"&',
        issuer="https://idp.test/?a=1&b=<2>",
        name_id=TRICKY,
        name_id_format="urn:x&y",
        name_id_sp_name_qualifier=TRICKY,
        name_id_name_qualifier='q"<',
        destination='https://sp.test/acs?x="1"&y=2',
        in_response_to="_req<&>",
        recipient="https://sp.test/acs\n&",
        subject_in_response_to='_req\t"',
        address="10.0.0.1&",
        audience_restrictions=(("https://sp.test/?a&b", TRICKY), ()),
        session_index="_s&<",
        authn_context_class="urn:ac&<>",
        attributes=(
            Attribute("groups", ("R&D <core>", 'say "hi"', "Büro", "\r\n", ""), c.ATTRNAME_BASIC),
            Attribute('name&<"', (TRICKY,), "urn:fmt&", 'Friendly "<&>" ü'),
            Attribute("empty", ()),
        ),
        status_message="msg & <more>",
    ),
    "all-optional": replace(
        spec(),
        subject_not_before=NOW - dt.timedelta(minutes=1),
        address="192.0.2.1",
        name_id_name_qualifier="https://idp.test",
        name_id_sp_name_qualifier="https://sp.test",
        one_time_use=True,
        audience_restrictions=(("a", "b"), ("c",)),
        assertion_issuer="https://other.test",
        issuer_format_entity=True,
    ),
    "sparse": replace(
        spec(),
        name_id="",
        issuer="",
        destination=None,
        in_response_to=None,
        recipient=None,
        subject_in_response_to=None,
        subject_not_on_or_after=None,
        audience_restrictions=(),
        not_before=None,
        not_on_or_after=None,
        session_index=None,
        session_not_on_or_after=None,
        attributes=(),
        include_authn_statement=False,
    ),
    "okta": replace(
        spec(), protocol_prefix="saml2p", assertion_prefix="saml2", issuer_format_entity=True
    ),
    "entra": replace(spec(), assertion_prefix=None, typed_attribute_values=False),
    "default-namespace-typed": replace(spec(), assertion_prefix=None),
    "error-status": replace(
        spec(),
        status_code=c.STATUS_REQUESTER,
        status_subcode=c.STATUS_INVALID_NAMEID_POLICY,
        status_message="cannot issue <x> & <y>",
        include_assertion=False,
    ),
    "no-response-issuer": replace(spec(), omit_response_issuer=True, version="2.0&"),
}


def protections(key: KeyPair) -> dict[str, Protection]:
    return {
        "both": Protection(key),
        "assertion": Protection(key, sign_assertion=True, sign_response=False),
        "response": Protection(key, sign_assertion=False, sign_response=True),
        "none": Protection(key, sign_assertion=False, sign_response=False),
        "no-key": Protection(None),
        "no-certificate": Protection(key, include_certificate=False),
        "sha1": Protection(key, signature=SignatureChoice.for_algorithm("rsa-sha1")),
        "sha512": Protection(key, signature=SignatureChoice.for_algorithm("rsa-sha512")),
    }


def written(draft: Draft) -> bytes:
    mutated = mutate(draft, (), MutationContext(NOW, random.Random(5)))
    assert mutated.tree is None, "the octets path was not taken"
    return mutated.wire


def built(draft: Draft) -> bytes:
    return to_bytes(build_response(draft.spec, draft.protection, random.Random(5)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "protection",
    ["both", "assertion", "response", "none", "no-key", "no-certificate", "sha1", "sha512"],
)
def test_written_is_built_byte_for_byte(shape: str, protection: str, idp_key: KeyPair) -> None:
    draft = Draft(SHAPES[shape], protections(idp_key)[protection])
    assert written(draft) == built(draft)


def test_escaped_values_read_back_and_verify_in_signxml(idp_key: KeyPair) -> None:
    root = parse_xml(written(Draft(SHAPES["escaping"], Protection(idp_key))))
    assertion = root.find("saml:Assertion", NS)
    assert assertion is not None
    # The carriage return too: written as a character reference, it survives end-of-line handling.
    assert assertion.findtext("saml:Subject/saml:NameID", namespaces=NS) == TRICKY
    values = [v.text or "" for v in assertion.iterfind(".//saml:AttributeValue", NS)]
    assert values[:3] == ["R&D <core>", 'say "hi"', "Büro"]
    for element in (root, assertion):
        XMLVerifier().verify(element, x509_cert=idp_key.certificate_pem().decode())


@pytest.mark.parametrize("shape", ["plain", "escaping", "okta", "entra"])
@pytest.mark.parametrize(
    "choice", [EncryptionChoice(), EncryptionChoice("aes128-cbc", "rsa-1_5")], ids=["gcm", "cbc"]
)
def test_encrypted_is_built_but_for_the_cipher_values(
    shape: str, choice: EncryptionChoice, idp_key: KeyPair, sp_key: KeyPair
) -> None:
    protection = Protection(idp_key, encrypt_to=sp_key.certificate, encryption=choice)
    mutated = mutate(Draft(SHAPES[shape], protection), (), MutationContext(NOW, random.Random(5)))
    assert mutated.tree is None
    tree = build_response(SHAPES[shape], protection, random.Random(5))
    plain = signed_assertion(SHAPES[shape], protection)
    assert plain is not None
    assert mutated.sealed_plaintext == to_bytes(plain)
    # The RSA padding of the wrapped key is random, and so the Response's digest and signature.
    values = re.compile(rb"(<(?:ds:DigestValue|ds:SignatureValue|xenc:CipherValue)>)[^<]*")
    assert values.sub(rb"\1", mutated.wire) == values.sub(rb"\1", to_bytes(tree))
    root = parse_xml(mutated.wire)
    XMLVerifier().verify(root, x509_cert=idp_key.certificate_pem().decode())
    encrypted = root.find(f"{{{c.SAML}}}EncryptedAssertion")
    assert encrypted is not None
    decrypted = decrypt_element(encrypted, [sp_key.private_key]).element
    assert to_bytes(decrypted) == to_bytes(parse_xml(to_bytes(plain)))
    XMLVerifier().verify(decrypted, x509_cert=idp_key.certificate_pem().decode())


def test_ecdsa_signatures_verify(ec_key: KeyPair) -> None:
    protection = Protection(ec_key, signature=SignatureChoice.for_algorithm("ecdsa-sha256"))
    root = parse_xml(written(Draft(SHAPES["escaping"], protection)))
    for element in (root, root.find("saml:Assertion", NS)):
        assert element is not None
        XMLVerifier().verify(element, x509_cert=ec_key.certificate_pem().decode())


def test_text_xml_cannot_carry_fails_as_the_tree_path_does(idp_key: KeyPair) -> None:
    draft = Draft(replace(spec(), name_id="a\x01b"), Protection(idp_key))
    with pytest.raises(ValueError, match="XML compatible"):
        mutate(draft, (), MutationContext(NOW, random.Random(5)))


def test_draft_mutators_are_written_and_later_stages_built(idp_key: KeyPair) -> None:
    draft = Draft(spec(), Protection(idp_key))
    context = MutationContext(NOW, random.Random(5))
    redrafted = mutate(draft, [MutatorCall("no-destination", {})], context)
    assert redrafted.tree is None
    assert b"Destination=" not in redrafted.wire
    corrupted = mutate(draft, [MutatorCall("corrupt-signature", {})], context)
    assert corrupted.tree is not None
    assert corrupted.wire == to_bytes(corrupted.tree)
    assert corrupted.message_id == "_resp"


def test_prefixes_that_clash_are_built(idp_key: KeyPair) -> None:
    draft = Draft(replace(spec(), assertion_prefix="samlp"), Protection(idp_key))
    mutated = mutate(draft, (), MutationContext(NOW, random.Random(5)))
    assert mutated.tree is not None
    assert mutated.wire == built(draft)


# Any text XML can carry (lxml refuses the rest, and so do both paths).
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff").filter(
        lambda ch: ch in "\t\n\r" or ord(ch) >= 0x20
    ),
    max_size=12,
)
OPTIONAL = st.none() | TEXT


@settings(max_examples=60, deadline=None)
@given(
    texts=st.fixed_dictionaries(
        {
            "name_id": TEXT,
            "issuer": TEXT,
            "destination": OPTIONAL,
            "in_response_to": OPTIONAL,
            "recipient": OPTIONAL,
            "address": OPTIONAL,
            "session_index": OPTIONAL,
            "status_message": OPTIONAL,
            "name_id_name_qualifier": OPTIONAL,
        }
    ),
    attributes=st.lists(
        st.builds(Attribute, TEXT, st.lists(TEXT, max_size=3).map(tuple), OPTIONAL, OPTIONAL),
        max_size=3,
    ).map(tuple),
    audiences=st.lists(st.lists(TEXT, max_size=2).map(tuple), max_size=2).map(tuple),
    prefixes=st.sampled_from([("samlp", "saml"), ("saml2p", "saml2"), ("samlp", None)]),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans()),
)
def test_any_spec_is_written_as_built(
    idp_key: KeyPair,
    texts: dict[str, str | None],
    attributes: tuple[Attribute, ...],
    audiences: tuple[tuple[str, ...], ...],
    prefixes: tuple[str, str | None],
    flags: tuple[bool, bool, bool, bool, bool],
) -> None:
    typed, entity, one_time_use, sign_assertion, sign_response = flags
    shape = replace(
        spec(),
        **texts,  # type: ignore[arg-type]
        attributes=attributes,
        audience_restrictions=audiences,
        protocol_prefix=prefixes[0],
        assertion_prefix=prefixes[1],
        typed_attribute_values=typed,
        issuer_format_entity=entity,
        one_time_use=one_time_use,
    )
    draft = Draft(shape, Protection(idp_key, sign_assertion, sign_response))
    assert written(draft) == built(draft)
