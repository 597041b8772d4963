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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree

from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import (
    RedirectMessage,
    encode_post_value,
    encode_redirect_query,
    redirect_url,
)
from harness.protocol.saml.errors import SAMLError
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
from harness.protocol.saml.signing import sign_element
from harness.protocol.xml import XMLSecurityError, to_bytes

from .journal import Verdict
from .messages import IdPError, OutgoingMessage, RefusalContext
from .service_providers import ServiceProvider
from .sessions import IdPSession, Participant

if TYPE_CHECKING:
    from .idp import MockIdP

MAX_IN_PROGRESS = 1000


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


class SingleLogout:
    def __init__(self, idp: MockIdP) -> None:
        self.idp = idp
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
        kind = "LogoutRequest" if is_request else "LogoutResponse"
        value = form.get("SAMLRequest" if is_request else "SAMLResponse")
        xml, redirect, relay_state = self.idp.decode_binding(
            kind, binding, query, value, form.get("RelayState")
        )
        if is_request:
            return self._logout_request(binding, xml, redirect, relay_state, session)
        return self._logout_response(binding, xml, redirect, relay_state)

    def _verify_sp_message(
        self,
        sp: ServiceProvider,
        xml: bytes,
        redirect: RedirectMessage | None,
        verdicts: list[Verdict],
    ) -> tuple[bool, bytes]:
        try:
            return self.idp.verify_sp_signature(sp, xml, redirect, verdicts)
        except (SAMLError, XMLSecurityError) as exc:
            raise IdPError(403, exc.reason, exc.rule, exc.message) from exc

    def _logout_request(
        self,
        binding: str,
        xml: bytes,
        redirect: RedirectMessage | None,
        relay_state: str | None,
        session: IdPSession | None,
    ) -> OutgoingMessage | None:
        kind = "LogoutRequest"
        verdicts: list[Verdict] = []
        try:
            request = parse_logout_request(xml)
        except SAMLError as exc:
            raise self.idp.refuse(
                IdPError(400, exc.reason, exc.rule, exc.message),
                kind=kind,
                binding=binding,
                xml=xml,
            ) from exc
        context = RefusalContext(request.issuer, request.id, relay_state)
        try:
            sp, signed, request = self._judge_logout_request(
                request, xml, redirect, binding, verdicts
            )
        except IdPError as error:
            raise self.idp.refuse(
                error, kind=kind, binding=binding, xml=xml, verdicts=verdicts, context=context
            ) from None
        verdicts.append(Verdict("signature", "pass" if signed else "warn", "SAML-PROF-4.4.4.1", ""))
        sessions = self.idp.sessions.find(sp.entity_id, request.name_id, request.session_indexes)
        if session is not None and session not in sessions and sp.entity_id in session.participants:
            sessions.append(session)
        self.idp.journal.record(
            time=self.idp.clock.now(),
            direction="in",
            kind=kind,
            binding=binding,
            sp=sp.entity_id,
            xml=_text(xml),
            message_id=request.id,
            relay_state=relay_state,
            verdicts=tuple(verdicts),
            details={"sessions": len(sessions), "name_id": request.name_id},
        )
        others: list[Participant] = []
        user_name = request.name_id
        for found in sessions:
            user_name = found.user_name
            others.extend(p for e, p in found.participants.items() if e != sp.entity_id)
            self.idp.sessions.end(found.id)
        progress = LogoutProgress(
            user_name=user_name,
            remaining=others,
            origin_sp=sp.entity_id,
            origin_request_id=request.id,
            origin_relay_state=relay_state,
            origin_binding=binding,
        )
        return self._continue_logout(progress)

    def _judge_logout_request(
        self,
        request: LogoutRequest,
        xml: bytes,
        redirect: RedirectMessage | None,
        binding: str,
        verdicts: list[Verdict],
    ) -> tuple[ServiceProvider, bool, LogoutRequest]:
        sp = self.idp.sps.get(request.issuer)
        if sp is None:
            raise IdPError(
                400, "unknown-sp", "SAML-PROF-4.4.4.1", f"no SP {request.issuer!r} is registered"
            )
        signed, verified_xml = self._verify_sp_message(sp, xml, redirect, verdicts)
        if signed and verified_xml is not xml:
            try:  # read only what the signature covers
                request = parse_logout_request(verified_xml)
            except SAMLError as exc:
                raise IdPError(400, exc.reason, exc.rule, exc.message) from exc
        if not signed and not self.idp.has_flaw("accept-unsigned-requests"):
            # Profiles 4.4.4.1: the requester MUST authenticate itself (sign) on front channels.
            raise IdPError(
                403, "unsigned-request", "SAML-PROF-4.4.4.1", "a LogoutRequest must be signed"
            )
        self.idp.check_destination(request.destination, self.idp.slo_url, signed, binding)
        if request.not_on_or_after is not None and request.not_on_or_after <= self.idp.clock.now():
            raise IdPError(
                400, "expired-request", "SAML-CORE-3.7.1", "the LogoutRequest has expired"
            )
        if sp.metadata.front_channel_slo_endpoint() is None:
            # The answer goes back through the browser: a SOAP-only SP cannot receive it.
            raise IdPError(
                400,
                "no-slo-endpoint",
                "SAML-PROF-4.4.4.2",
                "the SP lists no HTTP-Redirect or HTTP-POST SingleLogoutService to answer on",
            )
        return sp, signed, request

    def start(self, session: IdPSession) -> OutgoingMessage | None:
        """IdP-initiated SLO: end ``session`` and tell every SP that got an assertion in it."""
        self.idp.sessions.end(session.id)
        progress = LogoutProgress(
            user_name=session.user_name,
            remaining=list(session.participants.values()),
            session_index=session.session_index,
        )
        return self._continue_logout(progress)

    def _continue_logout(self, progress: LogoutProgress) -> OutgoingMessage | None:
        while progress.remaining:
            participant = progress.remaining.pop(0)
            sp = self.idp.sps.get(participant.sp_entity_id)
            # Only a binding a browser can carry: never a form posted to a SOAP endpoint.
            endpoint = sp.metadata.front_channel_slo_endpoint() if sp else None
            if sp is None or endpoint is None:
                if sp is not None:
                    self._journal_skipped(sp)
                progress.partial = True
                continue
            handle = secrets.token_urlsafe(18)
            self._progress[handle] = progress
            while len(self._progress) > MAX_IN_PROGRESS:
                self._progress.popitem(last=False)
            now = self.idp.clock.now()
            request = LogoutRequest(
                id=new_id(self.idp.rng),
                issue_instant=now,
                issuer=self.idp.entity_id,
                name_id=participant.name_id,
                name_id_format=participant.name_id_format,
                session_indexes=(progress.session_index,) if progress.session_index else (),
                destination=endpoint.location,
                not_on_or_after=now + dt.timedelta(minutes=5),
                reason=c.LOGOUT_USER,
            )
            progress.waiting_for = request.id
            return self._send(
                "LogoutRequest",
                build_logout_request(request),
                endpoint.binding,
                endpoint.location,
                "SAMLRequest",
                handle,
                sp.entity_id,
            )
        if progress.origin_sp is None:
            return None
        origin = self.idp.sps.get(progress.origin_sp)
        endpoint = None
        if origin is not None:
            # Answer on the binding the request came on, else another front-channel one.
            endpoint = origin.metadata.slo_endpoint(progress.origin_binding)
            if endpoint is None or endpoint.binding not in FRONT_CHANNEL_BINDINGS:
                endpoint = origin.metadata.front_channel_slo_endpoint()
        if origin is None or endpoint is None:  # the SP was removed while the logout ran
            return None
        sp = origin
        location = endpoint.response_location or endpoint.location
        response = LogoutResponse(
            id=new_id(self.idp.rng),
            issue_instant=self.idp.clock.now(),
            issuer=self.idp.entity_id,
            in_response_to=progress.origin_request_id,
            status_code=c.STATUS_PARTIAL_LOGOUT if progress.partial else c.STATUS_SUCCESS,
            destination=location,
        )
        return self._send(
            "LogoutResponse",
            build_logout_response(response),
            endpoint.binding,
            location,
            "SAMLResponse",
            progress.origin_relay_state,
            sp.entity_id,
        )

    def _journal_skipped(self, sp: ServiceProvider) -> None:
        """Say why an SP of the session was not told: it has no front-channel SLO endpoint."""
        listed = [endpoint.binding for endpoint in sp.metadata.slo_endpoints]
        self.idp.journal.record(
            time=self.idp.clock.now(),
            direction="out",
            kind="LogoutSkipped",
            binding=None,
            sp=sp.entity_id,
            xml=None,
            verdicts=(
                Verdict(
                    "slo-front-channel",
                    "warn",
                    "SAML-PROF-4.4.3.3",
                    "the SP lists no HTTP-Redirect or HTTP-POST SingleLogoutService "
                    f"(it lists {listed or 'none'}): not told of the logout, skipped",
                ),
            ),
            details={"slo_bindings": listed},
        )

    def _send(
        self,
        kind: str,
        root: etree._Element,
        binding: str,
        location: str,
        parameter: str,
        relay_state: str | None,
        sp: str,
    ) -> OutgoingMessage:
        """Sign and encode a logout message for ``binding`` (Profiles 4.4.4.1: always signed)."""
        choice = self.idp.signature_choice()
        if binding == c.BINDING_HTTP_REDIRECT:
            xml = to_bytes(root)
            query = encode_redirect_query(
                xml,
                parameter=parameter,
                relay_state=relay_state,
                key_pair=self.idp.signing_key,
                algorithm=choice.algorithm,
            )
            message = OutgoingMessage(
                kind, binding, redirect_url(location, query), xml, {}, sp, root.get("ID")
            )
        else:
            signed = sign_element(root, self.idp.signing_key, choice)
            xml = to_bytes(signed)
            fields = {parameter: encode_post_value(xml)}
            if relay_state is not None:
                fields["RelayState"] = relay_state
            message = OutgoingMessage(
                kind, c.BINDING_HTTP_POST, location, xml, fields, sp, root.get("ID")
            )
        self.idp.journal.record(
            time=self.idp.clock.now(),
            direction="out",
            kind=kind,
            binding=binding,
            sp=sp,
            xml=xml.decode(),
            message_id=root.get("ID"),
            in_response_to=root.get("InResponseTo"),
            relay_state=relay_state,
        )
        return message

    def _logout_response(
        self, binding: str, xml: bytes, redirect: RedirectMessage | None, relay_state: str | None
    ) -> OutgoingMessage | None:
        kind = "LogoutResponse"
        verdicts: list[Verdict] = []
        try:
            response = parse_logout_response(xml)
        except SAMLError as exc:
            raise self.idp.refuse(
                IdPError(400, exc.reason, exc.rule, exc.message),
                kind=kind,
                binding=binding,
                xml=xml,
            ) from exc
        # Looked up, not removed, until the response is verified: a forged answer must not
        # cancel the logout in progress.
        progress = self._progress.get(relay_state) if relay_state else None
        context = RefusalContext(response.issuer, response.id, relay_state)
        try:
            sp = self.idp.sps.get(response.issuer)
            if sp is None:
                raise IdPError(
                    400,
                    "unknown-sp",
                    "SAML-PROF-4.4.4.2",
                    f"no SP {response.issuer!r} is registered",
                )
            signed, verified_xml = self._verify_sp_message(sp, xml, redirect, verdicts)
            if not signed and not self.idp.has_flaw("accept-unsigned-requests"):
                raise IdPError(
                    403, "unsigned-response", "SAML-PROF-4.4.4.2", "a LogoutResponse must be signed"
                )
            if signed and verified_xml is not xml:
                response = _parse_verified_logout_response(verified_xml)
            if progress is None or response.in_response_to != progress.waiting_for:
                raise IdPError(
                    400,
                    "unexpected-response",
                    "SAML-CORE-3.2.2",
                    "this LogoutResponse answers no logout in progress (InResponseTo/RelayState)",
                )
        except IdPError as error:
            raise self.idp.refuse(
                error, kind=kind, binding=binding, xml=xml, verdicts=verdicts, context=context
            ) from None
        if relay_state:
            self._progress.pop(relay_state, None)
        if response.status_code != c.STATUS_SUCCESS:
            progress.partial = True
            verdicts.append(Verdict("status", "warn", "SAML-CORE-3.2.2.2", response.status_code))
        self.idp.journal.record(
            time=self.idp.clock.now(),
            direction="in",
            kind=kind,
            binding=binding,
            sp=response.issuer,
            xml=_text(xml),
            message_id=response.id,
            in_response_to=response.in_response_to,
            relay_state=relay_state,
            verdicts=tuple(verdicts),
        )
        progress.done.append(response.issuer)
        return self._continue_logout(progress)


def _parse_verified_logout_response(xml: bytes) -> LogoutResponse:
    try:
        return parse_logout_response(xml)
    except SAMLError as exc:
        raise IdPError(400, exc.reason, exc.rule, exc.message) from exc


def _text(xml: bytes | None) -> str | None:
    return xml.decode("utf-8", "replace") if xml is not None else None
