"""Enveloped XML signatures over SAML elements (SAML Core 5.4).

Signing puts ds:Signature right after saml:Issuer, as the schemas require, with exclusive C14N
and one Reference to ``#ID``. Verifying trusts only the given certificates (never KeyInfo:
Core 5.4.5), checks the Reference points at the element itself (5.4.2) and returns the element
as signed (the canonical octets the digest covers, parsed again, as signxml returns it), which
is the only element callers may trust (anti-wrapping).
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from lxml import etree
from signxml import (  # type: ignore[attr-defined]
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureMethod,
    XMLVerifier,
)
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature

from ..keys import KeyPair, certificate_base64
from ..xml import hardened_parser
from . import constants as c
from ._common_shape import verify_common_shape
from ._crypto import sign_octets
from .errors import SignatureError

SIGNATURE_METHODS: dict[str, str] = {
    "rsa-sha1": c.SIG_RSA_SHA1,
    "rsa-sha256": c.SIG_RSA_SHA256,
    "rsa-sha512": c.SIG_RSA_SHA512,
    "ecdsa-sha256": c.SIG_ECDSA_SHA256,
    "ecdsa-sha512": c.SIG_ECDSA_SHA512,
}
DIGEST_METHODS: dict[str, str] = {
    "sha1": c.DIGEST_SHA1,
    "sha256": c.DIGEST_SHA256,
    "sha512": c.DIGEST_SHA512,
}
# The digest a signature method is normally paired with.
DEFAULT_DIGEST: dict[str, str] = {
    "rsa-sha1": "sha1",
    "rsa-sha256": "sha256",
    "rsa-sha512": "sha512",
    "ecdsa-sha256": "sha256",
    "ecdsa-sha512": "sha512",
}
_SIGNATURE_NAMES = {uri: name for name, uri in SIGNATURE_METHODS.items()}
_DIGEST_NAMES = {uri: name for name, uri in DIGEST_METHODS.items()}
SHA1_METHODS = frozenset({c.SIG_RSA_SHA1, c.DIGEST_SHA1})
# SAML Core 5.4.4: the enveloped-signature transform and exclusive C14N, nothing else. Refused
# before signxml sees the signature, so no XSLT or XPath of the peer's ever runs.
ALLOWED_TRANSFORMS = frozenset(
    {c.TRANSFORM_ENVELOPED, c.C14N_EXCLUSIVE, c.C14N_EXCLUSIVE + "WithComments"}
)


@dataclass(frozen=True)
class SignatureChoice:
    """How to sign: short names from SIGNATURE_METHODS and DIGEST_METHODS."""

    algorithm: str = "rsa-sha256"
    digest: str = "sha256"

    @classmethod
    def for_algorithm(cls, algorithm: str) -> SignatureChoice:
        if algorithm not in SIGNATURE_METHODS:
            raise ValueError(f"unknown signature algorithm {algorithm!r}")
        return cls(algorithm, DEFAULT_DIGEST[algorithm])


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def _ds(parent: etree._Element, tag: str, algorithm: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, c.q(c.DS, tag))
    if algorithm is not None:
        child.set("Algorithm", algorithm)
    return child


def sign_element(
    element: etree._Element,
    key_pair: KeyPair,
    choice: SignatureChoice | None = None,
    *,
    include_certificate: bool = True,
) -> etree._Element:
    """Sign ``element`` (which must carry an ``ID``) in place with an enveloped signature and
    return it.

    Written directly on lxml's exclusive C14N and ``cryptography`` rather than with signxml's
    signer: signxml re-parses the document three times per signature, which halved the IdP's
    throughput. The tests check every signature made here with signxml and with xmlsec1
    (pysaml2).
    """
    element_id = element.get("ID")
    if not element_id:
        raise ValueError("only elements with an ID attribute can be signed")
    choice = choice or SignatureChoice()
    if choice.algorithm.startswith("ecdsa") != (key_pair.key_type == "ec"):
        raise ValueError(f"{choice.algorithm} cannot be made with a {key_pair.key_type} key")
    for old in element.findall(c.q(c.DS, "Signature")):
        element.remove(old)
    # The enveloped-signature transform removes the signature before digesting: digesting
    # before it is inserted gives the same octets.
    digest = hashlib.new(choice.digest, _c14n(element)).digest()
    signature = _signature_template(choice.algorithm, choice.digest, include_certificate)
    signature[0][2].set("URI", f"#{element_id}")  # SignedInfo/Reference
    signature[0][2][2].text = base64.b64encode(digest).decode("ascii")  # .../DigestValue
    if include_certificate:
        signature[2][0][0].text = _certificate_text(key_pair.certificate)
    issuer = element.find(c.q(c.SAML, "Issuer"))
    if issuer is not None:
        issuer.addnext(signature)  # schema order: Issuer, Signature, ...
    else:
        element.insert(0, signature)
    raw = sign_octets(_c14n(signature[0]), key_pair, choice.algorithm)
    signature[1].text = base64.b64encode(raw).decode("ascii")  # SignatureValue
    return element


_TEMPLATES: dict[tuple[str, str, bool], etree._Element] = {}


def _signature_template(algorithm: str, digest: str, include_certificate: bool) -> etree._Element:
    """A fresh copy of the ds:Signature skeleton (copying a cached tree beats building it)."""
    key = (algorithm, digest, include_certificate)
    template = _TEMPLATES.get(key)
    if template is None:
        template = etree.Element(c.q(c.DS, "Signature"), nsmap={"ds": c.DS})
        signed_info = _ds(template, "SignedInfo")
        _ds(signed_info, "CanonicalizationMethod", c.C14N_EXCLUSIVE)
        _ds(signed_info, "SignatureMethod", SIGNATURE_METHODS[algorithm])
        reference = _ds(signed_info, "Reference")
        transforms = _ds(reference, "Transforms")
        _ds(transforms, "Transform", c.TRANSFORM_ENVELOPED)
        _ds(transforms, "Transform", c.C14N_EXCLUSIVE)
        _ds(reference, "DigestMethod", DIGEST_METHODS[digest])
        _ds(reference, "DigestValue")
        _ds(template, "SignatureValue")
        if include_certificate:
            _ds(_ds(_ds(template, "KeyInfo"), "X509Data"), "X509Certificate")
        _TEMPLATES[key] = template
    return copy.deepcopy(template)


@functools.lru_cache(maxsize=64)
def _certificate_text(certificate: x509.Certificate) -> str:
    return certificate_base64(certificate)


@dataclass(frozen=True)
class VerifiedSignature:
    signed_element: etree._Element
    signature_method: str
    digest_method: str
    certificate: x509.Certificate


def signature_of(element: etree._Element) -> etree._Element | None:
    """The element's own enveloped signature (a direct child), if any."""
    return element.find(c.q(c.DS, "Signature"))


