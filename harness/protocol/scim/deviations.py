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


# What each IdP vendor is documented to send that the RFC does not allow. The IdP-under-test
# judges report a documented deviation as that vendor's behaviour, and the same code from any
# other vendor (or from "generic", an IdP that claims plain RFC 7644) as a failure of its rule.
DOCUMENTED_DEVIATIONS: dict[str, frozenset[str]] = {
    # Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint" (request
    # examples: "Replace"/"Add" ops, "False" strings, members removed with a value array, the
    # ADSCIM Group schema) and "Known issues and resolutions with SCIM 2.0 protocol compliance
    # of the Microsoft Entra user provisioning service" (the manager as the bare id).
    "entra": frozenset(
        {
            "patch-op-not-lowercase",
            "boolean-as-string",
            "members-remove-with-value",
            "complex-as-value-string",
            "unknown-schema-urn",
        }
    ),
    # The same "Known issues" page, with ?aadOptscim062020: ops lower case, real booleans,
    # members removed by a value filter, but one path-less replace keyed by attribute paths
    # ("name.givenName"); the manager and the ADSCIM Group schema are unchanged.
    "entra-compat": frozenset(
        {"pathless-dotted-key", "complex-as-value-string", "unknown-schema-urn"}
    ),
    # Okta Developer, "SCIM 2.0 protocol reference" and its SPEC test: requests sent as
    # application/json (text/json in the examples).
    "okta": frozenset({"content-type-not-scim"}),
    "ping": frozenset(),  # PingFederate's SCIM connector documents no departure from the RFC
    "generic": frozenset(),
}


def documented_for(vendor: str, code: str) -> bool:
    """Whether ``vendor``'s documentation says it sends ``code``."""
    return code in DOCUMENTED_DEVIATIONS.get(vendor, frozenset())
