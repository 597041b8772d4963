"""What a scenario needs of the SP under test, and whether a target has it (DESIGN "Declared
capabilities, not assumptions").

A scenario needs what it says (``needs:``) and what its steps cannot do without: directory
changes reach the SP only over SCIM, an IdP-initiated-only scenario needs IdP-initiated sign-in,
a sign-out needs single logout, another organisation's IdP needs a second organisation. Admin
rights, licenses and devices inside a scenario about something else (a sign-in, a departing
employee) are judged per check instead, skipped with the reason where the target lacks them, so
the scenario's own subject is still judged; suites about them say so with ``needs:``.
"""

from __future__ import annotations

from harness.scenario.model import Organisation, Scenario
from harness.targets import CAPABILITIES, Features, OrganisationSettings

# Directory changes that only SCIM provisioning carries to the SP.
_DIRECTORY_CHANGES = {
    "update",
    "add_to_group",
    "remove_from_group",
    "rename_group",
    "delete_group",
    "block",
    "reactivate",
    "unassign",
    "delete",
}


# Steps that talk SCIM only: a scenario made of them needs no SAML from the target.
_SCIM_ONLY = {"scim_conformance", "provision", "hire", *_DIRECTORY_CHANGES}


def needs_saml(scenario: Scenario) -> bool:
    """Whether the scenario signs anyone in (a SCIM-only server cannot run it): False for a
    suite of SCIM steps and SCIM expectations only, such as scim_conformance."""
    if scenario.property is not None:
        return True
    for step in scenario.steps:
        if step.kind == "expect":
            asked = step.value.model_dump(exclude_none=True).keys() - {"user", "scim"}
            if asked:
                return True
        elif step.kind not in _SCIM_ONLY:
            return True
    return False


def needs_of(scenario: Scenario) -> tuple[str, ...]:
    found: set[str] = set(scenario.needs)
    if scenario.property == "lifecycle":
        found |= {"scim", "admin", "licenses", "activations"}
    sign_ins = [s.value for s in scenario.steps if s.kind == "sign_in"]
    for step in scenario.steps:
        value = step.value
        if step.kind in _DIRECTORY_CHANGES:
            found.add("scim")
        elif step.kind == "sign_out":
            found.add("single_logout")
        elif step.kind == "sign_in" and value.idp == "other":
            found.add("second_organisation")
        elif step.kind == "expect" and value.scim is not None:
            found.add("scim")
    if sign_ins and all(s.via == "idp" for s in sign_ins):
        found.add("idp_initiated")
    return tuple(c for c in CAPABILITIES if c in found)


def missing(scenario: Scenario, features: Features) -> str | None:
    """Why the target cannot run the scenario (None: it can)."""
    lacking = [c for c in needs_of(scenario) if not features.has(c)]
    if not lacking:
        return None
    return "the target has no " + ", no ".join(CAPABILITIES[c] for c in lacking)


def organisation_mismatch(given: Organisation, stated: OrganisationSettings) -> str | None:
    """Why a real SP's own settings do not match what the scenario's ``given.organisation``
    asks (None: they match). A setting the scenario leaves at its default is not asked."""
    for name in sorted(given.model_fields_set):
        if name in ("email_domain",):
            continue  # the target's own email domain is used
        wanted = getattr(given, name)
        have = getattr(stated, name, None)
        if have is None:
            return (
                f"the scenario sets the organisation's {name} to {wanted!r}; the target "
                f"does not state its own (add it under [organisation])"
            )
        if have != wanted:
            return (
                f"the scenario needs the organisation's {name} = {wanted!r}; the target "
                f"states {have!r}"
            )
    return None
