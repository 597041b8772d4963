"""The control API's SP registrations: ``/api/sps`` (metadata in, per-SP settings)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.protocol.saml.errors import MetadataError

from .api_bodies import SPBody, SPSettingsBody
from .api_common import MAX_BODY, RouteFactory, read_json
from .bodies import media_type, read_capped
from .idp import MockIdP
from .refusals import APIError
from .service_providers import ServiceProvider, SPSettings

XML_TYPES = frozenset({"application/xml", "text/xml", "application/samlmetadata+xml"})


def sp_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    def registered(entity_id: str | None) -> ServiceProvider:
        found = idp.sps.get(entity_id) if entity_id else None
        if found is None:
            raise APIError("not-found", f"no SP {entity_id!r} (give ?entityID=...)", status=404)
        return found

    async def register(request: Request) -> Response:
        if media_type(request) in XML_TYPES:
            metadata = await read_capped(request, MAX_BODY)
            settings = SPSettings()
        else:
            body = await read_json(request, SPBody)
            metadata = body.metadata.encode()
            settings = body.settings.to_settings()
        try:
            added = idp.register_sp_metadata(metadata, settings)
        except MetadataError as exc:
            raise exc.with_status(422) from exc
        return JSONResponse({"sps": [sp.to_json() for sp in added]}, status_code=201)

    async def sps(request: Request) -> Response:
        if request.method == "POST":
            return await register(request)
        entity_id = request.query_params.get("entityID")
        if request.method == "GET":
            if entity_id:
                return JSONResponse(registered(entity_id).to_json())
            return JSONResponse({"sps": [sp.to_json() for sp in idp.sps.values()]})
        sp = registered(entity_id)
        if request.method == "DELETE":
            del idp.sps[sp.entity_id]
            return Response(status_code=204)
        body = await read_json(request, SPSettingsBody)
        sp.settings = body.to_settings()
        return JSONResponse(sp.to_json())

    return [route("/sps", sps, "GET", "POST", "PATCH", "DELETE")]
