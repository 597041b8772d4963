"""The checks of the scim_conformance suite (``scenarios/scim_conformance``), by group: what a
SCIM server announces (discovery), then the RFC 7643/7644 behaviour it owes, then robustness.
The steps of :mod:`harness.scim_conformance` run them; the judges are
:mod:`harness.checks.scim_judges`."""

from __future__ import annotations

from harness.checks import scim_judges as j
from harness.checks.model import Check
from harness.checks.model import cited as _check

# The filter fixture: three users {p}-alpha (title, active), {p}-beta (active) and {p}-gamma
# (inactive) at domain {d}, {p} unique to the run. Check suffix -> (filter, users it matches).
FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "operator-eq": ('userName eq "{p}-beta@{d}"', ("beta",)),
    "operator-ne": ('userName sw "{p}" and userName ne "{p}-beta@{d}"', ("alpha", "gamma")),
    "operator-co": ('userName sw "{p}" and userName co "-bet"', ("beta",)),
    "operator-sw": ('userName sw "{p}-g"', ("gamma",)),
    "operator-ew": ('userName sw "{p}" and userName ew "-gamma@{d}"', ("gamma",)),
    "operator-pr": ('userName sw "{p}" and title pr', ("alpha",)),
    "operator-gt": ('userName sw "{p}" and userName gt "{p}-beta@{d}"', ("gamma",)),
    "operator-ge": ('userName sw "{p}" and userName ge "{p}-beta@{d}"', ("beta", "gamma")),
    "operator-lt": ('userName sw "{p}" and userName lt "{p}-beta@{d}"', ("alpha",)),
    "operator-le": ('userName sw "{p}" and userName le "{p}-beta@{d}"', ("alpha", "beta")),
    "logical-and": ('userName sw "{p}" and active eq false', ("gamma",)),
    "logical-or": (
        'userName eq "{p}-alpha@{d}" or userName eq "{p}-gamma@{d}"',
        ("alpha", "gamma"),
    ),
    "logical-not": ('userName sw "{p}" and not (userName eq "{p}-beta@{d}")', ("alpha", "gamma")),
    # Without the parentheses "and" binds first: alpha would match too.
    "grouping": (
        '(userName eq "{p}-alpha@{d}" or userName eq "{p}-gamma@{d}") and active eq false',
        ("gamma",),
    ),
    "value-path": ('emails[type eq "work" and value co "{p}-beta@"]', ("beta",)),
    "operator-case": ('userName EQ "{p}-beta@{d}"', ("beta",)),
    "attribute-case": ('USERNAME eq "{p}-beta@{d}"', ("beta",)),
}


def _filter(suffix: str) -> Check:
    text, _ = FILTERS[suffix]
    return _check(
        f"scim.filter.{suffix}", "RFC7644-3.4.2.2", f"the filter {text} matches", j.lists_exactly
    )


