"""The checks the suites run, each with the requirement it enforces.

Requirement ids: ``SAML-*`` cite the SAML 2.0 specifications (Core, Profiles, Bindings),
``RFC7644-*`` the SCIM protocol, and ``BIZ-*`` the business-account rules of an SP integrated
with a corporate IdP (sign-in only for active provisioned users, admin through an IdP group,
per-user licenses, device activation through SSO, deprovisioning ends everything at once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.checks import business, scim, session, sign_in
from harness.checks.model import Check, Requirement
from harness.protocol.saml.mutators import MUTATORS

REQUIREMENTS: dict[str, Requirement] = {
    r.id: r
    for r in (
        Requirement(
            "BIZ-SIGNIN-1",
            "MUST",
            "business rule",
            "Only active users provisioned over SCIM by the organisation's IdP sign in; the NameID "
            "is matched to userName without regard to case.",
        ),
        Requirement(
            "BIZ-SIGNIN-2",
            "MUST",
            "business rule",
            "An assertion from one organisation's IdP never signs in another organisation's user.",
        ),
        Requirement(
            "BIZ-DEEPLINK-1",
            "SHOULD",
            "SAML 2.0 Bindings §3.4.3, §3.5.3 (RelayState)",
            "After sign-in the SP lands the user where the RelayState asked (an own path only).",
        ),
        Requirement(
            "BIZ-SESSION-1",
            "MUST",
            "business rule",
            "A session stays open while its user is active, provisioned and not signed out.",
        ),
        Requirement(
            "BIZ-DEPROV-1",
            "MUST",
            "business rule",
            "Deactivating or deleting a user in the IdP ends the user's open sessions at once.",
        ),
        Requirement(
            "BIZ-ADMIN-1",
            "MUST",
            "business rule",
            "A user administers the business account exactly while active and a member of the "
            "organisation's admin group, for sessions already open too.",
        ),
        Requirement(
            "BIZ-LICENSE-1",
            "MUST",
            "business rule",
            "Each active provisioned user holds a seat while seats are free, waits when the pool "
            "is exhausted, and returns the seat at once when deprovisioned.",
        ),
        Requirement(
            "BIZ-ACTIVATION-1",
            "MUST",
            "business rule",
            "A device activates through SSO only for a licensed user of a per-user subscription "
            "with client version 18 or later.",
        ),
        Requirement(
            "BIZ-DEPROV-2",
            "MUST",
            "business rule",
            "Deprovisioning revokes the user's device activations: check-ins answer revoked.",
        ),
        Requirement(
            "SAML-PROF-4.4",
            "MUST",
            "SAML 2.0 Profiles §4.4 (Single Logout)",
            "A completed single logout ends the session at the SP.",
        ),
        Requirement(
            "RFC7644-3",
            "MUST",
            "RFC 7644 §3 (SCIM protocol)",
            "What the IdP provisioned is what the SP's SCIM endpoint holds.",
        ),
    )
}


def _check(
    check_id: str, requirement: str, title: str, judge: Callable[[Any], None] | None = None
) -> Check:
    found = REQUIREMENTS.get(requirement)
    level = found.level if found is not None else "MUST"
    clause = found.text if found is not None else ""
    return Check(check_id, requirement, level, title, clause, judge)


SIGNS_IN = _check(
    "sso.signs-in", "BIZ-SIGNIN-1", "an active provisioned user signs in", sign_in.signs_in
)
REFUSED = _check(
    "sso.refused", "BIZ-SIGNIN-1", "the SP refuses the sign-in: no session", sign_in.refuses
)
ORGANISATIONS_ISOLATED = _check(
    "sso.organisations-isolated",
    "BIZ-SIGNIN-2",
    "another organisation's IdP cannot sign in this organisation's users",
    sign_in.refuses,
)
LANDS_ON_DEEP_LINK = _check(
    "sso.lands-on-deep-link",
    "BIZ-DEEPLINK-1",
    "the SP lands the user on the RelayState path",
    sign_in.lands_on_deep_link,
)
SESSION_ACTIVE = _check(
    "session.active", "BIZ-SESSION-1", "an open session stays open", session.session_state
)
SESSION_ENDED = _check(
    "session.ended",
    "BIZ-DEPROV-1",
    "the departing user's open session is ended",
    session.session_state,
)
SIGNED_OUT = _check(
    "slo.signed-out", "SAML-PROF-4.4", "single logout ends the SP session", session.signed_out
)
ADMIN = _check(
    "admin.access", "BIZ-ADMIN-1", "admin access follows the admin group", business.admin_access
)
LICENSE = _check(
    "license.state",
    "BIZ-LICENSE-1",
    "the user's license is held, waiting or none",
    business.license_state,
)
ACTIVATION = _check(
    "activation.completes",
    "BIZ-ACTIVATION-1",
    "a device activates (or is refused) through SSO",
    business.activation_completes,
)
CHECK_IN = _check(
    "activation.check-in",
    "BIZ-DEPROV-2",
    "a device's check-in answers active or revoked",
    business.check_in_state,
)
SCIM_STATE = _check(
    "scim.state", "RFC7644-3", "the SP holds what the IdP provisioned", scim.scim_state
)

# One check per mutator of the core: a response broken in exactly that way is refused, citing
# the rule the mutator breaks.
REFUSES_MUTATED: dict[str, Check] = {
    m.name: Check(
        f"sso.refuses.{m.name}",
        m.rule,
        "MUST",
        f"the SP refuses a response that breaks {m.rule}: {m.description}",
        judge=sign_in.refuses,
    )
    for m in MUTATORS
}

ALL: tuple[Check, ...] = (
    SIGNS_IN,
    REFUSED,
    ORGANISATIONS_ISOLATED,
    LANDS_ON_DEEP_LINK,
    SESSION_ACTIVE,
    SESSION_ENDED,
    SIGNED_OUT,
    ADMIN,
    LICENSE,
    ACTIVATION,
    CHECK_IN,
    SCIM_STATE,
    *REFUSES_MUTATED.values(),
)
