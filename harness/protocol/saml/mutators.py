"""Mutators: pure functions that break exactly one rule of a good response.

Each names the requirement id it breaks and acts at one or more stages of building:
``on_draft`` on the content and protection before any XML exists; ``on_content`` on the
assertion before it is signed (a change the IdP vouches for); ``on_assertion`` on the
assertion after its signature and *before* encryption (so an EncryptedAssertion carries the
damage: an SP must decrypt to see it); ``on_response`` on the finished, signed Response (the
envelope); ``on_wire`` on its bytes (a DOCTYPE, entities: what no element tree holds). Stages
run in that order, so any mutators compose: a wrapping inside an encrypted assertion, a
comment-split NameID signed by the IdP, each under any signing and encryption choice. A
mutator that changes nothing in the message it was given raises :class:`MutatorNoEffect`: a
journal must never claim a rule was broken when it was not. The registry is an explicit tuple
of this module's protocol mutators and those of :mod:`.wrapping` and :mod:`.parser_attacks`;
duplicate names fail at import.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from lxml import etree

from ..xml import parse_xml, to_bytes
from . import constants as c
from .mutation import (
    AssertionStep,
    Built,
    Draft,
    DraftStep,
    MutationContext,
    Mutator,
    MutatorCall,
    MutatorNoEffect,
    MutatorParamError,
    Params,
    ResponseStep,
    UnknownMutatorError,
    WireStep,
    int_param,
    str_param,
    with_protection,
    with_spec,
)
from .parser_attacks import PARSER_MUTATORS
from .response import (
    build_assertion,
    build_response_element,
    envelope,
    seal_assertion,
    signed_assertion,
)
from .response_octets import write_response
from .signature_attacks import SIGNATURE_MUTATORS
from .signing import SignatureChoice
from .wrapping import WRAPPING_MUTATORS

__all__ = [
    "MUTATORS",
    "MUTATORS_BY_NAME",
    "AssertionStep",
    "Built",
    "Draft",
    "DraftStep",
    "Mutated",
    "MutationContext",
    "Mutator",
    "MutatorCall",
    "MutatorNoEffect",
    "MutatorParamError",
    "Params",
    "ResponseStep",
    "UnknownMutatorError",
    "WireStep",
    "build_mutated",
    "get_mutator",
    "mutate",
]


def _unsigned(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_protection(draft, sign_assertion=False, sign_response=False)


def _unsigned_assertion(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_protection(draft, sign_assertion=False, sign_response=True)


def _unsigned_response(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_protection(draft, sign_assertion=True, sign_response=False)


def _expired(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    ago = dt.timedelta(seconds=int_param(params, "seconds", 3600))
    past = ctx.now - ago
    return with_spec(
        draft,
        issue_instant=past - dt.timedelta(minutes=5),
        authn_instant=past - dt.timedelta(minutes=5),
        not_before=past - dt.timedelta(minutes=10),
        not_on_or_after=past,
        subject_not_on_or_after=past,
    )


def _not_yet_valid(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    ahead = ctx.now + dt.timedelta(seconds=int_param(params, "seconds", 3600))
    return with_spec(draft, not_before=ahead, not_on_or_after=ahead + dt.timedelta(minutes=5))


def _subject_expired(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    past = ctx.now - dt.timedelta(seconds=int_param(params, "seconds", 3600))
    return with_spec(draft, subject_not_on_or_after=past)


def _no_subject_expiry(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, subject_not_on_or_after=None)


def _session_expired(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    past = ctx.now - dt.timedelta(seconds=int_param(params, "seconds", 60))
    return with_spec(draft, session_not_on_or_after=past)


def _wrong_audience(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    audience = str_param(params, "audience", "https://other-sp.example/saml/metadata")
    return with_spec(draft, audience_restrictions=((audience,),))


def _no_audience(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, audience_restrictions=())


def _wrong_recipient(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(
        draft, recipient=str_param(params, "recipient", "https://other-sp.example/acs")
    )


def _no_recipient(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, recipient=None)


def _wrong_destination(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(
        draft, destination=str_param(params, "destination", "https://other-sp.example/acs")
    )


def _no_destination(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, destination=None)


def _wrong_issuer(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    issuer = str_param(params, "issuer", "https://unknown-idp.example/saml/metadata")
    return with_spec(draft, issuer=issuer, assertion_issuer=None)


def _mismatched_issuer(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    issuer = str_param(params, "issuer", "https://unknown-idp.example/saml/metadata")
    return with_spec(draft, assertion_issuer=issuer)


def _bad_in_response_to(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    value = str_param(params, "value", f"_{ctx.rng.getrandbits(160):040x}")
    return with_spec(draft, in_response_to=value, subject_in_response_to=value)


def _no_in_response_to(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, in_response_to=None, subject_in_response_to=None)


def _no_session_index(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, session_index=None)


def _clock_skew(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    shift = dt.timedelta(seconds=int_param(params, "seconds", -600))
    spec = draft.spec

    def moved(value: dt.datetime | None) -> dt.datetime | None:
        return value + shift if value is not None else None

    return with_spec(
        draft,
        issue_instant=spec.issue_instant + shift,
        authn_instant=moved(spec.authn_instant),
        not_before=moved(spec.not_before),
        not_on_or_after=moved(spec.not_on_or_after),
        subject_not_on_or_after=moved(spec.subject_not_on_or_after),
        session_not_on_or_after=moved(spec.session_not_on_or_after),
    )


def _status(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    keep = params.get("keep_assertion", True)
    return with_spec(
        draft,
        status_code=str_param(params, "code", c.STATUS_RESPONDER),
        status_subcode=str_param(params, "subcode", c.STATUS_AUTHN_FAILED),
        status_message=str_param(params, "message", "authentication failed"),
        include_assertion=bool(keep),
    )


def _wrong_key(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    if ctx.attacker_key is None:
        raise MutatorParamError("wrong-key needs an attacker key in the mutation context")
    return with_protection(draft, key=ctx.attacker_key)


def _sha1(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_protection(draft, signature=SignatureChoice("rsa-sha1", "sha1"))


def _sender_vouches(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, confirmation_method=c.CM_SENDER_VOUCHES)


def _no_authn_statement(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, include_authn_statement=False)


def _wrong_version(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, version=str_param(params, "version", "1.1"))


def _name_id(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, name_id=str_param(params, "value", "admin@example.com"))


def _own_signature(element: etree._Element) -> etree._Element | None:
    # Only a direct child: the Response's signature, not the one inside its Assertion.
    return element.find(c.q(c.DS, "Signature"))


def _retarget_name_id(assertion: etree._Element, value: str) -> None:
    for name_id in assertion.iter(c.q(c.SAML, "NameID")):
        name_id.text = value


def _tamper_signed_assertion(
    assertion: etree._Element, params: Params, ctx: MutationContext
) -> etree._Element:
    # A signed assertion is edited after its signature and before encryption, so the damage
    # is inside the EncryptedAssertion, where an SP that verifies after decrypting finds it.
    if _own_signature(assertion) is not None:
        _retarget_name_id(assertion, str_param(params, "value", "admin@example.com"))
    return assertion


def _tamper_under_response_signature(
    built: Built, params: Params, ctx: MutationContext
) -> etree._Element:
    # An unsigned assertion is protected only by the Response's signature: edit it after that
    # signature was made (encrypting the edited copy again when the Response carries it so).
    if built.assertion is None or _own_signature(built.assertion) is not None:
        return built.response
    if _own_signature(built.response) is None:
        return built.response
    edited = copy.deepcopy(built.assertion)
    _retarget_name_id(edited, str_param(params, "value", "admin@example.com"))
    payload = _payload(built.response)
    if payload is not None:
        payload.getparent().replace(payload, built.seal(edited))  # type: ignore[union-attr]
    return built.response


def _payload(response: etree._Element) -> etree._Element | None:
    for tag in ("Assertion", "EncryptedAssertion"):
        found = response.find(c.q(c.SAML, tag))
        if found is not None:
            return found
    return None


def _flip_signature_value(element: etree._Element) -> None:
    signature = _own_signature(element)
    value = signature.find(c.q(c.DS, "SignatureValue")) if signature is not None else None
    if value is None:
        return
    raw = bytearray(base64.b64decode("".join((value.text or "").split())))
    if raw:
        raw[len(raw) // 2] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode("ascii")


def _which(params: Params) -> str:
    which = str_param(params, "which", "every")
    if which not in ("every", "assertion", "response"):
        raise MutatorParamError("parameter 'which' must be every, assertion or response")
    return which


def _corrupt_assertion_signature(
    assertion: etree._Element, params: Params, ctx: MutationContext
) -> etree._Element:
    if _which(params) != "response":  # before encryption: the EncryptedAssertion carries it
        _flip_signature_value(assertion)
    return assertion


def _corrupt_response_signature(
    built: Built, params: Params, ctx: MutationContext
) -> etree._Element:
    if _which(params) != "assertion":
        _flip_signature_value(built.response)
    return built.response


def _subject_not_yet_valid(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    ahead = ctx.now + dt.timedelta(seconds=int_param(params, "seconds", 3600))
    return with_spec(draft, subject_not_before=ahead)


def _inverted_validity(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    # Both instants around now, NotBefore after NotOnOrAfter: a window no instant is in.
    return with_spec(
        draft,
        not_before=ctx.now + dt.timedelta(minutes=1),
        not_on_or_after=ctx.now - dt.timedelta(minutes=1),
    )


def _extra_audience_restriction(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    other = str_param(params, "audience", "https://other-sp.example/saml/metadata")
    return with_spec(draft, audience_restrictions=(*draft.spec.audience_restrictions, (other,)))


def _one_time_use(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, one_time_use=True)


def _subject_address(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, address=str_param(params, "address", "203.0.113.7"))


def _long_lived(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    years = dt.timedelta(days=365 * int_param(params, "years", 10))
    return with_spec(
        draft,
        not_on_or_after=ctx.now + years,
        subject_not_on_or_after=ctx.now + years,
        session_not_on_or_after=ctx.now + years,
    )


def _stale_authn_instant(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_spec(draft, authn_instant=ctx.now - dt.timedelta(days=int_param(params, "days", 3)))


def _weak_key_transport(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    choice = draft.protection.encryption
    return with_protection(draft, encryption=replace(choice, transport="rsa-1_5"))


def _no_encryption(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return with_protection(draft, encrypt_to=None)


def _cbc_encryption(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    choice = draft.protection.encryption
    return with_protection(draft, encryption=replace(choice, block="aes128-cbc"))


def _unknown_condition(
    assertion: etree._Element, params: Params, ctx: MutationContext
) -> etree._Element:
    # A Condition of a type no SP knows, signed by the IdP: Core 2.5.1 makes it invalid.
    conditions = assertion.find(c.q(c.SAML, "Conditions"))
    if conditions is not None:
        condition = etree.SubElement(
            conditions,
            c.q(c.SAML, "Condition"),
            nsmap={"ext": "urn:sso-harness:unknown-condition", "xsi": c.XSI},
        )
        condition.set(c.q(c.XSI, "type"), "ext:UnknownCondition")
    return assertion


def _odd_issuer_format(
    assertion: etree._Element, params: Params, ctx: MutationContext
) -> etree._Element:
    issuer = assertion.find(c.q(c.SAML, "Issuer"))
    if issuer is not None:
        issuer.set("Format", str_param(params, "format", c.NAMEID_EMAIL))
    return assertion


def _no_assertion_issuer(
    assertion: etree._Element, params: Params, ctx: MutationContext
) -> etree._Element:
    issuer = assertion.find(c.q(c.SAML, "Issuer"))
    if issuer is not None:
        assertion.remove(issuer)
    return assertion


def _corrupt_ciphertext(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    # One byte of the EncryptedAssertion's ciphertext changed where a padding or key oracle
    # would tell: the last byte (the padding of a CBC block), the first, or the wrapped key.
    part = str_param(params, "part", "last-byte")
    if part not in ("last-byte", "first-byte", "key"):
        raise MutatorParamError("parameter 'part' must be last-byte, first-byte or key")
    encrypted = built.response.find(c.q(c.SAML, "EncryptedAssertion"))
    if encrypted is None:
        return built.response
    values = list(encrypted.iter(c.q(c.XENC, "CipherValue")))
    keys = [v for v in values if v.getparent().getparent().tag == c.q(c.XENC, "EncryptedKey")]  # type: ignore[union-attr]
    data = [v for v in values if v not in keys]
    target = (keys if part == "key" else data)[:1]
    for value in target:
        raw = bytearray(base64.b64decode("".join((value.text or "").split())))
        index = 0 if part == "first-byte" else len(raw) // 2 if part == "key" else len(raw) - 1
        if raw:
            raw[index] ^= 0x5A
        value.text = base64.b64encode(bytes(raw)).decode("ascii")
    return built.response


def _plaintext_beside_encrypted(
    built: Built, params: Params, ctx: MutationContext
) -> etree._Element:
    # Beside the EncryptedAssertion, a plaintext one naming the attacker's choice: an SP that
    # reads the first plaintext Assertion it finds signs them in.
    encrypted = built.response.find(c.q(c.SAML, "EncryptedAssertion"))
    if encrypted is None or built.assertion is None:
        return built.response
    plain = copy.deepcopy(built.assertion)
    signature = _own_signature(plain)
    if signature is not None:
        plain.remove(signature)
    plain.set("ID", f"_{ctx.rng.getrandbits(160):040x}")
    _retarget_name_id(plain, str_param(params, "value", "admin@example.com"))
    encrypted.addprevious(plain)
    return built.response


PROTOCOL_MUTATORS: tuple[Mutator, ...] = (
    Mutator(
        "unsigned", "SAML-PROF-4.1.4.5", "no signature on the response or the assertion", _unsigned
    ),
    Mutator(
        "unsigned-assertion",
        "SAML-PROF-4.1.4.5",
        "only the Response is signed",
        _unsigned_assertion,
    ),
    Mutator("unsigned-response", "IIP-SP13", "only the Assertion is signed", _unsigned_response),
    Mutator("expired", "SAML-PROF-4.1.4.3", "all validity windows ended `seconds` ago", _expired),
    Mutator(
        "not-yet-valid", "SAML-CORE-2.5.1.2", "Conditions NotBefore `seconds` ahead", _not_yet_valid
    ),
    Mutator(
        "subject-expired", "SAML-PROF-4.1.4.3", "SubjectConfirmationData expired", _subject_expired
    ),
    Mutator(
        "no-subject-expiry",
        "SAML-PROF-4.1.4.2",
        "SubjectConfirmationData without NotOnOrAfter",
        _no_subject_expiry,
    ),
    Mutator(
        "session-expired", "SAML-PROF-4.1.4.3", "SessionNotOnOrAfter in the past", _session_expired
    ),
    Mutator(
        "wrong-audience",
        "SAML-CORE-2.5.1.4",
        "Audience names another SP (`audience`)",
        _wrong_audience,
    ),
    Mutator("no-audience", "SAML-PROF-4.1.4.2", "no AudienceRestriction", _no_audience),
    Mutator(
        "wrong-recipient",
        "SAML-PROF-4.1.4.3",
        "Recipient is not the ACS URL (`recipient`)",
        _wrong_recipient,
    ),
    Mutator(
        "no-recipient",
        "SAML-PROF-4.1.4.2",
        "SubjectConfirmationData without Recipient",
        _no_recipient,
    ),
    Mutator(
        "wrong-destination",
        "SAML-CORE-3.2.2",
        "Destination is not the ACS URL (`destination`)",
        _wrong_destination,
    ),
    Mutator(
        "no-destination",
        "SAML-BIND-3.5.5.2",
        "signed Response without Destination",
        _no_destination,
    ),
    Mutator(
        "wrong-issuer", "SAML-PROF-4.1.4.2", "Issuer is an unknown IdP (`issuer`)", _wrong_issuer
    ),
    Mutator(
        "mismatched-issuer",
        "SAML-PROF-4.1.4.2",
        "Assertion Issuer differs from Response Issuer",
        _mismatched_issuer,
    ),
    Mutator(
        "bad-in-response-to",
        "SAML-CORE-3.2.2",
        "InResponseTo names no request (`value`)",
        _bad_in_response_to,
    ),
    Mutator(
        "no-in-response-to",
        "SAML-PROF-4.1.4.2",
        "InResponseTo left out of a solicited response",
        _no_in_response_to,
    ),
    Mutator(
        "no-session-index",
        "SAML-PROF-4.4.3.1",
        "AuthnStatement without SessionIndex (breaks single logout)",
        _no_session_index,
    ),
    Mutator(
        "clock-skew",
        "SDP-G01",
        "every instant shifted by `seconds` (default -600: an IdP clock 10 minutes slow)",
        _clock_skew,
    ),
    Mutator(
        "status",
        "SAML-CORE-3.2.2.2",
        "non-Success StatusCode (`code`, `subcode`, `keep_assertion`)",
        _status,
    ),
    Mutator(
        "wrong-key",
        "SAML-CORE-5.4.5",
        "signed with a key not in the IdP metadata",
        _wrong_key,
        uses_attacker_key=True,
    ),
    Mutator("sha1", "SDP-ALG01", "RSA-SHA1 signature and SHA-1 digest", _sha1),
    Mutator(
        "sender-vouches",
        "SAML-PROF-4.1.4.2",
        "SubjectConfirmation Method is sender-vouches",
        _sender_vouches,
    ),
    Mutator(
        "no-authn-statement",
        "SAML-PROF-4.1.4.2",
        "the assertion has no AuthnStatement",
        _no_authn_statement,
    ),
    Mutator(
        "wrong-version",
        "SAML-CORE-3.2.2",
        "Response Version is not 2.0 (`version`)",
        _wrong_version,
    ),
    Mutator(
        "name-id",
        "SAML-PROF-4.1.4.2",
        "NameID replaced before signing (`value`); a positive tool",
        _name_id,
    ),
    Mutator(
        "tamper-after-signing",
        "SAML-CORE-5.4",
        "NameID edited after the signature over it (`value`): the Assertion's when signed, "
        "else the Response's; before encryption",
        on_assertion=_tamper_signed_assertion,
        on_response=_tamper_under_response_signature,
    ),
    Mutator(
        "corrupt-signature",
        "SAML-CORE-5.4",
        "one bit of the SignatureValue flipped (`which`: every, assertion or response); "
        "the Assertion's before encryption",
        on_assertion=_corrupt_assertion_signature,
        on_response=_corrupt_response_signature,
    ),
    Mutator(
        "subject-not-yet-valid",
        "SAML-PROF-4.1.4.2",
        "SubjectConfirmationData NotBefore `seconds` ahead (bearer data has none)",
        _subject_not_yet_valid,
    ),
    Mutator(
        "inverted-validity",
        "SAML-CORE-2.5.1.2",
        "Conditions NotBefore after NotOnOrAfter",
        _inverted_validity,
    ),
    Mutator(
        "extra-audience-restriction",
        "SAML-CORE-2.5.1.4",
        "a second AudienceRestriction naming only another SP (`audience`): restrictions AND",
        _extra_audience_restriction,
    ),
    Mutator("one-time-use", "SAML-CORE-2.5.1.5", "a OneTimeUse condition", _one_time_use),
    Mutator(
        "unknown-condition",
        "SAML-CORE-2.5.1",
        "a Condition of a type no SP understands, signed by the IdP",
        on_content=_unknown_condition,
    ),
    Mutator(
        "issuer-format",
        "SAML-PROF-4.1.4.2",
        "the Assertion's Issuer has a Format other than entity (`format`), signed by the IdP",
        on_content=_odd_issuer_format,
    ),
    Mutator(
        "no-assertion-issuer",
        "SAML-CORE-2.3.3",
        "the Assertion has no Issuer, signed so by the IdP",
        on_content=_no_assertion_issuer,
    ),
    Mutator(
        "subject-address",
        "SP-ADDRESS",
        "SubjectConfirmationData Address names another client (`address`)",
        _subject_address,
    ),
    Mutator(
        "long-lived",
        "SP-LIFETIME",
        "every validity window ends `years` (10) ahead",
        _long_lived,
    ),
    Mutator(
        "stale-authn-instant",
        "SP-LIFETIME",
        "AuthnInstant `days` (3) ago",
        _stale_authn_instant,
    ),
    Mutator(
        "weak-key-transport",
        "IIP-ALG08",
        "the EncryptedAssertion's key sent with RSA PKCS#1 v1.5 (rsa-1_5)",
        _weak_key_transport,
    ),
    Mutator(
        "no-encryption",
        "SDP-IDP11",
        "the assertion sent in clear to an SP that offers an encryption key",
        _no_encryption,
    ),
    Mutator(
        "cbc-encryption",
        "SDP-ALG01",
        "the EncryptedAssertion in AES-128-CBC",
        _cbc_encryption,
    ),
    Mutator(
        "corrupt-ciphertext",
        "SP-NO-ORACLE",
        "one byte of the EncryptedAssertion changed (`part`: last-byte, first-byte or key)",
        on_response=_corrupt_ciphertext,
    ),
    Mutator(
        "plaintext-beside-encrypted",
        "SDP-IDP10",
        "an unsigned plaintext Assertion naming `value` beside the EncryptedAssertion",
        on_response=_plaintext_beside_encrypted,
    ),
)


MUTATORS: tuple[Mutator, ...] = (
    *PROTOCOL_MUTATORS,
    *SIGNATURE_MUTATORS,
    *WRAPPING_MUTATORS,
    *PARSER_MUTATORS,
)


def _index(mutators: Sequence[Mutator]) -> dict[str, Mutator]:
    index: dict[str, Mutator] = {}
    for mutator in mutators:
        if mutator.name in index:
            raise ValueError(f"duplicate mutator {mutator.name!r}")
        index[mutator.name] = mutator
    return index


MUTATORS_BY_NAME: dict[str, Mutator] = _index(MUTATORS)


def get_mutator(name: str) -> Mutator:
    try:
        return MUTATORS_BY_NAME[name]
    except KeyError:
        raise UnknownMutatorError(name) from None


@dataclass(frozen=True)
class Mutated:
    wire: bytes  # the message as sent: the Response serialised, then every ``on_wire`` step
    applied: tuple[MutatorCall, ...]
    message_id: str | None  # the Response's ID and InResponseTo, as sent
    in_response_to: str | None
    # The assertion as it was encrypted (None when the Response carries it in clear, or none):
    # what an SP decrypting it finds, for a report to show.
    sealed_plaintext: bytes | None = None
    # Standing calls (an IdP flaw's) that had nothing to break in this response.
    inapplicable: tuple[MutatorNoEffect, ...] = ()
    # The Response as built when a mutator worked on the tree; None when written as octets.
    tree: etree._Element | None = None

    @functools.cached_property
    def root(self) -> etree._Element:
        """The Response as an element: the tree built, or the octets written, parsed once."""
        return self.tree if self.tree is not None else parse_xml(self.wire)


def _effect(draft: Draft) -> tuple[object, ...]:
    """What a draft puts on the wire, without the randomness of signing and encryption:
    two drafts with the same effect give the same message."""
    spec, protection = draft.spec, draft.protection
    assertion = build_assertion(spec) if spec.include_assertion else None
    signs_assertion = spec.include_assertion and protection.sign_assertion
    signs_response = protection.sign_response
    signer = None
    if protection.key is not None and (signs_assertion or signs_response):
        signer = (protection.key.certificate, protection.signature, protection.include_certificate)
    encryption = None
    if spec.include_assertion and protection.encrypt_to is not None:
        encryption = (protection.encrypt_to, protection.encryption)
    return (
        to_bytes(build_response_element(spec, assertion)),
        signer is not None and signs_assertion,
        signer is not None and signs_response,
        signer,
        encryption,
    )


def _snapshot(element: etree._Element) -> bytes:
    return etree.tostring(element)


def mutate(
    draft: Draft,
    calls: Sequence[MutatorCall],
    context: MutationContext,
    *,
    standing: Sequence[MutatorCall] = (),
) -> Mutated:
    """Build the response with ``standing`` then ``calls`` applied, stage by stage.

    A call in ``calls`` that changes nothing raises MutatorNoEffect; a standing one (an IdP flaw
    that applies to every response) is left out of ``applied`` and reported instead.
    """
    ordered = [(call, get_mutator(call.name), True) for call in standing]
    ordered += [(call, get_mutator(call.name), False) for call in calls]
    effective: dict[int, bool] = {}

    def mark(position: int, changed: bool) -> None:
        effective[position] = effective.get(position, False) or changed

    for position, (call, mutator, _) in enumerate(ordered):
        if mutator.on_draft is not None:
            before = _effect(draft)
            draft = mutator.on_draft(draft, call.params, context)
            mark(position, _effect(draft) != before)
    protection = draft.protection
    message_id: str | None
    # When nothing works on the tree, the Response is written as octets, signed on the way.
    written = None
    if not any(_after_draft(mutator) for _, mutator, _ in ordered):
        written = write_response(draft.spec, protection, context.rng)
    if written is not None:
        wire, plaintext, tree = written.wire, written.sealed_plaintext, None
        message_id, in_response_to = draft.spec.response_id, draft.spec.in_response_to
    else:
        tree, wire, plain = _build_tree(draft, ordered, context, mark)
        plaintext = to_bytes(plain) if plain is not None else None
        message_id, in_response_to = tree.get("ID"), tree.get("InResponseTo")
    applied: list[MutatorCall] = []
    inapplicable: list[MutatorNoEffect] = []
    for position, (call, mutator, is_standing) in enumerate(ordered):
        if effective.get(position, False):
            applied.append(call)
            continue
        error = MutatorNoEffect(call.name, _why(mutator, draft))
        if not is_standing:
            raise error
        inapplicable.append(error)
    return Mutated(
        wire,
        tuple(applied),
        message_id,
        in_response_to,
        plaintext if protection.encrypt_to is not None else None,
        tuple(inapplicable),
        tree,
    )


def _after_draft(mutator: Mutator) -> bool:
    """Whether ``mutator`` works on the built message (its tree or its bytes)."""
    stages = (mutator.on_content, mutator.on_assertion, mutator.on_response, mutator.on_wire)
    return any(stage is not None for stage in stages)


Ordered = Sequence[tuple[MutatorCall, Mutator, bool]]


def _build_tree(
    draft: Draft,
    ordered: Ordered,
    context: MutationContext,
    mark: Callable[[int, bool], None],
) -> tuple[etree._Element, bytes, etree._Element | None]:
    """The Response built as a tree, each mutator applied at its stage: the Response, its
    octets after every ``on_wire`` step, and the assertion as signed (or None)."""
    protection = draft.protection

    def content(assertion: etree._Element) -> etree._Element:
        for position, (call, mutator, _) in enumerate(ordered):
            if mutator.on_content is not None:
                before_bytes = _snapshot(assertion)
                assertion = mutator.on_content(assertion, call.params, context)
                mark(position, _snapshot(assertion) != before_bytes)
        return assertion

    assertion = signed_assertion(draft.spec, protection, content)
    for position, (call, mutator, _) in enumerate(ordered):
        if mutator.on_assertion is not None and assertion is not None:
            before_bytes = _snapshot(assertion)
            assertion = mutator.on_assertion(assertion, call.params, context)
            mark(position, _snapshot(assertion) != before_bytes)
    payload = None if assertion is None else seal_assertion(assertion, protection, context.rng)
    response = envelope(draft.spec, payload, protection)
    # A copy of the assertion as signed, for what works on the built response (and for the
    # journal, once sealed); without either it is not made.
    wants_plain = protection.encrypt_to is not None or any(
        mutator.on_response is not None for _, mutator, _ in ordered
    )
    plain = copy.deepcopy(assertion) if assertion is not None and wants_plain else None

    def seal(element: etree._Element) -> etree._Element:
        return seal_assertion(element, protection, context.rng)

    for position, (call, mutator, _) in enumerate(ordered):
        if mutator.on_response is not None:
            before_bytes = _snapshot(response)
            response = mutator.on_response(
                Built(response, plain, seal, protection), call.params, context
            )
            mark(position, _snapshot(response) != before_bytes)

    wire = to_bytes(response)
    for position, (call, mutator, _) in enumerate(ordered):
        if mutator.on_wire is not None:
            before_wire = wire
            wire = mutator.on_wire(wire, call.params, context)
            mark(position, wire != before_wire)
    return response, wire, plain


def _why(mutator: Mutator, draft: Draft) -> str:
    if mutator.needs is not None:
        return f"it needs {mutator.needs}, which this response lacks"
    if mutator.on_draft is not None:
        return "the response already says what it would make it say"
    protection = draft.protection
    if not draft.spec.include_assertion:
        return "the response carries no assertion"
    if protection.key is None or not (protection.sign_assertion or protection.sign_response):
        return "nothing in the response is signed"
    return "the part it breaks is not signed in this response (see its `which`)"


def build_mutated(
    draft: Draft, calls: Sequence[MutatorCall], context: MutationContext
) -> etree._Element:
    """The response with every call applied (each must change something), see :func:`mutate`."""
    return mutate(draft, calls, context).root
