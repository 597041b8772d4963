"""verify_element's common-shape path against signxml, verdict for verdict.

``verify_element`` verifies the shape SAML signatures take without signxml and hands every
other shape, and every failure, to signxml. Whatever it is given, its verdict must be
``verify_element_with_signxml``'s: the same element accepted (byte for byte, with the same
algorithms and certificate) or the same refusal (reason, rule and message), and the caller's
tree left as it was. The inputs: signatures made here and by libxmlsec1 in every shape the
common path takes (InclusiveNamespaces, comments, ECDSA, SHA-1...) and many it does not, every
signature and wrapping attack of the mutators, every other mutator, and tampering by hand.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree
from signxml import XMLVerifier  # type: ignore[attr-defined]

from harness.protocol.keys import KeyPair
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.errors import SignatureError
from harness.protocol.saml.mutators import MUTATORS, MutatorNoEffect, MutatorParamError
from harness.protocol.saml.response import (
    build_assertion,
    build_response_element,
)
from harness.protocol.saml.signature_parts import sign_signed_info
from harness.protocol.saml.signing import (
    SignatureChoice,
    VerifiedSignature,
    sign_element,
    verify_element,
    verify_element_with_signxml,
)
from harness.protocol.xml import XMLSecurityError, parse_xml, to_bytes

from .attacks import ENCRYPTION, SIGNING, Keys, send
from .conftest import sample_key
from .test_response import spec

GOLDEN = Path(__file__).parents[2] / "samples" / "saml" / "golden"
SIGNATURE = c.q(c.DS, "Signature")
ASSERTION = c.q(c.SAML, "Assertion")
Verify = Callable[..., VerifiedSignature]


# ------------------------------------------------------------------------ the verdicts


def _timeless(message: str) -> str:
    """signxml names the time of an expired certificate's check: two calls never agree on it."""
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", "<time>", message)


def verdicts(verify: Verify, element: etree._Element, trusted: list[x509.Certificate]) -> list:
    """What ``verify`` says of ``element`` with and without SHA-1 allowed, and, when it accepts,
    of the signed elements inside what it returned (as the SP goes on to the Assertion)."""
    found: list[object] = []
    for allow_sha1 in (False, True):
        before = etree.tostring(element)
        try:
            verified = verify(element, trusted, allow_sha1=allow_sha1)
        except SignatureError as exc:
            found.append(("refused", exc.reason, exc.rule, _timeless(exc.message)))
        else:
            signed = verified.signed_element
            found.append(
                (
                    "accepted",
                    etree.tostring(signed),
                    signed.getparent() is None,
                    verified.signature_method,
                    verified.digest_method,
                    verified.certificate.fingerprint(hashes.SHA256()),
                )
            )
            for inner in signed_elements(signed):
                if inner is not signed:
                    found.append(verdicts(verify, inner, trusted))
        assert etree.tostring(element) == before, "the caller's tree changed"
    return found


def signed_elements(root: etree._Element) -> list[etree._Element]:
    return [e for e in root.iter(etree.Element) if e.find(SIGNATURE) is not None]


def compare(xml: bytes, trusted: list[x509.Certificate]) -> list:
    """Both verdicts on every signed element of ``xml``; asserts they agree, returns them."""
    ours, reference = parse_xml(xml), parse_xml(xml)
    targets = signed_elements(ours)
    assert len(targets) == len(signed_elements(reference))
    outcomes = []
    for mine, theirs in zip(targets, signed_elements(reference), strict=True):
        got = verdicts(verify_element, mine, trusted)
        assert got == verdicts(verify_element_with_signxml, theirs, trusted)
        outcomes.append(got)
    return outcomes


def accepted(outcomes: list) -> bool:
    return any(v[0] == "accepted" for verdict in outcomes for v in verdict if isinstance(v, tuple))


# ------------------------------------------------------------------------ the signers


