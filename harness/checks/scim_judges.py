"""The judges of the scim_conformance suite: each reads one :class:`ScimSeen` (the exchanges a
probe made and what it asked for) and raises ``CheckFailed`` naming the symptom and its cause
(which answer, which attribute), with every exchange as evidence."""

from __future__ import annotations

from typing import Any, NoReturn

from harness.checks.model import CheckFailed, CheckSkipped
from harness.checks.scim_seen import Exchange, ScimSeen

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
FEATURES = ("patch", "bulk", "filter", "sort", "etag")


def _fail(seen: ScimSeen, message: str, expected: str, observed: str) -> NoReturn:
    raise CheckFailed(message, expected=expected, observed=observed, evidence=seen.evidence())


def _get(document: Any, dotted: str | tuple[str, ...]) -> Any:
    """``document["a"]["b"]`` for "a.b" (or the tuple ("a", "b"), for names holding dots), a
    list's element by its index ("emails.0.value"), names compared without regard to case."""
    for part in dotted.split(".") if isinstance(dotted, str) else dotted:
        if isinstance(document, list) and part.isdigit():
            document = document[int(part)] if int(part) < len(document) else None
            continue
        if not isinstance(document, dict):
            return None
        document = next((v for k, v in document.items() if k.lower() == part.lower()), None)
    return document


def _answered(seen: ScimSeen, call: Exchange, allowed: tuple[int, ...]) -> None:
    if call.status not in allowed:
        _fail(
            seen,
            f"{call.method} {call.url} answered {call.status or 'nothing'}",
            " or ".join(map(str, allowed)),
            str(call.status or "no answer"),
        )


def answers(seen: ScimSeen) -> None:
    """Each call answered one of its statuses (``want["statuses"]``, one tuple per call); the
    body of ``want["body_of"]`` (default: the last) holds ``want["fields"]`` (dotted names to
    values), none of ``want["absent"]``, and ``want["scim_type"]`` where one is named."""
    for call, allowed in zip(seen.calls, seen.want.get("statuses", ()), strict=False):
        _answered(seen, call, tuple(allowed))
    body = seen.calls[seen.want.get("body_of", -1)].body
    for name, value in seen.want.get("fields", {}).items():
        found = _get(body, name)
        if found != value:
            _fail(seen, f"{name} is {found!r}, not {value!r}", repr(value), repr(found))
    for name in seen.want.get("absent", ()):
        for call in seen.calls:
            if _get(call.body, name) is not None:
                found = repr(_get(call.body, name))[:200]
                _fail(seen, f"{call.method} {call.url} answered {name}", f"no {name}", found)
    scim_type = seen.want.get("scim_type")
    if scim_type is not None and _get(body, "scimType") != scim_type:
        found = _get(body, "scimType")
        _fail(seen, f"the error's scimType is {found!r}", repr(scim_type), repr(found))


def typed_error(seen: ScimSeen) -> None:
    """The error's scimType is ``want["scim_type"]``. Where another check owns the status
    (``want["status_owner"]``), an answer of another status is that check's failure, and this
    one cannot be judged: skipped, naming it."""
    owner = seen.want.get("status_owner")
    allowed = tuple(seen.want["statuses"][-1])
    if owner and seen.last.status not in allowed:
        raise CheckSkipped(
            f"{seen.last.method} {seen.last.url} answered {seen.last.status or 'nothing'}, not "
            f"{' or '.join(map(str, allowed))} ({owner} judges that): no error's scimType to judge"
        )
    answers(seen)


def created(seen: ScimSeen) -> None:
    """201 with an id, the userName sent, and a Location header that is meta.location."""
    answers(seen)
    body, location = seen.last.body, seen.last.header("Location")
    if not _get(body, "id"):
        _fail(seen, "the created resource has no id", "an id", repr(body)[:200])
    if location is None:
        _fail(seen, "no Location header", "Location: <meta.location>", "none")
    if _get(body, "meta.location") not in (None, location):
        found = _get(body, "meta.location")
        _fail(seen, "Location differs from meta.location", str(found), location)


