"""The SCIM 2.0 HTTP endpoints under ``/scim/v2`` (RFC 7644 §3): decode the request, run one
operation in one transaction, encode the answer, journal both.

Every request ends in a SCIM response: protocol errors become their SCIM error body; anything
unexpected is our bug and becomes a 500 SCIM error body (still journaled), never a traceback
page. Failed requests roll back entirely, so nothing is ever half-written.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import Scope

from harness.protocol.scim import errors
from harness.protocol.scim.body import parse_body
from harness.protocol.scim.deviations import Deviation, deviation
from harness.protocol.scim.schema import (
    RESOURCE_TYPES,
    SCHEMAS,
    SEARCH_REQUEST_SCHEMA,
    ResourceType,
    resource_type_named,
    schema_by_id,
)
from reference_sp.db import Database, DatabaseUnavailableError, SerializationFailureError
from reference_sp.organisation_store import OrganisationStore
from reference_sp.scim import discovery, flawed
from reference_sp.scim.bulk import run_bulk
from reference_sp.scim.journal import Journal, Row
from reference_sp.scim.service import (
    Projection,
    ScimResult,
    ScimService,
    search_params,
)
from reference_sp.scim.stale_members import members_read_early
from reference_sp.scim.store import timestamp

log = logging.getLogger(__name__)

SCIM_MEDIA_TYPE = "application/scim+json"
_JSON_TYPES = {"application/scim+json", "application/json"}
_TOLERATED_TYPES = {"", "text/json", "text/plain"}  # what real clients are seen to send
EVERY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class ScimRoute:
    """One SCIM endpoint: its path under the SCIM root, the methods it serves, its body limit."""

    path: str  # as Starlette writes it: "/{rtype}/{resource_id}"
    pattern: re.Pattern[str]
    operation: Callable[..., ScimResult]
    allowed: tuple[str, ...]
    body_limit: int


@dataclass
class _Call:
    """One request, decoded."""

    method: str
    path: str
    query: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base: str
    org_pk: int | None = None
    members_seen: list[Any] | None = None  # the scim-loses-concurrent-member-adds flaw


Operation = Callable[[Connection, _Call, list[Deviation]], ScimResult]
# Called at the start of every writing request's transaction, before any row is written.
WriteHook = Callable[[Connection, int], None]


def unavailable(exc: DatabaseUnavailableError) -> ScimResult:
    """A database fault as a SCIM error: the environment's, not the client's or ours."""
    return ScimResult(
        503,
        errors.ScimError(503, f"the database is unavailable ({exc}); retry later").to_json(),
        {"Retry-After": str(exc.retry_after)},
    )


def _writes(call: _Call) -> bool:
    if call.method in ("PUT", "PATCH", "DELETE"):
        return True
    return call.method == "POST" and not call.path.endswith("/.search")


class ScimEndpoints:
    def __init__(
        self,
        db: Database,
        organisation_store: OrganisationStore,
        service: ScimService,
        journal: Journal,
        clock: Callable[[], Any],
        base_url: str,
    ) -> None:
        """``base_url`` is the SCIM root as configured (``<SP base URL>/scim/v2``): every URL
        the server writes (Location, meta.location, $ref) starts with it. Never the request's
        Host header: a client could forge it and have its own host written into resources."""
        self.base_url = base_url.rstrip("/")
        self.db = db
        self.organisation_store = organisation_store
        self.service = service
        self.journal = journal
        self.clock = clock
        # reference_sp.app adds the organisation lock (Accounts.lock_organisation): taken
        # before any insert, it orders every writer the same way on PostgreSQL.
        self.before_write: list[WriteHook] = []
        self.table = self._table()

    def _table(self) -> list[ScimRoute]:
        """Every SCIM endpoint, in the order their paths are tried (the first match serves)."""
        r = self._scim_route
        return [
            r("/ServiceProviderConfig", self._spc, discovery_endpoint=True),
            r("/ResourceTypes", self._resource_types, discovery_endpoint=True),
            r("/ResourceTypes/{name}", self._resource_type, discovery_endpoint=True),
            r("/Schemas", self._schemas, discovery_endpoint=True),
            r("/Schemas/{schema_id}", self._schema, discovery_endpoint=True),
            r("/Bulk", self._bulk, methods=["POST"]),
            r("/.search", self._root_search, methods=["POST"]),
            r("/Me", self._me, methods=EVERY_METHOD),
            r("/{rtype}/.search", self._type_search, methods=["POST"]),
            r("/{rtype}", self._collection, methods=["GET", "POST"]),
            r("/{rtype}/{resource_id}", self._member, methods=["GET", "PUT", "PATCH", "DELETE"]),
            r("/{rest:path}", self._no_such_endpoint, methods=EVERY_METHOD),
        ]

    def _scim_route(
        self,
        path: str,
        operation: Callable[..., ScimResult],
        methods: list[str] | None = None,
        discovery_endpoint: bool = False,
    ) -> ScimRoute:
        allowed = ["GET"] if discovery_endpoint else (methods or ["GET"])
        if discovery_endpoint and "scim-discovery-accepts-writes" in self.service.flaws:
            allowed = EVERY_METHOD
        pattern, _, _ = compile_path(path)
        body_limit = flawed.payload_limit(self.service.flaws, path)
        return ScimRoute(path, pattern, operation, tuple(allowed), body_limit)

    async def answer(
        self, route: ScimRoute, path_params: dict[str, str], scope: Scope, body: bytes
    ) -> Response:
        """The response to one request (its ``scope``, its whole ``body``) to ``route``."""
        method: str = scope["method"]
        path = _url_path(scope["path"])
        if method not in route.allowed:
            # RFC 7644 §4: discovery endpoints are read-only.
            return _scim_response(
                ScimResult(
                    405,
                    errors.ScimError(405, f"{method} is not allowed on {path}").to_json(),
                    {"Allow": ", ".join(route.allowed)},
                )
            )
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            if len(body) > route.body_limit:
                raise errors.ScimError(413, f"the body is larger than {route.body_limit} bytes")
            if refused := flawed.refused_media(self.service.flaws, headers.get("content-type", "")):
                raise refused
        except errors.ScimError as exc:
            return scim_error(exc)
        query_string: bytes = scope.get("query_string", b"")
        call = _Call(
            method=method,
            path=path,
            query=_without_unsafe(query_string.decode("latin-1")),
            params=dict(QueryParams(query_string)),
            headers=headers,
            body=body,
            base=self.base_url,
        )
        operation = route.operation

        def bound(conn: Connection, c: _Call, devs: list[Deviation]) -> ScimResult:
            _refuse_nul(c)
            return operation(conn, c, devs, **path_params)

        if method == "PATCH" and _reads_members_early(self.service.flaws, path_params):
            call.members_seen = await members_read_early(
                self.db,
                self.service.store,
                lambda conn: self._authenticate(conn, call),
                path_params["resource_id"],
            )
        # Off the event loop: a long request (a large Bulk, an expensive filter) must not
        # hold up /healthz or any other organisation's requests.
        result = await self.db.run(self.handle, call, bound)
        return _scim_response(result)

    # -- the request cycle ---------------------------------------------------------------

    def handle(self, call: _Call, operation: Operation) -> ScimResult:
        started = time.perf_counter()
        writes = _writes(call)
        for attempt in (1, 2):
            deviations: list[Deviation] = []
            taken: list[Row] = []
            try:
                try:
                    with self.db.transaction(write=writes) as conn:
                        call.org_pk = self._authenticate(conn, call)
                        if writes:
                            for hook in self.before_write:
                                hook(conn, call.org_pk)
                        result = operation(conn, call, deviations)
                        result.encoded = _encode(result.body)
                        if writes:  # its entry commits with what it wrote
                            entry = _entry(self, call, result, deviations, started)
                            taken = self.journal.write(conn, entry)
                except BaseException:
                    self.journal.give_back(taken)
                    raise
                if not writes:
                    self._hold(_entry(self, call, result, deviations, started))
                return result
            except SerializationFailureError as exc:
                if attempt == 1:  # a deadlock victim or a serialisation failure: once more
                    log.info("SCIM %s %s retried: %s", call.method, call.path, exc)
                    continue
                result = unavailable(exc)
            except DatabaseUnavailableError as exc:
                log.warning("SCIM %s %s: database unavailable: %s", call.method, call.path, exc)
                result = unavailable(exc)
            except errors.ScimError as exc:
                result = ScimResult(exc.status, flawed.error_body(self.service.flaws, exc))
                if exc.status == 401:
                    result.headers["WWW-Authenticate"] = 'Bearer realm="SCIM"'
            except Exception:  # our bug, not the peer's: say so, keep serving
                log.exception("SCIM %s %s failed", call.method, call.path)
                result = ScimResult(
                    500, errors.ScimError(500, "internal error in the reference SP").to_json()
                )
            break
        # Nothing was written: the entry is held with those of the reads.
        result.encoded = _encode(result.body)
        self._hold(_entry(self, call, result, deviations, started))
        return result

    def _hold(self, entry: Row) -> None:
        if self.journal.hold(entry):
            self.write_held()

    def write_held(self) -> None:
        """Write the journal entries held in memory, in a transaction of their own."""
        taken: list[Row] = []
        try:
            with self.db.transaction() as conn:
                taken = self.journal.write(conn)
        except DatabaseUnavailableError as exc:  # the answers stand; their entries wait
            self.journal.give_back(taken)
            log.warning("SCIM journal entries not written yet: %s", exc)

    def _authenticate(self, conn: Connection, call: _Call) -> int:
        header = call.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.ScimError(401, "a bearer token is required (Authorization: Bearer ...)")
        org_pk = self.organisation_store.by_token(conn, token.strip())
        if org_pk is None:
            raise errors.ScimError(401, "the bearer token is not valid")
        return org_pk

    # -- discovery -----------------------------------------------------------------------

    def _spc(self, conn: Connection, call: _Call, devs: list[Deviation]) -> ScimResult:
        _no_filter(self.service.flaws, call)
        return ScimResult(200, discovery.service_provider_config(call.base))

    def _resource_types(self, conn: Connection, call: _Call, devs: list[Deviation]) -> ScimResult:
        _no_filter(self.service.flaws, call)
        found = discovery.resource_types(call.base)
        return ScimResult(200, _list_response(found))

    def _resource_type(
        self, conn: Connection, call: _Call, devs: list[Deviation], name: str
    ) -> ScimResult:
        rt = resource_type_named(name)
        if rt is None:
            raise errors.not_found(f"no resource type {name!r}")
        return ScimResult(200, rt.to_json(f"{call.base}/ResourceTypes/{rt.name}"))

    def _schemas(self, conn: Connection, call: _Call, devs: list[Deviation]) -> ScimResult:
        _no_filter(self.service.flaws, call)
        return ScimResult(200, _list_response(discovery.schemas(call.base)))

    def _schema(
        self, conn: Connection, call: _Call, devs: list[Deviation], schema_id: str
    ) -> ScimResult:
        schema = schema_by_id(schema_id)
        if schema is None or schema not in SCHEMAS:
            raise errors.not_found(f"no schema {schema_id!r}")
        return ScimResult(200, schema.to_json(f"{call.base}/Schemas/{schema.id}"))

    def _no_such_endpoint(
        self, conn: Connection, call: _Call, devs: list[Deviation], rest: str
    ) -> ScimResult:
        raise errors.not_found(f"no SCIM endpoint {call.path}")

    def _me(self, conn: Connection, call: _Call, devs: list[Deviation]) -> ScimResult:
        # RFC 7644 §3.11: tokens here belong to an organisation, not to a user.
        if "scim-me-not-found" in self.service.flaws:
            raise errors.not_found(f"no SCIM endpoint {call.path}")
        raise errors.ScimError(501, "/Me is not supported: tokens identify an organisation")

    # -- resources -----------------------------------------------------------------------

    def _collection(
        self, conn: Connection, call: _Call, devs: list[Deviation], rtype: str
    ) -> ScimResult:
        rt = _resource_type(rtype)
        assert call.org_pk is not None
        if call.method == "POST":
            body = _json_body(call, devs)
            return self.service.create(
                conn, call.org_pk, rt, body, call.base, _projection(call.params), devs
            )
        return self.service.search(conn, call.org_pk, (rt,), search_params(call.params), call.base)

    def _member(
        self,
        conn: Connection,
        call: _Call,
        devs: list[Deviation],
        rtype: str,
        resource_id: str,
    ) -> ScimResult:
        rt = _resource_type(rtype)
        assert call.org_pk is not None
        org, base, projection = call.org_pk, call.base, _projection(call.params)
        if_match = call.headers.get("if-match")
        if call.method == "GET":
            return self.service.get(
                conn, org, rt, resource_id, base, projection, call.headers.get("if-none-match")
            )
        if call.method == "DELETE":
            return self.service.delete(conn, org, rt, resource_id, if_match)
        body = _json_body(call, devs)
        if call.method == "PUT":
            return self.service.replace(
                conn, org, rt, resource_id, body, base, projection, devs, if_match
            )
        return self.service.patch(
            conn, org, rt, resource_id, body, base, projection, devs, if_match, call.members_seen
        )

    def _type_search(
        self, conn: Connection, call: _Call, devs: list[Deviation], rtype: str
    ) -> ScimResult:
        return self._search(conn, call, devs, (_resource_type(rtype),))

    def _root_search(self, conn: Connection, call: _Call, devs: list[Deviation]) -> ScimResult:
        return self._search(conn, call, devs, RESOURCE_TYPES)

    def _search(
        self,
        conn: Connection,
        call: _Call,
        devs: list[Deviation],
        types: tuple[ResourceType, ...],
    ) -> ScimResult:
        body = _json_body(call, devs)
        if not isinstance(body, dict):
            raise errors.invalid_syntax("a search request is a JSON object")
        declared = body.get("schemas")
        if not isinstance(declared, list) or SEARCH_REQUEST_SCHEMA not in declared:
            raise errors.invalid_syntax(f"'schemas' must contain {SEARCH_REQUEST_SCHEMA}")
        params = {k: v for k, v in body.items() if k != "schemas"}
        if "scim-search-ignores-filter" in self.service.flaws:
            params.pop("filter", None)
        assert call.org_pk is not None
        return self.service.search(conn, call.org_pk, types, search_params(params), call.base)

    def _bulk(self, conn: Connection, call: _Call, devs: list[Deviation]) -> ScimResult:
        assert call.org_pk is not None
        return run_bulk(self.service, conn, call.org_pk, _json_body(call, devs), call.base, devs)


def _entry(
    endpoints: ScimEndpoints,
    call: _Call,
    result: ScimResult,
    deviations: list[Deviation],
    started: float,
) -> Row:
    """The journal's entry for one request and its answer."""
    return endpoints.journal.entry(
        call.org_pk,
        at=timestamp(endpoints.clock()),
        method=call.method,
        path=call.path,
        query=call.query,
        headers=call.headers,
        request_body=call.body,
        status=result.status,
        response_body=result.encoded or b"",
        deviations=deviations,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


# -- helpers -----------------------------------------------------------------------------


def _reads_members_early(flaws: frozenset[str], path_params: dict[str, str]) -> bool:
    flawed = "scim-loses-concurrent-member-adds" in flaws
    return flawed and path_params.get("rtype") == "Groups"


def _no_filter(flaws: frozenset[str], call: _Call) -> None:
    if "scim-discovery-ignores-filter" in flaws:
        return
    if "filter" in {k.lower() for k in call.params}:
        # RFC 7644 §4: filtering discovery endpoints is not supported.
        raise errors.ScimError(403, "filtering is not supported on discovery endpoints")


def _resource_type(segment: str) -> ResourceType:
    for rt in RESOURCE_TYPES:
        if rt.endpoint[1:] == segment:
            return rt
    raise errors.not_found(f"no endpoint /{segment}")


def _projection(params: dict[str, str]) -> Projection:
    lowered = {k.lower(): v for k, v in params.items()}
    return Projection(lowered.get("attributes"), lowered.get("excludedattributes"))


def _json_body(call: _Call, deviations: list[Deviation]) -> Any:
    media = call.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _JSON_TYPES:
        if media not in _TOLERATED_TYPES:
            raise errors.ScimError(415, f"the body must be application/scim+json, not {media!r}")
        deviations.append(deviation("content-type-not-scim", f"Content-Type {media or '(none)'!r}"))
    if not call.body.strip():
        raise errors.invalid_syntax("the request body is empty")
    return parse_body(call.body)


async def read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.ScimError(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.ScimError(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _url_path(path: str) -> str:
    """The request's path as Starlette's ``request.url.path`` gives it (what the journal and
    the error details have always shown), without building the URL."""
    escaped = path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    return _without_unsafe(escaped)


def _without_unsafe(text: str) -> str:
    """``urllib.parse.urlsplit`` drops tab, CR and LF from a URL (WHATWG)."""
    if "\t" in text or "\r" in text or "\n" in text:
        return text.replace("\t", "").replace("\r", "").replace("\n", "")
    return text


def _refuse_nul(call: _Call) -> None:
    """NUL is no character of any SCIM value, and PostgreSQL's text cannot hold it: a resource
    id or a query parameter holding one (percent-encoded) is refused before any query."""
    if "\x00" in call.path or any("\x00" in k or "\x00" in v for k, v in call.params.items()):
        raise errors.invalid_value("the request's path or query holds a NUL character (%00)")


def _list_response(resources: list[dict[str, Any]]) -> dict[str, Any]:
    from harness.protocol.scim.schema import LIST_RESPONSE_SCHEMA

    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _encode(body: dict[str, Any] | None) -> bytes:
    if body is None:
        return b""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def scim_error(exc: errors.ScimError) -> Response:
    """A refusal before the request reaches its endpoint (so never journaled)."""
    return _scim_response(ScimResult(exc.status, exc.to_json()))


def _scim_response(result: ScimResult) -> Response:
    if result.status in (204, 304) or result.body is None:
        return Response(status_code=result.status, headers=result.headers)
    return Response(
        result.encoded if result.encoded is not None else _encode(result.body),
        status_code=result.status,
        headers=result.headers,
        media_type=SCIM_MEDIA_TYPE,
    )