def unsigned_response(xs_on_root: bool = False) -> etree._Element:
    root = build_response_element(spec(), build_assertion(spec()))
    if xs_on_root:  # the assertion's xs declared on the Response instead: only in scope there
        text = to_bytes(root).replace(f' xmlns:xs="{c.XS}"'.encode(), b"")
        text = text.replace(b"<samlp:Response ", f'<samlp:Response xmlns:xs="{c.XS}" '.encode())
        root = parse_xml(text)
    return root


def ours(choice: SignatureChoice, key: KeyPair, targets: str = "both") -> bytes:
    root = unsigned_response()
    if targets in ("both", "assertion"):
        sign_element(root.find(ASSERTION), key, choice)
    if targets in ("both", "response"):
        sign_element(root, key, choice)
    return to_bytes(root)


XMLSEC_METHODS = {
    "rsa-sha256": (xmlsec.constants.TransformRsaSha256, xmlsec.constants.TransformSha256),
    "rsa-sha1": (xmlsec.constants.TransformRsaSha1, xmlsec.constants.TransformSha1),
    "rsa-sha512": (xmlsec.constants.TransformRsaSha512, xmlsec.constants.TransformSha512),
    "ecdsa-sha256": (xmlsec.constants.TransformEcdsaSha256, xmlsec.constants.TransformSha256),
}


def xmlsec_sign(
    root: etree._Element,
    target: etree._Element,
    key: KeyPair,
    *,
    method: str = "rsa-sha256",
    c14n: object = xmlsec.constants.TransformExclC14N,
    transforms: tuple[object, ...] = (
        xmlsec.constants.TransformEnveloped,
        xmlsec.constants.TransformExclC14N,
    ),
    prefixes: list[str] | None = None,
    signed_info_prefixes: list[str] | None = None,
) -> None:
    """Sign ``target`` in place with libxmlsec1, after its Issuer, in the shape given."""
    sign_method, digest_method = XMLSEC_METHODS[method]
    signature = xmlsec.template.create(target, c14n, sign_method, ns="ds")
    target.insert(1, signature)
    reference = xmlsec.template.add_reference(signature, digest_method, uri=f"#{target.get('ID')}")
    for transform in transforms:
        node = xmlsec.template.add_transform(reference, transform)
        if prefixes is not None and transform != xmlsec.constants.TransformEnveloped:
            xmlsec.template.transform_add_c14n_inclusive_namespaces(node, prefixes)
    if signed_info_prefixes is not None:
        method_node = signature.find(
            f"{c.q(c.DS, 'SignedInfo')}/{c.q(c.DS, 'CanonicalizationMethod')}"
        )
        xmlsec.template.transform_add_c14n_inclusive_namespaces(method_node, signed_info_prefixes)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(key.private_key_pem(), xmlsec.constants.KeyDataFormatPem)
    context.key.load_cert_from_memory(key.certificate_pem(), xmlsec.constants.KeyDataFormatCertPem)
    xmlsec.tree.add_ids(root, ["ID"])
    context.sign(signature)


def by_xmlsec(
    key: KeyPair,
    targets: str = "both",
    xs_on_root: bool = False,
    swap_transforms: bool = False,
    **shape: object,
) -> bytes:
    """A Response signed by libxmlsec1; ``swap_transforms`` lists exclusive C14N before
    enveloped-signature afterwards (libxmlsec1 cannot apply them in that order) and signs
    SignedInfo again: signxml applies enveloped-signature first whatever the order."""
    root = unsigned_response(xs_on_root)
    for signed in ("assertion", "response"):
        if targets not in ("both", signed):
            continue
        target = root if signed == "response" else root.find(ASSERTION)
        assert target is not None
        xmlsec_sign(root, target, key, **shape)  # type: ignore[arg-type]
        # Parsed again: lxml's find does not see the names libxmlsec1 gave its new elements.
        root = parse_xml(to_bytes(root))
        if swap_transforms:
            target = root if signed == "response" else root.find(ASSERTION)
            assert target is not None
            transforms = _node(target, "Signature/SignedInfo/Reference/Transforms")
            transforms.append(transforms[0])  # enveloped-signature moves last
            sign_signed_info(_node(target, "Signature"), key)
    return to_bytes(root)


