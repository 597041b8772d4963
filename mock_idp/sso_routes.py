"""The SSO routes: ``/saml/sso`` (both bindings and the login form) and ``/saml/idp-init``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from harness.protocol.saml import constants as c

from .directory import User
from .idp import MockIdP
from .pages import render
from .refusals import IdPError, LoginError
from .sessions import IdPSession
from .sso_requests import LoginRequest
from .web import browser_session, deliver, guarded, read_form, set_session_cookie


class _SSO:
    """The handlers, over one IdP."""

    def __init__(self, idp: MockIdP) -> None:
        self.idp = idp

    def browser_session(self, request: Request) -> IdPSession | None:
        return browser_session(request, self.idp.sessions, self.idp.clock.now())

    def login_page(
        self,
        login: LoginRequest,
        handle: str,
        *,
        error: str = "",
        username: str = "",
        status: int = 200,
    ) -> Response:
        page = render(
            "login",
            title="Sign in",
            action=self.idp.sso_url,
            handle=handle,
            sp=login.sp.entity_id,
            error=error,
            username=username,
            preset=self.idp.preset.name,
        )
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})

    def answer_or_login(self, request: Request, login: LoginRequest) -> Response:
        message = self.idp.silent_response(login, self.browser_session(request))
        if message is not None:
            return deliver(message)
        return self.login_page(login, self.idp.logins.remember(login))

    def signed_in(self, request: Request, login: LoginRequest, user: User) -> Response:
        """The Response for a user just signed in, with a fresh IdP session cookie."""
        session = self.idp.start_session(user)
        response = deliver(self.idp.issue_response(login, user, session))
        set_session_cookie(response, request, session)
        return response

    async def submit_login(self, request: Request, form: dict[str, str]) -> Response:
        logins = self.idp.logins
        handle = form.get("login", "")
        login = logins.pending(handle)
        if login is None:
            raise logins.refuse(
                "unknown-login", "this sign-in form has expired; start again at the SP"
            )
        user_name = form.get("username", "")
        try:
            user = logins.authenticate(user_name, form.get("password", ""))
        except LoginError as exc:
            logins.journal_login(login, user_name, exc.reason, exc.message)
            return self.login_page(
                login, handle, error=exc.message, username=user_name, status=exc.status
            )
        logins.forget(handle)
        logins.journal_login(login, user.user_name, None, "signed in")
        return self.signed_in(request, login, user)

    async def sso(self, request: Request) -> Response:
        idp = self.idp
        if request.method == "GET":
            if "SAMLRequest" not in request.query_params:
                raise idp.logins.refuse(
                    "no-message", "GET /saml/sso needs a SAMLRequest (HTTP-Redirect)"
                )
            login = idp.receive_authn_request(c.BINDING_HTTP_REDIRECT, query=request.url.query)
            return self.answer_or_login(request, login)
        form = await read_form(request)
        if "SAMLRequest" in form:
            login = idp.receive_authn_request(
                c.BINDING_HTTP_POST,
                saml_request=form["SAMLRequest"],
                relay_state=form.get("RelayState"),
            )
            return self.answer_or_login(request, login)
        if "username" in form:
            return await self.submit_login(request, form)
        raise idp.logins.refuse("no-message", "POST /saml/sso needs a SAMLRequest or a login form")

    async def idp_initiated(self, request: Request) -> Response:
        idp, params = self.idp, request.query_params
        sp = params.get("sp")
        if not sp:
            raise IdPError(
                "no-sp", "the sp parameter (an SP entityID) is required", "SAML-PROF-4.1.5"
            )
        login = idp.start_idp_initiated(sp, params.get("RelayState"))
        user_name = params.get("user")
        if user_name and not idp.allow_passwordless_idp_init:
            # Only the browser that already holds this user's session skips the password; any
            # other gets the login form, whatever the link says (the name is only a hint).
            session = self.browser_session(request)
            if session is not None and session.user_name.lower() == user_name.lower():
                return self.answer_or_login(request, login)
            return self.login_page(login, idp.logins.remember(login), username=user_name)
        if user_name:
            user = idp.directory.get_user(user_name)
            if user is None or not user.active:
                raise idp.logins.refuse("unknown-user", f"no active user {user_name!r}")
            return self.signed_in(request, login, user)
        return self.answer_or_login(request, login)


def sso_routes(idp: MockIdP) -> list[Route]:
    handlers = _SSO(idp)
    return [
        Route("/saml/sso", guarded(handlers.sso), methods=["GET", "POST"]),
        Route("/saml/idp-init", guarded(handlers.idp_initiated)),
    ]