@functools.lru_cache(maxsize=2)
def _configuration(allow_sha1: bool) -> SignatureConfiguration:
    """What signxml must find: one Reference, the signature on the element itself, the
    algorithms allowed (built once: the enum sets cost more than checking a small one)."""
    methods, digests = _allowed(allow_sha1)
    return SignatureConfiguration(
        location="./",
        expect_references=1,
        signature_methods=methods,
        digest_algorithms=digests,
        ignore_ambiguous_key_info=True,
    )


def _allowed(allow_sha1: bool) -> tuple[frozenset[Any], frozenset[Any]]:
    methods = {
        SignatureMethod(uri)
        for name, uri in SIGNATURE_METHODS.items()
        if allow_sha1 or "sha1" not in name
    }
    digests = {
        DigestAlgorithm(uri) for name, uri in DIGEST_METHODS.items() if allow_sha1 or name != "sha1"
    }
    return frozenset(methods), frozenset(digests)


def _one(parent: etree._Element, tag: str, path: str) -> etree._Element:
    found = parent.findall(c.q(c.DS, tag))
    if len(found) != 1:
        raise SignatureError(
            "bad-signature", f"{path} has {len(found)} ds:{tag}, not 1", "XMLDSIG-4"
        )
    return found[0]


def _base64_value(element: etree._Element, path: str) -> None:
    text = "".join((element.text or "").split())  # base64Binary allows whitespace
    if not text:
        raise SignatureError("bad-signature", f"{path} is empty", "XMLDSIG-4")
    try:
        base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise SignatureError("bad-signature", f"{path} is not base64", "XMLDSIG-4") from exc


def _algorithm(parent: etree._Element, tag: str, known: Sequence[str], path: str) -> None:
    uri = _one(parent, tag, path).get("Algorithm", "")
    if uri not in known:
        raise SignatureError("bad-signature", f"unknown {tag} algorithm {uri[:200]!r}", "XMLDSIG-4")


def _check_shape(signature: etree._Element) -> list[etree._Element]:
    """The signature's one Reference, once the structure XML-DSig section 4 requires holds:
    one SignedInfo with known algorithms, one Reference with a base64 DigestValue, a base64
    SignatureValue. Each broken shape is named here rather than left to fail somewhere inside
    signxml (an empty SignatureValue was a TypeError there: a 500 on every endpoint)."""
    signed_info = _one(signature, "SignedInfo", "ds:Signature")
    _base64_value(_one(signature, "SignatureValue", "ds:Signature"), "ds:SignatureValue")
    _algorithm(signed_info, "SignatureMethod", tuple(SIGNATURE_METHODS.values()), "ds:SignedInfo")
    references = signed_info.findall(c.q(c.DS, "Reference"))
    if len(references) != 1:
        raise SignatureError(
            "bad-reference", f"signature has {len(references)} References, not 1", "SAML-CORE-5.4.2"
        )
    _algorithm(references[0], "DigestMethod", tuple(DIGEST_METHODS.values()), "ds:Reference")
    for transform in references[0].iter(c.q(c.DS, "Transform")):
        algorithm = transform.get("Algorithm", "")
        if algorithm not in ALLOWED_TRANSFORMS:
            raise SignatureError(
                "bad-transform", f"transform {algorithm[:200]!r} is not allowed", "SAML-CORE-5.4.4"
            )
    _base64_value(_one(references[0], "DigestValue", "ds:Reference"), "ds:DigestValue")
    return references