def expired(key: KeyPair) -> x509.Certificate:
    """The key's certificate, expired: signxml refuses a trusted certificate out of its time."""
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    name = x509.Name.from_rfc4514_string("CN=expired.idp.test")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.certificate.public_key())
        .serial_number(7)
        .not_valid_before(past)
        .not_valid_after(past + dt.timedelta(days=1))
        .sign(key.private_key, hashes.SHA256())
    )


# ------------------------------------------------------------------------ the inputs

E = xmlsec.constants
SHAPES: dict[str, dict[str, object]] = {
    "exclusive": {},
    "exclusive, prefix list": {"prefixes": ["xs", "saml"]},
    "exclusive, prefix lists in SignedInfo too": {
        "prefixes": ["xs"],
        "signed_info_prefixes": ["ds", "saml"],
    },
    "exclusive, #default in the prefix list": {"prefixes": ["#default", "xs"]},
    "with comments": {
        "c14n": E.TransformExclC14NWithComments,
        "transforms": (E.TransformEnveloped, E.TransformExclC14NWithComments),
    },
    "sha512": {"method": "rsa-sha512"},
    "sha1": {"method": "rsa-sha1"},
    # Outside the common shape: signxml's alone.
    "inclusive SignedInfo": {"c14n": E.TransformInclC14N},
    "inclusive transform": {"transforms": (E.TransformEnveloped, E.TransformInclC14N)},
    "enveloped only": {"transforms": (E.TransformEnveloped,)},
    "c14n before enveloped": {"swap_transforms": True},
}


# signxml refuses these: ec:InclusiveNamespaces where its schema wants a declared element, and a
# transform SAML Core 5.4.4 does not allow.
REFUSED_SHAPES = {"exclusive, prefix lists in SignedInfo too", "inclusive transform"}


@pytest.fixture(scope="module")
def corpus_keys() -> dict[str, KeyPair]:
    return {name: sample_key(name) for name in ("idp", "idp-rollover", "idp-ec", "attacker")}


def trust_sets(keys: dict[str, KeyPair]) -> dict[str, list[x509.Certificate]]:
    idp = keys["idp"]
    return {
        "idp": [idp.certificate],
        "rollover first": [keys["idp-rollover"].certificate, idp.certificate],
        "attacker": [keys["attacker"].certificate],
        "expired, then valid": [expired(idp), idp.certificate],
        "expired": [expired(idp)],
        "ec": [keys["idp-ec"].certificate],
    }


def compare_all(xml: bytes, keys: dict[str, KeyPair]) -> list:
    outcomes = []
    for trusted in trust_sets(keys).values():
        outcomes.extend(compare(xml, trusted))
    return outcomes


@pytest.mark.parametrize("targets", ["both", "assertion", "response"])
@pytest.mark.parametrize(
    "algorithm", ["rsa-sha256", "rsa-sha512", "rsa-sha1", "ecdsa-sha256", "ecdsa-sha512"]
)
def test_signed_here(algorithm: str, targets: str, corpus_keys: dict[str, KeyPair]) -> None:
    key = corpus_keys["idp-ec" if algorithm.startswith("ecdsa") else "idp"]
    xml = ours(SignatureChoice.for_algorithm(algorithm), key, targets)
    assert accepted(compare_all(xml, corpus_keys))


@pytest.mark.parametrize("xs_on_root", [False, True], ids=["xs-on-assertion", "xs-on-response"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_signed_by_xmlsec(shape: str, xs_on_root: bool, corpus_keys: dict[str, KeyPair]) -> None:
    xml = by_xmlsec(corpus_keys["idp"], xs_on_root=xs_on_root, **SHAPES[shape])  # type: ignore[arg-type]
    outcomes = compare_all(xml, corpus_keys)
    assert accepted(outcomes) == (shape not in REFUSED_SHAPES)


def test_ecdsa_by_xmlsec(corpus_keys: dict[str, KeyPair]) -> None:
    assert accepted(
        compare_all(by_xmlsec(corpus_keys["idp-ec"], method="ecdsa-sha256"), corpus_keys)
    )


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("response-*.xml")))
def test_golden_samples(name: str, corpus_keys: dict[str, KeyPair]) -> None:
    assert accepted(compare_all((GOLDEN / name).read_bytes(), corpus_keys))


