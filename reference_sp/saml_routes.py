"""The SAML side of the reference SP: metadata, SP-initiated login (HTTP-Redirect AuthnRequest
bound to the browser), the ACS (HTTP-POST), and single logout both ways.

Each route decodes the request, asks the protocol core (``harness.protocol.saml``) and answers;
the rules live in the core. The ACS then applies the sign-in rules of the business account:
only an active SCIM-provisioned user of the organisation whose IdP issued the assertion, with
the NameID matched to the userName without regard to case.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from lxml import etree
from sqlalchemy import Connection, delete, func, insert, select, update
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import AuthnRequest, build_authn_request_xml
from harness.protocol.saml.bindings import (
    decode_post_value,
    decode_redirect_query,
    encode_redirect_query,
    post_form_html,
    redirect_url,
    verify_redirect_signature,
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
from harness.protocol.saml.metadata import Endpoint, SPMetadata, build_sp_metadata
from harness.protocol.saml.signing import verify_element
from harness.protocol.saml.sp_validation import SPExpectations, ValidatedLogin
from harness.protocol.xml import XMLSecurityError, parse_xml, to_bytes
from reference_sp.account_tables import authn_requests, logout_requests, replay_cache, sp_sessions
from reference_sp.http import refusal, render, safe_relay_state, wants_json
from reference_sp.organisation import Organisation
from reference_sp.saml_flaws import response_validation
from reference_sp.sessions import digest
from reference_sp.timeutil import iso

if TYPE_CHECKING:
    from reference_sp.app import ReferenceSP

log = logging.getLogger("reference_sp.saml")
REQUEST_LIFETIME = timedelta(minutes=10)
DEFAULT_LANDING = "/account"
ACCEPTED_NAMEID_FORMATS = (None, c.NAMEID_EMAIL, c.NAMEID_UNSPECIFIED)


class RefusedError(Exception):
    """A refusal of ours (not the core's): status, reason code, rule, sentence."""

    def __init__(self, status: int, reason: str, rule: str, message: str) -> None:
        super().__init__(f"{reason}: {message} [{rule}]")
        self.status = status
        self.reason = reason
        self.rule = rule
        self.message = message


def _peek_issuer(root: etree._Element) -> str | None:
    issuer = root.find(c.q(c.SAML, "Issuer"))
    if issuer is None:
        assertion = root.find(c.q(c.SAML, "Assertion"))
        issuer = assertion.find(c.q(c.SAML, "Issuer")) if assertion is not None else None
    return (issuer.text or "").strip() if issuer is not None else None


class SamlRoutes:
    def __init__(self, sp: ReferenceSP) -> None:
        self.sp = sp
        self.validate = response_validation(sp.flaws)

    def routes(self) -> list[Route]:
        return [
            Route("/saml/metadata", self.metadata, methods=["GET"]),
            Route("/saml/login", self.login, methods=["GET"]),
            Route("/saml/acs", self.acs, methods=["POST"]),
            Route("/saml/slo", self.slo, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
        ]

    # ----------------------------------------------------------------------------- metadata

    def sp_metadata(self) -> SPMetadata:
        sp = self.sp
        cert = sp.key.certificate
        return SPMetadata(
            entity_id=sp.entity_id,
            acs_endpoints=(Endpoint(c.BINDING_HTTP_POST, sp.acs_url, 0, True),),
            slo_endpoints=(
                Endpoint(c.BINDING_HTTP_REDIRECT, sp.slo_url),
                Endpoint(c.BINDING_HTTP_POST, sp.slo_url),
            ),
            signing_certificates=(cert,),
            encryption_certificates=(cert,) if sp.settings.want_encryption else (),
            want_assertions_signed=True,
            authn_requests_signed=sp.settings.sign_requests,
            nameid_formats=(c.NAMEID_EMAIL, c.NAMEID_UNSPECIFIED),
        )

    async def metadata(self, request: Request) -> Response:
        return Response(
            build_sp_metadata(self.sp_metadata()), media_type="application/samlmetadata+xml"
        )

    # -------------------------------------------------------------------------------- login

    async def login(self, request: Request) -> Response:
        sp = self.sp
        email = request.query_params.get("email", "").strip()[:320]
        relay_state = safe_relay_state(request.query_params.get("RelayState")) or DEFAULT_LANDING
        organisation = sp.organisations.by_email(email) if email else sp.organisations.by_email("")
        if organisation is None or organisation.idp is None:
            message = (
                f"No organisation signs in with addresses at {email.rpartition('@')[2]!r}."
                if email
                else "Enter your work email to find your organisation's sign-in."
            )
            return render(
                "landing.html",
                sp.flaws,
                status=400 if email else 200,
                message=message if email else None,
                email=email,
                relay_state=relay_state if relay_state != DEFAULT_LANDING else None,
                me=None,
            )
        endpoint = organisation.idp.sso_endpoint(c.BINDING_HTTP_REDIRECT)
        if endpoint is None:
            return refusal(
                request,
                sp.flaws,
                409,
                "no-redirect-sso",
                "SAML-PROF-4.1.3.1",
                "the organisation's IdP offers no HTTP-Redirect SSO endpoint",
            )
        now = sp.clock()
        request_id = new_id(sp.rng)
        authn = AuthnRequest(
            id=request_id,
            issue_instant=now,
            issuer=sp.entity_id,
            destination=endpoint.location,
            acs_url=sp.acs_url,
            protocol_binding=c.BINDING_HTTP_POST,
        )
        sign = sp.settings.sign_requests or organisation.idp.want_authn_requests_signed
        query = encode_redirect_query(
            build_authn_request_xml(authn),
            relay_state=relay_state,
            key_pair=sp.key if sign else None,
        )
        response = RedirectResponse(redirect_url(endpoint.location, query), status_code=302)
        response.headers["Cache-Control"] = "no-store"
        browser = sp.sessions.ensure_browser(request, response)
        with sp.db.transaction() as conn:
            conn.execute(delete(authn_requests).where(authn_requests.c.expires < iso(now)))
            conn.execute(
                insert(authn_requests).values(
                    request_id=request_id,
                    browser_sha256=digest(browser),
                    org_pk=organisation.org_pk,
                    relay_state=relay_state,
                    expires=iso(now + REQUEST_LIFETIME),
                )
            )
        return response

    # ---------------------------------------------------------------------------------- ACS

    async def acs(self, request: Request) -> Response:
        sp = self.sp
        try:
            return await self._acs(request)
        except RefusedError as exc:
            return refusal(request, sp.flaws, exc.status, exc.reason, exc.rule, exc.message)
        except SAMLError as exc:
            status = 400 if exc.reason in ("bad-base64", "too-large", "malformed") else 403
            return refusal(request, sp.flaws, status, exc.reason, exc.rule, exc.message)
        except XMLSecurityError as exc:
            return refusal(request, sp.flaws, 400, exc.reason, exc.rule, exc.message)

    async def _acs(self, request: Request) -> Response:
        sp = self.sp
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("", "application/x-www-form-urlencoded", "multipart/form-data"):
            raise RefusedError(
                415, "not-a-form", "SAML-BIND-3.5.4", "the ACS takes an HTML form POST"
            )
        form = await request.form(max_files=0, max_fields=10)
        value, relay_posted = form.get("SAMLResponse"), form.get("RelayState")
        if not isinstance(value, str) or not value.strip():
            raise RefusedError(
                400, "no-saml-response", "SAML-BIND-3.5.4", "no SAMLResponse was posted"
            )
        data = decode_post_value(value)
        root = parse_xml(data)  # refuses DTDs and entity tricks before anything reads it
        if root.tag != c.q(c.SAMLP, "Response"):
            raise RefusedError(
                403, "wrong-message", "SAML-CORE-3.2.2", "the ACS accepts only samlp:Response"
            )
        in_response_to = root.get("InResponseTo")
        browser = sp.sessions.browser_id(request)
        resubmit = in_response_to and browser is None and "sp_resubmitted" not in form
        if resubmit and not wants_json(request):
            return self._resubmit(value, relay_posted)
        now = sp.clock()
        pending: Any = None
        with sp.db.transaction() as conn:
            if in_response_to:
                pending = conn.execute(
                    select(authn_requests).where(
                        authn_requests.c.request_id == in_response_to[:64],
                        authn_requests.c.expires >= iso(now),
                    )
                ).first()
                if pending is not None and (
                    browser is None or pending.browser_sha256 != digest(browser)
                ):
                    pending = None  # issued to another browser (login CSRF, check C07)
                if pending is not None and pending.answered is not None:
                    raise RefusedError(
                        403,
                        "replayed",
                        "SAML-PROF-4.1.4.5",
                        f"request {in_response_to} was already answered",
                    )
        organisation: Organisation | None
        if pending is not None:
            organisation = sp.organisations.get(pending.org_pk)
        else:
            issuer = _peek_issuer(root)
            organisation = sp.organisations.by_idp(issuer) if issuer else None
            if organisation is None:
                raise RefusedError(
                    403,
                    "unknown-issuer",
                    "SAML-PROF-4.1.4.2",
                    f"no organisation trusts the IdP {issuer!r}",
                )
        if organisation is None or organisation.idp is None:
            raise RefusedError(
                403, "unknown-issuer", "SAML-PROF-4.1.4.2", "no IdP for this request"
            )
        if pending is not None:
            request_id: str | None = pending.request_id
        elif in_response_to:
            request_id = "(no request of this browser)"  # the core answers wrong-in-response-to
        else:
            request_id = None
        expect = SPExpectations(
            sp_entity_id=sp.entity_id,
            acs_url=sp.acs_url,
            idp_entity_id=organisation.idp.entity_id,
            trusted_certificates=organisation.idp.signing_certificates,
            now=now,
            request_id=request_id,
            allow_unsolicited=organisation.allow_idp_initiated,
            clock_skew=sp.settings.clock_skew,
            decryption_keys=(sp.key.private_key,),
            allow_sha1=sp.settings.allow_sha1,
        )
        login = self.validate(data, expect)
        if login.name_id_format not in ACCEPTED_NAMEID_FORMATS:
            raise RefusedError(
                403,
                "unsupported-nameid-format",
                "SP-SIGNIN-NAMEID",
                f"NameID format {login.name_id_format} is not emailAddress or unspecified",
            )
        with sp.db.transaction() as conn:
            refused = self._consume(conn, organisation, login, pending)
            if refused is None:
                refused, token, max_age = self._sign_in(conn, organisation, login)
            if refused is None and (previous := sp.sessions.current(conn, request)) is not None:
                sp.sessions.end(conn, previous.token_sha256, "replaced")  # one per browser
        if refused is not None:
            raise refused
        target = (
            safe_relay_state(pending.relay_state if pending is not None else None)
            or safe_relay_state(relay_posted if isinstance(relay_posted, str) else None)
            or DEFAULT_LANDING
        )
        response = RedirectResponse(target, status_code=303)
        sp.sessions.set_session_cookie(response, token, max_age)
        return response

    def _resubmit(self, saml_response: str, relay_state: object) -> Response:
        """Post the form again from this site. On plain HTTP the browser cookie is
        SameSite=Lax, so an IdP on another site posts to the ACS without it; posted from
        here, it comes along and the response can be matched with this browser's request."""
        fields = {"SAMLResponse": saml_response, "sp_resubmitted": "1"}
        if isinstance(relay_state, str):
            fields["RelayState"] = relay_state
        page = post_form_html(self.sp.acs_url, fields, title="Signing you in")
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    def _consume(
        self, conn: Connection, organisation: Organisation, login: ValidatedLogin, pending: Any
    ) -> RefusedError | None:
        """One use per assertion (Profiles 4.1.4.5) and per AuthnRequest."""
        sp = self.sp
        now = sp.clock()
        if pending is not None:
            gone = conn.execute(
                update(authn_requests)
                .where(
                    authn_requests.c.request_id == pending.request_id,
                    authn_requests.c.answered.is_(None),
                )
                .values(answered=iso(now))
            ).rowcount
            if not gone:
                return RefusedError(
                    403, "replayed", "SAML-PROF-4.1.4.5", "this request was already answered"
                )
        if "no-replay-cache" in sp.flaws:
            return None
        issuer = login.issuer
        conn.execute(delete(replay_cache).where(replay_cache.c.expires < iso(now)))
        seen = conn.execute(
            select(func.count())
            .select_from(replay_cache)
            .where(
                replay_cache.c.issuer == issuer, replay_cache.c.assertion_id == login.assertion_id
            )
        ).scalar_one()
        if seen:
            return RefusedError(
                403,
                "replayed",
                "SAML-PROF-4.1.4.5",
                f"assertion {login.assertion_id} was already used",
            )
        keep_until = max(login.not_on_or_after, now) + sp.settings.clock_skew
        conn.execute(
            insert(replay_cache).values(
                issuer=issuer, assertion_id=login.assertion_id, expires=iso(keep_until)
            )
        )
        return None

    def _sign_in(
        self, conn: Connection, organisation: Organisation, login: ValidatedLogin
    ) -> tuple[RefusedError | None, str, int]:
        sp = self.sp
        user_id = sp.accounts.find_user(conn, organisation.org_pk, login.name_id)
        if user_id is None:
            sp.accounts.audit(
                conn,
                organisation.org_pk,
                "sign-in-refused",
                actor="sso",
                user_name=login.name_id,
                reason="unknown-user",
            )
            return (
                RefusedError(
                    403,
                    "unknown-user",
                    "SP-SIGNIN-PROVISIONED",
                    f"{login.name_id} is not a provisioned user of {organisation.name}",
                ),
                "",
                0,
            )
        account = sp.accounts.account(conn, user_id)
        if account is None:
            sp.accounts.reconcile(conn, organisation, user_id)
            account = sp.accounts.account(conn, user_id)
        let_inactive_in = account is not None and "sign-in-inactive-users" in sp.flaws
        if account is None or (not account.entitled and not let_inactive_in):
            standing = sp.accounts.standing(conn, organisation.org_pk, user_id)
            if standing is not None and standing.active:
                reason, rule = "user-not-assigned", "SP-SIGNIN-ASSIGNED"
                message = f"{login.name_id} is not a member of {organisation.access_group!r}"
            else:
                reason, rule = "user-inactive", "SP-SIGNIN-ACTIVE"
                message = f"{login.name_id} is not active in {organisation.name}"
            sp.accounts.audit(
                conn,
                organisation.org_pk,
                "sign-in-refused",
                actor="sso",
                user_id=user_id,
                user_name=login.name_id,
                reason=reason,
            )
            return RefusedError(403, reason, rule, message), "", 0
        roles = ["user", "admin"] if account.admin else ["user"]
        token, max_age = sp.sessions.create(
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
        sp.accounts.audit(
            conn,
            organisation.org_pk,
            "signed-in",
            actor="sso",
            user_id=user_id,
            user_name=str(account.user_name),
            roles=roles,
            idp_initiated=login.in_response_to is None,
        )
        return None, token, max_age

    # ------------------------------------------------------------------------------- logout

    def _forget_cookie(self, response: Response) -> None:
        if "keep-session-on-logout" not in self.sp.flaws:  # the flaw: sign-out forgets nothing
            self.sp.sessions.clear_session_cookie(response)

    async def logout(self, request: Request) -> Response:
        """Sign out here, then at the IdP when it has an SLO endpoint (SP-initiated SLO)."""
        sp = self.sp
        form = await request.form(max_files=0, max_fields=10)
        with sp.db.transaction() as conn:
            session = sp.sessions.current(conn, request)
            if session is None:
                response: Response = RedirectResponse("/", status_code=303)
                self._forget_cookie(response)
                return response
            if form.get("csrf") != session.csrf:
                return refusal(
                    request, sp.flaws, 403, "csrf", "SP-CSRF", "the form's CSRF token is wrong"
                )
            if "keep-session-on-logout" not in sp.flaws:
                sp.sessions.end(conn, session.token_sha256, "signed-out")
            sp.accounts.audit(
                conn,
                session.org_pk,
                "signed-out",
                actor=session.user_name,
                user_id=session.user_id,
                user_name=session.user_name,
            )
            organisation = sp.organisations.get(session.org_pk)
            endpoint = None
            if organisation is not None and organisation.idp is not None:
                endpoint = next(
                    (
                        e
                        for e in organisation.idp.slo_endpoints
                        if e.binding == c.BINDING_HTTP_REDIRECT
                    ),
                    None,
                )
            if organisation is None or endpoint is None:
                response = RedirectResponse("/?signed_out=1", status_code=303)
                self._forget_cookie(response)
                return response
            now = sp.clock()
            request_id = new_id(sp.rng)
            conn.execute(delete(logout_requests).where(logout_requests.c.expires < iso(now)))
            conn.execute(
                insert(logout_requests).values(
                    request_id=request_id,
                    org_pk=organisation.org_pk,
                    expires=iso(now + REQUEST_LIFETIME),
                )
            )
        message = LogoutRequest(
            id=request_id,
            issue_instant=now,
            issuer=sp.entity_id,
            name_id=session.name_id,
            name_id_format=session.name_id_format,
            session_indexes=(session.session_index,) if session.session_index else (),
            destination=endpoint.location,
        )
        query = encode_redirect_query(to_bytes(build_logout_request(message)), key_pair=sp.key)
        response = RedirectResponse(redirect_url(endpoint.location, query), status_code=303)
        self._forget_cookie(response)
        return response

    async def slo(self, request: Request) -> Response:
        sp = self.sp
        try:
            return await self._slo(request)
        except RefusedError as exc:
            return refusal(request, sp.flaws, exc.status, exc.reason, exc.rule, exc.message)
        except SAMLError as exc:
            return refusal(request, sp.flaws, 400, exc.reason, exc.rule, exc.message)
        except XMLSecurityError as exc:
            return refusal(request, sp.flaws, 400, exc.reason, exc.rule, exc.message)

    async def _slo(self, request: Request) -> Response:
        sp = self.sp
        if request.method == "GET":
            message = decode_redirect_query(request.url.query)
            xml, relay_state, redirect = message.message, message.relay_state, message
        else:
            form = await request.form(max_files=0, max_fields=10)
            field = "SAMLRequest" if "SAMLRequest" in form else "SAMLResponse"
            value = form.get(field)
            if not isinstance(value, str):
                raise RefusedError(
                    400, "no-message", "SAML-BIND-3.5.4", "no SAML message was posted"
                )
            xml = decode_post_value(value)
            relay = form.get("RelayState")
            relay_state, redirect = (relay if isinstance(relay, str) else None), None
        root = parse_xml(xml)
        issuer_element = root.find(c.q(c.SAML, "Issuer"))
        issuer = (issuer_element.text or "").strip() if issuer_element is not None else ""
        organisation = sp.organisations.by_idp(issuer)
        if organisation is None or organisation.idp is None:
            raise RefusedError(
                403, "unknown-issuer", "SAML-PROF-4.4.4.1", f"unknown IdP {issuer!r}"
            )
        certificates = organisation.idp.signing_certificates
        # Profiles 4.4.3.1/4.4.4.1: logout messages must be authenticated: signed.
        if redirect is not None:
            if not redirect.is_signed:
                raise RefusedError(
                    403, "unsigned", "SAML-PROF-4.4.4.1", "logout messages must be signed"
                )
            verify_redirect_signature(redirect, certificates, allow_sha1=sp.settings.allow_sha1)
        else:
            root = verify_element(
                root, certificates, allow_sha1=sp.settings.allow_sha1
            ).signed_element
            xml = to_bytes(root)
        if root.tag == c.q(c.SAMLP, "LogoutRequest"):
            return self._idp_logout(request, organisation, xml, relay_state)
        response = parse_logout_response(xml)
        if response.destination is not None and response.destination != sp.slo_url:
            raise RefusedError(
                403, "wrong-destination", "SAML-CORE-3.2.2", "Destination is not this SLO"
            )
        with sp.db.transaction() as conn:
            gone = conn.execute(
                delete(logout_requests).where(
                    logout_requests.c.request_id == (response.in_response_to or ""),
                    logout_requests.c.org_pk == organisation.org_pk,
                )
            ).rowcount
        if not gone:
            raise RefusedError(
                403,
                "wrong-in-response-to",
                "SAML-CORE-3.2.2",
                "this LogoutResponse answers no logout of ours",
            )
        complete = response.status_code == c.STATUS_SUCCESS
        return render(
            "signed_out.html",
            sp.flaws,
            complete=complete,
            status_code=response.status_code,
            me=None,
        )

    def _idp_logout(
        self, request: Request, organisation: Organisation, xml: bytes, relay_state: str | None
    ) -> Response:
        sp = self.sp
        assert organisation.idp is not None
        logout = parse_logout_request(xml)
        if logout.destination is not None and logout.destination != sp.slo_url:
            raise RefusedError(
                403, "wrong-destination", "SAML-CORE-3.2.2", "Destination is not this SLO"
            )
        now = sp.clock()
        if (
            logout.not_on_or_after is not None
            and logout.not_on_or_after <= now - sp.settings.clock_skew
        ):
            raise RefusedError(403, "expired", "SAML-CORE-3.7.1", "the LogoutRequest has expired")
        with sp.db.transaction() as conn:
            where = [
                sp_sessions.c.org_pk == organisation.org_pk,
                func.lower(sp_sessions.c.name_id) == logout.name_id.lower(),
                sp_sessions.c.ended.is_(None),
            ]
            if logout.session_indexes:
                where.append(sp_sessions.c.session_index.in_(logout.session_indexes))
            ended = 0
            if "keep-session-on-logout" not in sp.flaws:
                ended = conn.execute(
                    update(sp_sessions)
                    .where(*where)
                    .values(ended=iso(now), ended_reason="idp-logout")
                ).rowcount
            sp.accounts.audit(
                conn,
                organisation.org_pk,
                "sessions-ended",
                actor="sso",
                user_name=logout.name_id,
                count=int(ended),
                reason="idp-logout",
            )
        endpoint = next(
            (e for e in organisation.idp.slo_endpoints if e.binding == c.BINDING_HTTP_REDIRECT),
            None,
        )
        if endpoint is None:
            return render("signed_out.html", sp.flaws, complete=True, status_code="", me=None)
        answer = LogoutResponse(
            id=new_id(sp.rng),
            issue_instant=now,
            issuer=sp.entity_id,
            in_response_to=logout.id,
            destination=endpoint.response_location or endpoint.location,
        )
        query = encode_redirect_query(
            to_bytes(build_logout_response(answer)),
            parameter="SAMLResponse",
            relay_state=relay_state,
            key_pair=sp.key,
        )
        location = redirect_url(endpoint.response_location or endpoint.location, query)
        response = RedirectResponse(location, status_code=302)
        self._forget_cookie(response)
        return response


def audit_json(detail: str) -> dict[str, Any]:
    value = json.loads(detail)
    return value if isinstance(value, dict) else {}
