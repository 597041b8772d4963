"""The control API's view of the IdP itself: ``/api/settings`` (preset, signed requests),
``/api/flaws``, ``/api/keys`` (rollover), and the catalogues ``/api/mutators`` and
``/api/presets``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.protocol.keys import certificate_base64, fingerprint
from harness.protocol.saml.mutators import MUTATORS
from harness.protocol.saml.presets import PRESETS

from .api_bodies import FlawsBody, KeysBody, SettingsBody
from .api_common import RouteFactory, read_json
from .flaws import FLAWS
from .idp import MockIdP
from .refusals import APIError


def settings_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    async def settings(request: Request) -> Response:
        if request.method in ("PUT", "PATCH"):
            body = await read_json(request, SettingsBody)
            if body.preset is not None:
                try:
                    idp.set_preset(body.preset)
                except ValueError as exc:
                    raise APIError("unknown-preset", str(exc)) from exc
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

    async def flaws(request: Request) -> Response:
        if request.method == "PUT":
            body = await read_json(request, FlawsBody)
            try:
                idp.set_flaws(body.enabled)
            except ValueError as exc:
                raise APIError("unknown-flaw", str(exc)) from exc
        listed = [
            {
                "name": f.name,
                "description": f.description,
                "rule": f.rule,
                "enabled": idp.has_flaw(f.name),
            }
            for f in FLAWS
        ]
        return JSONResponse({"flaws": listed})

    return [
        route("/settings", settings, "GET", "PUT", "PATCH"),
        route("/flaws", flaws, "GET", "PUT"),
    ]


def catalogue_routes(route: RouteFactory) -> list[Route]:
    async def mutators(request: Request) -> Response:
        listed = [{"name": m.name, "rule": m.rule, "description": m.description} for m in MUTATORS]
        return JSONResponse({"mutators": listed})

    async def presets(request: Request) -> Response:
        listed = [{"name": p.name, "description": p.description} for p in PRESETS.values()]
        return JSONResponse({"presets": listed})

    return [route("/mutators", mutators), route("/presets", presets)]


def key_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    def keys_json() -> dict[str, object]:
        listed = [
            {
                "index": index,
                "active": index == 0,
                "type": key.key_type,
                "fingerprint_sha256": fingerprint(key.certificate),
                "certificate": certificate_base64(key.certificate),
            }
            for index, key in enumerate(idp.signing_keys)
        ]
        return {"keys": listed}

    async def keys(request: Request) -> Response:
        if request.method == "POST":
            body = await read_json(request, KeysBody)
            try:
                if body.action == "rollover":
                    idp.rollover_key()
                elif body.index is None:
                    raise APIError("invalid", f"{body.action} needs an index")
                elif body.action == "activate":
                    idp.activate_key(body.index)
                else:
                    idp.retire_key(body.index)
            except ValueError as exc:
                raise APIError("invalid", str(exc)) from exc
        return JSONResponse(keys_json())

    return [route("/keys", keys, "GET", "POST")]
