"""Judging sign-ins by their effect: who the SP's me probe names afterwards.

A refusal passes only when it can be told apart from "the SP never saw the response" and from
"the SP cannot sign anyone in this way": the (mutated) response must have been delivered to the
SP, and the positive control of the same flow (the same way of signing in, unmutated) must have
signed someone in within the same world. The SP's reason code is compared only where the SP
tells one; otherwise it is evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.checks.model import CheckFailed, CheckSkipped, Observed
from harness.results import LOOKED_AT
from harness.signin import SignInAttempt

# The fields of the message each refusal's rule compares (harness.response_evidence names
# them), with what the SP expected of them.
DECISIVE_FIELDS: dict[str, tuple[str, ...]] = {
    "wrong-audience": ("Audience", "SP entity ID"),
    "no-audience": ("Audience", "SP entity ID"),
    "wrong-recipient": ("Recipient", "SP ACS URL"),
    "no-recipient": ("Recipient", "SP ACS URL"),
    "wrong-destination": ("Destination", "SP ACS URL"),
    "no-destination": ("Destination", "SP ACS URL"),
    "wrong-in-response-to": ("InResponseTo", "AuthnRequest ID"),
    "unsolicited-with-in-response-to": ("InResponseTo", "AuthnRequest ID"),
    "wrong-issuer": ("Issuer",),
    "no-issuer": ("Issuer",),
    "subject-expired": ("SubjectConfirmation NotOnOrAfter", "Conditions NotOnOrAfter"),
    "not-yet-valid": ("Conditions NotBefore", "Conditions NotOnOrAfter"),
    "status-not-success": ("Status",),
    "unsigned": ("Response signed", "Assertion signed", "Assertion encrypted"),
    "bad-signature": ("Response signed", "Assertion signed", "Issuer"),
    "unsupported-nameid-format": ("NameID Format", "NameID"),
    "unknown-user": ("NameID", "NameID Format"),
    "user-inactive": ("NameID",),
    "user-not-assigned": ("NameID",),
}
# What a sign-in that should open a session is judged on: who the message names.
SIGNED_IN_FIELDS = ("NameID", "NameID Format", "Issuer", "Audience")


@dataclass(frozen=True)
class SignInCase:
    """One sign-in and what it was expected to do."""

    ref: str
    user_name: str
    attempt: SignInAttempt
    relay_state: str | None = None
    reason: str | None = None  # the reason code expected of a refusal, if any
    # The positive control of the same flow in the same world (None: none was run), and why
    # the refusal cannot be judged without SCIM (None: it can).
    control: SignInAttempt | None = None
    unjudgeable: str | None = None

    @property
    def evidence(self) -> dict[str, Any]:
        """What a reader compares first (``looked_at``), then the Response in clear, then the
        exchange as recorded."""
        attempt = self.attempt
        sent = attempt.sent
        found: dict[str, Any] = {LOOKED_AT: self.looked_at()}
        if attempt.reason:
            found["reason told"] = attempt.reason
        if sent.get("fields"):
            found["message fields"] = sent["fields"]
        if sent.get("mutations"):
            found["mutations"] = sent["mutations"]
        if "assertion_decrypted" in sent:
            found["assertion_decrypted"] = sent["assertion_decrypted"]
        found["exchange"] = attempt.exchange
        if "response_sent" in sent:
            found["response_sent"] = sent["response_sent"]
        return found

    def looked_at(self) -> dict[str, Any]:
        """The fields the rule judged, in order: those of the message that the expected (or
        told) refusal is about beside what the SP expected, then what the SP answered."""
        attempt = self.attempt
        fields = attempt.sent.get("fields", {})
        about = self.reason or (attempt.reason if attempt.reason_told else None)
        names = DECISIVE_FIELDS.get(about or "", ()) if about else SIGNED_IN_FIELDS
        shown: dict[str, Any] = {name: fields[name] for name in names if name in fields}
        shown["SP answered"] = attempt.describe()
        if attempt.identity is not None:
            shown["me probe names"] = attempt.identity
        return shown


def signs_in(case: SignInCase) -> Observed:
    """The user's sign-in opens a session at the SP that the me probe attributes to them."""
    if case.attempt.signed_in:
        return Observed(
            case.attempt.describe(),
            expected=f"a session for {case.user_name}",
            evidence=case.evidence,
        )
    raise CheckFailed(
        f"{case.ref} was not signed in",
        expected=f"a session for {case.user_name}",
        observed=case.attempt.describe(),
        evidence=case.evidence,
    )


def lands_on_deep_link(case: SignInCase) -> Observed:
    """After the sign-in the SP lands the browser on the path the RelayState named."""
    if not case.attempt.signed_in:
        raise CheckSkipped(f"{case.ref} was not signed in: {case.attempt.describe()}")
    wanted = (case.relay_state or "").split("?", 1)[0]
    if case.attempt.landed_on != wanted:
        raise CheckFailed(
            "the SP did not land the user on the deep link",
            expected=wanted,
            observed=str(case.attempt.landed_on),
            evidence=case.evidence,
        )
    return Observed(f"landed on {case.attempt.landed_on}", expected=wanted, evidence=case.evidence)


def refuses(case: SignInCase) -> Observed:
    """The response reached the SP and no session exists afterwards (for anyone)."""
    attempt = case.attempt
    if case.unjudgeable is not None:  # e.g. no SCIM: the SP may rightly sign the user in
        raise CheckSkipped(case.unjudgeable, evidence=case.evidence)
    if attempt.identity is not None:
        raise CheckFailed(
            f"a session exists after a response the SP must refuse ({case.ref})",
            expected=f"refused ({case.reason or 'any reason'}), no session",
            observed=attempt.describe(),
            evidence=case.evidence,
        )
    if attempt.me_failed is not None:  # "nobody" must be the SP's answer, not its failure
        raise CheckSkipped(attempt.me_failed, evidence=case.evidence)
    if not attempt.delivered:
        raise CheckSkipped(
            f"the response never reached the SP: {attempt.describe()}", evidence=case.evidence
        )
    control = case.control
    if control is None:
        raise CheckSkipped(
            "no positive control: nobody signed in through this flow in the scenario",
            evidence=case.evidence,
        )
    if not control.signed_in:
        raise CheckSkipped(
            f"the positive control (the same flow, unmutated) failed: {control.describe()}",
            evidence=case.evidence | {"control": control.exchange},
        )
    if case.reason and attempt.reason_told and attempt.reason != case.reason:
        raise CheckFailed(
            "refused for another reason",
            expected=case.reason,
            observed=attempt.describe(),
            evidence=case.evidence,
        )
    return Observed(
        attempt.describe(),
        expected=f"refused ({case.reason or 'any reason'}), no session",
        evidence=case.evidence,
    )