def mutator_wires(keys: Keys) -> Iterator[tuple[str, bytes]]:
    """Every mutator's message (its defaults), under every signing and encryption choice, as
    received and with the assertion decrypted."""
    for mutator in (None, *MUTATORS):
        for signing in SIGNING:
            for encryption in ENCRYPTION:
                name = mutator.name if mutator else None
                try:
                    sent = send(keys, name, signing, encryption)
                except (MutatorNoEffect, MutatorParamError, Refusal):
                    continue  # not applicable, or a message that cannot be decrypted
                yield f"{name}/{signing}/{encryption}", sent.wire
                yield f"{name}/{signing}/{encryption}/decrypted", to_bytes(sent.document)


def test_every_mutator(keys: Keys, corpus_keys: dict[str, KeyPair]) -> None:
    trusted = [keys[0].certificate]
    compared = accepting = 0
    for label, wire in mutator_wires(keys):
        try:
            outcomes = compare(wire, trusted)
        except XMLSecurityError:
            continue  # a parser attack: refused before any signature is read
        except AssertionError as exc:
            raise AssertionError(f"{label}: {exc}") from exc
        compared += 1
        accepting += accepted(outcomes)
    assert compared > 300 and accepting > 100, (compared, accepting)


# ------------------------------------------------------------------- tampering by hand
# Each takes the document and the signed element to tamper with (the Response or the
# Assertion), changes them in place or returns a new document.
Tamper = Callable[[etree._Element, etree._Element], etree._Element | None]


def _ds(path: str) -> str:
    return "/".join(c.q(c.DS, step) for step in path.split("/"))


def _node(target: etree._Element, path: str) -> etree._Element:
    found = target.find(_ds(path))
    assert found is not None, path
    return found


def _flip(text: str) -> str:
    """One base64 character changed, so the value still decodes."""
    return ("B" if text[0] == "A" else "A") + text[1:]


def _text(root: etree._Element, old: bytes, new: bytes) -> etree._Element:
    return parse_xml(to_bytes(root).replace(old, new, 1))


def _digest_value(target: etree._Element) -> etree._Element:
    return _node(target, "Signature/SignedInfo/Reference/DigestValue")


def _name_id(target: etree._Element) -> etree._Element:
    found = target.find(f".//{c.q(c.SAML, 'NameID')}")
    assert found is not None
    return found


def _comment_inside(node: etree._Element, at: int, text: str = "x") -> None:
    value = node.text or ""
    node.text = value[:at]
    comment = etree.Comment(text)
    comment.tail = value[at:]
    node.insert(0, comment)


def _set_text(node: etree._Element, text: str) -> None:
    node.text = text


def _wrapped(node: etree._Element) -> None:
    text = (node.text or "").strip()
    node.text = "\n" + "\n".join(text[i : i + 20] for i in range(0, len(text), 20)) + "\n"


def _wrap_base64(target: etree._Element) -> None:
    _wrapped(_node(target, "Signature/SignatureValue"))
    _wrapped(_digest_value(target))


def _signature_ids(target: etree._Element) -> None:
    _node(target, "Signature").set("Id", "sig1")
    _node(target, "Signature/SignatureValue").set("Id", "value1")


def _keyinfo_of_attacker(target: etree._Element) -> None:
    cert = sample_key("attacker").certificate_pem().decode().splitlines()[1:-1]
    _node(target, "Signature/KeyInfo/X509Data/X509Certificate").text = "".join(cert)


