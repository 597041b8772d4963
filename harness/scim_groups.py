"""The read side of the scim_conformance suite: discovery, CRUD, filters, case rules,
pagination, sorting and projection. Each group makes its fixture, then yields each check with
what it saw (:data:`harness.scim_conformance.Outcome`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from harness.checks.scim_conformance import FILTERS, GROUPS
from harness.checks.scim_seen import Exchange, ScimSeen
from harness.scim_conformance import (
    ENTERPRISE,
    GROUP_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    Conformance,
    FixtureFailed,
    Outcome,
    discover,
)

OK = (200,)
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
DISCOVERY_ENDPOINTS = ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas")


def checks_of(group: str) -> dict[str, Any]:
    return {c.id.rsplit(".", 1)[-1]: c for c in GROUPS[group]}


def discovery(c: Conformance) -> Iterator[Outcome]:
    seen = discover(c)
    check = checks_of("discovery")
    yield check["service-provider-config"], ScimSeen((seen["spc"],), {"statuses": [OK]})
    types = {"User": "/Users", "Group": "/Groups"}
    yield check["resource-types"], ScimSeen((seen["types"],), {"statuses": [OK], "types": types})
    urns = [USER_SCHEMA, GROUP_SCHEMA] + ([ENTERPRISE] if c.enterprise else [])
    yield check["schemas"], ScimSeen((seen["schemas"],), {"statuses": [OK], "schemas": urns})
    # Harmless where a server takes them: POST and PUT send back what the endpoint answered,
    # PATCH changes nothing, and no DELETE is sent.
    read = dict(
        zip(DISCOVERY_ENDPOINTS, (seen["spc"], seen["types"], seen["schemas"]), strict=True)
    )
    unchanged = {"schemas": [PATCH_OP], "Operations": []}
    writes = tuple(
        c.http.call(method, path, unchanged if method == "PATCH" else read[path].body)
        for path in DISCOVERY_ENDPOINTS
        for method in ("POST", "PUT", "PATCH")
    )
    yield check["read-only"], ScimSeen(writes, {"statuses": [(405,)] * len(writes)})
    filtered = c.http.call(
        "GET", "/ServiceProviderConfig", params={"filter": 'patch.supported eq "true"'}
    )
    yield check["filter-forbidden"], ScimSeen((filtered,), {"statuses": [(403,)]})


def crud(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("crud")
    name = c.name("crud", "dana")
    body = {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": "Dana", "familyName": "Tester"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "password": "Correct-Horse-7",
        "active": True,
    }
    made = c.create("/Users", body)
    yield (
        check["create-user"],
        ScimSeen((made,), {"statuses": [(201,)], "fields": {"userName": name}}),
    )
    user = made.body.get("id") if made.status == 201 and isinstance(made.body, dict) else None
    if not user:
        raise FixtureFailed(f"creating the user answered {made.status}")
    read = c.http.call("GET", f"/Users/{user}")
    yield (
        check["read-user"],
        ScimSeen((read,), {"statuses": [OK], "fields": {"id": user, "userName": name}}),
    )
    again = c.create("/Users", body)
    yield check["duplicate-user"], ScimSeen((again,), {"statuses": [(409,)]})
    yield (
        check["password-never-returned"],
        ScimSeen((made, read), {"statuses": [(201,), OK], "absent": ["password"]}),
    )
    put = c.http.call(
        "PUT",
        f"/Users/{user}",
        {"schemas": [USER_SCHEMA], "userName": name, "displayName": "Replaced", "active": True},
    )
    after = c.http.call("GET", f"/Users/{user}")
    yield (
        check["replace-user"],
        ScimSeen((put, after), {"statuses": [OK, OK], "fields": {"displayName": "Replaced"}}),
    )
    yield from _replace_keeps_read_only(c, user, name, made.body)
    as_json = c.create(
        "/Users",
        {"schemas": [USER_SCHEMA], "userName": c.name("crud", "jay")},
        headers={"Content-Type": "application/json"},
    )
    yield check["create-as-json"], ScimSeen((as_json,), {"statuses": [(201,)]})
    body = {
        "schemas": [GROUP_SCHEMA],
        "displayName": f"{c.prefix}crud-team",
        "members": [{"value": user}],
    }
    group = c.create("/Groups", body)
    yield check["create-group"], ScimSeen((group,), {"statuses": [(201,)]})
    group_id = (
        group.body.get("id") if group.status == 201 and isinstance(group.body, dict) else None
    )
    if not group_id:
        raise FixtureFailed(f"creating the group answered {group.status}")
    members = c.http.call("GET", f"/Groups/{group_id}")
    yield check["read-group"], ScimSeen((members,), {"statuses": [OK], "members": [user]})
    gone = c.http.call("DELETE", f"/Users/{user}")
    yield (
        check["delete-user"],
        ScimSeen((gone, c.http.call("GET", f"/Users/{user}")), {"statuses": [(204,), (404,)]}),
    )
    gone = c.http.call("DELETE", f"/Groups/{group_id}")
    yield (
        check["delete-group"],
        ScimSeen((gone, c.http.call("GET", f"/Groups/{group_id}")), {"statuses": [(204,), (404,)]}),
    )


def _replace_keeps_read_only(
    c: Conformance, user: str, name: str, made: dict[str, Any]
) -> Iterator[Outcome]:
    """A PUT whose body carries another id and meta (readOnly: ignored, RFC 7644 §3.5.1)."""
    meta = made.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    foreign = {"resourceType": "Group", "created": "2001-01-01T00:00:00Z"}
    body = {
        "schemas": [USER_SCHEMA],
        "id": str(uuid.uuid4()),
        "meta": foreign,
        "userName": name,
        "displayName": "Read-only ignored",
    }
    put = c.http.call("PUT", f"/Users/{user}", body)
    after = c.http.call("GET", f"/Users/{user}")
    fields = {"id": user, "meta.resourceType": "User", "meta.created": meta.get("created")}
    want = {"statuses": [OK, OK], "fields": {**fields, "displayName": "Read-only ignored"}}
    yield checks_of("crud")["replace-ignores-read-only"], ScimSeen((put, after), want)


def three_users(c: Conformance, group: str) -> dict[str, str]:
    """The filter fixture: ref -> id of alpha (a title), beta, and gamma (inactive)."""
    found = {}
    for ref, extra in (("alpha", {"title": "Boss"}), ("beta", {}), ("gamma", {"active": False})):
        name = c.name(group, ref)
        emails = [{"value": name, "type": "work", "primary": True}]
        attributes = {"active": True, "displayName": ref.capitalize(), "emails": emails, **extra}
        found[ref] = c.user(group, ref, **attributes)
    return found


def _listing(
    c: Conformance, users: dict[str, str], refs: tuple[str, ...], **params: str
) -> ScimSeen:
    listed = c.http.call("GET", "/Users", params=params)
    return _listed(listed, users, refs, params.get("filter", ""))


def _listed(listed: Exchange, users: dict[str, str], refs: tuple[str, ...], text: str) -> ScimSeen:
    want = {
        "statuses": [OK],
        "ours": list(users.values()),
        "ids": [users[r] for r in refs],
        "names": {v: k for k, v in users.items()},
        "filter": text,
    }
    return ScimSeen((listed,), want)


def filters(c: Conformance) -> Iterator[Outcome]:
    users = three_users(c, "filters")
    prefix = f"{c.prefix}filters"
    for check in GROUPS["filters"]:
        text, refs = FILTERS[check.id.rsplit(".", 1)[-1]]
        expression = text.format(p=prefix, d=c.domain)
        yield check, _listing(c, users, refs, filter=expression)


def search(c: Conformance) -> Iterator[Outcome]:
    """POST .../.search (RFC 7644 §3.4.3) on /Users and at the root: a filter for beta."""
    check = checks_of("search")
    users = three_users(c, "search")
    wanted = f'userName eq "{c.name("search", "beta")}"'
    body = {"schemas": [SEARCH_REQUEST], "filter": wanted}
    for suffix, path in (("type", "/Users/.search"), ("root", "/.search")):
        yield check[suffix], _listed(c.http.call("POST", path, body), users, ("beta",), wanted)


def case(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("case")
    users = three_users(c, "case")
    shouted = c.name("case", "beta").upper()
    yield check["username-filter"], _listing(c, users, ("beta",), filter=f'userName eq "{shouted}"')
    twin = c.create(
        "/Users", {"schemas": [USER_SCHEMA], "userName": c.name("case", "alpha").upper()}
    )
    yield check["username-unique"], ScimSeen((twin,), {"statuses": [(409,)]})


def _walk(c: Conformance, scope: str, count: int, total: int) -> tuple[list[Any], list[int]]:
    pages, starts = [], list(range(1, total + 1, count))
    for start in starts:
        pages.append(
            c.http.call(
                "GET",
                "/Users",
                params={"filter": scope, "startIndex": str(start), "count": str(count)},
            )
        )
    return pages, starts


def pagination(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("pagination")
    users = three_users(c, "pagination")
    scope = f'userName sw "{c.prefix}pagination"'
    names = {v: k for k, v in users.items()}
    for suffix, count in (("count", 1), ("count-zero", 0)):
        page = c.http.call("GET", "/Users", params={"filter": scope, "count": str(count)})
        yield check[suffix], ScimSeen((page,), {"statuses": [OK], "count": count, "total": 3})
    first, starts = _walk(c, scope, 1, 3)
    want = {"statuses": [OK] * 3, "ids": list(users.values()), "names": names, "starts": starts}
    yield check["start-index"], ScimSeen(tuple(first), want)
    zero = c.http.call("GET", "/Users", params={"filter": scope, "startIndex": "0", "count": "10"})
    yield (
        check["start-below-one"],
        ScimSeen((zero,), {"statuses": [OK], "fields": {"startIndex": 1, "totalResults": 3}}),
    )
    second, _ = _walk(c, scope, 1, 3)
    yield check["stable"], ScimSeen((*first, *second), {"statuses": [OK] * 6, "names": names})


def sorting(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("sorting")
    users = three_users(c, "sorting")
    scope = f'userName sw "{c.prefix}sorting"'
    ordered = ("alpha", "beta", "gamma")
    yield check["ascending"], _listing(c, users, ordered, filter=scope, sortBy="userName")
    backwards = ordered[::-1]
    yield (
        check["descending"],
        _listing(c, users, backwards, filter=scope, sortBy="userName", sortOrder="descending"),
    )


def projection(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("projection")
    user = three_users(c, "projection")["alpha"]
    name = c.name("projection", "alpha")
    only = c.http.call("GET", f"/Users/{user}", params={"attributes": "userName"})
    want = {
        "statuses": [OK],
        "fields": {"id": user, "userName": name},
        "absent": ["title", "emails", "displayName"],
    }
    yield check["attributes"], ScimSeen((only,), want)
    without = c.http.call("GET", f"/Users/{user}", params={"excludedAttributes": "emails"})
    want = {
        "statuses": [OK],
        "fields": {"id": user, "userName": name, "title": "Boss"},
        "absent": ["emails"],
    }
    yield check["excluded-attributes"], ScimSeen((without,), want)
