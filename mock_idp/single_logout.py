"""Single logout (SAML Profiles 4.4) for the mock IdP, front channel only.

A LogoutRequest from an SP ends the matching IdP sessions; the IdP then sends a LogoutRequest
to every other SP of those sessions, one browser round trip each, and finally answers the SP
that asked (PartialLogout when an SP could not be told). IdP-initiated logout runs the same
chain and ends on the IdP's "signed out" page.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import RedirectMessage
from harness.protocol.saml.ids import new_id
from harness.protocol.saml.logout import (
    LogoutRequest,
    LogoutResponse,
    build_logout_request,
    build_logout_response,
    parse_logout_request,
    parse_logout_response,
)
from harness.protocol.saml.metadata import FRONT_CHANNEL_BINDINGS

from .identity import IdPIdentity
from .intake import Intake, xml_text
from .journal import Verdict
from .logout_judging import judge_logout_request, judge_logout_response
from .logout_messages import LogoutSender
from .messages import OutgoingMessage, RefusalContext
from .refusals import IdPError
from .service_providers import ServiceProvider
from .sessions import IdPSession, Participant, SessionStore

MAX_IN_PROGRESS = 1000
LOGOUT_REQUEST = "LogoutRequest"
LOGOUT_RESPONSE = "LogoutResponse"


@dataclass
class LogoutProgress:
    """Front-channel SLO in progress: which SPs are still to be told, and whom to answer."""

    user_name: str
    remaining: list[Participant]
    origin_sp: str | None = None
    origin_request_id: str | None = None
    origin_relay_state: str | None = None
    origin_binding: str = c.BINDING_HTTP_REDIRECT
    waiting_for: str | None = None
    partial: bool = False
    session_index: str = ""
    done: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Message:
    """A logout message as decoded from its binding."""

    binding: str
    xml: bytes
    redirect: RedirectMessage | None
    relay_state: str | None


class SingleLogout:
    def __init__(
        self,
        intake: Intake,
        sps: Mapping[str, ServiceProvider],
        sessions: SessionStore,
        identity: Callable[[], IdPIdentity],
    ) -> None:
        self.intake = intake
        self.sps = sps
        self.sessions = sessions
        self.identity = identity
        self.sender = LogoutSender(intake.journal, identity)
        self._progress: OrderedDict[str, LogoutProgress] = OrderedDict()

    def clear(self) -> None:
        self._progress.clear()

    def receive(
        self,
        binding: str,
        *,
        query: str | None = None,
        form: Mapping[str, str] | None = None,
        session: IdPSession | None = None,
    ) -> OutgoingMessage | None:
        """Handle a LogoutRequest from an SP or a LogoutResponse in an IdP-driven chain.

        Returns the next message to deliver, or None when the logout is complete and there
        is nobody to answer (an IdP-initiated logout): the app shows a "signed out" page.
        """
        form = form or {}
        if binding == c.BINDING_HTTP_REDIRECT:
            names = {piece.partition("=")[0] for piece in (query or "").split("&")}
            is_request = "SAMLRequest" in names
        else:
            is_request = "SAMLRequest" in form
        kind = LOGOUT_REQUEST if is_request else LOGOUT_RESPONSE
        value = form.get("SAMLRequest" if is_request else "SAMLResponse")
        xml, redirect, relay_state = self.intake.decode(
            kind, binding, query, value, form.get("RelayState")
        )
        message = _Message(binding, xml, redirect, relay_state)
        if is_request:
            return self._logout_request(message, session)
        return self._logout_response(message)

    def _refuse(
        self,
        error: Refusal,
        kind: str,
        message: _Message,
        context: RefusalContext | None = None,
        verdicts: list[Verdict] | None = None,
    ) -> Refusal:
        return self.intake.refuse(
            error,
            kind=kind,
            binding=message.binding,
            xml=message.xml,
            context=context,
            verdicts=verdicts or (),
        )

    def _logout_request(
        self, message: _Message, session: IdPSession | None
    ) -> OutgoingMessage | None:
        verdicts: list[Verdict] = []
        try:
            request = parse_logout_request(message.xml)
        except Refusal as exc:
            raise self._refuse(exc.with_status(400), LOGOUT_REQUEST, message) from exc
        context = RefusalContext(request.issuer, request.id, message.relay_state)
        received = (request, message.xml, message.redirect, message.binding)
        try:
            sp, signed, request = judge_logout_request(
                self.identity(), self.sps, received, verdicts
            )
        except Refusal as error:
            raise self._refuse(error, LOGOUT_REQUEST, message, context, verdicts) from None
        verdicts.append(Verdict("signature", "pass" if signed else "warn", "SAML-PROF-4.4.4.1", ""))
        sessions = self.sessions.find(sp.entity_id, request.name_id, request.session_indexes)
        if session is not None and session not in sessions and sp.entity_id in session.participants:
            sessions.append(session)
        self._journal_in(
            message,
            LOGOUT_REQUEST,
            request.issuer,
            request.id,
            None,
            verdicts,
            {"sessions": len(sessions), "name_id": request.name_id},
        )
        others: list[Participant] = []
        user_name = request.name_id
        for found in sessions:
            user_name = found.user_name
            others.extend(p for e, p in found.participants.items() if e != sp.entity_id)
            self.sessions.end(found.id)
        progress = LogoutProgress(
            user_name=user_name,
            remaining=others,
            origin_sp=sp.entity_id,
            origin_request_id=request.id,
            origin_relay_state=message.relay_state,
            origin_binding=message.binding,
        )
        return self._continue(progress)

    def _logout_response(self, message: _Message) -> OutgoingMessage | None:
        verdicts: list[Verdict] = []
        try:
            response = parse_logout_response(message.xml)
        except Refusal as exc:
            raise self._refuse(exc.with_status(400), LOGOUT_RESPONSE, message) from exc
        relay_state = message.relay_state
        # Looked up, not removed, until the response is verified: a forged answer must not
        # cancel the logout in progress.
        progress = self._progress.get(relay_state) if relay_state else None
        context = RefusalContext(response.issuer, response.id, relay_state)
        try:
            received = (response, message.xml, message.redirect)
            response = judge_logout_response(self.identity(), self.sps, received, verdicts)
            if progress is None or response.in_response_to != progress.waiting_for:
                raise IdPError(
                    "unexpected-response",
                    "this LogoutResponse answers no logout in progress (InResponseTo/RelayState)",
                    "SAML-CORE-3.2.2",
                )
        except Refusal as error:
            raise self._refuse(error, LOGOUT_RESPONSE, message, context, verdicts) from None
        if relay_state:
            self._progress.pop(relay_state, None)
        if response.status_code != c.STATUS_SUCCESS:
            progress.partial = True
            verdicts.append(Verdict("status", "warn", "SAML-CORE-3.2.2.2", response.status_code))
        self._journal_in(
            message,
            LOGOUT_RESPONSE,
            response.issuer,
            response.id,
            response.in_response_to,
            verdicts,
            None,
        )
        progress.done.append(response.issuer)
        return self._continue(progress)

    def _journal_in(
        self,
        message: _Message,
        kind: str,
        sp: str,
        message_id: str,
        in_response_to: str | None,
        verdicts: list[Verdict],
        details: dict[str, object] | None,
    ) -> None:
        self.intake.journal.record(
            time=self.intake.clock.now(),
            direction="in",
            kind=kind,
            binding=message.binding,
            sp=sp,
            xml=xml_text(message.xml),
            message_id=message_id,
            relay_state=message.relay_state,
            in_response_to=in_response_to,
            verdicts=tuple(verdicts),
            details=details or {},
        )

    def start(self, session: IdPSession) -> OutgoingMessage | None:
        """IdP-initiated SLO: end ``session`` and tell every SP that got an assertion in it."""
        self.sessions.end(session.id)
        progress = LogoutProgress(
            user_name=session.user_name,
            remaining=list(session.participants.values()),
            session_index=session.session_index,
        )
        return self._continue(progress)

    def _continue(self, progress: LogoutProgress) -> OutgoingMessage | None:
        """The next SP of the chain told, or the SP that asked answered, or None: done."""
        while progress.remaining:
            participant = progress.remaining.pop(0)
            sp = self.sps.get(participant.sp_entity_id)
            # Only a binding a browser can carry: never a form posted to a SOAP endpoint.
            endpoint = sp.metadata.front_channel_slo_endpoint() if sp else None
            if sp is None or endpoint is None:
                if sp is not None:
                    self.sender.journal_skipped(sp)
                progress.partial = True
                continue
            return self._tell(progress, participant, sp, (endpoint.binding, endpoint.location))
        return self._answer_origin(progress)

    def _tell(
        self,
        progress: LogoutProgress,
        participant: Participant,
        sp: ServiceProvider,
        endpoint: tuple[str, str],
    ) -> OutgoingMessage:
        handle = secrets.token_urlsafe(18)
        self._progress[handle] = progress
        while len(self._progress) > MAX_IN_PROGRESS:
            self._progress.popitem(last=False)
        identity = self.identity()
        now = identity.clock.now()
        request = LogoutRequest(
            id=new_id(identity.rng),
            issue_instant=now,
            issuer=identity.entity_id,
            name_id=participant.name_id,
            name_id_format=participant.name_id_format,
            session_indexes=(progress.session_index,) if progress.session_index else (),
            destination=endpoint[1],
            not_on_or_after=now + dt.timedelta(minutes=5),
            reason=c.LOGOUT_USER,
        )
        progress.waiting_for = request.id
        root = build_logout_request(request)
        return self.sender.send(LOGOUT_REQUEST, root, endpoint, "SAMLRequest", handle, sp.entity_id)

    def _answer_origin(self, progress: LogoutProgress) -> OutgoingMessage | None:
        if progress.origin_sp is None:
            return None
        origin = self.sps.get(progress.origin_sp)
        if origin is None:  # the SP was removed while the logout ran
            return None
        # Answer on the binding the request came on, else another front-channel one.
        endpoint = origin.metadata.slo_endpoint(progress.origin_binding)
        if endpoint is None or endpoint.binding not in FRONT_CHANNEL_BINDINGS:
            endpoint = origin.metadata.front_channel_slo_endpoint()
        if endpoint is None:
            return None
        identity = self.identity()
        location = endpoint.response_location or endpoint.location
        response = LogoutResponse(
            id=new_id(identity.rng),
            issue_instant=identity.clock.now(),
            issuer=identity.entity_id,
            in_response_to=progress.origin_request_id,
            status_code=c.STATUS_PARTIAL_LOGOUT if progress.partial else c.STATUS_SUCCESS,
            destination=location,
        )
        return self.sender.send(
            LOGOUT_RESPONSE,
            build_logout_response(response),
            (endpoint.binding, location),
            "SAMLResponse",
            progress.origin_relay_state,
            origin.entity_id,
        )
