"""Signing in with SAML: starting an SP-initiated sign-in, and admitting what the IdP answers.

A posted Response is judged in order: which of our requests it answers (bound to the browser
that started it), which organisation's IdP issued it, the protocol rules (the injected
validation: the core's, or the one the SAML flaws weaken), then the business account's rules:
only an active SCIM-provisioned user of that organisation, the NameID matched to the userName
without regard to case. :meth:`SignInService.admit` returns the new session or raises the
Refusal; the routes only speak HTTP.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lxml import etree
from sqlalchemy import Connection

from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import AuthnRequest, build_authn_request_xml
from harness.protocol.saml.bindings import decode_post_value, encode_redirect_query, redirect_url
from harness.protocol.saml.ids import new_id
from harness.protocol.saml.metadata import IdPMetadata
from harness.protocol.saml.sp_validation import SPExpectations, ValidatedLogin
from harness.protocol.xml import XMLSecurityError, parse_xml
from reference_sp.accounts import Accounts
from reference_sp.db import Database
from reference_sp.organisation import Organisation
from reference_sp.organisation_routing import OrganisationRouting
from reference_sp.refusal_audit import ResponseRouting, audit_protocol_refusal
from reference_sp.relay_state import landing_after_sign_in
from reference_sp.saml_config import SamlConfig
from reference_sp.saml_flaws import ResponseValidation
from reference_sp.saml_store import (
    PendingRequest,
    answer_authn_request,
    first_use_of_assertion,
    pending_authn_request,
    remember_authn_request,
)
from reference_sp.sessions import Sessions, digest

REQUEST_LIFETIME = timedelta(minutes=10)
ACCEPTED_NAMEID_FORMATS = (None, c.NAMEID_EMAIL, c.NAMEID_UNSPECIFIED)
REPLAY_RULE = "SAML-PROF-4.1.4.5"
# Refusals of the business rules, audited with the user they name (see _admitted_user).
AUDITED_WITH_THE_USER = frozenset({"unknown-user", "user-not-assigned", "user-inactive"})
ISSUER_RULE = "SAML-PROF-4.1.4.2"


@dataclass(frozen=True)
class PostedResponse:
    """A samlp:Response as posted to the ACS: decoded and parsed, not judged yet."""

    data: bytes
    root: etree._Element
    relay_state: str | None = None

    @property
    def in_response_to(self) -> str | None:
        return self.root.get("InResponseTo")

    @property
    def issuer(self) -> str | None:
        """The Response's Issuer, else its first assertion's: the IdP to route it by."""
        issuer = self.root.find(c.q(c.SAML, "Issuer"))
        if issuer is None:
            assertion = self.root.find(c.q(c.SAML, "Assertion"))
            issuer = assertion.find(c.q(c.SAML, "Issuer")) if assertion is not None else None
        return (issuer.text or "").strip() if issuer is not None else None


def read_posted_response(
    value: str,
    relay_state: str | None,
    doctype_reader: Callable[[bytes], etree._Element | None] | None = None,
) -> PostedResponse:
    """The posted Response, routed by its root. ``doctype_reader`` (a DOCTYPE flaw's) reads
    one carrying a DTD, which the strict ACS refuses here."""
    data = decode_post_value(value)
    try:
        root = parse_xml(data)  # refuses DTDs and entity tricks before anything reads it
    except XMLSecurityError as exc:
        lenient = doctype_reader(data) if doctype_reader and exc.reason == "doctype" else None
        if lenient is None:
            raise
        root = lenient
    if root.tag != c.q(c.SAMLP, "Response"):
        raise Refusal(
            "wrong-message", "the ACS accepts only samlp:Response", "SAML-CORE-3.2.2", status=403
        )
    return PostedResponse(data, root, relay_state)


@dataclass(frozen=True)
class Admitted:
    """A sign-in let in: the new session's cookie token, its lifetime in seconds, and the path
    the browser goes to next."""

    token: str
    max_age: int
    landing: str


class SignInService:
    def __init__(
        self,
        db: Database,
        config: SamlConfig,
        organisations: OrganisationRouting,
        accounts: Accounts,
        sessions: Sessions,
        validation: ResponseValidation,
        clock: Callable[[], datetime],
        rng: random.Random,
        flaws: frozenset[str],
    ) -> None:
        self.db = db
        self.config = config
        self.organisations = organisations
        self.accounts = accounts
        self.sessions = sessions
        self.validation = validation
        self.clock = clock
        self.rng = rng
        self.flaws = flaws

    # ----------------------------------------------------------------------------- start

    def start(
        self, organisation: Organisation, idp: IdPMetadata, relay_state: str, browser: str
    ) -> str:
        """The IdP URL carrying a new AuthnRequest (HTTP-Redirect), remembered for ``browser``."""
        endpoint = idp.sso_endpoint(c.BINDING_HTTP_REDIRECT)
        if endpoint is None:
            raise Refusal(
                "no-redirect-sso",
                "the organisation's IdP offers no HTTP-Redirect SSO endpoint",
                "SAML-PROF-4.1.3.1",
                status=409,
            )
        now = self.clock()
        site = self.config.site
        request = AuthnRequest(
            id=new_id(self.rng),
            issue_instant=now,
            issuer=site.entity_id,
            destination=endpoint.location,
            acs_url=site.acs_url,
            protocol_binding=c.BINDING_HTTP_POST,
            nameid_format=self.config.name_id_policy,
            allow_create=True if self.config.name_id_policy else None,
        )
        sign = self.config.sign_requests or idp.want_authn_requests_signed
        query = encode_redirect_query(
            build_authn_request_xml(request),
            relay_state=relay_state,
            key_pair=self.config.key if sign else None,
        )
        pending = PendingRequest(
            request.id, digest(browser), organisation.org_pk, relay_state, answered=None
        )
        with self.db.transaction() as conn:
            remember_authn_request(conn, pending, now, now + REQUEST_LIFETIME)
        return redirect_url(endpoint.location, query)

    # ----------------------------------------------------------------------------- admit

    def admit(
        self, posted: PostedResponse, browser: str | None, session_token: str | None
    ) -> Admitted:
        """Sign in with ``posted`` (a new session), or raise the Refusal. ``browser`` is the
        browser cookie's id, ``session_token`` the session this browser holds (it is ended:
        one session per browser). A protocol refusal is audited in the organisation the
        response was routed to, where one is known."""
        try:
            return self._admit(posted, browser, session_token)
        except Refusal as refused:
            if refused.reason not in AUDITED_WITH_THE_USER:
                routed = ResponseRouting(self.db, self.organisations, self.clock)
                audit_protocol_refusal(
                    self.db,
                    self.accounts,
                    routed.organisation(posted.in_response_to, posted.issuer, browser),
                    refused,
                    idp_initiated=not posted.in_response_to,
                )
            raise

    def _admit(
        self, posted: PostedResponse, browser: str | None, session_token: str | None
    ) -> Admitted:
        now = self.clock()
        pending = self._pending(posted, browser, now)
        organisation, idp = self._issuing_organisation(posted, pending)
        expect = self._expectations(idp, organisation, posted, pending, now)
        login = self.validation(posted.data, expect)
        if login.name_id_format not in ACCEPTED_NAMEID_FORMATS:
            raise Refusal(
                "unsupported-nameid-format",
                f"NameID format {login.name_id_format} is not emailAddress or unspecified",
                "BIZ-SIGNIN-1",
                status=403,
            )

        with self.db.transaction_keeping_refusals() as conn:
            self._consume(conn, login, pending)
            token, max_age = self._open_session(conn, organisation, login)
            previous = self.sessions.by_token(conn, session_token) if session_token else None
            if previous is not None:  # one session per browser
                self.sessions.end(conn, previous.token_sha256, "replaced")
        relay_state = pending.relay_state if pending is not None else None
        return Admitted(
            token, max_age, landing_after_sign_in(self.flaws, relay_state, posted.relay_state)
        )

    def _pending(
        self, posted: PostedResponse, browser: str | None, now: datetime
    ) -> PendingRequest | None:
        """The request of this browser that the response answers, if any."""
        in_response_to = posted.in_response_to
        if not in_response_to:
            return None
        with self.db.transaction() as conn:
            pending = pending_authn_request(conn, in_response_to, now)
        if pending is None or browser is None or pending.browser_sha256 != digest(browser):
            return None  # issued to another browser (login CSRF, check C07)
        if pending.answered is not None:
            raise Refusal(
                "replayed",
                f"request {in_response_to} was already answered",
                REPLAY_RULE,
                status=403,
            )
        return pending

    def _issuing_organisation(
        self, posted: PostedResponse, pending: PendingRequest | None
    ) -> tuple[Organisation, IdPMetadata]:
        """The organisation the response routes to: the one our request was made for, else
        the one whose IdP issued it."""
        if pending is not None:
            organisation = self.organisations.get(pending.org_pk)
        else:
            issuer = posted.issuer
            organisation = self.organisations.by_idp(issuer) if issuer else None
            if organisation is None:
                raise Refusal(
                    "unknown-issuer",
                    f"no organisation trusts the IdP {issuer!r}",
                    ISSUER_RULE,
                    status=403,
                )
        if organisation is None or organisation.idp is None:
            raise Refusal("unknown-issuer", "no IdP for this request", ISSUER_RULE, status=403)
        return organisation, organisation.idp

    def _expectations(
        self,
        idp: IdPMetadata,
        organisation: Organisation,
        posted: PostedResponse,
        pending: PendingRequest | None,
        now: datetime,
    ) -> SPExpectations:
        request_id: str | None = None
        if pending is not None:
            request_id = pending.request_id
        elif posted.in_response_to:
            request_id = "(no request of this browser)"  # the core answers wrong-in-response-to
        config = self.config
        trusted = idp.signing_certificates
        if "trust-every-organisation-key" in self.flaws:  # any trusted IdP may speak for any
            trusted = tuple(
                cert
                for other in self.organisations.all()
                if other.idp is not None
                for cert in other.idp.signing_certificates
            )
        return SPExpectations(
            sp_entity_id=config.site.entity_id,
            acs_url=config.site.acs_url,
            idp_entity_id=idp.entity_id,
            trusted_certificates=trusted,
            now=now,
            request_id=request_id,
            allow_unsolicited=(
                organisation.allow_idp_initiated and "refuse-unsolicited" not in self.flaws
            ),
            clock_skew=timedelta(0) if "no-clock-skew" in self.flaws else config.clock_skew,
            decryption_keys=(config.key.private_key,),
            allow_sha1=config.allow_sha1,
        )

    def _consume(
        self, conn: Connection, login: ValidatedLogin, pending: PendingRequest | None
    ) -> None:
        """One use per assertion (Profiles 4.1.4.5) and per AuthnRequest."""
        now = self.clock()
        if pending is not None and not answer_authn_request(conn, pending.request_id, now):
            raise Refusal("replayed", "this request was already answered", REPLAY_RULE, status=403)
        if "no-replay-cache" in self.flaws:
            return
        keep_until = max(login.not_on_or_after, now) + self.config.clock_skew
        if not first_use_of_assertion(conn, login.issuer, login.assertion_id, now, keep_until):
            raise Refusal(
                "replayed",
                f"assertion {login.assertion_id} was already used",
                REPLAY_RULE,
                status=403,
            )

    # ------------------------------------------------------------------- business rules

    def _open_session(
        self, conn: Connection, organisation: Organisation, login: ValidatedLogin
    ) -> tuple[str, int]:
        """A session for the organisation's user named by the NameID (cookie token, lifetime)."""
        user_id, account = self._admitted_user(conn, organisation, login)
        roles = ["user", "admin"] if account.admin else ["user"]
        token, max_age = self.sessions.create(
            conn,
            org_pk=organisation.org_pk,
            user_id=user_id,
            user_name=str(account.user_name),
            name_id=login.name_id,
            name_id_format=login.name_id_format,
            session_index=login.session_index,
            roles=roles,
            not_on_or_after=login.session_not_on_or_after,
        )
        self.accounts.audit(
            conn,
            organisation.org_pk,
            "signed-in",
            actor="sso",
            user_id=user_id,
            user_name=str(account.user_name),
            roles=roles,
            idp_initiated=login.in_response_to is None,
        )
        return token, max_age

    def _admitted_user(
        self, conn: Connection, organisation: Organisation, login: ValidatedLogin
    ) -> tuple[str, Any]:
        """The user's id and account row; a refusal, audited, when they may not sign in."""
        accounts = self.accounts
        user_id = accounts.find_user(conn, organisation.org_pk, login.name_id)
        if user_id is None:
            self._audit_refusal(conn, organisation, login, None, "unknown-user")
            raise Refusal(
                "unknown-user",
                f"{login.name_id} is not a provisioned user of {organisation.name}",
                "BIZ-SIGNIN-1",
                status=403,
            )
        account = accounts.account(conn, user_id)
        if account is None:
            accounts.reconcile(conn, organisation, user_id)
            account = accounts.account(conn, user_id)
        let_inactive_in = account is not None and "sign-in-inactive-users" in self.flaws
        if account is not None and (account.entitled or let_inactive_in):
            return user_id, account
        standing = accounts.standing(conn, organisation.org_pk, user_id)
        if standing is not None and standing.active:
            refused = Refusal(
                "user-not-assigned",
                f"{login.name_id} is not a member of {organisation.access_group!r}",
                "BIZ-SIGNIN-1",
                status=403,
            )
        else:
            refused = Refusal(
                "user-inactive",
                f"{login.name_id} is not active in {organisation.name}",
                "BIZ-SIGNIN-1",
                status=403,
            )
        self._audit_refusal(conn, organisation, login, user_id, refused.reason)
        raise refused

    def _audit_refusal(
        self,
        conn: Connection,
        organisation: Organisation,
        login: ValidatedLogin,
        user_id: str | None,
        reason: str,
    ) -> None:
        who: dict[str, Any] = {} if user_id is None else {"user_id": user_id}
        self.accounts.audit(
            conn,
            organisation.org_pk,
            "sign-in-refused",
            actor="sso",
            **who,
            user_name=login.name_id,
            reason=reason,
        )
