"""Drafting a Response: what the IdP will say to this SP about this user, before flaws,
rules and the plan's mutators are applied and the XML is built and signed.

Precedence, weakest first: the preset, the SP's metadata (WantAssertionsSigned, encryption
key), the SP's settings, matching rules (in order), the request (NameIDPolicy,
RequestedAuthnContext); then flaws, rule mutators and planned mutators break what they break.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from cryptography import x509

from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_context import choose_authn_context
from harness.protocol.saml.encryption import EncryptionChoice
from harness.protocol.saml.ids import new_id
from harness.protocol.saml.mutators import Draft, MutatorCall
from harness.protocol.saml.nameid import name_id_value
from harness.protocol.saml.presets import Preset
from harness.protocol.saml.response import Attribute, Protection, ResponseSpec

from .directory import User
from .flaws import FLAWS_BY_NAME
from .identity import IdPIdentity, signature_for
from .journal import Verdict
from .plan import Rule
from .sessions import IdPSession
from .sso_requests import LoginRequest

Status = tuple[str, str, str]  # (code, subcode, message) of an error Response


@dataclass
class ResponseDraft:
    """A drafted Response and the mutators to break it with: the flaws' standing ones (that
    may find nothing to break), and what the rules and the plan asked (that must apply)."""

    draft: Draft
    standing: list[MutatorCall]
    asked: list[MutatorCall]
    verdicts: list[Verdict]


@dataclass
class _Choices:
    """What the preset, the SP's metadata and settings, and the matching rules decided."""

    name_id_format: str
    sign_assertion: bool
    sign_response: bool
    algorithm: str
    encrypt: bool | None
    attributes: dict[str, list[str]]
    name_id_template: str | None = None
    mutators: list[MutatorCall] = field(default_factory=list)


def draft_response(
    identity: IdPIdentity,
    login: LoginRequest,
    user: User,
    session: IdPSession,
    *,
    rules: Sequence[Rule],
    planned: Sequence[MutatorCall],
    group_ids: Mapping[str, str],
    now: dt.datetime,
) -> ResponseDraft:
    """The Response to ``login`` for ``user`` at ``now``; ``rules`` are the matching rules, in
    order."""
    verdicts: list[Verdict] = []
    choices = _choose(identity.preset, login, user, rules, group_ids)
    if rules:
        verdicts.append(Verdict("rules", "pass", "", f"rules applied: {[r.id for r in rules]}"))
    status = _honour_request(identity, login, choices)
    authn_context = _authn_context(identity.preset, login) if status is None else None
    if status is None and authn_context is None:
        status = (c.STATUS_REQUESTER, c.STATUS_NO_AUTHN_CONTEXT, "cannot satisfy the context")
    # Made once: a ResponseSpec costs as much to copy with a change as to make.
    spec = _spec(identity, login, user, session, choices, now, authn_context)
    if status is not None:
        spec = replace(
            spec,
            status_code=status[0],
            status_subcode=status[1],
            status_message=status[2],
            include_assertion=False,
        )
        choices.sign_response = True  # an error Response has no signed assertion: sign it
    protection = _protection(identity, login, choices, verdicts)
    standing = [call for name in sorted(identity.flaws) for call in FLAWS_BY_NAME[name].mutators]
    return ResponseDraft(Draft(spec, protection), standing, [*choices.mutators, *planned], verdicts)


def _choose(
    preset: Preset,
    login: LoginRequest,
    user: User,
    rules: Sequence[Rule],
    group_ids: Mapping[str, str],
) -> _Choices:
    sp, settings = login.sp, login.sp.settings
    sign_assertion = settings.sign_assertion
    if sign_assertion is None:
        sign_assertion = preset.sign_assertion or sp.metadata.want_assertions_signed
    choices = _Choices(
        name_id_format=settings.name_id_format or preset.name_id_format,
        sign_assertion=sign_assertion,
        sign_response=(
            settings.sign_response if settings.sign_response is not None else preset.sign_response
        ),
        algorithm=settings.signature_algorithm or preset.signature.algorithm,
        encrypt=settings.encrypt,
        attributes=_attributes(user, preset, group_ids),
    )
    choices.attributes.update(settings.attributes)
    for rule in rules:
        actions = rule.actions
        choices.name_id_format = actions.name_id_format or choices.name_id_format
        choices.name_id_template = actions.name_id or choices.name_id_template
        if actions.sign_assertion is not None:
            choices.sign_assertion = actions.sign_assertion
        if actions.sign_response is not None:
            choices.sign_response = actions.sign_response
        choices.algorithm = actions.signature_algorithm or choices.algorithm
        if actions.encrypt is not None:
            choices.encrypt = actions.encrypt
        choices.attributes.update(actions.attributes)
        choices.mutators.extend(actions.mutators)
    return choices


