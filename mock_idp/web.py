"""What every route of the mock IdP's app shares: refusals rendered as a page (or JSON), SAML
messages delivered through the browser, bounded forms, and the IdP session cookie."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.mutators import MutatorNoEffect

from .bodies import media_type, read_capped
from .frame_guard import FRAME_HEADERS
from .messages import OutgoingMessage
from .pages import render
from .refusals import BodyError, IdPError
from .sessions import IdPSession, SessionStore

SESSION_COOKIE = "mock_idp_session"
MAX_FORM_BYTES = 2_000_000
FORM_RULE = "SAML-BIND-3.5.4"

Handler = Callable[[Request], Awaitable[Response]]


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def error_response(request: Request, error: Refusal) -> Response:
    if wants_json(request):
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


def guarded(handler: Handler) -> Handler:
    """``handler`` with every refusal answered as a page naming its rule."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except Refusal as error:
            return error_response(request, error)
        except MutatorNoEffect as exc:
            # The harness's plan asked for a break this response cannot carry (journaled).
            return error_response(request, IdPError("mutator-no-effect", str(exc), "", status=500))

    return wrapper


def deliver(message: OutgoingMessage) -> Response:
    if message.binding == c.BINDING_HTTP_POST:
        # The form posts cross-site to the SP; it must not be cached or framed.
        return HTMLResponse(
            message.html(),
            headers={"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"},
        )
    return RedirectResponse(message.url, status_code=302, headers={"Cache-Control": "no-store"})


def signed_out_page(title: str = "Signed out", message: str = "You are signed out.") -> Response:
    return HTMLResponse(render("message", title=title, message=message))


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body, size-bounded; other content types are refused with a 415."""
    if media_type(request) != "application/x-www-form-urlencoded":
        raise IdPError(
            "bad-content-type",
            "HTTP-POST messages are application/x-www-form-urlencoded forms",
            FORM_RULE,
            status=415,
        )
    try:
        body = await read_capped(request, MAX_FORM_BYTES)
    except BodyError as exc:
        raise IdPError(exc.reason, exc.message, FORM_RULE, status=exc.status) from None
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


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


def browser_session(
    request: Request, sessions: SessionStore, now: dt.datetime
) -> IdPSession | None:
    """The live IdP session this browser's cookie names, if any."""
    return sessions.get(request.cookies.get(SESSION_COOKIE), now)


def forget_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