def error_body(seen: ScimSeen) -> None:
    """The status asked, with a SCIM error body whose status is that status as a string."""
    answers(seen)
    body = seen.last.body
    schemas = _get(body, "schemas") or []
    if ERROR_SCHEMA not in schemas:
        _fail(seen, "the error is not a SCIM error", ERROR_SCHEMA, repr(schemas))
    if _get(body, "status") != str(seen.last.status):
        found = _get(body, "status")
        _fail(
            seen,
            "the error's status is not the HTTP status",
            repr(str(seen.last.status)),
            repr(found),
        )


def service_provider_config(seen: ScimSeen) -> None:
    answers(seen)
    body = seen.last.body
    if SPC_SCHEMA not in (_get(body, "schemas") or []):
        _fail(seen, "no ServiceProviderConfig schema", SPC_SCHEMA, repr(_get(body, "schemas")))
    unsaid = [f for f in FEATURES if not isinstance(_get(body, f"{f}.supported"), bool)]
    if unsaid:
        _fail(
            seen, f"{', '.join(unsaid)}.supported not a boolean", "true or false", repr(body)[:300]
        )


def _listed(body: Any) -> list[dict[str, Any]]:
    items = _get(body, "Resources") if isinstance(body, dict) else body
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def resource_types(seen: ScimSeen) -> None:
    answers(seen)
    found = {str(_get(t, "name")): _get(t, "endpoint") for t in _listed(seen.last.body)}
    for name, endpoint in seen.want["types"].items():
        if found.get(name) != endpoint:
            _fail(seen, f"no {name} type at {endpoint}", f"{name}: {endpoint}", repr(found))


def schemas(seen: ScimSeen) -> None:
    answers(seen)
    found = {str(_get(s, "id")) for s in _listed(seen.last.body)}
    missing = [urn for urn in seen.want["schemas"] if urn not in found]
    if missing:
        _fail(seen, f"/Schemas lacks {', '.join(missing)}", ", ".join(missing), repr(sorted(found)))


def _names(seen: ScimSeen, ids: Any) -> list[str]:
    names: dict[str, str] = seen.want.get("names", {})
    return [names.get(i, i) for i in ids]


def lists_exactly(seen: ScimSeen) -> None:
    """A 200 list whose resources, among ours (``want["ours"]``), are ``want["ids"]``."""
    answers(seen)
    ours = set(seen.want["ours"])
    found = [i for i in seen.last.ids() if i in ours]
    wanted = set(seen.want["ids"])
    if set(found) != wanted or len(found) != len(set(found)):
        _fail(
            seen,
            f"the filter {seen.want.get('filter', '')!r} returned the wrong resources",
            repr(sorted(_names(seen, wanted))),
            repr(_names(seen, found)),
        )


def lists_in_order(seen: ScimSeen) -> None:
    answers(seen)
    ours = set(seen.want["ours"])
    found = [i for i in seen.last.ids() if i in ours]
    if found != list(seen.want["ids"]):
        _fail(
            seen,
            "the results are not in the order asked",
            repr(_names(seen, seen.want["ids"])),
            repr(_names(seen, found)),
        )


def pages_cover(seen: ScimSeen) -> None:
    """The pages walked (startIndex 1, 2, ... with count 1) hold each result once, and each
    answer's startIndex is the one asked."""
    answers(seen)
    walked: list[str] = []
    starts = seen.want.get("starts") or range(1, len(seen.calls) + 1)
    for index, call in zip(starts, seen.calls, strict=False):
        if _get(call.body, "startIndex") not in (index, None):
            _fail(
                seen,
                f"page {index} says startIndex {_get(call.body, 'startIndex')}",
                str(index),
                repr(_get(call.body, "startIndex")),
            )
        walked += call.ids()
    if sorted(walked) != sorted(seen.want["ids"]):
        _fail(
            seen,
            "walking the pages does not return each result once",
            repr(sorted(_names(seen, seen.want["ids"]))),
            repr(_names(seen, walked)),
        )