TAMPERING: dict[str, Tamper] = {
    "digest value": lambda r, t: _set_text(_digest_value(t), _flip(_digest_value(t).text or "")),
    "signature value": lambda r, t: _set_text(
        _node(t, "Signature/SignatureValue"),
        _flip(_node(t, "Signature/SignatureValue").text.strip()),
    ),
    "signature value cut": lambda r, t: _set_text(
        _node(t, "Signature/SignatureValue"),
        _node(t, "Signature/SignatureValue").text.strip()[:-8] + "AAAA",
    ),
    "content": lambda r, t: _set_text(_name_id(t), "admin@example.com"),
    "attribute added": lambda r, t: t.set("Consent", "urn:x"),
    "comment in content": lambda r, t: _comment_inside(_name_id(t), 5),
    "comment in SignedInfo": lambda r, t: _node(t, "Signature/SignedInfo").insert(
        1, etree.Comment("n")
    ),
    "comment in DigestValue": lambda r, t: _comment_inside(_digest_value(t), 8),
    "comment after signature": lambda r, t: _node(t, "Signature").addnext(etree.Comment("c")),
    "processing instruction in Signature": lambda r, t: _node(t, "Signature").append(
        etree.ProcessingInstruction("pi", "x")
    ),
    "base64 wrapped": lambda r, t: _wrap_base64(t),
    "pretty printed": lambda r, t: parse_xml(etree.tostring(r, pretty_print=True)),
    "space after signature": lambda r, t: setattr(_node(t, "Signature"), "tail", "\n  \t"),
    "text after signature": lambda r, t: setattr(_node(t, "Signature"), "tail", "junk"),
    "text after the element": lambda r, t: setattr(t, "tail", "junk"),
    "space after the element": lambda r, t: setattr(t, "tail", "\n  "),
    "comment and instruction around the document": lambda r, t: parse_xml(
        b"<?pi x?><!--before-->" + to_bytes(r) + b"<!--after-->"
    ),
    "unused namespace on the Response": lambda r, t: _text(
        r, b"<samlp:Response ", b'<samlp:Response xmlns:u="urn:x:u" '
    ),
    "xs declared on the Response": lambda r, t: _text(
        r, b"<samlp:Response ", b'<samlp:Response xmlns:xs="urn:x:other" '
    ),
    "ds declared on the Response": lambda r, t: _text(
        r, b"<samlp:Response ", f'<samlp:Response xmlns:ds="{c.DS}" '.encode()
    ),
    "saml declared again on the Assertion": lambda r, t: _text(
        r, b"<saml:Assertion ", f'<saml:Assertion xmlns:saml="{c.SAML}" '.encode()
    ),
    "default namespace on the Response": lambda r, t: _text(
        r, b"<samlp:Response ", b'<samlp:Response xmlns="urn:x:default" '
    ),
    "duplicate ID inside": lambda r, t: _name_id(t).set("ID", t.get("ID", "")),
    "namespaced ID inside": lambda r, t: _name_id(t).set("{urn:x:other}ID", t.get("ID", "")),
    "namespaced ID on the element": lambda r, t: t.set("{urn:x:other}ID", t.get("ID", "")),
    "second signature": lambda r, t: _node(t, "Signature").addnext(
        copy.deepcopy(_node(t, "Signature"))
    ),
    "KeyInfo of the attacker": lambda r, t: _keyinfo_of_attacker(t),
    "KeyName added": lambda r, t: _set_text(
        etree.SubElement(_node(t, "Signature/KeyInfo"), c.q(c.DS, "KeyName")), "another"
    ),
    "Object in Signature": lambda r, t: _set_text(
        etree.SubElement(_node(t, "Signature"), c.q(c.DS, "Object")), "unsigned"
    ),
    "Ids on the signature": lambda r, t: _signature_ids(t),
    "unknown attribute on Signature": lambda r, t: _node(t, "Signature").set("Unknown", "x"),
    "unknown element in SignedInfo": lambda r, t: etree.SubElement(
        _node(t, "Signature/SignedInfo"), "{urn:x}Extra"
    ),
}


