"""Bulk (RFC 7644 §3.7): many operations in one request, ``bulkId`` references between them.

Each operation runs in its own savepoint, so a failing one changes nothing while the others
stand (§3.7: operations are not atomic together). Operations run in dependency order: one that
references a ``bulkId`` runs after the POST creating it; a reference nothing creates, or whose
creator failed, fails with 409, and so do operations caught in a circular reference (§3.7.1
allows a 409 instead of resolving cycles). Resolving the order is linear in the request.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from harness.protocol.scim import errors
from harness.protocol.scim.deviations import Deviation
from harness.protocol.scim.schema import BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, RESOURCE_TYPES
from reference_sp.scim.discovery import MAX_BULK_OPERATIONS
from reference_sp.scim.service import Projection, ScimResult, ScimService

_BULK_REF = re.compile(r"bulkId:([A-Za-z0-9._~-]+)")


def _references(value: Any) -> set[str]:
    return set(_BULK_REF.findall(json.dumps(value)))


def _substitute(value: Any, created: dict[str, str]) -> Any:
    text = _BULK_REF.sub(lambda m: created.get(m.group(1), m.group(0)), json.dumps(value))
    return json.loads(text)


def run_bulk(
    service: ScimService,
    conn: Connection,
    org_pk: int,
    body: Any,
    base: str,
    deviations: list[Deviation],
) -> ScimResult:
    if not isinstance(body, dict):
        raise errors.invalid_syntax("a bulk request is a JSON object")
    declared = body.get("schemas")
    if not isinstance(declared, list) or BULK_REQUEST_SCHEMA not in declared:
        raise errors.invalid_syntax(f"'schemas' must contain {BULK_REQUEST_SCHEMA}")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise errors.invalid_syntax("Operations must be a non-empty list")
    if len(operations) > MAX_BULK_OPERATIONS:
        raise errors.ScimError(
            413, f"{len(operations)} operations exceed maxOperations {MAX_BULK_OPERATIONS}"
        )
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (
        isinstance(fail_on_errors, bool) or not isinstance(fail_on_errors, int)
    ):
        raise errors.invalid_value("failOnErrors must be an integer")
    if "scim-bulk-ignores-fail-on-errors" in service.flaws:
        fail_on_errors = None

    created: dict[str, str] = {}  # bulkId -> id
    results: dict[int, dict[str, Any]] = {}
    error_count = 0
    for index in _execution_order(operations):
        if index < 0:  # the operations left are on or behind a cycle: none can ever run
            for waiting in range(len(operations)):
                if waiting not in results:
                    results[waiting] = _failure(
                        operations[waiting], errors.ScimError(409, "circular bulkId references")
                    )
            break
        operation = operations[index]
        results[index] = _run_one(service, conn, org_pk, operation, base, created, deviations)
        if int(results[index]["status"]) >= 400:
            error_count += 1
            if fail_on_errors and error_count >= fail_on_errors:
                break
    return ScimResult(
        200,
        {
            "schemas": [BULK_RESPONSE_SCHEMA],
            "Operations": [results[i] for i in sorted(results)],
        },
    )


def _execution_order(operations: list[Any]) -> Iterator[int]:
    """The operations' indexes in an order where each comes after the POSTs creating the
    bulkIds it references (Kahn's algorithm, the lowest ready index first, so independent
    operations keep the request's order); then -1 if a cycle leaves some unreachable.

    Linear in the size of the request (plus a log factor for the heap): each operation is
    serialised once to find its references, each reference is one edge. A reference no
    operation creates adds no edge: the operation runs and fails with 409 (§3.7.1).
    """
    creators: dict[str, int] = {}
    for index, operation in enumerate(operations):
        if isinstance(operation, dict) and str(operation.get("method", "")).upper() == "POST":
            bulk_id = operation.get("bulkId")
            if isinstance(bulk_id, str):
                creators.setdefault(bulk_id, index)
    dependents: list[list[int]] = [[] for _ in operations]
    blocking = [0] * len(operations)  # creators each operation still waits for
    for index, operation in enumerate(operations):
        for reference in _references(operation):
            creator = creators.get(reference)
            if creator is not None:
                dependents[creator].append(index)
                blocking[index] += 1
    ready = [index for index, count in enumerate(blocking) if count == 0]
    heapq.heapify(ready)
    emitted = 0
    while ready:
        index = heapq.heappop(ready)
        emitted += 1
        yield index
        for dependent in dependents[index]:
            blocking[dependent] -= 1
            if blocking[dependent] == 0:
                heapq.heappush(ready, dependent)
    if emitted < len(operations):
        yield -1


def _failure(operation: Any, exc: errors.ScimError) -> dict[str, Any]:
    out: dict[str, Any] = {"status": str(exc.status), "response": exc.to_json()}
    if isinstance(operation, dict):
        for key in ("method", "bulkId"):
            if key in operation:
                out[key] = operation[key]
    return out


def _run_one(
    service: ScimService,
    conn: Connection,
    org_pk: int,
    operation: Any,
    base: str,
    created: dict[str, str],
    deviations: list[Deviation],
) -> dict[str, Any]:
    try:
        method, rt, resource_id, data = _read_operation(operation, created)
        version = operation.get("version")
        with conn.begin_nested():
            if method == "POST":
                result = service.create(conn, org_pk, rt, data, base, Projection(), deviations)
            elif method in ("PUT", "PATCH"):
                change = service.replace if method == "PUT" else service.patch
                result = change(
                    conn,
                    org_pk,
                    rt,
                    str(resource_id),
                    data,
                    base,
                    Projection(),
                    deviations,
                    version,
                )
            else:
                result = service.delete(conn, org_pk, rt, str(resource_id), version)
    except errors.ScimError as exc:
        return _failure(operation, exc)
    out: dict[str, Any] = {"method": method, "status": str(result.status)}
    if "bulkId" in operation:
        out["bulkId"] = operation["bulkId"]
    if result.body is not None:
        out["location"] = result.body["meta"]["location"]
        out["version"] = result.body["meta"]["version"]
        if method == "POST":
            created[operation["bulkId"]] = result.body["id"]
    elif resource_id is not None:
        out["location"] = f"{base}{rt.endpoint}/{resource_id}"
    return out


def _read_operation(operation: Any, created: dict[str, str]) -> tuple[str, Any, str | None, Any]:
    """(method, resource type, resource id, data) of one operation, bulkIds resolved; a
    ScimError for an operation that cannot run (RFC 7644 §3.7)."""
    if not isinstance(operation, dict):
        raise errors.invalid_syntax("each operation is a JSON object")
    method = str(operation.get("method", "")).upper()
    path = operation.get("path")
    if method not in ("POST", "PUT", "PATCH", "DELETE") or not isinstance(path, str):
        raise errors.invalid_syntax("an operation needs a method and a path")
    waiting = [r for r in _references(operation) if r not in created]
    if waiting:
        raise errors.ScimError(409, f"bulkId {sorted(waiting)[0]} was never created")
    rt, resource_id = _target(_substitute(path, created))
    if method == "POST":
        if resource_id is not None:
            raise errors.invalid_path("POST goes to a resource type endpoint")
        bulk_id = operation.get("bulkId")
        if not isinstance(bulk_id, str) or not bulk_id:
            raise errors.invalid_syntax("POST operations need a bulkId")
    elif resource_id is None:
        raise errors.invalid_path(f"{method} needs a resource path such as /Users/ID")
    return method, rt, resource_id, _substitute(operation.get("data"), created)


def _target(path: str) -> tuple[Any, str | None]:
    parts = [p for p in path.split("/") if p]
    if not parts or len(parts) > 2:
        raise errors.invalid_path(f"{path!r} is not a resource path")
    for rt in RESOURCE_TYPES:
        if rt.endpoint[1:] == parts[0]:
            return rt, parts[1] if len(parts) == 2 else None
    raise errors.invalid_path(f"{path!r} names no resource type")
