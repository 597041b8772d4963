"""The control API's say over the next responses: ``/api/plan`` (mutators for the next ones),
``/api/rules`` (request-matching rules) and ``/api/clock``."""

from __future__ import annotations

import datetime as dt
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.protocol.saml.signing import SIGNATURE_METHODS

from .api_bodies import ClockBody, PlanBody, RuleBody
from .api_common import RouteFactory, mutator_calls, read_json
from .api_limits import clock_problem
from .idp import MockIdP
from .plan import RuleActions, RuleMatch
from .refusals import APIError


def plan_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    async def plan(request: Request) -> Response:
        if request.method == "POST":
            body = await read_json(request, PlanBody)
            calls = mutator_calls(body.mutators)
            entry = idp.plan.add(calls, sticky=body.sticky, count=body.count, sp=body.sp)
            return JSONResponse(entry.to_json(), status_code=201)
        if request.method == "DELETE":
            idp.plan.clear()
            return Response(status_code=204)
        return JSONResponse({"plan": [e.to_json() for e in idp.plan.entries()]})

    async def plan_entry(request: Request) -> Response:
        if not idp.plan.remove(int(request.path_params["entry_id"])):
            raise APIError("not-found", "no such plan entry", status=404)
        return Response(status_code=204)

    return [
        route("/plan", plan, "GET", "POST", "DELETE"),
        route("/plan/{entry_id:int}", plan_entry, "DELETE"),
    ]


def _rule_actions(body: RuleBody) -> RuleActions:
    wanted = body.set
    if wanted.signature_algorithm and wanted.signature_algorithm not in SIGNATURE_METHODS:
        raise APIError("invalid", f"signature_algorithm must be one of {list(SIGNATURE_METHODS)}")
    return RuleActions(
        attributes=dict(wanted.attributes),
        name_id_format=wanted.name_id_format,
        name_id=wanted.name_id,
        sign_assertion=wanted.sign_assertion,
        sign_response=wanted.sign_response,
        signature_algorithm=wanted.signature_algorithm,
        encrypt=wanted.encrypt,
        mutators=mutator_calls(wanted.mutators),
    )


def rule_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    async def rules(request: Request) -> Response:
        if request.method == "POST":
            body = await read_json(request, RuleBody)
            actions = _rule_actions(body)
            try:
                rule = idp.rules.add(RuleMatch(**body.match.model_dump()), actions)
            except re.error as exc:  # a malformed "re:" pattern
                raise APIError("invalid", f"bad pattern: {exc}") from exc
            return JSONResponse(rule.to_json(), status_code=201)
        if request.method == "DELETE":
            idp.rules.clear()
            return Response(status_code=204)
        return JSONResponse({"rules": [r.to_json() for r in idp.rules.all()]})

    async def rule(request: Request) -> Response:
        if not idp.rules.remove(int(request.path_params["rule_id"])):
            raise APIError("not-found", "no such rule", status=404)
        return Response(status_code=204)

    return [
        route("/rules", rules, "GET", "POST", "DELETE"),
        route("/rules/{rule_id:int}", rule, "DELETE"),
    ]


def clock_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    async def clock(request: Request) -> Response:
        if request.method == "PUT":
            body = await read_json(request, ClockBody)
            problem = clock_problem(body.offset_seconds, body.frozen_at)
            if problem is not None:
                raise APIError("invalid", problem)
            if body.reset:
                idp.clock.reset()
            if body.offset_seconds is not None:
                idp.clock.offset = dt.timedelta(seconds=body.offset_seconds)
            if body.frozen_at is not None:
                idp.clock.freeze(body.frozen_at.astimezone(dt.UTC))
            elif body.frozen is True:
                idp.clock.freeze()
            elif body.frozen is False:
                idp.clock.unfreeze()
        return JSONResponse(idp.clock.to_json())

    return [route("/clock", clock, "GET", "PUT")]
