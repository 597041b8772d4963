"""The control API's view of what happened: ``/api/sessions``, ``/api/journal``, and
``/api/reset`` to forget it all."""

from __future__ import annotations

import os
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api_common import RouteFactory
from .idp import MockIdP
from .refusals import APIError


def session_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    async def sessions(request: Request) -> Response:
        if request.method == "DELETE":
            idp.sessions.clear()
            return Response(status_code=204)
        return JSONResponse({"sessions": [s.to_json() for s in idp.sessions.all()]})

    async def session(request: Request) -> Response:
        if idp.sessions.end(request.path_params["session_id"]) is None:
            raise APIError("not-found", "no such session", status=404)
        return Response(status_code=204)

    async def reset(request: Request) -> Response:
        idp.reset()
        return Response(status_code=204)

    return [
        route("/sessions", sessions, "GET", "DELETE"),
        route("/sessions/{session_id}", session, "DELETE"),
        route("/reset", reset, "POST"),
    ]


def journal_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            idp.journal.clear()
            return Response(status_code=204)
        params = request.query_params
        try:
            since = int(params.get("since", "0"))
            limit = int(params["limit"]) if "limit" in params else None
        except ValueError as exc:
            raise APIError("bad-parameter", "since and limit are integers", status=400) from exc
        entries = idp.journal.entries(
            kind=params.get("kind"),
            direction=params.get("direction"),
            sp=params.get("sp"),
            since=since,
            limit=limit,
        )
        return JSONResponse({"entries": [e.to_json() for e in entries]})

    async def journal_entry(request: Request) -> Response:
        seq = request.path_params["seq"]
        found = [e for e in idp.journal.entries(since=seq - 1, limit=None) if e.seq == seq]
        if not found:
            raise APIError("not-found", f"no journal entry {seq}", status=404)
        return JSONResponse(found[0].to_json())

    async def stats(request: Request) -> Response:
        """What the IdP's work cost: the process's CPU seconds (user and system, the figure
        /proc gives) next to the messages it received and sent, so that a load run can show
        the CPU per issued response from anywhere, without access to the IdP's machine."""
        return JSONResponse(
            {
                "pid": os.getpid(),
                "cpu_seconds": time.process_time(),
                "messages": idp.journal.counts(),
            }
        )

    return [
        route("/journal", journal, "GET", "DELETE"),
        route("/journal/{seq:int}", journal_entry),
        route("/stats", stats),
    ]