def verify_element(
    element: etree._Element,
    trusted: Sequence[x509.Certificate],
    *,
    allow_sha1: bool = False,
) -> VerifiedSignature:
    """Verify ``element``'s enveloped signature against any of ``trusted`` (SAML Core 5.4).

    Raises :class:`SignatureError` with a reason code; the rule id names the clause broken.
    The common shape of SAML signatures is verified directly (``_common_shape``); it only ever
    accepts, so every other shape and every failure is signxml's to judge and to name.
    """
    signature, method, digest = _verifiable(element, trusted, allow_sha1)
    common = verify_common_shape(
        element, signature, trusted, _SIGNATURE_NAMES[method], _DIGEST_NAMES[digest]
    )
    if common is not None:
        return VerifiedSignature(common[0], method, digest, common[1])
    return _verify_with_signxml(element, trusted, allow_sha1, method, digest)


def verify_element_with_signxml(
    element: etree._Element,
    trusted: Sequence[x509.Certificate],
    *,
    allow_sha1: bool = False,
) -> VerifiedSignature:
    """:func:`verify_element` with signxml judging every shape: the reference the tests hold
    the common-shape path to, verdict for verdict."""
    _signature, method, digest = _verifiable(element, trusted, allow_sha1)
    return _verify_with_signxml(element, trusted, allow_sha1, method, digest)


def _verifiable(
    element: etree._Element, trusted: Sequence[x509.Certificate], allow_sha1: bool
) -> tuple[etree._Element, str, str]:
    """(the signature, its SignatureMethod, its DigestMethod) once the checks every path needs
    hold: a signature of the allowed shape, on the element its Reference names, with allowed
    algorithms and a key to verify with."""
    signature = signature_of(element)
    if signature is None:
        raise SignatureError(
            "unsigned", f"<{etree.QName(element).localname}> is not signed", "SAML-CORE-5.4.1"
        )
    element_id = element.get("ID")
    references = _check_shape(signature)
    if not element_id or references[0].get("URI") != f"#{element_id}":
        raise SignatureError(
            "bad-reference",
            f"Reference URI {references[0].get('URI')!r} does not point at the signed element",
            "SAML-CORE-5.4.2",
        )
    method_el = signature.find(f"{c.q(c.DS, 'SignedInfo')}/{c.q(c.DS, 'SignatureMethod')}")
    method = method_el.get("Algorithm", "") if method_el is not None else ""
    digest_el = references[0].find(c.q(c.DS, "DigestMethod"))
    digest = digest_el.get("Algorithm", "") if digest_el is not None else ""
    if not allow_sha1 and (method in SHA1_METHODS or digest in SHA1_METHODS):
        raise SignatureError("weak-algorithm", f"SHA-1 signature ({method})", "SDP-ALG01")
    if not trusted:
        raise SignatureError(
            "no-trusted-key", "no trusted certificate to verify with", "SAML-CORE-5.4.5"
        )
    return signature, method, digest


def _verify_with_signxml(
    element: etree._Element,
    trusted: Sequence[x509.Certificate],
    allow_sha1: bool,
    method: str,
    digest: str,
) -> VerifiedSignature:
    config = _configuration(allow_sha1)
    last_error: Exception | None = None
    for certificate in trusted:
        try:
            # signxml verifies a copy of the element, serialised and parsed again with the
            # parser given: exclusive C14N makes it verifiable on its own, detached from its
            # parent, and the copy is what it returns as signed.
            result = XMLVerifier().verify(
                element,
                x509_cert=certificate,
                id_attribute="ID",
                expect_config=config,
                parser=hardened_parser(),
            )
        except (
            InvalidSignature,
            InvalidDigest,
            InvalidCertificate,
            InvalidInput,
            etree.DocumentInvalid,  # signxml schema-validates the signature: a peer's error
        ) as exc:
            last_error = exc
            continue
        except Exception as exc:
            # signxml reads the peer's bytes and, on shapes its checks miss, fails with whatever
            # the code under it raises (a TypeError for an empty SignatureValue in signxml 4).
            # _check_shape names the shapes we know; anything else is still the peer's
            # malformed signature, never a 500.
            raise SignatureError(
                "bad-signature", f"malformed signature ({type(exc).__name__})", "XMLDSIG-4"
            ) from exc
        if isinstance(result, list) or not isinstance(result.signed_xml, etree._Element):
            raise SignatureError("bad-reference", "unexpected signature shape", "SAML-CORE-5.4.2")
        return VerifiedSignature(result.signed_xml, method, digest, certificate)
    raise SignatureError(
        "bad-signature",
        f"signature does not verify with any trusted key: {last_error}",
        "SAML-CORE-5.4",
    )