def same_pages(seen: ScimSeen) -> None:
    """Two walks of the same pages answer the same sequence."""
    answers(seen)
    half = len(seen.calls) // 2
    first = [i for c in seen.calls[:half] for i in c.ids()]
    second = [i for c in seen.calls[half:] for i in c.ids()]
    if first != second:
        _fail(
            seen,
            "the same pages hold other results the second time",
            repr(_names(seen, first)),
            repr(_names(seen, second)),
        )


def page_size(seen: ScimSeen) -> None:
    """At most ``want["count"]`` resources, and totalResults counting every match."""
    answers(seen)
    body = seen.last.body
    if len(seen.last.resources()) > seen.want["count"]:
        _fail(
            seen,
            f"count={seen.want['count']} answered more",
            f"at most {seen.want['count']}",
            str(len(seen.last.resources())),
        )
    if _get(body, "totalResults") != seen.want["total"]:
        _fail(
            seen,
            "totalResults does not count every match",
            str(seen.want["total"]),
            repr(_get(body, "totalResults")),
        )


def members_are(seen: ScimSeen) -> None:
    """The group read last holds exactly ``want["members"]`` (ids)."""
    answers(seen)
    found = {str(_get(m, "value")) for m in _get(seen.last.body, "members") or []}
    wanted = set(seen.want["members"])
    if found != wanted:
        lost = sorted(_names(seen, wanted - found))
        extra = sorted(_names(seen, found - wanted))
        _fail(
            seen,
            f"members lost: {lost}, unexpected: {extra}",
            f"{len(wanted)} members",
            f"{len(found)} members",
        )


def bulk_stopped(seen: ScimSeen) -> None:
    """The Bulk response lists the first operation, failed, and none of those after it."""
    answers(seen)
    done = _get(seen.last.body, "Operations")
    done = [o for o in done if isinstance(o, dict)] if isinstance(done, list) else []
    statuses = [str(_get(o, "status")) for o in done]
    if len(done) != 1 or not statuses[0].startswith("4"):
        _fail(
            seen,
            "the operations after the failure allowed by failOnErrors were carried out",
            "one operation, failed (4xx)",
            f"{len(done)} operations: statuses {statuses}",
        )


def members_once(seen: ScimSeen) -> None:
    """:func:`members_are`, each member listed once."""
    members_are(seen)
    found = [str(_get(m, "value")) for m in _get(seen.last.body, "members") or []]
    twice = sorted({m for m in found if found.count(m) > 1})
    if twice:
        _fail(seen, f"members listed twice: {_names(seen, twice)}", "each once", repr(found))


def one_primary(seen: ScimSeen) -> None:
    """The resource read last holds at most one element of ``want["attribute"]`` whose
    primary is true."""
    answers(seen)
    values = _get(seen.last.body, seen.want["attribute"]) or []
    primaries = [v for v in values if isinstance(v, dict) and _get(v, "primary") is True]
    if len(primaries) > 1:
        _fail(
            seen,
            f"{len(primaries)} {seen.want['attribute']} are primary",
            "at most one",
            repr(primaries)[:300],
        )


def etag_matches_version(seen: ScimSeen) -> None:
    answers(seen)
    header, version = seen.last.header("ETag"), _get(seen.last.body, "meta.version")
    if not header or header != version:
        _fail(seen, "the ETag header is not meta.version", repr(version), repr(header))


def no_server_error(seen: ScimSeen) -> None:
    """Every call was answered, with no 5xx."""
    for call in seen.calls:
        if call.status == 0 or call.status >= 500:
            _fail(
                seen,
                f"{call.method} {call.url} answered {call.status or 'nothing'}",
                "a 2xx or a 4xx",
                str(call.status or "no answer"),
            )
    answers(seen)


def atomic(seen: ScimSeen) -> None:
    """A PATCH refused for one of its operations left the resource as it was."""
    if seen.calls[0].status < 300:
        raise CheckSkipped(
            f"the server took the invalid operation ({seen.calls[0].status}): whether a failing "
            "PATCH changes nothing cannot be judged"
        )
    answers(seen)
