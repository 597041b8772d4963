"""Drafting a Response: what the IdP will say to this SP about this user, before flaws,
rules and the plan's mutators are applied and the XML is built and signed.

Precedence, weakest first: the preset, the SP's metadata (WantAssertionsSigned, encryption
key), the SP's settings, matching rules (in order), the request (NameIDPolicy,
RequestedAuthnContext); then flaws, rule mutators and planned mutators break what they break.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from cryptography import x509

from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_context import choose_authn_context
from harness.protocol.saml.encryption import EncryptionChoice
from harness.protocol.saml.ids import new_id
from harness.protocol.saml.mutators import Draft, MutatorCall
from harness.protocol.saml.nameid import name_id_value
from harness.protocol.saml.presets import Preset
from harness.protocol.saml.response import Attribute, Protection, ResponseSpec
from harness.protocol.saml.signing import SignatureChoice

from .directory import User
from .flaws import FLAWS_BY_NAME
from .journal import Verdict
from .sessions import IdPSession

if TYPE_CHECKING:
    from .idp import LoginRequest, MockIdP


def draft_response(
    idp: MockIdP, login: LoginRequest, user: User, session: IdPSession, now: dt.datetime
) -> tuple[Draft, list[MutatorCall], list[MutatorCall], list[Verdict]]:
    """(draft, the flaws' standing mutators, the rules' and plan's mutators, verdicts)."""
    preset, sp, settings = idp.preset, login.sp, login.sp.settings
    rules = idp.rules.matching(sp.entity_id, login.relay_state, user.user_name)
    verdicts: list[Verdict] = []
    calls: list[MutatorCall] = []

    name_id_format = settings.name_id_format or preset.name_id_format
    name_id_template: str | None = None
    sign_assertion = settings.sign_assertion
    if sign_assertion is None:
        sign_assertion = preset.sign_assertion or sp.metadata.want_assertions_signed
    sign_response = (
        settings.sign_response if settings.sign_response is not None else preset.sign_response
    )
    algorithm = settings.signature_algorithm or preset.signature.algorithm
    encrypt = settings.encrypt
    attributes = _attributes(idp, user, preset)
    attributes.update(settings.attributes)
    for rule in rules:
        actions = rule.actions
        name_id_format = actions.name_id_format or name_id_format
        name_id_template = actions.name_id or name_id_template
        sign_assertion = (
            sign_assertion if actions.sign_assertion is None else actions.sign_assertion
        )
        sign_response = sign_response if actions.sign_response is None else actions.sign_response
        algorithm = actions.signature_algorithm or algorithm
        encrypt = encrypt if actions.encrypt is None else actions.encrypt
        attributes.update(actions.attributes)
        calls.extend(actions.mutators)
    if rules:
        verdicts.append(Verdict("rules", "pass", "", f"rules applied: {[r.id for r in rules]}"))

    requested = login.request.nameid_format if login.request else None
    status: tuple[str, str, str] | None = None
    if requested and requested != c.NAMEID_UNSPECIFIED and not idp.has_flaw("ignore-nameid-policy"):
        if requested in c.NAMEID_FORMATS:
            name_id_format = requested
        else:  # Core 3.4.1.1: a format the IdP cannot provide gets InvalidNameIDPolicy
            status = (
                c.STATUS_REQUESTER,
                c.STATUS_INVALID_NAMEID_POLICY,
                f"cannot issue {requested}",
            )
    authn_context = preset.authn_context_class
    if login.request is not None and status is None:
        chosen = choose_authn_context(
            login.request.requested_authn_contexts,
            login.request.authn_context_comparison,
            preset.authn_context_class,
        )
        if chosen is None:
            status = (
                c.STATUS_REQUESTER,
                c.STATUS_NO_AUTHN_CONTEXT,
                "cannot satisfy the context",
            )
        else:
            authn_context = chosen
    if name_id_template:
        # Plain replacement, not str.format: a template from the API must never raise.
        name_id = (
            name_id_template.replace("{userName}", user.user_name)
            .replace("{email}", user.email or "")
            .replace("{id}", user.id)
        )
    else:
        name_id = name_id_value(
            name_id_format,
            user_name=user.user_name,
            email=user.email,
            user_key=user.id,
            sp_entity_id=sp.entity_id,
            secret=idp.persistent_id_secret,
            rng=idp.rng,
        )

    if idp.signing_key.key_type == "ec" and algorithm.startswith("rsa"):
        algorithm = "ecdsa-sha256"
    choice = SignatureChoice.for_algorithm(algorithm)
    encrypt_to: x509.Certificate | None = None
    if encrypt is None:
        encrypt = bool(sp.metadata.encryption_certificates)
    if encrypt:
        if sp.metadata.encryption_certificates:
            encrypt_to = sp.metadata.encryption_certificates[0]
        else:
            verdicts.append(
                Verdict(
                    "encryption",
                    "warn",
                    "SAML-MD-2.4.1.1",
                    "no SP encryption key: sent in clear",
                )
            )
    encryption = EncryptionChoice(
        settings.encryption_block or "aes256-gcm", settings.encryption_transport or "rsa-oaep"
    )
    if idp.has_flaw("weak-encryption"):
        encryption = EncryptionChoice("aes128-cbc", "rsa-1_5")

    lifetime = preset.assertion_lifetime
    spec = ResponseSpec(
        response_id=new_id(idp.rng),
        assertion_id=new_id(idp.rng),
        issuer=idp.entity_id,
        issue_instant=now,
        name_id=name_id,
        name_id_format=name_id_format,
        name_id_sp_name_qualifier=sp.entity_id if name_id_format == c.NAMEID_PERSISTENT else None,
        destination=login.acs.location,
        in_response_to=login.request.id if login.request else None,
        recipient=login.acs.location,
        subject_in_response_to=login.request.id if login.request else None,
        subject_not_on_or_after=now + lifetime,
        audience_restrictions=((sp.entity_id,),),
        not_before=now - preset.not_before_skew,
        not_on_or_after=now + lifetime,
        authn_instant=session.authn_instant,
        session_index=session.session_index,
        session_not_on_or_after=(
            session.authn_instant + preset.session_lifetime if preset.session_lifetime else None
        ),
        authn_context_class=authn_context,
        attributes=tuple(
            Attribute(name, tuple(values), name_format, friendly)
            for name, (values, name_format, friendly) in _attribute_table(
                attributes, preset
            ).items()
            if values
        ),
        typed_attribute_values=preset.typed_attribute_values,
        issuer_format_entity=preset.issuer_format_entity,
        protocol_prefix=preset.protocol_prefix,
        assertion_prefix=preset.assertion_prefix,
    )
    if status is not None:
        spec = replace(
            spec,
            status_code=status[0],
            status_subcode=status[1],
            status_message=status[2],
            include_assertion=False,
        )
        sign_response = True  # an error Response carries no signed assertion: sign the Response
    protection = Protection(
        key=idp.signing_key,
        sign_assertion=sign_assertion,
        sign_response=sign_response,
        signature=choice,
        encrypt_to=encrypt_to,
        encryption=encryption,
    )
    flaw_calls = [call for name in sorted(idp.flaws) for call in FLAWS_BY_NAME[name].mutators]
    plan_calls = [call for entry in idp.plan.take(sp.entity_id) for call in entry.mutators]
    asked = calls + plan_calls
    if any(call.name == "wrong-key" for call in flaw_calls + asked):
        idp.attacker_key()
    # A flaw is a standing behaviour that may have nothing to break in some responses (no
    # InResponseTo to drop from an IdP-initiated one); what rules and the plan ask must apply.
    return Draft(spec, protection), flaw_calls, asked, verdicts


def _attributes(idp: MockIdP, user: User, preset: Preset) -> dict[str, list[str]]:
    group_ids = idp.directory.group_ids()
    values = {m.name: user.field_values(m.source, group_ids) for m in preset.attributes}
    for name, extra in user.attributes.items():
        values.setdefault(name, list(extra))
    return values


def _attribute_table(
    values: Mapping[str, list[str]], preset: Preset
) -> dict[str, tuple[list[str], str | None, str | None]]:
    formats = {m.name: (m.name_format, m.friendly_name) for m in preset.attributes}
    default_format = preset.attributes[0].name_format if preset.attributes else None
    return {
        name: (list(v), *formats.get(name, (default_format, None))) for name, v in values.items()
    }
