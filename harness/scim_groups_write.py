"""The write side of the scim_conformance suite: PATCH semantics, ETags, Bulk, errors,
authentication and robustness (huge values, concurrent membership changes, large groups and
lists)."""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Iterator
from typing import Any

from harness.checks.scim_seen import Exchange, ScimSeen
from harness.scim_conformance import ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, Conformance, Outcome
from harness.scim_groups import OK, checks_of

DONE = (200, 204)  # a PATCH answers the resource or nothing (RFC 7644 §3.5.2)
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
MEMBERS = 60  # users of the large group and list
CONCURRENT = 8  # member adds sent at once
MAX_PAYLOAD_PROBED = 16 * 1_048_576  # the largest bulk.maxPayloadSize the suite exceeds


def _user_attributes(c: Conformance, group: str, ref: str) -> dict[str, Any]:
    name = c.name(group, ref)
    return {
        "displayName": "Before",
        "title": "Engineer",
        "emails": [{"value": name, "type": "work", "primary": True}],
    }


def _after(c: Conformance, path: str, patched: Exchange, fields: dict[Any, Any]) -> ScimSeen:
    read = c.http.call("GET", path)
    return ScimSeen((patched, read), {"statuses": [DONE, OK], "fields": fields})


def _members(c: Conformance, path: str, patched: Exchange, members: list[str]) -> ScimSeen:
    read = c.http.call("GET", path)
    return ScimSeen((patched, read), {"statuses": [DONE, OK], "members": members})


def _member_ids(read: Exchange) -> list[str]:
    found = read.body.get("members") if isinstance(read.body, dict) else None
    return [str(m.get("value")) for m in found or [] if isinstance(m, dict)]


def _second_primary(c: Conformance, user: str) -> ScimSeen:
    """Add a home email marked primary to a user whose work email is primary: refusing it is
    as good as clearing the other primary (RFC 7643 §2.4)."""
    home = {"value": c.name("patch", "home"), "type": "home", "primary": True}
    added = c.patch(user, {"op": "add", "path": "emails", "value": [home]})
    read = c.http.call("GET", user)
    return ScimSeen((added, read), {"statuses": [(*DONE, 400), OK], "attribute": "emails"})