def _honour_request(identity: IdPIdentity, login: LoginRequest, choices: _Choices) -> Status | None:
    """Apply the request's NameIDPolicy; the error status when it cannot be honoured."""
    requested = login.request.nameid_format if login.request else None
    if not requested or requested == c.NAMEID_UNSPECIFIED:
        return None
    if identity.has_flaw("ignore-nameid-policy"):
        return None
    if requested in c.NAMEID_FORMATS:
        choices.name_id_format = requested
        return None
    # Core 3.4.1.1: a format the IdP cannot provide gets InvalidNameIDPolicy.
    return (c.STATUS_REQUESTER, c.STATUS_INVALID_NAMEID_POLICY, f"cannot issue {requested}")


def _authn_context(preset: Preset, login: LoginRequest) -> str | None:
    """The context class to assert (RequestedAuthnContext), None when none satisfies it."""
    if login.request is None:
        return preset.authn_context_class
    return choose_authn_context(
        login.request.requested_authn_contexts,
        login.request.authn_context_comparison,
        preset.authn_context_class,
    )


def _name_id(identity: IdPIdentity, login: LoginRequest, user: User, choices: _Choices) -> str:
    if choices.name_id_template:
        # Plain replacement, not str.format: a template from the API must never raise.
        return (
            choices.name_id_template.replace("{userName}", user.user_name)
            .replace("{email}", user.email or "")
            .replace("{id}", user.id)
        )
    return name_id_value(
        choices.name_id_format,
        user_name=user.user_name,
        email=user.email,
        user_key=user.id,
        sp_entity_id=login.sp.entity_id,
        secret=identity.persistent_id_secret,
        rng=identity.rng,
    )


def _spec(
    identity: IdPIdentity,
    login: LoginRequest,
    user: User,
    session: IdPSession,
    choices: _Choices,
    now: dt.datetime,
    authn_context: str | None,
) -> ResponseSpec:
    preset, sp = identity.preset, login.sp
    request_id = login.request.id if login.request else None
    lifetime = preset.assertion_lifetime
    persistent = choices.name_id_format == c.NAMEID_PERSISTENT
    name_id = _name_id(identity, login, user, choices)  # a transient one draws on the rng first
    return ResponseSpec(
        response_id=new_id(identity.rng),
        assertion_id=new_id(identity.rng),
        issuer=identity.entity_id,
        issue_instant=now,
        name_id=name_id,
        name_id_format=choices.name_id_format,
        name_id_sp_name_qualifier=sp.entity_id if persistent else None,
        destination=login.acs.location,
        in_response_to=request_id,
        recipient=login.acs.location,
        subject_in_response_to=request_id,
        subject_not_on_or_after=now + lifetime,
        audience_restrictions=((sp.entity_id,),),
        not_before=now - preset.not_before_skew,
        not_on_or_after=now + lifetime,
        authn_instant=session.authn_instant,
        session_index=session.session_index,
        session_not_on_or_after=(
            session.authn_instant + preset.session_lifetime if preset.session_lifetime else None
        ),
        authn_context_class=authn_context or preset.authn_context_class,
        attributes=_attribute_elements(choices.attributes, preset),
        typed_attribute_values=preset.typed_attribute_values,
        issuer_format_entity=preset.issuer_format_entity,
        protocol_prefix=preset.protocol_prefix,
        assertion_prefix=preset.assertion_prefix,
    )


def _protection(
    identity: IdPIdentity, login: LoginRequest, choices: _Choices, verdicts: list[Verdict]
) -> Protection:
    metadata, settings = login.sp.metadata, login.sp.settings
    encrypt = choices.encrypt
    if encrypt is None:
        encrypt = bool(metadata.encryption_certificates)
    encrypt_to: x509.Certificate | None = None
    if encrypt and metadata.encryption_certificates:
        encrypt_to = metadata.encryption_certificates[0]
    elif encrypt:
        verdicts.append(
            Verdict("encryption", "warn", "SAML-MD-2.4.1.1", "no SP encryption key: sent in clear")
        )
    encryption = EncryptionChoice(
        settings.encryption_block or "aes256-gcm", settings.encryption_transport or "rsa-oaep"
    )
    if identity.has_flaw("weak-encryption"):
        encryption = EncryptionChoice("aes128-cbc", "rsa-1_5")
    return Protection(
        key=identity.signing_key,
        sign_assertion=choices.sign_assertion,
        sign_response=choices.sign_response,
        signature=signature_for(choices.algorithm, identity.signing_key),
        encrypt_to=encrypt_to,
        encryption=encryption,
    )


def _attributes(user: User, preset: Preset, group_ids: Mapping[str, str]) -> dict[str, list[str]]:
    ids = dict(group_ids)
    values = {m.name: user.field_values(m.source, ids) for m in preset.attributes}
    for name, extra in user.attributes.items():
        values.setdefault(name, list(extra))
    return values


def _attribute_elements(values: Mapping[str, list[str]], preset: Preset) -> tuple[Attribute, ...]:
    """The attributes with values, each with the preset's NameFormat and FriendlyName."""
    formats = {m.name: (m.name_format, m.friendly_name) for m in preset.attributes}
    default_format = preset.attributes[0].name_format if preset.attributes else None
    return tuple(
        Attribute(name, tuple(found), *formats.get(name, (default_format, None)))
        for name, found in values.items()
        if found
    )
