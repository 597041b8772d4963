"""The mock IdP's Starlette app: routes decode HTTP, call :class:`MockIdP`, encode the answer.

Bad input from the network always ends as a 4xx page (JSON with ``Accept: application/json``)
naming the rule, plus a journal entry; no SAML response ever goes to an unverified ACS.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from .api import api_routes
from .console import console_routes
from .frame_guard import FrameGuard
from .idp import MockIdP
from .logout_routes import logout_routes
from .refusals import HTTP_RULE, IdPError
from .sso_routes import sso_routes
from .web import error_response, guarded

logger = logging.getLogger(__name__)


def page_routes(idp: MockIdP) -> list[Route]:
    """The metadata and the health check (the console serves ``/``: ``console``)."""

    async def metadata(request: Request) -> Response:
        return Response(idp.metadata_xml(), media_type="application/samlmetadata+xml")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return [
        Route("/healthz", healthz),
        Route("/saml/metadata", guarded(metadata)),
    ]


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "error"
    return error_response(request, IdPError("http-error", str(detail), HTTP_RULE, status=status))


def internal_error_handler(idp: MockIdP) -> Callable[[Request, Exception], Awaitable[Response]]:
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
        failure = IdPError(
            "internal-error", "the mock IdP failed (a bug); see its log", "", status=500
        )
        return error_response(request, failure)

    return internal_error


def create_app(idp: MockIdP) -> Starlette:
    """The ASGI app serving ``idp`` (metadata, SSO, SLO, IdP-initiated SSO, control API)."""
    routes = [
        *console_routes(idp),
        *page_routes(idp),
        *sso_routes(idp),
        *logout_routes(idp),
        Mount("/api", routes=api_routes(idp)),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FrameGuard)],
        exception_handlers={HTTPException: http_error, Exception: internal_error_handler(idp)},
    )
    app.state.idp = idp
    return app