def patch(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("patch")
    user = f"/Users/{c.user('patch', 'pat', **_user_attributes(c, 'patch', 'pat'))}"
    done = c.patch(user, {"op": "replace", "path": "displayName", "value": "After"})
    yield check["replace-attribute"], _after(c, user, done, {"displayName": "After"})
    new_email = c.name("patch", "pat-new")
    done = c.patch(
        user, {"op": "replace", "path": 'emails[type eq "work"].value', "value": new_email}
    )
    yield check["value-filter-path"], _after(c, user, done, {"emails.0.value": new_email})
    if c.enterprise:
        path = f"{ENTERPRISE}:employeeNumber"
        done = c.patch(user, {"op": "add", "path": path, "value": "E-42"})
        yield (
            check["extension-attribute"],
            _after(c, user, done, {(ENTERPRISE, "employeeNumber"): "E-42"}),
        )
    else:
        yield check["extension-attribute"], "the User resource type lists no enterprise extension"
    done = c.patch(user, {"op": "replace", "value": {"displayName": "Pathless", "title": "Lead"}})
    yield check["path-less"], _after(c, user, done, {"displayName": "Pathless", "title": "Lead"})
    first, second, third = (c.user("patch", ref) for ref in ("m1", "m2", "m3"))
    group = f"/Groups/{c.group('patch', 'team', [first, second])}"
    done = c.patch(group, {"op": "add", "path": "members", "value": [{"value": third}]})
    seen = _members(c, group, done, [first, second, third])
    yield check["add-members"], seen
    done = c.patch(group, {"op": "add", "path": "members", "value": [{"value": first}]})
    yield check["duplicate-add"], _members(c, group, done, [first, second, third])
    left = [m for m in _member_ids(seen.last) if m != first]
    done = c.patch(group, {"op": "remove", "path": f'members[value eq "{first}"]'})
    yield check["remove-member-filter"], _members(c, group, done, left)
    yield check["one-primary"], _second_primary(c, user)
    refused = c.patch(user, {"op": "remove"})
    yield (
        check["remove-without-path"],
        ScimSeen((refused,), {"statuses": [(400,)], "scim_type": "noTarget"}),
    )
    before = c.http.call("GET", user).body
    shown = before.get("displayName") if isinstance(before, dict) else None
    half = c.patch(
        user, {"op": "replace", "path": "displayName", "value": "Partial"}, {"op": "remove"}
    )
    read = c.http.call("GET", user)
    yield (
        check["atomic"],
        ScimSeen((half, read), {"statuses": [(400,), OK], "fields": {"displayName": shown}}),
    )


def etags(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("etags")
    user = f"/Users/{c.user('etags', 'eve')}"
    read = c.http.call("GET", user)
    yield check["version"], ScimSeen((read,), {"statuses": [OK]})
    tag = read.header("ETag")
    if not tag:
        reason = "the server answered no ETag header to compare"
        yield check["if-none-match"], reason
        yield check["if-match-stale"], reason
        return
    same = c.http.call("GET", user, headers={"If-None-Match": tag})
    yield check["if-none-match"], ScimSeen((same,), {"statuses": [(304,)]})
    stale = f'W/"{c.prefix}stale"'
    late = c.patch(
        user, {"op": "replace", "path": "displayName", "value": "Late"}, headers={"If-Match": stale}
    )
    yield check["if-match-stale"], ScimSeen((late,), {"statuses": [(412,)]})


def _created_id(operation: Any) -> str | None:
    location = operation.get("location") if isinstance(operation, dict) else None
    return str(location).rstrip("/").rsplit("/", 1)[-1] if location else None


def bulk(c: Conformance) -> Iterator[Outcome]:
    user = {"schemas": [USER_SCHEMA], "userName": c.name("bulk", "bo")}
    group = {
        "schemas": [GROUP_SCHEMA],
        "displayName": f"{c.prefix}bulk-team",
        "members": [{"value": "bulkId:bo"}],
    }
    body = {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "bo", "data": user},
            {"method": "POST", "path": "/Groups", "bulkId": "team", "data": group},
        ],
    }
    sent = c.http.call("POST", "/Bulk", body)
    answered = sent.body.get("Operations") if isinstance(sent.body, dict) else None
    ids = [_created_id(o) for o in answered or []] + [None, None]
    c.made += [f"/Groups/{ids[1]}"] if ids[1] else []
    c.made += [f"/Users/{ids[0]}"] if ids[0] else []
    read = c.http.call("GET", f"/Groups/{ids[1]}") if ids[1] else sent
    want = {"statuses": [OK, OK], "members": [ids[0] or "the user created by the Bulk request"]}
    yield checks_of("bulk")["bulk-id"], ScimSeen((sent, read), want)
    yield from _bulk_limits(c)


def _bulk_limits(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("bulk")
    nameless = {"schemas": [USER_SCHEMA], "displayName": "No Name"}
    user = {"schemas": [USER_SCHEMA], "userName": c.name("bulk", "after")}
    body = {
        "schemas": [BULK_REQUEST],
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": nameless},
            {"method": "POST", "path": "/Users", "bulkId": "after", "data": user},
        ],
    }
    sent = c.http.call("POST", "/Bulk", body)
    answered = sent.body.get("Operations") if isinstance(sent.body, dict) else None
    c.made += [f"/Users/{i}" for i in map(_created_id, answered or []) if i]
    yield check["fail-on-errors"], ScimSeen((sent,), {"statuses": [OK]})
    limit = c.config.get("bulk", {}).get("maxPayloadSize")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        yield check["max-payload"], f"the server announces no bulk.maxPayloadSize ({limit!r})"
        return
    if limit > MAX_PAYLOAD_PROBED:
        yield check["max-payload"], f"bulk.maxPayloadSize {limit} is over {MAX_PAYLOAD_PROBED}"
        return
    large = {**user, "displayName": "x" * (limit + 1)}
    padding = {"method": "POST", "path": "/Users", "bulkId": "big", "data": large}
    big = c.http.call("POST", "/Bulk", {**body, "Operations": [padding]})
    answered = big.body.get("Operations") if isinstance(big.body, dict) else None
    c.made += [f"/Users/{i}" for i in map(_created_id, answered or []) if i]
    yield check["max-payload"], ScimSeen((big,), {"statuses": [(413,)]})


