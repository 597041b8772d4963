"""The logout routes: ``/saml/slo`` (an SP's request or answer) and ``/saml/logout`` (the
IdP's own "sign out everywhere")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from harness.protocol.saml import constants as c

from .idp import MockIdP
from .pages import render
from .web import (
    browser_session,
    deliver,
    forget_session_cookie,
    guarded,
    read_form,
    signed_out_page,
)


def logout_routes(idp: MockIdP) -> list[Route]:
    async def slo(request: Request) -> Response:
        session = browser_session(request, idp.sessions, idp.clock.now())
        if request.method == "GET":
            message = idp.receive_slo(
                c.BINDING_HTTP_REDIRECT, query=request.url.query, session=session
            )
        else:
            message = idp.receive_slo(
                c.BINDING_HTTP_POST, form=await read_form(request), session=session
            )
        response = signed_out_page() if message is None else deliver(message)
        ended = browser_session(request, idp.sessions, idp.clock.now()) is None
        if session is not None and ended:
            forget_session_cookie(response)
        return response

    async def logout(request: Request) -> Response:
        session = browser_session(request, idp.sessions, idp.clock.now())
        if session is None:
            return HTMLResponse(
                render("message", title="Not signed in", message="There is no session here.")
            )
        message = idp.start_logout(session)
        response = signed_out_page() if message is None else deliver(message)
        forget_session_cookie(response)
        return response

    return [
        Route("/saml/slo", guarded(slo), methods=["GET", "POST"]),
        Route("/saml/logout", guarded(logout)),
    ]
