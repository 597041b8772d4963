"""The checks the suites run, each citing the requirement it enforces.

Requirements, their levels and clauses live in one registry,
:mod:`harness.protocol.requirements`, which flaws, mutators and refusals cite too.
"""

from __future__ import annotations

from harness.checks import business, scim, session, sign_in
from harness.checks.model import Check
from harness.checks.model import cited as _check
from harness.protocol.saml.mutators import PROTOCOL_MUTATORS

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

# One check per protocol mutator of the core: a response broken in exactly that way is refused,
# citing the rule the mutator breaks. (Wrapping and parser attacks are judged by the security
# suite's cases, which tell a forgery from a refusal.)
REFUSES_MUTATED: dict[str, Check] = {
    m.name: _check(
        f"sso.refuses.{m.name}",
        m.rule,
        f"the SP refuses a response that breaks {m.rule}: {m.description}",
        sign_in.refuses,
    )
    for m in PROTOCOL_MUTATORS
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
