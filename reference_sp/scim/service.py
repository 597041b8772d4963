"""SCIM operations on one organisation's resources, free of HTTP: each takes the open
transaction and returns a ``ScimResult``. The routes and Bulk both call them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection

from harness.protocol.scim import errors
from harness.protocol.scim.deviations import Deviation
from harness.protocol.scim.patch import PatchResult, apply_patch
from harness.protocol.scim.projection import project, wants_attribute
from harness.protocol.scim.resource import validate_resource
from harness.protocol.scim.schema import (
    LIST_RESPONSE_SCHEMA,
    ResourceType,
)
from reference_sp.scim.budget import time_limit
from reference_sp.scim.discovery import DEFAULT_COUNT, MAX_RESULTS
from reference_sp.scim.flawed import (
    keep_primaries,
    refuses_duplicate_add,
    refuses_foreign_id,
    replace_as_add,
)
from reference_sp.scim.query import QueryPlanner
from reference_sp.scim.store import ScimStore, StoredResource


@dataclass(frozen=True)
class ScimChange:
    """One write to an organisation's SCIM resources, seen by listeners inside the same
    transaction (so what they do commits or rolls back with it)."""

    org_pk: int
    resource_type: str  # "User" or "Group"
    resource_id: str
    kind: Literal["created", "replaced", "deleted"]
    before: StoredResource | None
    after: StoredResource | None


ChangeListener = Callable[[Connection, ScimChange], None]


@dataclass
class ScimResult:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    encoded: bytes | None = None  # the body as sent, once encoded (for the answer and journal)


@dataclass(frozen=True)
class Projection:
    attributes: str | list[str] | None = None
    excluded: str | list[str] | None = None


@dataclass(frozen=True)
class SearchParams:
    filter: str | None = None
    sort_by: str | None = None
    descending: bool = False
    start_index: int = 1
    count: int = DEFAULT_COUNT
    projection: Projection = Projection()


MAX_START_INDEX = 2**62
# A lookup takes about a millisecond and a full page of 1,000 at 100k users well under 0.1 s;
# a search still running after 2 s is the filter's fault (reference_sp.scim.budget).
DEFAULT_SEARCH_TIMEOUT = 2.0


def etag(version: int) -> str:
    return f'W/"{version}"'


def _etag_matches(header: str | None, version: int) -> bool:
    if header is None:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or etag(version) in tags or f'"{version}"' in tags


def _int_param(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise errors.invalid_value(f"{name} must be an integer")
    if isinstance(value, float) and not value.is_integer():
        raise errors.invalid_value(f"{name} must be an integer, not {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        shown = value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "..."
        raise errors.invalid_value(f"{name} must be an integer, not {shown!r}") from None


def search_params(raw: dict[str, Any]) -> SearchParams:
    """Query or .search body parameters (RFC 7644 §3.4.2, §3.4.3); names are case-insensitive
    in practice (Okta sends startIndex, some clients startindex)."""
    params = {k.lower(): v for k, v in raw.items()}
    start = _int_param(params.get("startindex"), "startIndex")
    count = _int_param(params.get("count"), "count")
    order = params.get("sortorder")
    if order is not None and str(order).lower() not in ("ascending", "descending"):
        raise errors.invalid_value("sortOrder must be 'ascending' or 'descending'")
    filter_text = params.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise errors.invalid_filter("filter must be a string")
    sort_by = params.get("sortby")
    if sort_by is not None and not isinstance(sort_by, str):
        raise errors.invalid_value("sortBy must be a string")
    return SearchParams(
        filter=filter_text or None,
        sort_by=sort_by or None,
        descending=str(order).lower() == "descending" if order else False,
        # RFC 7644 §3.4.2.4: startIndex below 1 means 1; a negative count means 0. A start
        # past every result is an empty page however far past, so it is clamped to what
        # both databases' OFFSET takes (a 64-bit integer) with room for any page size.
        start_index=min(max(1, start), MAX_START_INDEX) if start is not None else 1,
        count=min(max(0, count), MAX_RESULTS) if count is not None else DEFAULT_COUNT,
        projection=Projection(params.get("attributes"), params.get("excludedattributes")),
    )


class ScimService:
    def __init__(
        self,
        store: ScimStore,
        dialect: str,
        flaws: frozenset[str] = frozenset(),
        search_timeout: float | None = DEFAULT_SEARCH_TIMEOUT,
    ) -> None:
        self.store = store
        self.flaws = flaws
        self.search_timeout = search_timeout  # seconds; see reference_sp.scim.budget
        case_flaw = "scim-username-case-sensitive" in flaws
        self.planner = QueryPlanner(dialect, user_name_kind="exact" if case_flaw else "ci")
        # Called after every write, in its transaction: the business rules (sessions,
        # licenses, activations) follow provisioning through these.
        self.listeners: list[ChangeListener] = []

    def _changed(
        self,
        conn: Connection,
        org_pk: int,
        rt: ResourceType,
        kind: Literal["created", "replaced", "deleted"],
        before: StoredResource | None,
        after: StoredResource | None,
    ) -> None:
        subject = after if after is not None else before
        resource_id = subject.id if subject is not None else ""
        change = ScimChange(org_pk, rt.name, resource_id, kind, before, after)
        for listener in self.listeners:
            listener(conn, change)

    # -- rendering -----------------------------------------------------------------------

    @staticmethod
    def render(stored: StoredResource, rt: ResourceType, base: str) -> dict[str, Any]:
        doc = stored.doc
        out: dict[str, Any] = {"schemas": doc.get("schemas", [rt.schema.id]), "id": stored.id}
        out.update((k, v) for k, v in doc.items() if k != "schemas")
        if stored.members is not None and stored.members:
            out["members"] = [
                {
                    "value": m.id,
                    "$ref": f"{base}/{m.type}s/{m.id}",
                    "type": m.type,
                    **({"display": m.display} if m.display is not None else {}),
                }
                for m in stored.members
            ]
        if stored.groups:
            out["groups"] = [
                {
                    "value": g.id,
                    "$ref": f"{base}/Groups/{g.id}",
                    "type": "direct",
                    **({"display": g.display} if g.display is not None else {}),
                }
                for g in stored.groups
            ]
        out["meta"] = {
            "resourceType": rt.name,
            "created": stored.created,
            "lastModified": stored.last_modified,
            "location": f"{base}{rt.endpoint}/{stored.id}",
            "version": etag(stored.version),
        }
        return out

    def _single(
        self,
        stored: StoredResource,
        rt: ResourceType,
        base: str,
        projection: Projection,
        status: int,
    ) -> ScimResult:
        body = project(
            self.render(stored, rt, base), rt, projection.attributes, projection.excluded
        )
        if "scim-attributes-drop-id" in self.flaws and projection.attributes:
            body.pop("id", None)
        headers = {"ETag": etag(stored.version)}
        if status == 201:
            headers["Location"] = f"{base}{rt.endpoint}/{stored.id}"
        return ScimResult(status, body, headers)

    # -- operations ----------------------------------------------------------------------

    def create(
        self,
        conn: Connection,
        org_pk: int,
        rt: ResourceType,
        body: Any,
        base: str,
        projection: Projection,
        deviations: list[Deviation],
    ) -> ScimResult:
        doc = validate_resource(rt, body, deviations)
        stored = self.store.create(conn, org_pk, rt, doc)
        self._changed(conn, org_pk, rt, "created", None, stored)
        return self._single(stored, rt, base, projection, 201)

    def get(
        self,
        conn: Connection,
        org_pk: int,
        rt: ResourceType,
        resource_id: str,
        base: str,
        projection: Projection,
        if_none_match: str | None = None,
    ) -> ScimResult:
        relations = rt.name != "Group" or wants_attribute(
            rt, "members", projection.attributes, projection.excluded
        )
        stored = self.store.get(conn, org_pk, rt, resource_id, relations=relations)
        if _etag_matches(if_none_match, stored.version):
            return ScimResult(304, None, {"ETag": etag(stored.version)})
        return self._single(stored, rt, base, projection, 200)

    def replace(
        self,
        conn: Connection,
        org_pk: int,
        rt: ResourceType,
        resource_id: str,
        body: Any,
        base: str,
        projection: Projection,
        deviations: list[Deviation],
        if_match: str | None = None,
    ) -> ScimResult:
        current = self.store.get(conn, org_pk, rt, resource_id, for_update=True)
        self._check_if_match(if_match, current)
        refuses_foreign_id(self.flaws, body, resource_id)
        doc = validate_resource(rt, body, deviations, existing=current.doc)
        if "scim-ignore-deactivation" in self.flaws:
            doc = _keep_active(doc, current)
        if rt.name == "Group" and "members" not in doc:
            doc["members"] = []  # PUT replaces: members not sent are no longer members
        updated = self.store.replace(conn, org_pk, rt, current, doc)
        if updated is not current:
            self._changed(conn, org_pk, rt, "replaced", current, updated)
        return self._single(updated, rt, base, projection, 200)

    def patch(
        self,
        conn: Connection,
        org_pk: int,
        rt: ResourceType,
        resource_id: str,
        body: Any,
        base: str,
        projection: Projection,
        deviations: list[Deviation],
        if_match: str | None = None,
        members_seen: list[Any] | None = None,
    ) -> ScimResult:
        current = self.store.get(conn, org_pk, rt, resource_id, for_update=True)
        self._check_if_match(if_match, current)
        doc = current.patchable()
        if members_seen is not None:  # the scim-loses-concurrent-member-adds flaw
            doc["members"] = members_seen
        failure: errors.ScimError | None = None
        if "scim-replace-unmatched-filter-adds" in self.flaws:
            body = replace_as_add(body)
        refuses_duplicate_add(self.flaws, doc, body)
        try:
            result = apply_patch(doc, body, rt)
            keep_primaries(self.flaws, doc, result.resource)
        except errors.ScimError as exc:
            if "scim-patch-not-atomic" not in self.flaws:
                raise
            result, failure = _operations_before_failure(doc, body, rt, exc), exc
        deviations.extend(result.deviations)
        updated = current
        if result.changed:
            doc = _stored_form(result.resource, rt)
            if "scim-ignore-deactivation" in self.flaws:
                doc = _keep_active(doc, current)
            updated = self.store.replace(conn, org_pk, rt, current, doc)
        if updated is not current:
            self._changed(conn, org_pk, rt, "replaced", current, updated)
        if failure is not None:  # the scim-patch-not-atomic flaw: kept, and refused
            return ScimResult(failure.status, failure.to_json())
        return self._single(updated, rt, base, projection, 200)

    def delete(
        self,
        conn: Connection,
        org_pk: int,
        rt: ResourceType,
        resource_id: str,
        if_match: str | None = None,
    ) -> ScimResult:
        current = self.store.get(conn, org_pk, rt, resource_id, for_update=True)
        self._check_if_match(if_match, current)
        self.store.delete(conn, org_pk, rt, resource_id)
        self._changed(conn, org_pk, rt, "deleted", current, None)
        return ScimResult(204)

    def search(
        self,
        conn: Connection,
        org_pk: int,
        types: tuple[ResourceType, ...],
        params: SearchParams,
        base: str,
    ) -> ScimResult:
        """List or search one resource type, or several (a search at the root)."""
        resources: list[dict[str, Any]] = []
        total = 0
        start, remaining = params.start_index, params.count
        if "scim-ignores-start-index" in self.flaws:
            start = 1
        failures: list[errors.ScimError] = []
        for rt in types:
            try:
                plan, parameters = self.planner.plan(
                    rt, params.filter, params.sort_by, params.descending
                )
            except errors.ScimError as exc:
                if len(types) == 1:
                    raise
                failures.append(exc)  # at the root, a filter naming no attribute of a type
                continue  # matches none of its resources
            relations = rt.name != "Group" or wants_attribute(
                rt, "members", params.projection.attributes, params.projection.excluded
            )
            with time_limit(conn, self.search_timeout):
                type_total, found = self.store.search(
                    conn, org_pk, rt, plan, parameters, start, remaining, relations=relations
                )
            total += type_total
            resources.extend(
                project(
                    self.render(s, rt, base),
                    rt,
                    params.projection.attributes,
                    params.projection.excluded,
                )
                for s in found
            )
            remaining -= len(found)
            start = max(1, start - type_total)
        if failures and len(failures) == len(types):
            raise failures[0]
        return ScimResult(
            200,
            {
                "schemas": [LIST_RESPONSE_SCHEMA],
                "totalResults": total,
                "startIndex": params.start_index,
                "itemsPerPage": len(resources),
                "Resources": resources,
            },
        )

    @staticmethod
    def _check_if_match(if_match: str | None, current: StoredResource) -> None:
        if if_match is not None and not _etag_matches(if_match, current.version):
            raise errors.ScimError(
                412,
                f"If-Match {if_match} does not match the current version {etag(current.version)}",
            )


def _operations_before_failure(
    doc: dict[str, Any], body: Any, rt: ResourceType, failure: errors.ScimError
) -> PatchResult:
    """The scim-patch-not-atomic flaw: the longest run of leading operations that applies."""
    operations = body.get("Operations") if isinstance(body, dict) else None
    if not isinstance(operations, list):
        raise failure
    for kept in range(len(operations) - 1, 0, -1):
        try:
            return apply_patch(doc, {**body, "Operations": operations[:kept]}, rt)
        except errors.ScimError:
            continue
    raise failure


def _keep_active(doc: dict[str, Any], current: StoredResource) -> dict[str, Any]:
    """The scim-ignore-deactivation flaw: a deactivation is acknowledged and not applied."""
    if doc.get("active") is False and current.doc.get("active") is not False:
        doc = {**doc, "active": current.doc.get("active", True)}
    return doc


def _stored_form(doc: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    """A patched document back into stored form: derived and write-only attributes dropped,
    ``schemas`` listing exactly the extensions in use."""
    out = {
        k: v
        for k, v in doc.items()
        if k not in ("id", "meta", "groups", "password", "schemas") and v not in (None, [], {})
    }
    out["schemas"] = [rt.schema.id] + [ext.id for ext, _ in rt.extensions if out.get(ext.id)]
    for ext, _ in rt.extensions:
        if ext.id in out and not out[ext.id]:
            del out[ext.id]
    return out
