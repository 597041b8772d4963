"""Issuing Responses: the drafted Response broken by flaws, rules and the plan, signed,
journaled with the rule each break violates, and handed back as a form to post to the ACS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import encode_post_value
from harness.protocol.saml.ids import new_id
from harness.protocol.saml.mutators import (
    Draft,
    Mutated,
    MutationContext,
    MutatorNoEffect,
    get_mutator,
    mutate,
)
from harness.protocol.saml.response import Protection, ResponseSpec

from .directory import Directory, User
from .drafting import ResponseDraft, draft_response
from .identity import IdPIdentity
from .journal import Journal, Verdict
from .messages import OutgoingMessage
from .plan import Plan, Rules
from .sessions import IdPSession, Participant
from .signing_keys import SigningKeys
from .sso_requests import LoginRequest


class Responder:
    def __init__(
        self,
        identity: Callable[[], IdPIdentity],
        *,
        journal: Journal,
        plan: Plan,
        rules: Rules,
        directory: Directory,
        keys: SigningKeys,
    ) -> None:
        self.identity = identity
        self.journal = journal
        self.plan = plan
        self.rules = rules
        self.directory = directory
        self.keys = keys

    def issue(self, login: LoginRequest, user: User, session: IdPSession) -> OutgoingMessage:
        """Sign (and encrypt) the Response for ``user``, applying flaws, rules and the plan."""
        identity = self.identity()
        now = identity.clock.now()  # one instant for the draft, its mutators and the journal
        drafted = self._draft(identity, login, user, session, now)
        try:
            mutated = mutate(
                drafted.draft,
                drafted.asked,
                self._mutation_context(identity, drafted, now),
                standing=drafted.standing,
            )
        except MutatorNoEffect as exc:
            # The harness asked for a break this response cannot carry: say so instead of
            # sending a good response that the journal would call broken.
            self._journal_no_effect(identity, login, user, exc)
            raise
        # Say in the journal which rule each applied mutator breaks, so a reader of the
        # journal (or the IdP-under-test suite) knows what the SP should have refused.
        verdicts = drafted.verdicts
        for call in mutated.applied:
            mutator = get_mutator(call.name)
            verdicts.append(
                Verdict(f"mutator:{call.name}", "fail", mutator.rule, mutator.description)
            )
        spec = drafted.draft.spec
        session.participants[login.sp.entity_id] = Participant(
            login.sp.entity_id, spec.name_id, spec.name_id_format
        )
        return self._deliver(
            identity,
            login,
            mutated,
            now,
            user=user.user_name,
            mutators=tuple(call.name for call in mutated.applied),
            verdicts=verdicts,
            not_applied=[str(skipped) for skipped in mutated.inapplicable],
            calls=[{"name": call.name, "params": dict(call.params)} for call in mutated.applied],
        )

    def issue_status(
        self, login: LoginRequest, code: str, subcode: str | None, message: str
    ) -> OutgoingMessage:
        """An error Response (no assertion) to a known SP's ACS, e.g. NoPassive."""
        identity = self.identity()
        now = identity.clock.now()
        spec = ResponseSpec(
            response_id=new_id(identity.rng),
            assertion_id=new_id(identity.rng),
            issuer=identity.entity_id,
            issue_instant=now,
            name_id="",
            destination=login.acs.location,
            in_response_to=login.request.id if login.request else None,
            status_code=code,
            status_subcode=subcode,
            status_message=message,
            include_assertion=False,
        )
        protection = Protection(identity.signing_key, sign_assertion=False, sign_response=True)
        context = MutationContext(
            now=now, rng=identity.rng, attacker_key=self.keys.attacker_if_made
        )
        built = mutate(Draft(spec, protection), (), context)
        return self._deliver(identity, login, built, now, user=None, mutators=(), verdicts=())

    def _draft(
        self,
        identity: IdPIdentity,
        login: LoginRequest,
        user: User,
        session: IdPSession,
        now: dt.datetime,
    ) -> ResponseDraft:
        sp = login.sp.entity_id
        rules = self.rules.matching(sp, login.relay_state, user.user_name)
        drafted = draft_response(
            identity,
            login,
            user,
            session,
            rules=rules,
            planned=[call for entry in self.plan.take(sp) for call in entry.mutators],
            group_ids=self.directory.group_ids(),
            now=now,
        )
        return drafted

    def _mutation_context(
        self, identity: IdPIdentity, drafted: ResponseDraft, now: dt.datetime
    ) -> MutationContext:
        calls = drafted.standing + drafted.asked
        if any(get_mutator(call.name).uses_attacker_key for call in calls):
            self.keys.attacker(now)  # made on first use: making a key is slow
        return MutationContext(now=now, rng=identity.rng, attacker_key=self.keys.attacker_if_made)

    def _journal_no_effect(
        self, identity: IdPIdentity, login: LoginRequest, user: User, exc: MutatorNoEffect
    ) -> None:
        self.journal.record(
            time=identity.clock.now(),
            direction="out",
            kind="Error",
            binding=None,
            sp=login.sp.entity_id,
            xml=None,
            user=user.user_name,
            error={"reason": "mutator-no-effect", "rule": "", "message": str(exc)},
        )

    def _deliver(
        self,
        identity: IdPIdentity,
        login: LoginRequest,
        mutated: Mutated,
        now: dt.datetime,
        *,
        user: str | None,
        mutators: tuple[str, ...],
        verdicts: Sequence[Verdict],
        not_applied: Sequence[str] = (),
        calls: Sequence[dict[str, object]] = (),
    ) -> OutgoingMessage:
        details: dict[str, object] = {"acs": login.acs.location, "flaws": sorted(identity.flaws)}
        if calls:  # with their parameters, so that a reproduction can say what it cannot repeat
            details["mutator_calls"] = list(calls)
        if mutated.sealed_plaintext is not None:  # what the SP finds once it decrypts
            details["assertion_before_encryption"] = mutated.sealed_plaintext.decode()
        if not_applied:  # a flaw's mutator with nothing to break here: not claimed as applied
            details["mutators_not_applied"] = list(not_applied)
        xml = mutated.wire
        fields = {"SAMLResponse": encode_post_value(xml)}
        if login.relay_state is not None and not identity.has_flaw("drop-relay-state"):
            fields["RelayState"] = login.relay_state
        self.journal.record(
            time=now,
            direction="out",
            kind="Response",
            binding=c.BINDING_HTTP_POST,
            sp=login.sp.entity_id,
            xml=xml.decode(),
            message_id=mutated.message_id,
            in_response_to=mutated.in_response_to,
            relay_state=fields.get("RelayState"),
            user=user,
            verdicts=tuple(verdicts),
            mutators=mutators,
            details=details,
        )
        return OutgoingMessage(
            kind="Response",
            binding=c.BINDING_HTTP_POST,
            url=login.acs.location,
            xml=xml,
            fields=fields,
            sp=login.sp.entity_id,
            message_id=mutated.message_id,
        )
