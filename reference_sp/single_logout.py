"""Single logout both ways (SAML Profiles 4.4): a user signs out here and then at the IdP, or
the IdP tells us a user signed out there. Logout messages must be authenticated: signed
(Profiles 4.4.3.1, 4.4.4.1). The service answers with where the browser goes next, or raises
the Refusal; the routes only speak HTTP."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import (
    RedirectMessage,
    encode_redirect_query,
    redirect_url,
    verify_redirect_signature,
)
from harness.protocol.saml.ids import new_id
from harness.protocol.saml.logout import (
    LogoutRequest,
    LogoutResponse,
    build_logout_request,
    build_logout_response,
    parse_logout_request,
    parse_logout_response,
)
from harness.protocol.saml.metadata import Endpoint
from harness.protocol.saml.signing import verify_element
from harness.protocol.xml import parse_xml, to_bytes
from reference_sp.accounts import Accounts
from reference_sp.db import Database
from reference_sp.organisation import Organisation
from reference_sp.organisation_routing import OrganisationRouting
from reference_sp.saml_config import SamlConfig
from reference_sp.saml_store import end_sessions_of, remember_logout_request, take_logout_request
from reference_sp.sessions import Session, Sessions
from reference_sp.sign_in import REQUEST_LIFETIME

SIGNED_OUT = "/?signed_out=1"
STATUS_RESPONSE_RULE = "SAML-CORE-3.2.2"


@dataclass(frozen=True)
class LogoutOutcome:
    """What the browser sees after an IdP's logout message: a redirect answering the IdP
    (``redirect``), else the signed-out page (``complete``, the IdP's ``status_code``)."""

    redirect: str | None = None
    complete: bool = True
    status_code: str = ""


def _redirect_slo(organisation: Organisation | None) -> Endpoint | None:
    if organisation is None or organisation.idp is None:
        return None
    return next(
        (e for e in organisation.idp.slo_endpoints if e.binding == c.BINDING_HTTP_REDIRECT),
        None,
    )


class SingleLogout:
    def __init__(
        self,
        db: Database,
        config: SamlConfig,
        organisations: OrganisationRouting,
        accounts: Accounts,
        sessions: Sessions,
        clock: Callable[[], datetime],
        rng: random.Random,
        flaws: frozenset[str],
    ) -> None:
        self.db = db
        self.config = config
        self.organisations = organisations
        self.accounts = accounts
        self.sessions = sessions
        self.clock = clock
        self.rng = rng
        self.keep_sessions = "keep-session-on-logout" in flaws  # the flaw: logout ends nothing

    # ---------------------------------------------------------------------- SP-initiated

    def sign_out(self, session_token: str | None, csrf: object) -> str:
        """End the browser's session here; where it goes next: the IdP's SLO carrying our
        LogoutRequest when it has one, else the signed-out landing page."""
        with self.db.transaction() as conn:
            session = self.sessions.by_token(conn, session_token) if session_token else None
            if session is None:
                return "/"
            if csrf != session.csrf:
                raise Refusal("csrf", "the form's CSRF token is wrong", "SP-CSRF", status=403)
            if not self.keep_sessions:
                self.sessions.end(conn, session.token_sha256, "signed-out")
            self.accounts.audit(
                conn,
                session.org_pk,
                "signed-out",
                actor=session.user_name,
                user_id=session.user_id,
                user_name=session.user_name,
            )
            endpoint = _redirect_slo(self.organisations.get(session.org_pk))
            if endpoint is None:
                return SIGNED_OUT
            now = self.clock()
            request_id = new_id(self.rng)
            remember_logout_request(conn, request_id, session.org_pk, now, now + REQUEST_LIFETIME)
        return self._logout_request_url(session, endpoint, request_id, now)

    def _logout_request_url(
        self, session: Session, endpoint: Endpoint, request_id: str, now: datetime
    ) -> str:
        message = LogoutRequest(
            id=request_id,
            issue_instant=now,
            issuer=self.config.site.entity_id,
            name_id=session.name_id,
            name_id_format=session.name_id_format,
            session_indexes=(session.session_index,) if session.session_index else (),
            destination=endpoint.location,
        )
        query = encode_redirect_query(
            to_bytes(build_logout_request(message)), key_pair=self.config.key
        )
        return redirect_url(endpoint.location, query)

    # ------------------------------------------------------------------- from the IdP

    def receive(
        self, xml: bytes, relay_state: str | None, redirect: RedirectMessage | None
    ) -> LogoutOutcome:
        """An IdP's LogoutRequest or LogoutResponse, by HTTP-Redirect (``redirect``, whose
        query carries the signature) or HTTP-POST (the signature is in ``xml``)."""
        root = parse_xml(xml)
        issuer_element = root.find(c.q(c.SAML, "Issuer"))
        issuer = (issuer_element.text or "").strip() if issuer_element is not None else ""
        organisation = self.organisations.by_idp(issuer)
        if organisation is None or organisation.idp is None:
            raise Refusal(
                "unknown-issuer", f"unknown IdP {issuer!r}", "SAML-PROF-4.4.4.1", status=403
            )
        certificates = organisation.idp.signing_certificates
        allow_sha1 = self.config.allow_sha1
        if redirect is not None:
            if not redirect.is_signed:
                raise Refusal(
                    "unsigned", "logout messages must be signed", "SAML-PROF-4.4.4.1", status=403
                )
            verify_redirect_signature(redirect, certificates, allow_sha1=allow_sha1)
        else:
            root = verify_element(root, certificates, allow_sha1=allow_sha1).signed_element
            xml = to_bytes(root)
        if root.tag == c.q(c.SAMLP, "LogoutRequest"):
            return self._idp_logout(organisation, xml, relay_state)
        return self._logout_answered(organisation, xml)

    def _check_destination(self, destination: str | None) -> None:
        if destination is not None and destination != self.config.site.slo_url:
            raise Refusal(
                "wrong-destination", "Destination is not this SLO", STATUS_RESPONSE_RULE, status=403
            )

    def _logout_answered(self, organisation: Organisation, xml: bytes) -> LogoutOutcome:
        """The IdP's answer to our LogoutRequest."""
        response = parse_logout_response(xml)
        self._check_destination(response.destination)
        with self.db.transaction() as conn:
            ours = take_logout_request(conn, response.in_response_to or "", organisation.org_pk)
        if not ours:
            raise Refusal(
                "wrong-in-response-to",
                "this LogoutResponse answers no logout of ours",
                STATUS_RESPONSE_RULE,
                status=403,
            )
        complete = response.status_code == c.STATUS_SUCCESS
        return LogoutOutcome(complete=complete, status_code=response.status_code)

    def _idp_logout(
        self, organisation: Organisation, xml: bytes, relay_state: str | None
    ) -> LogoutOutcome:
        """The IdP's LogoutRequest: end the user's sessions here, then answer it."""
        logout = parse_logout_request(xml)
        self._check_destination(logout.destination)
        now = self.clock()
        expiry = logout.not_on_or_after
        if expiry is not None and expiry <= now - self.config.clock_skew:
            raise Refusal("expired", "the LogoutRequest has expired", "SAML-CORE-3.7.1", status=403)
        with self.db.transaction() as conn:
            ended = 0
            if not self.keep_sessions:
                ended = end_sessions_of(
                    conn,
                    organisation.org_pk,
                    logout.name_id,
                    logout.session_indexes,
                    now,
                    "idp-logout",
                )
            self.accounts.audit(
                conn,
                organisation.org_pk,
                "sessions-ended",
                actor="sso",
                user_name=logout.name_id,
                count=ended,
                reason="idp-logout",
            )
        endpoint = _redirect_slo(organisation)
        if endpoint is None:
            return LogoutOutcome(complete=True)
        destination = endpoint.response_location or endpoint.location
        answer = LogoutResponse(
            id=new_id(self.rng),
            issue_instant=now,
            issuer=self.config.site.entity_id,
            in_response_to=logout.id,
            destination=destination,
        )
        query = encode_redirect_query(
            to_bytes(build_logout_response(answer)),
            parameter="SAMLResponse",
            relay_state=relay_state,
            key_pair=self.config.key,
        )
        return LogoutOutcome(redirect=redirect_url(destination, query))
