"""SCIM requests straight to their endpoint: an ASGI app in front of the SP's Starlette app that
serves every path under the SCIM root itself and hands every other request on.

Starlette's generic routing (a scope copied per route tried, through a Mount) and its middleware
stack cost a SCIM request up to a quarter of its CPU on SQLite. What they do for a SCIM
request is done here directly, with the same outcome: the body is capped as ``BodyLimit`` caps
it (the same limits, the same 413), the route is the first of ``ScimEndpoints.table`` whose
path matches, as Starlette would pick it, and a database that cannot take the request is
answered by the SP's own handler. SCIM answers are JSON, so the framing headers of
``NoFraming`` never apply to them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from harness.protocol.scim import errors
from reference_sp.body_limit import Limit, limit_for, read_within
from reference_sp.db import DatabaseUnavailableError
from reference_sp.scim.routes import EVERY_METHOD, ScimEndpoints, ScimRoute, read_capped, scim_error

UnavailableHandler = Callable[[Request, Exception], Awaitable[Response]]


class ScimDispatch:
    def __init__(
        self,
        app: ASGIApp,
        endpoints: ScimEndpoints,
        root: str,
        limits: Sequence[Limit],
        default_limit: Limit,
        unavailable: UnavailableHandler,
    ) -> None:
        """``root`` is where the SCIM endpoints are (``/scim/v2``); the root itself (no slash)
        is left to ``app``, whose router redirects it as it always did."""
        self.app = app
        self.endpoints = endpoints
        self.root = root.rstrip("/")
        self.limits = limits
        self.default_limit = default_limit
        self.unavailable = unavailable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = get_route_path(scope)
        if not path.startswith(self.root + "/"):
            await self.app(scope, receive, send)
            return
        body = await read_within(
            scope, receive, send, limit_for(self.limits, self.default_limit, scope["path"])
        )
        if body is None:  # answered 413, or the client left
            return
        route, path_params = match(self.endpoints.table, path[len(self.root) :])
        try:
            response = await self.endpoints.answer(route, path_params, scope, body)
        except DatabaseUnavailableError as exc:  # busy, before any transaction began
            response = await self.unavailable(Request(scope), exc)
        await response(scope, receive, send)


def match(table: Sequence[ScimRoute], path: str) -> tuple[ScimRoute, dict[str, str]]:
    """The route serving ``path`` (under the SCIM root) and its path parameters: the first
    whose path matches, as Starlette's router picks it. The last route takes every path."""
    for route in table:
        found = route.pattern.match(path)
        if found is not None:
            return route, found.groupdict()
    raise AssertionError(f"no SCIM route for {path!r}")  # pragma: no cover


def starlette_routes(endpoints: ScimEndpoints) -> list[BaseRoute]:
    """The same endpoints as Starlette routes, mounted at the SCIM root: what the requests
    this module does not take reach (and what it answers as)."""

    def endpoint_of(route: ScimRoute) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = b""
            if request.method in route.allowed:  # else the 405, without reading
                try:
                    body = await read_capped(request, route.body_limit)
                except errors.ScimError as exc:
                    return scim_error(exc)
            return await endpoints.answer(route, request.path_params, request.scope, body)

        return endpoint

    return [Route(r.path, endpoint_of(r), methods=EVERY_METHOD) for r in endpoints.table]