def errors(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("errors")
    unknown = c.http.call("GET", f"/Users/{uuid.uuid4()}")
    yield check["not-found"], ScimSeen((unknown,), {"statuses": [(404,)]})
    reason = c.unannounced("filter")
    if reason is None:
        bad = c.http.call("GET", "/Users", params={"filter": "userName eq"})
        yield (
            check["invalid-filter"],
            ScimSeen((bad,), {"statuses": [(400,)], "scim_type": "invalidFilter"}),
        )
    else:
        yield check["invalid-filter"], reason
    nameless = c.create("/Users", {"schemas": [USER_SCHEMA], "displayName": "No Name"})
    yield check["missing-required"], ScimSeen((nameless,), {"statuses": [(400,)]})
    broken = c.http.call(
        "POST", "/Users", raw=b'{"schemas": ["' + USER_SCHEMA.encode() + b'"], "userName": '
    )
    yield check["malformed-json"], ScimSeen((broken,), {"statuses": [(400,)]})
    owner = "scim.errors.malformed-json"
    yield check["invalid-syntax"], _typed(broken, 400, "invalidSyntax", owner)
    yield from _typed_errors(c, check)


def _typed(call: Exchange, status: int, scim_type: str, owner: str = "") -> ScimSeen:
    want = {"statuses": [(status,)], "scim_type": scim_type, "status_owner": owner}
    return ScimSeen((call,), want)


def _typed_errors(c: Conformance, check: dict[str, Any]) -> Iterator[Outcome]:
    """The errors RFC 7644 §3.12 names a scimType for, on a user of the group's own."""
    maybe = {"schemas": [USER_SCHEMA], "userName": c.name("errors", "maybe"), "active": "maybe"}
    yield check["invalid-value"], _typed(c.create("/Users", maybe), 400, "invalidValue")
    name = c.name("errors", "erin")
    user = f"/Users/{c.user('errors', 'erin', **_user_attributes(c, 'errors', 'erin'))}"
    again = c.create("/Users", {"schemas": [USER_SCHEMA], "userName": name})
    yield check["uniqueness"], _typed(again, 409, "uniqueness", "scim.crud.duplicate-user")
    if (reason := c.unannounced("patch")) is not None:
        yield check["mutability"], reason
        yield check["no-target"], reason
        return
    moved = c.patch(user, {"op": "replace", "path": "id", "value": str(uuid.uuid4())})
    yield check["mutability"], _typed(moved, 400, "mutability")
    nowhere = c.patch(
        user, {"op": "replace", "path": 'emails[type eq "home"].value', "value": name}
    )
    yield check["no-target"], _typed(nowhere, 400, "noTarget")


def authentication(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("authentication")
    yield (
        check["no-credentials"],
        ScimSeen((c.http.call("GET", "/Users", token=""),), {"statuses": [(401,)]}),
    )
    wrong = c.http.call("GET", "/Users", token=f"{c.prefix}not-the-token")
    yield check["wrong-token"], ScimSeen((wrong,), {"statuses": [(401,)]})


def me(c: Conformance) -> Iterator[Outcome]:
    """/Me (RFC 7644 §3.11): the authenticated subject's resource, or 501."""
    yield (
        checks_of("me")["answers-or-501"],
        ScimSeen((c.http.call("GET", "/Me"),), {"statuses": [(200, 501)]}),
    )


def _concurrently(c: Conformance, group: str, users: list[str]) -> list[Exchange]:
    def add(user: str) -> Exchange:
        return c.patch(group, {"op": "add", "path": "members", "value": [{"value": user}]})

    with concurrent.futures.ThreadPoolExecutor(len(users)) as pool:
        return list(pool.map(add, users))


def robustness(c: Conformance) -> Iterator[Outcome]:
    check = checks_of("robustness")
    huge = c.create(
        "/Users", {"schemas": [USER_SCHEMA], "userName": c.name("robust", "h" * 1_048_576)}
    )
    yield check["huge-value"], ScimSeen((huge,), {})
    users = [c.user("robust", f"r{n:03d}") for n in range(MEMBERS)]
    group = f"/Groups/{c.group('robust', 'busy', [])}"
    adds = _concurrently(c, group, users[:CONCURRENT])
    read = c.http.call("GET", group)
    want = {"statuses": [DONE] * CONCURRENT + [OK], "members": users[:CONCURRENT]}
    yield check["concurrent-member-adds"], ScimSeen((*adds, read), want)
    large = f"/Groups/{c.group('robust', 'large', [])}"
    done = c.patch(large, {"op": "add", "path": "members", "value": [{"value": u} for u in users]})
    yield check["large-group"], _members(c, large, done, users)
    if (reason := c.unannounced("filter")) is not None:
        yield check["large-list"], reason
        return
    scope = f'userName sw "{c.prefix}robust-r"'
    pages = [
        c.http.call("GET", "/Users", params={"filter": scope, "startIndex": str(s), "count": "25"})
        for s in (1, 26, 51)
    ]
    yield (
        check["large-list"],
        ScimSeen(tuple(pages), {"statuses": [OK] * 3, "ids": users, "starts": [1, 26, 51]}),
    )
