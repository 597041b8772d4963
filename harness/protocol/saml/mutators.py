"""Mutators: pure functions that break exactly one rule of a good response.

Each takes the good draft (content + protection) or the finished XML and returns the broken
one, and names the requirement id it breaks. The registry is an explicit tuple; duplicate
names fail at import. The full attack catalogue (XSW, XXE...) comes with the SP security suite.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from lxml import etree

from ..keys import KeyPair
from . import constants as c
from .response import Protection, ResponseSpec, build_response
from .signing import SignatureChoice

Params = Mapping[str, object]


@dataclass(frozen=True)
class Draft:
    spec: ResponseSpec
    protection: Protection


@dataclass(frozen=True)
class MutationContext:
    now: dt.datetime
    rng: random.Random
    attacker_key: KeyPair | None = None


@dataclass(frozen=True)
class Mutator:
    name: str
    rule: str
    description: str
    on_draft: Callable[[Draft, Params, MutationContext], Draft] | None = None
    on_xml: Callable[[etree._Element, Params, MutationContext], etree._Element] | None = None


@dataclass(frozen=True)
class MutatorCall:
    name: str
    params: Mapping[str, object]


class UnknownMutatorError(KeyError):
    pass


class MutatorParamError(ValueError):
    pass


def _int(params: Params, name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MutatorParamError(f"parameter {name!r} must be an integer")
    return value


def _str(params: Params, name: str, default: str) -> str:
    value = params.get(name, default)
    if not isinstance(value, str):
        raise MutatorParamError(f"parameter {name!r} must be a string")
    return value


def _spec(draft: Draft, **changes: object) -> Draft:
    return replace(draft, spec=replace(draft.spec, **changes))  # type: ignore[arg-type]


def _protection(draft: Draft, **changes: object) -> Draft:
    return replace(draft, protection=replace(draft.protection, **changes))  # type: ignore[arg-type]


def _unsigned(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _protection(draft, sign_assertion=False, sign_response=False)


def _unsigned_assertion(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _protection(draft, sign_assertion=False, sign_response=True)


def _unsigned_response(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _protection(draft, sign_assertion=True, sign_response=False)


def _expired(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    ago = dt.timedelta(seconds=_int(params, "seconds", 3600))
    past = ctx.now - ago
    return _spec(
        draft,
        issue_instant=past - dt.timedelta(minutes=5),
        authn_instant=past - dt.timedelta(minutes=5),
        not_before=past - dt.timedelta(minutes=10),
        not_on_or_after=past,
        subject_not_on_or_after=past,
    )


def _not_yet_valid(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    ahead = ctx.now + dt.timedelta(seconds=_int(params, "seconds", 3600))
    return _spec(draft, not_before=ahead, not_on_or_after=ahead + dt.timedelta(minutes=5))


def _subject_expired(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    past = ctx.now - dt.timedelta(seconds=_int(params, "seconds", 3600))
    return _spec(draft, subject_not_on_or_after=past)


def _no_subject_expiry(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, subject_not_on_or_after=None)


def _session_expired(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    past = ctx.now - dt.timedelta(seconds=_int(params, "seconds", 60))
    return _spec(draft, session_not_on_or_after=past)


def _wrong_audience(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    audience = _str(params, "audience", "https://other-sp.example/saml/metadata")
    return _spec(draft, audience_restrictions=((audience,),))


def _no_audience(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, audience_restrictions=())


def _wrong_recipient(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, recipient=_str(params, "recipient", "https://other-sp.example/acs"))


def _no_recipient(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, recipient=None)


def _wrong_destination(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, destination=_str(params, "destination", "https://other-sp.example/acs"))


def _no_destination(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, destination=None)


def _wrong_issuer(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    issuer = _str(params, "issuer", "https://unknown-idp.example/saml/metadata")
    return _spec(draft, issuer=issuer, assertion_issuer=None)


def _mismatched_issuer(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    issuer = _str(params, "issuer", "https://unknown-idp.example/saml/metadata")
    return _spec(draft, assertion_issuer=issuer)


def _bad_in_response_to(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    value = _str(params, "value", f"_{ctx.rng.getrandbits(160):040x}")
    return _spec(draft, in_response_to=value, subject_in_response_to=value)


def _no_in_response_to(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, in_response_to=None, subject_in_response_to=None)


def _no_session_index(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, session_index=None)


def _clock_skew(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    shift = dt.timedelta(seconds=_int(params, "seconds", -600))
    spec = draft.spec

    def moved(value: dt.datetime | None) -> dt.datetime | None:
        return value + shift if value is not None else None

    return _spec(
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
    return _spec(
        draft,
        status_code=_str(params, "code", c.STATUS_RESPONDER),
        status_subcode=_str(params, "subcode", c.STATUS_AUTHN_FAILED),
        status_message=_str(params, "message", "authentication failed"),
        include_assertion=bool(keep),
    )


def _wrong_key(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    if ctx.attacker_key is None:
        raise MutatorParamError("wrong-key needs an attacker key in the mutation context")
    return _protection(draft, key=ctx.attacker_key)


def _sha1(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _protection(draft, signature=SignatureChoice("rsa-sha1", "sha1"))


def _sender_vouches(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, confirmation_method=c.CM_SENDER_VOUCHES)


def _no_authn_statement(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, include_authn_statement=False)


def _wrong_version(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, version=_str(params, "version", "1.1"))


def _name_id(draft: Draft, params: Params, ctx: MutationContext) -> Draft:
    return _spec(draft, name_id=_str(params, "value", "admin@example.com"))


def _tamper_after_signing(
    root: etree._Element, params: Params, ctx: MutationContext
) -> etree._Element:
    value = _str(params, "value", "admin@example.com")
    for name_id in root.iter(c.q(c.SAML, "NameID")):
        name_id.text = value
    return root


def _corrupt_signature(
    root: etree._Element, params: Params, ctx: MutationContext
) -> etree._Element:
    for value in root.iter(c.q(c.DS, "SignatureValue")):
        raw = bytearray(base64.b64decode("".join((value.text or "").split())))
        if raw:
            raw[len(raw) // 2] ^= 0x01
        value.text = base64.b64encode(bytes(raw)).decode("ascii")
    return root


MUTATORS: tuple[Mutator, ...] = (
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
        "wrong-key", "SAML-CORE-5.4.5", "signed with a key not in the IdP metadata", _wrong_key
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
        "NameID edited after signing (`value`)",
        on_xml=_tamper_after_signing,
    ),
    Mutator(
        "corrupt-signature",
        "SAML-CORE-5.4",
        "one bit of every SignatureValue flipped",
        on_xml=_corrupt_signature,
    ),
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


def build_mutated(
    draft: Draft, calls: Sequence[MutatorCall], context: MutationContext
) -> etree._Element:
    """Apply the draft mutators, build (sign, encrypt), then apply the XML mutators in order."""
    mutators = [(get_mutator(call.name), call.params) for call in calls]
    for mutator, params in mutators:
        if mutator.on_draft is not None:
            draft = mutator.on_draft(draft, params, context)
    root = build_response(draft.spec, draft.protection, context.rng)
    for mutator, params in mutators:
        if mutator.on_xml is not None:
            root = mutator.on_xml(root, params, context)
    return root
