"""The SAML side's HTTP: metadata, SP-initiated login (HTTP-Redirect AuthnRequest bound to the
browser), the ACS (HTTP-POST), sign-out and single logout. Each route decodes the request,
asks the sign-in or logout service and encodes the answer; refusals become the error page (or
JSON when asked)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from harness.protocol.refusal import Refusal
from harness.protocol.saml.bindings import decode_post_value, decode_redirect_query, post_form_html
from harness.protocol.saml.errors import SAMLError
from harness.protocol.saml.metadata import SPMetadata, build_sp_metadata
from reference_sp.http import refusal, render, wants_json
from reference_sp.organisation_routing import OrganisationRouting
from reference_sp.relay_state import DEFAULT_LANDING, OPEN_REDIRECT, relay_state_kept
from reference_sp.saml_config import SamlConfig
from reference_sp.saml_flaws import DOCTYPE_FLAWS, routing_root
from reference_sp.sessions import Sessions
from reference_sp.sign_in import SignInService, read_posted_response
from reference_sp.single_logout import SingleLogout

# The core's refusals of a message it could not even read; any other is a 403 at the ACS.
_UNREADABLE = frozenset({"bad-base64", "too-large", "malformed"})
_BINDING_RULE = "SAML-BIND-3.5.4"


def _at_the_acs(refused: Refusal) -> Refusal:
    """The core's refusal of a message it could read is a 403 at the ACS."""
    if isinstance(refused, SAMLError) and refused.reason not in _UNREADABLE:
        return Refusal(refused.reason, refused.message, refused.rule, status=403)
    return refused


class SamlRoutes:
    def __init__(
        self,
        config: SamlConfig,
        organisations: OrganisationRouting,
        sessions: Sessions,
        sign_in: SignInService,
        logout: SingleLogout,
        flaws: frozenset[str],
    ) -> None:
        self.config = config
        self.organisations = organisations
        self.sessions = sessions
        self.sign_in = sign_in
        self.single_logout = logout
        self.flaws = flaws

    def routes(self) -> list[Route]:
        return [
            Route("/saml/metadata", self.metadata, methods=["GET"]),
            Route("/saml/login", self.login, methods=["GET"]),
            Route("/saml/acs", self.acs, methods=["POST"]),
            Route("/saml/slo", self.slo, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
        ]

    def sp_metadata(self) -> SPMetadata:
        return self.config.metadata()

    async def metadata(self, request: Request) -> Response:
        return Response(
            build_sp_metadata(self.sp_metadata()), media_type="application/samlmetadata+xml"
        )

    async def login(self, request: Request) -> Response:
        email = request.query_params.get("email", "").strip()[:320]
        relay = request.query_params.get("RelayState")
        relay_state = relay_state_kept(relay, self.flaws) or DEFAULT_LANDING
        organisation = self.organisations.by_email(email)
        if organisation is None or organisation.idp is None:
            return self._find_organisation(email, relay_state)
        browser, new_browser = self.sessions.browser(request)
        try:
            location = self.sign_in.start(organisation, organisation.idp, relay_state, browser)
        except Refusal as exc:
            return refusal(request, self.flaws, exc)
        response = RedirectResponse(location, status_code=302)
        response.headers["Cache-Control"] = "no-store"
        if new_browser:
            self.sessions.set_browser_cookie(response, browser)
        return response

    def _find_organisation(self, email: str, relay_state: str) -> Response:
        """The landing page asking for (another) work email."""
        domain = email.rpartition("@")[2]
        return render(
            "landing.html",
            self.flaws,
            status=400 if email else 200,
            message=f"No organisation signs in with addresses at {domain!r}." if email else None,
            email=email,
            relay_state=relay_state if relay_state != DEFAULT_LANDING else None,
            me=None,
        )

    async def acs(self, request: Request) -> Response:
        try:
            return await self._acs(request)
        except Refusal as exc:
            return refusal(request, self.flaws, _at_the_acs(exc))

    async def _acs(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("", "application/x-www-form-urlencoded", "multipart/form-data"):
            raise Refusal(
                "not-a-form", "the ACS takes an HTML form POST", _BINDING_RULE, status=415
            )
        form = await request.form(max_files=0, max_fields=10)
        value, relay_posted = form.get("SAMLResponse"), form.get("RelayState")
        if not isinstance(value, str) or not value.strip():
            raise Refusal(
                "no-saml-response", "no SAMLResponse was posted", _BINDING_RULE, status=400
            )
        relay_state = relay_posted if isinstance(relay_posted, str) else None
        reader = routing_root if self.flaws & DOCTYPE_FLAWS else None
        posted = read_posted_response(value, relay_state, reader)
        browser = self.sessions.browser_id(request)
        resubmit = posted.in_response_to and browser is None and "sp_resubmitted" not in form
        if resubmit and not wants_json(request):
            return self._resubmit(value, relay_state)
        admitted = self.sign_in.admit(posted, browser, self.sessions.session_token(request))
        response = RedirectResponse(admitted.landing, status_code=303)
        if (
            OPEN_REDIRECT in self.flaws
            and admitted.landing.isascii()
            and admitted.landing.isprintable()
        ):
            # as the RelayState came, unquoted: a browser reads /\\host as //host
            response.headers["location"] = admitted.landing
        self.sessions.set_session_cookie(response, admitted.token, admitted.max_age)
        return response

    def _resubmit(self, saml_response: str, relay_state: str | None) -> Response:
        """Post the form again from this site. On plain HTTP the browser cookie is
        SameSite=Lax, so an IdP on another site posts to the ACS without it; posted from
        here, it comes along and the response can be matched with this browser's request."""
        fields = {"SAMLResponse": saml_response, "sp_resubmitted": "1"}
        if relay_state is not None:
            fields["RelayState"] = relay_state
        page = post_form_html(self.config.site.acs_url, fields, title="Signing you in")
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    def _forget_cookie(self, response: Response) -> None:
        if "keep-session-on-logout" not in self.flaws:  # the flaw: sign-out forgets nothing
            self.sessions.clear_session_cookie(response)

    async def logout(self, request: Request) -> Response:
        """Sign out here, then at the IdP when it has an SLO endpoint (SP-initiated SLO)."""
        form = await request.form(max_files=0, max_fields=10)
        token = self.sessions.session_token(request)
        try:
            location = self.single_logout.sign_out(token, form.get("csrf"))
        except Refusal as exc:
            return refusal(request, self.flaws, exc)
        response = RedirectResponse(location, status_code=303)
        self._forget_cookie(response)
        return response

    async def slo(self, request: Request) -> Response:
        try:
            return await self._slo(request)
        except Refusal as exc:
            return refusal(request, self.flaws, exc)

    async def _slo(self, request: Request) -> Response:
        if request.method == "GET":
            redirect = decode_redirect_query(request.url.query)
            outcome = self.single_logout.receive(redirect.message, redirect.relay_state, redirect)
        else:
            form = await request.form(max_files=0, max_fields=10)
            value = form.get("SAMLRequest" if "SAMLRequest" in form else "SAMLResponse")
            if not isinstance(value, str):
                raise Refusal("no-message", "no SAML message was posted", _BINDING_RULE, status=400)
            relay = form.get("RelayState")
            relay_state = relay if isinstance(relay, str) else None
            outcome = self.single_logout.receive(decode_post_value(value), relay_state, None)
        if outcome.redirect is None:
            return render(
                "signed_out.html",
                self.flaws,
                complete=outcome.complete,
                status_code=outcome.status_code,
                me=None,
            )
        response = RedirectResponse(outcome.redirect, status_code=302)
        self._forget_cookie(response)
        return response
