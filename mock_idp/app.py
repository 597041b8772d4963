"""The mock IdP's Starlette app: routes decode HTTP, call :class:`MockIdP`, encode the answer.

Bad input from the network always ends as a 4xx page (JSON with ``Accept: application/json``)
naming the rule, plus a journal entry; no SAML response ever goes to an unverified ACS.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from harness.protocol.saml import constants as c
from harness.protocol.saml.mutators import MutatorNoEffect

from .api import api_routes
from .bodies import BodyError, media_type, read_capped
from .frame_guard import FRAME_HEADERS, FrameGuard
from .idp import LoginError, LoginRequest, MockIdP
from .messages import IdPError, OutgoingMessage
from .pages import render
from .sessions import IdPSession

SESSION_COOKIE = "mock_idp_session"
MAX_FORM_BYTES = 2_000_000
LOGIN_RULE = "IDP-LOGIN"

logger = logging.getLogger(__name__)
Handler = Callable[[Request], Awaitable[Response]]


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def error_response(request: Request, error: IdPError) -> Response:
    if _wants_json(request):
        return JSONResponse(error.to_json(), status_code=error.status)
    page = render(
        "error",
        title="Request refused",
        message=error.message,
        reason=error.reason,
        rule=error.rule,
        status=error.status,
    )
    # Also set here: a 500 page leaves from outside the middleware stack (FrameGuard).
    return HTMLResponse(page, status_code=error.status, headers=FRAME_HEADERS)


def deliver(message: OutgoingMessage) -> Response:
    if message.binding == c.BINDING_HTTP_POST:
        # The form posts cross-site to the SP; it must not be cached or framed.
        return HTMLResponse(
            message.html(),
            headers={"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"},
        )
    return RedirectResponse(message.url, status_code=302, headers={"Cache-Control": "no-store"})


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body, size-bounded; other content types are refused with a 415."""
    if media_type(request) != "application/x-www-form-urlencoded":
        raise IdPError(
            415,
            "bad-content-type",
            "SAML-BIND-3.5.4",
            "HTTP-POST messages are application/x-www-form-urlencoded forms",
        )
    try:
        body = await read_capped(request, MAX_FORM_BYTES)
    except BodyError as exc:
        raise IdPError(exc.status, exc.reason, "SAML-BIND-3.5.4", exc.message) from None
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def create_app(idp: MockIdP) -> Starlette:
    """The ASGI app serving ``idp`` (metadata, SSO, SLO, IdP-initiated SSO, control API)."""

    def browser_session(request: Request) -> IdPSession | None:
        return idp.sessions.get(request.cookies.get(SESSION_COOKIE), idp.clock.now())

    def set_session_cookie(response: Response, request: Request, session: IdPSession) -> None:
        secure = request.url.scheme == "https"
        response.set_cookie(
            SESSION_COOKIE,
            session.id,
            httponly=True,
            secure=secure,
            # SAML POSTs arrive cross-site: only SameSite=None lets the cookie ride along, and
            # browsers accept that only on Secure cookies.
            samesite="none" if secure else "lax",
            path="/",
        )

    def login_page(
        login: LoginRequest, handle: str, *, error: str = "", username: str = "", status: int = 200
    ) -> Response:
        page = render(
            "login",
            title="Sign in",
            action=idp.sso_url,
            handle=handle,
            sp=login.sp.entity_id,
            error=error,
            username=username,
            preset=idp.preset.name,
        )
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})

    def answer_or_login(request: Request, login: LoginRequest) -> Response:
        message = idp.silent_response(login, browser_session(request))
        if message is not None:
            return deliver(message)
        return login_page(login, idp.remember(login))

    async def submit_login(request: Request, form: dict[str, str]) -> Response:
        handle = form.get("login", "")
        login = idp.pending(handle)
        if login is None:
            raise idp.refuse_login(
                "unknown-login", "this sign-in form has expired; start again at the SP"
            )
        user_name = form.get("username", "")
        try:
            user = idp.authenticate(user_name, form.get("password", ""))
        except LoginError as exc:
            idp.journal_login(login, user_name, exc.reason, exc.message)
            status = 403 if exc.reason == "user-inactive" else 401
            return login_page(login, handle, error=exc.message, username=user_name, status=status)
        idp.forget(handle)
        session = idp.start_session(user)
        idp.journal_login(login, user.user_name, None, "signed in")
        response = deliver(idp.issue_response(login, user, session))
        set_session_cookie(response, request, session)
        return response

    async def sso(request: Request) -> Response:
        if request.method == "GET":
            if "SAMLRequest" not in request.query_params:
                raise idp.refuse_login(
                    "no-message", "GET /saml/sso needs a SAMLRequest (HTTP-Redirect)"
                )
            login = idp.receive_authn_request(c.BINDING_HTTP_REDIRECT, query=request.url.query)
            return answer_or_login(request, login)
        form = await read_form(request)
        if "SAMLRequest" in form:
            login = idp.receive_authn_request(
                c.BINDING_HTTP_POST,
                saml_request=form["SAMLRequest"],
                relay_state=form.get("RelayState"),
            )
            return answer_or_login(request, login)
        if "username" in form:
            return await submit_login(request, form)
        raise idp.refuse_login("no-message", "POST /saml/sso needs a SAMLRequest or a login form")

    async def idp_initiated(request: Request) -> Response:
        params = request.query_params
        sp = params.get("sp")
        if not sp:
            raise IdPError(
                400, "no-sp", "SAML-PROF-4.1.5", "the sp parameter (an SP entityID) is required"
            )
        login = idp.start_idp_initiated(sp, params.get("RelayState"))
        user_name = params.get("user")
        if user_name and not idp.allow_passwordless_idp_init:
            # Only the browser that already holds this user's session skips the password; any
            # other gets the login form, whatever the link says (the name is only a hint).
            session = browser_session(request)
            if session is not None and session.user_name.lower() == user_name.lower():
                return answer_or_login(request, login)
            return login_page(login, idp.remember(login), username=user_name)
        if user_name:
            user = idp.directory.get_user(user_name)
            if user is None or not user.active:
                raise idp.refuse_login("unknown-user", f"no active user {user_name!r}")
            session = idp.start_session(user)
            response = deliver(idp.issue_response(login, user, session))
            set_session_cookie(response, request, session)
            return response
        return answer_or_login(request, login)

    async def slo(request: Request) -> Response:
        session = browser_session(request)
        if request.method == "GET":
            message = idp.receive_slo(
                c.BINDING_HTTP_REDIRECT, query=request.url.query, session=session
            )
        else:
            message = idp.receive_slo(
                c.BINDING_HTTP_POST, form=await read_form(request), session=session
            )
        response: Response
        if message is None:
            response = HTMLResponse(
                render("message", title="Signed out", message="You are signed out.")
            )
        else:
            response = deliver(message)
        if session is not None and browser_session(request) is None:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def logout(request: Request) -> Response:
        session = browser_session(request)
        if session is None:
            return HTMLResponse(
                render("message", title="Not signed in", message="There is no session here.")
            )
        message = idp.start_logout(session)
        response: Response
        if message is None:
            response = HTMLResponse(
                render("message", title="Signed out", message="You are signed out.")
            )
        else:
            response = deliver(message)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def metadata(request: Request) -> Response:
        return Response(idp.metadata_xml(), media_type="application/samlmetadata+xml")

    async def home(request: Request) -> Response:
        session = browser_session(request)
        return HTMLResponse(
            render(
                "home",
                title="Mock IdP",
                entity_id=idp.entity_id,
                preset=idp.preset.name,
                sps=sorted(idp.sps),
                user=session.user_name if session else None,
            )
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def guarded(handler: Handler) -> Handler:
        async def wrapper(request: Request) -> Response:
            try:
                return await handler(request)
            except IdPError as error:
                return error_response(request, error)
            except MutatorNoEffect as exc:
                # The harness's plan asked for a break this response cannot carry (journaled).
                return error_response(request, IdPError(500, "mutator-no-effect", "", str(exc)))

        return wrapper

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "error"
        return error_response(request, IdPError(status, "http-error", "HTTP", str(detail)))

    async def internal_error(request: Request, exc: Exception) -> Response:
        # Our bug, not the peer's: say so, log it, never show a traceback to the browser.
        logger.exception("mock IdP internal error")
        idp.journal.record(
            time=idp.clock.now(),
            direction="in",
            kind="Error",
            binding=None,
            sp=None,
            xml=None,
            error={"reason": "internal-error", "rule": "", "message": type(exc).__name__},
        )
        return error_response(
            request, IdPError(500, "internal-error", "", "the mock IdP failed (a bug); see its log")
        )

    routes = [
        Route("/", guarded(home)),
        Route("/healthz", healthz),
        Route("/saml/metadata", guarded(metadata)),
        Route("/saml/sso", guarded(sso), methods=["GET", "POST"]),
        Route("/saml/idp-init", guarded(idp_initiated)),
        Route("/saml/slo", guarded(slo), methods=["GET", "POST"]),
        Route("/saml/logout", guarded(logout)),
        Mount("/api", routes=api_routes(idp)),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FrameGuard)],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    app.state.idp = idp
    return app
