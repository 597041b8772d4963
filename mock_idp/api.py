"""The control API (JSON under /api): directory, SPs, clock, plan, rules, flaws, journal.

Every body is validated by a pydantic model that forbids unknown fields, so a typo in a test
script is a 422 naming the field instead of a silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.protocol.keys import certificate_base64, fingerprint
from harness.protocol.saml.encryption import BLOCK_ALGORITHMS, KEY_TRANSPORTS
from harness.protocol.saml.errors import MetadataError
from harness.protocol.saml.mutators import MUTATORS, MutatorCall, UnknownMutatorError
from harness.protocol.saml.presets import PRESETS
from harness.protocol.saml.signing import SIGNATURE_METHODS

from .api_guard import AccessError, check_access, origin_of
from .api_limits import clock_problem, mutator_param_problem, user_name_problem
from .bodies import BodyError, is_json_type, media_type, parse_json, read_capped
from .directory import DirectoryError, User
from .flaws import FLAWS
from .idp import MockIdP
from .plan import PlanFullError, RuleActions, RuleMatch
from .service_providers import SPSettings

MAX_BODY = 5_000_000
XML_TYPES = frozenset({"application/xml", "text/xml", "application/samlmetadata+xml"})
Model = TypeVar("Model", bound=BaseModel)


class APIError(Exception):
    def __init__(self, status: int, error: str, message: str, details: object = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class UserBody(_Strict):
    userName: str = Field(min_length=1)  # noqa: N815 - the JSON field names of the contract
    password: str = "password"  # noqa: S105
    email: str | None = None
    givenName: str | None = None  # noqa: N815
    familyName: str | None = None  # noqa: N815
    displayName: str | None = None  # noqa: N815
    groups: list[str] = []
    active: bool = True
    externalId: str | None = None  # noqa: N815
    attributes: dict[str, list[str]] = {}
    title: str | None = None
    department: str | None = None
    employeeNumber: str | None = None  # noqa: N815
    manager: str | None = None
    assigned: bool = True

    @field_validator("userName")
    @classmethod
    def _sane_user_name(cls, value: str) -> str:
        problem = user_name_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    def to_user(self) -> User:
        return User(
            user_name=self.userName,
            password=self.password,
            email=self.email,
            given_name=self.givenName,
            family_name=self.familyName,
            display_name=self.displayName,
            groups=list(self.groups),
            active=self.active,
            external_id=self.externalId,
            attributes={k: list(v) for k, v in self.attributes.items()},
            title=self.title,
            department=self.department,
            employee_number=self.employeeNumber,
            manager=self.manager,
            assigned=self.assigned,
        )


class UserPatch(_Strict):
    password: str | None = None
    email: str | None = None
    givenName: str | None = None  # noqa: N815
    familyName: str | None = None  # noqa: N815
    displayName: str | None = None  # noqa: N815
    groups: list[str] | None = None
    active: bool | None = None
    externalId: str | None = None  # noqa: N815
    attributes: dict[str, list[str]] | None = None
    title: str | None = None
    department: str | None = None
    employeeNumber: str | None = None  # noqa: N815
    manager: str | None = None
    assigned: bool | None = None


class GroupBody(_Strict):
    displayName: str = Field(min_length=1)  # noqa: N815
    externalId: str | None = None  # noqa: N815
    members: list[str] = []
    assigned: bool = True
    memberGroups: list[str] = []  # noqa: N815 - groups nested in this one


class GroupPatch(_Strict):
    displayName: str | None = Field(default=None, min_length=1)  # noqa: N815
    assigned: bool | None = None
    memberGroups: list[str] | None = None  # noqa: N815 - replaces the nested groups


class MembersBody(_Strict):
    members: list[str]


class SPSettingsBody(_Strict):
    name_id_format: str | None = None
    sign_assertion: bool | None = None
    sign_response: bool | None = None
    signature_algorithm: str | None = None
    encrypt: bool | None = None
    encryption_block: str | None = None
    encryption_transport: str | None = None
    allow_idp_initiated: bool = True
    attributes: dict[str, list[str]] = {}

    def to_settings(self) -> SPSettings:
        if self.signature_algorithm and self.signature_algorithm not in SIGNATURE_METHODS:
            raise APIError(
                422, "invalid", f"signature_algorithm must be one of {list(SIGNATURE_METHODS)}"
            )
        if self.encryption_block and self.encryption_block not in BLOCK_ALGORITHMS:
            raise APIError(
                422, "invalid", f"encryption_block must be one of {list(BLOCK_ALGORITHMS)}"
            )
        if self.encryption_transport and self.encryption_transport not in KEY_TRANSPORTS:
            raise APIError(
                422, "invalid", f"encryption_transport must be one of {list(KEY_TRANSPORTS)}"
            )
        return SPSettings(**self.model_dump())


class SPBody(_Strict):
    metadata: str = Field(min_length=1)
    settings: SPSettingsBody = SPSettingsBody()


class MutatorBody(_Strict):
    name: str
    params: dict[str, Any] = {}


class PlanBody(_Strict):
    mutators: list[MutatorBody | str] = Field(min_length=1)
    sticky: bool = False
    count: int = Field(default=1, ge=1)
    sp: str | None = None


class RuleMatchBody(_Strict):
    sp: str | None = None
    relay_state: str | None = None
    user: str | None = None


class RuleSetBody(_Strict):
    attributes: dict[str, list[str]] = {}
    name_id_format: str | None = None
    name_id: str | None = None
    sign_assertion: bool | None = None
    sign_response: bool | None = None
    signature_algorithm: str | None = None
    encrypt: bool | None = None
    mutators: list[MutatorBody | str] = []


class RuleBody(_Strict):
    match: RuleMatchBody = RuleMatchBody()
    set: RuleSetBody


class ClockBody(_Strict):
    offset_seconds: int | None = None
    frozen: bool | None = None
    frozen_at: dt.datetime | None = None
    reset: bool = False


class FlawsBody(_Strict):
    enabled: list[str]


class KeysBody(_Strict):
    action: str = Field(pattern="^(rollover|activate|retire)$")
    index: int | None = None


class SettingsBody(_Strict):
    preset: str | None = None
    want_authn_requests_signed: bool | None = None


def _calls(bodies: list[MutatorBody | str]) -> tuple[MutatorCall, ...]:
    calls = tuple(
        MutatorCall(b, {}) if isinstance(b, str) else MutatorCall(b.name, dict(b.params))
        for b in bodies
    )
    known = {m.name for m in MUTATORS}
    unknown = [call.name for call in calls if call.name not in known]
    if unknown:
        raise APIError(
            422, "unknown-mutator", f"unknown mutator(s): {unknown}; see GET /api/mutators"
        )
    for call in calls:
        problem = mutator_param_problem(call.params)
        if problem is not None:
            raise APIError(422, "invalid", f"mutator {call.name!r}: {problem}")
    return calls


async def _json(request: Request, model: type[Model]) -> Model:
    """The body, streamed against MAX_BODY, parsed and validated by ``model``; a 4xx otherwise."""
    body = await read_capped(request, MAX_BODY)
    kind = media_type(request)
    # An empty body (``curl -X POST .../api/provision``) carries nothing to misread.
    if body and not is_json_type(kind):
        raise APIError(
            415,
            "bad-content-type",
            f"the control API reads application/json bodies, not {kind or 'an untyped body'!r}",
        )
    data = parse_json(body)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise APIError(422, "invalid", "the body does not match the schema", details) from exc


def _user_or_404(idp: MockIdP, user_name: str) -> User:
    user = idp.directory.get_user(user_name)
    if user is None:
        raise APIError(404, "not-found", f"no user {user_name!r}")
    return user


def api_routes(idp: MockIdP) -> list[Route]:
    own_origin = origin_of(idp.base_url)

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "entityID": idp.entity_id,
                "endpoints": [
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
                    "/api/provision",
                    "/api/settings",
                    "/api/reset",
                ],
                "docs": "docs/mock-idp.md",
            }
        )

    # users
    async def users(request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request, UserBody)
            user = idp.directory.add_user(body.to_user())
            return JSONResponse(user.to_json(), status_code=201)
        return JSONResponse({"users": [u.to_json() for u in idp.directory.users()]})

    async def user(request: Request) -> Response:
        name = request.path_params["user_name"]
        if request.method == "GET":
            return JSONResponse(_user_or_404(idp, name).to_json())
        if request.method == "DELETE":
            idp.directory.remove_user(name)
            idp.sessions.end_user(name)
            return Response(status_code=204)
        if request.method == "PUT":
            body = await _json(request, UserBody)
            replaced = idp.directory.replace_user(name, body.to_user())
            return JSONResponse(replaced.to_json())
        current = _user_or_404(idp, name)
        patch = await _json(request, UserPatch)
        changes = patch.model_dump(exclude_unset=True)
        for required in ("password", "groups", "active", "attributes", "assigned"):
            if required in changes and changes[required] is None:
                raise APIError(422, "invalid", f"{required} cannot be null")
        mapping = {
            "givenName": "given_name",
            "familyName": "family_name",
            "displayName": "display_name",
            "externalId": "external_id",
            "employeeNumber": "employee_number",
        }
        for key, value in changes.items():
            setattr(current, mapping.get(key, key), value)
        for group in current.groups:
            idp.directory.ensure_group(group)
        if current.active is False:
            idp.sessions.end_user(current.user_name)  # a blocked user loses IdP sessions at once
        return JSONResponse(current.to_json())

    # groups
    def group_json(name: str) -> dict[str, object]:
        group = idp.directory.get_group(name)
        if group is None:
            raise APIError(404, "not-found", f"no group {name!r}")
        return {
            "id": group.id,
            "displayName": group.display_name,
            "externalId": group.external_id,
            "assigned": group.assigned,
            "members": [u.user_name for u in idp.directory.members(group.display_name)],
            "memberGroups": list(group.member_groups),
        }

    async def groups(request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request, GroupBody)
            group = idp.directory.add_group(body.displayName, body.externalId)
            group.assigned = body.assigned
            idp.directory.set_membership(group.display_name, body.members)
            for child in body.memberGroups:
                idp.directory.nest(group.display_name, child)
            return JSONResponse(group_json(group.display_name), status_code=201)
        return JSONResponse(
            {"groups": [group_json(g.display_name) for g in idp.directory.groups()]}
        )

    async def group(request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "DELETE":
            idp.directory.remove_group(name)
            return Response(status_code=204)
        if request.method == "PATCH":
            group_json(name)
            patch = await _json(request, GroupPatch)
            if patch.displayName is not None:
                name = idp.directory.rename_group(name, patch.displayName).display_name
            found = idp.directory.get_group(name)
            if patch.assigned is not None and found is not None:
                found.assigned = patch.assigned
            if patch.memberGroups is not None and found is not None:
                for child in list(found.member_groups):
                    idp.directory.unnest(name, child)
                for child in patch.memberGroups:
                    idp.directory.nest(name, child)
        return JSONResponse(group_json(name))

    async def members(request: Request) -> Response:
        name = request.path_params["name"]
        group_json(name)
        body = await _json(request, MembersBody)
        if request.method == "POST":
            idp.directory.set_membership(name, body.members)
        else:
            for user_name in body.members:
                member = _user_or_404(idp, user_name)
                member.groups = [g for g in member.groups if g.lower() != name.lower()]
        return JSONResponse(group_json(name))

    # service providers
    async def sps(request: Request) -> Response:
        if request.method == "POST":
            if media_type(request) in XML_TYPES:
                metadata = await read_capped(request, MAX_BODY)
                settings = SPSettings()
            else:
                body = await _json(request, SPBody)
                metadata = body.metadata.encode()
                settings = body.settings.to_settings()
            try:
                registered = idp.register_sp_metadata(metadata, settings)
            except MetadataError as exc:
                raise APIError(422, exc.reason, f"{exc.message} [{exc.rule}]") from exc
            return JSONResponse({"sps": [sp.to_json() for sp in registered]}, status_code=201)
        entity_id = request.query_params.get("entityID")
        if request.method == "GET":
            if entity_id:
                found = idp.sps.get(entity_id)
                if found is None:
                    raise APIError(404, "not-found", f"no SP {entity_id!r}")
                return JSONResponse(found.to_json())
            return JSONResponse({"sps": [sp.to_json() for sp in idp.sps.values()]})
        if not entity_id or entity_id not in idp.sps:
            raise APIError(404, "not-found", f"no SP {entity_id!r} (give ?entityID=...)")
        if request.method == "DELETE":
            del idp.sps[entity_id]
            return Response(status_code=204)
        body_settings = await _json(request, SPSettingsBody)
        idp.sps[entity_id].settings = body_settings.to_settings()
        return JSONResponse(idp.sps[entity_id].to_json())

    # clock
    async def clock(request: Request) -> Response:
        if request.method == "PUT":
            body = await _json(request, ClockBody)
            problem = clock_problem(body.offset_seconds, body.frozen_at)
            if problem is not None:
                raise APIError(422, "invalid", problem)
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

    # plan
    async def plan(request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request, PlanBody)
            try:
                entry = idp.plan.add(
                    _calls(body.mutators), sticky=body.sticky, count=body.count, sp=body.sp
                )
            except PlanFullError as exc:
                raise APIError(409, "full", str(exc)) from exc
            return JSONResponse(entry.to_json(), status_code=201)
        if request.method == "DELETE":
            idp.plan.clear()
            return Response(status_code=204)
        return JSONResponse({"plan": [e.to_json() for e in idp.plan.entries()]})

    async def plan_entry(request: Request) -> Response:
        if not idp.plan.remove(int(request.path_params["entry_id"])):
            raise APIError(404, "not-found", "no such plan entry")
        return Response(status_code=204)

    # rules
    async def rules(request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request, RuleBody)
            actions = RuleActions(
                attributes=dict(body.set.attributes),
                name_id_format=body.set.name_id_format,
                name_id=body.set.name_id,
                sign_assertion=body.set.sign_assertion,
                sign_response=body.set.sign_response,
                signature_algorithm=body.set.signature_algorithm,
                encrypt=body.set.encrypt,
                mutators=_calls(body.set.mutators),
            )
            if actions.signature_algorithm and actions.signature_algorithm not in SIGNATURE_METHODS:
                raise APIError(
                    422, "invalid", f"signature_algorithm must be one of {list(SIGNATURE_METHODS)}"
                )
            try:
                rule = idp.rules.add(RuleMatch(**body.match.model_dump()), actions)
            except PlanFullError as exc:
                raise APIError(409, "full", str(exc)) from exc
            except Exception as exc:  # re.error for a bad "re:" pattern
                raise APIError(422, "invalid", f"bad pattern: {exc}") from exc
            return JSONResponse(rule.to_json(), status_code=201)
        if request.method == "DELETE":
            idp.rules.clear()
            return Response(status_code=204)
        return JSONResponse({"rules": [r.to_json() for r in idp.rules.all()]})

    async def rule(request: Request) -> Response:
        if not idp.rules.remove(int(request.path_params["rule_id"])):
            raise APIError(404, "not-found", "no such rule")
        return Response(status_code=204)

    # flaws, mutators, presets, settings
    async def flaws(request: Request) -> Response:
        if request.method == "PUT":
            body = await _json(request, FlawsBody)
            try:
                idp.set_flaws(body.enabled)
            except ValueError as exc:
                raise APIError(422, "unknown-flaw", str(exc)) from exc
        return JSONResponse(
            {
                "flaws": [
                    {
                        "name": f.name,
                        "description": f.description,
                        "rule": f.rule,
                        "enabled": idp.has_flaw(f.name),
                    }
                    for f in FLAWS
                ]
            }
        )

    async def mutators(request: Request) -> Response:
        return JSONResponse(
            {
                "mutators": [
                    {"name": m.name, "rule": m.rule, "description": m.description} for m in MUTATORS
                ]
            }
        )

    async def presets(request: Request) -> Response:
        return JSONResponse(
            {"presets": [{"name": p.name, "description": p.description} for p in PRESETS.values()]}
        )

    async def settings(request: Request) -> Response:
        if request.method in ("PUT", "PATCH"):
            body = await _json(request, SettingsBody)
            if body.preset is not None:
                try:
                    idp.set_preset(body.preset)
                except ValueError as exc:
                    raise APIError(422, "unknown-preset", str(exc)) from exc
            if body.want_authn_requests_signed is not None:
                idp.want_authn_requests_signed = body.want_authn_requests_signed
        return JSONResponse(
            {
                "entityID": idp.entity_id,
                "sso_url": idp.sso_url,
                "slo_url": idp.slo_url,
                "preset": idp.preset.name,
                "flaws": sorted(idp.flaws),
                "seed": idp.seed,
                "want_authn_requests_signed": idp.want_authn_requests_signed,
            }
        )

    # signing keys (rollover)
    def keys_json() -> dict[str, object]:
        return {
            "keys": [
                {
                    "index": index,
                    "active": index == 0,
                    "type": key.key_type,
                    "fingerprint_sha256": fingerprint(key.certificate),
                    "certificate": certificate_base64(key.certificate),
                }
                for index, key in enumerate(idp.signing_keys)
            ]
        }

    async def keys(request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request, KeysBody)
            try:
                if body.action == "rollover":
                    idp.rollover_key()
                elif body.index is None:
                    raise APIError(422, "invalid", f"{body.action} needs an index")
                elif body.action == "activate":
                    idp.activate_key(body.index)
                else:
                    idp.retire_key(body.index)
            except ValueError as exc:
                raise APIError(422, "invalid", str(exc)) from exc
        return JSONResponse(keys_json())

    # sessions and journal
    async def sessions(request: Request) -> Response:
        if request.method == "DELETE":
            idp.sessions.clear()
            return Response(status_code=204)
        return JSONResponse({"sessions": [s.to_json() for s in idp.sessions.all()]})

    async def session(request: Request) -> Response:
        if idp.sessions.end(request.path_params["session_id"]) is None:
            raise APIError(404, "not-found", "no such session")
        return Response(status_code=204)

    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            idp.journal.clear()
            return Response(status_code=204)
        params = request.query_params
        try:
            since = int(params.get("since", "0"))
            limit = int(params["limit"]) if "limit" in params else None
        except ValueError as exc:
            raise APIError(400, "bad-parameter", "since and limit are integers") from exc
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
            raise APIError(404, "not-found", f"no journal entry {seq}")
        return JSONResponse(found[0].to_json())

    async def reset(request: Request) -> Response:
        idp.reset()
        return Response(status_code=204)

    def guarded(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def wrapper(request: Request) -> Response:
            try:
                check_access(request, own_origin, idp.api_token)
                return await handler(request)
            except AccessError as exc:
                headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
                return JSONResponse(
                    {"error": exc.error, "message": exc.message},
                    status_code=exc.status,
                    headers=headers,
                )
            except BodyError as exc:
                return JSONResponse({"error": exc.reason, "message": exc.message}, exc.status)
            except APIError as exc:
                body: dict[str, object] = {"error": exc.error, "message": exc.message}
                if exc.details is not None:
                    body["details"] = exc.details
                return JSONResponse(body, status_code=exc.status)
            except DirectoryError as exc:
                return JSONResponse(
                    {"error": "directory", "message": str(exc)}, status_code=exc.status
                )
            except UnknownMutatorError as exc:
                return JSONResponse(
                    {"error": "unknown-mutator", "message": str(exc)}, status_code=422
                )

        return wrapper

    from .provisioning_api import provisioning_routes  # it imports this module's helpers

    def route(path: str, handler: Callable[[Request], Awaitable[Response]], *methods: str) -> Route:
        return Route(path, guarded(handler), methods=list(methods) or ["GET"])

    return [
        route("/", index),
        route("/users", users, "GET", "POST"),
        route("/users/{user_name}", user, "GET", "PUT", "PATCH", "DELETE"),
        route("/groups", groups, "GET", "POST"),
        route("/groups/{name}", group, "GET", "PATCH", "DELETE"),
        route("/groups/{name}/members", members, "POST", "DELETE"),
        route("/sps", sps, "GET", "POST", "PATCH", "DELETE"),
        route("/clock", clock, "GET", "PUT"),
        route("/plan", plan, "GET", "POST", "DELETE"),
        route("/plan/{entry_id:int}", plan_entry, "DELETE"),
        route("/rules", rules, "GET", "POST", "DELETE"),
        route("/rules/{rule_id:int}", rule, "DELETE"),
        route("/flaws", flaws, "GET", "PUT"),
        route("/mutators", mutators),
        route("/presets", presets),
        route("/settings", settings, "GET", "PUT", "PATCH"),
        route("/keys", keys, "GET", "POST"),
        route("/sessions", sessions, "GET", "DELETE"),
        route("/sessions/{session_id}", session, "DELETE"),
        route("/journal", journal, "GET", "DELETE"),
        route("/journal/{seq:int}", journal_entry),
        route("/reset", reset, "POST"),
        *provisioning_routes(idp, route, _json),
    ]
