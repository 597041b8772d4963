"""What every control-API route shares: the access guard, bodies read against a cap and
validated, refusals answered as JSON (``Refusal.to_json``), and mutator calls checked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.protocol.refusal import Refusal
from harness.protocol.saml.mutators import MUTATORS, MutatorCall, UnknownMutatorError

from .api_bodies import MutatorBody
from .api_guard import check_access
from .api_limits import mutator_param_problem
from .bodies import is_json_type, media_type, parse_json, read_capped
from .refusals import APIError

MAX_BODY = 5_000_000
Model = TypeVar("Model", bound=BaseModel)
Handler = Callable[[Request], Awaitable[Response]]
RouteFactory = Callable[..., Route]


async def read_json(request: Request, model: type[Model]) -> Model:
    """The body, streamed against MAX_BODY, parsed and validated by ``model``; a 4xx otherwise."""
    body = await read_capped(request, MAX_BODY)
    kind = media_type(request)
    # An empty body (``curl -X POST .../api/provision``) carries nothing to misread.
    if body and not is_json_type(kind):
        raise APIError(
            "bad-content-type",
            f"the control API reads application/json bodies, not {kind or 'an untyped body'!r}",
            status=415,
        )
    data = parse_json(body)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise APIError("invalid", "the body does not match the schema", details=details) from exc


def mutator_calls(bodies: list[MutatorBody | str]) -> tuple[MutatorCall, ...]:
    calls = tuple(
        MutatorCall(b, {}) if isinstance(b, str) else MutatorCall(b.name, dict(b.params))
        for b in bodies
    )
    known = {m.name for m in MUTATORS}
    unknown = [call.name for call in calls if call.name not in known]
    if unknown:
        raise APIError("unknown-mutator", f"unknown mutator(s): {unknown}; see GET /api/mutators")
    for call in calls:
        problem = mutator_param_problem(call.params)
        if problem is not None:
            raise APIError("invalid", f"mutator {call.name!r}: {problem}")
    return calls


def refusal_response(refusal: Refusal) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
    return JSONResponse(refusal.to_json(), status_code=refusal.status, headers=headers)


def route_factory(own_origin: str, token: Callable[[], str | None]) -> RouteFactory:
    """``route(path, handler, *methods)``: a Route whose handler runs behind the access guard
    (``token()`` is the API token of the moment) and answers every refusal as JSON."""

    def guarded(handler: Handler) -> Handler:
        async def wrapper(request: Request) -> Response:
            try:
                check_access(request, own_origin, token())
                return await handler(request)
            except Refusal as refusal:
                return refusal_response(refusal)
            except UnknownMutatorError as exc:
                return refusal_response(APIError("unknown-mutator", str(exc)))

        return wrapper

    def route(path: str, handler: Handler, *methods: str) -> Route:
        return Route(path, guarded(handler), methods=list(methods) or ["GET"])

    return route