def base_documents(keys: dict[str, KeyPair]) -> dict[str, bytes]:
    idp = keys["idp"]
    return {
        "ours": ours(SignatureChoice(), idp),
        "ours ecdsa": ours(SignatureChoice.for_algorithm("ecdsa-sha256"), keys["idp-ec"]),
        "xmlsec": by_xmlsec(idp),
        "xmlsec prefix list": by_xmlsec(idp, xs_on_root=True, prefixes=["xs"]),
        "xmlsec with comments": by_xmlsec(idp, **SHAPES["with comments"]),  # type: ignore[arg-type]
    }


@pytest.mark.parametrize("where", ["response", "assertion"])
@pytest.mark.parametrize("tamper", sorted(TAMPERING))
def test_tampering(tamper: str, where: str, corpus_keys: dict[str, KeyPair]) -> None:
    for xml in base_documents(corpus_keys).values():
        root = parse_xml(xml)
        target = root if where == "response" else root.find(ASSERTION)
        assert target is not None
        try:
            changed = TAMPERING[tamper](root, target)
            compare_all(to_bytes(changed if changed is not None else root), corpus_keys)
        except XMLSecurityError:
            continue  # not well-formed any more: refused before any signature is read


# ----------------------------------------------------------- which path decides


class SignxmlCalls:
    """Counts signxml's verifications (the library, not our code, is watched)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = XMLVerifier.verify

        def counted(verifier: XMLVerifier, *args: object, **kwargs: object) -> object:
            self.count += 1
            return original(verifier, *args, **kwargs)

        monkeypatch.setattr(XMLVerifier, "verify", counted)


COMMON_SHAPES = ["exclusive", "exclusive, prefix list", "with comments", "sha512"]


@pytest.mark.parametrize("shape", COMMON_SHAPES)
def test_the_common_shape_never_reaches_signxml(
    shape: str, corpus_keys: dict[str, KeyPair], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = SignxmlCalls(monkeypatch)
    for xml in (
        by_xmlsec(corpus_keys["idp"], **SHAPES[shape]),  # type: ignore[arg-type]
        by_xmlsec(corpus_keys["idp"], xs_on_root=True, **SHAPES[shape]),  # type: ignore[arg-type]
        ours(SignatureChoice(), corpus_keys["idp"]),
        (GOLDEN / "response-okta.xml").read_bytes(),
    ):
        root = parse_xml(xml)
        response = verify_element(root, [corpus_keys["idp"].certificate]).signed_element
        verify_element(response.find(ASSERTION), [corpus_keys["idp"].certificate])
    assert calls.count == 0


@pytest.mark.parametrize(
    "xml",
    [
        pytest.param(lambda keys: by_xmlsec(keys["idp"], c14n=E.TransformInclC14N), id="inclusive"),
        pytest.param(
            lambda keys: to_bytes(
                _comment_signed_info(parse_xml(ours(SignatureChoice(), keys["idp"])))
            ),
            id="comment in SignedInfo",
        ),
    ],
)
def test_other_shapes_are_signxmls(
    xml: Callable[[dict[str, KeyPair]], bytes],
    corpus_keys: dict[str, KeyPair],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = SignxmlCalls(monkeypatch)
    verify_element(parse_xml(xml(corpus_keys)), [corpus_keys["idp"].certificate])
    assert calls.count == 1


def _comment_signed_info(root: etree._Element) -> etree._Element:
    _node(root, "Signature/SignedInfo").insert(0, etree.Comment("unusual"))
    return root


def test_a_failure_is_judged_and_named_by_signxml(
    corpus_keys: dict[str, KeyPair], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = SignxmlCalls(monkeypatch)
    root = parse_xml(ours(SignatureChoice(), corpus_keys["idp"]))
    with pytest.raises(SignatureError) as info:
        verify_element(root, [corpus_keys["attacker"].certificate])
    assert calls.count == 1
    assert info.value.reason == "bad-signature"
    assert "Signature verification failed" in info.value.message
