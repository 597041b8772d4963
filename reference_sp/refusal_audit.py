"""The audit entry of a sign-in refused by the protocol rules (wrong audience, bad signature,
replay, ...): the reason code, the rule and when, in the trail of the organisation the response
was routed to. Never the message, nor anything it carried: an unaccepted message names no one.

Anyone can post to the ACS, so only the newest entries of this kind are kept per organisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from harness.protocol.refusal import Refusal
from reference_sp.account_store import prune_audit
from reference_sp.accounts import Accounts
from reference_sp.db import Database
from reference_sp.organisation import Organisation
from reference_sp.organisation_routing import OrganisationRouting
from reference_sp.saml_store import pending_authn_request
from reference_sp.sessions import digest

ACTOR = "saml"  # the audit trail's actor of a refusal by the protocol rules
ACTION = "sign-in-refused"
KEPT = 500  # per organisation: the newest protocol refusals audited
WHY_KEPT = 300  # characters of a refusal's explanation kept in its entry


def audit_protocol_refusal(
    db: Database,
    accounts: Accounts,
    organisation: Organisation | None,
    refused: Refusal,
    *,
    idp_initiated: bool,
) -> None:
    """Write the entry (nothing where no organisation trusts the response's issuer: there is
    no trail to write to) and drop the oldest beyond :data:`KEPT`."""
    if organisation is None:
        return
    with db.transaction() as conn:
        accounts.audit(
            conn,
            organisation.org_pk,
            ACTION,
            actor=ACTOR,
            reason=refused.reason,
            rule=refused.rule,
            why=refused.message[:WHY_KEPT],
            idp_initiated=idp_initiated,
        )
        prune_audit(conn, organisation.org_pk, ACTOR, ACTION, KEPT)


@dataclass(frozen=True)
class ResponseRouting:
    """Which organisation a refused response was meant for, read again after the refusal."""

    db: Database
    organisations: OrganisationRouting
    clock: Callable[[], datetime]

    def organisation(
        self, in_response_to: str | None, issuer: str | None, browser: str | None
    ) -> Organisation | None:
        """The organisation of the request it answers (made in this browser), else the one
        trusting its issuer; None when neither is known."""
        if in_response_to and browser is not None:
            with self.db.transaction() as conn:
                pending = pending_authn_request(conn, in_response_to, self.clock())
            if pending is not None and pending.browser_sha256 == digest(browser):
                return self.organisations.get(pending.org_pk)
        return self.organisations.by_idp(issuer[:1024]) if issuer else None
