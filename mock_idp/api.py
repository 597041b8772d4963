"""The control API (JSON under /api): directory, SPs, clock, plan, rules, flaws, journal.

Each resource's routes come from its own builder (``api_directory``, ``api_sps``,
``api_responses``, ``api_settings``, ``api_state``, ``provisioning_api``); every route runs
behind the access guard and answers refusals as ``Refusal.to_json()`` (``api_common``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api_common import route_factory
from .api_directory import group_routes, user_routes
from .api_guard import origin_of
from .api_responses import clock_routes, plan_routes, rule_routes
from .api_settings import catalogue_routes, key_routes, settings_routes
from .api_sps import sp_routes
from .api_state import journal_routes, session_routes
from .idp import MockIdP
from .provisioning_api import provisioning_routes

ENDPOINTS = [
    "/api/users",
    "/api/groups",
    "/api/sps",
    "/api/clock",
    "/api/plan",
    "/api/rules",
    "/api/flaws",
    "/api/mutators",
    "/api/presets",
    "/api/keys",
    "/api/sessions",
    "/api/journal",
    "/api/stats",
    "/api/provision",
    "/api/settings",
    "/api/reset",
]


def api_routes(idp: MockIdP) -> list[Route]:
    route = route_factory(origin_of(idp.base_url), lambda: idp.api_token)

    async def index(request: Request) -> Response:
        return JSONResponse(
            {"entityID": idp.entity_id, "endpoints": ENDPOINTS, "docs": "docs/mock-idp.md"}
        )

    return [
        route("/", index),
        *user_routes(idp, route),
        *group_routes(idp, route),
        *sp_routes(idp, route),
        *clock_routes(idp, route),
        *plan_routes(idp, route),
        *rule_routes(idp, route),
        *settings_routes(idp, route),
        *catalogue_routes(route),
        *key_routes(idp, route),
        *session_routes(idp, route),
        *journal_routes(idp, route),
        *provisioning_routes(idp, route),
    ]