GROUPS: dict[str, tuple[Check, ...]] = {
    "discovery": (
        _check(
            "scim.discovery.service-provider-config",
            "RFC7644-4",
            "/ServiceProviderConfig says which features the server supports",
            j.service_provider_config,
        ),
        _check(
            "scim.discovery.resource-types",
            "RFC7643-6",
            "/ResourceTypes lists User at /Users and Group at /Groups",
            j.resource_types,
        ),
        _check(
            "scim.discovery.schemas",
            "RFC7643-7",
            "/Schemas lists the User and Group schemas",
            j.schemas,
        ),
        _check(
            "scim.discovery.read-only",
            "RFC7644-4-READONLY",
            "POST, PUT and PATCH on the discovery endpoints answer 405",
            j.answers,
        ),
        _check(
            "scim.discovery.filter-forbidden",
            "RFC7644-4-FILTER",
            "a filter on /ServiceProviderConfig answers 403",
            j.answers,
        ),
    ),
    "crud": (
        _check(
            "scim.crud.create-user",
            "RFC7644-3.3",
            "POST /Users answers 201, the user, its Location",
            j.created,
        ),
        _check(
            "scim.crud.read-user", "RFC7644-3.4.1", "GET /Users/{id} answers the user", j.answers
        ),
        _check(
            "scim.crud.duplicate-user",
            "RFC7644-3.3",
            "a taken userName is 409",
            j.answers,
        ),
        _check(
            "scim.crud.password-never-returned",
            "RFC7643-2.2",
            "a password sent is never answered",
            j.answers,
        ),
        _check(
            "scim.crud.replace-user",
            "RFC7644-3.5.1",
            "PUT replaces the user's attributes",
            j.answers,
        ),
        _check(
            "scim.crud.replace-ignores-read-only",
            "RFC7644-3.5.1-READONLY",
            "a PUT carrying another id and meta keeps the resource's own",
            j.answers,
        ),
        _check(
            "scim.crud.create-as-json",
            "RFC7644-3.8",
            "POST /Users sent as application/json answers 201",
            j.answers,
        ),
        _check(
            "scim.crud.create-group",
            "RFC7644-3.3",
            "POST /Groups with a member answers 201",
            j.created,
        ),
        _check(
            "scim.crud.read-group",
            "RFC7644-3.4.1",
            "GET /Groups/{id} answers its members",
            j.members_are,
        ),
        _check(
            "scim.crud.delete-user", "RFC7644-3.6", "DELETE answers 204, then GET 404", j.answers
        ),
        _check("scim.crud.delete-group", "RFC7644-3.6", "a deleted group answers 404", j.answers),
    ),
    "filters": tuple(_filter(suffix) for suffix in FILTERS),
    "search": (
        _check(
            "scim.search.type",
            "RFC7644-3.4.3",
            "POST /Users/.search with a filter lists what it matches",
            j.lists_exactly,
        ),
        _check(
            "scim.search.root",
            "RFC7644-3.4.3",
            "POST /.search with a filter lists what it matches",
            j.lists_exactly,
        ),
    ),
    "case": (
        _check(
            "scim.case.username-filter",
            "RFC7643-4.1.1",
            "userName eq matches without regard to case",
            j.lists_exactly,
        ),
        _check(
            "scim.case.username-unique",
            "RFC7643-4.1.1",
            "a userName differing only in case is 409",
            j.answers,
        ),
    ),
    "pagination": (
        _check(
            "scim.pagination.count",
            "RFC7644-3.4.2.4",
            "count=1 answers one result and the total",
            j.page_size,
        ),
        _check(
            "scim.pagination.count-zero",
            "RFC7644-3.4.2.4",
            "count=0 answers no resources, only the total",
            j.page_size,
        ),
        _check(
            "scim.pagination.start-index",
            "RFC7644-3.4.2.4",
            "pages by startIndex hold each result once",
            j.pages_cover,
        ),
        _check(
            "scim.pagination.start-below-one",
            "RFC7644-3.4.2.4",
            "startIndex=0 is taken as 1",
            j.answers,
        ),
        _check(
            "scim.pagination.stable",
            "RFC7644-3.4.2.4",
            "walking the pages twice answers the same order",
            j.same_pages,
        ),
    ),
    "sorting": (
        _check(
            "scim.sort.ascending",
            "RFC7644-3.4.2.3",
            "sortBy=userName orders ascending",
            j.lists_in_order,
        ),
        _check(
            "scim.sort.descending",
            "RFC7644-3.4.2.3",
            "sortOrder=descending orders descending",
            j.lists_in_order,
        ),
    ),
    "projection": (
        _check(
            "scim.projection.attributes",
            "RFC7644-3.4.2.5",
            "attributes=userName answers only it (and id)",
            j.answers,
        ),
        _check(
            "scim.projection.excluded-attributes",
            "RFC7644-3.4.2.5",
            "excludedAttributes=emails omits emails",
            j.answers,
        ),
    ),
    "patch": (
        _check(
            "scim.patch.replace-attribute",
            "RFC7644-3.5.2.3",
            "replace displayName by path",
            j.answers,
        ),
        _check(
            "scim.patch.value-filter-path",
            "RFC7644-3.5.2.3",
            'replace emails[type eq "work"].value',
            j.answers,
        ),
        _check(
            "scim.patch.extension-attribute",
            "RFC7644-3.5.2.1",
            "add an enterprise attribute by its URN path",
            j.answers,
        ),
        _check(
            "scim.patch.path-less",
            "RFC7644-3.5.2.3",
            "a path-less replace sets the value's attributes",
            j.answers,
        ),
        _check(
            "scim.patch.add-members",
            "RFC7644-3.5.2.1",
            "add members keeps the others",
            j.members_are,
        ),
        _check(
            "scim.patch.duplicate-add",
            "RFC7644-3.5.2.1-NOOP",
            "adding a member already there succeeds and keeps one membership",
            j.members_once,
        ),
        _check(
            "scim.patch.one-primary",
            "RFC7643-2.4",
            "after adding a second primary email, one email at most is primary",
            j.one_primary,
        ),
        _check(
            "scim.patch.remove-member-filter",
            "RFC7644-3.5.2.2",
            'remove members[value eq "id"]',
            j.members_are,
        ),
        _check(
            "scim.patch.remove-without-path",
            "RFC7644-3.5.2.2",
            "remove without a path is 400 noTarget",
            j.answers,
        ),
        _check(
            "scim.patch.atomic",
            "RFC7644-3.5.2",
            "a PATCH with a failing operation changes nothing",
            j.atomic,
        ),
    ),
    "etags": (
        _check(
            "scim.etag.version",
            "RFC7644-3.14",
            "the ETag header is meta.version",
            j.etag_matches_version,
        ),
        _check(
            "scim.etag.if-none-match",
            "RFC7644-3.14",
            "If-None-Match with the ETag answers 304",
            j.answers,
        ),
        _check(
            "scim.etag.if-match-stale", "RFC7644-3.14", "a stale If-Match answers 412", j.answers
        ),
    ),
    "bulk": (
        _check(
            "scim.bulk.bulk-id",
            "RFC7644-3.7",
            "a bulkId names the user created earlier in the request",
            j.members_are,
        ),
        _check(
            "scim.bulk.fail-on-errors",
            "RFC7644-3.7.3",
            "failOnErrors=1 stops at the first failing operation",
            j.bulk_stopped,
        ),
        _check(
            "scim.bulk.max-payload",
            "RFC7644-3.7.4",
            "a Bulk request over maxPayloadSize answers 413",
            j.answers,
        ),
    ),
    "me": (
        _check(
            "scim.me.answers-or-501",
            "RFC7644-3.11",
            "GET /Me answers the subject's resource or 501",
            j.answers,
        ),
    ),
    "errors": (
        _check(
            "scim.errors.not-found",
            "RFC7644-3.12",
            "an unknown id is 404 with a SCIM error",
            j.error_body,
        ),
        _check(
            "scim.errors.invalid-filter",
            "RFC7644-3.12",
            "a malformed filter is 400 invalidFilter",
            j.error_body,
        ),
        _check(
            "scim.errors.missing-required",
            "RFC7644-3.12",
            "a user without userName is 400",
            j.error_body,
        ),
        _check(
            "scim.errors.malformed-json",
            "RFC7644-3.12",
            "a body that is not JSON is 400",
            j.error_body,
        ),
        _check(
            "scim.errors.invalid-syntax",
            "RFC7644-3.12-SYNTAX",
            "a body that is not JSON is scimType invalidSyntax",
            j.typed_error,
        ),
        _check(
            "scim.errors.invalid-value",
            "RFC7644-3.12-VALUE",
            'active: "maybe" is 400 invalidValue',
            j.answers,
        ),
        _check(
            "scim.errors.uniqueness",
            "RFC7644-3.12-UNIQUENESS",
            "a taken userName is 409 uniqueness",
            j.typed_error,
        ),
        _check(
            "scim.errors.mutability",
            "RFC7644-3.12-MUTABILITY",
            "a PATCH replacing the readOnly id is 400 mutability",
            j.answers,
        ),
        _check(
            "scim.errors.no-target",
            "RFC7644-3.12-NOTARGET",
            "a replace whose value filter matches nothing is 400 noTarget",
            j.answers,
        ),
    ),
    "authentication": (
        _check(
            "scim.auth.no-credentials", "RFC7644-2", "a request without a token is 401", j.answers
        ),
        _check(
            "scim.auth.wrong-token", "RFC7644-2", "a request with a wrong token is 401", j.answers
        ),
    ),
    "robustness": (
        _check(
            "scim.robustness.huge-value",
            "SP-SCIM-ROBUST",
            "a 1 MiB userName is refused or kept, never a 5xx",
            j.no_server_error,
        ),
        _check(
            "scim.robustness.concurrent-member-adds",
            "SP-SCIM-CONCURRENT",
            "concurrent member adds all hold",
            j.members_are,
        ),
        _check(
            "scim.robustness.large-group",
            "SP-SCIM-ROBUST",
            "a group of 60 members answers them all",
            j.members_are,
        ),
        _check(
            "scim.robustness.large-list",
            "RFC7644-3.4.2.4",
            "a list of 60 users pages through them all",
            j.pages_cover,
        ),
    ),
}

CHECKS: dict[str, Check] = {c.id: c for checks in GROUPS.values() for c in checks}
