"""The console's forms read into what the control API takes: a user through ``UserBody``, a plan
entry through the same mutator checks as ``POST /api/plan``. Bad input is a 4xx ``APIError``
naming the field."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ValidationError
from starlette.requests import Request

from harness.protocol.saml.mutators import MutatorCall

from .api_bodies import MutatorBody, UserBody
from .api_common import mutator_calls
from .directory import User
from .refusals import APIError, IdPError
from .web import read_form

MAX_FIELD_CHARS = 2_000
MAX_COUNT = 1_000
_INTEGER = re.compile(r"-?\d{1,9}")


async def console_form(request: Request) -> dict[str, str]:
    """The posted form, size-bounded; an empty body is an empty form."""
    if not request.headers.get("content-type") and request.headers.get("content-length") == "0":
        return {}
    try:
        return await read_form(request)
    except IdPError as exc:
        if exc.status == 415:
            message = "the console's forms are application/x-www-form-urlencoded"
            raise APIError(exc.reason, message, status=415) from exc
        raise APIError(exc.reason, exc.message, status=exc.status) from exc


def field(form: dict[str, str], name: str, *, required: bool = False) -> str:
    """The trimmed value of ``name``; a 422 when required and empty, or too long."""
    value = form.get(name, "").strip()
    if len(value) > MAX_FIELD_CHARS:
        raise APIError("invalid", f"{name} is longer than {MAX_FIELD_CHARS} characters")
    if required and not value:
        raise APIError("missing-field", f"the form needs {name}")
    return value


def _integer(form: dict[str, str], name: str, default: int | None) -> int | None:
    value = field(form, name)
    if not value:
        return default
    if not _INTEGER.fullmatch(value):
        raise APIError("invalid", f"{name} must be a whole number, not {value!r}")
    return int(value)


def user_from_form(form: dict[str, str]) -> User:
    groups = [g.strip() for g in field(form, "groups").split(",") if g.strip()]
    try:
        body = UserBody(
            userName=field(form, "userName", required=True),
            password=field(form, "password") or "password",
            email=field(form, "email") or None,
            groups=groups,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise APIError("invalid", f"the user is not valid: {problems}") from exc
    return body.to_user()


def _params(text: str) -> dict[str, object]:
    """``name=value, name=value``: whole numbers as integers, the rest as text."""
    params: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[,\n]", text))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise APIError("invalid", f"parameters are name=value pairs, not {part!r}")
        value = value.strip()
        params[name.strip()] = int(value) if _INTEGER.fullmatch(value) else value
    return params


@dataclass(frozen=True)
class PlanForm:
    calls: tuple[MutatorCall, ...]
    sticky: bool
    count: int
    sp: str | None


def plan_from_form(form: dict[str, str], known_sps: set[str]) -> PlanForm:
    bodies: list[MutatorBody | str] = []
    name = field(form, "mutator")
    params = _params(field(form, "params"))
    if name:
        bodies.append(MutatorBody(name=name, params=params))
    elif params:
        raise APIError("invalid", "parameters need a mutator")
    skew = _integer(form, "clock_skew", None)
    if skew is not None:
        bodies.append(MutatorBody(name="clock-skew", params={"seconds": skew}))
    if not bodies:
        raise APIError("missing-field", "choose a mutator or give a clock skew")
    count = _integer(form, "count", 1) or 0
    if not 1 <= count <= MAX_COUNT:
        raise APIError("invalid", f"responses must be between 1 and {MAX_COUNT}")
    sp = field(form, "sp") or None
    if sp is not None and sp not in known_sps:
        raise APIError("not-found", f"no SP {sp!r} is registered", status=404)
    sticky = field(form, "sticky") in ("yes", "on", "true")
    return PlanForm(mutator_calls(bodies), sticky, count, sp)
