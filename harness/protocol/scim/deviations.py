"""Deviations: what a peer sent that the RFC does not allow but real IdPs send anyway.

The reference SP tolerates them (an SP that refuses Entra's ``"Replace"`` breaks in production)
and records each one in its request journal, so the IdP-under-test judge can report them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deviation:
    code: str  # stable, kebab-case, e.g. "patch-op-not-lowercase"
    detail: str  # what exactly was tolerated, for the report
    rule: str  # the requirement it departs from, e.g. "RFC7644-3.5.2"

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail, "rule": self.rule}


# The codes in use, with the rule each departs from; a new tolerance adds its code here.
KNOWN_DEVIATIONS: dict[str, tuple[str, str]] = {
    "patch-op-not-lowercase": ("RFC7644-3.5.2", 'PATCH op not in lower case, e.g. "Replace"'),
    "boolean-as-string": ("RFC7643-2.3.2", 'a boolean sent as the string "True"/"False"'),
    "members-remove-with-value": (
        "RFC7644-3.5.2.2",
        "remove of members given as a value array instead of a value filter in the path",
    ),
    "pathless-dotted-key": (
        "RFC7644-3.5.2",
        'a path-less PATCH value keyed by an attribute path such as "name.givenName"',
    ),
    "single-value-for-multi": (
        "RFC7644-3.5.2.1",
        "a PATCH value that is a single value where a multi-valued attribute takes an array",
    ),
    "array-for-single-value": (
        "RFC7644-3.5.2.1",
        "a PATCH value that is a one-element array where a single-valued attribute takes a value",
    ),
    "complex-as-value-string": (
        "RFC7643-2.3.8",
        'a bare string where a complex attribute takes an object, read as its "value" '
        "(Entra's manager)",
    ),
    "unknown-schema-urn": ("RFC7643-3", "a schemas entry the resource type does not declare"),
    "content-type-not-scim": ("RFC7644-3.1", "a body sent without application/scim+json"),
}


def deviation(code: str, detail: str) -> Deviation:
    rule, _ = KNOWN_DEVIATIONS[code]
    return Deviation(code=code, detail=detail, rule=rule)
